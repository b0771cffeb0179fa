//! Credit rules as versioned data (DOMAIN §0): publicity periods, repairability and deadlines.
//!
//! # Data model
//!
//! A [`RuleSet`] is a table the node loads (JSON through [`RuleSet::from_json`], or any serde
//! format through [`RuleSet::from_deserializer`], e.g. a TOML value); [`RuleSet::builtin`] is
//! today's table (`protocol/data/rules-builtin.json`). It holds:
//!
//! - **regimes** ([`Regime`]), each in force between two dates: `2019` (DOMAIN R0.2), `2023`
//!   (R0.3/R3.4), `2026` (R0.5/R3.10), with a period per severity;
//! - **sector overrides** ([`SectorOverride`], DOMAIN R0.6): SAMR Order 45 for
//!   `market_regulation` penalties (R3.20, R3.23, R3.24);
//! - **dishonesty-list defaults** ([`ListRule`], DOMAIN R4.3, all `[U]`);
//! - **deadlines**: publication (R2.1–R2.3), withdrawal (R2.7), cross-region receipts (R11.4),
//!   objections and the objection policy (R5.3, R5.5).
//!
//! Every entry names its DOMAIN `rule_id` and verification [`Tag`]; every decision returns the
//! [`RuleRef`]s it used, so an explanation can cite them and flag the unverified ones
//! ([`PublicityDecision::unverified`]).
//!
//! # Choices made here
//!
//! - **Regime by decision date.** A record's periods follow the regime in force on its
//!   `decided_on` (the record's creation, DOMAIN R0.1), not the date of a repair application:
//!   the period is fixed when the record is made, and an `as_of` question gets the same answer
//!   whenever it is asked. Decisions before the first regime use the first regime; a gap between
//!   regimes uses the last one that started.
//! - **Which table.** A sector override (matching `sector`, `kind` and in force on `decided_on`)
//!   wins over a list default, which wins over the general regime.
//! - **Several penalty types**: the longest period wins (DOMAIN R3.4).
//! - **Half-open periods.** The record is public on `[start, max_until)`; repair may be applied
//!   for from `min_until` on. Both are `start + N months` under Civil Code art. 202
//!   (DOMAIN R10.3).
//! - **Publication date unknown** for a period counted from publication (R3.23): the decision
//!   date stands in and [`PublicityDecision::start_estimated`] is set.
//! - **Pure and total.** No decision panics, even on a table that was never validated; dates
//!   past 9999-12-31 saturate there.

mod table;

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::calendar::{Calendar, Deadline};
use crate::day::Day;
use crate::kind::{ObjectType, RecordKind, Severity};

pub use table::{
    CountFrom, DeadlineMode, EarlyStop, ListRule, MissingSeverity, NoEarlyEnd, ObjectionPolicy, ObjectionRules,
    PenaltyTier, PublicationRule, Regime, RuleNote, RulesError, SectorOverride, SeverityPeriod, Tag, Unpublished,
    WorkingDayRule, MAX_ID_LEN, MAX_PERIOD_MONTHS, MAX_RULE_WORKING_DAYS, PENALTY_TYPES,
};

/// Largest rule document accepted by [`RuleSet::from_json`] (bytes).
pub const MAX_RULESET_JSON_LEN: usize = 1 << 20;

/// The `regime` of rules that hold across regimes (deadlines, the objection policy).
pub const STANDING: &str = "standing";

const BUILTIN_JSON: &str = include_str!("../data/rules-builtin.json");

/// The rule table. See the [module documentation](self).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Label of this table (shown in explanations and logs).
    pub version: String,
    /// General regimes by effective date.
    pub regimes: Vec<Regime>,
    /// Sector tables overriding the regimes.
    #[serde(default)]
    pub sector_overrides: Vec<SectorOverride>,
    /// Dishonesty-list defaults.
    #[serde(default)]
    pub lists: Vec<ListRule>,
    /// Severity assumed when a record carries none.
    pub missing_severity: MissingSeverity,
    /// Cited for records that are not dishonesty information (no period, nothing to repair).
    pub not_dishonesty: RuleNote,
    /// Cited when a record is declared non-repairable by law or policy (DOMAIN R3.1, R4.4).
    pub not_repairable: RuleNote,
    /// Publication deadline per record kind; kinds absent have none.
    pub publication: BTreeMap<RecordKind, PublicationRule>,
    /// Withdrawal of a changed or revoked decision (DOMAIN R2.7).
    pub withdrawal: WorkingDayRule,
    /// How long a region has to apply another region's object, per object type (DOMAIN R11.4).
    pub receipts: BTreeMap<ObjectType, WorkingDayRule>,
    /// Objection handling (DOMAIN R5.3, R5.5).
    pub objections: ObjectionRules,
}

