//! `records export`: the node's records in the national 双公示 columns (`GET /v1/records/export`),
//! every page followed (`X-Credfed-Next-Cursor`), into one file a platform loads into its own
//! tables: CSV with one header (CF_* or XK_* codes, then `credfed_id`, `credfed_origin`,
//! `credfed_status`) in UTF-8 or GB18030, or NDJSON record views.
//!
//! The file appears only complete: pages go to `<out>.partial`, renamed over `<out>` after the
//! last page. A failure leaves any earlier `<out>` as it was.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use hyper::Method;
use serde_json::json;

use crate::client::segment;
use crate::exit::{CliError, CliResult};
use crate::Ctx;

/// File format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// National columns (one kind per file).
    Csv,
    /// One record view a line, with `national_columns` for penalties and licences.
    Ndjson,
}

/// Text encoding of a CSV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Encoding {
    /// UTF-8 without BOM.
    #[value(name = "utf-8")]
    Utf8,
    /// UTF-8 with a BOM (what spreadsheet programs need to recognise UTF-8).
    #[value(name = "utf-8-bom")]
    Utf8Bom,
    /// GB18030 (a superset of GBK), what most platform databases import.
    Gb18030,
}

/// `records export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// File format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Record kind: `penalty` (CF_*), `licence` (XK_*) or any record kind name; required for CSV.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only records issued by this region.
    #[arg(long)]
    pub origin: Option<String>,
    /// Only records of this derived status (active, under_objection, repaired, withdrawn,
    /// superseded, expired).
    #[arg(long)]
    pub status: Option<String>,
    /// Decided on or after (YYYY-MM-DD).
    #[arg(long)]
    pub decided_from: Option<String>,
    /// Decided on or before (YYYY-MM-DD).
    #[arg(long)]
    pub decided_to: Option<String>,
    /// The deciding authority's name or USCC.
    #[arg(long)]
    pub authority: Option<String>,
    /// A substring of the subject name.
    #[arg(long)]
    pub name: Option<String>,
    /// A prefix of the decision number.
    #[arg(long)]
    pub decision_no: Option<String>,
    /// Status as of this day (YYYY-MM-DD; default today).
    #[arg(long)]
    pub as_of: Option<String>,
    /// CSV text encoding.
    #[arg(long, value_enum, default_value_t = Encoding::Utf8)]
    pub encoding: Encoding,
    /// Rows per request (1-10000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub page_size: u32,
    /// Output file (default: standard output).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

fn kind_name(k: &str) -> &str {
    match k {
        "penalty" | "cf" | "CF" => "administrative_penalty",
        "licence" | "license" | "xk" | "XK" => "administrative_license",
        other => other,
    }
}

/// The query string of one page.
fn query(a: &ExportArgs, cursor: Option<&str>) -> String {
    let format = match a.format {
        Format::Csv => "csv",
        Format::Ndjson => "ndjson",
    };
    let mut q = format!("format={format}&limit={}", a.page_size);
    let kind = a.kind.as_deref().map(kind_name);
    let pairs = [
        ("kind", kind),
        ("origin", a.origin.as_deref()),
        ("status", a.status.as_deref()),
        ("decided_from", a.decided_from.as_deref()),
        ("decided_to", a.decided_to.as_deref()),
        ("authority", a.authority.as_deref()),
        ("name", a.name.as_deref()),
        ("decision_no", a.decision_no.as_deref()),
        ("as_of", a.as_of.as_deref()),
        ("cursor", cursor),
    ];
    for (k, v) in pairs {
        if let Some(v) = v {
            q.push_str(&format!("&{k}={}", segment(v)));
        }
    }
    q
}

/// Runs `records export`.
///
/// # Errors
/// Exit 2 for a CSV export without a kind or an unwritable file, 3 when the node cannot be
/// reached or refuses (its error names the parameter).
pub fn run(ctx: &Ctx, a: ExportArgs) -> CliResult<()> {
    if a.format == Format::Csv && a.kind.is_none() {
        return Err(CliError::usage(
            "--format csv writes one kind's national columns: pass --kind penalty or --kind licence",
        ));
    }
    if a.format == Format::Ndjson && a.encoding != Encoding::Utf8 {
        return Err(CliError::usage("--encoding applies to CSV only (NDJSON is UTF-8)"));
    }
    let client = ctx.client()?;
    let partial = a.out.as_ref().map(|p| {
        let mut s = p.clone().into_os_string();
        s.push(".partial");
        PathBuf::from(s)
    });
    let mut sink: Box<dyn Write> = match &partial {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| CliError::usage(format!("{}: {e}", p.display())))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let write_err = |e: std::io::Error| CliError::usage(format!("writing the export: {e}"));
    if a.encoding == Encoding::Utf8Bom {
        sink.write_all("\u{feff}".as_bytes()).map_err(write_err)?;
    }
    let (mut rows, mut pages) = (0u64, 0u64);
    let mut cursor: Option<String> = None;
    loop {
        let path = format!("/v1/records/export?{}", query(&a, cursor.as_deref()));
        let r = client.call(Method::GET, &path, None)?;
        let text = std::str::from_utf8(&r.body)
            .map_err(|e| CliError::connection(format!("the node's export is not UTF-8: {e}")))?;
        // Every CSV page repeats the header: keep the first page's only.
        let body = match (a.format, pages) {
            (Format::Csv, 1..) => text.split_once('\n').map_or("", |(_, rest)| rest),
            _ => text,
        };
        rows += match a.format {
            // Cells may hold quoted line breaks: count records, not lines.
            Format::Csv => csv::Reader::from_reader(text.as_bytes()).records().count() as u64,
            Format::Ndjson => body.lines().filter(|l| !l.is_empty()).count() as u64,
        };
        let bytes = match a.encoding {
            Encoding::Gb18030 => encoding_rs::GB18030.encode(body).0.into_owned(),
            _ => body.as_bytes().to_vec(),
        };
        sink.write_all(&bytes).map_err(write_err)?;
        pages += 1;
        match r.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    sink.flush().map_err(write_err)?;
    drop(sink);
    if let (Some(p), Some(out)) = (&partial, &a.out) {
        std::fs::rename(p, out).map_err(|e| CliError::usage(format!("{} → {}: {e}", p.display(), out.display())))?;
    }
    let summary = json!({ "rows": rows, "pages": pages, "out": a.out.as_ref().map(|p| p.display().to_string()) });
    if a.out.is_some() {
        ctx.out.emit(&summary, || format!("exported {rows} records in {pages} pages"));
    } else {
        eprintln!("exported {rows} records in {pages} pages");
    }
    Ok(())
}
