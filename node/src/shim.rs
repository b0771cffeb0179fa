//! TEMPORARY SHIMS for protocol modules that are landing on `main` (merkle, checkpoint, rules,
//! status, eligibility, person digests, USCC check characters). Each is written against the
//! planned signature and is deleted once the real module is merged.
#![allow(dead_code, missing_docs)]

pub mod merkle;

/// Planned `protocol::checkpoint` (C2SP tlog-checkpoint as a C2SP signed note).
pub mod checkpoint {
    use base64::Engine;
    use credfed_protocol::keys::{PublicKey, SecretKey, Signature};
    use sha2::{Digest, Sha256};

    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Checkpoint {
        pub origin: String,
        pub size: u64,
        pub root: [u8; 32],
        pub extensions: Vec<String>,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("checkpoint: {0}")]
    pub struct CheckpointError(pub String);

    fn key_id(name: &str, key: &PublicKey) -> [u8; 4] {
        let mut h = Sha256::new();
        h.update(name.as_bytes());
        h.update([0x0a, 0x01]);
        h.update(key.as_bytes());
        let d = h.finalize();
        [d[0], d[1], d[2], d[3]]
    }

    impl Checkpoint {
        pub fn body(&self) -> String {
            let b64 = base64::engine::general_purpose::STANDARD.encode(self.root);
            let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, b64);
            for e in &self.extensions {
                s.push_str(e);
                s.push('\n');
            }
            s
        }
    }

    pub fn sign_checkpoint(
        cp: &Checkpoint,
        name: &str,
        key: &SecretKey,
    ) -> Result<String, CheckpointError> {
        let body = cp.body();
        let sig = key.sign(body.as_bytes());
        let mut blob = key_id(name, &key.public()).to_vec();
        blob.extend_from_slice(sig.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
        Ok(format!("{body}\n\u{2014} {name} {b64}\n"))
    }

    pub fn open_checkpoint(
        note: &str,
        name: &str,
        key: &PublicKey,
    ) -> Result<Checkpoint, CheckpointError> {
        let err = |m: &str| CheckpointError(m.to_string());
        let (body, sigs) = note
            .split_once("\n\n")
            .ok_or_else(|| err("no signature block"))?;
        let body = format!("{body}\n");
        let want = key_id(name, key);
        let ok = sigs.lines().any(|l| {
            let Some(rest) = l.strip_prefix("\u{2014} ") else {
                return false;
            };
            let Some((n, b64)) = rest.split_once(' ') else {
                return false;
            };
            let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(b64) else {
                return false;
            };
            n == name
                && blob.len() == 68
                && blob[..4] == want
                && Signature::from_bytes(&blob[4..]).is_ok_and(|s| key.verify(body.as_bytes(), &s))
        });
        if !ok {
            return Err(err("no valid signature by the expected key"));
        }
        let mut lines = body.lines();
        let origin = lines.next().ok_or_else(|| err("origin"))?.to_string();
        let size = lines
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| err("size"))?;
        let root_b = lines
            .next()
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .ok_or_else(|| err("root"))?;
        let root: [u8; 32] = root_b.try_into().map_err(|_| err("root length"))?;
        Ok(Checkpoint {
            origin,
            size,
            root,
            extensions: lines.map(str::to_string).collect(),
        })
    }
}

/// Planned `protocol::rules`.
pub mod rules {
    use serde::Serialize;

    #[derive(Clone, Debug, Default)]
    pub struct RuleSet;
    impl RuleSet {
        pub fn builtin() -> RuleSet {
            RuleSet
        }
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    pub struct RuleRef {
        pub rule: String,
        pub regime: String,
    }

    #[derive(Debug, Clone, thiserror::Error)]
    pub enum RepairDenied {
        #[error("minimum publicity period not elapsed: repair possible from {earliest} ({rule})")]
        MinPublicityNotElapsed {
            earliest: credfed_protocol::Day,
            rule: String,
        },
        #[error("record is not repairable")]
        NotRepairable,
    }
    impl RepairDenied {
        pub fn code(&self) -> &'static str {
            match self {
                RepairDenied::MinPublicityNotElapsed { .. } => "min_publicity_not_elapsed",
                RepairDenied::NotRepairable => "not_repairable",
            }
        }
    }
}

