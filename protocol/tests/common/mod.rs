//! Shared generators for the protocol's integration and property tests.
#![allow(dead_code)]

use credfed_protocol::objects::*;
use credfed_protocol::{keys::SecretKey, Classification, Day, RecordKind, RegionId, Severity};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// Verified USCC examples from DOMAIN R1.7.
pub const USCCS: &[&str] = &[
    "91310110666007217T",
    "91310115591693856A",
    "914403001922038216",
    "9144030071526726XG",
    "91110108551385082Q",
    "91350200MA2YJ1XR9G",
    "9135021359498494XQ",
    "91320594780268314T",
];

pub const REGIONS: &[&str] = &["xinyang", "suzhou", "luan", "anqing", "huanggang"];

/// A deterministic key for tests: seed = SHA-256(label).
pub fn key(label: &str) -> SecretKey {
    SecretKey::from_bytes(&Sha256::digest(label.as_bytes())).unwrap()
}

pub fn day(s: &str) -> Day {
    s.parse().unwrap()
}

pub fn region(s: &str) -> RegionId {
    s.parse().unwrap()
}

pub fn nonce(b: u8) -> Nonce {
    Nonce::from_bytes(&[b; 16]).unwrap()
}

pub fn penalty(region_id: &str, uscc: &str, severity: Severity, decided_on: &str, n: u8) -> RecordBody {
    RecordBody {
        region: region(region_id),
        signed_at: 1_790_000_000,
        nonce: nonce(n),
        record: RecordContent {
            severity: Some(severity),
            ..credfed_protocol::bundle::sample::penalty(
                Subject::Uscc(uscc.parse().unwrap()),
                format!("信市监罚〔2026〕{n}号"),
                day(decided_on),
            )
        },
    }
}

pub fn arb_day() -> impl Strategy<Value = Day> {
    (2019i32..2030, 1u8..13, 1u8..29).prop_map(|(y, m, d)| Day::from_ymd(y, m, d).unwrap())
}

pub fn arb_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9信阳][a-zA-Z0-9 信阳市监管局罚〔〕号]{0,39}"
}

pub fn arb_region() -> impl Strategy<Value = RegionId> {
    prop::sample::select(REGIONS).prop_map(region)
}

pub fn arb_nonce() -> impl Strategy<Value = Nonce> {
    prop::collection::vec(any::<u8>(), 16..=64).prop_map(|b| Nonce::from_bytes(&b).unwrap())
}

pub fn arb_content() -> impl Strategy<Value = RecordContent> {
    (
        prop::sample::select(RecordKind::ALL),
        prop::sample::select(USCCS),
        arb_text(),
        arb_text(),
        prop::option::of(arb_text()),
        prop::sample::select(Severity::ALL),
        arb_day(),
        prop::sample::select(Classification::ALL),
        any::<bool>(),
    )
        .prop_map(|(kind, uscc, authority, decision_no, facts, sev, decided_on, classification, flag)| {
            let grade = kind == RecordKind::CreditGrade;
            RecordContent {
                kind,
                subject: Subject::Uscc(uscc.parse().unwrap()),
                subject_name: Some("某公司".into()),
                authority,
                decision_no,
                legal_basis: "《某法》第一条".into(),
                facts,
                severity: kind.is_dishonesty().then_some(sev),
                sector: "market_regulation".into(),
                decided_on,
                classification,
                published_on: flag.then_some(decided_on),
                penalty_types: if kind == RecordKind::AdministrativePenalty && flag {
                    vec!["fine".into()]
                } else {
                    vec![]
                },
                not_repairable: kind.is_dishonesty() && !flag,
                valid_until: None,
                grade: grade.then(|| "A".into()),
                grade_scheme: grade.then(|| "tax_credit".into()),
                repair_notice: None,
                national: None,
            }
        })
}

pub fn arb_id() -> impl Strategy<Value = credfed_protocol::envelope::ObjectId> {
    any::<[u8; 32]>().prop_map(credfed_protocol::envelope::ObjectId)
}

fn hdr() -> impl Strategy<Value = (RegionId, u64, Nonce)> {
    (arb_region(), 1_600_000_000u64..1_900_000_000, arb_nonce())
}

