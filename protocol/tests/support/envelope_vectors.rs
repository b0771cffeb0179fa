//! `tests/vectors/envelopes.json`: signed envelopes of every object type, and malformed, forged
//! or non-canonical ones with the stable error code `objects::open` gives for them.
//!
//! Everything is deterministic: keys are Ed25519 seeds `SHA-256(label)`, nonces are
//! `SHA-256("nonce:" ‖ label)[..16]` (or given bytes), times are fixed, and Ed25519 signing is
//! deterministic (RFC 8032). The generator asserts that the library agrees with the outcome each
//! case was written for, so a behaviour change fails here, not silently in the file.

use ciborium::Value;
use credfed_protocol::cbor;
use credfed_protocol::envelope::{signing_input, Envelope, ObjectId, ENVELOPE_DOMAIN, FEED_ENTRY_DOMAIN, MAX_BODY_LEN};
use credfed_protocol::keys::SecretKey;
use credfed_protocol::kind::{ObjectionGround, ObjectionOutcome};
use credfed_protocol::national::{
    parse_wan_yuan, penalty_types_for, split_categories, LegalRepresentative, LicenceCategory, LicenceFields,
    NationalFields, PenaltyFields, RegistrationNo, SourceStatus, SubjectCategory,
};
use credfed_protocol::objects::{
    open, BenefitSchemeBody, Body, CorrectionBody, DelegationBody, Disqualifier, MeasureAppliedBody, Nonce,
    ObjectionBody, ObjectionResolutionBody, ReceiptBody, RecordBody, RecordContent, RepairBody, RevocationBody,
    Subject, WithdrawalBody,
};
use credfed_protocol::person::{PersonDigest, PersonSecret, ResidentId};
use credfed_protocol::uscc::{expected_check_char, Uscc};
use credfed_protocol::{Classification, Day, ObjectType, RecordKind, RegionId, Role, Scope, Severity};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// 2026-01-01T00:00:00+08:00: delegations start here.
pub const T_DELEGATED: u64 = 1_767_196_800;
/// 2028-01-01T00:00:00+08:00: delegations end here (exclusive).
pub const T_EXPIRES: u64 = 1_830_268_800;
/// 2026-01-05T10:00:00+08:00: the penalty record is signed.
pub const T_PENALTY: u64 = 1_767_578_400;

/// Label of the federation person-digest secret (`secret = SHA-256(label)`).
pub const PERSON_SECRET_LABEL: &str = "credfed vector person secret";
/// The made-up resident ID number (valid check character, not a real person) behind the
/// person-digest subject.
pub const RESIDENT_ID: &str = "11010519491231002X";

