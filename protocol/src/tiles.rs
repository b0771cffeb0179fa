//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): the audit tree served as static,
//! cacheable tiles, so standard tiles clients (Go `sumdb/tlog`, `transparency-dev` tooling)
//! read it without credfed's JSON proof routes.
//!
//! * A **tile** at level `L`, index `N` holds up to 256 consecutive Merkle node hashes of tree
//!   level `8·L` (tile height 8): hash `k` of the tile is the root of the perfect subtree of
//!   `256^L` leaves starting at leaf `(N·256 + k)·256^L`. Level-0 tiles hold leaf hashes.
//!   A **full** tile has 256 hashes; the rightmost tile of a level may be **partial**, of
//!   width `W` in `1..=255`, served under `.p/W`.
//! * Paths: `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]` (entry bundles: the leaves
//!   of level-0 tile `N`). `N` is written in groups of three decimal digits, every group but
//!   the last prefixed with `x` (`1234067` → `x001/x234/067`). [`TileRequest::parse`] accepts
//!   only the canonical form.
//! * An entry bundle is each entry as a big-endian `uint16` length and its bytes
//!   ([`entry_bundle`], [`parse_entry_bundle`]).
//!
//! Decisions beyond the spec: a partial tile of width `W` is served whenever its `W` hashes
//! exist, also once the full tile exists (its bytes are a prefix of the full tile, so a client
//! holding an older checkpoint can still read it); levels above 63 and indices that do not fit
//! the 2^63 − 1 tree-size cap are malformed.

use std::fmt;

use crate::merkle::{Frontier, Hash, MAX_TREE_SIZE};

/// Tile height: each tile spans 8 tree levels.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile (2^[`TILE_HEIGHT`]).
pub const TILE_WIDTH: u16 = 256;
/// Highest tile level a path may name (the spec's bound).
pub const MAX_LEVEL: u8 = 63;
/// Largest entry an entry bundle can carry (its length is a `uint16`).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;
/// Most `x`-prefixed groups plus the last one in an index (`N < 2^63` has at most 19 digits).
const MAX_INDEX_GROUPS: usize = 7;

/// Why a tile path or bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// Not a canonical tile path (the reason names the rule).
    #[error("malformed tile path: {0}")]
    Malformed(&'static str),
    /// A well-formed tile the tree of `size` leaves does not (yet) have.
    #[error("tile {path} is beyond the tree of size {size}")]
    BeyondTree {
        /// The tile's path.
        path: String,
        /// The tree size.
        size: u64,
    },
    /// An entry longer than [`MAX_ENTRY_LEN`] bytes.
    #[error("entry of {0} bytes does not fit an entry bundle (at most 65535)")]
    EntryTooLarge(usize),
    /// An entry bundle that does not parse as `W` length-prefixed entries.
    #[error("malformed entry bundle: {0}")]
    MalformedBundle(&'static str),
}

/// A tile coordinate: level, index and width (`1..=256`; 256 is a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    level: u8,
    index: u64,
    width: u16,
}

impl Tile {
    /// A tile coordinate.
    ///
    /// # Errors
    /// [`TileError::Malformed`] if `level > 63`, `width` is not in `1..=256` or the tile would
    /// cover leaves beyond the 2^63 − 1 cap.
    pub fn new(level: u8, index: u64, width: u16) -> Result<Tile, TileError> {
        if level > MAX_LEVEL {
            return Err(TileError::Malformed("level above 63"));
        }
        if width == 0 || width > TILE_WIDTH {
            return Err(TileError::Malformed("width must be 1 to 256"));
        }
        let t = Tile { level, index, width };
        if t.leaf_end().is_none_or(|end| end > MAX_TREE_SIZE) {
            return Err(TileError::Malformed("index beyond the largest tree (2^63 - 1 leaves)"));
        }
        Ok(t)
    }

    /// The level.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// The index within the level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The width in hashes (or entries).
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether the tile has all 256 hashes.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// Leaves under one hash of this tile: `256^level` (None past 2^64).
    fn span(&self) -> Option<u64> {
        1u64.checked_shl(TILE_HEIGHT * u32::from(self.level))
    }

