//! The top-level modules of `src/` form no import cycle (architecture.md: a lower layer never names a
//! higher one). The graph is read from the source: an edge `a -> b` for every `crate::b` named in code
//! (`use crate::b::..`, `use crate::{b, ..}` or a path `crate::b::x`) in a file under module `a`;
//! comments are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a line: nothing of a `//` comment (doc comments included).
fn code(line: &str) -> &str {
    line.split_once("//").map_or(line, |(code, _)| code)
}

/// The modules a line names after `crate::`: `crate::a::..` gives `a`, `crate::{a::.., b}` gives both.
fn named_modules(line: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = vec![];
    for (i, _) in line.match_indices("crate::") {
        let rest = &line[i + "crate::".len()..];
        match rest.strip_prefix('{') {
            // a group: its first-level names (nested groups sit under one of them)
            Some(group) => {
                let mut depth = 0;
                let mut item_start = true;
                for (j, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && !c.is_whitespace() => {
                            item_start = false;
                            out.push(ident(&group[j..]));
                        }
                        _ => {}
                    }
                }
            }
            None => out.push(ident(rest)),
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

/// Module graph of `src/`: top-level module -> the top-level modules it names.
fn module_graph(src: &Path) -> Graph {
    let mut files = vec![];
    rust_files(src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // a `use crate::{..}` group may span lines: join a file's code before reading it
        let joined: String = text.lines().map(code).collect::<Vec<_>>().join(" ");
        let targets = graph.entry(module.clone()).or_default();
        for target in named_modules(&joined) {
            if target != module {
                targets.insert(target);
            }
        }
    }
    graph
}

/// A cycle as a path `a -> b -> .. -> a`, if the graph has one (depth-first search).
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, done, path) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut done, &mut vec![]))
}

#[test]
fn the_reader_finds_paths_groups_and_skips_comments() {
    assert_eq!(
        named_modules("use crate::store::run_dir::RunFolder;"),
        ["store"]
    );
    assert_eq!(
        named_modules("use crate::{config::GrokkingConfig, protocol::{Event, Metric}, rng};"),
        ["config", "protocol", "rng"]
    );
    assert_eq!(
        named_modules("let x = crate::data::modular::split(1);"),
        ["data"]
    );
    assert_eq!(code("/// see [`crate::export::layer`]"), "");
    assert!(named_modules(code("let a = 1; // crate::app")).is_empty());
}

#[test]
fn a_cycle_is_found_and_named() {
    let g: Graph = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .iter()
        .fold(Graph::new(), |mut g, (a, b)| {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g
        });
    assert_eq!(find_cycle(&g).unwrap(), ["a", "b", "c", "a"]);
    let mut acyclic = g.clone();
    acyclic.get_mut("c").unwrap().remove("a");
    assert_eq!(find_cycle(&acyclic), None);
}

#[test]
fn top_level_modules_of_src_have_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    assert!(graph.contains_key("experiment") && graph["experiment"].contains("train"));
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle between top-level modules of src/: {} (a lower layer must not name a \
             higher one; see architecture.md)",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn the_named_boundaries_hold() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    let forbidden = [
        ("cli", "app", "the CLI never opens the window"),
        ("app", "cli", "the app never calls the CLI"),
        (
            "store",
            "export",
            "export reads the store, never the other way",
        ),
        (
            "store",
            "experiment",
            "folder formats do not know the runners",
        ),
        ("export", "experiment", "figures are drawn from stored data"),
        ("protocol", "experiment", "protocol is plain data"),
        ("config", "data", "configs are the ground floor"),
    ];
    let mut broken = vec![];
    for (from, to, why) in forbidden {
        if graph.get(from).is_some_and(|t| t.contains(to)) {
            broken.push(format!("{from} -> {to} ({why})"));
        }
    }
    for pure_not in ["model", "train", "experiment", "store", "worker"] {
        if graph["analysis"].contains(pure_not) {
            broken.push(format!("analysis -> {pure_not} (analysis stays pure)"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("; "));
}
