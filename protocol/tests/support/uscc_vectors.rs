//! `tests/vectors/uscc.json`: USCC (GB 32100, DOMAIN §1.1) parsing vectors.
//!
//! The case list below, in order, is the input; every other field is computed by the library.

use credfed_protocol::uscc::{expected_check_char, Uscc, UsccError};
use serde::Serialize;

/// (description, input exactly as published).
const CASES: &[(&str, &str)] = &[
    // Valid: DOMAIN R1.7 examples (pass R1.3 and R1.4).
    ("R1.7 example from hutool CreditCodeUtilTest", "91310110666007217T"),
    ("R1.7 example from hutool CreditCodeUtilTest", "91310115591693856A"),
    ("R1.7 example (attributed to 华为技术有限公司)", "914403001922038216"),
    ("R1.7 example with organisation check character X (attributed to 腾讯科技（深圳）有限公司)", "9144030071526726XG"),
    ("R1.7 example (attributed to 小米科技有限责任公司)", "91110108551385082Q"),
    ("R1.7 post-2015 'MA' style organisation code", "91350200MA2YJ1XR9G"),
    ("R1.7 example with organisation check character X", "9135021359498494XQ"),
    ("R1.6 development-zone registration code 320594 (Suzhou Industrial Park) in positions 3-8: accepted, not a county", "91320594780268314T"),
    ("lowercase input: valid after normalisation (uppercased to 91310115591693856A)", "91310115591693856a"),
    ("lowercase x in the organisation code: valid after normalisation (uppercased to 9144030071526726XG)", "9144030071526726xg"),
    ("surrounding whitespace: valid after normalisation (trimmed to 914403001922038216)", " 914403001922038216\n"),
    ("synthetic: passes R1.3 but the embedded organisation code fails R1.4 (warning, not rejection)", "91310110666007218X"),
    ("synthetic: registration authority B is not in the R1.5 list (warning, not rejection)", "B1411500MA0C123404"),
    ("synthetic: institution type 4 is not defined for authority 9 (warning, not rejection)", "94411500MA0C12340W"),
    ("synthetic: 11 = 机关 (government body, R9.2)", "11411500MB0C12344W"),
    // Invalid.
    ("empty string", ""),
    ("17 characters (check character missing)", "91310110666007217"),
    ("19 characters", "91310110666007217TT"),
    ("R1.7 negative example: wrong check character", "914403001922038217"),
    ("R1.7: fails the mod-31 check although one public validator whitelists it by hand", "91350203M0001QAY9B"),
    ("wrong check character on a code whose organisation check character is X", "9144030071526726XH"),
    ("letter O where 0 was meant: never mapped to 0 (R1.1)", "91310110666OO7217T"),
    ("letter I where 1 was meant: never mapped to 1 (R1.1); lowercase i uppercased first", "9131011066600721iT"),
    ("forbidden letter S as check character", "91310110666007217S"),
    ("forbidden letter V as registration authority", "V1310110666007217T"),
    ("forbidden letter Z as institution type", "9Z310110666007217T"),
    ("letter in the division code (positions 3-8 must be digits)", "9131A110666007217T"),
    ("inner space: 18 characters but position 9 is a space", "91310110 66007217T"),
    ("full-width digit ９ (U+FF19): not an ASCII digit; length counts characters, not bytes", "９1310110666007217T"),
];

/// One published case.
#[derive(Serialize)]
pub struct Vector {
    description: &'static str,
    code: &'static str,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_check_char: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<&'static str>,
}

fn vector(description: &'static str, code: &'static str) -> Vector {
    match code.parse::<Uscc>() {
        Ok(u) => Vector {
            description,
            code,
            valid: true,
            error: None,
            expected_check_char: expected_check_char(&u.as_str()[..17]).map(String::from),
            warnings: u.warnings().iter().map(|w| w.code()).collect(),
        },
        Err(e) => Vector {
            description,
            code,
            valid: false,
            error: Some(e.to_string()),
            expected_check_char: match e {
                UsccError::CheckChar { expected, .. } => Some(expected.to_string()),
                _ => None,
            },
            warnings: Vec::new(),
        },
    }
}

/// Every case, in file order.
pub fn vectors() -> Vec<Vector> {
    CASES.iter().map(|(d, c)| vector(d, c)).collect()
}
