//! The source layout rules of docs/ARCHITECTURE.md, checked on the files themselves: no file
//! over 400 lines, every Rust file opening with a `//!` line, no two files importing each
//! other (directly or round a longer loop), and each folder depending only on the folders
//! before it in the data flow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 400;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Folders of generated files, not kept in git: wasm-bindgen's output for the page.
const GENERATED: &[&str] = &["www/pkg"];

fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if GENERATED.iter().any(|g| path == root().join(g)) {
            continue;
        }
        if path.is_dir() {
            files(&path, extensions, out);
        } else if extensions
            .iter()
            .any(|e| path.extension().is_some_and(|x| x == *e))
        {
            out.push(path);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let mut out = Vec::new();
    files(&root().join("src"), &["rs"], &mut out);
    out.sort();
    out
}

#[test]
fn no_file_under_src_or_www_is_over_400_lines() {
    let mut all = sources();
    files(&root().join("www"), &["js", "css", "html"], &mut all);
    let long: Vec<String> = all
        .iter()
        .filter_map(|p| {
            let lines = std::fs::read_to_string(p).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}

#[test]
fn every_rust_file_says_what_it_is_for() {
    for p in sources() {
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} does not open with a //! line",
            p.display()
        );
    }
}

/// The module path of a source file: `src/gpu/plan.rs` is `gpu::plan`; the binary's files
/// (`main.rs`, `cli/`) live under `<bin>`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root().join("src")).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    match parts.first().map(String::as_str) {
        Some("main") => vec!["<bin>".into()],
        Some("cli") => std::iter::once("<bin>".to_string()).chain(parts).collect(),
        _ => parts,
    }
}

/// The file of module `path`, if there is one.
fn file_of(path: &[String]) -> Option<PathBuf> {
    let src = root().join("src");
    let (base, rest) = match path.first().map(String::as_str) {
        Some("<bin>") if path.len() == 1 => return Some(src.join("main.rs")),
        Some("<bin>") => (src.clone(), &path[1..]),
        _ if path.is_empty() => return Some(src.join("lib.rs")),
        _ => (src.clone(), path),
    };
    let joined = rest.iter().fold(base, |p, s| p.join(s));
    [joined.with_extension("rs"), joined.join("mod.rs")]
        .into_iter()
        .find(|p| p.exists())
}

/// Every path a file's `use` items name, braces expanded: `a::{b, c::d}` gives `a::b` and
/// `a::c::d`.
fn use_paths(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find_use(rest) {
        let body = &rest[start..];
        let end = body.find(';').unwrap_or(body.len());
        // One space where there was any, and none beside punctuation: `e as f` survives.
        let spaced = body[..end].split_whitespace().collect::<Vec<_>>().join(" ");
        let tree = ["::", "{", "}", ","].iter().fold(spaced, |t, p| {
            t.replace(&format!(" {p}"), p).replace(&format!("{p} "), p)
        });
        expand(&tree, &mut Vec::new(), &mut out);
        rest = &body[end..];
    }
    out
}

/// Where the next `use` item's tree starts (after `use `), at the start of a line.
fn find_use(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let after_vis = trimmed
            .strip_prefix("pub(crate) ")
            .or_else(|| trimmed.strip_prefix("pub(super) "))
            .or_else(|| trimmed.strip_prefix("pub "))
            .unwrap_or(trimmed);
        if let Some(tree) = after_vis.strip_prefix("use ") {
            return Some(offset + line.len() - tree.len());
        }
        offset += line.len();
    }
    None
}

fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree.find('{') {
        None => {
            let mut path = prefix.clone();
            let tree = tree.split(" as ").next().unwrap_or(tree);
            path.extend(tree.split("::").filter(|s| !s.is_empty()).map(String::from));
            out.push(path);
        }
        Some(open) => {
            let head: Vec<String> = tree[..open]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let inner = &tree[open + 1..tree.rfind('}').unwrap()];
            let (mut depth, mut start) = (0, 0);
            let mut parts = Vec::new();
            for (i, c) in inner.char_indices() {
                match c {
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
            let len = prefix.len();
            prefix.extend(head);
            for part in parts.into_iter().filter(|p| !p.is_empty()) {
                expand(part, prefix, out);
            }
            prefix.truncate(len);
        }
    }
}

/// The file a `use` path reaches from module `from`, if it is one of ours.
fn resolve(from: &[String], path: &[String]) -> Option<PathBuf> {
    let bin = from.first().is_some_and(|s| s == "<bin>");
    let mut abs: Vec<String> = match path.first().map(String::as_str)? {
        "crate" if bin => vec!["<bin>".into()],
        "crate" | "convscope" => vec![],
        "self" => from.to_vec(),
        "super" => from[..from.len().saturating_sub(1)].to_vec(),
        _ => {
            // A child module of this one (`use lower::Dispatch` beside `mod lower;`).
            let mut child = from.to_vec();
            child.push(path[0].clone());
            file_of(&child)?;
            from.to_vec()
        }
    };
    let mut segments = &path[1.min(path.len())..];
    if path[0] == "super" {
        while segments.first().is_some_and(|s| s == "super") {
            abs.pop();
            segments = &segments[1..];
        }
    } else if !matches!(path[0].as_str(), "crate" | "convscope" | "self") {
        segments = path;
    }
    let mut best = file_of(&abs);
    for s in segments {
        abs.push(s.clone());
        match file_of(&abs) {
            Some(f) => best = Some(f),
            None => break,
        }
    }
    best
}

/// File -> the files it imports, leaving out imports of a module's own ancestors (a child
/// module is part of its parent, as Rust's privacy has it).
fn import_graph() -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut graph = BTreeMap::new();
    for file in sources() {
        let from = module_of(&file);
        let text = std::fs::read_to_string(&file).unwrap();
        let ancestors: Vec<PathBuf> = (0..from.len())
            .filter_map(|n| file_of(&from[..n]))
            .collect();
        let targets = use_paths(&text)
            .iter()
            .filter_map(|p| resolve(&from, p))
            .filter(|t| *t != file && !ancestors.contains(t))
            .collect();
        graph.insert(file, targets);
    }
    graph
}

