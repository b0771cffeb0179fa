use proptest::prelude::*;

use super::*;

fn d(s: &str) -> Day {
    s.parse().unwrap()
}

fn input<'a>(
    kind: RecordKind,
    severity: Option<Severity>,
    decided_on: &str,
    types: &'a [String],
) -> PublicityInput<'a> {
    PublicityInput {
        kind,
        severity,
        sector: "ecology_environment",
        decided_on: d(decided_on),
        published_on: None,
        penalty_types: types,
        not_repairable: false,
    }
}

fn penalty(severity: Severity, decided_on: &str) -> PublicityInput<'static> {
    input(RecordKind::AdministrativePenalty, Some(severity), decided_on, &[])
}

fn types(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn rref(rule_id: &str, regime: &str, tag: &str) -> RuleRef {
    RuleRef { rule_id: rule_id.into(), regime: regime.into(), tag: tag.into() }
}

#[test]
fn builtin_is_valid() {
    let rs = RuleSet::from_json(BUILTIN_JSON).unwrap();
    assert_eq!(rs, RuleSet::builtin());
    assert_eq!(rs.regimes.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["2019", "2023", "2026"]);
}

#[test]
fn json_round_trip() {
    let rs = RuleSet::builtin();
    let json = serde_json::to_string(&rs).unwrap();
    assert_eq!(RuleSet::from_json(&json).unwrap(), rs);
    let value = serde_json::to_value(&rs).unwrap();
    assert_eq!(RuleSet::from_deserializer(value).unwrap(), rs);
}

/// DOMAIN R0.1: the regime is chosen by the decision date; boundaries of R0.3 and R0.5.
#[test]
fn regime_boundaries() {
    let rs = RuleSet::builtin();
    for (day, regime) in [
        ("2015-01-01", "2019"), // before the first regime: the first one
        ("2023-04-30", "2019"),
        ("2023-05-01", "2023"),
        ("2026-03-31", "2023"),
        ("2026-04-01", "2026"),
        ("2030-01-01", "2026"),
    ] {
        assert_eq!(rs.regime_for(d(day)).unwrap().id, regime, "{day}");
        assert_eq!(rs.publicity(&penalty(Severity::General, day)).rule.regime, regime, "{day}");
    }
}

/// DOMAIN R3.10: serious, regime 2026: min 1 year, max 3 years from the decision.
#[test]
fn r3_10_serious_2026() {
    let rs = RuleSet::builtin();
    let p = rs.publicity(&penalty(Severity::Serious, "2026-05-01"));
    assert_eq!(p.start, d("2026-05-01"));
    assert_eq!(p.min_until, Some(d("2027-05-01")));
    assert_eq!(p.max_until, Some(d("2029-05-01")));
    assert!(p.repairable && p.publishable);
    assert_eq!(p.rule, rref("R3.10", "2026", "V"));
    assert_eq!(p.rules[1], rref("R0.5", "2026", "V"));
    let inp = penalty(Severity::Serious, "2026-05-01");
    let early = rs.repairability(&inp, d("2027-04-30")).unwrap_err();
    assert_eq!(early.code(), "min_publicity_not_elapsed");
    assert_eq!(early, RepairDenied::MinPublicityNotElapsed { earliest: d("2027-05-01"), rule: p.rule.clone() });
    assert_eq!(rs.repairability(&inp, d("2027-05-01")), Ok(p.rule.clone()));
    let late = rs.repairability(&inp, d("2029-05-01")).unwrap_err();
    assert_eq!(late.code(), "publicity_ended");
}

/// DOMAIN R3.4 (regime 2023): general, min 3 months, max 1 year.
#[test]
fn r3_4_general_2025() {
    let rs = RuleSet::builtin();
    let p = rs.publicity(&penalty(Severity::General, "2025-01-05"));
    assert_eq!((p.min_until, p.max_until), (Some(d("2025-04-05")), Some(d("2026-01-05"))));
    assert_eq!(p.rule, rref("R3.4", "2023", "P"));
    assert!(p.unverified().any(|r| r.rule_id == "R3.4"));
}

/// DOMAIN R0.2: 2019 regime, serious: min 6 months, max 3 years.
#[test]
fn r0_2_serious_2019() {
    let rs = RuleSet::builtin();
    let p = rs.publicity(&penalty(Severity::Serious, "2020-03-10"));
    assert_eq!((p.min_until, p.max_until), (Some(d("2020-09-10")), Some(d("2023-03-10"))));
    assert_eq!(p.rule, rref("R0.2", "2019", "P"));
    // Art. 202 clamp: 2019-08-31 + 6 months = 2020-02-29.
    assert_eq!(rs.publicity(&penalty(Severity::Serious, "2019-08-31")).min_until, Some(d("2020-02-29")));
}

/// DOMAIN R3.6: under 2019, serious food/drug penalties with a licence revocation run the full
/// 3 years.
#[test]
fn r3_6_no_early_end_2019() {
    let rs = RuleSet::builtin();
    let t = types(&["fine", "licence_revocation"]);
    let mut inp = input(RecordKind::AdministrativePenalty, Some(Severity::Serious), "2021-02-01", &t);
    inp.sector = "food_drug";
    let p = rs.publicity(&inp);
    assert!(!p.repairable);
    assert_eq!(p.min_until, None);
    assert_eq!(p.repair_blocked_by, Some(rref("R3.6", "2019", "P")));
    let err = rs.repairability(&inp, d("2023-01-01")).unwrap_err();
    assert_eq!(err, RepairDenied::NotRepairable { rule: rref("R3.6", "2019", "P") });
    // Same penalty, 2026 regime: repairable after the minimum.
    inp.decided_on = d("2026-06-01");
    assert!(rs.publicity(&inp).repairable);
}

/// DOMAIN R3.23, R3.24: SAMR licence revocation counts from publication, 3 years, no early stop.
#[test]
fn r3_24_samr_revocation_not_repairable_early() {
    let rs = RuleSet::builtin();
    let t = types(&["fine", "licence_revocation"]);
    let inp = PublicityInput {
        kind: RecordKind::AdministrativePenalty,
        severity: Some(Severity::Serious),
        sector: "market_regulation",
        decided_on: d("2026-05-06"),
        published_on: Some(d("2026-05-20")),
        penalty_types: &t,
        not_repairable: false,
    };
    let p = rs.publicity(&inp);
    assert_eq!(p.start, d("2026-05-20"));
    assert_eq!(p.counted_from, CountFrom::Publication);
    assert_eq!(p.max_until, Some(d("2029-05-20")));
    assert_eq!((p.repairable, p.min_until), (false, None));
    assert_eq!(p.rule, rref("R3.23", "samr_order_45", "V"));
    let err = rs.repairability(&inp, d("2028-01-01")).unwrap_err();
    assert_eq!(err.code(), "not_repairable");
    assert_eq!(err.rule(), &rref("R3.24", "samr_order_45", "V"));
    assert_eq!(rs.repairability(&inp, d("2029-05-20")).unwrap_err().code(), "publicity_ended");
}

/// DOMAIN R3.23: 通报批评 / lower fines stop after 3 months; the early-stop minimum is [U].
#[test]
fn r3_23_samr_short_tier_and_estimated_start() {
    let rs = RuleSet::builtin();
    let t = types(&["circulated_criticism", "fine_low"]);
    let mut inp = input(RecordKind::AdministrativePenalty, Some(Severity::Minor), "2026-05-06", &t);
    inp.sector = "market_regulation";
    let p = rs.publicity(&inp);
    assert!(p.start_estimated);
    assert_eq!((p.min_until, p.max_until), (Some(d("2026-06-06")), Some(d("2026-08-06"))));
    assert!(p.unverified().any(|r| r == &rref("R3.24", "samr_order_45", "U")));
    // Adding an ordinary fine moves the decision to the 3-year tier (R3.4: longest wins).
    let t = types(&["circulated_criticism", "fine"]);
    inp.penalty_types = &t;
    inp.published_on = Some(d("2026-05-10"));
    let p = rs.publicity(&inp);
    assert!(!p.start_estimated);
    assert_eq!((p.min_until, p.max_until), (Some(d("2026-11-10")), Some(d("2029-05-10"))));
    // Before SAMR Order 45 came into force, the general regime applies.
    inp.decided_on = d("2021-08-31");
    assert_eq!(rs.publicity(&inp).rule.regime, "2019");
}

/// DOMAIN R3.20: a SAMR warning alone is not published.
#[test]
fn r3_20_warning_only_unpublished() {
    let rs = RuleSet::builtin();
    let t = types(&["warning"]);
    let mut inp = input(RecordKind::AdministrativePenalty, Some(Severity::Minor), "2026-05-06", &t);
    inp.sector = "market_regulation";
    let p = rs.publicity(&inp);
    assert!(!p.publishable);
    assert_eq!(p.rule, rref("R3.20", "samr_order_45", "V"));
    assert_eq!(rs.repairability(&inp, d("2026-05-06")).unwrap_err().code(), "publicity_ended");
}

/// DOMAIN R3.10: minor under 2026 is repairable as soon as obligations are fulfilled; max 3 months.
#[test]
fn r3_10_minor_immediately_repairable() {
    let rs = RuleSet::builtin();
    let inp = penalty(Severity::Minor, "2026-06-10");
    let p = rs.publicity(&inp);
    assert_eq!((p.min_until, p.max_until), (Some(d("2026-06-10")), Some(d("2026-09-10"))));
    assert_eq!(rs.repairability(&inp, d("2026-06-10")), Ok(rref("R3.10", "2026", "V")));
    // Before 2026 there is no minor class: it is treated as general.
    let p = rs.publicity(&penalty(Severity::Minor, "2025-06-10"));
    assert_eq!((p.min_until, p.max_until), (Some(d("2025-09-10")), Some(d("2026-06-10"))));
}

/// DOMAIN R3.1 / R4.4: declared non-repairable; publicity still ends at the maximum.
#[test]
fn r3_1_declared_not_repairable() {
    let rs = RuleSet::builtin();
    let mut inp = penalty(Severity::Serious, "2026-05-01");
    inp.not_repairable = true;
    let p = rs.publicity(&inp);
    assert!(!p.repairable);
    assert_eq!(p.max_until, Some(d("2029-05-01")));
    let err = rs.repairability(&inp, d("2028-01-01")).unwrap_err();
    assert_eq!(err, RepairDenied::NotRepairable { rule: rref("R3.1", "2026", "V") });
}

/// DOMAIN R3.3: licences are not dishonesty information: no period, nothing to repair.
#[test]
fn r3_3_not_dishonesty() {
    let rs = RuleSet::builtin();
    let inp = input(RecordKind::AdministrativeLicense, None, "2026-05-01", &[]);
    let p = rs.publicity(&inp);
    assert_eq!((p.min_until, p.max_until, p.repairable), (None, None, false));
    assert_eq!(rs.repairability(&inp, d("2030-01-01")).unwrap_err().code(), "not_repairable");
}

/// DOMAIN R4.3 ([U]): list defaults by sector; unmatched lists are serious under the regime.
#[test]
fn r4_3_list_defaults() {
    let rs = RuleSet::builtin();
    let mut inp = input(RecordKind::DishonestyList, None, "2026-05-01", &[]);
    inp.sector = "market_regulation";
    let p = rs.publicity(&inp);
    assert_eq!(p.rule, rref("R4.3", "samr_order_44", "U"));
    assert_eq!((p.min_until, p.max_until), (Some(d("2027-05-01")), Some(d("2029-05-01"))));
    let inp = input(RecordKind::JudicialEnforcement, None, "2026-05-01", &[]);
    assert_eq!(rs.publicity(&inp).max_until, Some(d("2028-05-01")));
    let mut inp = input(RecordKind::DishonestyList, None, "2026-05-01", &[]);
    inp.sector = "transport";
    let p = rs.publicity(&inp);
    assert_eq!(p.rule, rref("R3.10", "2026", "V"));
    assert_eq!(p.max_until, Some(d("2029-05-01")));
    assert!(p.rules.contains(&rref("R3.3", "2026", "P")));
}

/// DOMAIN R2.1/R2.2 and R10.4 on holiday boundaries; R2.3 monthly deadlines.
#[test]
fn publication_deadlines() {
    let rs = RuleSet::builtin();
    let cal = Calendar::builtin();
    let dl = |k, s| rs.publication_deadline(k, d(s), &cal).unwrap();
    let p = dl(RecordKind::AdministrativePenalty, "2024-09-27");
    assert_eq!((p.deadline, p.provisional), (d("2024-10-12"), false));
    assert_eq!(p.rule, rref("R2.1", STANDING, "V"));
    assert_eq!(dl(RecordKind::AdministrativeLicense, "2026-02-12").deadline, d("2026-02-28"));
    // 10-01..10-07 off, make-up Saturday 10-10 counts.
    assert_eq!(dl(RecordKind::AdministrativeLicense, "2026-09-30").deadline, d("2026-10-15"));
    // 7 WD into an unpublished year.
    let p = dl(RecordKind::AdministrativePenalty, "2026-12-28");
    assert_eq!((p.deadline, p.provisional), (d("2027-01-06"), true));
    // R2.3: the 25th of the next month, rolled past the Mid-Autumn holiday (2026-09-25..27).
    let p = dl(RecordKind::AdministrativeEnforcement, "2026-08-31");
    assert_eq!((p.deadline, p.provisional), (d("2026-09-28"), false));
    assert_eq!(p.rule, rref("R2.3", STANDING, "P"));
    assert_eq!(dl(RecordKind::AdministrativeReward, "2026-01-20").deadline, d("2026-02-25"));
    let p = dl(RecordKind::AdministrativeInspection, "2026-12-01");
    assert_eq!((p.deadline, p.provisional), (d("2027-01-25"), true));
    assert!(rs.publication_deadline(RecordKind::CreditGrade, d("2026-01-01"), &cal).is_none());
}

/// DOMAIN R2.7, R11.4, R5.3, R5.5.
#[test]
fn other_deadlines() {
    let rs = RuleSet::builtin();
    let cal = Calendar::builtin();
    let w = rs.withdrawal_deadline(d("2024-04-30"), &cal);
    assert_eq!((w.deadline, w.rule.rule_id.as_str()), (d("2024-05-08"), "R2.7"));
    let r = rs.receipt_deadline(ObjectType::Repair, d("2024-12-31"), &cal).unwrap();
    assert_eq!((r.deadline, r.rule.clone()), (d("2025-01-15"), rref("R11.4", STANDING, "design")));
    let r = rs.receipt_deadline(ObjectType::Withdrawal, d("2024-04-30"), &cal).unwrap();
    assert_eq!(r.deadline, d("2024-05-08"));
    assert!(rs.receipt_deadline(ObjectType::Record, d("2024-04-30"), &cal).is_none());
    let o = rs.objection_deadline(d("2024-09-27"), &cal);
    assert_eq!(o.accept_by.deadline, d("2024-09-30")); // 09-29 is a make-up Sunday
    assert_eq!(o.resolve_by.deadline, d("2024-10-18"));
    assert_eq!(o.policy, ObjectionPolicy::AnnotateOnly);
    assert_eq!(o.policy_rule, rref("R5.5", STANDING, "P"));
}

fn with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<RuleSet, RulesError> {
    let mut v = serde_json::to_value(RuleSet::builtin()).unwrap();
    edit(&mut v);
    RuleSet::from_json(&v.to_string())
}

#[test]
fn validate_names_the_rule() {
    let err = with(|v| v["regimes"][2]["periods"][2]["min_months"] = 40.into()).unwrap_err();
    assert_eq!(err, RulesError::MinExceedsMax { rule_id: "R3.10".into(), min_months: 40, max_months: 36 });
    assert!(err.to_string().contains("R3.10"));
    let err = with(|v| v["regimes"][1]["effective_until"] = "2026-04-01".into()).unwrap_err();
    assert!(matches!(err, RulesError::Overlap { ref rule_id, .. } if rule_id == "R0.5"), "{err}");
    let err = with(|v| v["regimes"][0]["periods"][0]["severity"] = "grave".into()).unwrap_err();
    assert_eq!(err, RulesError::UnknownSeverity { rule_id: "R0.2".into(), name: "grave".into() });
    let err = with(|v| v["regimes"][2]["periods"][0]["severity"] = "general".into()).unwrap_err();
    assert!(matches!(err, RulesError::DuplicateSeverity { .. }), "{err}");
    let err = with(|v| v["regimes"][0]["severity_fallback"] = serde_json::json!({})).unwrap_err();
    assert!(matches!(err, RulesError::SeverityNotCovered { ref severity, .. } if severity == "minor"));
    let err = with(|v| v["sector_overrides"][0]["no_early_end"][0]["penalty_types"][0] = "jail".into()).unwrap_err();
    assert_eq!(err, RulesError::UnknownPenaltyType { rule_id: "R3.24".into(), name: "jail".into() });
    let err = with(|v| v["withdrawal"]["working_days"] = 0.into()).unwrap_err();
    assert_eq!(err, RulesError::WorkingDaysOutOfRange { rule_id: "R2.7".into(), n: 0 });
    let err = with(|v| v["publication"]["administrative_reward"]["deadline"]["day"] = 40.into()).unwrap_err();
    assert_eq!(err, RulesError::DayOfMonthOutOfRange { rule_id: "R2.3".into(), day: 40 });
    let err = with(|v| v["regimes"][2]["periods"][1]["max_months"] = 5000.into()).unwrap_err();
    assert!(matches!(err, RulesError::PeriodTooLong { .. }));
    let err = with(|v| v["lists"][1]["id"] = "samr_order_44".into()).unwrap_err();
    assert!(matches!(err, RulesError::DuplicateId { .. }));
    let err = with(|v| v["sector_overrides"][0]["tiers"][0]["penalty_types"] = serde_json::json!([])).unwrap_err();
    assert!(matches!(err, RulesError::DefaultTier { found: 2, .. }));
    let err = with(|v| v["surprise"] = 1.into()).unwrap_err();
    assert!(matches!(err, RulesError::Malformed(_)));
    let err = with(|v| v["regimes"] = serde_json::json!([])).unwrap_err();
    assert_eq!(err, RulesError::NoRegimes);
    assert!(matches!(RuleSet::from_json("{} x"), Err(RulesError::Malformed(_))));
}

#[test]
fn decisions_are_total_on_an_empty_table() {
    let rs = RuleSet::default();
    let cal = Calendar::empty();
    let p = rs.publicity(&penalty(Severity::Serious, "2026-05-01"));
    assert_eq!(p.max_until, None);
    assert!(rs.repairability(&penalty(Severity::Serious, "2026-05-01"), d("2027-01-01")).is_err());
    assert!(rs.publication_deadline(RecordKind::AdministrativePenalty, d("9999-12-31"), &cal).is_none());
    let w = rs.withdrawal_deadline(d("9999-12-31"), &cal);
    assert_eq!(w.deadline, d("9999-12-31"));
    // Saturation at the end of the representable range.
    assert_eq!(add_months(d("9999-11-30"), 36), d("9999-12-31"));
    let p = RuleSet::builtin().publicity(&penalty(Severity::Serious, "9999-06-01"));
    assert_eq!(p.max_until, Some(d("9999-12-31")));
}

fn arb_input() -> impl Strategy<Value = (RecordKind, Option<Severity>, usize, i64, Option<i64>, Vec<usize>, bool)> {
    (
        prop::sample::select(RecordKind::ALL.to_vec()),
        prop::option::of(prop::sample::select(Severity::ALL.to_vec())),
        0usize..SECTORS.len(),
        0i64..(20 * 366),
        prop::option::of(0i64..60),
        prop::collection::vec(0usize..PENALTY_TYPES.len() + 1, 0..4),
        any::<bool>(),
    )
}

const SECTORS: &[&str] = &["market_regulation", "food_drug", "taxation", "court", "transport"];

fn build(t: &[usize]) -> Vec<String> {
    t.iter().map(|&i| PENALTY_TYPES.get(i).copied().unwrap_or("unlisted_type").to_string()).collect()
}

proptest! {
    #[test]
    fn min_until_never_after_max_until((kind, sev, sector, off, publ, t, nr) in arb_input()) {
        let rs = RuleSet::builtin();
        let types = build(&t);
        let decided_on = d("2015-01-01").add_days(off);
        let inp = PublicityInput {
            kind, severity: sev, sector: SECTORS[sector], decided_on,
            published_on: publ.map(|p| decided_on.add_days(p)), penalty_types: &types, not_repairable: nr,
        };
        let p = rs.publicity(&inp);
        if let (Some(min), Some(max)) = (p.min_until, p.max_until) {
            prop_assert!(p.start <= min && min <= max);
        }
        prop_assert_eq!(p.repairable, p.repair_blocked_by.is_none());
        prop_assert_eq!(&p.rules[0], &p.rule);
    }

    #[test]
    fn repairability_is_monotone((kind, sev, sector, off, publ, t, nr) in arb_input(), a in 0i64..2000, gap in 0i64..2000) {
        let rs = RuleSet::builtin();
        let types = build(&t);
        let decided_on = d("2015-01-01").add_days(off);
        let inp = PublicityInput {
            kind, severity: sev, sector: SECTORS[sector], decided_on,
            published_on: publ.map(|p| decided_on.add_days(p)), penalty_types: &types, not_repairable: nr,
        };
        let first = decided_on.add_days(a);
        let later = first.add_days(gap);
        if rs.repairability(&inp, first).is_ok() {
            match rs.repairability(&inp, later) {
                Ok(_) | Err(RepairDenied::PublicityEnded { .. }) => {}
                Err(e) => prop_assert!(false, "allowed on {first}, then {e} on {later}"),
            }
        }
        if let Err(RepairDenied::PublicityEnded { .. }) = rs.repairability(&inp, first) {
            let ended = matches!(rs.repairability(&inp, later), Err(RepairDenied::PublicityEnded { .. }));
            prop_assert!(ended);
        }
    }
}

proptest! {
    /// Arbitrary text never panics the rule loader.
    #[test]
    fn from_json_never_panics(s in ".{0,300}") {
        let _ = RuleSet::from_json(&s);
    }
}
