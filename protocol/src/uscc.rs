//! TEMPORARY STUB (not committed) — replaced by the h-ids branch.
use serde::{Deserialize, Serialize};
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Uscc(String);
#[derive(Debug, thiserror::Error)]
#[error("bad uscc")]
pub struct UsccError;
impl std::str::FromStr for Uscc { type Err = UsccError; fn from_str(s: &str) -> Result<Self, UsccError> { Ok(Uscc(s.into())) } }
impl std::fmt::Display for Uscc { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) } }
impl Uscc { pub fn as_str(&self) -> &str { &self.0 } pub fn division_code(&self) -> &str { &self.0[2..8] } }
