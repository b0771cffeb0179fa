//! RFC 9162 (Certificate Transparency v2) Merkle trees for the audit log.
//!
//! Spec: <https://www.rfc-editor.org/rfc/rfc9162.html#section-2.1> (identical hashing to
//! RFC 6962 §2.1, so third-party CT / `tlog` tooling verifies our proofs unchanged).
//!
//! * [`leaf_hash`] = SHA-256(0x00 ‖ bytes), [`node_hash`] = SHA-256(0x01 ‖ left ‖ right),
//!   [`root`] = MTH over leaf hashes, [`EMPTY_ROOT`] = SHA-256("").
//! * Inclusion proofs (§2.1.3) and consistency proofs (§2.1.4): generation from a slice or
//!   from a leaf-hash accessor (`*_by`, `try_*_by`) so a node serves proofs from storage;
//!   generation costs at most O(n) hashes and O(log n) memory per proof.
//! * [`Frontier`] is the compact range of a growing log (one hash per set bit of the size):
//!   O(log n) `push`, `root` and storage, serde-serializable so a node persists it instead of
//!   recomputing millions of leaves to sign a checkpoint.
//!
//! Conventions decided beyond the RFC (matching `transparency-dev/merkle`): a consistency
//! proof from size 0 or between equal sizes is the empty list; verifying it checks the roots
//! (`old_root` must be [`EMPTY_ROOT`] when `old_size == 0`, the roots must be equal when the
//! sizes are).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Largest tree size credfed accepts: 2^63 - 1, the largest `int64` (Go's `sumdb/tlog` and
/// `transparency-dev` tooling count leaves in `int64`). Checkpoints, proofs and frontiers naming a
/// larger size are refused ([`ProofError::SizeTooLarge`]).
pub const MAX_TREE_SIZE: u64 = i64::MAX as u64;

/// MTH of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Why a proof could not be produced or did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// Requested leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old size {old_size} is larger than new size {new_size}")]
    OldSizeTooLarge {
        /// Size of the older tree.
        old_size: u64,
        /// Size of the newer tree.
        new_size: u64,
    },
    /// The proof has the wrong number of hashes for these sizes.
    #[error("proof has {got} hashes, expected {expected}")]
    WrongProofLength {
        /// Number of hashes the sizes imply.
        expected: usize,
        /// Number of hashes received.
        got: usize,
    },
    /// The proof does not lead to the expected root (or the old root, for consistency).
    #[error("proof does not match the root hash")]
    RootMismatch,
    /// A [`Frontier`] of size [`MAX_TREE_SIZE`] cannot grow.
    #[error("tree is full")]
    TreeFull,
    /// A tree size above [`MAX_TREE_SIZE`] (2^63 - 1).
    #[error("tree size {size} is above the largest allowed size 2^63 - 1")]
    SizeTooLarge {
        /// The size named.
        size: u64,
    },
}

/// Checks `size <= MAX_TREE_SIZE`.
///
/// # Errors
/// [`ProofError::SizeTooLarge`].
pub fn check_tree_size(size: u64) -> Result<(), ProofError> {
    if size > MAX_TREE_SIZE {
        return Err(ProofError::SizeTooLarge { size });
    }
    Ok(())
}

/// SHA-256(0x00 ‖ `bytes`): the hash of a leaf.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(bytes);
    h.finalize().into()
}

/// SHA-256(0x01 ‖ `left` ‖ `right`): the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The Merkle Tree Hash of a list of leaf hashes (O(n) hashes, O(log n) memory).
pub fn root(leaves: &[Hash]) -> Hash {
    let mut f = Frontier::new();
    for leaf in leaves {
        f.push_unchecked(*leaf);
    }
    f.root()
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH of leaves `[start, end)` read through `leaf`.
fn range_root<E>(start: u64, end: u64, leaf: &mut impl FnMut(u64) -> Result<Hash, E>) -> Result<Hash, E> {
    let mut f = Frontier::new();
    for i in start..end {
        f.push_unchecked(leaf(i)?);
    }
    Ok(f.root())
}

/// Inclusion proof (RFC 9162 §2.1.3.1 `PATH`) for `leaves[index]`.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`] if `index >= leaves.len()`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    inclusion_proof_by(leaves.len() as u64, index, |i| leaves[i as usize])
}

