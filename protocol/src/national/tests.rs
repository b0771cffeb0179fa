//! The national block: amounts, CF_CFLB mapping, per-kind rules, registration numbers, and the
//! bytes of content without the block.

use proptest::prelude::*;

use super::*;
use crate::bundle::sample;
use crate::objects::{Body, Nonce, RecordBody};
use crate::person::PersonSecret;
use crate::rules::PENALTY_TYPES;
use crate::Classification;

fn day(s: &str) -> Day {
    s.parse().unwrap()
}

/// A Xinyang code standing for the authority (check character computed).
fn authority() -> Uscc {
    sample::uscc("411500", 7)
}

fn penalty_block() -> NationalFields {
    NationalFields {
        subject_category: SubjectCategory::LegalEntity,
        authority_uscc: Some(authority()),
        source_unit: Some("信阳市市场监督管理局".into()),
        source_unit_uscc: Some(authority()),
        publicity_until: Some(day("2029-01-04")),
        legal_representative: Some(LegalRepresentative { id_type: Some("身份证".into()), id_digest: None }),
        penalty: Some(PenaltyFields {
            violation_type: Some("销售超过保质期的食品".into()),
            content: Some("罚款2000元".into()),
            fine_fen: Some(200_000),
            confiscated_fen: None,
            categories: vec!["罚款".into(), "警告".into()],
            suspended_licence: None,
            valid_until: Some(day("2027-01-05")),
        }),
        licence: None,
    }
}

fn penalty() -> RecordContent {
    RecordContent {
        penalty_types: vec!["fine".into(), "warning".into()],
        national: Some(penalty_block()),
        ..sample::penalty(Subject::Uscc(sample::uscc("411502", 1)), "信市监罚〔2026〕15号".into(), day("2026-01-05"))
    }
}

fn licence() -> RecordContent {
    RecordContent {
        kind: RecordKind::AdministrativeLicense,
        severity: None,
        penalty_types: vec![],
        valid_until: Some(day("2031-01-04")),
        national: Some(NationalFields {
            publicity_until: None,
            penalty: None,
            licence: Some(LicenceFields {
                document_name: Some("食品经营许可决定书".into()),
                category: LicenceCategory::Ordinary,
                certificate_name: Some("食品经营许可证".into()),
                certificate_no: Some("JY14115020012345".into()),
                content: Some("预包装食品销售".into()),
                valid_from: Some(day("2026-01-05")),
                source_status: Some(SourceStatus::Valid),
            }),
            ..penalty_block()
        }),
        ..penalty()
    }
}

fn code_field(c: &RecordContent) -> (&'static str, &'static str) {
    let e = c.validate().expect_err("invalid");
    (e.code, e.field)
}

#[test]
fn amounts_parse_exactly() {
    assert_eq!(parse_wan_yuan("0.2"), Ok(200_000), "0.2 万元 = 2000 元 = 200000 分");
    assert_eq!(parse_wan_yuan("0.20"), Ok(200_000));
    assert_eq!(parse_wan_yuan(" 5 "), Ok(5_000_000));
    assert_eq!(parse_wan_yuan("0.000001"), Ok(1));
    assert_eq!(parse_wan_yuan("0"), Ok(0));
    assert_eq!(parse_wan_yuan("0012.5"), Ok(12_500_000));
    assert_eq!(parse_wan_yuan("18446744073709.551615"), Ok(u64::MAX));
    for bad in [
        "2000元",
        "-1",
        "1e3",
        "0.0000001",
        "",
        ".5",
        "1.",
        "+1",
        "1,000",
        "0.2 ",
        "１",
        "0x10",
        "18446744073709.551616",
    ] {
        // "0.2 " is fine (trimmed); everything else is refused.
        if bad == "0.2 " {
            assert_eq!(parse_wan_yuan(bad), Ok(200_000));
            continue;
        }
        let e = parse_wan_yuan(bad).expect_err(bad);
        assert_eq!(e.code(), "bad_amount", "{bad}");
    }
    assert_eq!(format_wan_yuan(200_000), "0.2");
    assert_eq!(format_wan_yuan(1_000_000), "1");
    assert_eq!(format_wan_yuan(1), "0.000001");
    assert_eq!(format_yuan(200_000), "2000.00");
    assert_eq!(format_yuan(5), "0.05");
}