/// One published case.
#[derive(Serialize)]
pub struct Vector {
    description: String,
    secret_key_hex: String,
    public_key_hex: String,
    body_hex: String,
    envelope_hex: String,
    id_hex: String,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

/// A deterministic key: seed = SHA-256(label).
pub fn key(label: &str) -> SecretKey {
    SecretKey::from_bytes(&Sha256::digest(label.as_bytes())).expect("32 bytes")
}

fn nonce(label: &str) -> Nonce {
    Nonce::from_bytes(&Sha256::digest(format!("nonce:{label}").as_bytes())[..16]).expect("16 bytes")
}

fn region(s: &str) -> RegionId {
    s.parse().expect("valid region id")
}

fn day(s: &str) -> Day {
    s.parse().expect("valid day")
}

/// A USCC from its first 17 characters and the R1.3 check character.
fn uscc(first17: &str) -> Uscc {
    let check = expected_check_char(first17).expect("17 alphabet characters");
    format!("{first17}{check}").parse().expect("valid by construction")
}

/// The person-digest secret of the vectors.
pub fn person_secret() -> PersonSecret {
    PersonSecret::from_bytes(&Sha256::digest(PERSON_SECRET_LABEL.as_bytes())).expect("32 bytes")
}

/// The person-digest subject of the vectors.
pub fn person_digest() -> PersonDigest {
    let id: ResidentId = RESIDENT_ID.parse().expect("valid check character");
    PersonDigest::compute(&person_secret(), &id)
}

/// The subject of the penalty record: a Xinyang (浉河区 411502) company.
pub fn penalty_subject() -> Uscc {
    uscc("91411502MA45TQ8N1")
}

/// The realistic penalty record used by the vectors, the bench and `docs/PROTOCOL.md`:
/// signed by the key labelled `xinyang-samr`.
pub fn penalty_body() -> Body {
    Body::Record(RecordBody {
        region: region("xinyang"),
        signed_at: T_PENALTY,
        nonce: nonce("penalty"),
        record: penalty_content(),
    })
}

fn penalty_content() -> RecordContent {
    RecordContent {
        kind: RecordKind::AdministrativePenalty,
        subject: Subject::Uscc(penalty_subject()),
        subject_name: Some("信阳市浉河区某商贸有限公司".into()),
        authority: "信阳市市场监督管理局".into(),
        decision_no: "信市监罚〔2026〕15号".into(),
        legal_basis: "《中华人民共和国食品安全法》第一百二十四条第一款".into(),
        facts: Some(
            "当事人于2025年11月至12月期间销售超过保质期的预包装食品，货值金额人民币3260元，\
             违法所得人民币1120元。依法没收违法所得，并处罚款人民币50000元。"
                .into(),
        ),
        severity: Some(Severity::General),
        sector: "market_regulation".into(),
        decided_on: day("2026-01-05"),
        classification: Classification::Public,
        published_on: None,
        penalty_types: vec!["fine".into(), "confiscation".into()],
        not_repairable: false,
        valid_until: None,
        grade: None,
        grade_scheme: None,
        repair_notice: Some("信市监信修告〔2026〕15号".into()),
        national: None,
    }
}

/// The USCC standing for 信阳市市场监督管理局 (a made-up 机关 code `11411500…`).
pub fn samr_uscc() -> Uscc {
    uscc("11411500MB0C12360")
}

/// The penalty record carrying the national block, as a department's CF_* row gives it:
/// CF_CFLB `罚款;没收违法所得`, CF_NR_FK `0.2`, CF_NR_WFFF `0.112`, CF_GSJZQ `2029-06-30`.
pub fn national_penalty_content() -> RecordContent {
    let categories = split_categories("罚款;没收违法所得");
    RecordContent {
        decision_no: "信市监罚〔2026〕16号".into(),
        penalty_types: penalty_types_for(&categories).expect("national categories"),
        repair_notice: None,
        national: Some(NationalFields {
            subject_category: SubjectCategory::LegalEntity,
            authority_uscc: Some(samr_uscc()),
            source_unit: Some("信阳市市场监督管理局".into()),
            source_unit_uscc: Some(samr_uscc()),
            publicity_until: Some(day("2029-06-30")),
            legal_representative: Some(LegalRepresentative {
                id_type: Some("身份证".into()),
                id_digest: Some(person_digest()),
            }),
            penalty: Some(PenaltyFields {
                violation_type: Some("销售超过保质期的食品".into()),
                content: Some("没收违法所得人民币1120元，并处罚款人民币2000元".into()),
                fine_fen: Some(parse_wan_yuan("0.2").expect("amount")),
                confiscated_fen: Some(parse_wan_yuan("0.112").expect("amount")),
                categories,
                suspended_licence: None,
                valid_until: Some(day("2027-01-05")),
            }),
            licence: None,
        }),
        ..penalty_content()
    }
}

fn national_penalty_body() -> Body {
    Body::Record(RecordBody {
        region: region("xinyang"),
        signed_at: T_PENALTY,
        nonce: nonce("national-penalty"),
        record: national_penalty_content(),
    })
}

fn authority_scopes() -> Vec<Scope> {
    vec![
        Scope::Record(RecordKind::AdministrativePenalty),
        Scope::Record(RecordKind::AdministrativeLicense),
        Scope::Object(ObjectType::Repair),
        Scope::Object(ObjectType::Withdrawal),
        Scope::Object(ObjectType::Correction),
        Scope::Object(ObjectType::ObjectionResolution),
    ]
}

/// The valid objects, in order: (description, signer label, body).
fn valid_bodies() -> Vec<(String, &'static str, Body)> {
    let xinyang = region("xinyang");
    let suzhou = region("suzhou");
    let mut out: Vec<(String, &'static str, Body)> = Vec::new();

    out.push((
        "delegation: root of xinyang delegates an authority key (信阳市市场监督管理局) with six scopes".into(),
        "xinyang-root",
        Body::Delegation(DelegationBody {
            region: xinyang.clone(),
            signed_at: T_DELEGATED,
            nonce: nonce("delegation-samr"),
            key: key("xinyang-samr").public(),
            role: Role::Authority,
            authority_name: "信阳市市场监督管理局".into(),
            scopes: authority_scopes(),
            not_before: T_DELEGATED,
            not_after: T_EXPIRES,
        }),
    ));
    out.push((
        "delegation: root of xinyang delegates its node key (role node, no scopes)".into(),
        "xinyang-root",
        Body::Delegation(DelegationBody {
            region: xinyang.clone(),
            signed_at: T_DELEGATED,
            nonce: nonce("delegation-node"),
            key: key("xinyang-node").public(),
            role: Role::Node,
            authority_name: "信阳市公共信用信息平台".into(),
            scopes: vec![],
            not_before: T_DELEGATED,
            not_after: T_EXPIRES,
        }),
    ));
    out.push((
        "revocation: root of xinyang revokes a rotated-out authority key".into(),
        "xinyang-root",
        Body::Revocation(RevocationBody {
            region: xinyang.clone(),
            signed_at: T_DELEGATED + 3600,
            nonce: nonce("revocation"),
            key: key("xinyang-samr-2025").public(),
            revoked_from: T_DELEGATED,
            reason: "rotation".into(),
        }),
    ));

    let penalty = penalty_body();
    let penalty_id = ObjectId::of(&penalty.encode());
    out.push((
        "record: administrative_penalty about a legal entity (USCC), severity general, penalty types fine and \
         confiscation, public (the worked example of docs/PROTOCOL.md)"
            .into(),
        "xinyang-samr",
        penalty,
    ));

    let digest = person_digest();
    out.push((
        format!(
            "record: dishonesty_list about a natural person by person digest, severity serious, shared, \
             not_repairable, valid_until; digest = HMAC-SHA-256(key = SHA-256(\"{PERSON_SECRET_LABEL}\") = {}, \
             \"credfed/v1/person\" || 0x00 || \"{RESIDENT_ID}\") = {}",
            hex::encode(Sha256::digest(PERSON_SECRET_LABEL.as_bytes())),
            digest.to_hex()
        ),
        "xinyang-court",
        Body::Record(RecordBody {
            region: xinyang.clone(),
            signed_at: T_PENALTY + 86_400,
            nonce: nonce("dishonesty-list"),
            record: RecordContent {
                kind: RecordKind::DishonestyList,
                subject: Subject::PersonDigest(digest),
                subject_name: None,
                authority: "信阳市中级人民法院".into(),
                decision_no: "（2026）豫15执12号".into(),
                legal_basis: "《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条".into(),
                facts: None,
                severity: Some(Severity::Serious),
                sector: "court".into(),
                decided_on: day("2026-01-06"),
                classification: Classification::Shared,
                published_on: Some(day("2026-01-07")),
                penalty_types: vec![],
                not_repairable: true,
                valid_until: Some(day("2028-01-05")),
                grade: None,
                grade_scheme: None,
                repair_notice: None,
                national: None,
            },
        }),
    ));
    out.push((
        "record: credit_grade (grade A in scheme tax_credit), restricted, valid_until".into(),
        "suzhou-tax",
        Body::Record(RecordBody {
            region: suzhou.clone(),
            signed_at: T_PENALTY + 2 * 86_400,
            nonce: nonce("credit-grade"),
            record: RecordContent {
                kind: RecordKind::CreditGrade,
                subject: Subject::Uscc("91320594780268314T".parse().expect("valid")),
                subject_name: Some("苏州工业园区某科技有限公司".into()),
                authority: "国家税务总局苏州工业园区税务局".into(),
                decision_no: "苏园税信〔2026〕3号".into(),
                legal_basis: "《纳税信用管理办法》第二十条".into(),
                facts: None,
                severity: None,
                sector: "taxation".into(),
                decided_on: day("2026-01-07"),
                classification: Classification::Restricted,
                published_on: None,
                penalty_types: vec![],
                not_repairable: false,
                valid_until: Some(day("2026-12-31")),
                grade: Some("A".into()),
                grade_scheme: Some("tax_credit".into()),
                repair_notice: None,
                national: None,
            },
        }),
    ));
    let license = Body::Record(RecordBody {
        region: xinyang.clone(),
        signed_at: T_PENALTY + 3600,
        nonce: Nonce::from_bytes(&(0u8..64).collect::<Vec<u8>>()).expect("64 bytes"),
        record: RecordContent {
            kind: RecordKind::AdministrativeLicense,
            subject: Subject::Uscc(penalty_subject()),
            subject_name: Some("信阳市浉河区某商贸有限公司".into()),
            authority: "信阳市市场监督管理局".into(),
            decision_no: "JY14115020012345".into(),
            legal_basis: "《食品经营许可和备案管理办法》".into(),
            facts: Some("食品经营许可：预包装食品销售（含冷藏冷冻食品）".into()),
            severity: None,
            sector: "market_regulation".into(),
            decided_on: day("2026-01-05"),
            classification: Classification::Public,
            published_on: Some(day("2026-01-06")),
            penalty_types: vec![],
            not_repairable: false,
            valid_until: Some(day("2031-01-04")),
            grade: None,
            grade_scheme: None,
            repair_notice: None,
            national: None,
        },
    });
    let license_id = ObjectId::of(&license.encode());
    out.push((
        "record: administrative_license with published_on and valid_until, and the longest nonce (64 bytes)".into(),
        "xinyang-samr",
        license,
    ));
    out.push((
        "record: government_breach about a government body (USCC 11…, 机关), severity general".into(),
        "xinyang-credit",
        Body::Record(RecordBody {
            region: xinyang.clone(),
            signed_at: T_PENALTY + 7 * 86_400,
            nonce: nonce("government-breach"),
            record: RecordContent {
                kind: RecordKind::GovernmentBreach,
                subject: Subject::Uscc("11411500MB0C12344W".parse().expect("valid")),
                subject_name: Some("信阳市某局".into()),
                authority: "信阳市发展和改革委员会".into(),
                decision_no: "信发改信用〔2026〕2号".into(),
                legal_basis: "《关于加强政务诚信建设的指导意见》".into(),
                facts: Some("未按合同约定期限支付中小企业账款。".into()),
                severity: Some(Severity::General),
                sector: "government_integrity".into(),
                decided_on: day("2026-01-12"),
                classification: Classification::Public,
                published_on: None,
                penalty_types: vec![],
                not_repairable: false,
                valid_until: None,
                grade: None,
                grade_scheme: None,
                repair_notice: None,
                national: None,
            },
        }),
    ));

    out.push((
        format!(
            "record: administrative_penalty with the national block: legal_entity, authority_uscc {}, CF_CFLB \
             罚款;没收违法所得 → penalty_types fine, confiscation; CF_NR_FK 0.2 万元 = fine_fen 200000; CF_NR_WFFF \
             0.112 万元 = confiscated_fen 112000; CF_GSJZQ publicity_until 2029-06-30; legal representative by \
             id_digest only (the person digest above)",
            samr_uscc().as_str()
        ),
        "xinyang-samr",
        national_penalty_body(),
    ));
    let licence_days = "2099-12-31";
    out.push((
        format!(
            "record: administrative_license with the national block: 许可类别 01 = ordinary, XK_ZT 1 = valid, \
             valid_from 2026-01-05; XK_YXQZI {licence_days} means no end, so valid_until is absent"
        ),
        "xinyang-samr",
        Body::Record(RecordBody {
            region: xinyang.clone(),
            signed_at: T_PENALTY + 7200,
            nonce: nonce("national-licence"),
            record: RecordContent {
                kind: RecordKind::AdministrativeLicense,
                subject: Subject::Uscc(penalty_subject()),
                subject_name: Some("信阳市浉河区某商贸有限公司".into()),
                authority: "信阳市市场监督管理局".into(),
                decision_no: "豫食许〔2026〕411502-0101号".into(),
                legal_basis: "《中华人民共和国行政许可法》《食品经营许可和备案管理办法》".into(),
                facts: None,
                severity: None,
                sector: "market_regulation".into(),
                decided_on: day("2026-01-05"),
                classification: Classification::Public,
                published_on: None,
                penalty_types: vec![],
                not_repairable: false,
                valid_until: credfed_protocol::national::licence_valid_until(day(licence_days)),
                grade: None,
                grade_scheme: None,
                repair_notice: None,
                national: Some(NationalFields {
                    subject_category: SubjectCategory::LegalEntity,
                    authority_uscc: Some(samr_uscc()),
                    source_unit: None,
                    source_unit_uscc: None,
                    publicity_until: None,
                    legal_representative: None,
                    penalty: None,
                    licence: Some(LicenceFields {
                        document_name: Some("食品经营许可决定书".into()),
                        category: LicenceCategory::parse_national("01").expect("code 01"),
                        certificate_name: Some("食品经营许可证".into()),
                        certificate_no: Some("JY14115020012346".into()),
                        content: Some("预包装食品销售（含冷藏冷冻食品）".into()),
                        valid_from: Some(day("2026-01-05")),
                        source_status: SourceStatus::parse_national("1"),
                    }),
                }),
            },
        }),
    ));
    out.push((
        "record: administrative_penalty about a 个体工商户 without a USCC, subject {\"registration_no\": \
         \"411502600123456\"} (index key regno:411502600123456), subject_category individual_business, CF_CFLB 警告"
            .into(),
        "xinyang-samr",
        Body::Record(RecordBody {
            region: xinyang.clone(),
            signed_at: T_PENALTY + 3 * 86_400,
            nonce: nonce("national-individual-business"),
            record: RecordContent {
                subject: Subject::RegistrationNo("411502600123456".parse::<RegistrationNo>().expect("valid")),
                subject_name: Some("信阳市浉河区某某便利店".into()),
                decision_no: "信市监罚〔2026〕21号".into(),
                facts: None,
                severity: Some(Severity::Minor),
                decided_on: day("2026-01-08"),
                penalty_types: vec!["warning".into()],
                repair_notice: None,
                national: Some(NationalFields {
                    subject_category: SubjectCategory::IndividualBusiness,
                    publicity_until: None,
                    legal_representative: None,
                    penalty: Some(PenaltyFields {
                        violation_type: None,
                        content: Some("警告".into()),
                        fine_fen: None,
                        confiscated_fen: None,
                        categories: vec!["警告".into()],
                        suspended_licence: None,
                        valid_until: None,
                    }),
                    ..national_penalty_content().national.expect("block")
                }),
                ..penalty_content()
            },
        }),
    ));

    let repair = Body::Repair(RepairBody {
        region: xinyang.clone(),
        signed_at: T_PENALTY + 100 * 86_400,
        nonce: nonce("repair"),
        target: penalty_id,
        repaired_on: day("2026-04-15"),
        basis: "当事人已履行行政处罚决定并提交信用承诺书（信市监信修〔2026〕8号）".into(),
    });
    let repair_id = ObjectId::of(&repair.encode());
    out.push(("repair: xinyang repairs the penalty record".into(), "xinyang-samr", repair));
    out.push((
        "withdrawal: xinyang withdraws the licence record".into(),
        "xinyang-samr",
        Body::Withdrawal(WithdrawalBody {
            region: xinyang.clone(),
            signed_at: T_PENALTY + 20 * 86_400,
            nonce: nonce("withdrawal"),
            target: license_id,
            withdrawn_on: day("2026-01-25"),
            reason: "许可决定已被依法撤销".into(),
        }),
    ));
    let mut corrected = penalty_content();
    corrected.decision_no = "信市监罚〔2026〕15-1号".into();
    corrected.penalty_types = vec!["fine".into()];
    out.push((
        "correction: xinyang supersedes the penalty record with corrected content".into(),
        "xinyang-samr",
        Body::Correction(CorrectionBody {
            region: xinyang.clone(),
            signed_at: T_PENALTY + 10 * 86_400,
            nonce: nonce("correction"),
            target: penalty_id,
            corrected_on: day("2026-01-15"),
            reason: "原决定书文号及处罚种类录入有误".into(),
            record: corrected,
        }),
    ));
    let objection = Body::Objection(ObjectionBody {
        region: suzhou.clone(),
        signed_at: T_PENALTY + 5 * 86_400,
        nonce: nonce("objection"),
        target: penalty_id,
        ground: ObjectionGround::Inaccurate,
        statement: "货值金额计算有误，应为人民币2260元。".into(),
        filed_on: day("2026-01-10"),
    });
    let objection_id = ObjectId::of(&objection.encode());
    out.push(("objection: filed through suzhou against the xinyang penalty record".into(), "suzhou-credit", objection));
    out.push((
        "objection_resolution: xinyang (the origin) rejects the objection".into(),
        "xinyang-samr",
        Body::ObjectionResolution(ObjectionResolutionBody {
            region: xinyang.clone(),
            signed_at: T_PENALTY + 12 * 86_400,
            nonce: nonce("objection-resolution"),
            objection: objection_id,
            target: penalty_id,
            outcome: ObjectionOutcome::Rejected,
            reason: "经核查，原记录与行政处罚决定书一致。".into(),
            resolved_on: day("2026-01-17"),
        }),
    ));
    let scheme = Body::BenefitScheme(BenefitSchemeBody {
        region: suzhou.clone(),
        signed_at: T_DELEGATED + 86_400,
        nonce: nonce("benefit-scheme"),
        code: "xinyiyou_2026".into(),
        name: "信易游".into(),
        benefit: "景区门票免押金、优先入园".into(),
        recognised_regions: vec![region("xinyang"), region("suzhou"), region("luan")],
        disqualifying: vec![
            Disqualifier { kind: RecordKind::DishonestyList, severity: None },
            Disqualifier { kind: RecordKind::AdministrativePenalty, severity: Some(Severity::Serious) },
        ],
        min_grade: Some("B".into()),
        valid_from: day("2026-01-01"),
        valid_until: day("2026-12-31"),
    });
    out.push((
        "benefit_scheme: suzhou's 信易游 scheme with two disqualifiers and a minimum grade".into(),
        "suzhou-credit",
        scheme,
    ));
    out.push((
        "measure_applied: suzhou reports a measure taken because of the xinyang penalty record".into(),
        "suzhou-credit",
        Body::MeasureApplied(MeasureAppliedBody {
            region: suzhou.clone(),
            signed_at: T_PENALTY + 30 * 86_400,
            nonce: nonce("measure"),
            target: penalty_id,
            subject: Subject::Uscc(penalty_subject()),
            measure: "限制参与政府采购活动".into(),
            applied_on: day("2026-02-04"),
        }),
    ));
    out.push((
        "receipt: suzhou's node key records that suzhou applied xinyang's repair".into(),
        "suzhou-node",
        Body::Receipt(ReceiptBody {
            region: suzhou,
            signed_at: T_PENALTY + 101 * 86_400,
            nonce: nonce("receipt"),
            target: repair_id,
            applied_at: T_PENALTY + 101 * 86_400 - 60,
        }),
    ));
    out
}

/// The entries of a decoded CBOR map.
type MapEntries = Vec<(Value, Value)>;

// ---- raw CBOR helpers (for bytes the library would never produce) ----

/// A CBOR head in its shortest form.
fn head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=0xff => vec![m | 24, n as u8],
        0x100..=0xffff => [vec![m | 25], (n as u16).to_be_bytes().to_vec()].concat(),
        0x1_0000..=0xffff_ffff => [vec![m | 26], (n as u32).to_be_bytes().to_vec()].concat(),
        _ => [vec![m | 27], n.to_be_bytes().to_vec()].concat(),
    }
}

