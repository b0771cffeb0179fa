//! RELIABILITY F18 for the network stack: the locked versions stay above the known
//! advisories. Offline: reads the workspace `Cargo.lock`.
//!
//! | package | floor | why |
//! |---|---|---|
//! | libp2p | 0.45.1 | RUSTSEC-2022-0084 (resource exhaustion) |
//! | libp2p-gossipsub | 0.49.4 | CVE-2026-33040 (< 0.49.3), CVE-2026-34219 (< 0.49.4): PRUNE backoff overflow panics |
//! | quinn-proto (if locked; QUIC is not enabled) | 0.11.15 | RUSTSEC-2026-0185 |

const FLOORS: &[(&str, &str)] = &[("libp2p", "0.45.1"), ("libp2p-gossipsub", "0.49.4"), ("quinn-proto", "0.11.15")];

fn parse(v: &str) -> Vec<u64> {
    v.split(['.', '-', '+']).map_while(|p| p.parse().ok()).collect()
}

#[test]
fn locked_network_dependencies_are_above_their_advisory_floors() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock")).unwrap();
    let mut locked: Vec<(String, String)> = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(key).map(|v| v.trim_matches(|c| c == ' ' || c == '=' || c == '"').to_owned())
            })
        };
        if let (Some(name), Some(version)) = (field("name ="), field("version =")) {
            locked.push((name, version));
        }
    }
    assert!(locked.iter().any(|(n, _)| n == "libp2p-gossipsub"), "gossipsub not in Cargo.lock");
    for (name, floor) in FLOORS {
        for (_, version) in locked.iter().filter(|(n, _)| n == name) {
            assert!(parse(version) >= parse(floor), "{name} {version} is below the advisory floor {floor}");
        }
    }
}