proptest! {
    #[test]
    fn any_fen_amount_round_trips(fen in any::<u64>()) {
        let s = format_wan_yuan(fen);
        prop_assert_eq!(parse_wan_yuan(&s), Ok(fen), "{}", s);
        // Trailing zeros and a decimal point never change the value.
        let padded = if s.contains('.') { format!("{s}0") } else { format!("{s}.000000") };
        if padded.split('.').nth(1).is_some_and(|f| f.len() <= 6) {
            prop_assert_eq!(parse_wan_yuan(&padded), Ok(fen));
        }
    }

    #[test]
    fn seven_decimals_or_units_are_refused(whole in 0u64..1_000_000, frac in 0u64..10_000_000) {
        let seven = format!("{whole}.{frac:07}");
        prop_assert_eq!(parse_wan_yuan(&seven).map_err(|e| e.code()), Err("bad_amount"));
        let unit = format!("{whole}元");
        prop_assert_eq!(parse_wan_yuan(&unit).map_err(|e| e.code()), Err("bad_amount"));
        let negative = format!("-{whole}");
        prop_assert_eq!(parse_wan_yuan(&negative).map_err(|e| e.code()), Err("bad_amount"));
    }

    #[test]
    fn parsed_amounts_are_what_the_digits_say(whole in 0u64..100_000_000, frac in 0u32..1_000_000, places in 1usize..=6) {
        let digits = format!("{frac:06}");
        let s = format!("{whole}.{}", &digits[..places]);
        let expect = whole * FEN_PER_WAN_YUAN + digits[..places].parse::<u64>().unwrap() * 10u64.pow((6 - places) as u32);
        prop_assert_eq!(parse_wan_yuan(&s), Ok(expect));
    }
}

#[test]
fn every_cflb_category_maps_to_a_rule_penalty_type() {
    let expected = [
        ("警告", "warning"),
        ("通报批评", "circulated_criticism"),
        ("罚款", "fine"),
        ("没收违法所得", "confiscation"),
        ("没收非法财物", "confiscation"),
        ("暂扣许可证件", "suspension"),
        ("降低资质等级", "qualification_downgrade"),
        ("吊销许可证件", "licence_revocation"),
        ("限制开展生产经营活动", "business_restriction"),
        ("责令停产停业", "production_suspension"),
        ("责令关闭", "production_suspension"),
        ("限制从业", "practice_ban"),
        ("行政拘留", "detention"),
        ("其他", "other"),
    ];
    assert_eq!(expected.len(), PenaltyCategory::ALL.len());
    for ((zh, ty), c) in expected.iter().zip(PenaltyCategory::ALL) {
        assert_eq!(c.chinese(), *zh);
        assert_eq!(PenaltyCategory::parse(zh), Some(*c), "{zh}");
        assert_eq!(PenaltyCategory::parse(&format!(" {zh} ")), Some(*c), "{zh} trimmed");
        assert_eq!(c.penalty_type(), *ty, "{zh}");
        assert!(PENALTY_TYPES.contains(ty), "{ty} is a rule-table penalty type");
        for t in c.accepted_types() {
            assert!(PENALTY_TYPES.contains(t), "{t}");
        }
    }
    for other in ["其他-责令改正", "其他：责令改正", "其他（责令改正）", "其他(责令改正)"] {
        assert_eq!(PenaltyCategory::parse(other), Some(PenaltyCategory::Other), "{other}");
    }
    for bad in ["罚金", "其他-", "其他责令改正", "warning", "", "罚款；警告"] {
        assert_eq!(PenaltyCategory::parse(bad), None, "{bad}");
    }
    assert_eq!(split_categories("罚款;警告；没收违法所得; "), vec!["罚款", "警告", "没收违法所得"]);
    assert_eq!(
        penalty_types_for(&split_categories("罚款;没收违法所得;没收非法财物")).unwrap(),
        vec!["fine", "confiscation"],
        "deduplicated, first appearance first"
    );
    let e = penalty_types_for(&["罚金".into()]).unwrap_err();
    assert_eq!((e.code, e.field), ("invalid_field", "national.penalty.categories"));
}

