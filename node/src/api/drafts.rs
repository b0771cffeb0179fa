//! JSON drafts city platforms post (DESIGN §7). Unknown fields are rejected (400); rule
//! violations (invalid USCC, per-kind field rules) are 422 with the field named. The node adds
//! region, nonce and signing time, and signs with the authority key whose scope covers the
//! object.

use credfed_protocol::envelope::ObjectId;
use credfed_protocol::kind::{ObjectionGround, ObjectionOutcome};
use credfed_protocol::national::{
    self, LegalRepresentative, LicenceCategory, LicenceFields, NationalFields, PenaltyCategory, PenaltyFields,
    RegistrationNo, SourceStatus, SubjectCategory,
};
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
    serde_path_to_error::deserialize(de).map_err(path_error)
}

/// [`parse`] for a value already parsed as JSON (an item of a batch).
///
/// # Errors
/// 400 `invalid_request` with `field`.
pub fn parse_value<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(v).map_err(path_error)
}

fn path_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let code = if inner.is_syntax() || inner.is_eof() { "malformed_json" } else { "invalid_request" };
    let mut a = ApiError::bad_request(code, inner.to_string());
    if path != "." && !path.is_empty() {
        a = a.field(path);
    }
    a
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
    /// A 个体工商户's registration number, when it has no USCC (needs the national block).
    #[serde(default)]
    pub registration_no: Option<String>,
}

fn uscc_at(code: &str, field: String) -> Result<Uscc, ApiError> {
    code.parse().map_err(|e: credfed_protocol::uscc::UsccError| {
        ApiError::unprocessable(e.code(), format!("invalid USCC: {e}")).field(field)
    })
}

fn person_digest(state: &State, id: &str, field: String) -> Result<PersonDigest, ApiError> {
    let secret = state.person_secret.as_ref().ok_or_else(|| {
        ApiError::unprocessable("person_secret_missing", "this node has no person-digest secret configured")
    })?;
    let rid: ResidentId = id.parse().map_err(|e: credfed_protocol::person::ResidentIdError| {
        ApiError::unprocessable(e.code(), e.to_string()).field(field)
    })?;
    Ok(PersonDigest::compute(secret, &rid))
}

impl SubjectDraft {
    /// The protocol subject.
    ///
    /// # Errors
    /// 422 `invalid_uscc` (field `<prefix>subject.uscc`), `invalid_subject`, or
    /// `person_secret_missing`.
    pub fn resolve(&self, state: &State, prefix: &str) -> Result<Subject, ApiError> {
        match (&self.uscc, &self.resident_id, &self.registration_no) {
            (Some(u), None, None) => Ok(Subject::Uscc(uscc_at(u, format!("{prefix}subject.uscc"))?)),
            (None, Some(id), None) => {
                Ok(Subject::PersonDigest(person_digest(state, id, format!("{prefix}subject.resident_id"))?))
            }
            (None, None, Some(r)) => {
                let r: RegistrationNo = r.parse().map_err(|e: national::RegistrationNoError| {
                    ApiError::unprocessable(e.code(), e.to_string()).field(format!("{prefix}subject.registration_no"))
                })?;
                Ok(Subject::RegistrationNo(r))
            }
            _ => Err(ApiError::unprocessable(
                "invalid_subject",
                "give exactly one of uscc, resident_id or registration_no",
            )
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
    #[serde(default)]
    pub national: Option<NationalDraft>,
}

/// The national 双公示 fields of a draft, named as the importer sends them (PLATFORM.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct NationalDraft {
    pub subject_category: SubjectCategory,
    /// CF_CFJGDM / XK_XKJGDM.
    #[serde(default)]
    pub authority_uscc: Option<String>,
    #[serde(default)]
    pub source_unit: Option<String>,
    #[serde(default)]
    pub source_unit_uscc: Option<String>,
    /// CF_GSJZQ.
    #[serde(default)]
    pub publicity_until: Option<Day>,
    #[serde(default)]
    pub legal_representative: Option<LegalRepresentativeDraft>,
    #[serde(default)]
    pub penalty: Option<PenaltyDraft>,
    #[serde(default)]
    pub licence: Option<LicenceDraft>,
}

/// 法定代表人: the name is dropped and the ID number digested; neither is stored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct LegalRepresentativeDraft {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub id_type: Option<String>,
    #[serde(default)]
    pub id_no: Option<String>,
}

/// The penalty part: amounts are 万元 decimal strings as in CF_NR_FK / CF_NR_WFFF.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PenaltyDraft {
    #[serde(default)]
    pub violation_type: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub fine_amount: Option<String>,
    #[serde(default)]
    pub confiscated_amount: Option<String>,
    /// CF_CFLB items; an item holding several joined by `;`/`；` is split.
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub suspended_licence: Option<String>,
    /// CF_YXQ.
    #[serde(default)]
    pub valid_until: Option<Day>,
}

/// The licence part.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct LicenceDraft {
    #[serde(default)]
    pub document_name: Option<String>,
    /// 普通/特许/认可/核准/登记/其他 or 01–06.
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub certificate_name: Option<String>,
    #[serde(default)]
    pub certificate_no: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub valid_from: Option<Day>,
    /// XK_ZT: `1` valid, `2` invalid at the source.
    #[serde(default)]
    pub source_status: Option<String>,
}

