//! The C2SP tlog-witness `add-checkpoint` request body (<https://c2sp.org/tlog-witness>):
//!
//! ```text
//! old <size>\n
//! <base64 consistency-proof hash>\n   (0 to 63 lines)
//! \n
//! <signed checkpoint note>
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::note::{NoteError, MAX_NOTE_LEN};
use crate::merkle::{Hash, MAX_TREE_SIZE};

/// Most consistency-proof lines a request may carry (the spec's bound).
pub const MAX_PROOF_LINES: usize = 63;

/// A parsed `add-checkpoint` request. The note is not verified here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness last cosigned (0: none).
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub note: String,
}

impl AddCheckpoint {
    /// Parses the body strictly: `old` line in canonical decimal (at most 2^63 − 1), canonical
    /// base64 32-byte hashes, a blank line, then the note (at most [`MAX_NOTE_LEN`] bytes).
    ///
    /// # Errors
    /// [`NoteError::MalformedRequest`] or [`NoteError::TooLarge`].
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, NoteError> {
        let bad = NoteError::MalformedRequest;
        let max = MAX_NOTE_LEN + 64 + MAX_PROOF_LINES * 45 + 1;
        if body.len() > max {
            return Err(NoteError::TooLarge { what: "add-checkpoint request", len: body.len(), max });
        }
        let text = std::str::from_utf8(body).map_err(|_| bad("not UTF-8"))?;
        let (head, note) = text.split_once("\n\n").ok_or(bad("missing blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines.next().and_then(|l| l.strip_prefix("old ")).ok_or(bad("first line must be old <size>"))?;
        let canonical =
            !old.is_empty() && old.bytes().all(|b| b.is_ascii_digit()) && (old.len() == 1 || !old.starts_with('0'));
        let old_size: u64 = old.parse().ok().filter(|n| canonical && *n <= MAX_TREE_SIZE).ok_or(bad("old size"))?;
        let mut proof = Vec::new();
        for l in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let raw = B64.decode(l).map_err(|_| bad("proof line is not canonical base64"))?;
            proof.push(raw.try_into().map_err(|_| bad("proof line is not a 32-byte hash"))?);
        }
        if note.is_empty() {
            return Err(bad("missing checkpoint"));
        }
        Ok(AddCheckpoint { old_size, proof, note: note.to_owned() })
    }

    /// The request body.
    pub fn to_text(&self) -> String {
        let mut s = format!("old {}\n", self.old_size);
        for h in &self.proof {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.note);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_malformed_ones_are_refused() {
        let note = "o\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} k AAAA\n".to_string();
        let r = AddCheckpoint { old_size: 1, proof: vec![[7; 32], [8; 32]], note: note.clone() };
        assert_eq!(AddCheckpoint::parse(r.to_text().as_bytes()).unwrap(), r);
        let empty = AddCheckpoint { old_size: 0, proof: vec![], note: note.clone() };
        assert_eq!(empty.to_text(), format!("old 0\n\n{note}"));
        assert_eq!(AddCheckpoint::parse(empty.to_text().as_bytes()).unwrap(), empty);
        let h = B64.encode([7u8; 32]);
        for bad in [
            String::new(),
            format!("old 1\n{h}\n{note}"),
            format!("old 01\n\n{note}"),
            format!("old -1\n\n{note}"),
            format!("old  1\n\n{note}"),
            format!("Old 1\n\n{note}"),
            format!("old 9223372036854775808\n\n{note}"),
            format!("old 1\n{}\n\n{note}", B64.encode([7u8; 31])),
            format!("old 1\n{}\n\n{note}", &h[..43]),
            format!("old 1\n{}\n\n{note}", vec![h.as_str(); 64].join("\n")),
            "old 1\n\n".to_string(),
        ] {
            assert!(AddCheckpoint::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(AddCheckpoint::parse(&[0xff, 0xfe]).is_err());
        assert!(
            AddCheckpoint::parse(format!("old 1\n{}\n\n{note}", vec![h.as_str(); 63].join("\n")).as_bytes()).is_ok()
        );
    }
}
