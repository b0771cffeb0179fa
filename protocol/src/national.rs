//! The national 双公示 fields (PLATFORM.md `CF_*` / `XK_*`): the optional `national` block of a
//! [`RecordContent`] for `administrative_penalty` and `administrative_license` records.
//!
//! * [`NationalFields`] is what travels: typed, validated per kind by [`validate`] (called from
//!   [`RecordContent::validate`]); absent, it is omitted, so every older object keeps its bytes.
//! * Amounts (CF_NR_FK, CF_NR_WFFF) are decimal strings in 万元 at the source and exact integer
//!   分 in the protocol: [`parse_wan_yuan`], [`format_wan_yuan`], [`format_yuan`]. No floats.
//! * 处罚类别 (CF_CFLB) items are kept as sent and mapped onto the rule table's penalty types by
//!   one function, [`PenaltyCategory::penalty_type`].
//! * Personal information: the legal representative's ID number travels only as a
//!   [`PersonDigest`]; the name is never part of the block (see `docs/PROTOCOL.md` §3.6).
//! * [`RegistrationNo`]: the subject of a 个体工商户 that has no USCC.

pub mod columns;

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::objects::{field_err, list_len, opt_text, text, FieldError, RecordContent, Subject};
use crate::objects::{MAX_LONG_TEXT_CHARS, MAX_TEXT_CHARS};
use crate::person::{PersonDigest, ResidentId};
use crate::uscc::Uscc;
use crate::{Day, RecordKind};

/// 分 in one 万元 (10 000 元 × 100 分).
pub const FEN_PER_WAN_YUAN: u64 = 1_000_000;
/// Most decimal places of a 万元 amount (6 = exactly 1 分).
pub const MAX_AMOUNT_DECIMALS: usize = 6;

/// 行政相对人类别 (CF_XDR_LB / XK_XDR_LB).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectCategory {
    /// 法人及非法人组织: the subject is a USCC.
    LegalEntity,
    /// 个体工商户: a USCC, or a registration number when it has none.
    IndividualBusiness,
    /// 自然人: the subject is the keyed person digest, never the ID number.
    NaturalPerson,
}

impl SubjectCategory {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectCategory::LegalEntity => "legal_entity",
            SubjectCategory::IndividualBusiness => "individual_business",
            SubjectCategory::NaturalPerson => "natural_person",
        }
    }

    /// The national name.
    pub fn chinese(self) -> &'static str {
        match self {
            SubjectCategory::LegalEntity => "法人及非法人组织",
            SubjectCategory::IndividualBusiness => "个体工商户",
            SubjectCategory::NaturalPerson => "自然人",
        }
    }
}

/// 法定代表人 (CF_FRDB, CF_FR_ZJLX, CF_FR_ZJHM) as it may travel: no name, no ID number.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalRepresentative {
    /// 证件类型 as the source names it, e.g. `身份证`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_type: Option<String>,
    /// Keyed digest of the resident ID number (the same digest as a natural-person subject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_digest: Option<PersonDigest>,
}

/// The penalty part (行政处罚).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PenaltyFields {
    /// 违法行为类型 (CF_WFXW).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation_type: Option<String>,
    /// 处罚内容 (CF_NR), e.g. `罚款2000元` (not every platform fills it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// 罚款金额 (CF_NR_FK) in 分.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_fen: Option<u64>,
    /// 没收违法所得、没收非法财物的金额 (CF_NR_WFFF) in 分.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confiscated_fen: Option<u64>,
    /// 处罚类别 (CF_CFLB) items as sent, each one of [`PenaltyCategory`]; at least one.
    pub categories: Vec<String>,
    /// 暂扣或吊销证照名称及编号 (CF_NR_ZKDX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_licence: Option<String>,
    /// 处罚有效期 (CF_YXQ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Day>,
}

/// The licence part (行政许可).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceFields {
    /// 行政许可决定文书名称 (XK_XKWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_name: Option<String>,
    /// 许可类别 (XK_XKLB).
    pub category: LicenceCategory,
    /// 许可证书名称 (XK_XKZS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_name: Option<String>,
    /// 许可编号 (XK_XKBH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_no: Option<String>,
    /// 许可内容 (XK_NR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// 有效期自 (XK_YXQZ). 有效期至 (XK_YXQZI) is the record's `valid_until`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Day>,
    /// 当前状态 (XK_ZT) at the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_status: Option<SourceStatus>,
}

