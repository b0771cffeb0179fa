//! Property tests for the RFC 9162 Merkle tree: every proof verifies, every flipped bit fails.

use credfed_protocol::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion, Frontier, Hash,
};
use proptest::prelude::*;

fn leaves(n: u64, salt: u8) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&[salt, i as u8, (i >> 8) as u8])).collect()
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut out = *h;
    out[(bit / 8) % 32] ^= 1 << (bit % 8);
    out
}

#[test]
fn every_inclusion_proof_up_to_64_verifies() {
    for n in 1..=64u64 {
        let l = leaves(n, 1);
        let r = root(&l);
        for i in 0..n {
            let p = inclusion_proof(&l, i).unwrap();
            verify_inclusion(&l[i as usize], i, n, &p, &r).unwrap();
            // Wrong index or size never verifies with the same proof.
            if i + 1 < n {
                assert!(verify_inclusion(&l[i as usize], i + 1, n, &p, &r).is_err());
            }
            // (Size n + 1 may share the proof: the root, not the path, binds the size.)
            assert!(verify_inclusion(&l[i as usize], i, 2 * n, &p, &r).is_err());
        }
    }
}

#[test]
fn every_consistency_proof_up_to_64_verifies() {
    let l = leaves(64, 2);
    let roots: Vec<Hash> = (0..=64).map(|n| root(&l[..n])).collect();
    for new in 0..=64u64 {
        for old in 0..=new {
            let p = consistency_proof(&l[..new as usize], old).unwrap();
            verify_consistency(old, new, &roots[old as usize], &roots[new as usize], &p).unwrap();
            if old > 0 && old < new {
                // Roots swapped or from another size never verify.
                assert!(verify_consistency(old, new, &roots[new as usize], &roots[old as usize], &p).is_err());
                assert!(verify_consistency(old - 1, new, &roots[old as usize - 1], &roots[new as usize], &p).is_err());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn frontier_matches_root_for_every_prefix(n in 0u64..150, salt in any::<u8>()) {
        let l = leaves(n, salt);
        let mut f = Frontier::new();
        prop_assert_eq!(f.root(), root(&[]));
        for (i, h) in l.iter().enumerate() {
            prop_assert_eq!(f.push(*h).unwrap(), i as u64);
            prop_assert_eq!(f.size(), i as u64 + 1);
            prop_assert_eq!(f.root(), root(&l[..=i]));
        }
        let back: Frontier = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        prop_assert_eq!(back, f);
    }

    #[test]
    fn flipped_bit_breaks_inclusion(n in 1u64..=64, i in 0u64..64, which in 0usize..3, bit in 0usize..256, k in 0usize..8) {
        let i = i % n;
        let l = leaves(n, 3);
        let r = root(&l);
        let mut p = inclusion_proof(&l, i).unwrap();
        let mut leaf = l[i as usize];
        let mut rt = r;
        match which {
            0 if !p.is_empty() => { let j = k % p.len(); p[j] = flip(&p[j], bit); }
            0 | 1 => leaf = flip(&leaf, bit),
            _ => rt = flip(&rt, bit),
        }
        prop_assert!(verify_inclusion(&leaf, i, n, &p, &rt).is_err());
    }

    #[test]
    fn flipped_bit_breaks_consistency(new in 2u64..=64, old in 1u64..64, which in 0usize..3, bit in 0usize..256, k in 0usize..8) {
        let old = 1 + old % (new - 1);
        let l = leaves(new, 4);
        let (mut r1, mut r2) = (root(&l[..old as usize]), root(&l));
        let mut p = consistency_proof(&l, old).unwrap();
        match which {
            0 => { let j = k % p.len(); p[j] = flip(&p[j], bit); }
            1 => r1 = flip(&r1, bit),
            _ => r2 = flip(&r2, bit),
        }
        prop_assert!(verify_consistency(old, new, &r1, &r2, &p).is_err());
    }
}
