use super::*;
use proptest::prelude::*;

/// DOMAIN R1.7: verified example codes.
const R1_7_VALID: [&str; 7] = [
    "91310110666007217T",
    "91310115591693856A",
    "914403001922038216",
    "9144030071526726XG",
    "91110108551385082Q",
    "91350200MA2YJ1XR9G",
    "9135021359498494XQ",
];

fn parse(s: &str) -> Result<Uscc, UsccError> {
    s.parse()
}

#[test]
fn weights_are_powers_of_three_mod_31_and_nonzero() {
    // DOMAIN R1.3: W_i = 3^(i-1) mod 31. 31 is prime and no weight is 0 mod 31, so any single
    // substitution changes the sum mod 31 and is detected.
    let mut w = 1u32;
    for weight in USCC_WEIGHTS {
        assert_eq!(weight, w);
        assert_ne!(weight % 31, 0);
        w = w * 3 % 31;
    }
    // DOMAIN R1.1
    assert_eq!(USCC_ALPHABET.len(), 31);
    for forbidden in ['I', 'O', 'S', 'V', 'Z'] {
        assert!(!USCC_ALPHABET.contains(forbidden));
    }
}

#[test]
fn r1_7_examples_pass_both_checks() {
    // DOMAIN R1.7, R1.3, R1.4
    for code in R1_7_VALID {
        let u = parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(u.as_str(), code);
        assert_eq!(u.warnings(), vec![], "{code}");
    }
}

#[test]
fn r1_7_negative_examples() {
    // DOMAIN R1.7: wrong check character.
    let e = parse("914403001922038217").unwrap_err();
    assert_eq!(e, UsccError::CheckChar { expected: '6', got: '7' });
    assert_eq!(e.to_string(), "check character is '7', expected '6'");
    assert_eq!(e.code(), "invalid_uscc");
    // DOMAIN R1.7: whitelisted by hand elsewhere, but fails R1.3; we reject it.
    assert_eq!(parse("91350203M0001QAY9B").unwrap_err(), UsccError::CheckChar { expected: '9', got: 'B' });
}

#[test]
fn development_zone_division_accepted() {
    // DOMAIN R1.6: 320594 is not a GB/T 2260 county but is accepted.
    let u = parse("91320594780268314T").unwrap();
    assert_eq!(u.division_code(), "320594");
    assert_eq!(u.division().prefecture().as_str(), "320500");
}

#[test]
fn normalisation_trims_and_uppercases_only() {
    // DOMAIN R1.1
    let u = parse("  91310115591693856a\n").unwrap();
    assert_eq!(u.as_str(), "91310115591693856A");
    // O is never read as 0, I never as 1.
    assert_eq!(parse("91310110666OO7217T").unwrap_err(), UsccError::InvalidChar { position: 12, ch: 'O' });
    assert_eq!(parse("9131011066600721iT").unwrap_err(), UsccError::InvalidChar { position: 17, ch: 'I' });
    // Full-width digits are not ASCII digits; length counts characters, not bytes.
    assert_eq!(parse("９1310110666007217T").unwrap_err(), UsccError::InvalidChar { position: 1, ch: '９' });
}

#[test]
fn errors_carry_data_and_messages() {
    assert_eq!(parse("").unwrap_err(), UsccError::Length { got: 0 });
    assert_eq!(parse("91310110666007217").unwrap_err(), UsccError::Length { got: 17 });
    assert_eq!(parse("9131A110666007217T").unwrap_err(), UsccError::DivisionNotDigits { position: 5 });
    let msg = parse("91310110666007217S").unwrap_err().to_string();
    assert!(msg.contains("I, O, S, V, Z"), "{msg}");
}

#[test]
fn accessors() {
    // DOMAIN R1.2
    let u = parse("9144030071526726XG").unwrap();
    assert_eq!(u.registration_authority(), '9');
    assert_eq!(u.institution_type(), '1');
    assert_eq!(u.division_code(), "440300");
    assert_eq!(u.organisation_code(), "71526726X");
    assert_eq!(u.check_char(), 'G');
    assert_eq!(u.category_names(), Some(("工商", "企业")));
    assert!(!u.is_government_body());
    assert_eq!(u.to_string(), "9144030071526726XG");
    assert_eq!(format!("{u:?}"), "Uscc(9144030071526726XG)");
}

#[test]
fn warnings_org_check_and_category() {
    // DOMAIN R1.4: valid USCC whose organisation code fails GB 11714 (synthetic).
    let u = parse("91310110666007218X").unwrap();
    assert_eq!(u.warnings(), vec![UsccWarning::OrganisationCheck { expected: '7', got: '8' }]);
    assert_eq!(u.warnings()[0].code(), "uscc_org_check_mismatch");
    // DOMAIN R1.5: unknown authority and unknown pair (synthetic).
    let u = parse("B1411500MA0C123404").unwrap();
    assert_eq!(u.warnings(), vec![UsccWarning::UnknownAuthority { authority: 'B' }]);
    let u = parse("94411500MA0C12340W").unwrap();
    assert_eq!(u.warnings(), vec![UsccWarning::UnknownInstitutionType { authority: '9', institution: '4' }]);
    assert_eq!(u.warnings()[0].to_string(), "institution type '4' is not defined for registration authority '9'");
}