#[test]
fn licence_categories_and_source_status_by_name_and_code() {
    let names = ["普通", "特许", "认可", "核准", "登记", "其他"];
    for (i, (zh, c)) in names.iter().zip(LicenceCategory::ALL).enumerate() {
        assert_eq!(LicenceCategory::parse_national(zh), Some(*c));
        assert_eq!(LicenceCategory::parse_national(&format!("0{}", i + 1)), Some(*c));
        assert_eq!(LicenceCategory::parse_national(c.as_str()), Some(*c));
    }
    assert_eq!(LicenceCategory::parse_national("07"), None);
    assert_eq!(LicenceCategory::parse_national("1"), None);
    assert_eq!(SourceStatus::parse_national("1"), Some(SourceStatus::Valid));
    assert_eq!(SourceStatus::parse_national("2"), Some(SourceStatus::Invalid));
    assert_eq!(SourceStatus::parse_national("3"), None);
    assert_eq!(licence_valid_until(day("2099-12-31")), None, "长期");
    assert_eq!(licence_valid_until(day("2031-01-04")), Some(day("2031-01-04")));
}

#[test]
fn valid_blocks_pass_and_round_trip_through_cbor() {
    for c in [penalty(), licence()] {
        c.validate().unwrap();
        let body = Body::Record(RecordBody {
            region: "xinyang".parse().unwrap(),
            signed_at: 1_767_578_400,
            nonce: Nonce::from_bytes(&[9; 16]).unwrap(),
            record: c.clone(),
        });
        let bytes = body.encode();
        assert_eq!(Body::decode(&bytes).unwrap(), body);
    }
}

#[test]
fn per_kind_rules_name_the_field() {
    // The block only on penalties and licences.
    let mut c = penalty();
    c.kind = RecordKind::DishonestyList;
    c.penalty_types.clear();
    assert_eq!(code_field(&c), ("field_not_allowed", "national"));
    // The penalty part is required for a penalty, refused on a licence; and vice versa.
    let mut c = penalty();
    c.national.as_mut().unwrap().penalty = None;
    assert_eq!(code_field(&c), ("missing_field", "national.penalty"));
    let mut c = licence();
    c.national.as_mut().unwrap().licence = None;
    assert_eq!(code_field(&c), ("missing_field", "national.licence"));
    let mut c = licence();
    c.national.as_mut().unwrap().penalty = penalty_block().penalty;
    assert_eq!(code_field(&c), ("field_not_allowed", "national.penalty"));
    let mut c = penalty();
    c.national.as_mut().unwrap().licence = licence().national.unwrap().licence;
    assert_eq!(code_field(&c), ("field_not_allowed", "national.licence"));
    // CF_GSJZQ only on penalties, not before the decision.
    let mut c = licence();
    c.national.as_mut().unwrap().publicity_until = Some(day("2027-01-01"));
    assert_eq!(code_field(&c), ("field_not_allowed", "national.publicity_until"));
    let mut c = penalty();
    c.national.as_mut().unwrap().publicity_until = Some(day("2026-01-04"));
    assert_eq!(code_field(&c), ("invalid_field", "national.publicity_until"));
    // Penalty fields.
    let p = |f: &dyn Fn(&mut PenaltyFields)| {
        let mut c = penalty();
        f(c.national.as_mut().unwrap().penalty.as_mut().unwrap());
        code_field(&c)
    };
    assert_eq!(p(&|p| p.content = Some(" ".into())), ("missing_field", "national.penalty.content"));
    assert_eq!(p(&|p| p.content = Some("x".repeat(10_001))), ("field_too_long", "national.penalty.content"));
    assert_eq!(p(&|p| p.categories.clear()), ("missing_field", "national.penalty.categories"));
    assert_eq!(p(&|p| p.categories.push("罚金".into())), ("invalid_field", "national.penalty.categories"));
    assert_eq!(p(&|p| p.categories.push("罚款".into())), ("invalid_field", "national.penalty.categories"));
    assert_eq!(p(&|p| p.categories[0] = "罚款;警告".into()), ("invalid_field", "national.penalty.categories"));
    assert_eq!(p(&|p| p.valid_until = Some(day("2025-12-31"))), ("invalid_field", "national.penalty.valid_until"));
    assert_eq!(p(&|p| p.violation_type = Some("a\u{7}".into())), ("invalid_field", "national.penalty.violation_type"));
    // penalty_types must say what the categories say.
    let mut c = penalty();
    c.penalty_types = vec!["fine".into()];
    assert_eq!(code_field(&c), ("invalid_field", "penalty_types"), "警告 not covered");
    let mut c = penalty();
    c.penalty_types.push("detention".into());
    assert_eq!(code_field(&c), ("invalid_field", "penalty_types"), "detention not a category");
    let mut c = penalty();
    c.penalty_types = vec!["warning".into(), "fine_low".into()];
    c.validate().expect("fine_low refines 罚款");
    // Licence fields.
    let mut c = licence();
    c.national.as_mut().unwrap().licence.as_mut().unwrap().valid_from = Some(day("2031-01-05"));
    assert_eq!(code_field(&c), ("invalid_field", "national.licence.valid_from"));
    let mut c = licence();
    c.national.as_mut().unwrap().licence.as_mut().unwrap().certificate_no = Some(String::new());
    assert_eq!(code_field(&c), ("missing_field", "national.licence.certificate_no"));
    // Legal representative: something to say, and never for a natural person.
    let mut c = penalty();
    c.national.as_mut().unwrap().legal_representative = Some(LegalRepresentative { id_type: None, id_digest: None });
    assert_eq!(code_field(&c), ("missing_field", "national.legal_representative"));
    // An ID number in the name column.
    let mut c = penalty();
    c.subject_name = Some("张三11010519491231002X".into());
    assert_eq!(code_field(&c), ("invalid_field", "subject_name"));
}