/// The national block of a record (`RecordContent.national`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NationalFields {
    /// 行政相对人类别.
    pub subject_category: SubjectCategory,
    /// USCC of the deciding authority (CF_CFJGDM / XK_XKJGDM; required for licences, where
    /// XK_XKJGDM is a required column, optional for penalties).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_uscc: Option<Uscc>,
    /// 数据来源单位 (CF_SJLY / XK_LYDW).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_unit: Option<String>,
    /// Its USCC (CF_SJLYDM / XK_LYDWDM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_unit_uscc: Option<Uscc>,
    /// 公示截止期 (CF_GSJZQ): the department's last day of publicity (inclusive); penalties only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publicity_until: Option<Day>,
    /// 法定代表人 (digest only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_representative: Option<LegalRepresentative>,
    /// Required for `administrative_penalty`, refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty: Option<PenaltyFields>,
    /// Required for `administrative_license`, refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<LicenceFields>,
}

macro_rules! coded_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $snake:literal, $zh:literal, $code:literal;)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $snake)] $var,)* }
        impl $name {
            /// Every value, in the national order.
            pub const ALL: &'static [$name] = &[$($name::$var,)*];
            /// The wire name.
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $snake,)* } }
            /// The national name.
            pub fn chinese(self) -> &'static str { match self { $($name::$var => $zh,)* } }
            /// The national code.
            pub fn code(self) -> &'static str { match self { $($name::$var => $code,)* } }
            /// From the national name, the national code or the wire name (trimmed).
            pub fn parse_national(s: &str) -> Option<$name> {
                let t = s.trim();
                $name::ALL.iter().copied().find(|v| t == v.chinese() || t == v.code() || t == v.as_str())
            }
        }
    };
}

coded_enum! {
    /// 许可类别 (XK_XKLB): names, or codes 01–06 in this order.
    LicenceCategory {
        /// 普通
        Ordinary = "ordinary", "普通", "01";
        /// 特许
        Franchise = "franchise", "特许", "02";
        /// 认可
        Recognition = "recognition", "认可", "03";
        /// 核准
        Approval = "approval", "核准", "04";
        /// 登记
        Registration = "registration", "登记", "05";
        /// 其他
        Other = "other", "其他", "06";
    }
}

coded_enum! {
    /// 当前状态 (XK_ZT): `1` 有效, `2` 无效 (revoked or expired at the source).
    SourceStatus {
        /// 有效
        Valid = "valid", "有效", "1";
        /// 无效: the record's status is `expired` (PROTOCOL §9).
        Invalid = "invalid", "无效", "2";
    }
}

/// 处罚类别 (CF_CFLB), each mapped onto a penalty type of the rule table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PenaltyCategory {
    /// 警告
    Warning,
    /// 通报批评
    CirculatedCriticism,
    /// 罚款
    Fine,
    /// 没收违法所得
    ConfiscateIllegalGains,
    /// 没收非法财物
    ConfiscateIllegalProperty,
    /// 暂扣许可证件
    SuspendLicence,
    /// 降低资质等级
    QualificationDowngrade,
    /// 吊销许可证件
    RevokeLicence,
    /// 限制开展生产经营活动
    BusinessRestriction,
    /// 责令停产停业
    ProductionSuspension,
    /// 责令关闭
    Closure,
    /// 限制从业
    PracticeBan,
    /// 行政拘留
    Detention,
    /// 其他 (optionally `其他-…`, `其他：…`, `其他（…）` naming it)
    Other,
}