/// Which rule a decision applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleRef {
    /// DOMAIN rule id, e.g. `R3.10`.
    pub rule_id: String,
    /// Regime or table id, e.g. `2026`, `samr_order_45`, or [`STANDING`].
    pub regime: String,
    /// Verification tag: `V`, `P`, `U` or `design`.
    pub tag: String,
}

impl RuleRef {
    fn new(rule_id: &str, regime: &str, tag: Tag) -> RuleRef {
        RuleRef { rule_id: rule_id.to_owned(), regime: regime.to_owned(), tag: tag.as_str().to_owned() }
    }

    /// Whether the rule is tagged `[V]`.
    pub fn is_verified(&self) -> bool {
        self.tag == Tag::Verified.as_str()
    }
}

impl std::fmt::Display for RuleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DOMAIN {} (regime {}, [{}])", self.rule_id, self.regime, self.tag)
    }
}

/// What [`RuleSet::publicity`] needs to know about a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicityInput<'a> {
    /// The record kind.
    pub kind: RecordKind,
    /// 轻微 / 一般 / 严重, when classified.
    pub severity: Option<Severity>,
    /// The sector of the identifying authority (e.g. `market_regulation`, `taxation`, `court`).
    pub sector: &'a str,
    /// Date of the decision (the record's creation: chooses the regime).
    pub decided_on: Day,
    /// Date the record was published, when known.
    pub published_on: Option<Day>,
    /// Penalty types of the decision (see [`PENALTY_TYPES`]).
    pub penalty_types: &'a [String],
    /// Declared non-repairable by law or central policy (DOMAIN R3.1, R4.4).
    pub not_repairable: bool,
}

/// A record's publicity period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicityDecision {
    /// First day of publicity (the decision or the publication date).
    pub start: Day,
    /// Earliest day repair (early end of publicity) may be applied for; `None`: never early.
    pub min_until: Option<Day>,
    /// Day publicity ends automatically (no longer public from this day); `None`: no period
    /// (records that are not dishonesty information; a `valid_until` is the caller's concern).
    pub max_until: Option<Day>,
    /// Whether repair can ever be applied for.
    pub repairable: bool,
    /// `false` when the record is not published at all (e.g. a warning only, DOMAIN R3.20).
    pub publishable: bool,
    /// What `start` is.
    pub counted_from: CountFrom,
    /// `start` stands in for an unknown publication date.
    pub start_estimated: bool,
    /// The rule that set the period.
    pub rule: RuleRef,
    /// The rule that makes the record non-repairable, if any.
    pub repair_blocked_by: Option<RuleRef>,
    /// Every rule consulted, `rule` first.
    pub rules: Vec<RuleRef>,
}

impl PublicityDecision {
    /// A published record with no publicity period (not dishonesty information, or no regime
    /// known): never repairable, never ends by itself; `rule` says why.
    fn without_period(start: Day, rule: RuleRef) -> PublicityDecision {
        PublicityDecision {
            start,
            min_until: None,
            max_until: None,
            repairable: false,
            publishable: true,
            counted_from: CountFrom::Decision,
            start_estimated: false,
            rule: rule.clone(),
            repair_blocked_by: Some(rule.clone()),
            rules: vec![rule],
        }
    }

    /// The rules consulted that are not tagged `[V]`: what an explanation must flag.
    pub fn unverified(&self) -> impl Iterator<Item = &RuleRef> {
        self.rules.iter().filter(|r| !r.is_verified())
    }
}

/// Why repair cannot be applied for on a given day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepairDenied {
    /// The record can never be repaired early.
    #[error("the record is not repairable: {rule}")]
    NotRepairable {
        /// The rule.
        rule: RuleRef,
    },
    /// The minimum publicity period has not elapsed.
    #[error("repair may be applied for from {earliest}: {rule}")]
    MinPublicityNotElapsed {
        /// First day repair may be applied for.
        earliest: Day,
        /// The rule.
        rule: RuleRef,
    },
    /// Publicity has already ended: nothing left to repair.
    #[error("publicity ended on {ended_on}: {rule}")]
    PublicityEnded {
        /// The day publicity ended.
        ended_on: Day,
        /// The rule.
        rule: RuleRef,
    },
}