/// Inclusion proof for leaf `index` of a tree of `size` leaves whose hashes `leaf(i)` returns.
///
/// `leaf` is called only with `i < size`, at most `size` times.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`] if `index >= size`.
pub fn inclusion_proof_by(size: u64, index: u64, leaf: impl Fn(u64) -> Hash) -> Result<Vec<Hash>, ProofError> {
    try_inclusion_proof_by(size, index, |i| Ok::<_, ProofError>(leaf(i)))
}

/// Like [`inclusion_proof_by`] with a fallible accessor (a storage read).
///
/// # Errors
/// The accessor's error, or [`ProofError::IndexOutOfRange`] converted into `E`.
pub fn try_inclusion_proof_by<E: From<ProofError>>(
    size: u64,
    index: u64,
    mut leaf: impl FnMut(u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    check_tree_size(size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    // Walk from the root down; each step records the sibling subtree, then reverse
    // (the proof lists hashes from the leaf upward).
    let mut proof = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index - lo < k {
            proof.push(range_root(lo + k, hi, &mut leaf)?);
            hi = lo + k;
        } else {
            proof.push(range_root(lo, lo + k, &mut leaf)?);
            lo += k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Number of hashes in the inclusion proof for `index < size` (0 if out of range).
fn inclusion_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = if inner >= 64 { 0 } else { (index >> inner).count_ones() };
    (inner + border) as usize
}

/// Recomputes the root from an inclusion proof (RFC 9162 §2.1.3.2).
///
/// # Errors
/// [`ProofError::IndexOutOfRange`] or [`ProofError::WrongProofLength`].
pub fn root_from_inclusion(leaf_hash: &Hash, index: u64, size: u64, proof: &[Hash]) -> Result<Hash, ProofError> {
    check_tree_size(size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength { expected, got: proof.len() });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongProofLength { expected, got: proof.len() });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongProofLength { expected, got: proof.len() });
    }
    Ok(r)
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves with root `root`.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`], [`ProofError::WrongProofLength`] or
/// [`ProofError::RootMismatch`].
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if root_from_inclusion(leaf_hash, index, size, proof)? == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Consistency proof (RFC 9162 §2.1.4.1 `PROOF(m, D[n])`) from the first `old_size` leaves
/// to all of `leaves`. Empty if `old_size` is 0 or equals `leaves.len()`.
///
/// # Errors
/// [`ProofError::OldSizeTooLarge`] if `old_size > leaves.len()`.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, ProofError> {
    consistency_proof_by(old_size, leaves.len() as u64, |i| leaves[i as usize])
}

/// Consistency proof between sizes `old_size <= new_size` of the tree whose leaf hashes
/// `leaf(i)` returns (called only with `i < new_size`, at most `new_size` times).
///
/// # Errors
/// [`ProofError::OldSizeTooLarge`].
pub fn consistency_proof_by(old_size: u64, new_size: u64, leaf: impl Fn(u64) -> Hash) -> Result<Vec<Hash>, ProofError> {
    try_consistency_proof_by(old_size, new_size, |i| Ok::<_, ProofError>(leaf(i)))
}

/// Like [`consistency_proof_by`] with a fallible accessor (a storage read).
///
/// # Errors
/// The accessor's error, or [`ProofError::OldSizeTooLarge`] converted into `E`.
pub fn try_consistency_proof_by<E: From<ProofError>>(
    old_size: u64,
    new_size: u64,
    mut leaf: impl FnMut(u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    check_tree_size(new_size)?;
    if old_size > new_size {
        return Err(ProofError::OldSizeTooLarge { old_size, new_size }.into());
    }
    let mut proof = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(proof);
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled: every step appends one hash after the recursive
    // part, so collect top-down and reverse.
    let (mut m, mut lo, mut hi, mut complete) = (old_size, 0u64, new_size, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !complete {
                proof.push(range_root(lo, hi, &mut leaf)?);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            proof.push(range_root(lo + k, hi, &mut leaf)?);
            hi = lo + k;
        } else {
            proof.push(range_root(lo, lo + k, &mut leaf)?);
            lo += k;
            m -= k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Number of hashes in the consistency proof for `0 < old < new`.
fn consistency_len(old: u64, new: u64) -> usize {
    let level = old.trailing_zeros();
    let index = (old - 1) >> level;
    let size = ((new - 1) >> level) + 1;
    let start = usize::from(index != 0);
    start + inclusion_len(index, size)
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a prefix of the tree
/// of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// # Errors
/// [`ProofError::OldSizeTooLarge`], [`ProofError::WrongProofLength`] or
/// [`ProofError::RootMismatch`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_tree_size(new_size)?;
    if old_size > new_size {
        return Err(ProofError::OldSizeTooLarge { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength { expected: 0, got: proof.len() });
        }
        let ok = if old_size == 0 { *old_root == EMPTY_ROOT } else { old_root == new_root };
        return if ok { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    let expected = consistency_len(old_size, new_size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength { expected, got: proof.len() });
    }
    // Step 2: if old_size is a power of two, the old root itself starts the path.
    let (first, rest) = if old_size.is_power_of_two() { (old_root, proof) } else { (&proof[0], &proof[1..]) };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return Err(ProofError::WrongProofLength { expected, got: proof.len() });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongProofLength { expected, got: proof.len() });
    }
    if fr == *old_root && sr == *new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// The compact range `[0, size)` of a log: the roots of its perfect subtrees, largest first
/// (one per set bit of `size`). Enough to append leaves and compute the root in O(log n).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// Rebuilds a frontier from persisted parts.
    ///
    /// # Errors
    /// [`ProofError::SizeTooLarge`] above [`MAX_TREE_SIZE`]; [`ProofError::WrongProofLength`] if
    /// `nodes.len()` is not the number of set bits of `size`.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Result<Frontier, ProofError> {
        check_tree_size(size)?;
        let expected = size.count_ones() as usize;
        if nodes.len() != expected {
            return Err(ProofError::WrongProofLength { expected, got: nodes.len() });
        }
        Ok(Frontier { size, nodes })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect-subtree roots, largest (leftmost) first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends a leaf hash and returns its index.
    ///
    /// # Errors
    /// [`ProofError::TreeFull`] at size [`MAX_TREE_SIZE`] (2^63 - 1).
    pub fn push(&mut self, leaf_hash: Hash) -> Result<u64, ProofError> {
        if self.size >= MAX_TREE_SIZE {
            return Err(ProofError::TreeFull);
        }
        let index = self.size;
        self.push_unchecked(leaf_hash);
        Ok(index)
    }

    /// Appends without the size check (callers bound the size by a slice length or range).
    fn push_unchecked(&mut self, leaf_hash: Hash) {
        let mut h = leaf_hash;
        let mut s = self.size;
        while s & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            h = node_hash(&left, &h);
            s >>= 1;
        }
        self.nodes.push(h);
        self.size = self.size.wrapping_add(1);
    }

    /// The Merkle Tree Hash of the leaves pushed so far (O(log n)).
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        let Some(last) = it.next() else {
            return EMPTY_ROOT;
        };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

impl fmt::Debug for Frontier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frontier(size={}, root={})", self.size, hex::encode(&self.root()[..6]))
    }
}

/// Persisted form: `{size, nodes}`; hashes are hex strings in human-readable formats (JSON)
/// and 32-byte byte strings otherwise (CBOR).
#[derive(Serialize, Deserialize)]
struct FrontierRepr {
    size: u64,
    nodes: Vec<HashRepr>,
}

struct HashRepr(Hash);

impl Serialize for HashRepr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for HashRepr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HashRepr, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = HashRepr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 32-byte hash (64 hex characters or 32 bytes)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HashRepr, E> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(v, &mut out).map_err(E::custom)?;
                Ok(HashRepr(out))
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<HashRepr, E> {
                let out: Hash = v.try_into().map_err(|_| E::invalid_length(v.len(), &self))?;
                Ok(HashRepr(out))
            }
        }
        if d.is_human_readable() {
            d.deserialize_str(V)
        } else {
            d.deserialize_bytes(V)
        }
    }
}

impl Serialize for Frontier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        FrontierRepr { size: self.size, nodes: self.nodes.iter().map(|h| HashRepr(*h)).collect() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Frontier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Frontier, D::Error> {
        let r = FrontierRepr::deserialize(d)?;
        Frontier::from_parts(r.size, r.nodes.into_iter().map(|h| h.0).collect()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
