//! Every object type of DESIGN §3, as bodies of signed envelopes.
//!
//! A body is a canonical CBOR map with a `type` discriminator (one of [`ObjectType`]), the issuing
//! `region`, the signing time `signed_at` (Unix seconds; authorization is decided as of this
//! time), a random `nonce` of 16–64 bytes (so a withheld body cannot be confirmed by guessing and
//! hashing, RELIABILITY §6.3), and the type's own fields. Unknown fields, missing fields, explicit
//! nulls, and anything that does not re-encode to the same bytes are rejected with an error naming
//! the problem. Optional fields are omitted when absent.

use ciborium::Value;
use rand_core::{CryptoRng, RngCore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::cbor::{self, ByteBuf, CborError};
use crate::envelope::{Envelope, EnvelopeError, ObjectId, VerifiedEnvelope, ENVELOPE_DOMAIN, MAX_BODY_LEN};
use crate::keys::{PublicKey, SecretKey};
use crate::kind::{ObjectionGround, ObjectionOutcome};
use crate::national::{NationalFields, RegistrationNo};
use crate::person::PersonDigest;
use crate::uscc::Uscc;
use crate::{Classification, Day, ObjectType, RecordKind, RegionId, Role, Scope, Severity};

/// Smallest accepted nonce (bytes).
pub const MIN_NONCE_LEN: usize = 16;
/// Largest accepted nonce (bytes).
pub const MAX_NONCE_LEN: usize = 64;
/// Longest short text field (characters): names, numbers, bases, reasons.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// Longest free-text field (`facts`, `statement`), in characters.
pub const MAX_LONG_TEXT_CHARS: usize = 10_000;
/// Most entries in a list field (scopes, regions, disqualifiers, penalty types).
pub const MAX_LIST_LEN: usize = 64;

/// The random salt every body carries.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Nonce(Vec<u8>);

impl Nonce {
    /// 16 fresh random bytes.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Nonce {
        let mut b = vec![0u8; MIN_NONCE_LEN];
        rng.fill_bytes(&mut b);
        Nonce(b)
    }
    /// From given bytes (test vectors, replays).
    ///
    /// # Errors
    /// When the length is outside 16..=64.
    pub fn from_bytes(b: &[u8]) -> Result<Nonce, String> {
        if (MIN_NONCE_LEN..=MAX_NONCE_LEN).contains(&b.len()) {
            Ok(Nonce(b.to_vec()))
        } else {
            Err(format!("nonce must be {MIN_NONCE_LEN}..={MAX_NONCE_LEN} bytes, got {}", b.len()))
        }
    }
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}
impl Serialize for Nonce {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ByteBuf(self.0.clone()).serialize(s)
    }
}
impl<'de> Deserialize<'de> for Nonce {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Nonce, D::Error> {
        Nonce::from_bytes(&ByteBuf::deserialize(d)?.0).map_err(serde::de::Error::custom)
    }
}

/// Who a record is about: a legal entity by USCC, a natural person by keyed digest, or a
/// 个体工商户 without a USCC by its registration number (only with the national block).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Subject {
    /// 统一社会信用代码.
    Uscc(Uscc),
    /// HMAC-SHA-256 digest of a resident ID number (DESIGN §3).
    PersonDigest(PersonDigest),
    /// 注册号 of a 个体工商户 that has no USCC (national block, `individual_business`, only).
    RegistrationNo(RegistrationNo),
}

impl Subject {
    /// A stable index key: `uscc:<code>`, `person:<hex>` or `regno:<number>` (distinct prefixes,
    /// so no two kinds of subject share a key).
    pub fn key(&self) -> String {
        match self {
            Subject::Uscc(u) => format!("uscc:{}", u.as_str()),
            Subject::PersonDigest(d) => format!("person:{}", d.to_hex()),
            Subject::RegistrationNo(r) => format!("regno:{}", r.as_str()),
        }
    }
}