impl RepairDenied {
    /// Stable snake_case code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            RepairDenied::NotRepairable { .. } => "not_repairable",
            RepairDenied::MinPublicityNotElapsed { .. } => "min_publicity_not_elapsed",
            RepairDenied::PublicityEnded { .. } => "publicity_ended",
        }
    }

    /// The rule that denied.
    pub fn rule(&self) -> &RuleRef {
        match self {
            RepairDenied::NotRepairable { rule }
            | RepairDenied::MinPublicityNotElapsed { rule, .. }
            | RepairDenied::PublicityEnded { rule, .. } => rule,
        }
    }
}

/// A deadline and the rule that set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineDecision {
    /// Last day to act (inclusive).
    pub deadline: Day,
    /// Depends on a year whose holiday notice is not published (DOMAIN R10.2).
    pub provisional: bool,
    /// The rule.
    pub rule: RuleRef,
}

/// Deadlines of an objection and the policy for the record meanwhile (DOMAIN R5.3, R5.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectionDeadline {
    /// Accept or refuse by.
    pub accept_by: DeadlineDecision,
    /// Verify and answer by (counted from `accept_by`, the latest acceptance).
    pub resolve_by: DeadlineDecision,
    /// What the record does while the objection is open.
    pub policy: ObjectionPolicy,
    /// The policy's rule.
    pub policy_rule: RuleRef,
}

impl RuleSet {
    /// Today's rules (late 2026): the three regimes, SAMR Order 45, the R4.3 list defaults and
    /// the deadline tables, as in `protocol/data/rules-builtin.json`.
    pub fn builtin() -> RuleSet {
        // The embedded table is checked by the `builtin_is_valid` test.
        RuleSet::from_json(BUILTIN_JSON).unwrap_or_default()
    }

    /// Parses and validates a JSON rule table.
    ///
    /// # Errors
    ///
    /// [`RulesError::TooLarge`] past [`MAX_RULESET_JSON_LEN`], [`RulesError::Malformed`] for bad
    /// JSON or an unknown field, or any error of [`RuleSet::validate`].
    pub fn from_json(json: &str) -> Result<RuleSet, RulesError> {
        if json.len() > MAX_RULESET_JSON_LEN {
            return Err(RulesError::TooLarge { len: json.len(), max: MAX_RULESET_JSON_LEN });
        }
        let mut de = serde_json::Deserializer::from_str(json);
        let rs = RuleSet::from_deserializer(&mut de)?;
        de.end().map_err(|e| RulesError::Malformed(e.to_string()))?;
        Ok(rs)
    }

    /// Deserializes from any serde format (a TOML or JSON value, …) and validates.
    ///
    /// # Errors
    ///
    /// [`RulesError::Malformed`] when the data does not fit, or any error of
    /// [`RuleSet::validate`].
    pub fn from_deserializer<'de, D: Deserializer<'de>>(de: D) -> Result<RuleSet, RulesError> {
        let rs = RuleSet::deserialize(de).map_err(|e| RulesError::Malformed(e.to_string()))?;
        rs.validate()?;
        Ok(rs)
    }

    /// Rejects incoherent tables: minimum above maximum, overlapping regimes (or overlapping
    /// overrides of one sector and kind), unknown severity or penalty-type names, a regime that
    /// cannot place every severity, deadlines out of range, duplicate or empty ids.
    ///
    /// # Errors
    ///
    /// The first problem found, as a [`RulesError`] naming the rule id.
    pub fn validate(&self) -> Result<(), RulesError> {
        table::validate(self)
    }

    /// The general regime that governs a record decided on `day` (see the module docs).
    pub fn regime_for(&self, day: Day) -> Option<&Regime> {
        let covers = |r: &&Regime| r.effective_from <= day && r.effective_until.is_none_or(|u| day <= u);
        self.regimes
            .iter()
            .find(covers)
            .or_else(|| self.regimes.iter().filter(|r| r.effective_from <= day).max_by_key(|r| r.effective_from))
            .or_else(|| self.regimes.iter().min_by_key(|r| r.effective_from))
    }

