//! A deterministic sample federation log (for tests, benches and documentation examples):
//! Xinyang's node accepting its own delegations, Suzhou's authority delegation, Xinyang
//! penalties (some repaired), Suzhou records and objections against Xinyang records, and
//! rejected and administrative events in between.

use sha2::{Digest, Sha256};

use crate::audit::{AuditEvent, Source};
use crate::envelope::ObjectId;
use crate::keys::SecretKey;
use crate::objects::{
    Body, DelegationBody, Nonce, ObjectionBody, RecordBody, RecordContent, RepairBody, RevocationBody, Subject,
};
use crate::{Classification, Day, ObjectType, RecordKind, RegionId, Role, Scope, Severity};

use super::BundleBuilder;

/// Signing time of the first sample object (2026-09-21).
pub const SAMPLE_T0: u64 = 1_790_000_000;

/// The keys behind a sample log.
pub struct SampleKeys {
    /// Xinyang root.
    pub root: SecretKey,
    /// Xinyang node key.
    pub node: SecretKey,
    /// Xinyang authority key (every record kind, repair, objection…).
    pub authority: SecretKey,
    /// Suzhou root.
    pub peer_root: SecretKey,
    /// Suzhou authority key.
    pub peer_authority: SecretKey,
}

/// A deterministic key: seed = SHA-256(label).
pub fn sample_key(label: &str) -> SecretKey {
    SecretKey::from_bytes(&Sha256::digest(label.as_bytes())).expect("32 bytes")
}

/// A valid USCC of an enterprise (`91`) registered in `division` (6 digits), numbered `n`
/// (GB 32100 check character computed): distinct `n` below 10^7 give distinct codes.
///
/// # Panics
/// When `division` is not 6 ASCII digits.
pub fn uscc(division: &str, n: u64) -> crate::uscc::Uscc {
    let first17 = format!("91{division}MA{:07}", n % 10_000_000);
    let c = crate::uscc::expected_check_char(&first17).expect("17 valid characters");
    format!("{first17}{c}").parse().expect("a computed check character is valid")
}

/// The JSON draft a city platform posts to `POST /v1/records` (DESIGN §7) for a public
/// penalty like [`penalty`]: `severity` is `minor`, `general` or `serious`.
pub fn penalty_draft(uscc: &str, decision_no: &str, decided_on: &str, severity: &str) -> serde_json::Value {
    serde_json::json!({
        "kind": "administrative_penalty", "subject": {"uscc": uscc}, "subject_name": "信阳某商贸有限公司",
        "authority": "信阳市市场监督管理局", "decision_no": decision_no,
        "legal_basis": "《中华人民共和国食品安全法》第一百二十四条", "facts": "销售不符合食品安全标准的食品",
        "severity": severity, "sector": "market_regulation", "decided_on": decided_on, "classification": "public"
    })
}

/// A deterministic xorshift64 generator for reproducible test inputs (seeds print in test
/// output so a failure replays). Not for keys or nonces.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift never leaves 0).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// A value in `lo..hi` (`lo < hi`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
}

/// A public, general administrative penalty of Xinyang's market regulator (food safety, a fine)
/// about `subject`: the record content samples, tests and benches start from (override fields
/// with struct update syntax).
pub fn penalty(subject: Subject, decision_no: String, decided_on: Day) -> RecordContent {
    RecordContent {
        kind: RecordKind::AdministrativePenalty,
        subject,
        subject_name: Some("信阳某商贸有限公司".into()),
        authority: "信阳市市场监督管理局".into(),
        decision_no,
        legal_basis: "《中华人民共和国食品安全法》第一百二十四条".into(),
        facts: Some("销售超过保质期的食品".into()),
        severity: Some(Severity::General),
        sector: "market_regulation".into(),
        decided_on,
        classification: Classification::Public,
        published_on: None,
        penalty_types: vec!["fine".into()],
        not_repairable: false,
        valid_until: None,
        grade: None,
        grade_scheme: None,
        repair_notice: None,
        national: None,
    }
}

fn region(s: &str) -> RegionId {
    s.parse().expect("valid region")
}

/// A sample log and its keys.
pub struct SampleLog {
    /// The log.
    pub log: BundleBuilder,
    /// Its keys.
    pub keys: SampleKeys,
    /// Ids of the Xinyang records.
    pub records: Vec<ObjectId>,
    counter: u64,
}

fn all_scopes() -> Vec<Scope> {
    let mut s: Vec<Scope> = RecordKind::ALL.iter().map(|k| Scope::Record(*k)).collect();
    s.extend(
        [ObjectType::Repair, ObjectType::Withdrawal, ObjectType::Correction, ObjectType::Objection].map(Scope::Object),
    );
    s.extend(
        [ObjectType::ObjectionResolution, ObjectType::BenefitScheme, ObjectType::MeasureApplied].map(Scope::Object),
    );
    s
}

impl SampleLog {
    /// The log with delegations only (7 leaves: node and authority delegations of Xinyang with
    /// their `published` events, Suzhou's authority delegation, one admin change).
    pub fn new() -> SampleLog {
        let keys = SampleKeys {
            root: sample_key("xinyang root"),
            node: sample_key("xinyang node"),
            authority: sample_key("xinyang authority"),
            peer_root: sample_key("suzhou root"),
            peer_authority: sample_key("suzhou authority"),
        };
        let mut log = BundleBuilder::new(region("xinyang"), keys.root.public(), &keys.node, SAMPLE_T0);
        log.pin(region("suzhou"), keys.peer_root.public());
        let mut s = SampleLog { log, keys, records: Vec::new(), counter: 0 };
        let node = s.keys.node.public();
        let auth = s.keys.authority.public();
        let peer_auth = s.keys.peer_authority.public();
        s.log.event(&AuditEvent::AdminChange {
            at: SAMPLE_T0,
            token_id: "local".into(),
            action: "trust.pin".into(),
            detail: "suzhou".into(),
        });
        let d = s.delegation("xinyang", node, Role::Node, Vec::new());
        s.log.accept_body(&d, &s.keys.root.clone());
        let d = s.delegation("xinyang", auth, Role::Authority, all_scopes());
        s.log.accept_body(&d, &s.keys.root.clone());
        let d = s.delegation("suzhou", peer_auth, Role::Authority, all_scopes());
        s.log.accept_body(&d, &s.keys.peer_root.clone());
        s
    }

