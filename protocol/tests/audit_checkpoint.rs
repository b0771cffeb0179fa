//! Signed notes, checkpoints and cosignatures: external anchors, rules, and fuzz smoke.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use credfed_protocol::checkpoint::{
    cosign, format_vkey, key_id, open_checkpoint, parse_vkey, sign_checkpoint, sign_note, verify_cosignature,
    verify_note, Checkpoint, Note, NoteError, NoteSignature, SigType, SignedCheckpoint, MAX_NOTE_LEN, MAX_SIGNATURES,
};
use credfed_protocol::keys::SecretKey;
use credfed_protocol::merkle::MAX_TREE_SIZE;
use proptest::prelude::*;

/// golang.org/x/mod/sumdb/note `note_test.go` / package doc: the PeterNeumann key and note.
const GO_SKEY_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn go_key() -> SecretKey {
    let raw = B64.decode(GO_SKEY_B64).unwrap();
    assert_eq!(raw[0], 0x01);
    SecretKey::from_bytes(&raw[1..]).unwrap()
}

fn key(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&[seed; 32]).unwrap()
}

fn cp() -> Checkpoint {
    Checkpoint { origin: "credfed.example/xinyang".into(), size: 20852163, root: [7u8; 32], extensions: vec![] }
}

#[test]
fn reproduces_go_sumdb_note_byte_for_byte() {
    let sk = go_key();
    let note = sign_note(GO_TEXT, "PeterNeumann", &sk).unwrap();
    assert_eq!(note.to_text(), GO_NOTE);
    assert_eq!(format_vkey("PeterNeumann", SigType::Ed25519, &sk.public()).unwrap(), GO_VKEY);
    let vk = parse_vkey(GO_VKEY).unwrap();
    assert_eq!((vk.name.as_str(), vk.sig_type, vk.key), ("PeterNeumann", SigType::Ed25519, sk.public()));
    let parsed = Note::parse(GO_NOTE).unwrap();
    assert_eq!(parsed, note);
    verify_note(&parsed, "PeterNeumann", &vk.key).unwrap();
    assert_eq!(key_id("PeterNeumann", SigType::Ed25519, &vk.key), [0xc7, 0x4f, 0x20, 0xa3]);
    let tampered = Note::parse(&GO_NOTE.replace("cryptography", "cryptographY")).unwrap();
    assert_eq!(
        verify_note(&tampered, "PeterNeumann", &vk.key),
        Err(NoteError::BadSignature { name: "PeterNeumann".into() })
    );
}

#[test]
fn parses_third_party_vkeys() {
    // transparency-dev/formats note_cosigv1_test.go: a 0x04 cosigner key and a 0x01 key whose
    // base64 contains '+'.
    let w = parse_vkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2").unwrap();
    assert_eq!(w.sig_type, SigType::CosignatureV1);
    assert_eq!(w.to_string(), "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2");
    let t = parse_vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6").unwrap();
    assert_eq!(t.sig_type, SigType::Ed25519);
    for bad in [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // wrong id
        "PeterNeumanN+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // wrong name
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // short id
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // bad base64
        "PeterNeumann+c74f20a3",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "rekor.sigstore.dev+12345678+AwEB",
    ] {
        assert!(parse_vkey(bad).is_err(), "{bad}");
    }
}