/// Any body of any type, valid by construction.
pub fn arb_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (hdr(), arb_content()).prop_map(|((region, signed_at, nonce), record)| Body::Record(RecordBody {
            region,
            signed_at,
            nonce,
            record
        })),
        (hdr(), arb_id(), arb_day(), arb_text()).prop_map(
            |((region, signed_at, nonce), target, repaired_on, basis)| {
                Body::Repair(RepairBody { region, signed_at, nonce, target, repaired_on, basis })
            }
        ),
        (hdr(), arb_id(), arb_day(), arb_text()).prop_map(
            |((region, signed_at, nonce), target, withdrawn_on, reason)| {
                Body::Withdrawal(WithdrawalBody { region, signed_at, nonce, target, withdrawn_on, reason })
            }
        ),
        (hdr(), arb_id(), arb_day(), arb_text(), arb_content()).prop_map(
            |((region, signed_at, nonce), target, corrected_on, reason, record)| {
                Body::Correction(CorrectionBody { region, signed_at, nonce, target, corrected_on, reason, record })
            }
        ),
        (hdr(), arb_id(), arb_day(), arb_text()).prop_map(
            |((region, signed_at, nonce), target, filed_on, statement)| {
                Body::Objection(ObjectionBody {
                    region,
                    signed_at,
                    nonce,
                    target,
                    ground: credfed_protocol::kind::ObjectionGround::Inaccurate,
                    statement,
                    filed_on,
                })
            }
        ),
        (hdr(), arb_id(), arb_id(), arb_day()).prop_map(
            |((region, signed_at, nonce), objection, target, resolved_on)| {
                Body::ObjectionResolution(ObjectionResolutionBody {
                    region,
                    signed_at,
                    nonce,
                    objection,
                    target,
                    outcome: credfed_protocol::kind::ObjectionOutcome::Rejected,
                    reason: "依据充分".into(),
                    resolved_on,
                })
            }
        ),
        (hdr(), arb_day(), prop::collection::vec(arb_region(), 1..4)).prop_map(
            |((region, signed_at, nonce), valid_from, regions)| {
                Body::BenefitScheme(BenefitSchemeBody {
                    region,
                    signed_at,
                    nonce,
                    code: "xinyiyou".into(),
                    name: "信易游".into(),
                    benefit: "景区免押金".into(),
                    recognised_regions: regions,
                    disqualifying: vec![Disqualifier { kind: RecordKind::DishonestyList, severity: None }],
                    min_grade: None,
                    valid_from,
                    valid_until: valid_from.add_days(365),
                })
            }
        ),
        (hdr(), arb_id(), arb_day()).prop_map(|((region, signed_at, nonce), target, applied_on)| {
            Body::MeasureApplied(MeasureAppliedBody {
                region,
                signed_at,
                nonce,
                target,
                subject: Subject::Uscc(USCCS[0].parse().unwrap()),
                measure: "限制参与政府采购".into(),
                applied_on,
            })
        }),
        (hdr(), arb_id(), any::<u32>()).prop_map(|((region, signed_at, nonce), target, t)| {
            Body::Receipt(ReceiptBody { region, signed_at, nonce, target, applied_at: t as u64 })
        }),
        (hdr(), any::<u8>()).prop_map(|((region, signed_at, nonce), k)| {
            Body::Delegation(DelegationBody {
                region,
                signed_at,
                nonce,
                key: key(&format!("k{k}")).public(),
                role: credfed_protocol::Role::Authority,
                authority_name: "信阳市市场监督管理局".into(),
                scopes: vec![credfed_protocol::Scope::Record(RecordKind::AdministrativePenalty)],
                not_before: signed_at,
                not_after: signed_at + 86_400 * 365,
            })
        }),
        (hdr(), any::<u8>()).prop_map(|((region, signed_at, nonce), k)| {
            Body::Revocation(RevocationBody {
                region,
                signed_at,
                nonce,
                key: key(&format!("k{k}")).public(),
                revoked_from: signed_at,
                reason: "key_compromise".into(),
            })
        }),
    ]
}
