//! The authorization decision (DESIGN §2, RELIABILITY F6/F9): every denial reason, and a
//! property test that no forged variant of a valid object is ever accepted.

mod common;

use common::*;
use credfed_protocol::objects::*;
use credfed_protocol::trust::*;
use credfed_protocol::{ObjectType, RecordKind, Role, Scope, Severity};
use proptest::prelude::*;

const T0: u64 = 1_780_000_000;
const YEAR: u64 = 365 * 86_400;

static FED: std::sync::OnceLock<Fed> = std::sync::OnceLock::new();

struct Fed {
    trust: TrustState,
    policy: LocalPolicy,
}

fn delegation(region_id: &str, who: &str, role: Role, scopes: Vec<Scope>, n: u8) -> VerifiedObject {
    let body = Body::Delegation(DelegationBody {
        region: region(region_id),
        signed_at: T0,
        nonce: nonce(n),
        key: key(who).public(),
        role,
        authority_name: format!("{who} authority"),
        scopes,
        not_before: T0,
        not_after: T0 + YEAR,
    });
    open(&body.sign(&key(&format!("{region_id}-root"))).encode()).unwrap()
}

fn fed() -> Fed {
    let mut trust = TrustState::new();
    for r in ["xinyang", "suzhou"] {
        trust.pin(region(r), key(&format!("{r}-root")).public());
        let all: Vec<Scope> = RecordKind::ALL
            .iter()
            .map(|k| Scope::Record(*k))
            .chain(
                [
                    ObjectType::Repair,
                    ObjectType::Withdrawal,
                    ObjectType::Correction,
                    ObjectType::Objection,
                    ObjectType::ObjectionResolution,
                    ObjectType::BenefitScheme,
                    ObjectType::MeasureApplied,
                ]
                .map(Scope::Object),
            )
            .collect();
        trust.apply(&delegation(r, &format!("{r}-amr"), Role::Authority, all, 1));
        trust.apply(&delegation(r, &format!("{r}-node"), Role::Node, vec![], 2));
        trust.apply(&delegation(
            r,
            &format!("{r}-license-only"),
            Role::Authority,
            vec![Scope::Record(RecordKind::AdministrativeLicense)],
            3,
        ));
    }
    Fed { trust, policy: LocalPolicy::default() }
}

fn ctx<'a>(f: &'a Fed, target: Option<&'a TargetInfo>) -> AuthzContext<'a> {
    AuthzContext { trust: &f.trust, policy: &f.policy, now: T0 + 1000, target, witnessed_before_revocation: false }
}

fn signed(body: Body, who: &str) -> VerifiedObject {
    open(&body.sign(&key(who)).encode()).unwrap()
}

fn record_body(r: &str) -> Body {
    let mut p = penalty(r, USCCS[0], Severity::General, "2026-01-05", 9);
    p.signed_at = T0 + 10;
    Body::Record(p)
}

fn repair_body(r: &str) -> Body {
    Body::Repair(RepairBody {
        region: region(r),
        signed_at: T0 + 10,
        nonce: nonce(7),
        target: credfed_protocol::envelope::ObjectId([1; 32]),
        repaired_on: day("2026-05-01"),
        basis: "已履行".into(),
    })
}

fn code(d: Decision) -> &'static str {
    match d {
        Decision::Accept => "accept",
        Decision::Pending(d) | Decision::Quarantine(d) | Decision::Reject(d) => d.code(),
    }
}

