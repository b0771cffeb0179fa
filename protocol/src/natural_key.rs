//! The natural key of a record (issue 10, PLATFORM.md): the issuing region, the kind, the
//! decision document number and the subject. A city platform's row is identified by it, not by
//! the object id (which changes with every signing: nonce, time). The node holds at most one
//! record of its own region per natural key, so re-sending a row is idempotent and the same key
//! with different content is a conflict the platform resolves with a correction.
//!
//! The key is `SHA-256("credfed/natural-key/v1" ‖ for each of origin, kind, decision number,
//! subject key: u32-BE length ‖ UTF-8 bytes)`. The decision number is compared after trimming
//! surrounding white space (ASCII and U+3000); nothing else is normalised: `〔2026〕` and
//! `[2026]` are different documents as far as the federation can tell.

use sha2::{Digest, Sha256};

use crate::objects::RecordContent;
use crate::region::RegionId;

/// Domain separator of version 1.
const DOMAIN: &[u8] = b"credfed/natural-key/v1";

/// A record's natural key (32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct NaturalKey(pub [u8; 32]);

impl NaturalKey {
    /// The key of `content` as issued by `origin`.
    pub fn of(origin: &RegionId, content: &RecordContent) -> NaturalKey {
        let mut h = Sha256::new();
        h.update(DOMAIN);
        let subject = content.subject.key();
        let parts = [origin.as_str(), content.kind.as_str(), decision_no(&content.decision_no), subject.as_str()];
        for p in parts {
            h.update((p.len() as u32).to_be_bytes());
            h.update(p.as_bytes());
        }
        NaturalKey(h.finalize().into())
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// The decision number as compared: surrounding ASCII and ideographic white space removed.
pub fn decision_no(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\u{3000}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::sample;
    use crate::objects::Subject;
    use crate::RecordKind;

    fn content(no: &str, uscc: &str) -> RecordContent {
        sample::penalty(Subject::Uscc(uscc.parse().unwrap()), no.into(), "2026-03-02".parse().unwrap())
    }

    const USCC: &str = "91320594780268314T";

    #[test]
    fn vector_v1() {
        // Fixed vector: changing the derivation breaks every node's index (a new version then).
        let k = NaturalKey::of(&"xinyang".parse().unwrap(), &content("信市监罚〔2026〕15号", USCC));
        let mut h = Sha256::new();
        h.update(b"credfed/natural-key/v1");
        for p in ["xinyang", "administrative_penalty", "信市监罚〔2026〕15号", &format!("uscc:{USCC}")] {
            h.update((p.len() as u32).to_be_bytes());
            h.update(p.as_bytes());
        }
        assert_eq!(k.0, <[u8; 32]>::from(h.finalize()));
    }

    #[test]
    fn same_row_same_key_whatever_else_differs() {
        let r: RegionId = "xinyang".parse().unwrap();
        let a = content("信市监罚〔2026〕15号", USCC);
        let mut b = content("\u{3000}信市监罚〔2026〕15号 ", USCC);
        b.facts = Some("另一段事实".into());
        b.legal_basis = "other".into();
        assert_eq!(NaturalKey::of(&r, &a), NaturalKey::of(&r, &b));
    }

    #[test]
    fn each_part_of_the_key_counts() {
        let r: RegionId = "xinyang".parse().unwrap();
        let a = content("信市监罚〔2026〕15号", USCC);
        let base = NaturalKey::of(&r, &a);
        assert_ne!(base, NaturalKey::of(&"suzhou".parse().unwrap(), &a));
        assert_ne!(base, NaturalKey::of(&r, &content("信市监罚〔2026〕16号", USCC)));
        let mut k = a.clone();
        k.kind = RecordKind::DishonestyList;
        assert_ne!(base, NaturalKey::of(&r, &k));
        // Length prefixes: moving a boundary between parts changes the key.
        let x = NaturalKey::of(&"ab".parse().unwrap(), &content("c", USCC));
        let y = NaturalKey::of(&"a".parse().unwrap(), &content("bc", USCC));
        assert_ne!(x, y);
    }
}
