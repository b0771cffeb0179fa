//! Reading a national-format file into a table of strings: CSV (UTF-8 with or without BOM,
//! GB18030/GBK), XLSX (first sheet), JSON (`{"rows":[…]}` or an array) and NDJSON. The whole
//! file is read and decoded before anything is sent: a file that is not what it claims is one
//! error (exit 2).

use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader, Xlsx};
use serde_json::Value;

use crate::exit::{CliError, CliResult};

/// File formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Comma- (or tab-) separated values.
    Csv,
    /// Excel 2007+ workbook (first sheet).
    Xlsx,
    /// `{"rows":[{…}]}` or `[{…}]`.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// `--encoding` of a CSV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    /// Valid UTF-8 → UTF-8, else GB18030.
    Auto,
    /// UTF-8 (a BOM is skipped).
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GB18030 (a superset of GBK).
    Gb18030,
    /// GBK.
    Gbk,
}

/// The file as a table.
#[derive(Debug)]
pub struct Table {
    /// The format read.
    pub format: Format,
    /// The text encoding (`utf-8`, `gb18030`, `gbk`; XLSX/JSON are UTF-8 by definition).
    pub encoding: &'static str,
    /// Header row.
    pub headers: Vec<String>,
    /// Data rows with their 1-based data row number (blank rows are skipped but counted),
    /// as many cells as in the file.
    pub rows: Vec<(usize, Vec<String>)>,
}

fn bad(path: &Path, msg: impl std::fmt::Display) -> CliError {
    CliError::usage(format!("{}: {msg}; nothing was sent", path.display()))
}

/// The format from `--format`, the extension, or the content.
pub fn detect_format(path: &Path, bytes: &[u8]) -> Format {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    match ext.as_str() {
        "xlsx" | "xlsm" => return Format::Xlsx,
        "json" => return Format::Json,
        "ndjson" | "jsonl" => return Format::Ndjson,
        "csv" | "txt" | "tsv" => return Format::Csv,
        _ => {}
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Format::Xlsx;
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'[') => Format::Json,
        Some(b'{') if serde_json::from_slice::<Value>(bytes).is_ok() => Format::Json,
        Some(b'{') => Format::Ndjson,
        _ => Format::Csv,
    }
}

/// Reads and decodes the whole file.
///
/// # Errors
/// Exit 2: unreadable, binary, undecodable in the chosen encoding, a truncated or broken
/// workbook, malformed JSON, no header row.
pub fn read(path: &Path, format: Option<Format>, encoding: Encoding) -> CliResult<Table> {
    let bytes = std::fs::read(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    let format = format.unwrap_or_else(|| detect_format(path, &bytes));
    let t = match format {
        Format::Csv => read_csv(path, &bytes, encoding)?,
        Format::Xlsx => read_xlsx(path, bytes)?,
        Format::Json | Format::Ndjson => read_json(path, &bytes, format)?,
    };
    if t.headers.iter().all(|h| h.trim().is_empty()) {
        return Err(bad(path, "no header row"));
    }
    Ok(t)
}

/// Decodes CSV bytes: UTF-8 (BOM skipped) or GB18030/GBK, strictly (no replacement characters).
///
/// # Errors
/// A message naming the encoding and the first undecodable byte.
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<(String, &'static str), String> {
    let utf8 = |b: &[u8]| {
        let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
        std::str::from_utf8(b).map(str::to_owned).map_err(|e| e.valid_up_to())
    };
    let gb = |enc: &'static encoding_rs::Encoding, name: &'static str| {
        enc.decode_without_bom_handling_and_without_replacement(bytes)
            .map(|s| (s.into_owned(), name))
            .ok_or_else(|| format!("not valid {name} text"))
    };
    match encoding {
        Encoding::Utf8 => utf8(bytes).map(|s| (s, "utf-8")).map_err(|at| format!("not valid UTF-8 (byte {at})")),
        Encoding::Gb18030 => gb(encoding_rs::GB18030, "gb18030"),
        Encoding::Gbk => gb(encoding_rs::GBK, "gbk"),
        Encoding::Auto => match utf8(bytes) {
            Ok(s) => Ok((s, "utf-8")),
            Err(at) => gb(encoding_rs::GB18030, "gb18030")
                .map_err(|_| format!("neither UTF-8 (invalid at byte {at}) nor GB18030 text")),
        },
    }
}

fn read_csv(path: &Path, bytes: &[u8], encoding: Encoding) -> CliResult<Table> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(bad(path, "this is a ZIP/XLSX file, not CSV (use --format xlsx or the .xlsx extension)"));
    }
    let (text, enc) = decode(bytes, encoding).map_err(|e| bad(path, e))?;
    if let Some(at) = text.find('\0') {
        return Err(bad(path, format!("binary data (a NUL character at offset {at}), not a CSV text file")));
    }
    // Tab-separated exports are common: pick the separator the header line uses most.
    let first = text.lines().next().unwrap_or_default();
    let delim = if first.matches('\t').count() > first.matches(',').count() { b'\t' } else { b',' };
    let mut r =
        csv::ReaderBuilder::new().delimiter(delim).flexible(true).has_headers(true).from_reader(text.as_bytes());
    let headers: Vec<String> =
        r.headers().map_err(|e| bad(path, format!("CSV: {e}")))?.iter().map(str::to_owned).collect();
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad(path, format!("CSV: {e}")))?;
        if !rec.iter().all(|c| c.trim().is_empty()) {
            rows.push((i + 1, rec.iter().map(str::to_owned).collect()));
        }
    }
    Ok(Table { format: Format::Csv, encoding: enc, headers, rows })
}