fn bstr(b: &[u8]) -> Vec<u8> {
    [head(2, b.len() as u64), b.to_vec()].concat()
}

fn enc(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(v, &mut out).expect("write to Vec");
    out
}

/// `[version, body, signer, signature]` from raw item bytes.
fn raw_envelope(version: &[u8], body: &[u8], signer: &[u8], signature: &[u8]) -> Vec<u8> {
    [vec![0x84], version.to_vec(), bstr(body), bstr(signer), bstr(signature)].concat()
}

/// The body's map entries as decoded values, in canonical order.
fn entries(body: &Body) -> Vec<(Value, Value)> {
    match ciborium::de::from_reader(body.encode().as_slice()).expect("canonical body") {
        Value::Map(m) => m,
        _ => unreachable!("bodies are maps"),
    }
}

fn is_key(k: &Value, name: &str) -> bool {
    matches!(k, Value::Text(t) if t == name)
}

/// Re-encodes entries canonically (sorted keys).
fn canonical(entries: Vec<(Value, Value)>) -> Vec<u8> {
    enc(&cbor::canonicalize(Value::Map(entries), "vector").expect("no floats or tags"))
}

/// A map from raw (key bytes, value bytes) pairs, in the given order.
fn raw_map(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = head(5, pairs.len() as u64);
    for (k, v) in pairs {
        out.extend_from_slice(k);
        out.extend_from_slice(v);
    }
    out
}