impl PenaltyCategory {
    /// Every category, in the national order.
    pub const ALL: &'static [PenaltyCategory] = &[
        PenaltyCategory::Warning,
        PenaltyCategory::CirculatedCriticism,
        PenaltyCategory::Fine,
        PenaltyCategory::ConfiscateIllegalGains,
        PenaltyCategory::ConfiscateIllegalProperty,
        PenaltyCategory::SuspendLicence,
        PenaltyCategory::QualificationDowngrade,
        PenaltyCategory::RevokeLicence,
        PenaltyCategory::BusinessRestriction,
        PenaltyCategory::ProductionSuspension,
        PenaltyCategory::Closure,
        PenaltyCategory::PracticeBan,
        PenaltyCategory::Detention,
        PenaltyCategory::Other,
    ];

    /// The national name.
    pub fn chinese(self) -> &'static str {
        match self {
            PenaltyCategory::Warning => "警告",
            PenaltyCategory::CirculatedCriticism => "通报批评",
            PenaltyCategory::Fine => "罚款",
            PenaltyCategory::ConfiscateIllegalGains => "没收违法所得",
            PenaltyCategory::ConfiscateIllegalProperty => "没收非法财物",
            PenaltyCategory::SuspendLicence => "暂扣许可证件",
            PenaltyCategory::QualificationDowngrade => "降低资质等级",
            PenaltyCategory::RevokeLicence => "吊销许可证件",
            PenaltyCategory::BusinessRestriction => "限制开展生产经营活动",
            PenaltyCategory::ProductionSuspension => "责令停产停业",
            PenaltyCategory::Closure => "责令关闭",
            PenaltyCategory::PracticeBan => "限制从业",
            PenaltyCategory::Detention => "行政拘留",
            PenaltyCategory::Other => "其他",
        }
    }

    /// The penalty type of the rule table ([`crate::rules::PENALTY_TYPES`]) this category counts
    /// as. 罚款 is `fine` (whether a fine is "lower-amount", `fine_low`, is a provincial threshold,
    /// DOMAIN R3.23, so only the authority can say so); both confiscations are `confiscation`;
    /// 责令关闭 counts as `production_suspension`, the measure it includes, so that the rules
    /// refusing early end of publicity for it (DOMAIN R3.6, R3.24) apply.
    pub fn penalty_type(self) -> &'static str {
        match self {
            PenaltyCategory::Warning => "warning",
            PenaltyCategory::CirculatedCriticism => "circulated_criticism",
            PenaltyCategory::Fine => "fine",
            PenaltyCategory::ConfiscateIllegalGains | PenaltyCategory::ConfiscateIllegalProperty => "confiscation",
            PenaltyCategory::SuspendLicence => "suspension",
            PenaltyCategory::QualificationDowngrade => "qualification_downgrade",
            PenaltyCategory::RevokeLicence => "licence_revocation",
            PenaltyCategory::BusinessRestriction => "business_restriction",
            PenaltyCategory::ProductionSuspension | PenaltyCategory::Closure => "production_suspension",
            PenaltyCategory::PracticeBan => "practice_ban",
            PenaltyCategory::Detention => "detention",
            PenaltyCategory::Other => "other",
        }
    }

    /// Penalty types an authority may give instead of [`Self::penalty_type`]: the refinements of
    /// the rule table (`fine_low` / `fine_large` for a fine, `business_licence_revocation` for a
    /// revoked business licence).
    fn accepted_types(self) -> &'static [&'static str] {
        match self {
            PenaltyCategory::Warning => &["warning"],
            PenaltyCategory::CirculatedCriticism => &["circulated_criticism"],
            PenaltyCategory::Fine => &["fine", "fine_low", "fine_large"],
            PenaltyCategory::ConfiscateIllegalGains | PenaltyCategory::ConfiscateIllegalProperty => &["confiscation"],
            PenaltyCategory::SuspendLicence => &["suspension"],
            PenaltyCategory::QualificationDowngrade => &["qualification_downgrade"],
            PenaltyCategory::RevokeLicence => &["licence_revocation", "business_licence_revocation"],
            PenaltyCategory::BusinessRestriction => &["business_restriction"],
            PenaltyCategory::ProductionSuspension | PenaltyCategory::Closure => &["production_suspension"],
            PenaltyCategory::PracticeBan => &["practice_ban"],
            PenaltyCategory::Detention => &["detention"],
            PenaltyCategory::Other => &["other"],
        }
    }

    /// One CF_CFLB item (trimmed): a national name exactly, or `其他` followed by `-`, `－`,
    /// `—`, `:`, `：`, `(` or `（` and a description.
    pub fn parse(item: &str) -> Option<PenaltyCategory> {
        let t = item.trim();
        if let Some(c) = PenaltyCategory::ALL.iter().copied().find(|c| c.chinese() == t) {
            return Some(c);
        }
        let rest = t.strip_prefix("其他")?;
        let mut chars = rest.chars();
        let sep = chars.next()?;
        let described = !chars.as_str().trim().is_empty();
        (matches!(sep, '-' | '－' | '—' | ':' | '：' | '(' | '（') && described).then_some(PenaltyCategory::Other)
    }
}