/// A record's content: what the issuing authority decided (DOMAIN R2.4, R4.2, R7.1).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordContent {
    /// Category.
    pub kind: RecordKind,
    /// Who it is about.
    pub subject: Subject,
    /// Registered name of the subject (required for legal entities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_name: Option<String>,
    /// The identifying authority (认定单位), e.g. 信阳市市场监督管理局.
    pub authority: String,
    /// Decision document number, e.g. 信市监罚〔2026〕15号.
    pub decision_no: String,
    /// Legal basis cited by the decision.
    pub legal_basis: String,
    /// Facts / content of the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<String>,
    /// Severity of the dishonest conduct (dishonesty kinds only; required for penalties).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Sector (snake_case), selecting sector rule overrides (DOMAIN R0.6), e.g. `market_regulation`.
    pub sector: String,
    /// Date of the decision document (start of publicity periods, DOMAIN R3.10).
    pub decided_on: Day,
    /// Data classification.
    pub classification: Classification,
    /// Publication date where the sector counts from it (SAMR Order 45, DOMAIN R3.23).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_on: Option<Day>,
    /// Penalty measures imposed (`warning`, `circulated_criticism`, `fine_low`, `fine`,
    /// `confiscation`, `suspension`, `licence_revocation`, `business_licence_revocation`,
    /// `production_suspension`, `practice_ban`…), for sector rules such as R3.24.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub penalty_types: Vec<String>,
    /// Declared not repairable by law or central policy (DOMAIN R3.1, R4.4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_repairable: bool,
    /// End of validity (licences, grades, honours, commitments, lists with a fixed term).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Day>,
    /// Credit grade (credit_grade only), e.g. `A`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// Grade scheme (credit_grade only), e.g. `tax_credit` (DOMAIN R7.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade_scheme: Option<String>,
    /// Reference of the credit-repair notice served with the decision (两书同达, DOMAIN R3.16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair_notice: Option<String>,
    /// The national 双公示 fields (penalties and licences); omitted when absent, so content
    /// without it keeps the bytes it had before the block existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national: Option<NationalFields>,
}

/// A content rule broken by a record (well-formed, but not a valid record).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Stable code (`missing_field`, `field_not_allowed`, `invalid_field`, `field_too_long`).
    pub code: &'static str,
    /// The offending field.
    pub field: &'static str,
    /// Human explanation.
    pub message: String,
}

pub(crate) fn field_err(code: &'static str, field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError { code, field, message: message.into() }
}

