//! Header resolution against the national 双公示 columns (`protocol::national::columns`, shared
//! with the node's export): codes, lower-case codes, Chinese names, a mapping file; and kind
//! detection.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::exit::{CliError, CliResult};

/// The two national kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 行政处罚 (CF_*): `administrative_penalty`.
    Penalty,
    /// 行政许可 (XK_*): `administrative_license`.
    Licence,
}

impl Kind {
    /// The draft's `kind` (protocol `RecordKind` serde name).
    pub fn record_kind(self) -> &'static str {
        match self {
            Kind::Penalty => "administrative_penalty",
            Kind::Licence => "administrative_license",
        }
    }

    /// The column table.
    pub fn columns(self) -> &'static [Col] {
        match self {
            Kind::Penalty => PENALTY,
            Kind::Licence => LICENCE,
        }
    }

    /// The column of a code (`CF_WSH`).
    pub fn col(self, code: &str) -> Option<&'static Col> {
        self.columns().iter().find(|c| c.code == code)
    }

    /// The column whose value goes to a draft path (`subject.uscc`), for the node's `field`.
    pub fn col_for_path(self, path: &str) -> Option<&'static Col> {
        self.columns().iter().find(|c| c.path == Some(path))
    }
}

pub use credfed_protocol::national::columns::{CellType as Ty, Column as Col, LICENCE, PENALTY};

/// A header as compared: trimmed, without BOM or inner spaces, full-width parentheses as ASCII.
pub fn normalize(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c,
        })
        .collect()
}

/// `--mapping FILE.toml`: platform column names → codes, and draft defaults.
///
/// ```toml
/// [columns]
/// "处罚文号" = "CF_WSH"
/// [defaults]
/// sector = "market_regulation"
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Column name in the file → national code.
    #[serde(default)]
    pub columns: HashMap<String, String>,
    /// Defaults for fields that are not national columns.
    #[serde(default)]
    pub defaults: Defaults,
}

/// Draft fields that are not national columns (each can also be a CLI flag).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// `penalty` or `licence`.
    pub kind: Option<String>,
    /// `sector` (snake_case).
    pub sector: Option<String>,
    /// `classification`.
    pub classification: Option<String>,
    /// `severity` (penalties).
    pub severity: Option<String>,
    /// `legal_basis` for licences (the XK format has no 依据 column).
    pub legal_basis: Option<String>,
}

impl Mapping {
    /// Reads a mapping file.
    ///
    /// # Errors
    /// Exit 2 when unreadable or not of this shape.
    pub fn load(path: &Path) -> CliResult<Mapping> {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
        let mut m: Mapping = toml::from_str(&text).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
        m.columns = m.columns.into_iter().map(|(k, v)| (normalize(&k), v.trim().to_ascii_uppercase())).collect();
        Ok(m)
    }
}

/// Which column of the file holds which national code.
#[derive(Debug)]
pub struct Resolved {
    /// The kind.
    pub kind: Kind,
    /// Per file column: the national column, or `None` (ignored).
    pub cols: Vec<Option<&'static Col>>,
    /// File headers that are not national columns (ignored, listed once).
    pub ignored: Vec<String>,
}

/// The code a header names for `kind`, if any.
fn code_of(kind: Kind, header: &str, mapping: &Mapping) -> Option<&'static Col> {
    let n = normalize(header);
    if let Some(code) = mapping.columns.get(&n) {
        return kind.col(code);
    }
    let upper = n.to_ascii_uppercase();
    kind.columns().iter().find(|c| c.code == upper || normalize(c.zh) == n)
}