/// The body's entries as raw byte pairs, with `f` applied to the pair whose key is `name`.
fn raw_pairs_with(body: &Body, name: &str, f: impl Fn(&Value) -> Vec<u8>) -> Vec<(Vec<u8>, Vec<u8>)> {
    entries(body).iter().map(|(k, v)| (enc(k), if is_key(k, name) { f(v) } else { enc(v) })).collect()
}

fn with_entry(body: &Body, name: &str, value: Value) -> Vec<u8> {
    let mut e = entries(body);
    e.retain(|(k, _)| !is_key(k, name));
    e.push((Value::Text(name.into()), value));
    canonical(e)
}

fn without_entry(body: &Body, name: &str) -> Vec<u8> {
    let mut e = entries(body);
    e.retain(|(k, _)| !is_key(k, name));
    canonical(e)
}

/// The body with field `name` of its `record` map set to `value` (or removed when `None`).
fn with_record_field(body: &Body, name: &str, value: Option<Value>) -> Vec<u8> {
    let mut e = entries(body);
    for (k, v) in e.iter_mut() {
        if let (true, Value::Map(fields)) = (is_key(k, "record"), v) {
            fields.retain(|(k, _)| !is_key(k, name));
            fields.extend(value.clone().map(|val| (Value::Text(name.into()), val)));
        }
    }
    canonical(e)
}