    /// The publicity period of a record: start, earliest repair, automatic end, and the rule.
    pub fn publicity(&self, input: &PublicityInput<'_>) -> PublicityDecision {
        let regime = self.regime_for(input.decided_on);
        let regime_id = regime.map_or("none", |r| r.id.as_str());
        if !input.kind.is_dishonesty() {
            let rule = RuleRef::new(&self.not_dishonesty.rule_id, regime_id, self.not_dishonesty.tag);
            return PublicityDecision::without_period(input.decided_on, rule);
        }
        if let Some(o) = self.override_for(input) {
            if let Some(d) = self.by_override(o, input) {
                return d;
            }
        }
        if let Some(l) = self.list_for(input) {
            let rule = RuleRef::new(&l.rule_id, &l.id, l.tag);
            let period = Period { min: Some(l.min_months), max: l.max_months, rule, blocked: None };
            return self.finish(input, &l.id, CountFrom::Decision, period, Vec::new());
        }
        match regime {
            Some(r) => self.by_regime(r, input),
            None => {
                // Only an unvalidated, regime-less table gets here: no period known.
                PublicityDecision::without_period(input.decided_on, RuleRef::new("R0.1", "none", Tag::Unverified))
            }
        }
    }

    /// Whether repair may be applied for on `repair_on`.
    ///
    /// Monotone in `repair_on`: once allowed, every later day is allowed until publicity ends.
    ///
    /// # Errors
    ///
    /// [`RepairDenied::PublicityEnded`] on or after the automatic end (checked first: nothing is
    /// left to repair), [`RepairDenied::NotRepairable`], or
    /// [`RepairDenied::MinPublicityNotElapsed`] before the minimum period.
    pub fn repairability(&self, input: &PublicityInput<'_>, repair_on: Day) -> Result<RuleRef, RepairDenied> {
        let d = self.publicity(input);
        if let Some(ended_on) = d.max_until {
            if repair_on >= ended_on {
                return Err(RepairDenied::PublicityEnded { ended_on, rule: d.rule });
            }
        }
        if !d.repairable {
            return Err(RepairDenied::NotRepairable { rule: d.repair_blocked_by.unwrap_or(d.rule) });
        }
        match d.min_until {
            Some(earliest) if repair_on < earliest => {
                Err(RepairDenied::MinPublicityNotElapsed { earliest, rule: d.rule })
            }
            _ => Ok(d.rule),
        }
    }

    /// Publication deadline of a record (双公示 R2.1/R2.2: 7 working days; the other 十公示
    /// categories per [`DeadlineMode`], default the 25th of the following month, R2.3).
    /// `None` for kinds without one.
    ///
    /// `monthly_by_day` reading of R2.3 ("monthly, before the 25th"): a decision made in month M
    /// is due by day `day` of month M+1, inclusive, moved to the next working day when that day
    /// is not one (`roll_forward`, Civil Code art. 203).
    pub fn publication_deadline(&self, kind: RecordKind, decided_on: Day, cal: &Calendar) -> Option<DeadlineDecision> {
        let p = self.publication.get(&kind)?;
        let rule = RuleRef::new(&p.rule_id, STANDING, p.tag);
        let Deadline { day, provisional } = match p.deadline {
            DeadlineMode::WorkingDays { n } => cal.add_working_days(decided_on, n),
            DeadlineMode::MonthlyByDay { day, roll_forward } => monthly(decided_on, day, roll_forward, cal),
        };
        Some(DeadlineDecision { deadline: day, provisional, rule })
    }

    /// Deadline to withdraw a published record after its decision is changed, revoked or
    /// confirmed illegal or void on `decided_on` (DOMAIN R2.7, R3.22).
    pub fn withdrawal_deadline(&self, decided_on: Day, cal: &Calendar) -> DeadlineDecision {
        working(&self.withdrawal, decided_on, cal)
    }

    /// How long a region has to apply another region's object issued on `issued_on` and publish
    /// its receipt (DOMAIN R11.4, modelled on SAMR's cross-province 10 working days, R3.21, and
    /// the 3-working-day withdrawal, R2.7). `None` for object types without an SLA.
    pub fn receipt_deadline(
        &self,
        object_type: ObjectType,
        issued_on: Day,
        cal: &Calendar,
    ) -> Option<DeadlineDecision> {
        self.receipts.get(&object_type).map(|w| working(w, issued_on, cal))
    }

    /// Deadlines of an objection filed on `filed_on` (DOMAIN R5.3 defaults) and the policy for
    /// the record meanwhile (DOMAIN R5.5).
    pub fn objection_deadline(&self, filed_on: Day, cal: &Calendar) -> ObjectionDeadline {
        let o = &self.objections;
        let accept_by = working(&o.acceptance, filed_on, cal);
        let mut resolve_by = working(&o.verification, accept_by.deadline, cal);
        resolve_by.provisional |= accept_by.provisional;
        ObjectionDeadline { accept_by, resolve_by, policy: o.policy, policy_rule: self.objection_policy().1 }
    }

