//! Human-readable output by default, JSON with `--json`.

use serde::Serialize;

/// Where a command prints.
#[derive(Clone, Copy, Debug)]
pub struct Out {
    /// `--json`.
    pub json: bool,
}

impl Out {
    /// Prints `value` as pretty JSON with `--json`, else the human text.
    pub fn emit<T: Serialize + ?Sized>(&self, value: &T, human: impl FnOnce() -> String) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")));
        } else {
            let h = human();
            if h.ends_with('\n') {
                print!("{h}");
            } else {
                println!("{h}");
            }
        }
    }
}

/// A JSON value as compact text, strings unquoted, for human tables.
pub fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
