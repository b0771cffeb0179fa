//! Closed vocabularies shared by every object: record kinds (DOMAIN R6.2), severities
//! (DOMAIN R3.10), data classifications (DESIGN §3) and object types.

use serde::{Deserialize, Serialize};

macro_rules! snake_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $var,)* }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var,)*];
            /// The wire name (snake_case).
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $s,)* } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
        impl std::str::FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s { $($s => Ok($name::$var),)* _ => Err(UnknownName { what: stringify!($name), input: s.chars().take(64).collect() }) }
            }
        }
    };
}

/// A name outside a closed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {input:?}")]
pub struct UnknownName {
    /// Which vocabulary.
    pub what: &'static str,
    /// The rejected name.
    pub input: String,
}

snake_enum! {
    /// Category of a credit record (DOMAIN R6.2; the 十公示 categories and list/grade kinds).
    RecordKind {
        /// 行政许可
        AdministrativeLicense = "administrative_license",
        /// 行政处罚
        AdministrativePenalty = "administrative_penalty",
        /// 行政强制
        AdministrativeEnforcement = "administrative_enforcement",
        /// 行政确认
        AdministrativeConfirmation = "administrative_confirmation",
        /// 行政征收
        AdministrativeLevy = "administrative_levy",
        /// 行政给付
        AdministrativePayment = "administrative_payment",
        /// 行政裁决
        AdministrativeAdjudication = "administrative_adjudication",
        /// 行政补偿
        AdministrativeCompensation = "administrative_compensation",
        /// 行政奖励
        AdministrativeReward = "administrative_reward",
        /// 行政监督检查
        AdministrativeInspection = "administrative_inspection",
        /// 严重失信主体名单
        DishonestyList = "dishonesty_list",
        /// 信用承诺
        CreditCommitment = "credit_commitment",
        /// 信用评价结果 (sector-specific grade, DOMAIN R7.1)
        CreditGrade = "credit_grade",
        /// 诚实守信相关荣誉 / 守信激励 (red list)
        Honor = "honor",
        /// 政务失信 (DOMAIN R9.2)
        GovernmentBreach = "government_breach",
        /// 司法裁判及执行 (e.g. 失信被执行人)
        JudicialEnforcement = "judicial_enforcement",
    }
}

impl RecordKind {
    /// Dishonesty information (失信信息, DOMAIN R3.3): negative records that carry a publicity
    /// period and may be repaired.
    pub fn is_dishonesty(self) -> bool {
        matches!(
            self,
            RecordKind::AdministrativePenalty
                | RecordKind::DishonestyList
                | RecordKind::GovernmentBreach
                | RecordKind::JudicialEnforcement
        )
    }

    /// Kinds that must carry a severity.
    pub fn requires_severity(self) -> bool {
        matches!(self, RecordKind::AdministrativePenalty | RecordKind::GovernmentBreach)
    }

    /// The ten 十公示 administrative-action categories (DOMAIN R2.1, R2.3).
    pub fn is_administrative_action(self) -> bool {
        (self as u8) <= (RecordKind::AdministrativeInspection as u8)
    }
}

snake_enum! {
    /// Severity of dishonest conduct (DOMAIN R3.10: 轻微 / 一般 / 严重).
    Severity {
        /// 轻微
        Minor = "minor",
        /// 一般
        General = "general",
        /// 严重
        Serious = "serious",
    }
}

snake_enum! {
    /// Data classification of a record (DESIGN §3, DOMAIN R6.4).
    Classification {
        /// 公开: every region.
        Public = "public",
        /// 有条件共享: only regions the origin's policy entitles.
        Shared = "shared",
        /// 不予共享: never leaves the origin.
        Restricted = "restricted",
    }
}

snake_enum! {
    /// The `type` discriminator of an envelope body (DESIGN §3).
    ObjectType {
        /// Root delegates a key.
        Delegation = "delegation",
        /// Root revokes a key.
        Revocation = "revocation",
        /// A credit record.
        Record = "record",
        /// 信用修复 notice.
        Repair = "repair",
        /// 撤销.
        Withdrawal = "withdrawal",
        /// New version superseding a record.
        Correction = "correction",
        /// 异议 filed.
        Objection = "objection",
        /// Outcome of an objection.
        ObjectionResolution = "objection_resolution",
        /// 信易+ benefit scheme.
        BenefitScheme = "benefit_scheme",
        /// 联合奖惩 feedback.
        MeasureApplied = "measure_applied",
        /// A region applied an origin's object.
        Receipt = "receipt",
    }
}

snake_enum! {
    /// Grounds for an objection (DOMAIN R5.1).
    ObjectionGround {
        /// 错误、遗漏
        Inaccurate = "inaccurate",
        /// 重复公示
        Duplicated = "duplicated",
        /// 不应公示
        ShouldNotBePublished = "should_not_be_published",
        /// 超期公示
        OverPeriod = "over_period",
        /// inconsistent with the identifying authority's record
        InconsistentWithAuthority = "inconsistent_with_authority",
    }
}

snake_enum! {
    /// Outcome of an objection (DOMAIN R5.6).
    ObjectionOutcome {
        /// The record was wrong and is corrected (a correction or withdrawal follows).
        Corrected = "corrected",
        /// The objection is rejected; the mark is removed.
        Rejected = "rejected",
        /// Could not be verified; the objection stays noted.
        Unverifiable = "unverifiable",
    }
}

snake_enum! {
    /// What a delegated key is for (DESIGN §2).
    Role {
        /// A node key: libp2p identity, feed entries, checkpoints, receipts.
        Node = "node",
        /// An authority key: signs the object kinds in its scopes.
        Authority = "authority",
    }
}

/// What a delegation lets a key sign: a record kind, or a non-record object type.
///
/// Encoded as a single snake_case string: the record kind name (`administrative_penalty`) or the
/// object type name (`repair`). The two vocabularies do not overlap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// May sign records of this kind (and corrections of them).
    Record(RecordKind),
    /// May sign objects of this (non-record) type.
    Object(ObjectType),
}

impl Scope {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Record(k) => k.as_str(),
            Scope::Object(t) => t.as_str(),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Scope, UnknownName> {
        if let Ok(k) = s.parse::<RecordKind>() {
            return Ok(Scope::Record(k));
        }
        match s.parse::<ObjectType>() {
            Ok(ObjectType::Record) | Err(_) => Err(UnknownName { what: "Scope", input: s.chars().take(64).collect() }),
            Ok(t) => Ok(Scope::Object(t)),
        }
    }
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Scope, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in RecordKind::ALL {
            assert_eq!(k.as_str().parse::<RecordKind>().unwrap(), *k);
            assert_eq!(k.as_str().parse::<Scope>().unwrap(), Scope::Record(*k));
        }
        for t in ObjectType::ALL.iter().filter(|t| **t != ObjectType::Record) {
            assert_eq!(t.as_str().parse::<Scope>().unwrap(), Scope::Object(*t));
        }
        assert!("record".parse::<Scope>().is_err());
        assert!("Penalty".parse::<RecordKind>().is_err());
    }

    #[test]
    fn ten_administrative_actions() {
        let n = RecordKind::ALL.iter().filter(|k| k.is_administrative_action()).count();
        assert_eq!(n, 10);
    }
}
