//! Derived status of a record (DESIGN §5, RELIABILITY F7): a **pure function of the set** of
//! valid objects known about it and a date. Arrival order and duplicates never matter: every
//! choice below is a minimum over dates with ties broken by object id.
//!
//! Precedence when several apply at `as_of`: `withdrawn` > `superseded` > `repaired` >
//! `expired` > `under_objection` > `active`.

use serde::{Deserialize, Serialize};

use crate::envelope::ObjectId;
use crate::kind::ObjectionOutcome;
use crate::national::SourceStatus;
use crate::objects::{Body, RecordContent};
use crate::rules::{ObjectionPolicy, PublicityDecision, PublicityInput, RepairDenied, RuleRef, RuleSet};
use crate::{Day, ObjectType, RegionId};

/// A record's derived status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// In its publicity period.
    Active,
    /// An objection is open (异议中, DOMAIN R5.5).
    UnderObjection,
    /// Ended early by credit repair (信用修复).
    Repaired,
    /// Withdrawn by its origin (撤销, DOMAIN R2.7).
    Withdrawn,
    /// Replaced by a correction.
    Superseded,
    /// Publicity (or validity) ended.
    Expired,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::UnderObjection => "under_objection",
            Status::Repaired => "repaired",
            Status::Withdrawn => "withdrawn",
            Status::Superseded => "superseded",
            Status::Expired => "expired",
        }
    }

    /// Whether the record still has effect (is used for punishment and eligibility).
    pub fn in_effect(self) -> bool {
        matches!(self, Status::Active | Status::UnderObjection)
    }
}

/// An object that refers to the record (repair, withdrawal, correction, objection, resolution).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    /// Its id.
    pub id: ObjectId,
    /// Its body.
    pub body: Body,
}

/// One event in a record's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// Object id.
    pub id: ObjectId,
    /// What it is.
    pub object_type: ObjectType,
    /// Region that issued it.
    pub region: RegionId,
    /// Its effective date.
    pub on: Day,
    /// Short detail (e.g. an objection outcome).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Status with its explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The status at `as_of`.
    pub status: Status,
    /// The date the status began (None for `active`: see `publicity.start`).
    pub since: Option<Day>,
    /// The rule behind the status.
    pub rule: RuleRef,
    /// The record's publicity period under the rules.
    pub publicity: PublicityDecision,
    /// Whether query users may see the body (publicity running, record published, not suspended).
    pub body_visible: bool,
    /// Related events effective at `as_of`, by date then id.
    pub history: Vec<HistoryItem>,
    /// Objections open at `as_of`.
    pub open_objections: Vec<ObjectId>,
    /// Corrections that superseded the record.
    pub superseded_by: Vec<ObjectId>,
    /// The end of publicity: the rule table's, the department's (CF_GSJZQ), and which governs.
    pub publicity_end: PublicityEnd,
}

/// Whose end of publicity governs a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndSource {
    /// The rule table's `max_until`.
    Rules,
    /// The department's 公示截止期 (`national.publicity_until`), being later.
    Department,
}

/// The end of a record's publicity (PROTOCOL §9): the later of the rule table's end and the
/// department's own, so a record is never taken down before its issuing department's date nor
/// before the rules' (the stricter end for the subject governs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicityEnd {
    /// First day no longer public under the rule table (`publicity.max_until`); `None`: no end.
    pub rule_until: Option<Day>,
    /// The department's last day of publicity (CF_GSJZQ, inclusive), when the record gives one.
    pub department_until: Option<Day>,
    /// Which governs.
    pub governs: EndSource,
    /// First day no longer public under the governing end; `None`: no end.
    pub ends_on: Option<Day>,
}

/// The governing end of publicity of a record with `content` whose rule decision is `publicity`.
///
/// The department's date counts only for a published record with a rule period: it never makes
/// an unpublishable record (e.g. a warning only, DOMAIN R3.20) public, and never ends a record the
/// rules keep public without end.
pub fn publicity_end(content: &RecordContent, publicity: &PublicityDecision) -> PublicityEnd {
    let department_until = content.national.as_ref().and_then(|n| n.publicity_until);
    let rule_until = publicity.max_until;
    let later = match (rule_until, department_until) {
        (Some(r), Some(d)) if publicity.publishable && d.succ() > r => Some(d.succ()),
        _ => None,
    };
    PublicityEnd {
        rule_until,
        department_until,
        governs: if later.is_some() { EndSource::Department } else { EndSource::Rules },
        ends_on: later.or(rule_until),
    }
}