/// Resolves the headers; the kind comes from `kind` or from the headers (CF_* vs XK_*).
///
/// # Errors
/// Exit 2 when the kind cannot be told, a mapping names an unknown code, a column appears
/// twice, or a required column is missing.
pub fn resolve(headers: &[String], kind: Option<Kind>, mapping: &Mapping) -> CliResult<Resolved> {
    for (name, code) in &mapping.columns {
        if Kind::Penalty.col(code).is_none() && Kind::Licence.col(code).is_none() {
            return Err(CliError::usage(format!("mapping: column {name:?} maps to {code:?}, not a national code")));
        }
    }
    let kind = match kind {
        Some(k) => k,
        None => {
            // Columns only one kind knows (codes with their prefix, or distinct Chinese names).
            let count = |k: Kind, other: Kind| {
                headers
                    .iter()
                    .filter(|h| code_of(k, h, mapping).is_some() && code_of(other, h, mapping).is_none())
                    .count()
            };
            let (p, l) = (count(Kind::Penalty, Kind::Licence), count(Kind::Licence, Kind::Penalty));
            match p.cmp(&l) {
                std::cmp::Ordering::Greater => Kind::Penalty,
                std::cmp::Ordering::Less => Kind::Licence,
                std::cmp::Ordering::Equal => {
                    return Err(CliError::usage(
                        "cannot tell from the headers whether this is a penalty (CF_*) or licence (XK_*) file: \
                         pass --kind penalty|licence",
                    ))
                }
            }
        }
    };
    let mut cols = Vec::with_capacity(headers.len());
    let mut ignored = Vec::new();
    for h in headers {
        let col = code_of(kind, h, mapping);
        if let Some(c) = col {
            if cols.iter().any(|x: &Option<&Col>| x.is_some_and(|x| x.code == c.code)) {
                return Err(CliError::usage(format!("two columns of the file are {} ({})", c.code, c.zh)));
            }
        } else if !h.trim().is_empty() {
            ignored.push(h.trim().to_owned());
        }
        cols.push(col);
    }
    let missing: Vec<String> = kind
        .columns()
        .iter()
        .filter(|c| c.required && !(kind == Kind::Licence && c.path == Some("legal_basis")))
        .filter(|c| !cols.iter().any(|x| x.is_some_and(|x| x.code == c.code)))
        .map(|c| format!("{} ({})", c.code, c.zh))
        .collect();
    if !missing.is_empty() {
        return Err(CliError::usage(format!(
            "the file has no column for {} (headers: {}); name them with --mapping FILE.toml",
            missing.join(", "),
            headers.join(", ")
        )));
    }
    Ok(Resolved { kind, cols, ignored })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    const CORE: [&str; 5] = ["CF_WSH", "CF_XDR_MC", "CF_YJ", "CF_JDRQ", "CF_CFJG"];

    #[test]
    fn codes_lower_case_and_chinese_resolve_to_the_same_columns() {
        let m = Mapping::default();
        let codes = resolve(&h(&CORE), None, &m).unwrap();
        let lower: Vec<String> = CORE.iter().map(|c| c.to_ascii_lowercase()).collect();
        let lower = resolve(&lower, None, &m).unwrap();
        let zh =
            resolve(&h(&["行政处罚决定书文号", "行政相对人名称", "处罚依据", "处罚决定日期", "处罚机关"]), None, &m)
                .unwrap();
        for r in [&codes, &lower, &zh] {
            assert_eq!(r.kind, Kind::Penalty);
            let got: Vec<&str> = r.cols.iter().map(|c| c.unwrap().code).collect();
            assert_eq!(got, CORE);
        }
    }

    #[test]
    fn full_width_parentheses_bom_and_extra_columns() {
        let m = Mapping::default();
        let mut hs = h(&CORE);
        hs[0] = "\u{feff}CF_WSH".into();
        hs.push("罚款金额（万元）".into());
        hs.push("RESOURCE_ID".into());
        hs.push("CHECK_FLAG".into());
        let r = resolve(&hs, None, &m).unwrap();
        assert_eq!(r.cols[0].unwrap().code, "CF_WSH");
        assert_eq!(r.cols[5].unwrap().code, "CF_NR_FK");
        assert_eq!(r.ignored, ["RESOURCE_ID", "CHECK_FLAG"]);
    }

    #[test]
    fn licence_detected_from_chinese_names_and_kind_flag_wins() {
        let m = Mapping::default();
        let hs = h(&[
            "行政许可决定文书号",
            "行政相对人名称",
            "统一社会信用代码",
            "许可决定日期",
            "许可机关",
            "许可机关统一社会信用代码",
        ]);
        let r = resolve(&hs, None, &m).unwrap();
        assert_eq!(r.kind, Kind::Licence);
        assert_eq!(r.cols[2].unwrap().path, Some("subject.uscc"));
        // Forcing penalty: the penalty-only required columns are missing → a usage error.
        let e = resolve(&hs, Some(Kind::Penalty), &m).unwrap_err();
        assert!(format!("{:#}", e.error).contains("CF_WSH"), "{:?}", e);
    }

    #[test]
    fn ambiguous_or_incomplete_headers_are_usage_errors() {
        let m = Mapping::default();
        let e = resolve(&h(&["统一社会信用代码", "行政相对人名称"]), None, &m).unwrap_err();
        assert!(format!("{:#}", e.error).contains("--kind"));
        let e = resolve(&h(&["CF_WSH", "CF_XDR_MC"]), None, &m).unwrap_err();
        let msg = format!("{:#}", e.error);
        assert!(msg.contains("CF_YJ") && msg.contains("CF_JDRQ") && msg.contains("CF_CFJG"), "{msg}");
        let e = resolve(&h(&["CF_WSH", "cf_wsh", "CF_XDR_MC", "CF_YJ", "CF_JDRQ", "CF_CFJG"]), None, &m).unwrap_err();
        assert!(format!("{:#}", e.error).contains("two columns"));
    }

    #[test]
    fn mapping_file_names_platform_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        std::fs::write(
            &p,
            "[columns]\n\"处罚文号\" = \"cf_wsh\"\n\"XDRMC\" = \"CF_XDR_MC\"\n[defaults]\nsector = \"food_drug\"\n",
        )
        .unwrap();
        let m = Mapping::load(&p).unwrap();
        assert_eq!(m.defaults.sector.as_deref(), Some("food_drug"));
        let r = resolve(&h(&["处罚文号", "XDRMC", "CF_YJ", "CF_JDRQ", "CF_CFJG"]), None, &m).unwrap();
        assert_eq!(r.cols[0].unwrap().code, "CF_WSH");
        assert_eq!(r.cols[1].unwrap().code, "CF_XDR_MC");
        std::fs::write(&p, "[columns]\n\"X\" = \"CF_NOPE\"\n").unwrap();
        let m = Mapping::load(&p).unwrap();
        assert!(resolve(&h(&CORE), None, &m).is_err());
    }
}