/// Splits a raw CF_CFLB value on `;` and `；` into trimmed, non-empty items.
pub fn split_categories(raw: &str) -> Vec<String> {
    raw.split([';', '；']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The penalty types of CF_CFLB items, without duplicates, in the order of first appearance.
///
/// # Errors
/// `invalid_field` on `national.penalty.categories` naming the first unknown item.
pub fn penalty_types_for(categories: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for item in categories {
        let c = category(item)?;
        if !out.iter().any(|t| t == c.penalty_type()) {
            out.push(c.penalty_type().to_owned());
        }
    }
    Ok(out)
}

fn category(item: &str) -> Result<PenaltyCategory, FieldError> {
    PenaltyCategory::parse(item).ok_or_else(|| {
        let shown: String = item.chars().take(32).collect();
        field_err(
            "invalid_field",
            "national.penalty.categories",
            format!("{shown:?} is not a 处罚类别 (警告, 通报批评, 罚款, 没收违法所得, …, 其他)"),
        )
    })
}

/// Why an amount string is not a 万元 amount. API code `bad_amount`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{shown:?} is not an amount in 万元: {reason}")]
pub struct AmountError {
    /// The input, cut to 32 characters.
    pub shown: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl AmountError {
    /// The API error code.
    pub fn code(&self) -> &'static str {
        "bad_amount"
    }
}

/// Parses a 万元 decimal (CF_NR_FK, CF_NR_WFFF: `0.2` = 2 000 元) into exact 分: digits, and
/// optionally `.` and 1–6 more digits; surrounding white space is ignored. Refused: signs,
/// exponents, units (`2000元`), separators, a bare `.`, more than 6 decimals, over `u64::MAX` 分.
///
/// # Errors
/// [`AmountError`].
pub fn parse_wan_yuan(s: &str) -> Result<u64, AmountError> {
    let t = s.trim();
    let bad = |reason| AmountError { shown: s.chars().take(32).collect(), reason };
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected digits, optionally with a decimal point (e.g. 0.2 for 2000 元)"));
    }
    let frac = frac.unwrap_or("");
    if t.contains('.') && frac.is_empty() {
        return Err(bad("no digits after the decimal point"));
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected digits after the decimal point"));
    }
    if frac.len() > MAX_AMOUNT_DECIMALS {
        return Err(bad("more than 6 decimal places (finer than 1 分)"));
    }
    let int_part = int.trim_start_matches('0');
    let too_big = || bad("too large");
    let whole: u64 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| too_big())? };
    let frac_fen: u64 = format!("{frac:0<6}").parse().expect("six ASCII digits");
    whole.checked_mul(FEN_PER_WAN_YUAN).and_then(|w| w.checked_add(frac_fen)).ok_or_else(too_big)
}

