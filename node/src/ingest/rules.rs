//! Domain rules checked after authorization (DESIGN §2, DOMAIN §3–§5): dates not after the
//! signing day, valid USCC, repairability, one correction/withdrawal/repair per record,
//! corrections keep kind and subject, resolutions match their objection, measures name the
//! record's subject. Origin-only actions are enforced by `trust::authorize`.

use credfed_protocol::objects::{Body, RecordContent, VerifiedObject};
use credfed_protocol::{Day, ObjectType};

use super::{ErrorClass, IngestError};
use crate::state::query::{self, Loaded};
use crate::store::Store;
use credfed_protocol::rules::{RepairDenied, RuleSet};
use credfed_protocol::status;
use credfed_protocol::status::RepairError;

fn rule(code: &str, msg: impl Into<String>, field: &str) -> IngestError {
    IngestError::new(ErrorClass::Rule, code, msg).field(field)
}

fn conflict(code: &str, msg: impl Into<String>) -> IngestError {
    IngestError::new(ErrorClass::Conflict, code, msg)
}

fn not_after(what: &str, field: &str, day: Day, signed: Day) -> Result<(), IngestError> {
    if day > signed {
        return Err(rule("date_after_signing", format!("{what} {day} is after the signing day {signed}"), field));
    }
    Ok(())
}

/// Checks a record's content.
///
/// # Errors
/// `date_after_signing`. (A USCC is checked when the body is decoded: a `Uscc` cannot exist
/// invalid.)
pub fn check_content(c: &RecordContent, signed: Day, prefix: &str) -> Result<(), IngestError> {
    not_after("decided_on", &format!("{prefix}decided_on"), c.decided_on, signed)
}

fn has(acting: &[Loaded], t: ObjectType) -> bool {
    acting.iter().any(|l| l.stored.meta.object_type == t)
}

/// Runs every domain rule for `obj`.
///
/// # Errors
/// [`IngestError`] with a stable code.
pub fn check(obj: &VerifiedObject, store: &dyn Store, rules: &RuleSet) -> Result<(), IngestError> {
    let signed = Day::from_unix_china(obj.body.signed_at());
    let target = match obj.body.target() {
        Some(t) => Some(query::load(store, &t)?.ok_or_else(|| {
            IngestError::new(ErrorClass::NotFound, "target_unknown", format!("target {t} is not known"))
        })?),
        None => None,
    };
    let acting = match &target {
        Some(t) => query::acting_on(store, &t.stored.id)?,
        None => Vec::new(),
    };
    let target_content = target.as_ref().and_then(|t| t.body.record_content());
    match &obj.body {
        Body::Record(r) => check_content(&r.record, signed, "")?,
        Body::Correction(c) => {
            check_content(&c.record, signed, "record.")?;
            not_after("corrected_on", "corrected_on", c.corrected_on, signed)?;
            let old = target_content.expect("authorize checked the target is record-like");
            if old.kind != c.record.kind {
                return Err(rule(
                    "correction_changes_kind",
                    format!("a correction keeps the kind {}", old.kind),
                    "record.kind",
                ));
            }
            if old.subject != c.record.subject {
                return Err(rule("correction_changes_subject", "a correction keeps the subject", "record.subject"));
            }
            if has(&acting, ObjectType::Correction) {
                return Err(conflict(
                    "already_superseded",
                    "the record was already corrected; correct the newest version",
                ));
            }
        }
        Body::Repair(r) => {
            not_after("repaired_on", "repaired_on", r.repaired_on, signed)?;
            if has(&acting, ObjectType::Repair) {
                return Err(conflict("already_repaired", "the record was already repaired"));
            }
            let t = target.as_ref().expect("target loaded");
            let content = target_content.expect("record-like");
            let rel = query::related(&acting);
            status::check_repair(t.stored.id, &t.stored.meta.origin, content, &rel, r.repaired_on, rules).map_err(
                |d| {
                    let mut e = rule(d.code(), d.to_string(), "repaired_on");
                    if let RepairError::Rule(RepairDenied::MinPublicityNotElapsed { earliest, .. }) = d {
                        e.earliest = Some(earliest);
                    }
                    e
                },
            )?;
        }
        Body::Withdrawal(w) => {
            not_after("withdrawn_on", "withdrawn_on", w.withdrawn_on, signed)?;
            if has(&acting, ObjectType::Withdrawal) {
                return Err(conflict("already_withdrawn", "the record was already withdrawn"));
            }
        }
        Body::Objection(o) => not_after("filed_on", "filed_on", o.filed_on, signed)?,
        Body::ObjectionResolution(r) => {
            not_after("resolved_on", "resolved_on", r.resolved_on, signed)?;
            let objection = query::load(store, &r.objection)?.ok_or_else(|| {
                IngestError::new(
                    ErrorClass::NotFound,
                    "objection_unknown",
                    format!("objection {} is not known", r.objection),
                )
            })?;
            match &objection.body {
                Body::Objection(o) if o.target == r.target => {}
                _ => return Err(rule("objection_mismatch", "the objection does not contest this record", "objection")),
            }
            let resolved =
                acting.iter().any(|l| matches!(&l.body, Body::ObjectionResolution(x) if x.objection == r.objection));
            if resolved {
                return Err(conflict("already_resolved", "the objection was already resolved"));
            }
        }
        Body::MeasureApplied(m) => {
            if let Some(c) = target_content {
                if c.subject != m.subject {
                    return Err(rule(
                        "subject_mismatch",
                        "the measure's subject is not the record's subject",
                        "subject",
                    ));
                }
            }
        }
        Body::Delegation(_) | Body::Revocation(_) | Body::BenefitScheme(_) | Body::Receipt(_) => {}
    }
    Ok(())
}