    /// The objection policy (annotate or suspend, DOMAIN R5.5) and its rule.
    pub fn objection_policy(&self) -> (ObjectionPolicy, RuleRef) {
        let o = &self.objections;
        (o.policy, RuleRef::new(&o.policy_rule_id, STANDING, o.policy_tag))
    }

    fn override_for(&self, input: &PublicityInput<'_>) -> Option<&SectorOverride> {
        self.sector_overrides.iter().find(|o| {
            o.sector == input.sector
                && o.kinds.contains(&input.kind)
                && o.effective_from <= input.decided_on
                && o.effective_until.is_none_or(|u| input.decided_on <= u)
        })
    }

    fn list_for(&self, input: &PublicityInput<'_>) -> Option<&ListRule> {
        self.lists.iter().find(|l| {
            l.kinds.contains(&input.kind) && (l.sectors.is_empty() || l.sectors.iter().any(|s| s == input.sector))
        })
    }

    fn by_override(&self, o: &SectorOverride, input: &PublicityInput<'_>) -> Option<PublicityDecision> {
        let types = input.penalty_types;
        if let Some(u) = &o.unpublished_if_only {
            if !types.is_empty() && types.iter().all(|t| u.penalty_types.contains(t)) {
                let (start, start_estimated) = start_of(o.count_from, input);
                let rule = RuleRef::new(&u.rule_id, &o.id, u.tag);
                return Some(PublicityDecision {
                    start,
                    min_until: None,
                    max_until: Some(start),
                    repairable: false,
                    publishable: false,
                    counted_from: o.count_from,
                    start_estimated,
                    rule: rule.clone(),
                    repair_blocked_by: Some(rule.clone()),
                    rules: vec![rule],
                });
            }
        }
        let default = o.tiers.iter().find(|t| t.penalty_types.is_empty());
        let tier_of = |t: &String| o.tiers.iter().find(|tier| tier.penalty_types.contains(t)).or(default);
        let tier = if types.is_empty() {
            default
        } else {
            // DOMAIN R3.4: a decision with several penalty types takes the longest period.
            types
                .iter()
                .filter_map(tier_of)
                .max_by_key(|t| (t.max_months, t.early_stop.as_ref().map_or(u32::MAX, |e| e.min_months)))
        }?;
        let rule = RuleRef::new(&tier.rule_id, &o.id, tier.tag);
        let mut extra = Vec::new();
        if let Some(e) = &tier.early_stop {
            extra.push(RuleRef::new(&e.rule_id, &o.id, e.tag));
        }
        let sev = input.severity.map(Severity::as_str);
        let blocked = o
            .no_early_end
            .iter()
            .find(|n| n.matches(sev, input.sector, types))
            .map(|n| RuleRef::new(&n.rule_id, &o.id, n.tag));
        let min = tier.early_stop.as_ref().map(|e| e.min_months);
        let period = Period { min, max: tier.max_months, rule, blocked };
        Some(self.finish(input, &o.id, o.count_from, period, extra))
    }

    fn by_regime(&self, r: &Regime, input: &PublicityInput<'_>) -> PublicityDecision {
        let mut extra = vec![RuleRef::new(&r.rule_id, &r.id, r.tag)];
        let severity = match input.severity {
            Some(s) => s.as_str(),
            None => {
                let ms = &self.missing_severity;
                extra.push(RuleRef::new(&ms.rule_id, &r.id, ms.tag));
                if ms.serious_kinds.contains(&input.kind) {
                    Severity::Serious.as_str()
                } else {
                    ms.otherwise.as_str()
                }
            }
        };
        let find = |name: &str| r.periods.iter().find(|p| p.severity == name);
        let period = find(severity).or_else(|| r.severity_fallback.get(severity).and_then(|s| find(s)));
        let sev = Some(severity);
        let blocked = r
            .no_early_end
            .iter()
            .find(|n| n.matches(sev, input.sector, input.penalty_types))
            .map(|n| RuleRef::new(&n.rule_id, &r.id, n.tag));
        match period {
            Some(p) => {
                let rule = RuleRef::new(&p.rule_id, &r.id, p.tag);
                let period = Period { min: Some(p.min_months), max: p.max_months, rule, blocked };
                self.finish(input, &r.id, r.count_from, period, extra)
            }
            None => {
                // Unvalidated table without a period for this severity.
                let rule = extra.remove(0);
                let (start, start_estimated) = start_of(r.count_from, input);
                let mut d = PublicityDecision::without_period(start, rule);
                d.rules.extend(extra);
                PublicityDecision { counted_from: r.count_from, start_estimated, ..d }
            }
        }
    }

