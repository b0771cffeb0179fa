//! The monthly compliance report rendered from its JSON (`GET /v1/reports/compliance`, see
//! `crate::api::audit_routes::report_json`): a printable HTML page (print CSS) and CSV. The
//! console serves the HTML (style sheet linked, for its Content-Security-Policy);
//! `credfed-admin report compliance` writes the same page with the style sheet inside, so the
//! file stands alone.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;

use super::s;

/// The report's style sheet (screen and print).
pub const REPORT_CSS: &str = include_str!("report.css");

fn pct(v: &Value) -> String {
    v.as_f64().map_or_else(|| "—".into(), |f| format!("{:.1}%", f * 100.0))
}

const COUNT_COLS: &[(&str, &str)] = &[
    ("records", "records"),
    ("timely", "timely"),
    ("timeliness", "及时率"),
    ("compliant", "compliant"),
    ("rule_compliance", "合规率"),
    ("repaired", "repaired"),
    ("objections_open", "objections open"),
    ("objections_overdue", "objections overdue"),
    ("active", "active"),
];

fn cell(v: &Value, k: &str) -> Markup {
    let text = if k == "timeliness" || k == "rule_compliance" { pct(&v[k]) } else { s(&v[k]) };
    html! { td.num { (text) } }
}

/// Per region (with a total row).
pub fn rows_table(rep: &Value) -> Markup {
    html! {
        table.data {
            thead { tr { th { "region" } @for (_, l) in COUNT_COLS { th { (l) } } } }
            tbody {
                @for r in rep["by_region"].as_array().into_iter().flatten() {
                    tr { td { (s(&r["region"])) } @for (k, _) in COUNT_COLS { (cell(r, k)) } }
                }
                tr.total { td { "total" } @for (k, _) in COUNT_COLS { (cell(&rep["totals"], k)) } }
            }
        }
        (kind_table(&rep["by_region_and_kind"]))
    }
}

/// Per region and category.
pub fn kind_table(rows: &Value) -> Markup {
    html! {
        table.data {
            thead { tr { th { "region" } th { "category" } @for (_, l) in COUNT_COLS { th { (l) } } } }
            tbody { @for r in rows.as_array().into_iter().flatten() {
                tr { td { (s(&r["region"])) } td { (s(&r["kind"])) } @for (k, _) in COUNT_COLS { (cell(r, k)) } }
            } }
        }
    }
}

/// The late items (`links`: to the console's record pages).
pub fn late_table(rep: &Value, links: bool) -> Markup {
    let late = rep["late_items"].as_array().cloned().unwrap_or_default();
    html! {
        p { (s(&rep["late_total"])) " record(s) published after their deadline"
            @if rep["late_total"].as_u64().unwrap_or(0) > late.len() as u64 { " (the first " (late.len()) " listed)" } }
        @if !late.is_empty() {
            table.data {
                thead { tr { th { "record" } th { "region" } th { "category" } th { "decision no." } th { "decided" } th { "deadline" } th { "published" } } }
                tbody { @for l in &late { tr {
                    td.mono { @if links { a href={ "/console/records/" (s(&l["record"])) } { (s(&l["record"]).get(..16).unwrap_or("")) } } @else { (s(&l["record"])) } }
                    td { (s(&l["region"])) } td { (s(&l["kind"])) } td { (s(&l["decision_no"])) }
                    td { (s(&l["decided_on"])) } td { (s(&l["deadline"])) } td { (s(&l["published"])) }
                } } }
            }
        }
    }
}

fn page(rep: &Value, style: Markup, links: bool) -> String {
    let m = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { "信用信息合规月报 compliance report " (s(&rep["region"])) " " (s(&rep["month"])) }
                (style)
            }
            body.report {
                header {
                    h1 { "公共信用信息报送合规月报 · Monthly compliance report" }
                    p { "Region " strong { (s(&rep["region"])) } " · month " strong { (s(&rep["month"])) }
                        " (records decided in the month) · figures as of " (s(&rep["as_of"])) }
                }
                section.summary {
                    div { span.k { "records" } span.v { (s(&rep["totals"]["records"])) } }
                    div { span.k { "及时率 timeliness" } span.v { (pct(&rep["totals"]["timeliness"])) } }
                    div { span.k { "合规率 rule compliance" } span.v { (pct(&rep["totals"]["rule_compliance"])) } }
                    div { span.k { "objections overdue" } span.v { (s(&rep["totals"]["objections_overdue"])) } }
                    div { span.k { "receipts overdue" } span.v { (rep["receipts_overdue"].as_array().map_or(0, Vec::len)) } }
                }
                h2 { "By region and category" }
                (rows_table(rep))
                h2 { "Late items" }
                (late_table(rep, links))
                h2 { "Objections past their resolve-by deadline" }
                table.data { thead { tr { th { "record" } th { "objection" } th { "resolve by" } } }
                    tbody { @for o in rep["objections_overdue"].as_array().into_iter().flatten() {
                        tr { td.mono { (s(&o["record"])) } td.mono { (s(&o["objection"])) } td { (s(&o["resolve_by"])) } }
                    } } }
                footer { p { "及时率: published into the federation by the publication deadline of the rule table (working-day calendar). 合规率: no data-quality warning (USCC, missing credit-repair notice). Same computation as GET /v1/compliance." }
                    p.sign { "审核人 Reviewed by: ____________    日期 Date: ____________" } }
            }
        }
    };
    m.into_string()
}

/// The printable page with its style sheet inside (a file that stands alone).
pub fn html(rep: &Value) -> String {
    page(rep, html! { style { (PreEscaped(REPORT_CSS)) } }, false)
}

/// The printable page linking the console's style sheet (served under its CSP).
pub fn html_linked(rep: &Value) -> String {
    page(rep, html! { link rel="stylesheet" href="/console/static/report.css"; }, true)
}

fn csv_field(s: &str) -> String {
    // A leading = + - @ would be a formula in a spreadsheet: quote it with a leading '.
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The report as one CSV table: a `section` column (`total`, `region`, `region_kind`, `late`).
pub fn csv(rep: &Value) -> String {
    let mut cols: Vec<&str> = vec!["section", "month", "region", "kind"];
    cols.extend(COUNT_COLS.iter().map(|(k, _)| *k));
    cols.extend(["record", "decision_no", "decided_on", "deadline", "published"]);
    let mut out = cols.join(",") + "\n";
    let month = s(&rep["month"]);
    let mut row = |section: &str, v: &Value, region: &str, kind: &str| {
        let mut f: Vec<String> = vec![section.into(), month.clone(), region.into(), kind.into()];
        for (k, _) in COUNT_COLS {
            f.push(if v[k].is_null() { String::new() } else { s(&v[k]) });
        }
        for k in ["record", "decision_no", "decided_on", "deadline", "published"] {
            f.push(if v[k].is_null() { String::new() } else { s(&v[k]) });
        }
        out.push_str(&f.iter().map(|x| csv_field(x)).collect::<Vec<_>>().join(","));
        out.push('\n');
    };
    row("total", &rep["totals"], "", "");
    for r in rep["by_region"].as_array().into_iter().flatten() {
        row("region", r, &s(&r["region"]), "");
    }
    for r in rep["by_region_and_kind"].as_array().into_iter().flatten() {
        row("region_kind", r, &s(&r["region"]), &s(&r["kind"]));
    }
    for l in rep["late_items"].as_array().into_iter().flatten() {
        row("late", l, &s(&l["region"]), &s(&l["kind"]));
    }
    out
}
