//! Helpers shared by the CLI tests: run the real binary, parse CBOR spans.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use credfed_protocol::bundle::sample;

pub mod national;

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

/// A real node (credfed-node library) on 127.0.0.1:0 in a temp dir, served by its own runtime
/// while the test drives it through the `credfed-admin` binary.
pub struct LiveNode {
    pub dir: tempfile::TempDir,
    pub access: credfed_node::init::Access,
    pub base: String,
    rt: tokio::runtime::Runtime,
    node: Option<credfed_node::RunningNode>,
}

impl LiveNode {
    /// `credfed-node init` + start, region xinyang.
    pub fn start() -> LiveNode {
        let dir = tempfile::tempdir().unwrap();
        let o = credfed_node::init::InitOptions {
            region: "xinyang".parse().unwrap(),
            dir: dir.path().to_path_buf(),
            api_listen: "127.0.0.1:0".parse().unwrap(),
            admin_listen: None,
            p2p_listen: None,
            person_secret_file: None,
        };
        let access = credfed_node::init::init(&o).expect("init");
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let cfg = credfed_node::config::NodeConfig::load(&dir.path().join("node.toml")).unwrap();
        let node = rt.block_on(credfed_node::start(cfg)).expect("start node");
        let base = format!("http://{}", node.api_addr());
        LiveNode { dir, access, base, rt, node: Some(node) }
    }

    /// Stops the node (flushes the store).
    pub fn stop(&mut self) {
        if let Some(n) = self.node.take() {
            self.rt.block_on(n.shutdown());
        }
    }

    /// The node directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A key file of the node directory.
    pub fn key(&self, name: &str) -> credfed_protocol::keys::SecretKey {
        credfed_node::keyfile::read_key(&self.dir.path().join("keys").join(name)).unwrap()
    }

    /// Token of a scope.
    pub fn token(&self, scope: &str) -> String {
        let t = &self.access.tokens;
        match scope {
            "submit" => t.submit.clone(),
            "query" => t.query.clone(),
            "audit" => t.audit.clone(),
            _ => t.admin.clone(),
        }
    }

    /// A library client with a scope's token.
    pub fn client(&self, scope: &str) -> credfed_admin::client::Client {
        credfed_admin::client::Client::new(&self.base, Some(self.token(scope)), std::time::Duration::from_secs(30))
            .map_err(|e| format!("{e:?}"))
            .unwrap()
    }

    /// Runs the binary against this node with a scope's token (`None`: no token).
    pub fn admin(&self, cwd: &Path, scope: Option<&str>, args: &[&str]) -> Output {
        let mut c = bin();
        c.current_dir(cwd).arg("--node").arg(&self.base);
        if let Some(s) = scope {
            c.env("CREDFED_TOKEN", self.token(s));
        }
        c.args(args).output().expect("run credfed-admin")
    }
}

impl Drop for LiveNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A valid Xinyang USCC from a counter.
pub fn uscc(n: u64) -> String {
    sample::uscc("411500", n).to_string()
}

/// A penalty draft as a platform posts it, decision number `n`.
pub fn penalty(uscc: &str, decided_on: &str, n: u64) -> serde_json::Value {
    sample::penalty_draft(uscc, &format!("信市监罚〔2026〕{n}号"), decided_on, "general")
}

/// Today in China, as YYYY-MM-DD.
pub fn today() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    credfed_protocol::Day::from_unix_china(now).to_string()
}
