//! Checks every case of the published audit vectors (`tests/vectors/merkle.json`,
//! `tests/vectors/checkpoints.json`) and that the committed files are exactly what their
//! generators produce (`cargo run -p credfed-protocol --example gen_vectors`).

#[path = "support/vectors.rs"]
mod vectors;

use credfed_protocol::checkpoint::{open_checkpoint, parse_vkey, verify_cosignature, Note, SigType, SignedCheckpoint};
use credfed_protocol::keys::PublicKey;
use credfed_protocol::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion, Frontier, Hash,
};
use serde_json::Value;

fn load(file: &str) -> Value {
    serde_json::from_str(&vectors::committed(file)).expect("valid JSON")
}

fn hash(v: &Value) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(v.as_str().expect("hex string"), &mut out).expect("32-byte hex");
    out
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().expect("array").iter().map(hash).collect()
}

fn num(v: &Value) -> u64 {
    v.as_u64().expect("number")
}

/// Returns (roots, inclusion, consistency) counts checked.
fn check_tree(t: &Value) -> (usize, usize, usize) {
    let leaves: Vec<Hash> = t["leaves"]
        .as_array()
        .expect("leaves")
        .iter()
        .map(|l| leaf_hash(&hex::decode(l.as_str().expect("hex")).expect("hex")))
        .collect();
    let roots = t["roots"].as_array().expect("roots");
    let mut by_size = vec![None; leaves.len() + 1];
    let mut f = Frontier::new();
    for r in roots {
        let (size, want) = (num(&r["size"]) as usize, hash(&r["root"]));
        assert_eq!(root(&leaves[..size]), want, "root of size {size}");
        by_size[size] = Some(want);
    }
    for (i, l) in leaves.iter().enumerate() {
        f.push(*l).unwrap();
        assert_eq!(Some(f.root()), by_size[i + 1], "frontier at size {}", i + 1);
    }
    let root_of = |s: u64| by_size[s as usize].expect("root listed for every size");
    let inclusion = t["inclusion"].as_array().expect("inclusion");
    for c in inclusion {
        let (index, size, proof) = (num(&c["index"]), num(&c["size"]), hashes(&c["proof"]));
        assert_eq!(inclusion_proof(&leaves[..size as usize], index).unwrap(), proof);
        verify_inclusion(&leaves[index as usize], index, size, &proof, &root_of(size))
            .unwrap_or_else(|e| panic!("inclusion {index}/{size}: {e}"));
    }
    let consistency = t["consistency"].as_array().expect("consistency");
    for c in consistency {
        let (old, new, proof) = (num(&c["old_size"]), num(&c["new_size"]), hashes(&c["proof"]));
        assert_eq!(consistency_proof(&leaves[..new as usize], old).unwrap(), proof);
        verify_consistency(old, new, &root_of(old), &root_of(new), &proof)
            .unwrap_or_else(|e| panic!("consistency {old}->{new}: {e}"));
    }
    (roots.len(), inclusion.len(), consistency.len())
}

#[test]
fn merkle_vectors() {
    let v = load("merkle.json");
    let (r, i, c) = check_tree(&v);
    assert_eq!(v["leaves"].as_array().map(Vec::len), Some(21));
    assert_eq!((r, i), (22, 1 + 2 + 3 + 7 + 8 + 13 + 16 + 21));
    assert_eq!(c, 21 * 22 / 2);
    let ct = &v["ct_reference"];
    check_tree(ct);
    assert_eq!(ct["roots"][8]["root"], "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
}

#[test]
fn checkpoint_vectors() {
    let v = load("checkpoints.json");
    let cases = v.as_array().expect("array");
    let (mut valid, mut invalid) = (0, 0);
    for c in cases {
        let d = c["description"].as_str().expect("description");
        let note = c["note"].as_str().expect("note");
        let name = c["key_name"].as_str().expect("key_name");
        let pk: PublicKey = c["public_key_hex"].as_str().expect("hex").parse().expect("key");
        let vk = parse_vkey(c["vkey"].as_str().expect("vkey")).expect("vkey parses");
        assert_eq!((vk.name.as_str(), vk.sig_type, vk.key), (name, SigType::Ed25519, pk), "{d}");
        let got = open_checkpoint(note, name, &pk);
        if c["valid"].as_bool().expect("valid") {
            valid += 1;
            let cp = got.unwrap_or_else(|e| panic!("{d}: {e}"));
            assert_eq!(Note::parse(note).unwrap().to_text(), note, "{d}: canonical");
            if let Some(w) = c.get("cosigner") {
                let wname = w["name"].as_str().expect("name");
                let wpk: PublicKey = w["public_key_hex"].as_str().expect("hex").parse().unwrap();
                let wvk = parse_vkey(w["vkey"].as_str().expect("vkey")).unwrap();
                assert_eq!((wvk.sig_type, wvk.key), (SigType::CosignatureV1, wpk));
                let signed = SignedCheckpoint::open(note, name, &pk).unwrap();
                let ts = num(&w["timestamp"]);
                assert_eq!(signed.cosignatures(&[(wname, wpk)]), vec![(wname.to_owned(), ts)]);
                let line = signed.note().signatures().iter().find(|s| s.name() == wname);
                assert_eq!(verify_cosignature(&cp, line.unwrap(), wname, &wpk), Ok(ts));
            }
        } else {
            invalid += 1;
            assert!(got.is_err(), "{d}: accepted");
        }
    }
    assert!(valid >= 6 && invalid >= 8, "{valid} valid, {invalid} invalid");
}

#[test]
fn committed_files_are_generated() {
    vectors::assert_committed_is_generated("merkle.json");
    vectors::assert_committed_is_generated("checkpoints.json");
}
