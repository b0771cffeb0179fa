//! `changes follow` against a real node (credfed-node library on 127.0.0.1:0): every change as
//! one NDJSON line, the cursor file resumes after what was printed, filters pass through, and
//! a node that is not there is exit 3.

mod common;

use common::{code, penalty, stderr, stdout, uscc, LiveNode};
use hyper::Method;
use serde_json::Value;

fn lines(o: &std::process::Output) -> Vec<Value> {
    stdout(o).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[test]
fn follow_prints_ndjson_and_resumes_from_its_cursor_file() {
    let mut n = LiveNode::start();
    let submit = n.client("submit");
    let post = |i: u64| {
        let body = serde_json::to_vec(&penalty(&uscc(i), "2026-03-02", i)).unwrap();
        let r = submit.send(Method::POST, "/v1/records", Some(("application/json", body))).unwrap();
        assert_eq!(r.status.as_u16(), 201, "{}", String::from_utf8_lossy(&r.body));
        serde_json::from_slice::<Value>(&r.body).unwrap()["id"].as_str().unwrap().to_string()
    };
    let first: Vec<String> = (1..=3).map(post).collect();
    let d = tempfile::tempdir().unwrap();
    let args = ["changes", "follow", "--once", "--cursor-file", "c.txt", "--limit", "2"];
    let o = n.admin(d.path(), Some("query"), &args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let seen = lines(&o);
    assert_eq!(seen.iter().map(|c| c["id"].as_str().unwrap().to_string()).collect::<Vec<_>>(), first);
    assert!(seen.iter().all(|c| c["type"] == "record" && c["record"]["status"].is_string()));
    let saved = std::fs::read_to_string(d.path().join("c.txt")).unwrap();
    assert_eq!(saved.trim(), seen[2]["cursor"].as_str().unwrap());

    // Run again: only what is new since the saved cursor.
    let later = post(4);
    let o = n.admin(d.path(), Some("query"), &args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(lines(&o).iter().map(|c| c["id"].as_str().unwrap()).collect::<Vec<_>>(), [later.as_str()]);

    // Filters go to the node; a bad one is the node's error, exit 3.
    let o = n.admin(d.path(), Some("query"), &["changes", "follow", "--once", "--subject", &uscc(2)]);
    assert_eq!(lines(&o).len(), 1, "{}", stderr(&o));
    let o = n.admin(d.path(), Some("query"), &["changes", "follow", "--once", "--kind", "nonsense"]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("invalid_query"), "{}", stderr(&o));
    n.stop();
    let o = n.admin(d.path(), Some("query"), &["changes", "follow", "--once"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
}
