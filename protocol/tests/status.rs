//! Derived status: scenarios with their rules, and order independence (RELIABILITY F7:
//! `status_order_independence`, ≥ 10 000 cases).

mod common;

use common::*;
use credfed_protocol::envelope::ObjectId;
use credfed_protocol::kind::{ObjectionGround, ObjectionOutcome};
use credfed_protocol::objects::*;
use credfed_protocol::rules::RuleSet;
use credfed_protocol::status::{check_repair, derive, expires_on, Related, Status};
use credfed_protocol::Severity;
use proptest::prelude::*;

const REC: ObjectId = ObjectId([0xab; 32]);

/// Ids are the SHA-256 of the body, as on the wire (`n` only salts the nonce).
fn rel(_n: u8, body: Body) -> Related {
    Related { id: ObjectId::of(&body.encode()), body }
}

fn repair(r: &str, on: &str, n: u8) -> Related {
    rel(
        n,
        Body::Repair(RepairBody {
            region: region(r),
            signed_at: 1,
            nonce: nonce(n),
            target: REC,
            repaired_on: day(on),
            basis: "已履行".into(),
        }),
    )
}
fn withdrawal(r: &str, on: &str, n: u8) -> Related {
    rel(
        n,
        Body::Withdrawal(WithdrawalBody {
            region: region(r),
            signed_at: 1,
            nonce: nonce(n),
            target: REC,
            withdrawn_on: day(on),
            reason: "撤销".into(),
        }),
    )
}
fn objection(r: &str, on: &str, n: u8) -> Related {
    rel(
        n,
        Body::Objection(ObjectionBody {
            region: region(r),
            signed_at: 1,
            nonce: nonce(n),
            target: REC,
            ground: ObjectionGround::Inaccurate,
            statement: "金额错误".into(),
            filed_on: day(on),
        }),
    )
}
fn resolution(r: &str, on: &str, objection: ObjectId, n: u8) -> Related {
    rel(
        n,
        Body::ObjectionResolution(ObjectionResolutionBody {
            region: region(r),
            signed_at: 1,
            nonce: nonce(n),
            objection,
            target: REC,
            outcome: ObjectionOutcome::Rejected,
            reason: "核实无误".into(),
            resolved_on: day(on),
        }),
    )
}
fn correction(r: &str, on: &str, n: u8) -> Related {
    let content = penalty(r, USCCS[0], Severity::Minor, "2026-01-05", n).record;
    rel(
        n,
        Body::Correction(CorrectionBody {
            region: region(r),
            signed_at: 1,
            nonce: nonce(n),
            target: REC,
            corrected_on: day(on),
            reason: "更正".into(),
            record: content,
        }),
    )
}

fn status(content: &RecordContent, related: &[Related], as_of: &str) -> Status {
    derive(REC, &region("xinyang"), content, related, day(as_of), &RuleSet::builtin()).unwrap().status
}

#[test]
fn lifecycle_of_a_general_penalty() {
    let rules = RuleSet::builtin();
    let c = penalty("xinyang", USCCS[0], Severity::General, "2026-05-01", 1).record;
    assert!(derive(REC, &region("xinyang"), &c, &[], day("2026-04-30"), &rules).is_none());
    let r = derive(REC, &region("xinyang"), &c, &[], day("2026-05-01"), &rules).unwrap();
    assert_eq!(r.status, Status::Active);
    assert!(r.body_visible);
    assert_eq!(r.rule.rule_id, "R3.23", "market_regulation → SAMR Order 45 override: {:?}", r.rule);
    // Objection, then resolution.
    let o = objection("suzhou", "2026-05-10", 2);
    let rel = [o.clone(), resolution("xinyang", "2026-05-20", o.id, 3)];
    assert_eq!(status(&c, &rel, "2026-05-15"), Status::UnderObjection);
    assert_eq!(status(&c, &rel, "2026-05-20"), Status::Active);
    // A resolution by a non-origin region is ignored.
    let rel = [o.clone(), resolution("suzhou", "2026-05-20", o.id, 3)];
    assert_eq!(status(&c, &rel, "2026-06-01"), Status::UnderObjection);
}

#[test]
fn repair_rules_and_hidden_body() {
    let rules = RuleSet::builtin();
    let mut c = penalty("xinyang", USCCS[0], Severity::General, "2025-01-05", 1).record;
    c.sector = "ecology_environment".into();
    // General: minimum 3 months (DOMAIN R3.4 / 2023 regime).
    let err = check_repair(REC, &region("xinyang"), &c, &[], day("2025-02-01"), &rules).unwrap_err();
    assert_eq!(err.code(), "min_publicity_not_elapsed");
    assert!(err.to_string().contains("2025-04-05"), "{err}");
    check_repair(REC, &region("xinyang"), &c, &[], day("2025-04-05"), &rules).unwrap();
    let rel = [repair("xinyang", "2025-04-05", 5)];
    let r = derive(REC, &region("xinyang"), &c, &rel, day("2025-04-06"), &rules).unwrap();
    assert_eq!(r.status, Status::Repaired);
    assert!(!r.body_visible);
    assert_eq!(
        check_repair(REC, &region("xinyang"), &c, &rel, day("2025-05-01"), &rules).unwrap_err().code(),
        "already_repaired"
    );
    // A repair "issued" by another region is ignored by derivation.
    assert_eq!(status(&c, &[repair("suzhou", "2025-04-05", 6)], "2025-06-01"), Status::Active);
    // Maximum 1 year: expired afterwards.
    assert_eq!(status(&c, &[], "2026-01-05"), Status::Expired);
}

