//! `records import FILE`: national-format files (CSV UTF-8/GB18030, XLSX, JSON, NDJSON) read,
//! validated and sent to the node in batches, with a progress bar, a reject report, a summary
//! and resumption.
//!
//! Order: read and decode the whole file (a broken file is one error, nothing sent) → resolve
//! headers → convert and validate every row (local rejects) → drop later rows with the same
//! natural key → send what earlier runs did not confirm, 1000 drafts at a time, recording the
//! confirmed prefix in `<input>.progress` after each batch → write `<input>.rejects.csv` and
//! the summary. Re-sending is safe: the node's natural-key idempotency answers `duplicate`.

pub mod convert;
pub mod fields;
pub mod read;
pub mod send;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use credfed_protocol::{Classification, Severity};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::exit::{CliError, CliResult, Exit};
use crate::Ctx;
use convert::{Opts, RowError};
use fields::{Kind, Mapping};
use read::{Encoding, Format};
use send::{Outcome, Sender, MAX_BATCH};

/// `records import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The file: CSV (UTF-8 with or without BOM, GB18030/GBK), XLSX (first sheet), JSON
    /// (`{"rows":[…]}`) or NDJSON.
    pub file: PathBuf,
    /// Penalty (CF_*) or licence (XK_*); default: detected from the headers.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// File format; default: from the extension, else the content.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Text encoding of a CSV file (auto: valid UTF-8 → UTF-8, else GB18030).
    #[arg(long, value_enum, default_value = "auto")]
    pub encoding: Encoding,
    /// TOML file mapping platform column names to national codes (`[columns]`) and giving
    /// defaults (`[defaults]` kind, sector, classification, severity, legal_basis).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// `sector` of every record (snake_case; default `unspecified`).
    #[arg(long)]
    pub sector: Option<String>,
    /// `classification` of every record: public (default), shared, restricted.
    #[arg(long)]
    pub classification: Option<String>,
    /// `severity` of penalties: minor, general (default), serious.
    #[arg(long)]
    pub severity: Option<String>,
    /// `legal_basis` of licences (default: the XK_XKWS document name).
    #[arg(long)]
    pub legal_basis: Option<String>,
    /// Send the `national` block (all national columns); dropped automatically for a node
    /// that predates it.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub national: bool,
    /// Reject report (CSV: row, column, code, message); default `<input>.rejects.csv`.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Validate everything, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Drafts per batch request (at most 1000).
    #[arg(long, default_value_t = MAX_BATCH)]
    pub batch_size: usize,
    /// Requests in flight when the node has no batch route.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Ignore `<input>.progress` from an earlier run and send every valid row again.
    #[arg(long)]
    pub restart: bool,
}

/// What earlier runs confirmed (`<input>.progress`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Progress {
    /// SHA-256 of the input file: another file's progress is ignored.
    file_sha256: String,
    /// Every valid row up to this data row number has a final answer from the node.
    confirmed_through: usize,
    /// The node's rejections and conflicts among the confirmed rows (for the reject report).
    node_rejects: Vec<RowError>,
}

impl Progress {
    fn load(path: &Path, sha: &str) -> Option<Progress> {
        let p: Progress = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        (p.file_sha256 == sha).then_some(p)
    }

    fn save(&self, path: &Path) -> CliResult {
        let tmp = path.with_extension("progress.tmp");
        std::fs::write(&tmp, serde_json::to_vec(self)?)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
    }
}

/// The summary.
#[derive(Debug, Default, Serialize)]
struct Summary {
    file: String,
    format: Option<Format>,
    encoding: String,
    kind: Option<Kind>,
    rows: usize,
    valid: usize,
    created: usize,
    duplicate: usize,
    conflict: usize,
    rejected: usize,
    rejected_locally: usize,
    skipped_confirmed: usize,
    ignored_columns: Vec<String>,
    national: &'static str,
    route: Option<&'static str>,
    dry_run: bool,
    rejects_file: String,
    seconds: f64,
    rows_per_s: f64,
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn opts(a: &ImportArgs, m: &Mapping) -> CliResult<Opts> {
    let d = &m.defaults;
    let sector = a.sector.clone().or_else(|| d.sector.clone()).unwrap_or_else(|| "unspecified".into());
    if sector.is_empty()
        || sector.len() > 48
        || !sector.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    {
        return Err(CliError::usage(format!("--sector {sector:?}: 1-48 characters of a-z, 0-9, _")));
    }
    fn parse<T: serde::de::DeserializeOwned>(flag: &str, v: String) -> CliResult<T> {
        serde_json::from_value(Value::String(v.clone()))
            .map_err(|_| CliError::usage(format!("--{flag} {v:?} is not valid")))
    }
    let classification: Classification = parse(
        "classification",
        a.classification.clone().or_else(|| d.classification.clone()).unwrap_or("public".into()),
    )?;
    let severity: Severity =
        parse("severity", a.severity.clone().or_else(|| d.severity.clone()).unwrap_or("general".into()))?;
    let licence_legal_basis = a.legal_basis.clone().or_else(|| d.legal_basis.clone());
    Ok(Opts { sector, classification, severity, licence_legal_basis, national: a.national })
}

fn write_rejects(path: &Path, rejects: &mut [RowError]) -> CliResult {
    rejects.sort_by(|a, b| a.row.cmp(&b.row).then_with(|| a.column.cmp(&b.column)));
    let mut bytes = b"\xEF\xBB\xBF".to_vec(); // so that Excel opens it as UTF-8
    {
        let mut w = csv::Writer::from_writer(&mut bytes);
        w.write_record(["row", "column", "code", "message"])?;
        for r in rejects.iter() {
            w.write_record([r.row.to_string().as_str(), &r.column, &r.code, &r.message])?;
        }
        w.flush()?;
    }
    std::fs::write(path, bytes).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))
}

