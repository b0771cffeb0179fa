//! SVG drawn on the server (hand-written elements, presentation attributes only, so the
//! Content-Security-Policy needs no inline styles): the federation diagram, the 12-month
//! compliance trend and bar charts. Every text is escaped with [`esc`].

use std::fmt::Write;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::state::compliance::{ratio, Counts, Month};

/// Escapes text for SVG/XML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// What the console shows of a checkpoint note.
#[derive(Debug, Default)]
pub struct Note {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Option<[u8; 32]>,
    /// Key names of the signature lines (the log's own, then cosigners).
    pub signers: Vec<String>,
}

/// Reads a C2SP signed note (origin, size, base64 root, …, blank line, `— name sig` lines).
pub fn parse_note(note: &str) -> Note {
    let (text, sigs) = note.split_once("\n\n").unwrap_or((note, ""));
    let mut lines = text.lines();
    let _origin = lines.next();
    let size = lines.next().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    let root = lines.next().and_then(|l| STANDARD.decode(l.trim()).ok()).and_then(|b| b.try_into().ok());
    let signers = sigs
        .lines()
        .filter_map(|l| l.strip_prefix("— "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    Note { size, root, signers }
}

/// A city of the federation diagram.
#[derive(Debug, Clone)]
pub struct City {
    /// Region name.
    pub name: String,
    /// This node's region.
    pub own: bool,
    /// Connected to this node (always true for itself).
    pub connected: bool,
    /// Cosigned this node's last checkpoint.
    pub cosigned: bool,
}

/// Cities on a circle, this node in the middle; a link per city coloured by its connection,
/// a ring around cities that cosigned the last checkpoint.
pub fn federation_map(cities: &[City]) -> String {
    let (w, h) = (480.0_f64, 320.0_f64);
    let (cx, cy, rad) = (w / 2.0, h / 2.0, 115.0);
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" class="chart" role="img" aria-label="federation map">"##
    );
    let others: Vec<&City> = cities.iter().filter(|c| !c.own).collect();
    let n = others.len().max(1) as f64;
    let pos = |i: usize| {
        let a = -std::f64::consts::FRAC_PI_2 + i as f64 * 2.0 * std::f64::consts::PI / n;
        (cx + rad * a.cos(), cy + rad * a.sin())
    };
    for (i, c) in others.iter().enumerate() {
        let (x, y) = pos(i);
        let colour = if c.connected { "#2e7d32" } else { "#c62828" };
        let dash = if c.connected { "" } else { r#" stroke-dasharray="6 4""# };
        let _ = write!(
            s,
            r#"<line x1="{cx:.1}" y1="{cy:.1}" x2="{x:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="3"{dash}/>"#
        );
    }
    let mut node = |x: f64, y: f64, c: &City| {
        let fill = if c.own {
            "#1565c0"
        } else if c.connected {
            "#43a047"
        } else {
            "#e53935"
        };
        if c.cosigned {
            let _ = write!(
                s,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="30" fill="none" stroke="#f9a825" stroke-width="3"/>"##
            );
        }
        let _ = write!(
            s,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="24" fill="{fill}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="13" fill="#222">{}</text>"##,
            y + 44.0,
            esc(&c.name)
        );
    };
    if let Some(me) = cities.iter().find(|c| c.own) {
        node(cx, cy, me);
    }
    for (i, c) in others.iter().enumerate() {
        let (x, y) = pos(i);
        node(x, y, c);
    }
    s.push_str("</svg>");
    s
}

/// The 12-month trend: bars of records per month, lines of 及时率 and 合规率 (0–100 %).
pub fn trend_chart(trend: &[(Month, Counts)]) -> String {
    let (w, h, left, bottom, top) = (720.0_f64, 260.0_f64, 44.0, 36.0, 14.0);
    let plot_h = h - bottom - top;
    let n = trend.len().max(1) as f64;
    let step = (w - left - 10.0) / n;
    let max = trend.iter().map(|(_, c)| c.records).max().unwrap_or(0).max(1) as f64;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" class="chart" role="img" aria-label="12-month compliance trend">"##
    );
    for pct in [0, 50, 100] {
        let y = top + plot_h * (1.0 - pct as f64 / 100.0);
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{pct}%</text>"##,
            w - 10.0,
            left - 4.0,
            y + 4.0
        );
    }
    let mut timely = Vec::new();
    let mut clean = Vec::new();
    for (i, (m, c)) in trend.iter().enumerate() {
        let x = left + step * i as f64;
        let bh = plot_h * c.records as f64 / max;
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#cfd8dc"><title>{m}: {} records</title></rect><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#333">{}</text><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#777">{}</text>"##,
            x + step * 0.15,
            top + plot_h - bh,
            step * 0.7,
            c.records,
            x + step / 2.0,
            h - bottom + 14.0,
            esc(&m.to_string()[2..]),
            x + step / 2.0,
            h - bottom + 28.0,
            c.records
        );
        if c.records > 0 {
            let px = x + step / 2.0;
            timely.push((px, top + plot_h * (1.0 - ratio(c.timely, c.records))));
            clean.push((px, top + plot_h * (1.0 - ratio(c.compliant, c.records))));
        }
    }
    for (pts, colour) in [(&timely, "#2e7d32"), (&clean, "#1565c0")] {
        if pts.is_empty() {
            continue;
        }
        let d: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(s, r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.5"/>"#, d.join(" "));
        for (x, y) in pts.iter() {
            let _ = write!(s, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{colour}"/>"#);
        }
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars of `(label, value)` against `max`.
pub fn bars(items: &[(String, u64)], max: u64) -> String {
    let (w, row) = (560.0_f64, 26.0_f64);
    let h = row * items.len().max(1) as f64 + 8.0;
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(max).max(1) as f64;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" class="chart small" role="img" aria-label="bars">"##
    );
    for (i, (label, v)) in items.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let bw = (w - 200.0) * *v as f64 / max;
        let _ = write!(
            s,
            r##"<text x="110" y="{:.1}" font-size="12" text-anchor="end" fill="#222">{}</text><rect x="118" y="{y:.1}" width="{bw:.1}" height="{:.1}" fill="#7986cb"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#222">{v}</text>"##,
            y + row * 0.6,
            esc(label),
            row - 8.0,
            124.0 + bw,
            y + row * 0.6
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_svg_is_escaped() {
        let c = City { name: "<script>x</script>".into(), own: false, connected: true, cosigned: false };
        let svg = federation_map(&[c]);
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn a_note_gives_size_root_and_signers() {
        let root = STANDARD.encode([7u8; 32]);
        let note = format!("credfed/xinyang/audit/1\n12\n{root}\n\n— xinyang abc\n— suzhou def\n");
        let n = parse_note(&note);
        assert_eq!((n.size, n.root, n.signers), (12, Some([7u8; 32]), vec!["xinyang".to_string(), "suzhou".into()]));
    }
}