/// 分 as a 万元 decimal, the shortest form [`parse_wan_yuan`] reads back exactly: `200000` →
/// `0.2`, `1000000` → `1`, `1` → `0.000001`.
pub fn format_wan_yuan(fen: u64) -> String {
    let (whole, frac) = (fen / FEN_PER_WAN_YUAN, fen % FEN_PER_WAN_YUAN);
    if frac == 0 {
        return whole.to_string();
    }
    let f = format!("{frac:06}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// 分 as 元 with two decimals: `200000` → `2000.00`.
pub fn format_yuan(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// A 个体工商户's registration number (注册号) when it has no USCC, in normal form: trimmed,
/// ASCII letters uppercased, 8–32 characters of `0-9`, `A-Z` and `-`, not 18 (a USCC's length).
/// A valid USCC is refused (it must travel as `uscc`), and so is a valid resident ID number
/// (personal information) and any other 18-character value (a mistyped USCC).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegistrationNo(String);

/// Why a string is not a registration number. API code `invalid_registration_no`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationNoError {
    /// Length or characters.
    #[error("a registration number has 8-32 characters of 0-9, A-Z and -")]
    Shape,
    /// It is a USCC.
    #[error("this is a USCC: send it as uscc")]
    IsUscc,
    /// It is a resident ID number.
    #[error("this is a resident ID number, which never travels: send it as resident_id")]
    IsResidentId,
    /// 18 characters, the length of a USCC (or an ID number), failing its check: a mistyped
    /// USCC must not pass as a registration number.
    #[error("18 characters is a USCC's length, but not a valid USCC: check its check character")]
    UsccLength,
}

impl RegistrationNoError {
    /// The API error code.
    pub fn code(&self) -> &'static str {
        "invalid_registration_no"
    }
}

impl RegistrationNo {
    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RegistrationNo {
    type Err = RegistrationNoError;
    fn from_str(s: &str) -> Result<RegistrationNo, RegistrationNoError> {
        let t = s.trim().to_ascii_uppercase();
        if !(8..=32).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'-')
        {
            return Err(RegistrationNoError::Shape);
        }
        if t.parse::<Uscc>().is_ok() {
            return Err(RegistrationNoError::IsUscc);
        }
        if t.parse::<ResidentId>().is_ok() {
            return Err(RegistrationNoError::IsResidentId);
        }
        if t.len() == 18 {
            return Err(RegistrationNoError::UsccLength);
        }
        Ok(RegistrationNo(t))
    }
}

text_newtype!(RegistrationNo);

/// Whether `s` contains a valid resident ID number (18 characters of digits or `X` checking).
pub fn contains_resident_id(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    chars.windows(18).any(|w| {
        w.iter().all(|c| c.is_ascii_digit() || *c == 'X' || *c == 'x')
            && w.iter().collect::<String>().parse::<ResidentId>().is_ok()
    })
}

/// The per-kind rules of the national block, in this order (the first failure is reported):
/// kind; subject category against the subject; `subject_name` holds no ID number;
/// `source_unit`; `publicity_until`; legal representative; the penalty part; the licence part.
///
/// # Errors
/// The first [`FieldError`]; fields are named `national.…`.
pub fn validate(c: &RecordContent, n: &NationalFields) -> Result<(), FieldError> {
    let kind = c.kind;
    let (is_penalty, is_licence) =
        (kind == RecordKind::AdministrativePenalty, kind == RecordKind::AdministrativeLicense);
    if !is_penalty && !is_licence {
        return Err(field_err(
            "field_not_allowed",
            "national",
            format!("only for administrative_penalty and administrative_license, not {kind}"),
        ));
    }
    let fits = matches!(
        (n.subject_category, &c.subject),
        (SubjectCategory::LegalEntity, Subject::Uscc(_))
            | (SubjectCategory::IndividualBusiness, Subject::Uscc(_) | Subject::RegistrationNo(_))
            | (SubjectCategory::NaturalPerson, Subject::PersonDigest(_))
    );
    if !fits {
        let need = match n.subject_category {
            SubjectCategory::LegalEntity => "a USCC subject",
            SubjectCategory::IndividualBusiness => "a USCC or registration_no subject",
            SubjectCategory::NaturalPerson => "a person_digest subject",
        };
        return Err(field_err(
            "invalid_field",
            "national.subject_category",
            format!("{} ({}) needs {need}", n.subject_category.chinese(), n.subject_category.as_str()),
        ));
    }
    if c.subject_name.as_deref().is_some_and(contains_resident_id) {
        return Err(field_err("invalid_field", "subject_name", "contains a resident ID number"));
    }
    opt_text("national.source_unit", &n.source_unit, MAX_TEXT_CHARS)?;
    if is_licence && n.authority_uscc.is_none() {
        return Err(field_err("missing_field", "national.authority_uscc", "XK_XKJGDM is required for a licence"));
    }
    if let Some(p) = n.publicity_until {
        if is_licence {
            return Err(field_err("field_not_allowed", "national.publicity_until", "only for administrative_penalty"));
        }
        if p < c.decided_on {
            return Err(field_err(
                "invalid_field",
                "national.publicity_until",
                format!("{p} is before decided_on {}", c.decided_on),
            ));
        }
    }
    if let Some(r) = &n.legal_representative {
        if n.subject_category == SubjectCategory::NaturalPerson {
            return Err(field_err(
                "field_not_allowed",
                "national.legal_representative",
                "a natural person has no legal representative",
            ));
        }
        if r.id_type.is_none() && r.id_digest.is_none() {
            return Err(field_err("missing_field", "national.legal_representative", "id_type or id_digest"));
        }
        opt_text("national.legal_representative.id_type", &r.id_type, 64)?;
    }
    match (&n.penalty, is_penalty) {
        (Some(p), true) => validate_penalty(c, p)?,
        (None, true) => {
            return Err(field_err("missing_field", "national.penalty", "required for administrative_penalty"))
        }
        (Some(_), false) => return Err(field_err("field_not_allowed", "national.penalty", format!("not for {kind}"))),
        (None, false) => {}
    }
    match (&n.licence, is_licence) {
        (Some(l), true) => validate_licence(c, l)?,
        (None, true) => {
            return Err(field_err("missing_field", "national.licence", "required for administrative_license"))
        }
        (Some(_), false) => return Err(field_err("field_not_allowed", "national.licence", format!("not for {kind}"))),
        (None, false) => {}
    }
    Ok(())
}

fn validate_penalty(c: &RecordContent, p: &PenaltyFields) -> Result<(), FieldError> {
    opt_text("national.penalty.violation_type", &p.violation_type, MAX_TEXT_CHARS)?;
    opt_text("national.penalty.content", &p.content, MAX_LONG_TEXT_CHARS)?;
    opt_text("national.penalty.suspended_licence", &p.suspended_licence, MAX_TEXT_CHARS)?;
    list_len("national.penalty.categories", &p.categories)?;
    if p.categories.is_empty() {
        return Err(field_err("missing_field", "national.penalty.categories", "at least one 处罚类别"));
    }
    let mut seen: Vec<PenaltyCategory> = Vec::new();
    for item in &p.categories {
        text("national.penalty.categories", item, 64)?;
        if item.trim() != item || item.contains([';', '；']) {
            return Err(field_err("invalid_field", "national.penalty.categories", "one trimmed item per entry"));
        }
        let cat = category(item)?;
        if seen.contains(&cat) && cat != PenaltyCategory::Other {
            return Err(field_err("invalid_field", "national.penalty.categories", format!("{item} twice")));
        }
        seen.push(cat);
    }
    // The rule table reads `penalty_types`: it must say what the categories say (refinements allowed).
    let covered = |t: &str| seen.iter().any(|cat| cat.accepted_types().contains(&t));
    let missing = seen.iter().find(|cat| !cat.accepted_types().iter().any(|t| c.penalty_types.iter().any(|p| p == t)));
    if let Some(cat) = missing {
        return Err(field_err(
            "invalid_field",
            "penalty_types",
            format!(
                "national.penalty.categories has {} ({}), penalty_types does not",
                cat.chinese(),
                cat.penalty_type()
            ),
        ));
    }
    if let Some(extra) = c.penalty_types.iter().find(|t| !covered(t)) {
        return Err(field_err(
            "invalid_field",
            "penalty_types",
            format!("{extra} is not one of national.penalty.categories"),
        ));
    }
    if let Some(v) = p.valid_until {
        if v < c.decided_on {
            return Err(field_err(
                "invalid_field",
                "national.penalty.valid_until",
                format!("{v} is before decided_on {}", c.decided_on),
            ));
        }
    }
    Ok(())
}

fn validate_licence(c: &RecordContent, l: &LicenceFields) -> Result<(), FieldError> {
    opt_text("national.licence.document_name", &l.document_name, MAX_TEXT_CHARS)?;
    opt_text("national.licence.certificate_name", &l.certificate_name, MAX_TEXT_CHARS)?;
    opt_text("national.licence.certificate_no", &l.certificate_no, MAX_TEXT_CHARS)?;
    opt_text("national.licence.content", &l.content, MAX_LONG_TEXT_CHARS)?;
    if let (Some(from), Some(until)) = (l.valid_from, c.valid_until) {
        if until < from {
            return Err(field_err(
                "invalid_field",
                "national.licence.valid_from",
                format!("{from} is after valid_until {until}"),
            ));
        }
    }
    Ok(())
}

/// XK_YXQZI: the licence's last day of validity, where `2099-12-31` means 长期 (no end).
pub fn licence_valid_until(d: Day) -> Option<Day> {
    (d != Day::from_ymd(2099, 12, 31).expect("a real date")).then_some(d)
}

#[cfg(test)]
mod tests;
