//! TEMPORARY STUB (not committed) — replaced by the h-ids branch.
use serde::{Deserialize, Serialize};
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct PersonDigest(pub [u8; 32]);
