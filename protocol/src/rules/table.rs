//! The rule table: plain serde data (JSON or TOML) and its coherence check.
//!
//! Every entry carries the DOMAIN rule id it implements (`rule_id`, e.g. `R3.10`) and that rule's
//! verification [`Tag`], so a decision can name the rule it applied and say whether it is
//! verified. Nothing here computes: see [`super::RuleSet`]'s decision methods.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::day::Day;
use crate::kind::{RecordKind, Severity};

/// Longest publicity period a table may declare (months), so date arithmetic stays in range.
pub const MAX_PERIOD_MONTHS: u32 = 1200;
/// Largest working-day count a table may declare.
pub const MAX_RULE_WORKING_DAYS: u32 = 366;
/// Longest `rule_id` / `id` accepted.
pub const MAX_ID_LEN: usize = 64;

/// Penalty types (处罚种类) the tables may name. Inputs may carry other names; those count as
/// "other" penalties (the long tier, no special treatment).
pub const PENALTY_TYPES: &[&str] = &[
    "warning",
    "circulated_criticism",
    "fine_low",
    "fine",
    "fine_large",
    "confiscation",
    "suspension",
    "qualification_downgrade",
    "business_restriction",
    "production_suspension",
    "licence_revocation",
    "business_licence_revocation",
    "practice_ban",
    "detention",
    "other",
];

/// Verification tag of a DOMAIN rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tag {
    /// `[V]`: read in a retrieved source.
    #[serde(rename = "V")]
    Verified,
    /// `[P]`: partly verified.
    #[serde(rename = "P")]
    Partial,
    /// `[U]`: not verified; a configurable default.
    #[default]
    #[serde(rename = "U")]
    Unverified,
    /// A design choice of credfed derived from a rule (e.g. DOMAIN R11.4), not law.
    #[serde(rename = "design")]
    Design,
}

impl Tag {
    /// `V`, `P`, `U` or `design`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::Verified => "V",
            Tag::Partial => "P",
            Tag::Unverified => "U",
            Tag::Design => "design",
        }
    }
}

/// Where a publicity period starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountFrom {
    /// The date of the decision (DOMAIN R0.2, R3.4, R3.10).
    #[default]
    Decision,
    /// The date the record was published (SAMR Order 45, DOMAIN R3.23).
    Publication,
}

/// A rule cited without parameters (e.g. "not dishonesty information").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleNote {
    /// DOMAIN rule id.
    pub rule_id: String,
    /// Verification tag.
    pub tag: Tag,
}

/// Publicity period for one severity in a regime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityPeriod {
    /// DOMAIN rule id.
    pub rule_id: String,
    /// Verification tag.
    pub tag: Tag,
    /// `minor`, `general` or `serious` (DOMAIN R3.10).
    pub severity: String,
    /// Months after the start before repair may be applied for (0: at once).
    pub min_months: u32,
    /// Months after the start at which publicity ends automatically.
    pub max_months: u32,
}

/// Records whose publicity may not end early, whatever the subject does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoEarlyEnd {
    /// DOMAIN rule id.
    pub rule_id: String,
    /// Verification tag.
    pub tag: Tag,
    /// Severities concerned; empty: any.
    #[serde(default)]
    pub severities: Vec<String>,
    /// Sectors concerned; empty: any.
    #[serde(default)]
    pub sectors: Vec<String>,
    /// The rule applies when the decision contains any of these penalty types.
    pub penalty_types: Vec<String>,
}

/// A general regime (DOMAIN R0.2, R0.3, R0.5): severity periods in force between two dates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    /// `2019`, `2023`, `2026`.
    pub id: String,
    /// The instrument, for explanations.
    pub title: String,
    /// DOMAIN rule id of the regime itself (R0.x).
    pub rule_id: String,
    /// Verification tag.
    pub tag: Tag,
    /// First day in force.
    pub effective_from: Day,
    /// Last day in force; `None`: still in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_until: Option<Day>,
    /// Where periods start.
    pub count_from: CountFrom,
    /// One entry per severity.
    pub periods: Vec<SeverityPeriod>,
    /// Severities the regime does not know, mapped to one it does (e.g. `minor → general`
    /// before the 2026 three-class scheme).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub severity_fallback: BTreeMap<String, String>,
    /// Exclusions from early repair (e.g. DOMAIN R3.6 for 2019).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_early_end: Vec<NoEarlyEnd>,
}

