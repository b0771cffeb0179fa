//! Offline commands through the real binary: key ceremonies, fingerprints, USCC checks,
//! usage and connection exit codes.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{code, run, stderr, stdout};
use credfed_protocol::keys::PublicKey;
use credfed_protocol::objects::{self, Body};
use credfed_protocol::Role;

#[test]
fn keygen_writes_0600_and_never_prints_the_secret() {
    let d = tempfile::tempdir().unwrap();
    for role in ["root", "node", "authority"] {
        let file = format!("{role}.key");
        let o = run(d.path(), &["keygen", "--role", role, "--out", &file]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let path = d.path().join(&file);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{role} key mode");
        let secret = std::fs::read_to_string(&path).unwrap();
        let secret = secret.trim();
        assert_eq!(secret.len(), 64);
        let out = stdout(&o) + &stderr(&o);
        assert!(!out.contains(secret), "secret printed for {role}");
        let sk = credfed_protocol::keys::SecretKey::from_hex(secret).unwrap();
        assert!(out.contains(&sk.public().to_hex()));
        assert!(out.contains(&sk.public().fingerprint()));
        let pubfile = std::fs::read_to_string(d.path().join(format!("{file}.pub"))).unwrap();
        assert_eq!(pubfile.trim(), sk.public().to_hex());
        // JSON output has the public key and no secret either.
        let o = run(d.path(), &["--json", "keygen", "--role", role, "--out", &format!("j-{file}")]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let s2 = std::fs::read_to_string(d.path().join(format!("j-{file}"))).unwrap();
        assert!(!stdout(&o).contains(s2.trim()));
        assert_eq!(v["role"], role);
    }
    // Refuses to overwrite a key.
    let o = run(d.path(), &["keygen", "--role", "root", "--out", "root.key"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("refusing to overwrite"));
}

fn read_pub(dir: &std::path::Path, f: &str) -> PublicKey {
    std::fs::read_to_string(dir.join(f)).unwrap().trim().parse().unwrap()
}

#[test]
fn delegate_and_revoke_open_and_are_signed_by_the_root() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    assert_eq!(code(&run(p, &["keygen", "--role", "root", "--out", "root.key"])), 0);
    assert_eq!(code(&run(p, &["keygen", "--role", "authority", "--out", "auth.key"])), 0);
    let root = read_pub(p, "root.key.pub");
    let auth = read_pub(p, "auth.key.pub");
    let o = run(
        p,
        &[
            "delegate",
            "--root-key",
            "root.key",
            "--region",
            "xinyang",
            "--key-file",
            "auth.key.pub",
            "--role",
            "authority",
            "--authority-name",
            "信阳市市场监督管理局",
            "--scope",
            "administrative_penalty",
            "administrative_license",
            "--scope",
            "repair",
            "--not-before",
            "2026-01-01",
            "--not-after",
            "2028-01-01",
            "--out",
            "d.cbor",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let obj = objects::open(&std::fs::read(p.join("d.cbor")).unwrap()).unwrap();
    assert_eq!(obj.signer(), root);
    let Body::Delegation(del) = &obj.body else { panic!("not a delegation") };
    assert_eq!((del.key, del.role, del.scopes.len()), (auth, Role::Authority, 3));
    assert_eq!(del.region.as_str(), "xinyang");
    assert_eq!(del.not_before, 1_767_196_800);
    assert!(stdout(&o).contains(&obj.id().to_hex()));

    // --hex prints the same kind of envelope; a node key takes no scopes.
    let o = run(
        p,
        &[
            "--json",
            "delegate",
            "--root-key",
            "root.key",
            "--region",
            "xinyang",
            "--key",
            &auth.to_hex(),
            "--role",
            "node",
            "--authority-name",
            "node",
            "--not-after",
            "2030-01-01",
            "--hex",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let obj = objects::open(&hex::decode(v["envelope_hex"].as_str().unwrap()).unwrap()).unwrap();
    assert!(matches!(&obj.body, Body::Delegation(d) if d.role == Role::Node && d.scopes.is_empty()));

    // An authority without scopes, an unknown scope, a bad date: usage errors.
    let base = [
        "delegate",
        "--root-key",
        "root.key",
        "--region",
        "xinyang",
        "--key-file",
        "auth.key",
        "--role",
        "authority",
        "--authority-name",
        "x",
        "--not-after",
        "2030-01-01",
        "--hex",
    ];
    assert_eq!(code(&run(p, &base)), 2);
    assert_eq!(code(&run(p, &[&base[..], &["--scope", "nonsense"]].concat())), 2);
    let bad_date = [&base[..], &["--scope", "all", "--not-before", "yesterday"]].concat();
    let o = run(p, &bad_date);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not a time"), "{}", stderr(&o));
    let o = run(p, &[&base[..], &["--scope", "all"]].concat());
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // Revocation.
    let o = run(
        p,
        &[
            "revoke",
            "--root-key",
            "root.key",
            "--region",
            "xinyang",
            "--key",
            &auth.to_hex(),
            "--from",
            "2026-10-01T08:00:00+08:00",
            "--reason",
            "key_compromise",
            "--out",
            "r.cbor",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let obj = objects::open(&std::fs::read(p.join("r.cbor")).unwrap()).unwrap();
    assert_eq!(obj.signer(), root);
    let Body::Revocation(r) = &obj.body else { panic!("not a revocation") };
    assert_eq!((r.key, r.revoked_from, r.reason.as_str()), (auth, 1_790_812_800, "key_compromise"));
}

#[test]
fn fingerprint_matches_the_protocol() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    assert_eq!(code(&run(p, &["keygen", "--role", "node", "--out", "n.key"])), 0);
    let k = read_pub(p, "n.key.pub");
    for args in [
        vec!["fingerprint", "--key", &k.to_hex()],
        vec!["fingerprint", "--key-file", "n.key"],
        vec!["fingerprint", "--key-file", "n.key.pub"],
    ] {
        let args: Vec<&str> = args.iter().map(|s| &**s).collect();
        let o = run(p, &args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(stdout(&o).trim(), k.fingerprint());
    }
    let o = run(p, &["fingerprint", "--key", "00"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn uscc_check_exit_codes_and_messages() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let o = run(p, &["uscc", "check", "91310110666007217T", "914403001922038216"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(stdout(&o).contains("91310110666007217T: valid"));

    let o = run(p, &["uscc", "check", "91310110666007217T", "91310110666007217X"]);
    assert_eq!(code(&o), 1);
    let s = stdout(&o);
    assert!(s.contains("91310110666007217X: INVALID"), "{s}");
    assert!(s.contains("expected check character 'T'"), "{s}");

    let o = run(p, &["uscc", "check", "9131011066600721"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("18 characters"));
    let o = run(p, &["uscc", "check", "9131011066600721IT"]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("position 17"), "{}", stdout(&o));

    let o = run(p, &["--json", "uscc", "check", "91310110666007217X"]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["results"][0]["expected_check_char"], "T");
    assert_eq!(v["invalid"], 1);
}

#[test]
fn usage_and_connection_exit_codes() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    assert_eq!(code(&run(p, &["no-such-command"])), 2);
    assert_eq!(code(&run(p, &["keygen", "--role", "emperor", "--out", "x"])), 2);
    let help = stdout(&run(p, &["--help"]));
    assert!(help.contains("Exit codes:") && help.contains("3  connection"), "{help}");
    // Nothing listens on port 1.
    let o = run(p, &["--node", "http://127.0.0.1:1", "feeds"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot reach the node"));
    let o = run(p, &["--node", "https://example.invalid", "feeds"]);
    assert_eq!(code(&o), 2);
    // A broken envelope never leaves the machine.
    std::fs::write(p.join("bad.cbor"), [0x84, 0x01]).unwrap();
    let o = run(p, &["--node", "http://127.0.0.1:1", "records", "submit", "bad.cbor"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // An invalid USCC is refused before any request.
    let o = run(p, &["--node", "http://127.0.0.1:1", "subject", "show", "91310110666007217X"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    // store rebuild needs a node directory.
    let o = run(p, &["store", "rebuild", ".", "--from-peers"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not a node directory"), "{}", stderr(&o));
}