    /// First leaf under the tile.
    pub fn leaf_start(&self) -> u64 {
        // Only reachable for tiles that passed `new`, whose end fits.
        self.index.saturating_mul(u64::from(TILE_WIDTH)).saturating_mul(self.span().unwrap_or(u64::MAX))
    }

    /// One past the last leaf under the tile's `width` hashes (None if it overflows).
    fn leaf_end(&self) -> Option<u64> {
        self.index.checked_mul(u64::from(TILE_WIDTH))?.checked_add(u64::from(self.width))?.checked_mul(self.span()?)
    }

    /// `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!("tile/{}/{}{}", self.level, encode_index(self.index), self.width_suffix())
    }

    /// `tile/entries/<N>[.p/<W>]` (meaningful for level 0).
    pub fn entries_path(&self) -> String {
        format!("tile/entries/{}{}", encode_index(self.index), self.width_suffix())
    }

    fn width_suffix(&self) -> String {
        if self.is_full() {
            String::new()
        } else {
            format!(".p/{}", self.width)
        }
    }

    /// Checks the tree of `size` leaves has every hash of this tile.
    ///
    /// # Errors
    /// [`TileError::BeyondTree`].
    pub fn check_in_tree(&self, size: u64) -> Result<(), TileError> {
        match self.leaf_end() {
            Some(end) if end <= size => Ok(()),
            _ => Err(TileError::BeyondTree { path: self.path(), size }),
        }
    }

    /// The tile's hashes, concatenated (32 bytes each), computed from the leaf hashes `leaf(i)`
    /// of a tree of `size` leaves. Reads exactly the leaves under the tile, each once, in order.
    ///
    /// # Errors
    /// [`TileError::BeyondTree`] (converted into `E`), or the accessor's error.
    pub fn hashes<E: From<TileError>>(
        &self,
        size: u64,
        mut leaf: impl FnMut(u64) -> Result<Hash, E>,
    ) -> Result<Vec<u8>, E> {
        self.check_in_tree(size)?;
        let span = self.span().ok_or_else(|| TileError::BeyondTree { path: self.path(), size })?;
        let mut out = Vec::with_capacity(32 * usize::from(self.width));
        let mut next = self.leaf_start();
        for _ in 0..self.width {
            let mut f = Frontier::new();
            for _ in 0..span {
                f.push(leaf(next)?).map_err(|_| TileError::BeyondTree { path: self.path(), size })?;
                next += 1;
            }
            out.extend_from_slice(&f.root());
        }
        Ok(out)
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// The width of tile `(level, index)` in a tree of `size` leaves: 256 if full, `1..=255` if it
/// is the partial rightmost tile, None if the tree has no hash of it.
pub fn width_in_tree(level: u8, index: u64, size: u64) -> Option<u16> {
    let shift = TILE_HEIGHT * u32::from(level);
    let at_level = size.checked_shr(shift).unwrap_or(0);
    let start = index.checked_mul(u64::from(TILE_WIDTH))?;
    let have = at_level.checked_sub(start).filter(|&n| n > 0)?;
    Some(have.min(u64::from(TILE_WIDTH)) as u16)
}

/// Every tile (at its width in the tree) of a tree of `size` leaves, level by level.
/// O(size / 256) tiles: for tests and small trees.
pub fn tiles_of(size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    for level in 0..=MAX_LEVEL {
        let mut index = 0;
        while let Some(width) = width_in_tree(level, index, size) {
            out.extend(Tile::new(level, index, width));
            index += 1;
        }
        if index == 0 {
            break;
        }
    }
    out
}

/// A parsed tile path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileRequest {
    /// `tile/<L>/<N>[.p/<W>]`: Merkle hashes.
    Hashes(Tile),
    /// `tile/entries/<N>[.p/<W>]`: the leaf data of level-0 tile `N`.
    Entries(Tile),
}

