//! The shipped `configs/` stay valid: every `configs/*.toml` parses as a `node.toml` and
//! describes the region it is named after, ports do not collide, and the example calendar and
//! policy parse with the same code the node uses for them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use credfed_node::config::NodeConfig;
use credfed_protocol::calendar::Calendar;
use credfed_protocol::division::known_region;
use credfed_protocol::trust::LocalPolicy;

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs")
}

fn tomls() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(configs_dir())
        .expect("configs/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_city_config_parses_and_matches_its_region() {
    let files = tomls();
    let names: BTreeSet<String> = files.iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    for city in ["xinyang", "suzhou", "luan", "anqing", "huanggang"] {
        assert!(names.contains(city), "configs/{city}.toml missing");
    }
    let (mut api, mut admin, mut p2p) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let cfg = NodeConfig::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // `load` too: the same parse plus path resolution relative to the file.
        let loaded = NodeConfig::load(path).unwrap_or_else(|e| panic!("{e}"));
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert_eq!(cfg.region.as_str(), stem, "{}: region is not the file name", path.display());
        let known = known_region(&stem).unwrap_or_else(|| panic!("{stem}: not a known region"));
        assert_eq!(cfg.division_code.as_deref(), Some(known.division), "{stem}: division_code");
        assert_eq!(cfg.region_name.as_deref(), Some(known.name_zh), "{stem}: region_name");
        // Runs from a checkout: data in <checkout>/data/<region>, keys under it (what
        // `credfed-node init --dir data/<region>` writes).
        assert_eq!(cfg.data_dir.as_deref(), Some(Path::new(&format!("../data/{stem}"))), "{stem}: data_dir");
        let data = loaded.data_dir();
        assert!(data.ends_with(format!("configs/../data/{stem}")), "{stem}: {}", data.display());
        assert_eq!(loaded.resolve(&cfg.keys.node_key), data.join("keys/node.key"), "{stem}: node_key");
        assert_eq!(cfg.keys.authorities.len(), 1, "{stem}: one authority key, as init writes");
        assert_eq!(loaded.resolve(&cfg.keys.authorities[0].file), data.join("keys/authority-1.key"));
        assert_eq!(cfg.keys.authorities[0].name, format!("{}公共信用信息中心", known.name_zh));
        let secret = cfg.federation.person_secret_file.as_ref().expect("person_secret_file");
        assert_eq!(loaded.resolve(secret), data.join("keys/person.secret"), "{stem}: person secret");
        assert_eq!(loaded.store_dir(), data.join("store"), "{stem}: store");
        // Loopback only, fixed and distinct ports.
        assert!(cfg.api.listen.ip().is_loopback(), "{stem}: api on loopback");
        assert!(api.insert(cfg.api.listen.port()), "{stem}: api port reused");
        let a = cfg.admin.listen.expect("admin listener");
        assert!(a.ip().is_loopback() && admin.insert(a.port()), "{stem}: admin listener");
        assert_eq!(cfg.p2p.listen.len(), 1, "{stem}");
        let l = &cfg.p2p.listen[0];
        assert!(l.starts_with("/ip4/127.0.0.1/tcp/") && p2p.insert(l.clone()), "{stem}: p2p listen {l}");
        assert!(!cfg.p2p.bootstrap.iter().any(|b| b == l), "{stem}: bootstraps to itself");
        if let Some(c) = &cfg.rules.calendar_file {
            assert!(loaded.resolve(c).exists(), "{stem}: calendar_file {}", c.display());
        }
    }
    // Every bootstrap address is some other city's listen address.
    for path in &files {
        let cfg = NodeConfig::load(path).unwrap();
        for b in &cfg.p2p.bootstrap {
            assert!(p2p.contains(b), "{}: bootstrap {b} is no city's p2p listen", path.display());
        }
    }
    assert!(api.is_disjoint(&admin), "api and admin ports collide");
}

#[test]
fn example_calendar_parses_and_2027_is_provisional() {
    let text = std::fs::read_to_string(configs_dir().join("holidays-2027.example.json")).unwrap();
    let cal = Calendar::from_json(&text).unwrap_or_else(|e| panic!("holidays-2027.example.json: {e}"));
    let years: Vec<i32> = cal.years().map(|y| y.year).collect();
    assert_eq!(years, [2027]);
    assert!(!cal.is_published(2027), "2027 must stay provisional until the notice is published");
    let mut merged = Calendar::builtin();
    merged.merge_override(cal);
    assert!(merged.is_published(2026), "the override keeps the built-in years");
    assert!(!merged.is_published(2027));
    let new_year: credfed_protocol::Day = "2027-01-01".parse().unwrap();
    assert!(!merged.is_working_day(new_year));
}

#[test]
fn example_policy_parses() {
    let text = std::fs::read_to_string(configs_dir().join("policy.example.json")).unwrap();
    let p: LocalPolicy = serde_json::from_str(&text).unwrap_or_else(|e| panic!("policy.example.json: {e}"));
    assert!(!p.shared_entitled.is_empty());
    assert!(!p.accepted_kinds.is_empty());
}