/// Early stop (提前停止公示) allowed after a minimum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStop {
    /// DOMAIN rule id.
    pub rule_id: String,
    /// Verification tag.
    pub tag: Tag,
    /// Months of publicity before an early stop may be applied for.
    pub min_months: u32,
}

/// A period tier of a sector override, chosen by penalty type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PenaltyTier {
    /// DOMAIN rule id.
    pub rule_id: String,
    /// Verification tag.
    pub tag: Tag,
    /// Penalty types in this tier; empty: the default tier for every other type.
    #[serde(default)]
    pub penalty_types: Vec<String>,
    /// Months after the start at which publicity stops.
    pub max_months: u32,
    /// When and under which rule publicity may stop early; `None`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stop: Option<EarlyStop>,
}

/// Decisions that are not published at all when they consist only of these penalty types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unpublished {
    /// DOMAIN rule id.
    pub rule_id: String,
    /// Verification tag.
    pub tag: Tag,
    /// The penalty types.
    pub penalty_types: Vec<String>,
}

/// A sector's own period table, overriding the general regimes (DOMAIN R0.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectorOverride {
    /// Stable id, used as the `regime` of its decisions (e.g. `samr_order_45`).
    pub id: String,
    /// The instrument.
    pub title: String,
    /// The record's `sector` this applies to (e.g. `market_regulation`).
    pub sector: String,
    /// Record kinds it covers.
    pub kinds: Vec<RecordKind>,
    /// First day in force (by decision date).
    pub effective_from: Day,
    /// Last day in force; `None`: still in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_until: Option<Day>,
    /// Where periods start.
    pub count_from: CountFrom,
    /// Decisions of only these types are not published (DOMAIN R3.20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpublished_if_only: Option<Unpublished>,
    /// Period tiers; the longest tier any penalty type falls in wins (DOMAIN R3.4).
    pub tiers: Vec<PenaltyTier>,
    /// Exclusions from early stop (DOMAIN R3.24).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_early_end: Vec<NoEarlyEnd>,
}

/// Period defaults of a sector dishonesty list (DOMAIN R4.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRule {
    /// Stable id, used as the `regime` of its decisions.
    pub id: String,
    /// The instrument.
    pub title: String,
    /// DOMAIN rule id.
    pub rule_id: String,
    /// Verification tag.
    pub tag: Tag,
    /// Record kinds it covers.
    pub kinds: Vec<RecordKind>,
    /// Sectors it covers; empty: any.
    #[serde(default)]
    pub sectors: Vec<String>,
    /// Months listed before removal may be applied for (0: on performance).
    pub min_months: u32,
    /// Months after which the subject leaves the list.
    pub max_months: u32,
}

/// What severity to assume when a dishonesty record carries none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissingSeverity {
    /// DOMAIN rule id.
    pub rule_id: String,
    /// Verification tag.
    pub tag: Tag,
    /// Kinds that are serious by nature (serious-list information, DOMAIN R3.3).
    pub serious_kinds: Vec<RecordKind>,
    /// Severity for every other kind.
    pub otherwise: String,
}

/// How a publication deadline is computed (DOMAIN R2.3 configuration shape).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeadlineMode {
    /// `n` working days after the decision (DOMAIN R2.1, R2.2).
    WorkingDays {
        /// Working days.
        n: u32,
    },
    /// By day `day` of the month after the decision's month (clamped to the month's end).
    MonthlyByDay {
        /// Day of month, 1-31.
        day: u8,
        /// Move a deadline on a non-working day to the next working day (Civil Code art. 203,
        /// DOMAIN R10.3).
        #[serde(default = "yes")]
        roll_forward: bool,
    },
}

fn yes() -> bool {
    true
}

/// Publication deadline of one record kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicationRule {
    /// DOMAIN rule id.
    pub rule_id: String,
    /// Verification tag.
    pub tag: Tag,
    /// The computation.
    pub deadline: DeadlineMode,
}

/// A deadline of `working_days` working days after a trigger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingDayRule {
    /// DOMAIN rule id.
    pub rule_id: String,
    /// Verification tag.
    pub tag: Tag,
    /// Working days (counted from the day after the trigger).
    pub working_days: u32,
}

/// What a record under objection does (DOMAIN R5.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionPolicy {
    /// Stays published and usable, visibly marked 异议中 (the default, DOMAIN R5.5).
    #[default]
    AnnotateOnly,
    /// Neither disclosed nor used while the objection is handled (Nantong precedent).
    SuspendUse,
}

