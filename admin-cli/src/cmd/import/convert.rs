//! One row → one record draft (the body `POST /v1/records` takes, plus the `national` block),
//! or the reasons it is rejected, each with the column code. The per-kind field rules are the
//! protocol's own (`RecordContent::validate`), so a row that passes here passes on the node.

use credfed_protocol::national;
use credfed_protocol::objects::{RecordContent, Subject};
use credfed_protocol::person::{PersonDigest, ResidentId};
use credfed_protocol::uscc::Uscc;
use credfed_protocol::{Classification, Day, RecordKind, Severity};
use serde_json::{Map, Value};

use super::fields::{Col, Kind, Resolved, Ty};

/// Why a row (or one of its cells) is rejected.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowError {
    /// 1-based data row number.
    pub row: usize,
    /// Column code (`CF_XDR_SHXYM`), or the draft field for a value not from a column.
    pub column: String,
    /// Error code (`invalid_uscc`, `bad_amount`, `invalid_date`, `missing_field`, …).
    pub code: String,
    /// Human explanation (never echoes an ID number).
    pub message: String,
}

/// Draft fields that are not national columns.
#[derive(Clone, Debug)]
pub struct Opts {
    /// `sector`.
    pub sector: String,
    /// `classification`.
    pub classification: Classification,
    /// `severity` (penalties only).
    pub severity: Severity,
    /// `legal_basis` for licences without one.
    pub licence_legal_basis: Option<String>,
    /// Send the `national` block.
    pub national: bool,
}

/// A converted row.
#[derive(Debug)]
pub struct Converted {
    /// The draft JSON.
    pub draft: Value,
    /// The natural key inside the file: kind, decision number, subject.
    pub key: String,
}

/// A date in any form PLATFORM.md lists (`2026-01-05`, `2026/1/5`, `20260105`,
/// `2026年1月5日`, `2026.01.05`, with or without a time part).
pub fn parse_date(s: &str) -> Option<Day> {
    let s = s.trim();
    let date = match s.find('日') {
        Some(i) => &s[..i],
        None => s.split([' ', 'T']).next()?,
    };
    let parts: Vec<&str> = if date.contains(['年', '月']) {
        date.split(['年', '月']).collect()
    } else if date.contains(['-', '/', '.']) {
        date.split(['-', '/', '.']).collect()
    } else if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
        vec![&date[..4], &date[4..6], &date[6..]]
    } else {
        return None;
    };
    let [y, m, d] = parts.as_slice() else { return None };
    let digits =
        |t: &str, n: std::ops::RangeInclusive<usize>| n.contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, 4..=4) && digits(m, 1..=2) && digits(d, 1..=2)) {
        return None;
    }
    Day::from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// An amount in 万元: digits with at most one decimal point (`0.2`, `0.20`, `12`), kept as
/// written. `Err` is the reason.
pub fn parse_amount(s: &str) -> Result<String, String> {
    let t = s.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, "0"));
    let ok = !int.is_empty()
        && !frac.is_empty()
        && t.len() <= 24
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if ok {
        return Ok(t.to_owned());
    }
    Err(if t.contains('元') {
        format!("{t:?}: amounts are decimal numbers in 万元 without a unit (2000元 is 0.2)")
    } else if t.starts_with('-') {
        format!("{t:?}: an amount cannot be negative")
    } else if t.contains(['e', 'E']) {
        format!("{t:?}: write the amount as a plain decimal, not in exponent notation")
    } else {
        format!("{t:?} is not a decimal amount in 万元 (e.g. 0.2)")
    })
}

/// `CF_XDR_LB` → `national.subject_category`.
fn category(s: &str) -> Option<&'static str> {
    match s.trim() {
        "法人及非法人组织" | "法人" | "非法人组织" | "法人和非法人组织" => Some("legal_entity"),
        "个体工商户" => Some("individual_business"),
        "自然人" => Some("natural_person"),
        _ => None,
    }
}

/// `XK_XKLB` codes 01–06 → names.
fn licence_category(s: &str) -> String {
    let names = ["普通", "特许", "认可", "核准", "登记", "其他"];
    match s.trim().parse::<usize>() {
        Ok(n @ 1..=6) => names[n - 1].to_owned(),
        _ => s.trim().to_owned(),
    }
}

/// Looks like a resident ID number (18 characters, 17 digits then a digit or X).
fn looks_like_id(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x')
}

