//! The layering of `node/src` (ARCHITECTURE.md, `src/lib.rs`): a module imports only from its
//! own layer or below, and no files import each other in a circle.
//!
//! Read as text: every `use` tree and every inline `crate::…` / `super::…` / `self::…` path
//! outside comments and `#[cfg(test)]` code is resolved to the file that defines it. Two kinds
//! of failure:
//! * a **back-edge**: a file of a lower layer names a module of a higher one;
//! * a **cycle** between files. A folder's root file (`api.rs` for `api/`) and the files inside
//!   that folder are one unit (the root declares and re-exports them; they share its types), so
//!   edges between them are not counted; every other pair is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer, lowest first (the order of `src/lib.rs`).
const LAYERS: &[&[&str]] = &[
    &["config", "keyfile", "metrics"],
    &["store"],
    &["state"],
    &["ingest"],
    &["audit"],
    &["api", "console", "fed"],
    &["demo", "init", "node", "rebuild", "setup"],
];

type ModPath = Vec<String>;

fn rank(top: &str) -> usize {
    LAYERS.iter().position(|l| l.contains(&top)).unwrap_or_else(|| panic!("module {top} is in no layer of LAYERS"))
}

/// Every library source file with its module path (`src/a/b.rs` → `[a, b]`).
fn files(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    fn walk(dir: &Path, src: &Path, out: &mut BTreeMap<ModPath, PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, src, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src).unwrap().with_extension("");
                let mut m: ModPath = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
                if m.last().is_some_and(|l| l == "mod") {
                    m.pop();
                }
                if m != ["main"] && m != ["lib"] {
                    out.insert(m, p);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, src, &mut out);
    out
}

/// The code of a file without comments and without the trailing `#[cfg(test)]` part.
fn code(text: &str) -> String {
    let body = text.split("#[cfg(test)]").next().unwrap_or("");
    body.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else { return vec![tree] };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).flat_map(|p| expand(&format!("{prefix}{p}"))).collect()
}

/// Every path a file's code names that starts with `crate`, `super` or `self`.
fn named_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let boundary = i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric() && rest.as_bytes()[i - 1] != b'_';
        let after = &rest[i + 4..];
        let end = after.find(';').unwrap_or(after.len());
        if boundary {
            out.extend(expand(&after[..end]));
        }
        rest = &after[end.min(after.len())..];
    }
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b':') {
                continue;
            }
            let len = code[at..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(0);
            out.push(code[at..at + len].to_owned());
        }
    }
    out
}

/// The file a path resolves to, seen from the file of module `from`.
fn resolve(path: &str, from: &ModPath, known: &BTreeMap<ModPath, PathBuf>) -> Option<ModPath> {
    let mut parts = path.split("::").filter(|s| !s.is_empty() && *s != "*").map(str::to_owned);
    let mut m: ModPath = match parts.next()?.as_str() {
        "crate" => Vec::new(),
        "self" => from.clone(),
        "super" => from[..from.len().saturating_sub(1)].to_vec(),
        _ => return None,
    };
    let mut rest: Vec<String> = parts.collect();
    while rest.first().is_some_and(|p| p == "super") {
        m.pop();
        rest.remove(0);
    }
    let mut best = None;
    for p in rest {
        m.push(p);
        if known.contains_key(&m) {
            best = Some(m.clone());
        }
    }
    best.or_else(|| known.contains_key(&m[..m.len().min(1)].to_vec()).then(|| m[..1].to_vec()))
}

/// Edges between files: (from, to) module paths.
fn edges() -> BTreeSet<(ModPath, ModPath)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known = files(&src);
    let mut out = BTreeSet::new();
    for (m, p) in &known {
        let text = std::fs::read_to_string(p).unwrap();
        for path in named_paths(&code(&text)) {
            if let Some(to) = resolve(&path, m, &known) {
                if &to != m && !to.is_empty() {
                    out.insert((m.clone(), to));
                }
            }
        }
    }
    out
}

fn show(m: &ModPath) -> String {
    m.join("/")
}

#[test]
fn layers_only_point_down() {
    let back: Vec<String> = edges()
        .into_iter()
        .filter(|(a, b)| rank(&b[0]) > rank(&a[0]))
        .map(|(a, b)| format!("{} -> {} ({} is in a higher layer)", show(&a), show(&b), b[0]))
        .collect();
    assert!(back.is_empty(), "imports from a higher layer:\n{}", back.join("\n"));
}

/// A folder's root file and the files inside the folder are one unit.
fn same_unit(a: &ModPath, b: &ModPath) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.len() > short.len() && long[..short.len()] == short[..]
}

#[test]
fn no_import_cycles_between_files() {
    let mut graph: BTreeMap<ModPath, Vec<ModPath>> = BTreeMap::new();
    for (a, b) in edges() {
        if !same_unit(&a, &b) {
            graph.entry(a).or_default().push(b);
        }
    }
    // Depth-first search; a grey node reached again closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Grey,
        Black,
    }
    fn visit(
        n: &ModPath,
        g: &BTreeMap<ModPath, Vec<ModPath>>,
        marks: &mut BTreeMap<ModPath, Mark>,
        stack: &mut Vec<ModPath>,
    ) -> Option<Vec<ModPath>> {
        marks.insert(n.clone(), Mark::Grey);
        stack.push(n.clone());
        for next in g.get(n).into_iter().flatten() {
            match marks.get(next) {
                Some(Mark::Grey) => {
                    let at = stack.iter().position(|s| s == next).unwrap();
                    return Some(stack[at..].iter().cloned().chain([next.clone()]).collect());
                }
                Some(Mark::Black) => {}
                None => {
                    if let Some(c) = visit(next, g, marks, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(n.clone(), Mark::Black);
        None
    }
    let mut marks = BTreeMap::new();
    for n in graph.keys() {
        if !marks.contains_key(n) {
            if let Some(c) = visit(n, &graph, &mut marks, &mut Vec::new()) {
                panic!("import cycle: {}", c.iter().map(show).collect::<Vec<_>>().join(" -> "));
            }
        }
    }
}

#[test]
fn the_check_sees_imports() {
    // The parser itself: a use tree, a nested group, an inline path, a comment.
    let c = code("use crate::store::{fed_enc, FedNs};\nuse super::{a, b::{c, d}};\n// crate::api::x\nlet x = crate::state::query::load();");
    let p = named_paths(&c);
    for want in ["crate::store::fed_enc", "super::b::c", "super::b::d", "crate::state::query::load"] {
        assert!(p.iter().any(|x| x == want), "{want} not in {p:?}");
    }
    assert!(!p.iter().any(|x| x.contains("api")), "a comment was read as code: {p:?}");
    // And it finds real edges of this crate.
    let e = edges();
    assert!(
        e.contains(&(vec!["ingest".into(), "writer".into()], vec!["store".into()])),
        "ingest/writer -> store not seen"
    );
    assert!(e.len() > 50, "only {} edges seen", e.len());
}
