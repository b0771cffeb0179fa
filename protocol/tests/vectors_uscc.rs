//! Checks the published USCC vectors (`tests/vectors/uscc.json`) against the library, and that
//! the committed file is exactly what its generator produces.
//!
//! Regenerate with `cargo run -p credfed-protocol --example gen_vectors`.

#[path = "support/vectors.rs"]
mod vectors;

use std::collections::BTreeSet;

use credfed_protocol::uscc::{expected_check_char, Uscc};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    description: String,
    code: String,
    valid: bool,
    error: Option<String>,
    expected_check_char: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

fn load() -> Vec<Vector> {
    serde_json::from_str(&vectors::committed("uscc.json")).expect("vector file is valid JSON")
}

#[test]
fn vector_file_has_enough_cases() {
    let v = load();
    let valid = v.iter().filter(|c| c.valid).count();
    assert!(valid >= 8, "{valid} valid cases");
    assert!(v.len() - valid >= 8, "{} invalid cases", v.len() - valid);
    let inputs: BTreeSet<&str> = v.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(inputs.len(), v.len(), "duplicate inputs");
    // The categories the vectors promise to cover.
    assert!(v.iter().any(|c| !c.valid && c.error.as_deref().is_some_and(|e| e.contains("18 characters"))));
    assert!(v.iter().any(|c| !c.valid && c.error.as_deref().is_some_and(|e| e.contains("I, O, S, V, Z"))));
    assert!(v.iter().any(|c| !c.valid && c.error.as_deref().is_some_and(|e| e.contains("positions 3-8"))));
    assert!(v.iter().any(|c| !c.valid && c.error.as_deref().is_some_and(|e| e.contains("expected"))));
    assert!(v.iter().any(|c| c.valid && c.code != c.code.to_uppercase()));
    assert!(v.iter().any(|c| c.warnings.iter().any(|w| w == "uscc_org_check_mismatch")));
}

#[test]
fn every_vector_matches_the_library() {
    for case in load() {
        let what = format!("{:?} ({})", case.code, case.description);
        match case.code.parse::<Uscc>() {
            Ok(u) => {
                assert!(case.valid, "{what}: library accepts an invalid vector");
                assert_eq!(case.error, None, "{what}");
                // DOMAIN R1.1: the parsed code is the trimmed, uppercased input.
                assert_eq!(u.as_str(), case.code.trim().to_uppercase(), "{what}");
                let check = expected_check_char(&u.as_str()[..17]).map(String::from);
                assert_eq!(case.expected_check_char, check, "{what}");
                let warnings: Vec<&str> = u.warnings().iter().map(|w| w.code()).collect();
                assert_eq!(case.warnings, warnings, "{what}");
            }
            Err(e) => {
                assert!(!case.valid, "{what}: library rejects a valid vector: {e}");
                assert_eq!(case.error.as_deref(), Some(e.to_string().as_str()), "{what}");
                assert_eq!(e.code(), "invalid_uscc");
                if let Some(expected) = &case.expected_check_char {
                    assert!(e.to_string().contains(&format!("expected '{expected}'")), "{what}");
                }
                assert!(case.warnings.is_empty(), "{what}");
            }
        }
    }
}

#[test]
fn committed_file_is_generated() {
    vectors::assert_committed_is_generated("uscc.json");
}
