//! `report compliance --month YYYY-MM --format html|csv|json [--out FILE]`: the monthly
//! compliance report of `GET /v1/reports/compliance` (audit token), as the node's JSON, one CSV
//! table, or the printable HTML page the console shows (the same renderer,
//! `credfed_node::console::report`, with its style sheet inside so the file stands alone).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use crate::client::segment;
use crate::exit::{CliError, CliResult};
use crate::Ctx;
use credfed_node::console::report;
use credfed_node::state::compliance::Month;

/// Report commands.
#[derive(Subcommand, Debug)]
pub enum ReportCmd {
    /// Monthly compliance report (及时率, 合规率, objections, late items) of the records decided in a month.
    Compliance(ComplianceArgs),
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A printable HTML page (print CSS, A4 landscape).
    Html,
    /// One CSV table with a `section` column (total, region, region_kind, late).
    Csv,
    /// The node's JSON.
    Json,
}

/// `report compliance`.
#[derive(Args, Debug)]
pub struct ComplianceArgs {
    /// The month, YYYY-MM (records decided in it).
    #[arg(long, value_parser = parse_month)]
    pub month: Month,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Html)]
    pub format: Format,
    /// Write to this file (written to FILE.partial, then renamed) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn parse_month(s: &str) -> Result<Month, String> {
    s.parse().map_err(|e: credfed_node::state::compliance::MonthParseError| e.to_string())
}

/// Runs a report command.
pub fn run(ctx: &Ctx, c: ReportCmd) -> CliResult {
    match c {
        ReportCmd::Compliance(a) => compliance(ctx, a),
    }
}

fn compliance(ctx: &Ctx, a: ComplianceArgs) -> CliResult {
    let c = ctx.client()?;
    let v: Value = c.get_json(&format!("/v1/reports/compliance?month={}", segment(&a.month.to_string())))?;
    let text = match a.format {
        Format::Json => serde_json::to_string_pretty(&v).expect("JSON values serialize") + "\n",
        Format::Csv => report::csv(&v),
        Format::Html => report::html(&v),
    };
    match a.out {
        None => print!("{text}"),
        Some(path) => {
            let mut partial = path.clone().into_os_string();
            partial.push(".partial");
            let partial = PathBuf::from(partial);
            std::fs::write(&partial, text.as_bytes())
                .map_err(|e| CliError::usage(format!("cannot write {}: {e}", partial.display())))?;
            std::fs::rename(&partial, &path)
                .map_err(|e| CliError::usage(format!("cannot rename to {}: {e}", path.display())))?;
            eprintln!("wrote {} ({} bytes)", path.display(), text.len());
        }
    }
    Ok(())
}