#[test]
fn subject_category_must_match_the_subject() {
    let secret = PersonSecret::from_bytes(&[3; 32]).unwrap();
    let digest = PersonDigest::compute(&secret, &"11010519491231002X".parse().unwrap());
    let regno: RegistrationNo = "411502600123456".parse().unwrap();
    let with = |cat: SubjectCategory, subject: Subject| {
        let mut c = penalty();
        c.subject = subject;
        let n = c.national.as_mut().unwrap();
        n.subject_category = cat;
        if cat == SubjectCategory::NaturalPerson {
            n.legal_representative = None;
        }
        c.validate().map_err(|e| (e.code, e.field))
    };
    let uscc = Subject::Uscc(sample::uscc("411502", 1));
    let person = Subject::PersonDigest(digest);
    let reg = Subject::RegistrationNo(regno.clone());
    assert_eq!(with(SubjectCategory::LegalEntity, uscc.clone()), Ok(()));
    assert_eq!(with(SubjectCategory::IndividualBusiness, uscc.clone()), Ok(()));
    assert_eq!(with(SubjectCategory::IndividualBusiness, reg.clone()), Ok(()));
    assert_eq!(with(SubjectCategory::NaturalPerson, person.clone()), Ok(()));
    let wrong = Err(("invalid_field", "national.subject_category"));
    assert_eq!(with(SubjectCategory::LegalEntity, person.clone()), wrong);
    assert_eq!(with(SubjectCategory::LegalEntity, reg.clone()), wrong);
    assert_eq!(with(SubjectCategory::NaturalPerson, uscc), wrong);
    assert_eq!(with(SubjectCategory::IndividualBusiness, person), wrong);
    // A natural person has no legal representative.
    let mut c = penalty();
    c.subject = Subject::PersonDigest(digest);
    c.national.as_mut().unwrap().subject_category = SubjectCategory::NaturalPerson;
    assert_eq!(code_field(&c), ("field_not_allowed", "national.legal_representative"));
    // A registration-number subject only with the block.
    let mut c = penalty();
    c.subject = reg;
    c.national = None;
    c.penalty_types = vec!["fine".into()];
    assert_eq!(code_field(&c), ("field_not_allowed", "subject"));
}