/// Checks a required short text field.
pub(crate) fn text(field: &'static str, v: &str, max: usize) -> Result<(), FieldError> {
    if v.trim().is_empty() {
        return Err(field_err("missing_field", field, "must not be empty"));
    }
    let n = v.chars().count();
    if n > max {
        return Err(field_err("field_too_long", field, format!("{n} characters, limit {max}")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(field_err("invalid_field", field, "contains control characters"));
    }
    Ok(())
}

pub(crate) fn opt_text(field: &'static str, v: &Option<String>, max: usize) -> Result<(), FieldError> {
    v.as_deref().map_or(Ok(()), |s| text(field, s, max))
}

fn snake(field: &'static str, v: &str) -> Result<(), FieldError> {
    let ok =
        !v.is_empty() && v.len() <= 48 && v.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
    if ok {
        Ok(())
    } else {
        Err(field_err("invalid_field", field, format!("{v:?} must be 1-48 characters of a-z, 0-9, _")))
    }
}

pub(crate) fn list_len<T>(field: &'static str, v: &[T]) -> Result<(), FieldError> {
    if v.len() > MAX_LIST_LEN {
        return Err(field_err("field_too_long", field, format!("{} entries, limit {MAX_LIST_LEN}", v.len())));
    }
    Ok(())
}

impl RecordContent {
    /// Checks the per-kind field rules (which fields a kind requires or allows).
    ///
    /// # Errors
    /// The first [`FieldError`] found.
    pub fn validate(&self) -> Result<(), FieldError> {
        let k = self.kind;
        text("authority", &self.authority, MAX_TEXT_CHARS)?;
        text("decision_no", &self.decision_no, MAX_TEXT_CHARS)?;
        text("legal_basis", &self.legal_basis, MAX_TEXT_CHARS)?;
        opt_text("facts", &self.facts, MAX_LONG_TEXT_CHARS)?;
        opt_text("subject_name", &self.subject_name, MAX_TEXT_CHARS)?;
        opt_text("repair_notice", &self.repair_notice, MAX_TEXT_CHARS)?;
        snake("sector", &self.sector)?;
        if matches!(self.subject, Subject::Uscc(_) | Subject::RegistrationNo(_)) && self.subject_name.is_none() {
            return Err(field_err(
                "missing_field",
                "subject_name",
                "required for a legal-entity or registration-number subject (DOMAIN R2.4)",
            ));
        }
        match (k.requires_severity(), k.is_dishonesty(), self.severity) {
            (true, _, None) => return Err(field_err("missing_field", "severity", format!("required for {k}"))),
            (_, false, Some(_)) => return Err(field_err("field_not_allowed", "severity", format!("not used for {k}"))),
            _ => {}
        }
        list_len("penalty_types", &self.penalty_types)?;
        if !self.penalty_types.is_empty() && k != RecordKind::AdministrativePenalty {
            return Err(field_err(
                "field_not_allowed",
                "penalty_types",
                format!("only for administrative_penalty, not {k}"),
            ));
        }
        for p in &self.penalty_types {
            snake("penalty_types", p)?;
        }
        if self.not_repairable && !k.is_dishonesty() {
            return Err(field_err(
                "field_not_allowed",
                "not_repairable",
                format!("only for dishonesty records, not {k}"),
            ));
        }
        let is_grade = k == RecordKind::CreditGrade;
        match (&self.grade, &self.grade_scheme, is_grade) {
            (Some(g), Some(s), true) => {
                text("grade", g, 16)?;
                snake("grade_scheme", s)?;
            }
            (None, _, true) => return Err(field_err("missing_field", "grade", "required for credit_grade")),
            (_, None, true) => return Err(field_err("missing_field", "grade_scheme", "required for credit_grade")),
            (Some(_), _, false) => {
                return Err(field_err("field_not_allowed", "grade", format!("only for credit_grade, not {k}")))
            }
            (_, Some(_), false) => {
                return Err(field_err("field_not_allowed", "grade_scheme", format!("only for credit_grade, not {k}")))
            }
            (None, None, false) => {}
        }
        if let Some(until) = self.valid_until {
            if until < self.decided_on {
                return Err(field_err(
                    "invalid_field",
                    "valid_until",
                    format!("{until} is before decided_on {}", self.decided_on),
                ));
            }
        }
        if let Some(p) = self.published_on {
            if p < self.decided_on {
                return Err(field_err(
                    "invalid_field",
                    "published_on",
                    format!("{p} is before decided_on {}", self.decided_on),
                ));
            }
        }
        match &self.national {
            Some(n) => crate::national::validate(self, n),
            None if matches!(self.subject, Subject::RegistrationNo(_)) => Err(field_err(
                "field_not_allowed",
                "subject",
                "a registration_no subject needs the national block (individual_business)",
            )),
            None => Ok(()),
        }
    }
}

/// One disqualifying condition of a benefit scheme: an active record of this kind (and severity).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disqualifier {
    /// Record kind that disqualifies.
    pub kind: RecordKind,
    /// Only this severity or worse; any severity when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

macro_rules! bodies {
    ($( $(#[$m:meta])* $variant:ident($name:ident) { $( $(#[$fm:meta])* pub $f:ident : $t:ty, )* } )*) => {
        $(
            $(#[$m])*
            #[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
            #[serde(deny_unknown_fields)]
            pub struct $name {
                /// The region on whose behalf the object is signed.
                pub region: RegionId,
                /// Signing time, Unix seconds (authorization is decided as of this time).
                pub signed_at: u64,
                /// Random salt, 16–64 bytes.
                pub nonce: Nonce,
                $( $(#[$fm])* pub $f: $t, )*
            }
        )*

        /// A decoded body, one variant per [`ObjectType`].
        #[derive(Clone, PartialEq, Eq, Debug)]
        pub enum Body { $( $(#[$m])* $variant($name), )* }

        impl Body {
            /// The `type` discriminator.
            pub fn object_type(&self) -> ObjectType {
                match self { $( Body::$variant(_) => ObjectType::$variant, )* }
            }
            /// The issuing region.
            pub fn region(&self) -> &RegionId {
                match self { $( Body::$variant(b) => &b.region, )* }
            }
            /// Signing time (Unix seconds).
            pub fn signed_at(&self) -> u64 {
                match self { $( Body::$variant(b) => b.signed_at, )* }
            }
            /// The nonce.
            pub fn nonce(&self) -> &Nonce {
                match self { $( Body::$variant(b) => &b.nonce, )* }
            }
            fn to_value(&self) -> Result<Value, CborError> {
                let v = match self { $( Body::$variant(b) => Value::serialized(b), )* };
                v.map_err(|e| CborError::Shape { what: "body", detail: e.to_string() })
            }
            fn from_value(t: ObjectType, v: Value) -> Result<Body, BodyError> {
                Ok(match t { $( ObjectType::$variant => Body::$variant(shape(t, v)?), )* })
            }
        }
    };
}

bodies! {
    /// A region root delegates a key (DESIGN §2).
    Delegation(DelegationBody) {
        /// The delegated key.
        pub key: PublicKey,
        /// Node or authority.
        pub role: Role,
        /// Authority (or node) name, e.g. 信阳市市场监督管理局.
        pub authority_name: String,
        /// Object kinds the key may sign (authority role).
        pub scopes: Vec<Scope>,
        /// Valid from (Unix seconds, inclusive).
        pub not_before: u64,
        /// Valid until (Unix seconds, exclusive).
        pub not_after: u64,
    }
    /// A region root revokes a key from a time on (DESIGN §2).
    Revocation(RevocationBody) {
        /// The revoked key.
        pub key: PublicKey,
        /// Objects signed at or after this time (Unix seconds) are rejected.
        pub revoked_from: u64,
        /// Why (e.g. `key_compromise`, `rotation`).
        pub reason: String,
    }
    /// A credit record.
    Record(RecordBody) {
        /// What was decided.
        pub record: RecordContent,
    }
    /// 信用修复: the origin region ends a record's publicity early (DOMAIN §3).
    Repair(RepairBody) {
        /// The repaired record.
        pub target: ObjectId,
        /// Date of the repair decision.
        pub repaired_on: Day,
        /// Basis / summary of the repair decision.
        pub basis: String,
    }
    /// 撤销: the origin region withdraws a record (DOMAIN R2.7).
    Withdrawal(WithdrawalBody) {
        /// The withdrawn record.
        pub target: ObjectId,
        /// Date of the withdrawal decision.
        pub withdrawn_on: Day,
        /// Why (changed, revoked, confirmed illegal or void…).
        pub reason: String,
    }
    /// A new version of a record, superseding the target (DOMAIN R3.22, R5.6).
    Correction(CorrectionBody) {
        /// The superseded record.
        pub target: ObjectId,
        /// Date of the correction.
        pub corrected_on: Day,
        /// Why.
        pub reason: String,
        /// The corrected content (same kind and subject as the target).
        pub record: RecordContent,
    }
    /// 异议: an objection against a record, filed through any region (DOMAIN §5).
    Objection(ObjectionBody) {
        /// The contested record.
        pub target: ObjectId,
        /// Grounds.
        pub ground: ObjectionGround,
        /// The subject's statement.
        pub statement: String,
        /// Filing date.
        pub filed_on: Day,
    }
    /// Outcome of an objection, by the record's origin region (DOMAIN R5.6).
    ObjectionResolution(ObjectionResolutionBody) {
        /// The objection resolved.
        pub objection: ObjectId,
        /// The record it contested.
        pub target: ObjectId,
        /// Outcome.
        pub outcome: ObjectionOutcome,
        /// Reasons given.
        pub reason: String,
        /// Date of the resolution.
        pub resolved_on: Day,
    }
    /// A 信易+ benefit scheme (DOMAIN R7.5).
    BenefitScheme(BenefitSchemeBody) {
        /// Scheme code, e.g. `xinyiyou_2026`.
        pub code: String,
        /// Display name, e.g. 信易游.
        pub name: String,
        /// What the benefit is.
        pub benefit: String,
        /// Regions whose records are evaluated.
        pub recognised_regions: Vec<RegionId>,
        /// Active records that disqualify.
        pub disqualifying: Vec<Disqualifier>,
        /// Minimum credit grade required, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub min_grade: Option<String>,
        /// First day of validity.
        pub valid_from: Day,
        /// Last day of validity.
        pub valid_until: Day,
    }
    /// 联合奖惩 feedback: a region applied a measure because of a record or scheme.
    MeasureApplied(MeasureAppliedBody) {
        /// The record or scheme that caused it.
        pub target: ObjectId,
        /// Subject the measure was applied to.
        pub subject: Subject,
        /// Measure applied (text, e.g. 限制参与政府采购).
        pub measure: String,
        /// Date applied.
        pub applied_on: Day,
    }
    /// A region applied an origin's repair/withdrawal/correction/objection outcome (DESIGN §4).
    Receipt(ReceiptBody) {
        /// The object applied.
        pub target: ObjectId,
        /// When it was applied (Unix seconds).
        pub applied_at: u64,
    }
}

/// Why body bytes are not a valid object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not acceptable canonical CBOR.
    #[error(transparent)]
    Cbor(#[from] CborError),
    /// Not a map, or no text `type`.
    #[error("body must be a CBOR map with a text \"type\" field")]
    MissingType,
    /// `type` is not a known object type.
    #[error("unknown object type {0:?}")]
    UnknownType(String),
    /// Fields missing, unknown, or of the wrong type.
    #[error("{object_type} body: {detail}")]
    Shape {
        /// The declared type.
        object_type: ObjectType,
        /// serde's message naming the field.
        detail: String,
    },
    /// A content rule.
    #[error("{object_type} body: {source}")]
    Field {
        /// The declared type.
        object_type: ObjectType,
        /// Which field and why.
        source: FieldError,
    },
}

impl BodyError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            BodyError::Cbor(CborError::TooLarge { .. }) => "too_large",
            BodyError::Cbor(CborError::NonCanonical { .. }) => "non_canonical",
            BodyError::Cbor(CborError::TrailingBytes { .. }) => "trailing_bytes",
            BodyError::Cbor(_) => "malformed_body",
            BodyError::MissingType => "missing_type",
            BodyError::UnknownType(_) => "unknown_type",
            BodyError::Shape { detail, .. } if is_nonce_error(detail) => "invalid_nonce",
            BodyError::Shape { .. } => "invalid_body",
            BodyError::Field { source, .. } => source.code,
        }
    }
}

/// Whether a shape error is about the `nonce` field itself: missing, or of a refused length.
/// (Not merely mentioning it: serde lists `nonce` among the expected fields when an unknown
/// field is found, and that is `invalid_body`.)
fn is_nonce_error(detail: &str) -> bool {
    detail == "missing field `nonce`" || detail.starts_with("nonce must be ")
}

fn shape<T: DeserializeOwned>(t: ObjectType, v: Value) -> Result<T, BodyError> {
    v.deserialized().map_err(|e| BodyError::Shape {
        object_type: t,
        detail: match e {
            ciborium::value::Error::Custom(s) => s.chars().take(200).collect(),
        },
    })
}

impl Body {
    /// Canonical bytes: the type's fields plus `type`, keys in deterministic order.
    pub fn encode(&self) -> Vec<u8> {
        let Ok(Value::Map(mut m)) = self.to_value() else { unreachable!("bodies serialize to maps") };
        m.push((Value::Text("type".into()), Value::Text(self.object_type().as_str().into())));
        let v = cbor::canonicalize(Value::Map(m), "body").expect("bodies contain no floats or tags");
        let mut out = Vec::with_capacity(512);
        ciborium::ser::into_writer(&v, &mut out).expect("writing to a Vec cannot fail");
        out
    }

    /// Strictly decodes and validates body bytes.
    ///
    /// # Errors
    /// [`BodyError`] naming what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Body, BodyError> {
        // Fast path: a body that re-encodes to exactly `bytes` is canonical by construction, so
        // the general path's separate canonical check of the value tree cannot fail for it and
        // is skipped. Whatever fails here is decided (and named) by the general path.
        if bytes.len() <= MAX_BODY_LEN {
            let mut reader = bytes;
            let parsed: Result<Value, _> = ciborium::de::from_reader_with_recursion_limit(&mut reader, cbor::MAX_DEPTH);
            if let (Ok(v), true) = (parsed, reader.is_empty()) {
                if let Ok((ty, body)) = Body::from_tree(v) {
                    if body.encode() == bytes && body.validate().is_ok() {
                        debug_assert_eq!(Some(ty), Some(body.object_type()));
                        return Ok(body);
                    }
                }
            }
        }
        Body::decode_general(bytes)
    }

    /// The general strict decoder: canonical CBOR, then shape, re-encoding and field rules.
    fn decode_general(bytes: &[u8]) -> Result<Body, BodyError> {
        let v = cbor::decode_value(bytes, MAX_BODY_LEN, "body")?;
        let (ty, body) = Body::from_tree(v)?;
        if body.encode() != bytes {
            return Err(BodyError::Cbor(CborError::NonCanonical { what: "body" }));
        }
        body.validate().map_err(|source| BodyError::Field { object_type: ty, source })?;
        Ok(body)
    }

    /// The body a decoded map describes (its `type` picks the variant).
    fn from_tree(v: Value) -> Result<(ObjectType, Body), BodyError> {
        let Value::Map(mut entries) = v else { return Err(BodyError::MissingType) };
        let pos = entries
            .iter()
            .position(|(k, _)| matches!(k, Value::Text(t) if t == "type"))
            .ok_or(BodyError::MissingType)?;
        let Value::Text(t) = entries.remove(pos).1 else { return Err(BodyError::MissingType) };
        let ty: ObjectType = t.parse().map_err(|_| BodyError::UnknownType(t.chars().take(64).collect()))?;
        Ok((ty, Body::from_value(ty, Value::Map(entries))?))
    }

    /// Field rules of every type (lengths, required per-kind fields, coherent dates).
    ///
    /// # Errors
    /// The first [`FieldError`].
    pub fn validate(&self) -> Result<(), FieldError> {
        match self {
            Body::Delegation(d) => {
                text("authority_name", &d.authority_name, MAX_TEXT_CHARS)?;
                list_len("scopes", &d.scopes)?;
                if d.not_after <= d.not_before {
                    return Err(field_err("invalid_field", "not_after", "must be after not_before"));
                }
                if d.role == Role::Node && !d.scopes.is_empty() {
                    return Err(field_err("field_not_allowed", "scopes", "node keys carry no scopes"));
                }
                if d.role == Role::Authority && d.scopes.is_empty() {
                    return Err(field_err("missing_field", "scopes", "an authority key needs at least one scope"));
                }
                Ok(())
            }
            Body::Revocation(r) => text("reason", &r.reason, MAX_TEXT_CHARS),
            Body::Record(r) => r.record.validate(),
            Body::Repair(r) => text("basis", &r.basis, MAX_TEXT_CHARS),
            Body::Withdrawal(w) => text("reason", &w.reason, MAX_TEXT_CHARS),
            Body::Correction(c) => {
                text("reason", &c.reason, MAX_TEXT_CHARS)?;
                c.record.validate()
            }
            Body::Objection(o) => text("statement", &o.statement, MAX_LONG_TEXT_CHARS),
            Body::ObjectionResolution(r) => text("reason", &r.reason, MAX_TEXT_CHARS),
            Body::BenefitScheme(s) => {
                snake("code", &s.code)?;
                text("name", &s.name, MAX_TEXT_CHARS)?;
                text("benefit", &s.benefit, MAX_TEXT_CHARS)?;
                list_len("recognised_regions", &s.recognised_regions)?;
                list_len("disqualifying", &s.disqualifying)?;
                if s.recognised_regions.is_empty() {
                    return Err(field_err("missing_field", "recognised_regions", "at least one region"));
                }
                if let Some(g) = &s.min_grade {
                    text("min_grade", g, 16)?;
                }
                if s.valid_until < s.valid_from {
                    return Err(field_err("invalid_field", "valid_until", "before valid_from"));
                }
                Ok(())
            }
            Body::MeasureApplied(m) => text("measure", &m.measure, MAX_TEXT_CHARS),
            Body::Receipt(_) => Ok(()),
        }
    }

    /// The object this one acts on, if any (repair, withdrawal, correction, objection,
    /// resolution, measure, receipt).
    pub fn target(&self) -> Option<ObjectId> {
        match self {
            Body::Repair(b) => Some(b.target),
            Body::Withdrawal(b) => Some(b.target),
            Body::Correction(b) => Some(b.target),
            Body::Objection(b) => Some(b.target),
            Body::ObjectionResolution(b) => Some(b.target),
            Body::MeasureApplied(b) => Some(b.target),
            Body::Receipt(b) => Some(b.target),
            Body::Delegation(_) | Body::Revocation(_) | Body::Record(_) | Body::BenefitScheme(_) => None,
        }
    }

    /// The record content carried (records and corrections).
    pub fn record_content(&self) -> Option<&RecordContent> {
        match self {
            Body::Record(r) => Some(&r.record),
            Body::Correction(c) => Some(&c.record),
            _ => None,
        }
    }

    /// The scope a signer needs for this object (DESIGN §2). Delegations and revocations are
    /// signed by region roots, which need no scope: `None`.
    pub fn required_scope(&self) -> Option<Scope> {
        match self {
            Body::Delegation(_) | Body::Revocation(_) => None,
            Body::Record(r) => Some(Scope::Record(r.record.kind)),
            Body::Correction(c) => Some(Scope::Record(c.record.kind)),
            other => Some(Scope::Object(other.object_type())),
        }
    }

    /// Encodes and signs this body into an envelope.
    pub fn sign(&self, key: &SecretKey) -> Envelope {
        Envelope::sign(ENVELOPE_DOMAIN, self.encode(), key)
    }
}

/// Why envelope bytes are not a verified object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    /// Envelope level.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// Body level.
    #[error(transparent)]
    Body(#[from] BodyError),
}

impl ObjectError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ObjectError::Envelope(e) => e.code(),
            ObjectError::Body(e) => e.code(),
        }
    }
}

/// An object whose envelope signature verified and whose body decoded strictly.
/// Not yet authorized: see [`crate::trust`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedObject {
    /// The verified envelope (bytes as received).
    pub envelope: VerifiedEnvelope,
    /// The decoded body.
    pub body: Body,
}

impl VerifiedObject {
    /// The object id.
    pub fn id(&self) -> ObjectId {
        self.envelope.id()
    }
    /// The signer.
    pub fn signer(&self) -> PublicKey {
        self.envelope.signer()
    }
}

/// Decodes, verifies and strictly parses envelope bytes: the one entry point for every source
/// (HTTP, gossip, sync).
///
/// # Errors
/// [`ObjectError`] naming the failing layer and reason.
pub fn open(bytes: &[u8]) -> Result<VerifiedObject, ObjectError> {
    let envelope = Envelope::decode(bytes)?.verify(ENVELOPE_DOMAIN)?;
    let body = Body::decode(envelope.body())?;
    Ok(VerifiedObject { envelope, body })
}

/// Verifies an envelope whose bytes were already decoded.
///
/// # Errors
/// [`ObjectError`].
pub fn open_envelope(envelope: Envelope) -> Result<VerifiedObject, ObjectError> {
    let envelope = envelope.verify(ENVELOPE_DOMAIN)?;
    let body = Body::decode(envelope.body())?;
    Ok(VerifiedObject { envelope, body })
}

#[cfg(test)]
mod tests;