#[test]
fn valid_record_accepted_and_every_denial_has_its_code() {
    let f = fed();
    let xy_record = TargetInfo { region: region("xinyang"), object_type: ObjectType::Record };
    assert_eq!(code(authorize(&signed(record_body("xinyang"), "xinyang-amr"), &ctx(&f, None))), "accept");
    // A Suzhou authority key signing a Xinyang record.
    assert_eq!(code(authorize(&signed(record_body("xinyang"), "suzhou-amr"), &ctx(&f, None))), "not_delegated");
    // A key nobody delegated.
    assert_eq!(code(authorize(&signed(record_body("xinyang"), "stranger"), &ctx(&f, None))), "not_delegated");
    // A node key used as an authority key.
    assert_eq!(code(authorize(&signed(record_body("xinyang"), "xinyang-node"), &ctx(&f, None))), "wrong_role");
    // Scope violation.
    assert_eq!(
        code(authorize(&signed(record_body("xinyang"), "xinyang-license-only"), &ctx(&f, None))),
        "out_of_scope"
    );
    // Unpinned region.
    assert_eq!(code(authorize(&signed(record_body("luan"), "xinyang-amr"), &ctx(&f, None))), "unpinned_region");
    // Repair by the origin: accepted; by another region: not_origin; unknown target: pending.
    assert_eq!(code(authorize(&signed(repair_body("xinyang"), "xinyang-amr"), &ctx(&f, Some(&xy_record)))), "accept");
    assert_eq!(code(authorize(&signed(repair_body("suzhou"), "suzhou-amr"), &ctx(&f, Some(&xy_record)))), "not_origin");
    assert!(matches!(authorize(&signed(repair_body("xinyang"), "xinyang-amr"), &ctx(&f, None)), Decision::Pending(_)));
    // Repair targeting a repair.
    let not_record = TargetInfo { region: region("xinyang"), object_type: ObjectType::Repair };
    assert_eq!(
        code(authorize(&signed(repair_body("xinyang"), "xinyang-amr"), &ctx(&f, Some(&not_record)))),
        "bad_target"
    );
    // Delegation signed by a non-root.
    let d = Body::Delegation(DelegationBody {
        region: region("xinyang"),
        signed_at: T0,
        nonce: nonce(5),
        key: key("evil").public(),
        role: Role::Authority,
        authority_name: "x".into(),
        scopes: vec![Scope::Record(RecordKind::AdministrativePenalty)],
        not_before: T0,
        not_after: T0 + YEAR,
    });
    assert_eq!(code(authorize(&signed(d.clone(), "xinyang-amr"), &ctx(&f, None))), "not_root");
    assert_eq!(code(authorize(&signed(d, "xinyang-root"), &ctx(&f, None))), "accept");
    // Policy refusal.
    let mut f2 = fed();
    f2.policy.accepted_kinds.insert(region("xinyang"), [RecordKind::AdministrativeLicense].into());
    assert_eq!(code(authorize(&signed(record_body("xinyang"), "xinyang-amr"), &ctx(&f2, None))), "policy_refused");
}

#[test]
fn validity_window_and_future_skew() {
    let f = fed();
    let at = |t: u64| {
        let Body::Record(mut r) = record_body("xinyang") else { unreachable!() };
        r.signed_at = t;
        signed(Body::Record(r), "xinyang-amr")
    };
    let mut c = ctx(&f, None);
    c.now = T0 + 2 * YEAR;
    assert_eq!(code(authorize(&at(T0 - 1), &c)), "key_not_yet_valid");
    assert_eq!(code(authorize(&at(T0 + YEAR), &c)), "key_expired");
    assert_eq!(code(authorize(&at(T0 + YEAR - 1), &c)), "accept");
    c.now = T0;
    assert_eq!(code(authorize(&at(T0 + MAX_FUTURE_SKEW_SECS + 1), &c)), "signed_in_future");
}