#[test]
fn checkpoint_body_roundtrip_and_strictness() {
    let mut c = cp();
    c.extensions = vec!["ext one".into(), "ext+2".into()];
    let body = c.to_body();
    assert_eq!(body, format!("credfed.example/xinyang\n20852163\n{}\next one\next+2\n", B64.encode([7u8; 32])));
    assert_eq!(Checkpoint::from_body(&body).unwrap(), c);
    let root = B64.encode([7u8; 32]);
    let ok = |s: &str| Checkpoint::from_body(s).is_ok();
    assert!(ok(&format!("o\n0\n{root}\n")));
    assert!(!ok(&format!("o\n00\n{root}\n")), "leading zero");
    assert!(!ok(&format!("o\n012\n{root}\n")), "leading zero");
    assert!(!ok(&format!("o\n+12\n{root}\n")), "sign");
    assert!(!ok(&format!("o\n 12\n{root}\n")), "space");
    assert!(!ok(&format!("o\n18446744073709551616\n{root}\n")), "overflow");
    assert!(!ok(&format!("o\n18446744073709551615\n{root}\n")), "above 2^63 - 1");
    assert!(!ok(&format!("o\n9223372036854775808\n{root}\n")), "2^63: above the int64 cap");
    assert!(ok(&format!("o\n9223372036854775807\n{root}\n")));
    assert!(!ok(&format!("o\n12\n{root}")), "final newline");
    assert!(!ok(&format!("o\n12\n{root}\n\n")), "empty extension");
    assert!(!ok(&format!("o\n12\n{root}\n\next\n")), "empty line");
    assert!(!ok(&format!("\n12\n{root}\n")), "empty origin");
    assert!(!ok("o\n12\n"), "no root");
    assert!(!ok(&format!("o\n12\n{}\n", B64.encode([7u8; 31]))), "31-byte root");
    assert!(!ok(&format!("o\n12\n{}\n", B64.encode([7u8; 33]))), "33-byte root");
    assert!(!ok(&format!("o\n12\n{}\n", root.trim_end_matches('='))), "unpadded");
    // Non-canonical trailing bits: the last base64 digit of a 32-byte value carries 2 spare bits.
    let mut nc = root.clone().into_bytes();
    nc[42] = b'd'; // "c" (…00) is canonical for 0x07 at this position, "d" sets a spare bit
    assert!(!ok(&format!("o\n12\n{}\n", String::from_utf8(nc).unwrap())), "non-canonical base64");
    assert!(!ok(&format!("o\r\n12\n{root}\n")), "carriage return");
    let bad = Checkpoint { origin: "a\nb".into(), ..cp() };
    assert!(bad.validate().is_err());
    assert!(sign_checkpoint(&bad, "xinyang", &key(1)).is_err());
}

#[test]
fn sign_open_cosign() {
    let node = key(1);
    let (w1, w2, w3) = (key(2), key(3), key(4));
    let c = cp();
    let mut signed = sign_checkpoint(&c, "xinyang", &node).unwrap();
    let text = signed.to_text();
    assert_eq!(open_checkpoint(&text, "xinyang", &node.public()).unwrap(), c);
    // Wrong name, wrong key.
    assert_eq!(open_checkpoint(&text, "hefei", &node.public()), Err(NoteError::NoSignature { name: "hefei".into() }));
    assert!(open_checkpoint(&text, "xinyang", &w1.public()).is_err());

    let s1 = cosign(&c, "hefei", &w1, 1_700_000_000).unwrap();
    assert_eq!(s1.key_id(), key_id("hefei", SigType::CosignatureV1, &w1.public()));
    assert_eq!(s1.sig().len(), 72);
    assert_eq!(verify_cosignature(&c, &s1, "hefei", &w1.public()), Ok(1_700_000_000));
    // A cosignature is not a plain note signature, and vice versa.
    assert!(verify_cosignature(&c, &signed.note().signatures()[0], "xinyang", &node.public()).is_err());
    let other = Checkpoint { size: c.size + 1, ..c.clone() };
    assert_eq!(
        verify_cosignature(&other, &s1, "hefei", &w1.public()),
        Err(NoteError::BadSignature { name: "hefei".into() })
    );
    assert_eq!(signed.add_cosignature(s1.clone(), "hefei", &w1.public()), Ok(1_700_000_000));
    // A forged line for w2 (signature made by w3) is rejected by add and ignored by the list.
    let forged = NoteSignature::new(
        "wuhan",
        key_id("wuhan", SigType::CosignatureV1, &w2.public()),
        cosign(&c, "wuhan", &w3, 5).unwrap().sig().to_vec(),
    )
    .unwrap();
    assert!(signed.add_cosignature(forged.clone(), "wuhan", &w2.public()).is_err());
    let mut note = signed.note().clone();
    note.push_signature(forged).unwrap();
    let reopened = SignedCheckpoint::open(&note.to_text(), "xinyang", &node.public()).unwrap();
    let witnesses = [("hefei", w1.public()), ("wuhan", w2.public()), ("nanjing", w3.public())];
    assert_eq!(reopened.cosignatures(&witnesses), vec![("hefei".to_owned(), 1_700_000_000)]);
    // The node signature still verifies with cosignatures present (unknown keys ignored).
    assert_eq!(open_checkpoint(&note.to_text(), "xinyang", &node.public()).unwrap(), c);
    assert_eq!(cosign(&c, "hefei", &w1, 1 << 63), Err(NoteError::TimestampOutOfRange(1 << 63)));
}