/// Whether the record is a licence the source reports invalid (XK_ZT `2`).
fn invalid_at_source(content: &RecordContent) -> bool {
    let status = content.national.as_ref().and_then(|n| n.licence.as_ref()).and_then(|l| l.source_status);
    status == Some(SourceStatus::Invalid)
}

/// The rule-table input for a record's content.
pub fn publicity_input(content: &RecordContent) -> PublicityInput<'_> {
    PublicityInput {
        kind: content.kind,
        severity: content.severity,
        sector: &content.sector,
        decided_on: content.decided_on,
        published_on: content.published_on,
        penalty_types: &content.penalty_types,
        not_repairable: content.not_repairable,
    }
}

fn rule(rule_id: &str, regime: &str, tag: &str) -> RuleRef {
    RuleRef { rule_id: rule_id.into(), regime: regime.into(), tag: tag.into() }
}

/// Effective date of an acting object, and whether only the origin may issue it.
fn effective(body: &Body) -> Option<(Day, bool)> {
    match body {
        Body::Repair(b) => Some((b.repaired_on, true)),
        Body::Withdrawal(b) => Some((b.withdrawn_on, true)),
        Body::Correction(b) => Some((b.corrected_on, true)),
        Body::ObjectionResolution(b) => Some((b.resolved_on, true)),
        Body::Objection(b) => Some((b.filed_on, false)),
        _ => None,
    }
}

/// The first day a record is `expired` by time alone — its governing end of publicity or the
/// day after its validity (`valid_until`), whichever comes first; `None` when neither ends it.
/// Repairs, withdrawals and corrections end it sooner, as their own objects.
fn first_day_expired(content: &RecordContent, end: &PublicityEnd) -> Option<Day> {
    match (end.ends_on, content.valid_until) {
        (Some(m), Some(v)) => Some(m.min(v.succ())),
        (m, v) => m.or(v.map(Day::succ)),
    }
}

/// [`first_day_expired`] of a record under `rules`: the day its status turns `expired` unless
/// something acts on it first (what a node sweeps for to tell platforms, `GET /v1/changes`).
pub fn expires_on(content: &RecordContent, rules: &RuleSet) -> Option<Day> {
    if invalid_at_source(content) {
        return None;
    }
    let publicity = rules.publicity(&publicity_input(content));
    first_day_expired(content, &publicity_end(content, &publicity))
}

/// Derives the status of a record of `origin` with `content` at `as_of`, from the `related`
/// objects (in any order, duplicates allowed). Objects that do not target `record_id`, and
/// origin-only actions from other regions, are ignored. `None` when `as_of` is before the
/// decision (the record did not exist yet).
pub fn derive(
    record_id: ObjectId,
    origin: &RegionId,
    content: &RecordContent,
    related: &[Related],
    as_of: Day,
    rules: &RuleSet,
) -> Option<StatusReport> {
    if as_of < content.decided_on {
        return None;
    }
    let publicity = rules.publicity(&publicity_input(content));
    let mut events: Vec<(Day, ObjectId, &Body)> = related
        .iter()
        .filter(|r| r.body.target() == Some(record_id))
        .filter_map(|r| {
            let (on, origin_only) = effective(&r.body)?;
            let ok = on <= as_of && (!origin_only || r.body.region() == origin);
            ok.then_some((on, r.id, &r.body))
        })
        .collect();
    events.sort_by_key(|(on, id, _)| (*on, *id));
    events.dedup_by_key(|(_, id, _)| *id);

    let first = |t: ObjectType| events.iter().find(|(_, _, b)| b.object_type() == t);
    let superseded_by: Vec<ObjectId> =
        events.iter().filter(|(_, _, b)| b.object_type() == ObjectType::Correction).map(|(_, id, _)| *id).collect();
    let resolved: Vec<ObjectId> = events
        .iter()
        .filter_map(|(_, _, b)| match b {
            Body::ObjectionResolution(r) => Some(r.objection),
            _ => None,
        })
        .collect();
    let open_objections: Vec<ObjectId> = events
        .iter()
        .filter(|(_, id, b)| b.object_type() == ObjectType::Objection && !resolved.contains(id))
        .map(|(_, id, _)| *id)
        .collect();
    let (policy, policy_rule) = rules.objection_policy();
    let end = publicity_end(content, &publicity);
    let ended_on = first_day_expired(content, &end);

    let (status, since, status_rule) = if let Some((on, _, _)) = first(ObjectType::Withdrawal) {
        (Status::Withdrawn, Some(*on), rule("R2.7", "standing", "V"))
    } else if let Some((on, _, _)) = first(ObjectType::Correction) {
        (Status::Superseded, Some(*on), rule("R3.22", "standing", "V"))
    } else if let Some((on, _, _)) = first(ObjectType::Repair) {
        (Status::Repaired, Some(*on), publicity.rule.clone())
    } else if invalid_at_source(content) {
        // XK_ZT = 2: revoked or expired at the source, which does not say since when.
        (Status::Expired, Some(content.decided_on), rule("source_status", "record", "V"))
    } else if let Some(on) = ended_on.filter(|e| *e <= as_of) {
        let r = match end.governs {
            _ if end.ends_on != Some(on) => rule("valid_until", "record", "V"),
            EndSource::Department => rule("publicity_until", "record", "V"),
            EndSource::Rules => publicity.rule.clone(),
        };
        (Status::Expired, Some(on), r)
    } else if let Some(first_open) = open_objections.first() {
        let on = events.iter().find(|(_, id, _)| id == first_open).map(|(on, _, _)| *on);
        (Status::UnderObjection, on, policy_rule)
    } else {
        (Status::Active, None, publicity.rule.clone())
    };

    let body_visible = publicity.publishable
        && match status {
            Status::Active => true,
            Status::UnderObjection => policy == ObjectionPolicy::AnnotateOnly,
            _ => false,
        };
    let history = events
        .iter()
        .map(|(on, id, b)| HistoryItem {
            id: *id,
            object_type: b.object_type(),
            region: b.region().clone(),
            on: *on,
            detail: match b {
                Body::ObjectionResolution(r) => Some(outcome_name(r.outcome).into()),
                Body::Objection(o) => Some(o.ground.as_str().into()),
                _ => None,
            },
        })
        .collect();
    Some(StatusReport {
        status,
        since,
        rule: status_rule,
        publicity,
        body_visible,
        history,
        open_objections,
        superseded_by,
        publicity_end: end,
    })
}