#[test]
fn no_two_files_import_each_other() {
    let graph = import_graph();
    // Depth-first search for a back edge; the loop it closes is reported.
    fn visit(
        f: &PathBuf,
        graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        stack: &mut Vec<PathBuf>,
        done: &mut BTreeSet<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        if let Some(at) = stack.iter().position(|s| s == f) {
            return Some(stack[at..].to_vec());
        }
        if !done.insert(f.clone()) {
            return None;
        }
        stack.push(f.clone());
        for next in graph.get(f).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut loops = BTreeSet::new();
    for f in graph.keys() {
        if let Some(cycle) = visit(f, &graph, &mut Vec::new(), &mut BTreeSet::new()) {
            let names: Vec<String> = cycle
                .iter()
                .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
                .collect();
            loops.insert(names.join(" -> "));
        }
    }
    assert!(
        loops.is_empty(),
        "files that import each other in a loop:\n{}",
        loops.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The checker itself: a loop planted in text is found.
#[test]
fn the_import_checker_finds_paths_and_loops() {
    let paths = use_paths("use super::{a::B, c::{d, e as f}};\npub use crate::gpu::Plan;\n");
    let want: Vec<Vec<&str>> = vec![
        vec!["super", "a", "B"],
        vec!["super", "c", "d"],
        vec!["super", "c", "e"],
        vec!["crate", "gpu", "Plan"],
    ];
    assert_eq!(
        paths,
        want.iter()
            .map(|p| p.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    );
    let from = module_of(&root().join("src/engine/run.rs"));
    assert_eq!(from, ["engine", "run"]);
    let cpu = resolve(&from, &["crate".into(), "cpu".into(), "Stepper".into()]).unwrap();
    assert!(cpu.ends_with("src/cpu/mod.rs"), "{}", cpu.display());
    let sibling = resolve(
        &from,
        &["super".into(), "load".into(), "MACS_PER_PIECE".into()],
    )
    .unwrap();
    assert!(
        sibling.ends_with("src/engine/load.rs"),
        "{}",
        sibling.display()
    );
}

/// Folder or file -> what it must never name.
const RULES: &[(&str, &[&str])] = &[
    (
        "src/model",
        &[
            "crate::gpu",
            "crate::engine",
            "crate::web",
            "crate::train",
            "wgpu",
            "wasm_bindgen",
        ],
    ),
    (
        "src/zoo",
        &[
            "crate::gpu",
            "crate::engine",
            "crate::web",
            "wgpu",
            "wasm_bindgen",
        ],
    ),
    (
        "src/analysis",
        &[
            "crate::gpu",
            "crate::engine",
            "crate::web",
            "wgpu",
            "wasm_bindgen",
        ],
    ),
    (
        "src/weights",
        &[
            "crate::gpu",
            "crate::engine",
            "crate::web",
            "wgpu",
            "wasm_bindgen",
        ],
    ),
    (
        "src/import",
        &[
            "crate::gpu",
            "crate::engine",
            "crate::web",
            "crate::train",
            "crate::cpu",
            "crate::fastcpu",
            "wgpu",
            "wasm_bindgen",
        ],
    ),
    (
        "src/cpu",
        &[
            "crate::gpu",
            "crate::engine",
            "crate::web",
            "crate::train",
            "wgpu",
            "wasm_bindgen",
        ],
    ),
    (
        "src/fastcpu",
        &[
            "crate::gpu",
            "crate::engine",
            "crate::web",
            "crate::train",
            "wgpu",
            "wasm_bindgen",
        ],
    ),
    (
        "src/explain",
        &[
            "crate::gpu",
            "crate::engine",
            "crate::web",
            "crate::train",
            "wgpu",
            "wasm_bindgen",
        ],
    ),
    (
        "src/gpu",
        &[
            "crate::engine",
            "crate::web",
            "crate::train",
            "wasm_bindgen",
            "js_sys",
        ],
    ),
    (
        "src/engine",
        &["crate::web", "wasm_bindgen", "js_sys", "web_sys"],
    ),
    (
        "src/preprocess.rs",
        &["crate::train", "crate::gpu", "crate::engine", "crate::web"],
    ),
];

/// What each folder may depend on (docs/ARCHITECTURE.md): the description, the analysis,
/// the weights and the CPU reference know nothing of the GPU, the engine or the web; the GPU
/// engine knows nothing of the engine core or the web; the core knows nothing of the web.
#[test]
fn each_folder_depends_only_on_what_comes_before_it() {
    for (prefix, banned) in RULES {
        for file in sources()
            .iter()
            .filter(|f| f.starts_with(root().join(prefix)))
        {
            let text = std::fs::read_to_string(file).unwrap();
            for b in *banned {
                assert!(
                    !text.contains(&format!("{b}::")) && !text.contains(&format!("use {b}")),
                    "{} depends on {b}",
                    file.display()
                );
            }
        }
    }
}
