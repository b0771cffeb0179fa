//! Helpers shared by the CLI tests: run the real binary, parse CBOR spans.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The binary under test.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_credfed-admin"));
    c.env_remove("CREDFED_TOKEN").env_remove("CREDFED_NODE");
    c
}

/// Runs the binary with `args` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().expect("run credfed-admin")
}

/// Exit code.
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Length of the CBOR item at `pos` (definite lengths, major types 0-7 without floats).
pub fn item_len(b: &[u8], pos: usize) -> usize {
    let ib = b[pos];
    let (major, info) = (ib >> 5, ib & 0x1f);
    let (arg, head) = match info {
        0..=23 => (u64::from(info), 1),
        24 => (u64::from(b[pos + 1]), 2),
        25 => (u64::from(u16::from_be_bytes([b[pos + 1], b[pos + 2]])), 3),
        26 => (u64::from(u32::from_be_bytes(b[pos + 1..pos + 5].try_into().unwrap())), 5),
        27 => (u64::from_be_bytes(b[pos + 1..pos + 9].try_into().unwrap()), 9),
        _ => panic!("indefinite or reserved length at {pos}"),
    };
    match major {
        0 | 1 | 7 => head,
        2 | 3 => head + arg as usize,
        4 => {
            let mut p = pos + head;
            for _ in 0..arg {
                p += item_len(b, p);
            }
            p - pos
        }
        5 => {
            let mut p = pos + head;
            for _ in 0..arg * 2 {
                p += item_len(b, p);
            }
            p - pos
        }
        _ => panic!("tag at {pos}"),
    }
}

/// The byte span of each top-level map value, by key.
pub fn field_spans(b: &[u8]) -> Vec<(String, std::ops::Range<usize>)> {
    let ib = b[0];
    assert_eq!(ib >> 5, 5, "top level is a map");
    let n = usize::from(ib & 0x1f);
    let mut p = 1;
    let mut out = Vec::new();
    for _ in 0..n {
        let klen = item_len(b, p);
        let key = String::from_utf8(b[p + 1..p + klen].to_vec()).unwrap();
        p += klen;
        let vlen = item_len(b, p);
        out.push((key, p..p + vlen));
        p += vlen;
    }
    assert_eq!(p, b.len());
    out
}