/// Objection handling (DOMAIN R5.3, R5.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectionRules {
    /// Annotate or suspend.
    pub policy: ObjectionPolicy,
    /// DOMAIN rule id of the policy.
    pub policy_rule_id: String,
    /// Verification tag of the policy.
    pub policy_tag: Tag,
    /// Acceptance decision, counted from filing.
    pub acceptance: WorkingDayRule,
    /// Verification, counted from the acceptance deadline.
    pub verification: WorkingDayRule,
}

/// Why a rule table was rejected. Every variant names the rule or entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// The document is larger than [`super::MAX_RULESET_JSON_LEN`].
    #[error("rule document is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Input size.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Not JSON/TOML of the right shape.
    #[error("rule document is malformed: {0}")]
    Malformed(String),
    /// No general regime at all.
    #[error("the rule set has no regime")]
    NoRegimes,
    /// An empty or over-long id.
    #[error("{context}: rule id or entry id {id:?} is empty or longer than {MAX_ID_LEN}")]
    BadId {
        /// Where.
        context: String,
        /// The id.
        id: String,
    },
    /// Two regimes, overrides or lists with the same id.
    #[error("id {id:?} is used twice")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// A minimum period longer than the maximum.
    #[error("rule {rule_id}: minimum {min_months} months exceeds maximum {max_months} months")]
    MinExceedsMax {
        /// The rule.
        rule_id: String,
        /// Minimum.
        min_months: u32,
        /// Maximum.
        max_months: u32,
    },
    /// A period beyond [`MAX_PERIOD_MONTHS`].
    #[error("rule {rule_id}: period of {months} months exceeds {MAX_PERIOD_MONTHS}")]
    PeriodTooLong {
        /// The rule.
        rule_id: String,
        /// The period.
        months: u32,
    },
    /// A severity name other than `minor`, `general`, `serious`.
    #[error("rule {rule_id}: unknown severity {name:?}")]
    UnknownSeverity {
        /// The rule.
        rule_id: String,
        /// The name.
        name: String,
    },
    /// A severity given two periods in one regime.
    #[error("rule {rule_id}: severity {severity} has more than one period in regime {regime}")]
    DuplicateSeverity {
        /// The rule.
        rule_id: String,
        /// The regime.
        regime: String,
        /// The severity.
        severity: String,
    },
    /// A severity a regime can neither resolve directly nor through its fallback.
    #[error("rule {rule_id}: regime {regime} has no period for severity {severity}")]
    SeverityNotCovered {
        /// The regime's rule id.
        rule_id: String,
        /// The regime.
        regime: String,
        /// The severity.
        severity: String,
    },
    /// A penalty type outside [`PENALTY_TYPES`].
    #[error("rule {rule_id}: unknown penalty type {name:?}")]
    UnknownPenaltyType {
        /// The rule.
        rule_id: String,
        /// The name.
        name: String,
    },
    /// `effective_until` before `effective_from`.
    #[error("rule {rule_id} ({id}): in force until {until}, before it starts on {from}")]
    EmptyRange {
        /// The rule.
        rule_id: String,
        /// The entry.
        id: String,
        /// Start.
        from: Day,
        /// End.
        until: Day,
    },
    /// Two regimes (or two overrides of one sector and kind) in force on the same day.
    #[error("rule {rule_id}: {first} and {second} are both in force on {day}")]
    Overlap {
        /// The later entry's rule.
        rule_id: String,
        /// Earlier entry.
        first: String,
        /// Later entry.
        second: String,
        /// A day both cover.
        day: Day,
    },
    /// A sector override without exactly one default tier (one with no penalty types).
    #[error("rule {rule_id} ({id}): needs exactly one default tier (empty penalty_types), found {found}")]
    DefaultTier {
        /// The rule.
        rule_id: String,
        /// The override.
        id: String,
        /// How many there are.
        found: usize,
    },
    /// An entry that covers no record kind.
    #[error("{id}: covers no record kind")]
    NoKinds {
        /// The entry.
        id: String,
    },
    /// A working-day count of 0 or above [`MAX_RULE_WORKING_DAYS`].
    #[error("rule {rule_id}: {n} working days is out of range 1..={MAX_RULE_WORKING_DAYS}")]
    WorkingDaysOutOfRange {
        /// The rule.
        rule_id: String,
        /// The count.
        n: u32,
    },
    /// A day of month outside 1..=31.
    #[error("rule {rule_id}: day of month {day} is out of range 1..=31")]
    DayOfMonthOutOfRange {
        /// The rule.
        rule_id: String,
        /// The day.
        day: u8,
    },
}