#[test]
fn registration_numbers() {
    let r: RegistrationNo = " 411502600123456 ".parse().unwrap();
    assert_eq!(r.as_str(), "411502600123456");
    assert_eq!(Subject::RegistrationNo(r).key(), "regno:411502600123456");
    assert_eq!("abc-12345".parse::<RegistrationNo>().unwrap().as_str(), "ABC-12345");
    for (bad, e) in [
        ("1234567", RegistrationNoError::Shape),
        ("4115026001234５6", RegistrationNoError::Shape),
        ("91310110666007217T", RegistrationNoError::IsUscc),
        ("11010519491231002X", RegistrationNoError::IsResidentId),
        ("91310110666007217A", RegistrationNoError::UsccLength),
    ] {
        assert_eq!(bad.parse::<RegistrationNo>(), Err(e.clone()), "{bad}");
        assert_eq!(e.code(), "invalid_registration_no");
    }
    // Keys never collide: each kind of subject has its own prefix.
    let u = Subject::Uscc("91310110666007217T".parse().unwrap());
    assert!(u.key().starts_with("uscc:"));
}

#[test]
fn content_without_the_block_keeps_its_bytes() {
    // The block is omitted when absent: the encoding has no "national" key at all.
    let c = RecordContent { national: None, ..penalty() };
    let c = RecordContent { penalty_types: vec!["fine".into()], ..c };
    let bytes = Body::Record(RecordBody {
        region: "xinyang".parse().unwrap(),
        signed_at: 1,
        nonce: Nonce::from_bytes(&[1; 16]).unwrap(),
        record: c,
    })
    .encode();
    assert!(!bytes.windows(8).any(|w| w == b"national"));
    // A licence keeps `classification` etc. as before; the national one adds exactly one key.
    let with = Body::Record(RecordBody {
        region: "xinyang".parse().unwrap(),
        signed_at: 1,
        nonce: Nonce::from_bytes(&[1; 16]).unwrap(),
        record: RecordContent { classification: Classification::Public, ..licence() },
    })
    .encode();
    assert!(with.windows(8).any(|w| w == b"national"));
}

#[test]
fn the_later_end_of_publicity_governs() {
    use crate::envelope::ObjectId;
    use crate::rules::RuleSet;
    use crate::status::{check_repair, derive, EndSource, Status};
    let rules = RuleSet::builtin();
    let origin: crate::RegionId = "xinyang".parse().unwrap();
    let id = ObjectId::of(b"record");
    let with_until = |until: Option<&str>| {
        let mut c = penalty();
        c.national.as_mut().unwrap().publicity_until = until.map(day);
        c
    };
    // SAMR Order 45, fine: 36 months from (estimated) publication 2026-01-05 → not public from 2029-01-05.
    let c = with_until(None);
    let r = derive(id, &origin, &c, &[], day("2026-06-01"), &rules).unwrap();
    assert_eq!(r.publicity_end.rule_until, Some(day("2029-01-05")));
    assert_eq!((r.publicity_end.governs, r.publicity_end.ends_on), (EndSource::Rules, Some(day("2029-01-05"))));
    // The department's last day 2029-01-04 is the same end; an earlier one never shortens.
    for earlier in ["2029-01-04", "2027-01-01"] {
        let r = derive(id, &origin, &with_until(Some(earlier)), &[], day("2029-01-05"), &rules).unwrap();
        assert_eq!(r.publicity_end.governs, EndSource::Rules, "{earlier}");
        assert_eq!(r.publicity_end.department_until, Some(day(earlier)));
        assert_eq!((r.status, r.since), (Status::Expired, Some(day("2029-01-05"))));
    }
    // A later department end keeps the record public through its last day.
    let c = with_until(Some("2029-06-30"));
    let r = derive(id, &origin, &c, &[], day("2029-06-30"), &rules).unwrap();
    assert_eq!((r.publicity_end.governs, r.publicity_end.ends_on), (EndSource::Department, Some(day("2029-07-01"))));
    assert_eq!(r.status, Status::Active);
    let r = derive(id, &origin, &c, &[], day("2029-07-01"), &rules).unwrap();
    assert_eq!(
        (r.status, r.since, r.rule.rule_id.as_str()),
        (Status::Expired, Some(day("2029-07-01")), "publicity_until")
    );
    // Still public, so still repairable past the rules' end; not after the department's.
    assert!(check_repair(id, &origin, &c, &[], day("2029-03-01"), &rules).is_ok());
    assert_eq!(check_repair(id, &origin, &c, &[], day("2029-07-01"), &rules).unwrap_err().code(), "publicity_ended");
    assert_eq!(
        check_repair(id, &origin, &with_until(None), &[], day("2029-03-01"), &rules).unwrap_err().code(),
        "publicity_ended"
    );
    // A warning only is not published under SAMR Order 45: the department's date does not publish it.
    let mut w = with_until(Some("2029-06-30"));
    w.penalty_types = vec!["warning".into()];
    w.national.as_mut().unwrap().penalty.as_mut().unwrap().categories = vec!["警告".into()];
    let r = derive(id, &origin, &w, &[], day("2026-06-01"), &rules).unwrap();
    assert_eq!(r.publicity_end.governs, EndSource::Rules);
    assert!(!r.body_visible);
}

