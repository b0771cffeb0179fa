//! `tests/vectors/merkle.json` and `tests/vectors/checkpoints.json`: RFC 9162 Merkle trees and
//! C2SP signed-note checkpoints with cosignatures, built deterministically (fixed leaves, keys
//! derived from fixed labels, deterministic Ed25519).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use credfed_protocol::checkpoint::{cosign, format_vkey, sign_checkpoint, sign_note, Checkpoint, SigType};
use credfed_protocol::keys::SecretKey;
use credfed_protocol::merkle::{consistency_proof, inclusion_proof, leaf_hash, root, Hash, EMPTY_ROOT, MAX_TREE_SIZE};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Leaf data of the 21-leaf tree: leaf `i` is `i * 5 % 37` bytes `(31 i + 7 j) mod 256`.
pub fn tree_leaves() -> Vec<Vec<u8>> {
    (0..21u32).map(|i| (0..(i * 5 % 37)).map(|j| ((31 * i + 7 * j) % 256) as u8).collect()).collect()
}

/// The RFC 6962 / CT reference leaves.
pub fn ct_leaves() -> Vec<Vec<u8>> {
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        .iter()
        .map(|h| hex::decode(h).expect("hex"))
        .collect()
}

fn hexes(hs: &[Hash]) -> Vec<String> {
    hs.iter().map(hex::encode).collect()
}

fn tree_vectors(description: &str, data: &[Vec<u8>], inclusion_sizes: &[usize]) -> Value {
    let hashes: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
    let n = hashes.len();
    let roots: Vec<Value> = (0..=n).map(|s| json!({"size": s, "root": hex::encode(root(&hashes[..s]))})).collect();
    let mut inclusion = Vec::new();
    for &size in inclusion_sizes {
        for index in 0..size {
            let p = inclusion_proof(&hashes[..size], index as u64).expect("in range");
            inclusion.push(json!({"index": index, "size": size, "proof": hexes(&p)}));
        }
    }
    let mut consistency = Vec::new();
    for new_size in 1..=n {
        for old_size in 1..=new_size {
            let p = consistency_proof(&hashes[..new_size], old_size as u64).expect("old <= new");
            consistency.push(json!({"old_size": old_size, "new_size": new_size, "proof": hexes(&p)}));
        }
    }
    json!({
        "description": description,
        "leaves": data.iter().map(hex::encode).collect::<Vec<_>>(),
        "roots": roots,
        "inclusion": inclusion,
        "consistency": consistency,
    })
}

/// `merkle.json`.
pub fn merkle_vectors() -> Value {
    let mut top = tree_vectors(
        "RFC 9162 §2.1 Merkle tree vectors. `leaves` are leaf DATA in hex (leaf hash = \
         SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right)); `roots` for every \
         size 0..=21 (size 0 = SHA-256 of the empty string); `inclusion` lists every proof for \
         sizes 1, 2, 3, 7, 8, 13, 16 and 21, hashes leaf-to-root; `consistency` lists every \
         (old_size, new_size) pair with 1 <= old_size <= new_size <= 21 (equal sizes give an \
         empty proof). `ct_reference` has the same shape for the 8 Certificate Transparency \
         test leaves (transparency-dev/merkle testonly).",
        &tree_leaves(),
        &[1, 2, 3, 7, 8, 13, 16, 21],
    );
    top["ct_reference"] = tree_vectors(
        "The RFC 6962 / Certificate Transparency reference tree (8 leaves).",
        &ct_leaves(),
        &[1, 2, 3, 4, 5, 6, 7, 8],
    );
    top
}

/// A vector signing key derived from a label.
pub fn vector_key(label: &str) -> SecretKey {
    let seed = Sha256::digest(format!("credfed audit vector key: {label}"));
    SecretKey::from_bytes(&seed).expect("32 bytes")
}

/// Cosignature timestamp used by the vectors (2026-01-01T00:00:00Z).
pub const COSIG_TIME: u64 = 1_767_225_600;