/// Plain progress lines (not a terminal, or `--json`) or an `indicatif` bar.
struct Bar {
    bar: indicatif::ProgressBar,
    plain: bool,
    start: Instant,
    last_line: Instant,
}

impl Bar {
    fn new(total: u64, plain: bool) -> Bar {
        let bar = if plain {
            indicatif::ProgressBar::hidden()
        } else {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {pos}/{len} rows  {per_sec}  ETA {eta}",
                )
                .expect("template")
                .progress_chars("=> "),
            );
            b
        };
        Bar { bar, plain, start: Instant::now(), last_line: Instant::now() }
    }

    fn inc(&mut self, n: usize, total: usize) {
        self.bar.inc(n as u64);
        let done = self.bar.position() as usize;
        if self.plain && (self.last_line.elapsed().as_secs() >= 2 || done == total) {
            self.last_line = Instant::now();
            let rate = done as f64 / self.start.elapsed().as_secs_f64().max(1e-3);
            let eta = (total - done) as f64 / rate.max(1e-3);
            eprintln!("sent {done}/{total} rows ({rate:.0} rows/s, ETA {eta:.0} s)");
        }
    }
}

/// Runs `records import`.
pub fn run(ctx: &Ctx, a: ImportArgs) -> CliResult {
    let start = Instant::now();
    let mapping = match &a.mapping {
        Some(p) => Mapping::load(p)?,
        None => Mapping::default(),
    };
    let kind = match (a.kind, &mapping.defaults.kind) {
        (Some(k), _) => Some(k),
        (None, Some(k)) => Some(
            <Kind as clap::ValueEnum>::from_str(k, true)
                .map_err(|_| CliError::usage(format!("mapping: kind {k:?} is not penalty or licence")))?,
        ),
        (None, None) => None,
    };
    let opts = opts(&a, &mapping)?;
    if a.batch_size == 0 || a.batch_size > MAX_BATCH {
        return Err(CliError::usage(format!("--batch-size is 1..={MAX_BATCH}")));
    }
    let bytes = std::fs::read(&a.file).map_err(|e| CliError::usage(format!("{}: {e}", a.file.display())))?;
    let sha = hex::encode(Sha256::digest(&bytes));
    drop(bytes);
    let table = read::read(&a.file, a.format, a.encoding)?;
    let res = fields::resolve(&table.headers, kind, &mapping)?;
    let plain = ctx.out.json || !std::io::stderr().is_terminal();
    if !res.ignored.is_empty() {
        eprintln!("ignored columns (not national fields): {}", res.ignored.join(", "));
    }

    // Validate every row; later rows with a natural key already seen are duplicates.
    let mut local: Vec<RowError> = Vec::new();
    let mut drafts: Vec<(usize, Value)> = Vec::with_capacity(table.rows.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (row, cells) in &table.rows {
        match convert::convert(*row, cells, &res, &opts) {
            Err(e) => local.extend(e),
            Ok(c) => match seen.get(&c.key) {
                Some(first) => {
                    let col = res.kind.columns()[0].code;
                    local.push(RowError {
                        row: *row,
                        column: col.to_owned(),
                        code: "duplicate_in_file".into(),
                        message: format!("same decision number and subject as row {first}"),
                    });
                }
                None => {
                    seen.insert(c.key, *row);
                    drafts.push((*row, c.draft));
                }
            },
        }
    }
    let rejected_rows = |errs: &[RowError]| {
        let mut rows: Vec<usize> = errs.iter().map(|e| e.row).collect();
        rows.dedup();
        rows.len()
    };
    let mut s = Summary {
        file: a.file.display().to_string(),
        format: Some(table.format),
        encoding: table.encoding.into(),
        kind: Some(res.kind),
        rows: table.rows.len(),
        valid: drafts.len(),
        rejected_locally: rejected_rows(&local),
        ignored_columns: res.ignored.clone(),
        national: match (a.national, a.dry_run) {
            (false, _) => "off",
            (true, true) => "included",
            (true, false) => "sent",
        },
        dry_run: a.dry_run,
        ..Summary::default()
    };
    let rejects_path = a.rejects.clone().unwrap_or_else(|| with_suffix(&a.file, ".rejects.csv"));
    s.rejects_file = rejects_path.display().to_string();
    eprintln!(
        "read {} rows ({:?}, {}, {:?}) in {:.1} s: {} valid, {} rejected locally",
        s.rows,
        table.format,
        table.encoding,
        res.kind,
        start.elapsed().as_secs_f64(),
        s.valid,
        s.rejected_locally
    );
    drop(table);

    let mut node_rejects: Vec<RowError> = Vec::new();
    let outcome =
        if a.dry_run { Ok(()) } else { send_all(ctx, &a, &sha, res.kind, drafts, plain, &mut s, &mut node_rejects) };
    let mut all = local;
    all.extend(node_rejects);
    s.conflict = all.iter().filter(|e| e.code == "conflict").count();
    s.rejected = rejected_rows(&{
        let mut v = all.clone();
        v.sort_by_key(|e| e.row);
        v.retain(|e| e.code != "natural_key_conflict" && e.code != "conflict");
        v
    });
    write_rejects(&rejects_path, &mut all)?;
    outcome?;
    s.seconds = start.elapsed().as_secs_f64();
    s.rows_per_s = if s.seconds > 0.0 { s.rows as f64 / s.seconds } else { 0.0 };
    ctx.out.emit(&s, || {
        let mut h = format!(
            "{}: {} rows, {} valid{}\n  created {}  duplicate {}  conflict {}  rejected {}",
            s.file,
            s.rows,
            s.valid,
            if s.dry_run { " (dry run: nothing sent)" } else { "" },
            s.created,
            s.duplicate,
            s.conflict,
            s.rejected
        );
        if s.skipped_confirmed > 0 {
            h.push_str(&format!("  already confirmed by an earlier run {}", s.skipped_confirmed));
        }
        if !s.ignored_columns.is_empty() {
            h.push_str(&format!("\n  ignored columns: {}", s.ignored_columns.join(", ")));
        }
        if s.national == "dropped" {
            h.push_str("\n  national fields dropped: this node predates them");
        }
        h.push_str(&format!("\n  reject report: {}\n  {:.1} s, {:.0} rows/s", s.rejects_file, s.seconds, s.rows_per_s));
        h
    });
    if s.rejected + s.conflict > 0 {
        return Err(CliError::reported(Exit::Failed));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn send_all(
    ctx: &Ctx,
    a: &ImportArgs,
    sha: &str,
    kind: Kind,
    drafts: Vec<(usize, Value)>,
    plain: bool,
    s: &mut Summary,
    node_rejects: &mut Vec<RowError>,
) -> CliResult {
    let progress_path = with_suffix(&a.file, ".progress");
    let mut progress = (!a.restart).then(|| Progress::load(&progress_path, sha)).flatten().unwrap_or_default();
    progress.file_sha256 = sha.to_owned();
    let confirmed = progress.confirmed_through;
    node_rejects.extend(progress.node_rejects.iter().cloned());
    let todo: Vec<(usize, Value)> = drafts.into_iter().filter(|(row, _)| *row > confirmed).collect();
    s.skipped_confirmed = s.valid - todo.len();
    if s.skipped_confirmed > 0 {
        eprintln!(
            "resuming: {} rows were confirmed by an earlier run (--restart sends them again)",
            s.skipped_confirmed
        );
    }
    let client = ctx.client()?;
    let mut sender = Sender::new(&client, a.concurrency, a.national);
    let total = todo.len();
    let mut bar = Bar::new(total as u64, plain);
    let mut it = todo.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<(usize, Value)> = it.by_ref().take(a.batch_size).collect();
        let (rows, mut bodies): (Vec<usize>, Vec<Value>) = chunk.into_iter().unzip();
        let outcomes = sender.send(&mut bodies).map_err(|mut e| {
            let ctx = format!(
                "stopped after {} of {total} rows; what the node confirmed is in {}: run the same command again to resume",
                bar.bar.position(),
                progress_path.display()
            );
            e.error = e.error.context(ctx);
            e
        })?;
        for (row, o) in rows.iter().zip(outcomes) {
            let mut reject = |column: String, code: String, message: String| {
                let e = RowError { row: *row, column, code, message };
                progress.node_rejects.push(e.clone());
                node_rejects.push(e);
            };
            match o {
                Outcome::Created(_) => s.created += 1,
                Outcome::Duplicate(_) => s.duplicate += 1,
                Outcome::Conflict { id, message } => {
                    let id = id.map(|i| format!(" (existing record {i})")).unwrap_or_default();
                    reject(kind.columns()[0].code.to_owned(), "conflict".into(), format!("{message}{id}"));
                }
                Outcome::Rejected { code, message, field } => {
                    let column = field
                        .as_deref()
                        .map(|f| kind.col_for_path(f).map_or(f, |c| c.code).to_owned())
                        .unwrap_or_default();
                    reject(column, code, message);
                }
            }
        }
        progress.confirmed_through = *rows.last().expect("non-empty chunk");
        progress.save(&progress_path)?;
        bar.inc(rows.len(), total);
    }
    bar.bar.finish_and_clear();
    s.route = match sender.batch {
        Some(true) => Some("batch"),
        Some(false) => Some("single"),
        None => None,
    };
    if sender.national_dropped {
        s.national = "dropped";
    }
    Ok(())
}