// ---- cases ----

struct Case {
    description: String,
    signer: SecretKey,
    public: Vec<u8>,
    body: Vec<u8>,
    envelope: Vec<u8>,
    expect: Option<&'static str>,
}

/// A correctly signed envelope around arbitrary body bytes.
fn sealed(description: &str, signer: &str, body: Vec<u8>, expect: &'static str) -> Case {
    let sk = key(signer);
    let envelope = Envelope::sign(ENVELOPE_DOMAIN, body.clone(), &sk).encode();
    Case {
        description: description.into(),
        public: sk.public().as_bytes().to_vec(),
        signer: sk,
        body,
        envelope,
        expect: Some(expect),
    }
}

/// An envelope with the body, signer and signature items given raw.
fn raw(
    description: &str,
    signer: SecretKey,
    body: Vec<u8>,
    public: Vec<u8>,
    envelope: Vec<u8>,
    expect: &'static str,
) -> Case {
    Case { description: description.into(), signer, public, body, envelope, expect: Some(expect) }
}

/// Small-order point of order 8 (one of the eight small-order encodings of Ed25519).
const ORDER_8_POINT: &str = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a";
/// The group order L of Ed25519, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `s + L` as 32 little-endian bytes (fits: s < L < 2^253).
fn add_l(s: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let t = u16::from(s[i]) + u16::from(L[i]) + carry;
        out[i] = t as u8;
        carry = t >> 8;
    }
    assert_eq!(carry, 0);
    out
}

/// The first 32-byte string (counting up from y = 2) that is not the encoding of a curve point.
fn not_on_curve() -> Vec<u8> {
    (2u8..=255)
        .map(|y| {
            let mut b = vec![0u8; 32];
            b[0] = y;
            b
        })
        .find(|b| ed25519_dalek::VerifyingKey::from_bytes(b.as_slice().try_into().expect("32")).is_err())
        .expect("about half of all y values are off the curve")
}