/// A cell as text: dates as `YYYY-MM-DD` (with the time when it has one), whole numbers
/// without a decimal point.
fn cell(d: &Data) -> String {
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            let (y, m, d, hh, mm, ss, _) = dt.to_ymd_hms_milli();
            if (hh, mm, ss) == (0, 0, 0) {
                format!("{y:04}-{m:02}-{d:02}")
            } else {
                format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
            }
        }
    }
}

fn read_xlsx(path: &Path, bytes: Vec<u8>) -> CliResult<Table> {
    let mut wb: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| bad(path, format!("not a readable XLSX workbook: {e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| bad(path, "the workbook has no sheet"))?
        .map_err(|e| bad(path, format!("the first sheet cannot be read: {e}")))?;
    let mut it = range.rows().skip_while(|r| r.iter().all(|c| cell(c).trim().is_empty()));
    let headers: Vec<String> = it.next().map(|r| r.iter().map(cell).collect()).unwrap_or_default();
    let rows = it
        .map(|r| r.iter().map(cell).collect::<Vec<String>>())
        .enumerate()
        .filter(|(_, r)| !r.iter().all(|c| c.trim().is_empty()))
        .map(|(i, r)| (i + 1, r))
        .collect();
    Ok(Table { format: Format::Xlsx, encoding: "utf-8", headers, rows })
}

fn json_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn read_json(path: &Path, bytes: &[u8], format: Format) -> CliResult<Table> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| bad(path, format!("JSON must be UTF-8: invalid at byte {}", e.valid_up_to())))?;
    let objects: Vec<Value> = if format == Format::Json {
        let v: Value = serde_json::from_str(text).map_err(|e| bad(path, format!("not valid JSON: {e}")))?;
        match v {
            Value::Array(a) => a,
            Value::Object(mut o) => match o.remove("rows") {
                Some(Value::Array(a)) => a,
                _ => return Err(bad(path, "a JSON file is {\"rows\":[{…}]} or an array of objects")),
            },
            _ => return Err(bad(path, "a JSON file is {\"rows\":[{…}]} or an array of objects")),
        }
    } else {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            out.push(
                serde_json::from_str(line).map_err(|e| bad(path, format!("line {}: not valid JSON: {e}", i + 1)))?,
            );
        }
        out
    };
    let mut headers: Vec<String> = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let o = o.as_object().ok_or_else(|| bad(path, format!("row {} is not a JSON object", i + 1)))?;
        for k in o.keys() {
            if !headers.contains(k) {
                headers.push(k.clone());
            }
        }
    }
    let rows = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (i + 1, headers.iter().map(|h| o.get(h).map(json_cell).unwrap_or_default()).collect()))
        .collect();
    Ok(Table { format, encoding: "utf-8", headers, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_detection_and_gb18030_round_trip() {
        let text = "CF_WSH,CF_XDR_MC\n信市监罚〔2026〕1号,信阳某商贸有限公司\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        assert!(std::str::from_utf8(&gb).is_err(), "GB18030 bytes of Chinese text are not UTF-8");
        assert_eq!(decode(&gb, Encoding::Auto).unwrap(), (text.to_owned(), "gb18030"));
        assert_eq!(decode(&gb, Encoding::Gbk).unwrap().0, text);
        assert_eq!(decode(text.as_bytes(), Encoding::Auto).unwrap(), (text.to_owned(), "utf-8"));
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode(&bom, Encoding::Auto).unwrap().0, text);
        // GB18030 forced on UTF-8 Chinese: either an error or different text, never silently equal.
        assert!(decode(text.as_bytes(), Encoding::Gb18030).map(|d| d.0 != text).unwrap_or(true));
        // UTF-8 forced on GB18030 bytes fails and names the byte.
        let e = decode(&gb, Encoding::Utf8).unwrap_err();
        assert!(e.contains("UTF-8") && e.contains("byte"), "{e}");
        // Bytes that are neither.
        let e = decode(&[0x41, 0xFF, 0xFF, 0x80], Encoding::Auto).unwrap_err();
        assert!(e.contains("neither"), "{e}");
    }

    #[test]
    fn csv_gb18030_file_reads_back_with_quotes_and_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let text = "行政处罚决定书文号,违法事实\n\"信市监罚〔2026〕1号\",\"第一行\n第二行, 含逗号\"\n,\n";
        std::fs::write(&p, encoding_rs::GB18030.encode(text).0).unwrap();
        let t = read(&p, None, Encoding::Auto).unwrap();
        assert_eq!((t.format, t.encoding), (Format::Csv, "gb18030"));
        assert_eq!(t.headers, ["行政处罚决定书文号", "违法事实"]);
        assert_eq!(t.rows, vec![(1, vec!["信市监罚〔2026〕1号".to_owned(), "第一行\n第二行, 含逗号".to_owned()])]);
    }

    #[test]
    fn files_that_are_not_what_they_claim() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bin.csv");
        std::fs::write(&p, b"CF_WSH\n\x00\x01\x02\x03").unwrap();
        let e = read(&p, None, Encoding::Auto).unwrap_err();
        assert_eq!(e.exit, crate::exit::Exit::Usage);
        assert!(format!("{:#}", e.error).contains("binary"), "{:?}", e);
        let p = dir.path().join("trunc.xlsx");
        std::fs::write(&p, b"PK\x03\x04\x14\x00\x00\x00truncated").unwrap();
        let e = read(&p, None, Encoding::Auto).unwrap_err();
        assert!(format!("{:#}", e.error).contains("XLSX"), "{:?}", e);
        let p = dir.path().join("x.ndjson");
        std::fs::write(&p, "{\"CF_WSH\":\"1\"}\n{\"CF_WSH\":\n").unwrap();
        let e = read(&p, None, Encoding::Auto).unwrap_err();
        assert!(format!("{:#}", e.error).contains("line 2"), "{:?}", e);
        let p = dir.path().join("x.csv");
        std::fs::write(&p, [b"CF_WSH\n".as_slice(), &[0xFF, 0xFE, 0x80, 0xFF]].concat()).unwrap();
        let e = read(&p, Some(Format::Csv), Encoding::Utf8).unwrap_err();
        assert!(format!("{:#}", e.error).contains("UTF-8"), "{:?}", e);
    }

    #[test]
    fn json_and_ndjson_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        std::fs::write(&p, r#"{"total":2,"rows":[{"CF_WSH":"a","CF_NR_FK":0.2},{"CF_WSH":"b","ID":7}]}"#).unwrap();
        let t = read(&p, None, Encoding::Auto).unwrap();
        // Keys in serde_json's (sorted) order; every row has every key.
        assert_eq!(t.headers, ["CF_NR_FK", "CF_WSH", "ID"]);
        assert_eq!(t.rows[0].1, ["0.2", "a", ""]);
        assert_eq!(t.rows[1], (2, vec![String::new(), "b".to_owned(), "7".to_owned()]));
        let p = dir.path().join("x.data");
        std::fs::write(&p, "{\"cf_wsh\":\"a\"}\n\n{\"cf_wsh\":\"b\"}\n").unwrap();
        let t = read(&p, None, Encoding::Auto).unwrap();
        assert_eq!(t.format, Format::Ndjson);
        assert_eq!(t.rows.len(), 2);
    }

    #[test]
    fn xlsx_first_sheet_with_typed_cells() {
        use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.xlsx");
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (i, h) in ["CF_WSH", "处罚决定日期", "CF_NR_FK", "CF_XDR_MC"].iter().enumerate() {
            ws.write_string(0, i as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "信市监罚〔2026〕1号").unwrap();
        let date = ExcelDateTime::from_ymd(2026, 1, 5).unwrap();
        ws.write_datetime_with_format(1, 1, &date, &XFormat::new().set_num_format("yyyy-mm-dd")).unwrap();
        ws.write_number(1, 2, 0.2).unwrap();
        ws.write_string(1, 3, "信阳某商贸有限公司").unwrap();
        ws.write_number(2, 2, 3.0).unwrap();
        wb.add_worksheet().write_string(0, 0, "second sheet").unwrap();
        wb.save(&p).unwrap();
        let t = read(&p, None, Encoding::Auto).unwrap();
        assert_eq!(t.format, Format::Xlsx);
        assert_eq!(t.headers, ["CF_WSH", "处罚决定日期", "CF_NR_FK", "CF_XDR_MC"]);
        assert_eq!(t.rows[0].1, ["信市监罚〔2026〕1号", "2026-01-05", "0.2", "信阳某商贸有限公司"]);
        assert_eq!(t.rows[1].1[2], "3");
    }
}