impl TileRequest {
    /// Parses a path starting `tile/` strictly: level decimal `0..=63` without leading zeros;
    /// index in canonical `x`-groups (three digits each, no leading all-zero group, at most
    /// seven groups); optional `.p/<W>` with `W` in `1..=255` without leading zeros.
    ///
    /// # Errors
    /// [`TileError::Malformed`].
    pub fn parse(path: &str) -> Result<TileRequest, TileError> {
        let rest = path.strip_prefix("tile/").ok_or(TileError::Malformed("must start with tile/"))?;
        let (head, rest) = rest.split_once('/').ok_or(TileError::Malformed("missing index"))?;
        let level = if head == "entries" { None } else { Some(parse_level(head)?) };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((i, w)) => (i, parse_width(w)?),
            None => (rest, TILE_WIDTH),
        };
        let index = parse_index(index_part)?;
        let tile = Tile::new(level.unwrap_or(0), index, width)?;
        Ok(match level {
            Some(_) => TileRequest::Hashes(tile),
            None => TileRequest::Entries(tile),
        })
    }

    /// The tile coordinate.
    pub fn tile(&self) -> Tile {
        match self {
            TileRequest::Hashes(t) | TileRequest::Entries(t) => *t,
        }
    }

    /// The canonical path.
    pub fn path(&self) -> String {
        match self {
            TileRequest::Hashes(t) => t.path(),
            TileRequest::Entries(t) => t.entries_path(),
        }
    }
}

/// A decimal without sign or leading zeros ("0" allowed), of at most `max_len` digits.
fn parse_decimal(s: &str, max_len: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

fn parse_level(s: &str) -> Result<u8, TileError> {
    match parse_decimal(s, 2) {
        Some(l) if l <= u64::from(MAX_LEVEL) => Ok(l as u8),
        _ => Err(TileError::Malformed("level must be 0 to 63 in decimal, without leading zeros")),
    }
}

fn parse_width(s: &str) -> Result<u16, TileError> {
    match parse_decimal(s, 3) {
        Some(w) if (1..u64::from(TILE_WIDTH)).contains(&w) => Ok(w as u16),
        _ => Err(TileError::Malformed("partial width must be 1 to 255 in decimal, without leading zeros")),
    }
}

/// `N` in groups of three digits, all but the last prefixed with `x`.
pub fn encode_index(n: u64) -> String {
    let digits = n.to_string();
    let pad = (3 - digits.len() % 3) % 3;
    let padded = format!("{}{digits}", "0".repeat(pad));
    let groups: Vec<&str> = (0..padded.len() / 3).map(|i| &padded[3 * i..3 * i + 3]).collect();
    let (last, init) = groups.split_last().expect("at least one digit");
    let mut out = String::new();
    for g in init {
        out.push('x');
        out.push_str(g);
        out.push('/');
    }
    out.push_str(last);
    out
}

fn parse_index(s: &str) -> Result<u64, TileError> {
    let bad = TileError::Malformed;
    let groups: Vec<&str> = s.split('/').collect();
    if groups.len() > MAX_INDEX_GROUPS {
        return Err(bad("index has too many groups"));
    }
    let (last, init) = groups.split_last().ok_or(bad("missing index"))?;
    let three = |g: &str| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit());
    let mut n: u64 = 0;
    for (i, g) in init.iter().enumerate() {
        let digits = g.strip_prefix('x').filter(|d| three(d)).ok_or(bad("index group must be x and three digits"))?;
        if i == 0 && digits == "000" {
            return Err(bad("index has a leading zero group"));
        }
        n = push_group(n, digits)?;
    }
    if !three(last) {
        return Err(bad("last index group must be three digits"));
    }
    push_group(n, last)
}

fn push_group(n: u64, digits: &str) -> Result<u64, TileError> {
    let g: u64 = digits.parse().map_err(|_| TileError::Malformed("index group must be digits"))?;
    n.checked_mul(1000).and_then(|n| n.checked_add(g)).ok_or(TileError::Malformed("index does not fit in 64 bits"))
}

/// An entry bundle: each entry as a big-endian `uint16` length and its bytes.
///
/// # Errors
/// [`TileError::EntryTooLarge`].
pub fn entry_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Splits an entry bundle into its entries.
///
/// # Errors
/// [`TileError::MalformedBundle`] on a truncated length or entry.
pub fn parse_entry_bundle(mut bytes: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_at_checked(2).ok_or(TileError::MalformedBundle("truncated length"))?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (e, rest) = rest.split_at_checked(len).ok_or(TileError::MalformedBundle("truncated entry"))?;
        out.push(e);
        bytes = rest;
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