#[test]
fn category_table_is_complete() {
    // DOMAIN R1.5: 12 authorities, 36 pairs (4+2+6+2+4+3+3+2+3+2+4+1).
    assert_eq!(CATEGORIES.len(), 12);
    assert_eq!(CATEGORIES.iter().map(|(_, _, t)| t.len()).sum::<usize>(), 36);
    for (a, _, types) in CATEGORIES {
        assert!(value(*a).is_some());
        for (t, _) in *types {
            assert!(value(*t).is_some());
        }
    }
}

#[test]
fn government_body_prefix() {
    // DOMAIN R9.2: prefixes 11 and 12 (synthetic code).
    let u = parse("11411500MB0C12344W").unwrap();
    assert!(u.is_government_body());
    assert_eq!(u.category_names(), Some(("机构编制", "机关")));
}

#[test]
fn serde_round_trip_validates() {
    let u = parse("914403001922038216").unwrap();
    let json = serde_json::to_string(&u).unwrap();
    assert_eq!(json, "\"914403001922038216\"");
    assert_eq!(serde_json::from_str::<Uscc>(&json).unwrap(), u);
    let err = serde_json::from_str::<Uscc>("\"914403001922038217\"").unwrap_err();
    assert!(err.to_string().contains("expected '6'"), "{err}");
    let mut cbor = Vec::new();
    ciborium::into_writer(&u, &mut cbor).unwrap();
    assert_eq!(ciborium::from_reader::<Uscc, _>(&cbor[..]).unwrap(), u);
}

fn alphabet() -> Vec<char> {
    USCC_ALPHABET.chars().collect()
}

/// 17 characters valid for positions 1-17 (positions 3-8 digits).
fn first17() -> impl Strategy<Value = String> {
    let any = proptest::sample::select(alphabet());
    let digit = proptest::sample::select(('0'..='9').collect::<Vec<_>>());
    (proptest::collection::vec(any.clone(), 2), proptest::collection::vec(digit, 6), proptest::collection::vec(any, 9))
        .prop_map(|(a, b, c)| a.into_iter().chain(b).chain(c).collect())
}

proptest! {
    #[test]
    fn computed_check_char_always_parses(f in first17()) {
        // DOMAIN R1.3
        let check = expected_check_char(&f).unwrap();
        let code = format!("{f}{check}");
        let u = parse(&code).unwrap();
        prop_assert_eq!(u.as_str(), code.as_str());
        // DOMAIN R1.1: lowercase input normalises to the same code.
        prop_assert_eq!(parse(&code.to_lowercase()).unwrap(), u);
    }

    #[test]
    fn any_single_substitution_is_rejected(
        f in first17(),
        pos in 0usize..18,
        repl in proptest::sample::select(alphabet()),
    ) {
        // DOMAIN R1.3: weights are nonzero mod the prime 31, so every substitution is caught.
        let code = format!("{f}{}", expected_check_char(&f).unwrap());
        let mut chars: Vec<char> = code.chars().collect();
        prop_assume!(chars[pos] != repl);
        chars[pos] = repl;
        let changed: String = chars.into_iter().collect();
        match parse(&changed) {
            Err(UsccError::CheckChar { expected, got }) => {
                prop_assert_ne!(expected, got);
                if pos == 17 {
                    prop_assert_eq!(got, repl);
                }
            }
            Err(UsccError::DivisionNotDigits { position }) => {
                prop_assert!((2..8).contains(&pos) && !repl.is_ascii_digit());
                prop_assert_eq!(position, pos + 1);
            }
            other => prop_assert!(false, "{}: {:?}", changed, other),
        }
    }

    #[test]
    fn adjacent_transposition_in_first_17_is_rejected(f in first17(), pos in 0usize..16) {
        // DOMAIN R1.3: W_i − W_{i+1} = −2·W_i ≢ 0 (mod 31).
        let code = format!("{f}{}", expected_check_char(&f).unwrap());
        let mut chars: Vec<char> = code.chars().collect();
        prop_assume!(chars[pos] != chars[pos + 1]);
        chars.swap(pos, pos + 1);
        let swapped: String = chars.into_iter().collect();
        prop_assert!(parse(&swapped).is_err());
    }

    #[test]
    fn never_panics_and_round_trips(s in "\\PC{0,30}") {
        if let Ok(u) = parse(&s) {
            prop_assert_eq!(parse(u.as_str()).unwrap(), u.clone());
            let _ = u.warnings();
        }
    }
}