/// Checks every table of a rule set; see [`super::RuleSet::validate`].
pub(super) fn validate(rs: &super::RuleSet) -> Result<(), RulesError> {
    if rs.regimes.is_empty() {
        return Err(RulesError::NoRegimes);
    }
    let mut ids = BTreeSet::new();
    let mut fresh = |id: &str| {
        if ids.insert(id.to_owned()) {
            Ok(())
        } else {
            Err(RulesError::DuplicateId { id: id.to_owned() })
        }
    };
    for r in &rs.regimes {
        check_id("regime", &r.id)?;
        fresh(&r.id)?;
        check_regime(r)?;
    }
    let mut regimes: Vec<&Regime> = rs.regimes.iter().collect();
    regimes.sort_by_key(|r| r.effective_from);
    for pair in regimes.windows(2) {
        if let [a, b] = pair {
            if a.effective_until.is_none_or(|until| until >= b.effective_from) {
                return Err(overlap(&b.rule_id, &a.id, &b.id, b.effective_from));
            }
        }
    }
    for o in &rs.sector_overrides {
        check_id("sector override", &o.id)?;
        fresh(&o.id)?;
        check_override(o)?;
    }
    check_override_overlaps(&rs.sector_overrides)?;
    for l in &rs.lists {
        check_id("list", &l.id)?;
        fresh(&l.id)?;
        check_id(&l.id, &l.rule_id)?;
        if l.kinds.is_empty() {
            return Err(RulesError::NoKinds { id: l.id.clone() });
        }
        check_period(&l.rule_id, l.min_months, l.max_months)?;
    }
    let ms = &rs.missing_severity;
    check_id("missing_severity", &ms.rule_id)?;
    check_severity(&ms.rule_id, &ms.otherwise)?;
    check_id("not_dishonesty", &rs.not_dishonesty.rule_id)?;
    check_id("not_repairable", &rs.not_repairable.rule_id)?;
    for p in rs.publication.values() {
        check_id("publication", &p.rule_id)?;
        match p.deadline {
            DeadlineMode::WorkingDays { n } => check_working_days(&p.rule_id, n)?,
            DeadlineMode::MonthlyByDay { day, .. } => {
                if !(1..=31).contains(&day) {
                    return Err(RulesError::DayOfMonthOutOfRange { rule_id: p.rule_id.clone(), day });
                }
            }
        }
    }
    let o = &rs.objections;
    check_id("objections", &o.policy_rule_id)?;
    let receipts = rs.receipts.values();
    for w in receipts.chain([&rs.withdrawal, &o.acceptance, &o.verification]) {
        check_id("deadline", &w.rule_id)?;
        check_working_days(&w.rule_id, w.working_days)?;
    }
    Ok(())
}

fn check_regime(r: &Regime) -> Result<(), RulesError> {
    check_id(&r.id, &r.rule_id)?;
    check_range(&r.rule_id, &r.id, r.effective_from, r.effective_until)?;
    let mut seen = BTreeSet::new();
    for p in &r.periods {
        check_id(&r.id, &p.rule_id)?;
        check_severity(&p.rule_id, &p.severity)?;
        check_period(&p.rule_id, p.min_months, p.max_months)?;
        if !seen.insert(p.severity.as_str()) {
            return Err(RulesError::DuplicateSeverity {
                rule_id: p.rule_id.clone(),
                regime: r.id.clone(),
                severity: p.severity.clone(),
            });
        }
    }
    for (from, to) in &r.severity_fallback {
        check_severity(&r.rule_id, from)?;
        check_severity(&r.rule_id, to)?;
    }
    for s in Severity::ALL {
        let direct = seen.contains(s.as_str());
        let via = r.severity_fallback.get(s.as_str()).is_some_and(|t| seen.contains(t.as_str()));
        if !direct && !via {
            return Err(RulesError::SeverityNotCovered {
                rule_id: r.rule_id.clone(),
                regime: r.id.clone(),
                severity: s.as_str().to_owned(),
            });
        }
    }
    r.no_early_end.iter().try_for_each(check_no_early_end)
}