fn amount(v: Option<String>, field: &str) -> Result<Option<u64>, ApiError> {
    v.map(|s| national::parse_wan_yuan(&s).map_err(|e| ApiError::unprocessable(e.code(), e.to_string()).field(field)))
        .transpose()
}

/// CF_CFLB items, split on `;`/`；`, a category named twice kept once (every `其他-…` kept).
fn categories(raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in raw.iter().flat_map(|r| national::split_categories(r)) {
        let dup = match PenaltyCategory::parse(&item) {
            Some(PenaltyCategory::Other) | None => out.contains(&item),
            Some(c) => out.iter().any(|o| PenaltyCategory::parse(o) == Some(c)),
        };
        if !dup {
            out.push(item);
        }
    }
    out
}

impl NationalDraft {
    /// The protocol block (amounts in 分, ID numbers digested, names dropped).
    ///
    /// # Errors
    /// 422 `invalid_uscc`, `bad_amount`, `invalid_resident_id`, `person_secret_missing`,
    /// `invalid_field` with the field named under `<prefix>national.`.
    pub fn fields(self, state: &State, prefix: &str) -> Result<NationalFields, ApiError> {
        let f = |name: &str| format!("{prefix}national.{name}");
        let legal_representative = match self.legal_representative {
            None => None,
            Some(r) => {
                // A resident ID number is digested; another document's number is dropped (the
                // digest is defined for GB 11643 numbers only); the name is always dropped.
                let resident = r.id_type.as_deref().is_none_or(|t| t.contains("身份证"));
                let id_digest = match r.id_no.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    Some(no) if resident || no.parse::<ResidentId>().is_ok() => {
                        Some(person_digest(state, no, f("legal_representative.id_no"))?)
                    }
                    _ => None,
                };
                (r.id_type.is_some() || id_digest.is_some())
                    .then_some(LegalRepresentative { id_type: r.id_type, id_digest })
            }
        };
        let penalty = match self.penalty {
            None => None,
            Some(p) => Some(PenaltyFields {
                violation_type: p.violation_type,
                content: p.content,
                fine_fen: amount(p.fine_amount, &f("penalty.fine_amount"))?,
                confiscated_fen: amount(p.confiscated_amount, &f("penalty.confiscated_amount"))?,
                categories: categories(&p.categories),
                suspended_licence: p.suspended_licence,
                valid_until: p.valid_until,
            }),
        };
        let licence = match self.licence {
            None => None,
            Some(l) => {
                let category = l.category.ok_or_else(|| {
                    ApiError::unprocessable("missing_field", "required for a licence").field(f("licence.category"))
                })?;
                let category = LicenceCategory::parse_national(&category).ok_or_else(|| {
                    ApiError::unprocessable("invalid_field", "one of 普通 特许 认可 核准 登记 其他 or 01-06")
                        .field(f("licence.category"))
                })?;
                let source_status = l
                    .source_status
                    .map(|s| {
                        SourceStatus::parse_national(&s).ok_or_else(|| {
                            ApiError::unprocessable("invalid_field", "1 (有效) or 2 (无效)")
                                .field(f("licence.source_status"))
                        })
                    })
                    .transpose()?;
                Some(LicenceFields {
                    document_name: l.document_name,
                    category,
                    certificate_name: l.certificate_name,
                    certificate_no: l.certificate_no,
                    content: l.content,
                    valid_from: l.valid_from,
                    source_status,
                })
            }
        };
        Ok(NationalFields {
            subject_category: self.subject_category,
            authority_uscc: self.authority_uscc.map(|u| uscc_at(&u, f("authority_uscc"))).transpose()?,
            source_unit: self.source_unit,
            source_unit_uscc: self.source_unit_uscc.map(|u| uscc_at(&u, f("source_unit_uscc"))).transpose()?,
            publicity_until: self.publicity_until,
            legal_representative,
            penalty,
            licence,
        })
    }
}

impl RecordDraft {
    /// The validated record content.
    ///
    /// # Errors
    /// 422 with the field named.
    pub fn content(self, state: &State, prefix: &str) -> Result<RecordContent, ApiError> {
        let subject = self.subject.resolve(state, prefix)?;
        let national = self.national.map(|n| n.fields(state, prefix)).transpose()?;
        let mut penalty_types = self.penalty_types;
        let mut valid_until = self.valid_until;
        if let Some(n) = &national {
            // The rule table reads penalty_types: derived from CF_CFLB unless the draft refines them.
            if let (true, Some(p)) = (penalty_types.is_empty(), &n.penalty) {
                penalty_types = national::penalty_types_for(&p.categories).map_err(|e| {
                    ApiError::unprocessable(e.code, e.to_string()).field(format!("{prefix}{}", e.field))
                })?;
            }
            // XK_YXQZI 2099-12-31: 长期, no end.
            if n.licence.is_some() {
                valid_until = valid_until.and_then(national::licence_valid_until);
            }
        }
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
            penalty_types,
            not_repairable: self.not_repairable,
            valid_until,
            grade: self.grade,
            grade_scheme: self.grade_scheme,
            repair_notice: self.repair_notice,
            national,
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