    /// A fresh 16-byte nonce and the next signing time.
    fn next(&mut self) -> (Nonce, u64) {
        self.counter += 1;
        let h = Sha256::digest(self.counter.to_be_bytes());
        (Nonce::from_bytes(&h[..16]).expect("16 bytes"), SAMPLE_T0 + 10 + self.counter)
    }

    fn delegation(&mut self, reg: &str, key: crate::keys::PublicKey, role: Role, scopes: Vec<Scope>) -> Body {
        let (nonce, signed_at) = self.next();
        Body::Delegation(DelegationBody {
            region: region(reg),
            signed_at,
            nonce,
            key,
            role,
            authority_name: format!("{reg} key"),
            scopes,
            not_before: SAMPLE_T0 - 86_400,
            not_after: SAMPLE_T0 + 2 * 365 * 86_400,
        })
    }

    /// A record body of `reg`, not logged.
    pub fn record_body(&mut self, reg: &str) -> Body {
        let (nonce, signed_at) = self.next();
        self.log.set_time(signed_at + 1);
        Body::Record(RecordBody {
            region: region(reg),
            signed_at,
            nonce,
            record: penalty(
                Subject::Uscc(sample_uscc()),
                format!("信市监罚〔2026〕{}号", self.counter),
                Day::from_ymd(2026, 9, 1).expect("valid day"),
            ),
        })
    }

    /// Logs one more Xinyang record (2 leaves).
    pub fn own_record(&mut self) -> ObjectId {
        let b = self.record_body("xinyang");
        let id = self.log.accept_body(&b, &self.keys.authority.clone());
        self.records.push(id);
        id
    }

    /// Logs a Suzhou record received from a peer (1 leaf).
    pub fn peer_record(&mut self) -> ObjectId {
        let b = self.record_body("suzhou");
        self.log.accept_body(&b, &self.keys.peer_authority.clone())
    }

    /// Logs a repair of `target` by Xinyang's authority.
    pub fn repair(&mut self, target: ObjectId) -> ObjectId {
        let (nonce, signed_at) = self.next();
        self.log.set_time(signed_at + 1);
        let b = Body::Repair(RepairBody {
            region: region("xinyang"),
            signed_at,
            nonce,
            target,
            repaired_on: Day::from_ymd(2026, 12, 1).expect("valid day"),
            basis: "已履行行政处罚决定".into(),
        });
        self.log.accept_body(&b, &self.keys.authority.clone())
    }

    /// Logs an objection against `target` filed through Suzhou.
    pub fn objection(&mut self, target: ObjectId) -> ObjectId {
        let (nonce, signed_at) = self.next();
        self.log.set_time(signed_at + 1);
        let b = Body::Objection(ObjectionBody {
            region: region("suzhou"),
            signed_at,
            nonce,
            target,
            ground: crate::kind::ObjectionGround::Inaccurate,
            statement: "处罚决定已撤销".into(),
            filed_on: Day::from_ymd(2026, 10, 1).expect("valid day"),
        });
        self.log.accept_body(&b, &self.keys.peer_authority.clone())
    }

    /// Logs a revocation of `key` (by its region's root) from `revoked_from`.
    pub fn revoke(&mut self, reg: &str, root: &SecretKey, key: crate::keys::PublicKey, revoked_from: u64) -> ObjectId {
        let (nonce, signed_at) = self.next();
        self.log.set_time(signed_at + 1);
        let b = Body::Revocation(RevocationBody {
            region: region(reg),
            signed_at,
            nonce,
            key,
            revoked_from,
            reason: "key_compromise".into(),
        });
        self.log.accept_body(&b, root)
    }

    /// Logs a rejected submission.
    pub fn rejected(&mut self) {
        let (_, at) = self.next();
        self.log.event(&AuditEvent::Rejected {
            at,
            bytes_hash: ObjectId([7; 32]),
            code: "not_origin".into(),
            reason: "only the origin region may repair".into(),
            source: Source::Http { token_id: "t1".into() },
        });
    }

    /// A mixed log of about `n` objects: mostly own records, with peer records, repairs,
    /// objections and rejected submissions in between.
    pub fn mixed(n: usize) -> SampleLog {
        let mut s = SampleLog::new();
        for i in 0..n {
            match i % 10 {
                3 => {
                    s.peer_record();
                }
                5 if !s.records.is_empty() => {
                    let t = s.records[i % s.records.len()];
                    s.repair(t);
                }
                7 if !s.records.is_empty() => {
                    let t = s.records[(i / 2) % s.records.len()];
                    s.objection(t);
                }
                9 => s.rejected(),
                _ => {
                    s.own_record();
                }
            }
        }
        s
    }
}

impl Default for SampleLog {
    fn default() -> SampleLog {
        SampleLog::new()
    }
}

fn sample_uscc() -> crate::uscc::Uscc {
    "91310110666007217T".parse().expect("DOMAIN R1.7 example")
}