    fn finish(
        &self,
        input: &PublicityInput<'_>,
        regime: &str,
        counted_from: CountFrom,
        period: Period,
        extra: Vec<RuleRef>,
    ) -> PublicityDecision {
        let (start, start_estimated) = start_of(counted_from, input);
        let max_until = add_months(start, period.max);
        let mut rules = vec![period.rule.clone()];
        rules.extend(extra);
        let mut blocked = period.blocked;
        if input.not_repairable {
            rules.extend(blocked.take());
            blocked = Some(RuleRef::new(&self.not_repairable.rule_id, regime, self.not_repairable.tag));
        }
        if period.min.is_none() && blocked.is_none() {
            blocked = Some(period.rule.clone());
        }
        if let Some(b) = &blocked {
            if !rules.contains(b) {
                rules.push(b.clone());
            }
        }
        let repairable = blocked.is_none();
        let min_until = match period.min {
            Some(min) if repairable => Some(add_months(start, min).min(max_until)),
            _ => None,
        };
        PublicityDecision {
            start,
            min_until,
            max_until: Some(max_until),
            repairable,
            publishable: true,
            counted_from,
            start_estimated,
            rule: period.rule,
            repair_blocked_by: blocked,
            rules,
        }
    }
}

/// A resolved period: months, the rule that set it, what blocks early repair.
struct Period {
    min: Option<u32>,
    max: u32,
    rule: RuleRef,
    blocked: Option<RuleRef>,
}

impl NoEarlyEnd {
    fn matches(&self, severity: Option<&str>, sector: &str, types: &[String]) -> bool {
        let sev_ok = self.severities.is_empty() || severity.is_some_and(|s| self.severities.iter().any(|x| x == s));
        let sector_ok = self.sectors.is_empty() || self.sectors.iter().any(|s| s == sector);
        sev_ok && sector_ok && types.iter().any(|t| self.penalty_types.contains(t))
    }
}

fn start_of(count_from: CountFrom, input: &PublicityInput<'_>) -> (Day, bool) {
    match (count_from, input.published_on) {
        (CountFrom::Decision, _) => (input.decided_on, false),
        (CountFrom::Publication, Some(p)) => (p, false),
        (CountFrom::Publication, None) => (input.decided_on, true),
    }
}

fn working(w: &WorkingDayRule, from: Day, cal: &Calendar) -> DeadlineDecision {
    let Deadline { day, provisional } = cal.add_working_days(from, w.working_days);
    DeadlineDecision { deadline: day, provisional, rule: RuleRef::new(&w.rule_id, STANDING, w.tag) }
}

/// Day `day` (clamped) of the month after `decided_on`, optionally rolled to a working day.
fn monthly(decided_on: Day, day: u8, roll_forward: bool, cal: &Calendar) -> Deadline {
    let next_month = add_months(decided_on.last_of_month(), 1);
    let target = Day::from_ymd(next_month.year(), next_month.month(), day.clamp(1, next_month.last_of_month().day()))
        .unwrap_or(next_month);
    if !roll_forward {
        return Deadline { day: target, provisional: false };
    }
    let mut d = target;
    // Holiday runs are at most ~10 days; the bound only guards against pathological tables.
    for _ in 0..60 {
        if cal.is_working_day(d) || d.year() >= 9999 {
            break;
        }
        d = d.succ();
    }
    Deadline { day: d, provisional: !cal.is_published(d.year()) }
}

/// `start + months` (Civil Code art. 202 clamp, like [`Day::add_months`]) saturating at
/// 9999-12-31 instead of panicking.
fn add_months(start: Day, months: u32) -> Day {
    let total = i64::from(start.year()) * 12 + i64::from(start.month()) - 1 + i64::from(months);
    let last = Day::from_ymd(9999, 12, 31).unwrap_or(start);
    let Ok(year) = i32::try_from(total.div_euclid(12)) else {
        return last;
    };
    let month = (total.rem_euclid(12) + 1) as u8;
    let Some(first) = Day::from_ymd(year, month, 1) else {
        return last;
    };
    Day::from_ymd(year, month, start.day().min(first.last_of_month().day())).unwrap_or(last)
}

#[cfg(test)]
mod tests;