fn set_path(root: &mut Map<String, Value>, path: &str, v: Value) {
    match path.split_once('.') {
        None => {
            root.insert(path.to_owned(), v);
        }
        Some((head, rest)) => {
            let e = root.entry(head.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = e {
                set_path(m, rest, v);
            }
        }
    }
}

/// Converts one row.
///
/// # Errors
/// Every problem found in the row, each with its column.
pub fn convert(row: usize, cells: &[String], res: &Resolved, opts: &Opts) -> Result<Converted, Vec<RowError>> {
    let kind = res.kind;
    let mut errs = Vec::new();
    let mut err = |column: &str, code: &str, message: String| {
        errs.push(RowError { row, column: column.to_owned(), code: code.to_owned(), message })
    };
    if cells.len() != res.cols.len() {
        err("", "field_count", format!("{} cells, the header has {}", cells.len(), res.cols.len()));
        return Err(errs);
    }
    // Raw (trimmed, non-empty) text per column.
    let mut raw: Vec<(&'static Col, &str)> = Vec::new();
    for (col, v) in res.cols.iter().zip(cells) {
        if let Some(col) = col {
            let v = v.trim();
            if !v.is_empty() {
                raw.push((col, v));
            }
        }
    }
    let get = |path: &str| raw.iter().find(|(c, _)| c.path == Some(path)).map(|(c, v)| (*c, *v));
    for col in kind.columns().iter().filter(|c| c.required) {
        if !raw.iter().any(|(c, _)| c.code == col.code) {
            err(col.code, "missing_field", format!("{} ({}) is required", col.code, col.zh));
        }
    }

    // The subject: a USCC for organisations and individual businesses, a resident ID (sent for
    // the node to digest, never stored) for natural persons.
    let cat_col = kind.col_for_path("national.subject_category").expect("table");
    let uscc = get("subject.uscc");
    let rid = get("subject.resident_id");
    let cat = match get("national.subject_category") {
        Some((c, v)) => match category(v) {
            Some(k) => Some(k),
            None => {
                err(c.code, "invalid_field", format!("{v:?}: expected 法人及非法人组织, 个体工商户 or 自然人"));
                None
            }
        },
        None if uscc.is_none() && rid.is_some() => Some("natural_person"),
        None => Some("legal_entity"),
    };
    let uscc_col = kind.col_for_path("subject.uscc").expect("table");
    let rid_col = kind.col_for_path("subject.resident_id").expect("table");
    let mut subject: Option<(&str, String)> = None;
    let use_rid =
        cat == Some("natural_person") || (cat == Some("individual_business") && uscc.is_none() && rid.is_some());
    if cat.is_some() {
        if use_rid {
            match rid.map(|(_, v)| v.parse::<ResidentId>()) {
                Some(Ok(id)) => subject = Some(("resident_id", id.expose().to_owned())),
                Some(Err(e)) => err(rid_col.code, e.code(), e.to_string()),
                None => {
                    err(rid_col.code, "missing_field", format!("{} is required for a natural person", rid_col.code))
                }
            }
        } else {
            match uscc.map(|(_, v)| v.parse::<Uscc>()) {
                Some(Ok(u)) => subject = Some(("uscc", u.as_str().to_owned())),
                Some(Err(e)) => err(uscc_col.code, e.code(), format!("{}: {e}", uscc.map(|u| u.1).unwrap_or_default())),
                None => {
                    err(uscc_col.code, "missing_field", format!("{} is required for {}", uscc_col.code, cat_col.zh))
                }
            }
        }
    }
    if let Some((c, name)) = get("subject_name") {
        if looks_like_id(name) {
            err(c.code, "personal_id_in_name", "the name column holds an ID number".to_owned());
        }
    }

    // Every other column, parsed by its type.
    let mut draft = Map::new();
    let mut categories: Vec<String> = Vec::new();
    for &(col, v) in &raw {
        let Some(path) = col.path else { continue };
        if path.starts_with("subject.") || path == "national.subject_category" {
            continue;
        }
        let value = match col.ty {
            Ty::Text => Value::String(v.to_owned()),
            Ty::Date | Ty::Until => match parse_date(v) {
                Some(d) if col.ty == Ty::Until && d == Day::from_ymd(2099, 12, 31).expect("a day") => continue,
                Some(d) => Value::String(d.to_string()),
                None => {
                    err(col.code, "invalid_date", format!("{v:?} is not a date (e.g. 2026-01-05)"));
                    continue;
                }
            },
            Ty::Amount => match parse_amount(v) {
                Ok(a) => Value::String(a),
                Err(m) => {
                    err(col.code, "bad_amount", m);
                    continue;
                }
            },
            Ty::Uscc => match v.parse::<Uscc>() {
                Ok(u) => Value::String(u.as_str().to_owned()),
                Err(e) => {
                    err(col.code, e.code(), format!("{v}: {e}"));
                    continue;
                }
            },
            Ty::List => {
                categories = national::split_categories(v);
                if let Err(e) = national::penalty_types_for(&categories) {
                    err(col.code, e.code, e.message);
                    continue;
                }
                Value::from(categories.clone())
            }
            Ty::LicenceCategory => Value::String(licence_category(v)),
            Ty::ResidentId | Ty::Category => continue,
        };
        if !opts.national && path.starts_with("national.") {
            continue;
        }
        set_path(&mut draft, path, value);
    }
    // An amount is required when its penalty category is given.
    if kind == Kind::Penalty {
        for (needle, path) in
            [("罚款", "national.penalty.fine_amount"), ("没收", "national.penalty.confiscated_amount")]
        {
            let col = kind.col_for_path(path).expect("table");
            let given = raw.iter().any(|(c, _)| c.code == col.code);
            if categories.iter().any(|c| c.contains(needle)) && !given {
                err(col.code, "bad_amount", format!("{} is required when 处罚类别 includes {needle}", col.code));
            }
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let (subject_field, subject_value) = subject.expect("no errors ⇒ a subject");

    draft.insert("kind".into(), Value::from(kind.record_kind()));
    draft.insert("subject".into(), serde_json::json!({ subject_field: subject_value }));
    if subject_field == "resident_id" {
        // A natural person's name is personal information: the record is keyed by the digest.
        draft.remove("subject_name");
    }
    draft.insert("sector".into(), Value::from(opts.sector.clone()));
    draft.insert("classification".into(), serde_json::to_value(opts.classification).expect("enum"));
    match kind {
        Kind::Penalty => {
            draft.insert("severity".into(), serde_json::to_value(opts.severity).expect("enum"));
            // The protocol's one mapping (the node checks that the two agree).
            let types = national::penalty_types_for(&categories).unwrap_or_default();
            if !types.is_empty() {
                draft.insert("penalty_types".into(), Value::from(types));
            }
        }
        Kind::Licence => {
            if !draft.contains_key("legal_basis") {
                let basis = opts.licence_legal_basis.clone().or_else(|| {
                    draft.get("national").and_then(|n| n["licence"]["document_name"].as_str()).map(str::to_owned)
                });
                draft.insert("legal_basis".into(), Value::from(basis.unwrap_or_else(|| "行政许可决定".to_owned())));
            }
        }
    }
    if opts.national {
        if let Some(c) = cat {
            set_path(&mut draft, "national.subject_category", Value::from(c));
        }
    }
    check_rules(row, kind, &draft, subject_field, &subject_value)?;
    let key = format!(
        "{}\u{1f}{}\u{1f}{subject_value}",
        kind.record_kind(),
        draft["decision_no"].as_str().unwrap_or_default()
    );
    Ok(Converted { draft: Value::Object(draft), key })
}

/// The protocol's per-kind field rules on the draft, with the column of the failing field.
fn check_rules(
    row: usize,
    kind: Kind,
    d: &Map<String, Value>,
    subject_field: &str,
    subject: &str,
) -> Result<(), Vec<RowError>> {
    let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_owned);
    let day = |k: &str| s(k).and_then(|v| v.parse::<Day>().ok());
    let subject = if subject_field == "uscc" {
        Subject::Uscc(subject.parse().expect("checked"))
    } else {
        Subject::PersonDigest(PersonDigest::from_bytes(&[1; 32]).expect("32 bytes"))
    };
    let content = RecordContent {
        kind: serde_json::from_value::<RecordKind>(Value::from(kind.record_kind())).expect("kind"),
        subject,
        subject_name: s("subject_name"),
        authority: s("authority").unwrap_or_default(),
        decision_no: s("decision_no").unwrap_or_default(),
        legal_basis: s("legal_basis").unwrap_or_default(),
        facts: s("facts"),
        severity: d.get("severity").and_then(|v| serde_json::from_value(v.clone()).ok()),
        sector: s("sector").unwrap_or_default(),
        decided_on: day("decided_on").expect("checked"),
        classification: serde_json::from_value(d["classification"].clone()).expect("enum"),
        published_on: None,
        penalty_types: d.get("penalty_types").and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default(),
        not_repairable: false,
        valid_until: day("valid_until"),
        grade: None,
        grade_scheme: None,
        repair_notice: None,
        // The node validates the national block (amounts, digests) when it parses the draft.
        national: None,
    };
    content.validate().map_err(|e| {
        let column = kind.col_for_path(e.field).map_or(e.field, |c| c.code).to_owned();
        vec![RowError { row, column, code: e.code.to_owned(), message: format!("{}: {}", e.field, e.message) }]
    })
}

#[cfg(test)]
mod tests {
    use super::super::fields::{resolve, Mapping};
    use super::*;

    #[test]
    fn dates_in_every_listed_form() {
        for s in [
            "2026-01-05",
            "2026/01/05",
            "20260105",
            "2026年1月5日",
            "2026/1/5",
            "2026.01.05",
            "2026-01-05 10:30:00",
            "2026/1/5 0:00:00",
            "2026-01-05T10:30:00+08:00",
            "2026年01月05日 10时",
        ] {
            assert_eq!(parse_date(s).map(|d| d.to_string()).as_deref(), Some("2026-01-05"), "{s}");
        }
        for s in ["2026-02-30", "2026-13-01", "26-01-05", "2026-01", "明天", "202601055", "2026-1-5-1", ""] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }

    #[test]
    fn amounts_in_wan_yuan() {
        for s in ["0.2", "0.20", "12", " 3.5 ", "0"] {
            assert_eq!(parse_amount(s).unwrap(), s.trim());
        }
        assert!(parse_amount("2000元").unwrap_err().contains("万元"));
        assert!(parse_amount("-1").unwrap_err().contains("negative"));
        assert!(parse_amount("1e3").unwrap_err().contains("exponent"));
        for s in ["", ".5", "5.", "1.2.3", "１２", "0,2", "+1"] {
            assert!(parse_amount(s).is_err(), "{s}");
        }
    }

    fn opts() -> Opts {
        Opts {
            sector: "market_regulation".into(),
            classification: Classification::Public,
            severity: Severity::General,
            licence_legal_basis: None,
            national: true,
        }
    }

    const HEAD: [&str; 12] = [
        "CF_WSH",
        "CF_XDR_MC",
        "CF_XDR_LB",
        "CF_XDR_SHXYM",
        "CF_XDR_ZJHM",
        "CF_YJ",
        "CF_CFLB",
        "CF_NR_FK",
        "CF_JDRQ",
        "CF_CFJG",
        "CF_FR_ZJHM",
        "ID",
    ];

    fn row(v: [&str; 12]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn good() -> [&'static str; 12] {
        [
            "信市监罚〔2026〕1号",
            "信阳某商贸有限公司",
            "法人及非法人组织",
            "91411500MA0000001X",
            "",
            "《食品安全法》第一百二十四条",
            "罚款；警告",
            "0.20",
            "2026年1月5日",
            "信阳市市场监督管理局",
            "",
            "77",
        ]
    }

    fn res() -> Resolved {
        resolve(&HEAD.map(str::to_owned), None, &Mapping::default()).unwrap()
    }

    fn valid_uscc() -> String {
        credfed_protocol::bundle::sample::uscc("411500", 1).to_string()
    }

    #[test]
    fn a_good_row_becomes_the_draft() {
        let u = valid_uscc();
        let mut g = good();
        g[3] = &u;
        let c = convert(1, &row(g), &res(), &opts()).unwrap();
        let d = &c.draft;
        assert_eq!(d["kind"], "administrative_penalty");
        assert_eq!(d["subject"], serde_json::json!({ "uscc": u }));
        assert_eq!(d["decision_no"], "信市监罚〔2026〕1号");
        assert_eq!(d["decided_on"], "2026-01-05");
        assert_eq!(d["severity"], "general");
        assert_eq!(d["penalty_types"], serde_json::json!(["fine", "warning"]));
        assert_eq!(d["national"]["subject_category"], "legal_entity");
        assert_eq!(d["national"]["penalty"]["fine_amount"], "0.20");
        assert_eq!(d["national"]["penalty"]["categories"], serde_json::json!(["罚款", "警告"]));
        assert!(d.get("ID").is_none());
        let mut o = opts();
        o.national = false;
        assert!(convert(1, &row(g), &res(), &o).unwrap().draft.get("national").is_none());
    }

    #[test]
    fn a_natural_person_is_sent_by_resident_id_without_the_name() {
        let mut g = good();
        g[2] = "自然人";
        g[3] = "";
        g[4] = "11010519491231002X";
        g[1] = "张三";
        let d = convert(1, &row(g), &res(), &opts()).unwrap().draft;
        assert_eq!(d["subject"], serde_json::json!({ "resident_id": "11010519491231002X" }));
        assert!(d.get("subject_name").is_none());
        assert_eq!(d["national"]["subject_category"], "natural_person");
    }

    fn errors(g: [&str; 12]) -> Vec<(String, String)> {
        convert(7, &row(g), &res(), &opts()).unwrap_err().into_iter().map(|e| (e.column, e.code)).collect()
    }

    fn pair(c: &str, code: &str) -> Vec<(String, String)> {
        vec![(c.to_owned(), code.to_owned())]
    }

    #[test]
    fn bad_rows_of_every_kind_name_code_and_column() {
        let u = valid_uscc();
        let base = || {
            let mut g = good();
            g[3] = Box::leak(u.clone().into_boxed_str());
            g
        };
        let with = |i: usize, v: &'static str| {
            let mut g = base();
            g[i] = v;
            g
        };
        assert_eq!(errors(with(3, "91411500MA00000010")), pair("CF_XDR_SHXYM", "invalid_uscc"));
        assert_eq!(errors(with(3, "")), pair("CF_XDR_SHXYM", "missing_field"));
        assert_eq!(errors(with(0, " ")), pair("CF_WSH", "missing_field"));
        assert_eq!(errors(with(8, "2026-02-30")), pair("CF_JDRQ", "invalid_date"));
        assert_eq!(errors(with(7, "2000元")), pair("CF_NR_FK", "bad_amount"));
        assert_eq!(errors(with(7, "-1")), pair("CF_NR_FK", "bad_amount"));
        assert_eq!(errors(with(7, "1e3")), pair("CF_NR_FK", "bad_amount"));
        assert_eq!(errors(with(7, "")), pair("CF_NR_FK", "bad_amount"), "required with 罚款");
        let mut g = with(7, "");
        g[6] = "警告";
        assert!(convert(7, &row(g), &res(), &opts()).is_ok(), "no fine → no amount needed");
        assert_eq!(errors(with(1, "11010519491231002X")), pair("CF_XDR_MC", "personal_id_in_name"));
        assert_eq!(errors(with(2, "公司")), pair("CF_XDR_LB", "invalid_field"));
        let mut g = with(2, "自然人");
        g[4] = "110105194912310021";
        assert_eq!(errors(g), pair("CF_XDR_ZJHM", "invalid_resident_id"));
        assert_eq!(errors(with(9, "机关\u{7}")), pair("CF_CFJG", "invalid_field"));
        let long: &'static str = Box::leak("长".repeat(1001).into_boxed_str());
        assert_eq!(errors(with(5, long)), pair("CF_YJ", "field_too_long"));
        // Several problems in one row are all reported.
        let mut g = with(8, "昨天");
        g[0] = "";
        assert_eq!(errors(g).len(), 2);
        // A short row.
        let e = convert(3, &row(base())[..5], &res(), &opts()).unwrap_err();
        assert_eq!((e[0].row, e[0].code.as_str()), (3, "field_count"));
    }

    #[test]
    fn licence_rows_default_legal_basis_and_open_ended_validity() {
        let h: Vec<String> = [
            "XK_WSH",
            "XK_XDR_MC",
            "XK_XDR_SHXYM",
            "XK_XKWS",
            "XK_XKLB",
            "XK_JDRQ",
            "XK_YXQZI",
            "XK_XKJG",
            "XK_XKJGDM",
        ]
        .map(str::to_owned)
        .to_vec();
        let r = resolve(&h, None, &Mapping::default()).unwrap();
        let u = valid_uscc();
        let cells = |until: &str| {
            [
                "信市监许〔2026〕9号",
                "信阳某商贸有限公司",
                &u,
                "食品经营许可决定书",
                "01",
                "20260105",
                until,
                "信阳市市场监督管理局",
                "11411500MB0C12344W",
            ]
            .map(str::to_owned)
            .to_vec()
        };
        let d = convert(1, &cells("2099/12/31"), &r, &opts()).unwrap().draft;
        assert_eq!(d["kind"], "administrative_license");
        assert!(d.get("valid_until").is_none(), "2099-12-31 means no end");
        assert!(d.get("severity").is_none());
        assert_eq!(d["legal_basis"], "食品经营许可决定书");
        assert_eq!(d["national"]["licence"]["category"], "普通");
        let d = convert(1, &cells("2031-01-04"), &r, &opts()).unwrap().draft;
        assert_eq!(d["valid_until"], "2031-01-04");
        let e = convert(1, &cells("2025-01-01"), &r, &opts()).unwrap_err();
        assert_eq!((e[0].column.as_str(), e[0].code.as_str()), ("XK_YXQZI", "invalid_field"));
    }
}
