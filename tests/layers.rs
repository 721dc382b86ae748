//! The rooms of `src/` import one way: lists the `crate::X` uses of every
//! top-level module (comments left out) and fails on any cycle, naming the
//! files on it. Run `cargo test --test layers -- --nocapture` to print the
//! whole graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module -> the modules it names -> a file that names it.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).unwrap() {
        files.extend(rust_files(&entry.unwrap().path()));
    }
    files.retain(|f| f.extension().is_some_and(|e| e == "rs"));
    files
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name != "main"
            && name != "lib"
            && (path.is_dir() || name.len() + 3 == path.file_name().unwrap().len())
        {
            modules.insert(name, rust_files(&path));
        }
    }
    let mut graph = Graph::new();
    for (module, files) in &modules {
        let uses = graph.entry(module.clone()).or_default();
        for file in files {
            let text = std::fs::read_to_string(file).unwrap();
            for line in text.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let rest = &line[i + "crate::".len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if &name != module && modules.contains_key(&name) {
                        uses.entry(name)
                            .or_insert_with(|| file.display().to_string());
                    }
                }
            }
        }
    }
    graph
}

/// A cycle through `from`, if any (depth-first).
fn cycle(
    graph: &Graph,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    let last = path.last().unwrap().clone();
    for next in graph[&last].keys() {
        if let Some(at) = path.iter().position(|m| m == next) {
            let mut found = path[at..].to_vec();
            found.push(next.clone());
            return Some(found);
        }
        if done.contains(next) {
            continue;
        }
        path.push(next.clone());
        if let Some(found) = cycle(graph, path, done) {
            return Some(found);
        }
        path.pop();
    }
    done.insert(last);
    None
}

#[test]
fn top_level_modules_import_one_way() {
    let graph = graph();
    assert!(
        graph.contains_key("queue") && graph["redis_run"].contains_key("queue"),
        "{graph:?}"
    );
    for (module, uses) in &graph {
        println!(
            "{module} -> {}",
            uses.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(found) = cycle(&graph, &mut vec![module.clone()], &mut done) {
            let steps: Vec<String> = found
                .windows(2)
                .map(|w| format!("{} -> {} ({})", w[0], w[1], graph[&w[0]][&w[1]]))
                .collect();
            panic!(
                "modules import each other in a cycle; move the shared type down: {}",
                steps.join("; ")
            );
        }
    }
}
