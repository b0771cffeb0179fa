//! RELIABILITY F3 `ack_after_fsync_trace`: under `strace`, the `HTTP/1.1 201` answering a
//! submitted record is written only after the record was written to the store **and** an
//! `fdatasync`/`fsync` of a store file completed (store.fsync = true, the default).
//!
//! Needs `strace` (`.ci/run` installs it); prints SKIP where it is missing or cannot trace.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{init_region, penalty, uscc};

/// One request on a fresh connection; the raw answer ("" when the node does not listen yet).
fn http(port: u16, req: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    let mut out = String::new();
    if s.write_all(req.as_bytes()).is_ok() {
        let _ = s.read_to_string(&mut out);
    }
    out
}

/// The traced node; killed (with strace) however the test ends.
struct Traced(std::process::Child);

impl Drop for Traced {
    fn drop(&mut self) {
        let _ = Command::new("pkill").args(["-TERM", "-P", &self.0.id().to_string()]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_201_is_written_after_the_store_is_synced() {
    // strace missing, or not allowed to trace here (no ptrace in this container).
    if !Command::new("strace").args(["-o", "/dev/null", "true"]).status().is_ok_and(|s| s.success()) {
        println!("SKIP ack_after_fsync: strace is not installed or cannot trace here");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let access = init_region(tmp.path(), "xinyang", &format!("127.0.0.1:{port}"));
    let trace = tmp.path().join("trace.txt");
    let child = Command::new("strace")
        .args(["-f", "-y", "-s", "48", "-o"])
        .arg(&trace)
        .args(["-e", "trace=read,recvfrom,pwrite64,write,writev,sendto,sendmsg,fsync,fdatasync,sync_file_range"])
        .arg(env!("CARGO_BIN_EXE_credfed-node"))
        .args(["run", "--config"])
        .arg(tmp.path().join("node.toml"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut traced = Traced(child);
    let t0 = Instant::now();
    while !http(port, "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").starts_with("HTTP/1.1 200") {
        assert!(t0.elapsed() < Duration::from_secs(60), "node under strace did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let body = serde_json::to_string(&penalty(&uscc(77), "2026-06-01", "general")).unwrap();
    let req = format!(
        "POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        access.tokens.submit,
        body.len()
    );
    let answer = http(port, &req);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    // SIGTERM to the node (strace's child), so the trace is complete when strace exits.
    let _ = Command::new("pkill").args(["-TERM", "-P", &traced.0.id().to_string()]).status();
    let _ = traced.0.wait();

    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let find = |from: usize, what: &dyn Fn(&str) -> bool| (from..lines.len()).find(|&i| what(lines[i]));
    let store = format!("{}/store/", tmp.path().display());
    let post = find(0, &|l| l.contains("POST /v1/records")).expect("the request read in the trace");
    let ack = find(post, &|l| l.contains("HTTP/1.1 201")).expect("the 201 written in the trace");
    // The last write of store data (sled's log or blobs, not our high-water mark) before the 201.
    let data = (post..ack).rev().find(|&i| {
        let l = lines[i];
        l.contains("pwrite64(") && l.contains(&store) && !l.contains("credfed.hwm")
    });
    let data = data
        .unwrap_or_else(|| panic!("no store write between the request and the 201:\n{}", lines[post..=ack].join("\n")));
    // A completed sync: the call line itself ending `= 0`, or its `resumed` line.
    let synced = find(data, &|l| {
        let sync = l.contains("fdatasync(")
            || l.contains("fsync(")
            || l.contains("fdatasync resumed>")
            || l.contains("fsync resumed>");
        sync && l.trim_end().ends_with("= 0")
            && !l.contains("credfed.hwm")
            && (l.contains(&store) || l.contains("resumed>"))
    });
    assert!(
        synced.is_some_and(|i| i < ack),
        "no completed fsync/fdatasync of the store between the record's write and the 201:\n{}",
        lines[data..=ack].join("\n")
    );
    println!(
        "FIGURE ack_after_fsync: request line {post}, store write {data}, sync done {}, 201 written {ack}",
        synced.unwrap()
    );
}