#[test]
fn precedence_withdrawn_over_superseded_over_repaired() {
    let c = penalty("xinyang", USCCS[0], Severity::General, "2025-01-05", 1).record;
    let all = [
        repair("xinyang", "2025-05-01", 2),
        correction("xinyang", "2025-05-02", 3),
        withdrawal("xinyang", "2025-05-03", 4),
    ];
    assert_eq!(status(&c, &all, "2025-05-01"), Status::Repaired);
    assert_eq!(status(&c, &all, "2025-05-02"), Status::Superseded);
    assert_eq!(status(&c, &all, "2025-05-03"), Status::Withdrawn);
}

fn arb_related() -> impl Strategy<Value = Vec<Related>> {
    let regions = prop::sample::select(vec!["xinyang", "suzhou"]);
    let date = (0i64..500).prop_map(|d| day("2025-01-05").add_days(d).to_string());
    let one = (0u8..5, regions, date, 1u8..12).prop_map(|(t, r, on, n)| match t {
        0 => repair(r, &on, n),
        1 => withdrawal(r, &on, n),
        2 => objection(r, &on, n),
        // Resolutions name an objection of the list below (fixed up after generation).
        3 => resolution(r, &on, ObjectId([0; 32]), n),
        _ => correction(r, &on, n),
    });
    (prop::collection::vec(one, 0..8), any::<prop::sample::Index>()).prop_map(|(mut v, pick)| {
        let objections: Vec<ObjectId> =
            v.iter().filter(|r| matches!(r.body, Body::Objection(_))).map(|r| r.id).collect();
        for r in v.iter_mut() {
            if let Body::ObjectionResolution(res) = &mut r.body {
                if !objections.is_empty() {
                    res.objection = objections[pick.index(objections.len())];
                }
                *r = rel(0, r.body.clone());
            }
        }
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Same status for every delivery order, with duplicates (RELIABILITY F7).
    #[test]
    fn status_order_independence(
        related in arb_related(),
        sev in prop::sample::select(Severity::ALL),
        seed in any::<u64>(),
        dup in any::<prop::sample::Index>(),
        as_of in 0i64..1500,
    ) {
        let rules = RuleSet::builtin();
        let c = penalty("xinyang", USCCS[0], sev, "2025-01-05", 1).record;
        let as_of = day("2025-01-05").add_days(as_of);
        let a = derive(REC, &region("xinyang"), &c, &related, as_of, &rules);
        let mut shuffled = related.clone();
        // Deterministic Fisher–Yates from the seed.
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        if !related.is_empty() {
            shuffled.push(related[dup.index(related.len())].clone());
        }
        let b = derive(REC, &region("xinyang"), &c, &shuffled, as_of, &rules);
        prop_assert_eq!(a, b);
    }

    /// `expires_on` is exactly the first day `derive` (with nothing acting on the record) says
    /// `expired`: what the node's expiry sweep relies on to announce it on the day.
    #[test]
    fn expires_on_is_the_first_expired_day(
        sev in prop::sample::select(Severity::ALL),
        decided in 0i64..1000,
        valid in prop::option::of(0i64..2000),
        department in prop::option::of(0i64..2000),
    ) {
        let rules = RuleSet::builtin();
        let mut c = penalty("xinyang", USCCS[0], sev, "2024-01-05", 1).record;
        c.decided_on = day("2024-01-05").add_days(decided);
        c.valid_until = valid.map(|v| c.decided_on.add_days(v));
        if let Some(d) = department {
            let mut n = sample_national();
            n.publicity_until = Some(c.decided_on.add_days(d));
            c.national = Some(n);
        }
        let st = |on| derive(REC, &region("xinyang"), &c, &[], on, &rules).map(|r| r.status);
        match expires_on(&c, &rules) {
            Some(e) => {
                prop_assert_eq!(st(e), Some(Status::Expired));
                if e > c.decided_on {
                    prop_assert_ne!(st(e.add_days(-1)), Some(Status::Expired));
                }
            }
            None => prop_assert_ne!(st(c.decided_on.add_days(20_000)), Some(Status::Expired)),
        }
    }
}

/// A minimal valid national block of a penalty.
fn sample_national() -> credfed_protocol::national::NationalFields {
    use credfed_protocol::national::*;
    NationalFields {
        subject_category: SubjectCategory::LegalEntity,
        authority_uscc: None,
        source_unit: None,
        source_unit_uscc: None,
        publicity_until: None,
        legal_representative: None,
        penalty: Some(PenaltyFields {
            violation_type: None,
            content: None,
            fine_fen: None,
            confiscated_fen: None,
            categories: vec!["罚款".into()],
            suspended_licence: None,
            valid_until: None,
        }),
        licence: None,
    }
}