/// Planned `protocol::status`.
pub mod status {
    use credfed_protocol::envelope::ObjectId;
    use credfed_protocol::objects::{Body, RecordContent};
    use credfed_protocol::{Day, RegionId, Severity};
    use serde::Serialize;

    use super::rules::{RepairDenied, RuleRef, RuleSet};

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Status {
        Active,
        UnderObjection,
        Repaired,
        Withdrawn,
        Superseded,
        Expired,
    }

    #[derive(Clone, Debug)]
    pub struct Related {
        pub id: ObjectId,
        pub region: RegionId,
        pub body: Body,
    }

    #[derive(Clone, Debug, Serialize)]
    pub struct PublicityDecision {
        pub until: Option<Day>,
        pub earliest_repair: Option<Day>,
    }

    #[derive(Clone, Debug, Serialize)]
    pub struct HistoryItem {
        pub id: ObjectId,
        pub region: RegionId,
        pub event: String,
        pub on: Day,
    }

    #[derive(Clone, Debug, Serialize)]
    pub struct StatusReport {
        pub status: Status,
        pub since: Option<Day>,
        pub rule: RuleRef,
        pub publicity: PublicityDecision,
        pub body_visible: bool,
        pub history: Vec<HistoryItem>,
        pub open_objections: Vec<ObjectId>,
    }

    fn periods(c: &RecordContent) -> (Option<u32>, Option<u32>) {
        match c.severity {
            Some(Severity::Serious) => (Some(12), Some(36)),
            Some(Severity::General) => (Some(3), Some(12)),
            Some(Severity::Minor) => (Some(0), Some(3)),
            None => (None, None),
        }
    }

    fn rule() -> RuleRef {
        RuleRef {
            rule: "R3.10".into(),
            regime: "shim".into(),
        }
    }

    pub fn derive(
        _origin: &RegionId,
        content: &RecordContent,
        related: &[Related],
        as_of: Day,
        _rules: &RuleSet,
    ) -> Option<StatusReport> {
        if as_of < content.decided_on {
            return None;
        }
        let (min, max) = periods(content);
        let mut history = Vec::new();
        let mut status = Status::Active;
        let mut since = Some(content.decided_on);
        let mut open = Vec::new();
        for r in related {
            let (event, on) = match &r.body {
                Body::Repair(b) => ("repair", b.repaired_on),
                Body::Withdrawal(b) => ("withdrawal", b.withdrawn_on),
                Body::Correction(b) => ("correction", b.corrected_on),
                Body::Objection(b) => ("objection", b.filed_on),
                Body::ObjectionResolution(b) => ("objection_resolution", b.resolved_on),
                _ => continue,
            };
            if on > as_of {
                continue;
            }
            history.push(HistoryItem {
                id: r.id,
                region: r.region.clone(),
                event: event.into(),
                on,
            });
        }
        history.sort_by_key(|h| h.on);
        for h in &history {
            match h.event.as_str() {
                "objection" => open.push(h.id),
                "objection_resolution" => {
                    if let Some(Related {
                        body: Body::ObjectionResolution(b),
                        ..
                    }) = related.iter().find(|r| r.id == h.id)
                    {
                        open.retain(|o| *o != b.objection);
                    }
                }
                _ => {}
            }
        }
        for h in &history {
            let s = match h.event.as_str() {
                "repair" => Status::Repaired,
                "withdrawal" => Status::Withdrawn,
                "correction" => Status::Superseded,
                _ => continue,
            };
            status = s;
            since = Some(h.on);
        }
        let until = max.map(|m| content.decided_on.add_months(m));
        if status == Status::Active {
            if let Some(u) = until {
                if as_of >= u {
                    status = Status::Expired;
                    since = Some(u);
                }
            }
            if status == Status::Active && !open.is_empty() {
                status = Status::UnderObjection;
            }
        }
        let body_visible = matches!(status, Status::Active | Status::UnderObjection);
        Some(StatusReport {
            status,
            since,
            rule: rule(),
            publicity: PublicityDecision {
                until,
                earliest_repair: min.map(|m| content.decided_on.add_months(m)),
            },
            body_visible,
            history,
            open_objections: open,
        })
    }