fn check_override(o: &SectorOverride) -> Result<(), RulesError> {
    if o.kinds.is_empty() {
        return Err(RulesError::NoKinds { id: o.id.clone() });
    }
    let first_rule = o.tiers.first().map_or(o.id.as_str(), |t| t.rule_id.as_str());
    check_range(first_rule, &o.id, o.effective_from, o.effective_until)?;
    if let Some(u) = &o.unpublished_if_only {
        check_id(&o.id, &u.rule_id)?;
        check_penalty_types(&u.rule_id, &u.penalty_types)?;
    }
    let defaults = o.tiers.iter().filter(|t| t.penalty_types.is_empty()).count();
    if defaults != 1 {
        return Err(RulesError::DefaultTier { rule_id: first_rule.to_owned(), id: o.id.clone(), found: defaults });
    }
    for t in &o.tiers {
        check_id(&o.id, &t.rule_id)?;
        check_penalty_types(&t.rule_id, &t.penalty_types)?;
        let min = match &t.early_stop {
            Some(e) => {
                check_id(&o.id, &e.rule_id)?;
                e.min_months
            }
            None => 0,
        };
        check_period(&t.rule_id, min, t.max_months)?;
    }
    o.no_early_end.iter().try_for_each(check_no_early_end)
}

fn check_override_overlaps(overrides: &[SectorOverride]) -> Result<(), RulesError> {
    for (i, a) in overrides.iter().enumerate() {
        for b in &overrides[i + 1..] {
            let same_scope = a.sector == b.sector && a.kinds.iter().any(|k| b.kinds.contains(k));
            if !same_scope {
                continue;
            }
            let (first, second) = if a.effective_from <= b.effective_from { (a, b) } else { (b, a) };
            if first.effective_until.is_none_or(|until| until >= second.effective_from) {
                let rule = second.tiers.first().map_or(second.id.as_str(), |t| t.rule_id.as_str());
                return Err(overlap(rule, &first.id, &second.id, second.effective_from));
            }
        }
    }
    Ok(())
}

fn check_no_early_end(n: &NoEarlyEnd) -> Result<(), RulesError> {
    check_id("no_early_end", &n.rule_id)?;
    n.severities.iter().try_for_each(|s| check_severity(&n.rule_id, s))?;
    check_penalty_types(&n.rule_id, &n.penalty_types)
}

fn check_id(context: &str, id: &str) -> Result<(), RulesError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(RulesError::BadId { context: trunc(context), id: trunc(id) });
    }
    Ok(())
}

fn check_severity(rule_id: &str, name: &str) -> Result<(), RulesError> {
    name.parse::<Severity>()
        .map(|_| ())
        .map_err(|_| RulesError::UnknownSeverity { rule_id: rule_id.to_owned(), name: trunc(name) })
}

fn check_penalty_types(rule_id: &str, names: &[String]) -> Result<(), RulesError> {
    match names.iter().find(|n| !PENALTY_TYPES.contains(&n.as_str())) {
        Some(n) => Err(RulesError::UnknownPenaltyType { rule_id: rule_id.to_owned(), name: trunc(n) }),
        None => Ok(()),
    }
}

fn check_period(rule_id: &str, min: u32, max: u32) -> Result<(), RulesError> {
    if max > MAX_PERIOD_MONTHS {
        return Err(RulesError::PeriodTooLong { rule_id: rule_id.to_owned(), months: max });
    }
    if min > max {
        return Err(RulesError::MinExceedsMax { rule_id: rule_id.to_owned(), min_months: min, max_months: max });
    }
    Ok(())
}

fn check_range(rule_id: &str, id: &str, from: Day, until: Option<Day>) -> Result<(), RulesError> {
    match until {
        Some(until) if until < from => {
            Err(RulesError::EmptyRange { rule_id: rule_id.to_owned(), id: id.to_owned(), from, until })
        }
        _ => Ok(()),
    }
}

fn check_working_days(rule_id: &str, n: u32) -> Result<(), RulesError> {
    if n == 0 || n > MAX_RULE_WORKING_DAYS {
        return Err(RulesError::WorkingDaysOutOfRange { rule_id: rule_id.to_owned(), n });
    }
    Ok(())
}

fn overlap(rule_id: &str, first: &str, second: &str, day: Day) -> RulesError {
    RulesError::Overlap { rule_id: rule_id.to_owned(), first: first.to_owned(), second: second.to_owned(), day }
}

fn trunc(s: &str) -> String {
    s.chars().take(MAX_ID_LEN).collect()
}
