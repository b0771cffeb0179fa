//! `uscc check CODE…`: GB 32100 validation with the expected check character.

use clap::Subcommand;
use credfed_protocol::uscc::{expected_check_char, Uscc, UsccError, USCC_LEN};
use serde_json::{json, Value};

use crate::exit::{CliError, CliResult, Exit};
use crate::Ctx;

/// `uscc …`.
#[derive(Subcommand, Debug)]
pub enum UsccCmd {
    /// Check codes; exit 0 when every one is valid, 1 otherwise.
    Check {
        /// Codes to check.
        #[arg(required = true)]
        codes: Vec<String>,
    },
}

/// The check character R1.3 computes for `code`, when its first 17 characters allow it.
fn expected(code: &str) -> Option<char> {
    let up: String = code.trim().to_uppercase();
    let first17: String = up.chars().take(USCC_LEN - 1).collect();
    expected_check_char(&first17)
}

fn check_one(code: &str) -> Value {
    match code.parse::<Uscc>() {
        Ok(u) => {
            let warnings: Vec<Value> =
                u.warnings().iter().map(|w| json!({ "code": w.code(), "message": w.to_string() })).collect();
            let division = u.division_code().to_string();
            json!({ "code": code, "valid": true, "normalized": u.as_str(), "division": division,
                    "category": u.category_names().map(|(a, b)| format!("{a}/{b}")), "warnings": warnings })
        }
        Err(e) => {
            let expected = match &e {
                UsccError::CheckChar { expected, .. } => Some(*expected),
                _ => expected(code),
            };
            json!({ "code": code, "valid": false, "error": e.code(), "reason": e.to_string(),
                    "expected_check_char": expected.map(String::from) })
        }
    }
}

/// Runs `uscc …`.
pub fn run(ctx: &Ctx, cmd: UsccCmd) -> CliResult {
    let UsccCmd::Check { codes } = cmd;
    let results: Vec<Value> = codes.iter().map(|c| check_one(c)).collect();
    let invalid = results.iter().filter(|r| r["valid"] == false).count();
    ctx.out.emit(&json!({ "results": results, "invalid": invalid }), || {
        let mut s = String::new();
        for r in &results {
            let code = r["code"].as_str().unwrap_or_default();
            if r["valid"] == true {
                s.push_str(&format!("{code}: valid"));
                if let Some(c) = r["category"].as_str() {
                    s.push_str(&format!(" ({c}, division {})", r["division"].as_str().unwrap_or("-")));
                }
                s.push('\n');
                for w in r["warnings"].as_array().into_iter().flatten() {
                    s.push_str(&format!("  warning: {}\n", w["message"].as_str().unwrap_or_default()));
                }
            } else {
                s.push_str(&format!("{code}: INVALID: {}", r["reason"].as_str().unwrap_or_default()));
                match r["expected_check_char"].as_str() {
                    Some(c) => s.push_str(&format!(" (expected check character '{c}')\n")),
                    None => s.push_str(" (no check character can be computed from the first 17 characters)\n"),
                }
            }
        }
        s
    });
    if invalid > 0 {
        let mut e = CliError::failed(format!("{invalid} of {} codes invalid", codes.len()));
        e.reported = true;
        e.exit = Exit::Failed;
        return Err(e);
    }
    Ok(())
}
