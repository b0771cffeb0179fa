//! `changes follow`: a node's change stream (`GET /v1/changes`) as NDJSON on stdout, one change
//! a line, for piping into a platform's database.
//!
//! Delivery is at least once: a page is printed and flushed, then its cursor is saved (when
//! `--cursor-file` is given, written to a temporary file and renamed over the old one). A follower
//! killed between the two prints that page again when restarted, so the consumer upserts by
//! `cursor` (or `id`). Without `--once` it long-polls for ever (`wait=25`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::client::segment;
use crate::exit::{CliError, CliResult};
use crate::Ctx;

/// `changes …`.
#[derive(Subcommand, Debug)]
pub enum ChangesCmd {
    /// Print every change after a cursor as NDJSON and keep following (query token).
    Follow(FollowArgs),
}

/// `changes follow`.
#[derive(Args, Debug)]
pub struct FollowArgs {
    /// Start after this cursor (default: the one in --cursor-file, else the beginning).
    #[arg(long)]
    pub after: Option<String>,
    /// Remember the cursor in this file after each page printed; resume from it.
    #[arg(long)]
    pub cursor_file: Option<PathBuf>,
    /// Only changes about records of this kind (e.g. administrative_penalty).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only changes issued by this region.
    #[arg(long)]
    pub origin: Option<String>,
    /// Only changes about this subject (USCC).
    #[arg(long)]
    pub subject: Option<String>,
    /// Changes per request (1-1000).
    #[arg(long, default_value_t = 500)]
    pub limit: usize,
    /// Stop once caught up instead of waiting for more.
    #[arg(long)]
    pub once: bool,
}

/// Runs `changes …`.
///
/// # Errors
/// Exit 2 for a bad cursor file, 3 when the node cannot be reached or refuses.
pub fn run(ctx: &Ctx, c: ChangesCmd) -> CliResult<()> {
    let ChangesCmd::Follow(a) = c;
    let client = ctx.client()?;
    let mut cursor = match (&a.after, &a.cursor_file) {
        (Some(c), _) => c.clone(),
        (None, Some(f)) if f.exists() => {
            std::fs::read_to_string(f).map_err(|e| CliError::usage(format!("{}: {e}", f.display())))?.trim().to_string()
        }
        _ => String::new(),
    };
    let mut filters = String::new();
    for (k, v) in [("kind", &a.kind), ("origin", &a.origin), ("subject", &a.subject)] {
        if let Some(v) = v {
            filters.push_str(&format!("&{k}={}", segment(v)));
        }
    }
    let wait = if a.once { 0 } else { 25 };
    let stdout = std::io::stdout();
    loop {
        let path = format!("/v1/changes?after={}&limit={}&wait={wait}{filters}", segment(&cursor), a.limit);
        let page: Value = client.get_json(&path)?;
        let mut out = stdout.lock();
        for ch in page["changes"].as_array().into_iter().flatten() {
            if writeln!(out, "{ch}").is_err() {
                return Ok(()); // the reader went away (a closed pipe)
            }
        }
        if out.flush().is_err() {
            return Ok(());
        }
        drop(out);
        let next = page["next"].as_str().unwrap_or_default().to_string();
        if next != cursor {
            cursor = next;
            if let Some(f) = &a.cursor_file {
                save(f, &cursor)?;
            }
        }
        if a.once && page["more"] != Value::Bool(true) {
            return Ok(());
        }
    }
}

fn save(file: &Path, cursor: &str) -> CliResult<()> {
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, format!("{cursor}\n"))
        .and_then(|()| std::fs::rename(&tmp, file))
        .map_err(|e| CliError::usage(format!("saving the cursor to {}: {e}", file.display())))
}