fn outcome_name(o: ObjectionOutcome) -> &'static str {
    o.as_str()
}

/// Why a repair may not be issued for a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepairError {
    /// A rule of the table refuses it (not repairable, too early, publicity over).
    #[error(transparent)]
    Rule(#[from] RepairDenied),
    /// The record is no longer in effect on the repair date.
    #[error("the record is already {} on the repair date", .status.as_str())]
    State {
        /// The status on the repair date.
        status: Status,
    },
    /// The record did not exist yet on the repair date.
    #[error("the repair date is before the record's decision date")]
    BeforeDecision,
}

impl RepairError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            RepairError::Rule(r) => r.code(),
            RepairError::State { status: Status::Repaired } => "already_repaired",
            RepairError::State { status: Status::Withdrawn } => "record_withdrawn",
            RepairError::State { status: Status::Superseded } => "record_superseded",
            RepairError::State { .. } => "publicity_ended",
            RepairError::BeforeDecision => "repair_before_decision",
        }
    }
}

/// Whether the origin may issue a repair of the record dated `repair_on` (DOMAIN R3.10–R3.12,
/// R3.24): the rule table must allow it and the record must still be in effect on that date.
///
/// # Errors
/// [`RepairError`] with the rule or state that refuses it.
pub fn check_repair(
    record_id: ObjectId,
    origin: &RegionId,
    content: &RecordContent,
    related: &[Related],
    repair_on: Day,
    rules: &RuleSet,
) -> Result<RuleRef, RepairError> {
    let report = derive(record_id, origin, content, related, repair_on, rules).ok_or(RepairError::BeforeDecision)?;
    let input = publicity_input(content);
    let allowed = match rules.repairability(&input, repair_on) {
        // The department's later end governs: still public, so still repairable if the rules
        // allow repair at all (its minimum period lies before the rules' end).
        Err(RepairDenied::PublicityEnded { .. })
            if report.publicity_end.ends_on.is_some_and(|e| repair_on < e)
                && report.publicity_end.governs == EndSource::Department =>
        {
            let d = &report.publicity;
            if !d.repairable {
                let rule = d.repair_blocked_by.clone().unwrap_or_else(|| d.rule.clone());
                return Err(RepairError::Rule(RepairDenied::NotRepairable { rule }));
            }
            d.rule.clone()
        }
        Err(RepairDenied::PublicityEnded { ended_on, .. }) if report.publicity_end.governs == EndSource::Department => {
            let ended_on = report.publicity_end.ends_on.unwrap_or(ended_on);
            return Err(RepairError::Rule(RepairDenied::PublicityEnded {
                ended_on,
                rule: rule("publicity_until", "record", "V"),
            }));
        }
        other => other?,
    };
    if !report.status.in_effect() {
        return Err(RepairError::State { status: report.status });
    }
    Ok(allowed)
}
