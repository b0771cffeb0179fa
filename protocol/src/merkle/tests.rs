//! Unit tests: CT reference vectors, typed errors, accessors, Frontier serde.

use super::*;

fn h(s: &str) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).unwrap();
    out
}

/// The RFC 6962 / CT reference leaves (transparency-dev/merkle `testonly`).
fn ct_leaves() -> Vec<Hash> {
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        .iter()
        .map(|x| leaf_hash(&hex::decode(x).unwrap()))
        .collect()
}

/// Roots of sizes 1..=8, from transparency-dev/merkle `proof/verify_test.go`.
const CT_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Naive recursive MTH straight from RFC 9162 §2.1.1, as an independent cross-check.
fn naive_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => Sha256::digest(b"").into(),
        1 => d[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&naive_mth(&d[..k]), &naive_mth(&d[k..]))
        }
    }
}

#[test]
fn empty_root_is_sha256_of_nothing() {
    assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
    assert_eq!(root(&[]), EMPTY_ROOT);
    assert_eq!(Frontier::new().root(), EMPTY_ROOT);
}

#[test]
fn ct_reference_roots_three_ways() {
    let leaves = ct_leaves();
    let mut f = Frontier::new();
    for (n, want) in CT_ROOTS.iter().enumerate() {
        f.push(leaves[n]).unwrap();
        let want = h(want);
        assert_eq!(root(&leaves[..=n]), want, "root, size {}", n + 1);
        assert_eq!(naive_mth(&leaves[..=n]), want, "naive, size {}", n + 1);
        assert_eq!(f.root(), want, "frontier, size {}", n + 1);
    }
}

#[test]
fn ct_reference_inclusion_proofs() {
    let leaves = ct_leaves();
    // (index, size, proof) — transparency-dev/merkle `inclusionProofs` (1-based there).
    let cases: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, want) in cases {
        let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
        let got = inclusion_proof(&leaves[..size as usize], index).unwrap();
        assert_eq!(got, want, "index {index} size {size}");
        let r = h(CT_ROOTS[size as usize - 1]);
        verify_inclusion(&leaves[index as usize], index, size, &got, &r).unwrap();
    }
}

#[test]
fn ct_reference_consistency_proofs() {
    let leaves = ct_leaves();
    // transparency-dev/merkle `consistencyProofs`.
    let cases: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (old, new, want) in cases {
        let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
        let got = consistency_proof(&leaves[..new as usize], old).unwrap();
        assert_eq!(got, want, "{old} -> {new}");
        let (r1, r2) = (h(CT_ROOTS[old as usize - 1]), h(CT_ROOTS[new as usize - 1]));
        verify_consistency(old, new, &r1, &r2, &got).unwrap();
    }
}

#[test]
fn typed_errors() {
    let leaves = ct_leaves();
    let r8 = root(&leaves);
    assert_eq!(inclusion_proof(&leaves, 8), Err(ProofError::IndexOutOfRange { index: 8, size: 8 }));
    assert_eq!(
        verify_inclusion(&leaves[0], 0, 0, &[], &EMPTY_ROOT),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    );
    let p = inclusion_proof(&leaves, 3).unwrap();
    assert_eq!(
        verify_inclusion(&leaves[3], 3, 8, &p[..2], &r8),
        Err(ProofError::WrongProofLength { expected: 3, got: 2 })
    );
    assert_eq!(verify_inclusion(&leaves[4], 3, 8, &p, &r8), Err(ProofError::RootMismatch));
    assert_eq!(consistency_proof(&leaves, 9), Err(ProofError::OldSizeTooLarge { old_size: 9, new_size: 8 }));
    assert_eq!(verify_consistency(3, 2, &r8, &r8, &[]), Err(ProofError::OldSizeTooLarge { old_size: 3, new_size: 2 }));
    // Trivial proofs still bind the roots.
    verify_consistency(0, 8, &EMPTY_ROOT, &r8, &[]).unwrap();
    assert_eq!(verify_consistency(0, 8, &r8, &r8, &[]), Err(ProofError::RootMismatch));
    verify_consistency(8, 8, &r8, &r8, &[]).unwrap();
    assert_eq!(verify_consistency(8, 8, &r8, &EMPTY_ROOT, &[]), Err(ProofError::RootMismatch));
    assert_eq!(verify_consistency(8, 8, &r8, &r8, &[r8]), Err(ProofError::WrongProofLength { expected: 0, got: 1 }));
    assert_eq!(
        verify_consistency(1, 2, &leaves[0], &r8, &[]),
        Err(ProofError::WrongProofLength { expected: 1, got: 0 })
    );
}

#[test]
fn fallible_accessor_propagates_errors() {
    #[derive(Debug, PartialEq)]
    enum E {
        Proof(ProofError),
        Io,
    }
    impl From<ProofError> for E {
        fn from(e: ProofError) -> E {
            E::Proof(e)
        }
    }
    let leaves = ct_leaves();
    let read = |i: u64| {
        if i == 6 {
            Err(E::Io)
        } else {
            Ok(leaves[i as usize])
        }
    };
    assert_eq!(try_inclusion_proof_by(8, 0, read), Err(E::Io));
    assert_eq!(
        try_consistency_proof_by(9, 8, read),
        Err(E::Proof(ProofError::OldSizeTooLarge { old_size: 9, new_size: 8 }))
    );
    assert_eq!(try_inclusion_proof_by(6, 0, read).unwrap(), inclusion_proof(&leaves[..6], 0).unwrap());
}

#[test]
fn frontier_serde_roundtrip_and_validation() {
    let mut f = Frontier::new();
    for l in ct_leaves().into_iter().take(7) {
        f.push(l).unwrap();
    }
    assert_eq!(f.nodes().len(), 3);
    let json = serde_json::to_string(&f).unwrap();
    assert_eq!(serde_json::from_str::<Frontier>(&json).unwrap(), f);
    let mut cbor = Vec::new();
    ciborium::into_writer(&f, &mut cbor).unwrap();
    assert_eq!(ciborium::from_reader::<Frontier, _>(&cbor[..]).unwrap(), f);
    assert!(serde_json::from_str::<Frontier>(r#"{"size":3,"nodes":[]}"#).is_err());
    let full = Frontier::from_parts(MAX_TREE_SIZE, vec![EMPTY_ROOT; 63]).unwrap();
    assert_eq!(full.clone().push(EMPTY_ROOT), Err(ProofError::TreeFull));
    let _ = full.root();
    // Go's int64: 2^63 and above are refused everywhere a size is named.
    let big = MAX_TREE_SIZE + 1;
    assert_eq!(Frontier::from_parts(big, vec![EMPTY_ROOT; 1]), Err(ProofError::SizeTooLarge { size: big }));
    assert_eq!(Frontier::from_parts(u64::MAX, vec![EMPTY_ROOT; 64]), Err(ProofError::SizeTooLarge { size: u64::MAX }));
    assert_eq!(root_from_inclusion(&EMPTY_ROOT, 0, big, &[]), Err(ProofError::SizeTooLarge { size: big }));
    assert_eq!(verify_consistency(1, big, &EMPTY_ROOT, &EMPTY_ROOT, &[]), Err(ProofError::SizeTooLarge { size: big }));
    assert_eq!(inclusion_proof_by(big, 0, |_| EMPTY_ROOT), Err(ProofError::SizeTooLarge { size: big }));
    assert_eq!(consistency_proof_by(1, big, |_| EMPTY_ROOT), Err(ProofError::SizeTooLarge { size: big }));
}
