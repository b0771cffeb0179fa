//! Regions (cities running a node) and their administrative division codes (DOMAIN §1.2).

use std::str::FromStr;

/// Maximum length of a region id.
pub const MAX_REGION_ID_LEN: usize = 32;

/// A region identifier such as `xinyang`: 1-32 chars of `[a-z0-9_]`, starting with a letter.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionId(String);

/// A string that is not a valid region id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid region id {input:?}: expected 1-32 characters of a-z, 0-9 or _, starting with a letter")]
pub struct RegionIdError {
    /// The rejected input (truncated).
    pub input: String,
}

impl RegionId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RegionId {
    type Err = RegionIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= MAX_REGION_ID_LEN
            && s.as_bytes()[0].is_ascii_lowercase()
            && s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
        if ok {
            Ok(RegionId(s.to_owned()))
        } else {
            Err(RegionIdError { input: s.chars().take(40).collect() })
        }
    }
}

text_newtype!(RegionId);