    pub fn check_repair(
        _origin: &RegionId,
        content: &RecordContent,
        _related: &[Related],
        repair_on: Day,
        _rules: &RuleSet,
    ) -> Result<RuleRef, RepairDenied> {
        if content.not_repairable {
            return Err(RepairDenied::NotRepairable);
        }
        let (min, _) = periods(content);
        let earliest = content.decided_on.add_months(min.unwrap_or(0));
        if repair_on < earliest {
            return Err(RepairDenied::MinPublicityNotElapsed {
                earliest,
                rule: "R3.10".into(),
            });
        }
        Ok(rule())
    }
}

/// Planned `protocol::eligibility`.
pub mod eligibility {
    use credfed_protocol::envelope::ObjectId;
    use credfed_protocol::objects::{BenefitSchemeBody, RecordContent, Subject};
    use credfed_protocol::{Day, RegionId};
    use serde::Serialize;

    use super::status::{Status, StatusReport};

    #[derive(Clone, Debug, Serialize)]
    pub struct Reason {
        pub rule: String,
        pub record: Option<ObjectId>,
        pub region: Option<RegionId>,
        pub detail: String,
    }

    #[derive(Clone, Debug, Serialize)]
    pub struct Eligibility {
        pub eligible: bool,
        pub scheme: String,
        pub reasons: Vec<Reason>,
    }

    pub fn evaluate(
        scheme: &BenefitSchemeBody,
        _subject: &Subject,
        records: &[(ObjectId, RegionId, RecordContent, StatusReport)],
        as_of: Day,
    ) -> Eligibility {
        let mut reasons = Vec::new();
        if as_of < scheme.valid_from || as_of > scheme.valid_until {
            reasons.push(Reason {
                rule: "scheme_not_valid".into(),
                record: None,
                region: None,
                detail: "".into(),
            });
        }
        for (id, region, c, st) in records {
            if !scheme.recognised_regions.contains(region) {
                continue;
            }
            let live = matches!(st.status, Status::Active | Status::UnderObjection);
            let hit = scheme.disqualifying.iter().any(|d| {
                d.kind == c.kind
                    && d.severity
                        .is_none_or(|s| c.severity.is_some_and(|cs| cs >= s))
            });
            if live && hit {
                reasons.push(Reason {
                    rule: "disqualifying_record".into(),
                    record: Some(*id),
                    region: Some(region.clone()),
                    detail: c.kind.to_string(),
                });
            }
        }
        Eligibility {
            eligible: reasons.is_empty(),
            scheme: scheme.code.clone(),
            reasons,
        }
    }
}

/// Planned `protocol::person` compute + `protocol::uscc` check characters.
pub mod ids {
    use credfed_protocol::person::PersonDigest;
    use hmac_free::hmac_sha256;

    pub fn digest_from_bytes(b: [u8; 32]) -> PersonDigest {
        PersonDigest(b)
    }

    pub fn person_digest(secret: &[u8], resident_id: &str) -> PersonDigest {
        PersonDigest(hmac_sha256(secret, resident_id.as_bytes()))
    }

    mod hmac_free {
        use sha2::{Digest, Sha256};
        pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
            let mut k = [0u8; 64];
            if key.len() > 64 {
                k[..32].copy_from_slice(&Sha256::digest(key));
            } else {
                k[..key.len()].copy_from_slice(key);
            }
            let mut i = Sha256::new();
            i.update(k.map(|b| b ^ 0x36));
            i.update(msg);
            let mut o = Sha256::new();
            o.update(k.map(|b| b ^ 0x5c));
            o.update(i.finalize());
            o.finalize().into()
        }
    }

    const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const USCC_W: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];

    /// GB 32100-2015 check: `Err(expected check char or message)`.
    pub fn check_uscc(s: &str) -> Result<(), String> {
        let v: Vec<char> = s.chars().collect();
        if v.len() != 18 {
            return Err(format!("USCC must be 18 characters, got {}", v.len()));
        }
        let mut sum = 0;
        for (i, c) in v[..17].iter().enumerate() {
            let Some(p) = USCC_CHARS.find(*c) else {
                return Err(format!("invalid character {c:?}"));
            };
            sum += p as u32 * USCC_W[i];
        }
        let expect = USCC_CHARS.as_bytes()[((31 - sum % 31) % 31) as usize] as char;
        if v[17] != expect {
            return Err(format!(
                "invalid USCC check character {:?}: expected {expect:?}",
                v[17]
            ));
        }
        Ok(())
    }
}
