//! 信易+ eligibility (DOMAIN R7.5, R11.4): evaluate a benefit scheme for a subject over the
//! records of the regions the scheme recognises, as of a date, explaining every disqualifying
//! record and rule.

use serde::{Deserialize, Serialize};

use crate::envelope::ObjectId;
use crate::objects::{BenefitSchemeBody, RecordContent, Subject};
use crate::rules::ObjectionPolicy;
use crate::status::{Status, StatusReport};
use crate::{Day, RecordKind, RegionId};

/// One record as the evaluator sees it.
#[derive(Clone, Copy, Debug)]
pub struct EvalRecord<'a> {
    /// Record id.
    pub id: ObjectId,
    /// Origin region.
    pub region: &'a RegionId,
    /// Content.
    pub content: &'a RecordContent,
    /// Its status at the evaluation date.
    pub status: &'a StatusReport,
}

/// Why a subject is (not) eligible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Rule code: `scheme_not_valid`, `disqualifying_record`, `grade_below_minimum`, `no_grade`,
    /// `grade_not_comparable`.
    pub rule: String,
    /// The record concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<ObjectId>,
    /// Its region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionId>,
    /// Explanation, naming the DOMAIN rule and regime behind the record's status.
    pub detail: String,
}

/// The evaluation result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligibility {
    /// Eligible or not.
    pub eligible: bool,
    /// Scheme code.
    pub scheme: String,
    /// Evaluation date.
    pub as_of: Day,
    /// Every reason against (empty when eligible).
    pub reasons: Vec<Reason>,
}

/// Known grade scales, best first (DOMAIN R7.2, R7.3). A grade is compared within the first
/// scale containing both grades.
const SCALES: &[&[&str]] =
    &[&["A", "B", "M", "C", "D"], &["优", "良", "中", "差"], &["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"]];

/// `Some(true)` when `grade` is at least `min`; `None` when no scale holds both.
fn grade_at_least(grade: &str, min: &str) -> Option<bool> {
    SCALES.iter().find_map(|s| {
        let g = s.iter().position(|x| *x == grade)?;
        let m = s.iter().position(|x| *x == min)?;
        Some(g <= m)
    })
}

/// Evaluates `scheme` for `subject` over `records` (any regions; only recognised ones count).
pub fn evaluate(
    scheme: &BenefitSchemeBody,
    subject: &Subject,
    records: &[EvalRecord<'_>],
    as_of: Day,
    objection_policy: ObjectionPolicy,
) -> Eligibility {
    let mut reasons = Vec::new();
    if as_of < scheme.valid_from || as_of > scheme.valid_until {
        reasons.push(Reason {
            rule: "scheme_not_valid".into(),
            record: None,
            region: None,
            detail: format!("scheme {} is valid {} to {}", scheme.code, scheme.valid_from, scheme.valid_until),
        });
    }
    let mut relevant: Vec<&EvalRecord<'_>> = records
        .iter()
        .filter(|r| &r.content.subject == subject && scheme.recognised_regions.contains(r.region))
        .filter(|r| match r.status.status {
            Status::Active => true,
            Status::UnderObjection => objection_policy == ObjectionPolicy::AnnotateOnly,
            _ => false,
        })
        .collect();
    relevant.sort_by_key(|r| r.id);
    for r in &relevant {
        let hit = scheme.disqualifying.iter().find(|d| {
            d.kind == r.content.kind && d.severity.is_none_or(|min| r.content.severity.is_some_and(|s| s >= min))
        });
        if let Some(d) = hit {
            let sev = r.content.severity.map(|s| format!(" ({s})")).unwrap_or_default();
            let until = r.status.publicity_end.ends_on.map(|m| format!(", public until {m}")).unwrap_or_default();
            reasons.push(Reason {
                rule: "disqualifying_record".into(),
                record: Some(r.id),
                region: Some(r.region.clone()),
                detail: format!(
                    "{}{sev} is {}{until} (rule {} regime {}); scheme disqualifies {}{}",
                    r.content.kind,
                    r.status.status.as_str(),
                    r.status.rule.rule_id,
                    r.status.rule.regime,
                    d.kind,
                    d.severity.map(|s| format!(" of severity {s} or worse")).unwrap_or_default()
                ),
            });
        }
    }
    if let Some(min) = &scheme.min_grade {
        let grades: Vec<&&EvalRecord<'_>> =
            relevant.iter().filter(|r| r.content.kind == RecordKind::CreditGrade).collect();
        let verdicts: Vec<(Option<bool>, &&EvalRecord<'_>)> =
            grades.iter().map(|r| (grade_at_least(r.content.grade.as_deref().unwrap_or(""), min), *r)).collect();
        if !verdicts.iter().any(|(ok, _)| *ok == Some(true)) {
            if verdicts.is_empty() {
                reasons.push(Reason {
                    rule: "no_grade".into(),
                    record: None,
                    region: None,
                    detail: format!(
                        "scheme requires grade {min} or better; no credit grade in effect in a recognised region"
                    ),
                });
            }
            for (ok, r) in verdicts {
                let g = r.content.grade.as_deref().unwrap_or("");
                reasons.push(Reason {
                    rule: if ok.is_none() { "grade_not_comparable" } else { "grade_below_minimum" }.into(),
                    record: Some(r.id),
                    region: Some(r.region.clone()),
                    detail: format!(
                        "grade {g} ({}) against required {min}",
                        r.content.grade_scheme.as_deref().unwrap_or("?")
                    ),
                });
            }
        }
    }
    Eligibility { eligible: reasons.is_empty(), scheme: scheme.code.clone(), as_of, reasons }
}

#[cfg(test)]
mod tests {
    use super::grade_at_least;

    #[test]
    fn grade_scales() {
        assert_eq!(grade_at_least("A", "B"), Some(true));
        assert_eq!(grade_at_least("M", "B"), Some(false));
        assert_eq!(grade_at_least("良", "良"), Some(true));
        assert_eq!(grade_at_least("AA", "A"), Some(true));
        assert_eq!(grade_at_least("X", "A"), None);
    }
}
