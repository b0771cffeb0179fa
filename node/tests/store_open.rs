//! RELIABILITY F2: a store that does not open cleanly stops the node with a named error
//! (`store_open_failed`, `store_corrupt`) and a non-zero exit; it never serves.

mod common;

use std::process::Command;

use common::init_region;

fn run(dir: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_credfed-node"))
        .args(["run", "--config"])
        .arg(dir.join("node.toml"))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn missing_store_is_store_open_failed() {
    let tmp = tempfile::tempdir().unwrap();
    init_region(tmp.path(), "xinyang", "127.0.0.1:0");
    std::fs::rename(tmp.path().join("store"), tmp.path().join("store.moved")).unwrap();
    let (code, err) = run(tmp.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("store_open_failed"), "{err}");
    assert!(!tmp.path().join("store").exists(), "a missing store is never created by run");
}

#[test]
fn damaged_log_is_store_corrupt() {
    for offset in [100usize, 3000, 6000] {
        let tmp = tempfile::tempdir().unwrap();
        init_region(tmp.path(), "xinyang", "127.0.0.1:0");
        let db = tmp.path().join("store/db");
        let mut bytes = std::fs::read(&db).unwrap();
        assert!(bytes.len() > offset + 64, "store smaller than expected: {}", bytes.len());
        bytes[offset..offset + 64].iter_mut().for_each(|b| *b ^= 0xff);
        std::fs::write(&db, bytes).unwrap();
        let (code, err) = run(tmp.path());
        assert_eq!(code, 2, "offset {offset}: {err}");
        assert!(err.contains("store_corrupt"), "offset {offset}: {err}");
    }
}

/// sled itself only warns when `conf` fails its checksum, rewrites a short one and calls a
/// non-UTF-8 one "created by sled < 0.29"; the node refuses every damaged `conf`.
#[test]
fn damaged_sled_conf_is_store_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    init_region(tmp.path(), "xinyang", "127.0.0.1:0");
    let conf = tmp.path().join("store/conf");
    let good = std::fs::read(&conf).unwrap();
    let mut damaged: Vec<(String, Vec<u8>)> = (0..good.len())
        .map(|i| {
            let mut b = good.clone();
            b[i] ^= 0x80;
            (format!("byte {i} flipped"), b)
        })
        .collect();
    damaged.push(("truncated to 8 bytes".into(), good[..8].to_vec()));
    damaged.push(("empty".into(), Vec::new()));
    for (what, bytes) in damaged {
        std::fs::write(&conf, &bytes).unwrap();
        let (code, err) = run(tmp.path());
        assert_eq!(code, 2, "conf {what}: {err}");
        assert!(err.contains("store_corrupt") && err.contains("conf"), "conf {what}: {err}");
        assert_eq!(std::fs::read(&conf).unwrap(), bytes, "conf {what}: the refused store was changed");
    }
    std::fs::remove_file(&conf).unwrap();
    let (code, err) = run(tmp.path());
    assert!(code == 2 && err.contains("store_corrupt"), "conf missing: {err}");
    assert!(!conf.exists(), "a missing conf is not recreated");
}

#[test]
fn unknown_config_key_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    init_region(tmp.path(), "xinyang", "127.0.0.1:0");
    let p = tmp.path().join("node.toml");
    let text = std::fs::read_to_string(&p).unwrap().replace("[store]\n", "[store]\nfsynk = true\n");
    std::fs::write(&p, text).unwrap();
    let (code, err) = run(tmp.path());
    assert_eq!(code, 2);
    assert!(err.contains("fsynk") && err.contains("node.toml"), "{err}");
}

#[test]
fn sigterm_finishes_and_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    init_region(tmp.path(), "xinyang", &format!("127.0.0.1:{port}"));
    let child = Command::new(env!("CARGO_BIN_EXE_credfed-node"))
        .args(["run", "--log-format", "json", "--config"])
        .arg(tmp.path().join("node.toml"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed().as_secs() < 20, "node did not listen");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let st = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("store flushed") && log.contains("\"level\""), "json logs, clean stop: {log}");
}