#[test]
fn revocation_and_backdating_rule() {
    let mut f = fed();
    let rev = Body::Revocation(RevocationBody {
        region: region("xinyang"),
        signed_at: T0 + 500,
        nonce: nonce(3),
        key: key("xinyang-amr").public(),
        revoked_from: T0 + 500,
        reason: "key_compromise".into(),
    });
    let rev = signed(rev, "xinyang-root");
    assert_eq!(code(authorize(&rev, &ctx(&f, None))), "accept");
    f.trust.apply(&rev);
    let at = |t: u64| {
        let Body::Record(mut r) = record_body("xinyang") else { unreachable!() };
        r.signed_at = t;
        signed(Body::Record(r), "xinyang-amr")
    };
    // Signed after revoked_from: rejected.
    assert_eq!(code(authorize(&at(T0 + 600), &ctx(&f, None))), "key_revoked");
    // Claims to predate the revocation, not witnessed: quarantined.
    assert!(matches!(authorize(&at(T0 + 100), &ctx(&f, None)), Decision::Quarantine(_)));
    // Witnessed before the revocation: accepted.
    let mut c = ctx(&f, None);
    c.witnessed_before_revocation = true;
    assert_eq!(code(authorize(&at(T0 + 100), &c)), "accept");
    // Node gate follows revocations of node keys.
    assert_eq!(f.trust.node_region(&key("xinyang-node").public(), T0 + 10), Some(region("xinyang")));
    assert_eq!(f.trust.node_region(&key("xinyang-amr").public(), T0 + 10), None);
    f.trust.unpin(&region("xinyang"));
    assert_eq!(f.trust.node_region(&key("xinyang-node").public(), T0 + 10), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// RELIABILITY F6 forgery matrix (pure part): for a random body, a random signer among
    /// the federation's keys and strangers, and a random claimed region, the decision is
    /// Accept only when the signer is a correctly scoped, valid authority of that region.
    #[test]
    fn forgery_matrix(body in arb_body(), signer_i in 0usize..7, target_region in arb_region()) {
        let f = FED.get_or_init(fed);
        let signers = ["xinyang-amr", "suzhou-amr", "xinyang-node", "xinyang-license-only", "stranger", "xinyang-root", "suzhou-node"];
        let who = signers[signer_i];
        let mut body = body;
        // Keep signing times inside the delegation window so only identity/scope matter.
        match &mut body {
            Body::Record(b) => b.signed_at = T0 + 5,
            Body::Repair(b) => b.signed_at = T0 + 5,
            Body::Withdrawal(b) => b.signed_at = T0 + 5,
            Body::Correction(b) => b.signed_at = T0 + 5,
            Body::Objection(b) => b.signed_at = T0 + 5,
            Body::ObjectionResolution(b) => b.signed_at = T0 + 5,
            Body::BenefitScheme(b) => b.signed_at = T0 + 5,
            Body::MeasureApplied(b) => b.signed_at = T0 + 5,
            Body::Receipt(b) => b.signed_at = T0 + 5,
            Body::Delegation(b) => b.signed_at = T0 + 5,
            Body::Revocation(b) => b.signed_at = T0 + 5,
        }
        let obj = signed(body.clone(), who);
        let target = TargetInfo { region: target_region.clone(), object_type: ObjectType::Record };
        let decision = authorize(&obj, &ctx(f, Some(&target)));
        let region = body.region().as_str().to_owned();
        let pinned = region == "xinyang" || region == "suzhou";
        let expected_ok = match &body {
            Body::Delegation(_) | Body::Revocation(_) => pinned && who == format!("{region}-root"),
            Body::Receipt(_) => false, // receipts target repairs, not records
            _ => {
                let scope_ok = who == format!("{region}-amr")
                    || (who == format!("{region}-license-only")
                        && body.record_content().is_some_and(|c| c.kind == RecordKind::AdministrativeLicense));
                let origin_ok = !matches!(body.object_type(), ObjectType::Repair | ObjectType::Withdrawal | ObjectType::Correction | ObjectType::ObjectionResolution)
                    || target_region.as_str() == region;
                pinned && scope_ok && origin_ok
            }
        };
        prop_assert_eq!(matches!(decision, Decision::Accept), expected_ok, "{:?} by {} for {} → {:?}", body.object_type(), who, region, decision);
    }
}