#[test]
fn note_parse_rules() {
    let sk = key(9);
    let good = sign_note("hello\n", "k", &sk).unwrap().to_text();
    assert!(Note::parse(&good).is_ok());
    // Text may contain blank lines; the last blank line splits.
    let multi = sign_note("a\n\nb\n", "k", &sk).unwrap();
    assert_eq!(Note::parse(&multi.to_text()).unwrap(), multi);
    verify_note(&Note::parse(&multi.to_text()).unwrap(), "k", &sk.public()).unwrap();
    let line = good.split_once("\n\n").unwrap().1.to_owned();
    let bad = [
        good.trim_end_matches('\n').to_owned(),                  // missing final newline
        good.replace('—', "--"),                                 // not an em dash
        good.replace("— k ", "— k  "),                           // double space
        good.replace("— k ", "— k+x "),                          // '+' in name
        good.replace("— k ", "—  "),                             // empty name
        "hello\n\n".to_owned(),                                  // no signatures
        "hello\n".to_owned() + &line,                            // no blank line
        good.replace("hello", "hel\u{7}lo"),                     // control character
        format!("hello\n\n— k {}\n", B64.encode([1, 2, 3, 4])),  // id only
        format!("hello\n\n{}", line.repeat(MAX_SIGNATURES + 1)), // too many
        "x".repeat(MAX_NOTE_LEN) + &good,                        // too large
    ];
    for b in &bad {
        assert!(Note::parse(b).is_err(), "{b:?}");
    }
    assert!(Note::parse(&format!("hello\n\n{}", line.repeat(MAX_SIGNATURES))).is_ok());
    assert!(sign_note("no newline", "k", &sk).is_err());
    assert!(sign_note("x\n", "bad name", &sk).is_err());
    assert!(sign_note("x\n", "", &sk).is_err());
    assert!(sign_note("x\n", "a+b", &sk).is_err());
}

#[test]
fn verify_note_key_matching() {
    let (a, b) = (key(1), key(2));
    let mut n = sign_note("t\n", "a", &a).unwrap();
    // Same name, other key id: ignored. Other name, same id: ignored.
    n.push_signature(NoteSignature::new("a", [0, 0, 0, 0], vec![1; 64]).unwrap()).unwrap();
    let id = key_id("a", SigType::Ed25519, &a.public());
    n.push_signature(NoteSignature::new("z", id, vec![1; 64]).unwrap()).unwrap();
    verify_note(&n, "a", &a.public()).unwrap();
    assert_eq!(verify_note(&n, "b", &b.public()), Err(NoteError::NoSignature { name: "b".into() }));
    // Same name and id, bad signature: the whole note is rejected.
    n.push_signature(NoteSignature::new("a", id, vec![1; 64]).unwrap()).unwrap();
    assert_eq!(verify_note(&n, "a", &a.public()), Err(NoteError::BadSignature { name: "a".into() }));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics(s in "\\PC{0,400}", t in "[a-z0-9 \\n—+/=]{0,300}") {
        let _ = Note::parse(&s);
        let _ = Note::parse(&t);
        let _ = Checkpoint::from_body(&s);
        let _ = Checkpoint::from_body(&t);
        let _ = parse_vkey(&s);
        let _ = parse_vkey(&t);
    }

    #[test]
    fn parse_never_panics_near_valid(cut in 0usize..200, byte in any::<u8>(), pos in 0usize..200) {
        static SIGNED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text = SIGNED
            .get_or_init(|| sign_checkpoint(&cp(), "xinyang", &key(1)).unwrap().to_text())
            .clone();
        let mut bytes = text.into_bytes();
        let p = pos % bytes.len();
        bytes[p] = byte;
        bytes.truncate(bytes.len().saturating_sub(cut % 4));
        if let Ok(s) = String::from_utf8(bytes) {
            let _ = Note::parse(&s);
            let _ = open_checkpoint(&s, "xinyang", &key(1).public());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn checkpoints_roundtrip(origin in "[a-z./]{1,30}", size in 0..=MAX_TREE_SIZE, root in any::<[u8; 32]>(),
                             ext in proptest::collection::vec("[ -~]{1,20}", 0..3), ts in 0u64..(1 << 63)) {
        let c = Checkpoint { origin, size, root, extensions: ext };
        prop_assert_eq!(Checkpoint::from_body(&c.to_body()).unwrap(), c.clone());
        let s = sign_checkpoint(&c, "xinyang", &key(1)).unwrap();
        prop_assert_eq!(open_checkpoint(&s.to_text(), "xinyang", &key(1).public()).unwrap(), c.clone());
        let w = cosign(&c, "w", &key(2), ts).unwrap();
        prop_assert_eq!(verify_cosignature(&c, &w, "w", &key(2).public()).unwrap(), ts);
    }
}