fn invalid_cases() -> Vec<Case> {
    let signer = "xinyang-samr";
    let sk = key(signer);
    let pk = sk.public().as_bytes().to_vec();
    let penalty = penalty_body();
    let body = penalty.encode();
    let good = Envelope::sign(ENVELOPE_DOMAIN, body.clone(), &sk);
    let sig = good.signature.as_bytes().to_vec();
    let good_bytes = good.encode();
    let v1 = [0x01u8];
    let mut out = Vec::new();

    // Signatures.
    let mut flipped = sig.clone();
    flipped[0] ^= 0x01;
    out.push(raw(
        "signature with one bit flipped (bit 0 of R)",
        key(signer),
        body.clone(),
        pk.clone(),
        raw_envelope(&v1, &body, &pk, &flipped),
        "bad_signature",
    ));
    let plain = sk.sign(&body);
    out.push(raw(
        "signature over the body alone, without \"credfed/v1/envelope\" || 0x00",
        key(signer),
        body.clone(),
        pk.clone(),
        raw_envelope(&v1, &body, &pk, plain.as_bytes()),
        "bad_signature",
    ));
    let feed = Envelope::sign(FEED_ENTRY_DOMAIN, body.clone(), &sk);
    out.push(raw(
        "signature under the feed-entry domain \"credfed/v1/feed-entry\" (domains never cross)",
        key(signer),
        body.clone(),
        pk.clone(),
        feed.encode(),
        "bad_signature",
    ));
    let no_sep = sk.sign(&[ENVELOPE_DOMAIN, body.as_slice()].concat());
    out.push(raw(
        "signature over \"credfed/v1/envelope\" || body without the 0x00 separator",
        key(signer),
        body.clone(),
        pk.clone(),
        raw_envelope(&v1, &body, &pk, no_sep.as_bytes()),
        "bad_signature",
    ));
    let other = key("suzhou-samr").public().as_bytes().to_vec();
    out.push(raw(
        "genuine signature by xinyang-samr, but the envelope names another signer (suzhou-samr)",
        key(signer),
        body.clone(),
        other.clone(),
        raw_envelope(&v1, &body, &other, &sig),
        "bad_signature",
    ));
    let malleable = [sig[..32].to_vec(), add_l(&sig[32..])].concat();
    out.push(raw(
        "malleated signature: S replaced by S + L (non-canonical S; verify_strict refuses it)",
        key(signer),
        body.clone(),
        pk.clone(),
        raw_envelope(&v1, &body, &pk, &malleable),
        "bad_signature",
    ));
    assert!(
        ed25519_dalek::VerifyingKey::from_bytes(sk.public().as_bytes())
            .expect("valid")
            .verify_strict(
                &signing_input(ENVELOPE_DOMAIN, &body),
                &ed25519_dalek::Signature::from_slice(&malleable).expect("64")
            )
            .is_err(),
        "the malleated signature must be refused"
    );

    // Keys and lengths.
    out.push(raw(
        "signer key of 31 bytes",
        key(signer),
        body.clone(),
        pk[..31].to_vec(),
        raw_envelope(&v1, &body, &pk[..31], &sig),
        "bad_key",
    ));
    out.push(raw(
        "signature of 63 bytes",
        key(signer),
        body.clone(),
        pk.clone(),
        raw_envelope(&v1, &body, &pk, &sig[..63]),
        "bad_key",
    ));
    let mut identity = vec![0u8; 32];
    identity[0] = 1;
    out.push(raw(
        "weak signer key: the identity point (small order 1), signature by xinyang-samr",
        key(signer),
        body.clone(),
        identity.clone(),
        raw_envelope(&v1, &body, &identity, &sig),
        "bad_key",
    ));
    let order8 = hex::decode(ORDER_8_POINT).expect("hex");
    out.push(raw(
        "weak signer key: a point of small order 8",
        key(signer),
        body.clone(),
        order8.clone(),
        raw_envelope(&v1, &body, &order8, &sig),
        "bad_key",
    ));
    let off = not_on_curve();
    out.push(raw(
        "signer key that does not decode to a curve point",
        key(signer),
        body.clone(),
        off.clone(),
        raw_envelope(&v1, &body, &off, &sig),
        "bad_key",
    ));

    // Envelope structure and canonical form.
    out.push(raw(
        "envelope version 2",
        key(signer),
        body.clone(),
        pk.clone(),
        raw_envelope(&[0x02], &body, &pk, &sig),
        "unsupported_version",
    ));
    out.push(raw(
        "version 1 written as 0x18 0x01 (non-shortest integer)",
        key(signer),
        body.clone(),
        pk.clone(),
        raw_envelope(&[0x18, 0x01], &body, &pk, &sig),
        "non_canonical",
    ));
    let indefinite = [vec![0x9f], v1.to_vec(), bstr(&body), bstr(&pk), bstr(&sig), vec![0xff]].concat();
    out.push(raw(
        "envelope as an indefinite-length array (0x9f … 0xff)",
        key(signer),
        body.clone(),
        pk.clone(),
        indefinite,
        "non_canonical",
    ));
    let chunked =
        [vec![0x84, 0x01, 0x5f], bstr(&body[..10]), bstr(&body[10..]), vec![0xff], bstr(&pk), bstr(&sig)].concat();
    out.push(raw(
        "body as an indefinite-length (chunked) byte string",
        key(signer),
        body.clone(),
        pk.clone(),
        chunked,
        "non_canonical",
    ));
    let mut trailing = good_bytes.clone();
    trailing.push(0x00);
    out.push(raw(
        "one trailing byte (0x00) after the envelope",
        key(signer),
        body.clone(),
        pk.clone(),
        trailing,
        "trailing_bytes",
    ));
    out.push(raw(
        "truncated: the last byte of the signature is missing",
        key(signer),
        body.clone(),
        pk.clone(),
        good_bytes[..good_bytes.len() - 1].to_vec(),
        "malformed_envelope",
    ));
    out.push(raw(
        "three-element array (signature missing)",
        key(signer),
        body.clone(),
        pk.clone(),
        [vec![0x83, 0x01], bstr(&body), bstr(&pk)].concat(),
        "malformed_envelope",
    ));
    let text_body = [vec![0x84, 0x01], head(3, body.len() as u64), body.clone(), bstr(&pk), bstr(&sig)].concat();
    out.push(raw(
        "body as a text string (major type 3) instead of a byte string",
        key(signer),
        body.clone(),
        pk.clone(),
        text_body,
        "malformed_envelope",
    ));
    out.push(raw(
        "envelope wrapped in the self-describe tag 55799 (tags are never used)",
        key(signer),
        body.clone(),
        pk.clone(),
        [vec![0xd9, 0xd9, 0xf7], good_bytes.clone()].concat(),
        "malformed_envelope",
    ));
    out.push(raw("empty input", key(signer), body.clone(), pk.clone(), vec![], "malformed_envelope"));

    // Size cap: a correctly signed body one byte over MAX_BODY_LEN (refused before decoding it).
    let mut big = match penalty.clone() {
        Body::Record(r) => r,
        _ => unreachable!(),
    };
    let probe = |n: usize, r: &mut RecordBody| {
        r.record.facts = Some("x".repeat(n));
        Body::Record(r.clone()).encode().len()
    };
    let n = 1000 + (MAX_BODY_LEN + 1) - probe(1000, &mut big);
    assert_eq!(probe(n, &mut big), MAX_BODY_LEN + 1);
    out.push(sealed(
        &format!("body of {} bytes, one over the {MAX_BODY_LEN}-byte cap (correctly signed)", MAX_BODY_LEN + 1),
        signer,
        Body::Record(big).encode(),
        "too_large",
    ));

    // Body canonical form (each correctly signed, so only the body is at fault).
    let mut reversed = entries(&penalty);
    reversed.reverse();
    out.push(sealed(
        "body map keys in reverse order (not sorted bytewise)",
        signer,
        enc(&Value::Map(reversed)),
        "non_canonical",
    ));
    let long_int = raw_map(&raw_pairs_with(&penalty, "signed_at", |v| {
        let Value::Integer(i) = v else { unreachable!() };
        [vec![0x1b], u64::try_from(*i).expect("u64").to_be_bytes().to_vec()].concat()
    }));
    out.push(sealed(
        "signed_at written with an 8-byte argument (0x1b …) although it fits in 4",
        signer,
        long_int,
        "non_canonical",
    ));
    out.push(sealed(
        "optional record field published_on written as an explicit null",
        signer,
        with_record_field(&penalty, "published_on", Some(Value::Null)),
        "non_canonical",
    ));
    let mut dup = raw_pairs_with(&penalty, "nonce", enc);
    let at = dup.iter().position(|(k, _)| *k == enc(&Value::Text("nonce".into()))).expect("nonce");
    dup.insert(at + 1, (enc(&Value::Text("nonce".into())), bstr(&[0x55; 16])));
    out.push(sealed("duplicate map key nonce", signer, raw_map(&dup), "non_canonical"));
    let float = raw_map(&raw_pairs_with(&penalty, "signed_at", |_| {
        [vec![0xfb], (T_PENALTY as f64).to_be_bytes().to_vec()].concat()
    }));
    out.push(sealed("signed_at as a float (floats are never used)", signer, float, "malformed_body"));
    out.push(sealed("empty body (zero bytes)", signer, vec![], "malformed_body"));

    // Body shape.
    out.push(sealed(
        "body is an array, not a map",
        signer,
        enc(&Value::Array(vec![Value::Text("record".into())])),
        "missing_type",
    ));
    out.push(sealed("type field missing", signer, without_entry(&penalty, "type"), "missing_type"));
    out.push(sealed(
        "unknown type \"penalty\"",
        signer,
        with_entry(&penalty, "type", Value::Text("penalty".into())),
        "unknown_type",
    ));
    out.push(sealed(
        "type names are case-sensitive: \"Record\"",
        signer,
        with_entry(&penalty, "type", Value::Text("Record".into())),
        "unknown_type",
    ));
    out.push(sealed("nonce missing", signer, without_entry(&penalty, "nonce"), "invalid_nonce"));
    out.push(sealed(
        "nonce of 8 bytes (16..=64 required)",
        signer,
        with_entry(&penalty, "nonce", Value::Bytes(vec![0x42; 8])),
        "invalid_nonce",
    ));
    out.push(sealed(
        "nonce of 65 bytes (16..=64 required)",
        signer,
        with_entry(&penalty, "nonce", Value::Bytes(vec![0x42; 65])),
        "invalid_nonce",
    ));
    out.push(sealed(
        "nonce as a text string instead of a byte string",
        signer,
        with_entry(&penalty, "nonce", Value::Text("982e5e779edb529159d043ac5bc01a15".into())),
        "invalid_body",
    ));
    out.push(sealed(
        "signed_at as a negative integer",
        signer,
        with_entry(&penalty, "signed_at", Value::Integer((-1i64).into())),
        "invalid_body",
    ));
    out.push(sealed(
        "unknown top-level field \"remark\"",
        signer,
        with_entry(&penalty, "remark", Value::Text("备注".into())),
        "invalid_body",
    ));
    out.push(sealed(
        "flag not_repairable written as false (a flag is present only when true)",
        signer,
        with_record_field(&penalty, "not_repairable", Some(Value::Bool(false))),
        "non_canonical",
    ));
    let lower = penalty_subject().as_str().to_lowercase();
    out.push(sealed(
        &format!("subject USCC {lower} in lowercase: it parses, but only the normal form is canonical"),
        signer,
        with_record_field(
            &penalty,
            "subject",
            Some(Value::Map(vec![(Value::Text("uscc".into()), Value::Text(lower.clone()))])),
        ),
        "non_canonical",
    ));
    out.push(sealed(
        "required record field decision_no missing",
        signer,
        with_record_field(&penalty, "decision_no", None),
        "invalid_body",
    ));
    out.push(sealed(
        "unknown record field \"remark\"",
        signer,
        with_record_field(&penalty, "remark", Some(Value::Text("备注".into()))),
        "invalid_body",
    ));
    let wrong = {
        let s = penalty_subject().as_str().to_owned();
        let last = if s.ends_with('0') { '1' } else { '0' };
        format!("{}{last}", &s[..17])
    };
    out.push(sealed(
        &format!("subject USCC {wrong} has a wrong check character"),
        signer,
        with_record_field(
            &penalty,
            "subject",
            Some(Value::Map(vec![(Value::Text("uscc".into()), Value::Text(wrong.clone()))])),
        ),
        "invalid_body",
    ));

    // Field rules of RecordContent::validate and Body::validate.
    let record_with = |f: &dyn Fn(&mut RecordContent)| {
        let mut c = penalty_content();
        f(&mut c);
        Body::Record(RecordBody { region: region("xinyang"), signed_at: T_PENALTY, nonce: nonce("penalty"), record: c })
            .encode()
    };
    out.push(sealed(
        "administrative_penalty without severity",
        signer,
        record_with(&|c| c.severity = None),
        "missing_field",
    ));
    out.push(sealed(
        "grade on an administrative_penalty (only credit_grade carries one)",
        signer,
        record_with(&|c| {
            c.grade = Some("A".into());
            c.grade_scheme = Some("tax_credit".into());
        }),
        "field_not_allowed",
    ));
    out.push(sealed(
        "authority of 1001 characters (limit 1000)",
        signer,
        record_with(&|c| c.authority = "局".repeat(1001)),
        "field_too_long",
    ));
    out.push(sealed(
        "sector \"Market Regulation\" is not snake_case",
        signer,
        record_with(&|c| c.sector = "Market Regulation".into()),
        "invalid_field",
    ));
    // The national block (PROTOCOL.md §3.6).
    let national = national_penalty_body();
    let block_with = |f: &dyn Fn(&mut RecordContent)| {
        let mut c = national_penalty_content();
        f(&mut c);
        Body::Record(RecordBody {
            region: region("xinyang"),
            signed_at: T_PENALTY,
            nonce: nonce("national-penalty"),
            record: c,
        })
        .encode()
    };
    let national_map = |f: &dyn Fn(&mut MapEntries)| {
        let mut e = entries(&national);
        for (k, v) in e.iter_mut() {
            if let (true, Value::Map(record)) = (is_key(k, "record"), v) {
                for (k, v) in record.iter_mut() {
                    if let (true, Value::Map(block)) = (is_key(k, "national"), v) {
                        f(block);
                    }
                }
            }
        }
        canonical(e)
    };
    let wrong_authority = {
        let s = samr_uscc().as_str().to_owned();
        format!("{}{}", &s[..17], if s.ends_with('0') { '1' } else { '0' })
    };
    out.push(sealed(
        &format!("national.authority_uscc {wrong_authority} has a wrong check character"),
        signer,
        national_map(&|b| {
            for (k, v) in b.iter_mut() {
                if is_key(k, "authority_uscc") {
                    *v = Value::Text(wrong_authority.clone());
                }
            }
        }),
        "invalid_body",
    ));
    out.push(sealed(
        "national.penalty.fine_fen as the text \"0.2\" (amounts are integers of 分)",
        signer,
        national_map(&|b| {
            for (k, v) in b.iter_mut() {
                if let (true, Value::Map(p)) = (is_key(k, "penalty"), v) {
                    for (k, v) in p.iter_mut() {
                        if is_key(k, "fine_fen") {
                            *v = Value::Text("0.2".into());
                        }
                    }
                }
            }
        }),
        "invalid_body",
    ));
    out.push(sealed(
        "unknown national field \"bz\" (备注)",
        signer,
        national_map(&|b| b.push((Value::Text("bz".into()), Value::Text("备注".into())))),
        "invalid_body",
    ));
    out.push(sealed(
        "administrative_penalty whose national block has no penalty part",
        signer,
        block_with(&|c| c.national.as_mut().expect("block").penalty = None),
        "missing_field",
    ));
    out.push(sealed(
        "national block on a government_breach (only penalties and licences carry one)",
        signer,
        block_with(&|c| {
            c.kind = RecordKind::GovernmentBreach;
            c.penalty_types.clear();
        }),
        "field_not_allowed",
    ));
    out.push(sealed(
        "penalty_types [fine] while national.penalty.categories also has 没收违法所得",
        signer,
        block_with(&|c| c.penalty_types = vec!["fine".into()]),
        "invalid_field",
    ));
    out.push(sealed(
        "subject_category natural_person with a USCC subject",
        signer,
        block_with(&|c| {
            let n = c.national.as_mut().expect("block");
            n.subject_category = SubjectCategory::NaturalPerson;
            n.legal_representative = None;
        }),
        "invalid_field",
    ));
    out.push(sealed(
        "delegation whose not_after is not after not_before",
        "xinyang-root",
        Body::Delegation(DelegationBody {
            region: region("xinyang"),
            signed_at: T_DELEGATED,
            nonce: nonce("delegation-empty"),
            key: key("xinyang-samr").public(),
            role: Role::Authority,
            authority_name: "信阳市市场监督管理局".into(),
            scopes: authority_scopes(),
            not_before: T_DELEGATED,
            not_after: T_DELEGATED,
        })
        .encode(),
        "invalid_field",
    ));
    out
}

/// Every case, valid first, in file order.
pub fn vectors() -> Vec<Vector> {
    let mut cases: Vec<Case> = valid_bodies()
        .into_iter()
        .map(|(description, label, body)| {
            let sk = key(label);
            let bytes = body.encode();
            let envelope = body.sign(&sk).encode();
            Case {
                description: format!("valid: {description}"),
                public: sk.public().as_bytes().to_vec(),
                signer: sk,
                body: bytes,
                envelope,
                expect: None,
            }
        })
        .collect();
    cases.extend(invalid_cases().into_iter().map(|c| Case { description: format!("invalid: {}", c.description), ..c }));
    cases
        .into_iter()
        .map(|c| {
            let got = open(&c.envelope).map(|_| ()).map_err(|e| e.code());
            assert_eq!(got, c.expect.map_or(Ok(()), Err), "{}", c.description);
            Vector {
                description: c.description,
                secret_key_hex: hex::encode(c.signer.to_bytes()),
                public_key_hex: hex::encode(&c.public),
                body_hex: hex::encode(&c.body),
                envelope_hex: hex::encode(&c.envelope),
                id_hex: ObjectId::of(&c.body).to_hex(),
                valid: c.expect.is_none(),
                error: c.expect,
            }
        })
        .collect()
}
