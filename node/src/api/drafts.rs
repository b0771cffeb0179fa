//! JSON drafts city platforms post (DESIGN §7). Unknown fields are rejected (400); rule
//! violations (invalid USCC, per-kind field rules) are 422 with the field named. The node adds
//! region, nonce and signing time, and signs with the authority key whose scope covers the
//! object.

use credfed_protocol::envelope::ObjectId;
use credfed_protocol::kind::{ObjectionGround, ObjectionOutcome};
use credfed_protocol::objects::{Disqualifier, RecordContent, Subject};
use credfed_protocol::uscc::Uscc;
use credfed_protocol::{Classification, Day, RecordKind, RegionId, Severity};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::error::ApiError;
use crate::state::State;
use credfed_protocol::person::{PersonDigest, ResidentId};

/// Parses a JSON body, naming the failing field path on error (400).
///
/// # Errors
/// 400 `malformed_json` (syntax) or `invalid_request` (shape), with `field`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let code = if inner.is_syntax() || inner.is_eof() { "malformed_json" } else { "invalid_request" };
        let mut a = ApiError::bad_request(code, inner.to_string());
        if path != "." && !path.is_empty() {
            a = a.field(path);
        }
        a
    })
}

/// How a draft names its subject.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectDraft {
    /// A legal entity's USCC.
    #[serde(default)]
    pub uscc: Option<String>,
    /// A natural person's resident ID (turned into the keyed digest; never stored).
    #[serde(default)]
    pub resident_id: Option<String>,
}

impl SubjectDraft {
    /// The protocol subject.
    ///
    /// # Errors
    /// 422 `invalid_uscc` (field `<prefix>subject.uscc`), `invalid_subject`, or
    /// `person_secret_missing`.
    pub fn resolve(&self, state: &State, prefix: &str) -> Result<Subject, ApiError> {
        match (&self.uscc, &self.resident_id) {
            (Some(u), None) => {
                let u: Uscc = u.parse().map_err(|e: credfed_protocol::uscc::UsccError| {
                    ApiError::unprocessable(e.code(), format!("invalid USCC: {e}"))
                        .field(format!("{prefix}subject.uscc"))
                })?;
                Ok(Subject::Uscc(u))
            }
            (None, Some(id)) => {
                let secret = state.person_secret.as_ref().ok_or_else(|| {
                    ApiError::unprocessable("person_secret_missing", "this node has no person-digest secret configured")
                })?;
                let rid: ResidentId = id.parse().map_err(|e: credfed_protocol::person::ResidentIdError| {
                    ApiError::unprocessable(e.code(), e.to_string()).field(format!("{prefix}subject.resident_id"))
                })?;
                Ok(Subject::PersonDigest(PersonDigest::compute(secret, &rid)))
            }
            _ => Err(ApiError::unprocessable("invalid_subject", "give exactly one of uscc or resident_id")
                .field(format!("{prefix}subject"))),
        }
    }
}

/// A record draft.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RecordDraft {
    pub kind: RecordKind,
    pub subject: SubjectDraft,
    #[serde(default)]
    pub subject_name: Option<String>,
    pub authority: String,
    pub decision_no: String,
    pub legal_basis: String,
    #[serde(default)]
    pub facts: Option<String>,
    #[serde(default)]
    pub severity: Option<Severity>,
    pub sector: String,
    pub decided_on: Day,
    pub classification: Classification,
    #[serde(default)]
    pub published_on: Option<Day>,
    #[serde(default)]
    pub penalty_types: Vec<String>,
    #[serde(default)]
    pub not_repairable: bool,
    #[serde(default)]
    pub valid_until: Option<Day>,
    #[serde(default)]
    pub grade: Option<String>,
    #[serde(default)]
    pub grade_scheme: Option<String>,
    #[serde(default)]
    pub repair_notice: Option<String>,
}

impl RecordDraft {
    /// The validated record content.
    ///
    /// # Errors
    /// 422 with the field named.
    pub fn content(self, state: &State, prefix: &str) -> Result<RecordContent, ApiError> {
        let subject = self.subject.resolve(state, prefix)?;
        let c = RecordContent {
            kind: self.kind,
            subject,
            subject_name: self.subject_name,
            authority: self.authority,
            decision_no: self.decision_no,
            legal_basis: self.legal_basis,
            facts: self.facts,
            severity: self.severity,
            sector: self.sector,
            decided_on: self.decided_on,
            classification: self.classification,
            published_on: self.published_on,
            penalty_types: self.penalty_types,
            not_repairable: self.not_repairable,
            valid_until: self.valid_until,
            grade: self.grade,
            grade_scheme: self.grade_scheme,
            repair_notice: self.repair_notice,
        };
        c.validate()
            .map_err(|e| ApiError::unprocessable(e.code, e.to_string()).field(format!("{prefix}{}", e.field)))?;
        Ok(c)
    }
}

/// `POST /v1/records/{id}/repair`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct RepairDraft {
    pub repaired_on: Day,
    pub basis: String,
}

/// `POST /v1/records/{id}/withdrawal`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct WithdrawalDraft {
    pub withdrawn_on: Day,
    pub reason: String,
}

/// `POST /v1/records/{id}/correction`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CorrectionDraft {
    pub corrected_on: Day,
    pub reason: String,
    pub record: RecordDraft,
}

/// `POST /v1/records/{id}/objections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ObjectionDraft {
    pub ground: ObjectionGround,
    pub statement: String,
    pub filed_on: Day,
}

/// `POST /v1/objections/{id}/resolution`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ResolutionDraft {
    pub outcome: ObjectionOutcome,
    pub reason: String,
    pub resolved_on: Day,
}

/// `POST /v1/schemes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct SchemeDraft {
    pub code: String,
    pub name: String,
    pub benefit: String,
    pub recognised_regions: Vec<RegionId>,
    #[serde(default)]
    pub disqualifying: Vec<Disqualifier>,
    #[serde(default)]
    pub min_grade: Option<String>,
    pub valid_from: Day,
    pub valid_until: Day,
}

/// `POST /v1/measures`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct MeasureDraft {
    pub target: ObjectId,
    pub subject: SubjectDraft,
    pub measure: String,
    pub applied_on: Day,
}