/// `checkpoints.json`.
pub fn checkpoint_vectors() -> Value {
    let node = vector_key("xinyang");
    let witness = vector_key("hefei");
    let other = vector_key("wuhan");
    let name = "xinyang";
    let leaves: Vec<Hash> = tree_leaves().iter().map(|d| leaf_hash(d)).collect();
    let cp = Checkpoint { origin: "xinyang".into(), size: 21, root: root(&leaves), extensions: vec![] };
    let root_b64 = B64.encode(cp.root);
    let signed = |c: &Checkpoint| sign_checkpoint(c, name, &node).expect("valid").to_text();
    let signed_text = |t: &str| sign_note(t, name, &node).expect("valid text").to_text();
    let base = signed(&cp);

    let mut cases: Vec<(String, String, bool)> = Vec::new();
    let mut add = |d: &str, note: String, valid: bool| cases.push((d.to_owned(), note, valid));

    add("valid: 21-leaf tree, origin = key name", base.clone(), true);
    add(
        "valid: empty tree (size 0, root = SHA-256(\"\"))",
        signed(&Checkpoint { size: 0, root: EMPTY_ROOT, ..cp.clone() }),
        true,
    );
    add(
        "valid: largest size 2^63 - 1 (the int64 cap)",
        signed(&Checkpoint { size: MAX_TREE_SIZE, ..cp.clone() }),
        true,
    );
    // Published as valid before the int64 cap; same bytes, now refused.
    add(
        "invalid: size 2^64 - 1 is above the 2^63 - 1 cap",
        signed_text(&format!("xinyang\n{}\n{root_b64}\n", u64::MAX)),
        false,
    );
    add(
        "invalid: size 2^63 is above the 2^63 - 1 cap",
        signed_text(&format!("xinyang\n{}\n{root_b64}\n", MAX_TREE_SIZE + 1)),
        false,
    );
    add(
        "valid: two extension lines (signed, opaque)",
        signed(&Checkpoint {
            extensions: vec!["credfed/v1 day=2026-01-01".into(), "— not a signature".into()],
            ..cp.clone()
        }),
        true,
    );
    let cosig = cosign(&cp, "hefei", &witness, COSIG_TIME).expect("cosign");
    let mut with_cosig = sign_checkpoint(&cp, name, &node).expect("valid");
    with_cosig.add_cosignature(cosig.clone(), "hefei", &witness.public()).expect("verifies");
    let cosigned = with_cosig.to_text();
    add("valid: node signature plus a cosignature/v1 from witness hefei (see `cosigner`)", cosigned.clone(), true);
    let unknown = sign_note(&cp.to_body(), "wuhan", &other).expect("sign").signatures()[0].to_line();
    add("valid: an extra signature from an unknown key is ignored", format!("{base}{unknown}"), true);
    let rotated = sign_note(&cp.to_body(), name, &other).expect("sign").signatures()[0].to_line();
    add(
        "valid: same key name, other key id (a rotated key) is ignored",
        format!("{}\n{rotated}{}", cp.to_body(), &base[cp.to_body().len() + 1..]),
        true,
    );

    // Invalid cases: each breaks exactly one rule; malformed bodies are validly signed.
    let sig_line = &base[cp.to_body().len() + 1..];
    let mut flipped = B64.decode(sig_line.trim_end().rsplit_once(' ').expect("line").1).expect("b64");
    flipped[10] ^= 0x01;
    add(
        "invalid: signature bytes altered (key name and id match, so the note is rejected)",
        format!("{}\n— {name} {}\n", cp.to_body(), B64.encode(&flipped)),
        false,
    );
    add(
        "invalid: signed under key name `xinyan`; verifier expects `xinyang`",
        sign_note(&cp.to_body(), "xinyan", &node).expect("sign").to_text(),
        false,
    );
    let mut wrong_id = flipped.clone();
    wrong_id[10] ^= 0x01;
    wrong_id[0] ^= 0xff;
    add(
        "invalid: key id altered (signature otherwise genuine), so no known signature",
        format!("{}\n— {name} {}\n", cp.to_body(), B64.encode(&wrong_id)),
        false,
    );
    add("invalid: size line `21x` (signed)", signed_text(&format!("xinyang\n21x\n{root_b64}\n")), false);
    add("invalid: size with a leading zero `021` (signed)", signed_text(&format!("xinyang\n021\n{root_b64}\n")), false);
    add(
        "invalid: size above 2^64 - 1 (signed)",
        signed_text(&format!("xinyang\n18446744073709551616\n{root_b64}\n")),
        false,
    );
    add("invalid: missing final newline after the signature line", base.trim_end_matches('\n').to_owned(), false);
    add(
        "invalid: root is 31 bytes (signed)",
        signed_text(&format!("xinyang\n21\n{}\n", B64.encode(&cp.root[..31]))),
        false,
    );
    add(
        "invalid: root base64 has non-zero trailing bits (signed)",
        signed_text(&format!("xinyang\n21\n{}\n", non_canonical(&root_b64))),
        false,
    );
    add("invalid: body tampered after signing (size 21 -> 22)", base.replacen("\n21\n", "\n22\n", 1), false);
    add(
        "invalid: empty line inside the body (signed)",
        signed_text(&format!("xinyang\n21\n{root_b64}\n\nextension\n")),
        false,
    );
    add("invalid: `--` instead of the em dash", base.replace('—', "--"), false);
    add(
        "invalid: only a witness cosignature, no node signature",
        format!("{}\n{}", cp.to_body(), cosig.to_line()),
        false,
    );
    add(
        "invalid: 101 signature lines (over the 100-line cap)",
        format!("{}\n{}", cp.to_body(), sig_line.repeat(101)),
        false,
    );

    let node_pk = node.public();
    let vkey = format_vkey(name, SigType::Ed25519, &node_pk).expect("name");
    let cosigner = json!({
        "name": "hefei",
        "public_key_hex": witness.public().to_hex(),
        "vkey": format_vkey("hefei", SigType::CosignatureV1, &witness.public()).expect("name"),
        "timestamp": COSIG_TIME,
    });
    cases
        .into_iter()
        .map(|(description, note, valid)| {
            let mut v = json!({
                "description": description,
                "note": note,
                "key_name": name,
                "public_key_hex": node_pk.to_hex(),
                "vkey": vkey,
                "valid": valid,
            });
            if note == cosigned {
                v["cosigner"] = cosigner.clone();
            }
            v
        })
        .collect()
}

/// The same base64 with a spare trailing bit set (32 bytes: 2 spare bits in the last digit).
fn non_canonical(b64: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = b64.as_bytes().to_vec();
    let last = bytes.len() - 2; // before the single '='
    let idx = ALPHABET.iter().position(|&c| c == bytes[last]).expect("alphabet");
    bytes[last] = ALPHABET[idx | 1];
    String::from_utf8(bytes).expect("ascii")
}