#[test]
fn a_licence_invalid_at_source_is_expired() {
    use crate::envelope::ObjectId;
    use crate::rules::RuleSet;
    use crate::status::{derive, Status};
    let rules = RuleSet::builtin();
    let origin: crate::RegionId = "xinyang".parse().unwrap();
    let id = ObjectId::of(b"licence");
    let c = licence();
    let r = derive(id, &origin, &c, &[], day("2026-06-01"), &rules).unwrap();
    assert_eq!(r.status, Status::Active);
    let mut c = licence();
    c.national.as_mut().unwrap().licence.as_mut().unwrap().source_status = Some(SourceStatus::Invalid);
    let r = derive(id, &origin, &c, &[], day("2026-06-01"), &rules).unwrap();
    assert_eq!(
        (r.status, r.since, r.rule.rule_id.as_str()),
        (Status::Expired, Some(day("2026-01-05")), "source_status")
    );
    assert!(!r.body_visible);
}

proptest! {
    /// Any set of CF_CFLB categories, with any amounts: the derived penalty types are rule-table
    /// types, the content validates, and its body round-trips through the strict decoder.
    #[test]
    fn any_categories_and_amounts_make_a_valid_round_tripping_record(
        picks in proptest::collection::btree_set(0usize..PenaltyCategory::ALL.len(), 1..6),
        fine in proptest::option::of(any::<u64>()),
        confiscated in proptest::option::of(any::<u64>()),
    ) {
        let categories: Vec<String> = picks.iter().map(|i| PenaltyCategory::ALL[*i].chinese().to_owned()).collect();
        let types = penalty_types_for(&categories).unwrap();
        prop_assert!(types.iter().all(|t| PENALTY_TYPES.contains(&t.as_str())));
        let mut c = penalty();
        c.penalty_types = types;
        let p = c.national.as_mut().unwrap().penalty.as_mut().unwrap();
        p.categories = categories;
        p.fine_fen = fine;
        p.confiscated_fen = confiscated;
        prop_assert_eq!(c.validate(), Ok(()));
        let body = Body::Record(RecordBody {
            region: "xinyang".parse().unwrap(),
            signed_at: 1_767_578_400,
            nonce: Nonce::from_bytes(&[5; 16]).unwrap(),
            record: c,
        });
        prop_assert_eq!(Body::decode(&body.encode()), Ok(body));
    }

    /// The governing end is the later of the rules' end and the day after the department's last
    /// day; the record is active the day before it and expired on it.
    #[test]
    fn the_governing_end_is_the_later_one(offset in -400i64..400) {
        use crate::envelope::ObjectId;
        use crate::status::{derive, EndSource, Status};
        let rules = crate::rules::RuleSet::builtin();
        let origin: crate::RegionId = "xinyang".parse().unwrap();
        let rule_end = day("2029-01-05");
        let dept = rule_end.add_days(offset);
        let mut c = penalty();
        c.national.as_mut().unwrap().publicity_until = Some(dept.max(c.decided_on));
        let dept = dept.max(c.decided_on);
        let expect = rule_end.max(dept.succ());
        let id = ObjectId::of(b"p");
        let r = derive(id, &origin, &c, &[], expect.add_days(-1), &rules).unwrap();
        prop_assert_eq!(r.publicity_end.ends_on, Some(expect));
        prop_assert_eq!(r.publicity_end.governs == EndSource::Department, dept.succ() > rule_end);
        prop_assert_eq!(r.status, Status::Active);
        let r = derive(id, &origin, &c, &[], expect, &rules).unwrap();
        prop_assert_eq!((r.status, r.since), (Status::Expired, Some(expect)));
    }
}
