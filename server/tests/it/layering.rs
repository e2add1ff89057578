//! The server's modules keep to their layers: each imports only modules below it, and
//! no two import each other. Read from the source itself, so a new `use crate::…` that
//! breaks the picture in the README fails here.
//!
//! `http` (with the composition root, `http::config` and `http::state`) → `auth`,
//! `uploads`, `processing`, `events` → `store` → `domain` → `shared`.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// Each top-level module's layer: lower numbers sit higher and may import higher numbers.
fn layer(module: &str) -> Option<u8> {
    Some(match module {
        "http" => 0,
        "auth" | "uploads" | "processing" | "events" => 1,
        "store" => 2,
        "domain" => 3,
        _ => return None,
    })
}

/// The top-level modules a source file names through `crate::`, outside its tests.
fn imports(source: &str) -> BTreeSet<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or(source);
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::{c, d}}`: the names at the group's top level.
            let (mut depth, mut name, mut names) = (0, String::new(), Vec::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => names.push(std::mem::take(&mut name)),
                    _ => name.push(c),
                }
            }
            names.push(name);
            for name in names {
                let head = name.trim().split("::").next().unwrap_or("").trim().to_owned();
                if !head.is_empty() {
                    found.insert(head);
                }
            }
        } else {
            let head: String =
                rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            found.insert(head);
        }
    }
    found
}

/// `module → modules it imports`, for every file under `src/`.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        let source = std::fs::read_to_string(&file).unwrap();
        let imported: Vec<String> = imports(&source).into_iter().filter(|m| *m != module).collect();
        graph.entry(module).or_default().extend(imported);
    }
    graph
}

#[test]
fn no_module_imports_one_above_it_or_one_that_imports_it() {
    let graph = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut wrong = Vec::new();
    for (module, imported) in &graph {
        let Some(own) = layer(module) else { continue };
        for target in imported {
            match layer(target) {
                Some(theirs) if theirs < own => {
                    wrong.push(format!("{module} imports {target}, a layer above it"))
                }
                None => wrong.push(format!("{module} imports {target}, which has no layer")),
                _ => {}
            }
            if graph.get(target).is_some_and(|back| back.contains(module)) {
                wrong.push(format!("{module} and {target} import each other"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // The check reads what it should: the known edges are there.
    assert!(graph["http"].contains("uploads") && graph["store"].contains("domain"));
}

/// A circle of imports in `graph`, if there is one: the modules along it.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            return Some(path[at..].to_vec());
        }
        if !done.insert(module.to_owned()) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_dashboard_has_no_import_circle() {
    let graph = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src"));
    assert_eq!(circle(&graph), None);
    assert!(graph["components"].contains("board"), "the check reads the dashboard");
    let looped: BTreeMap<String, BTreeSet<String>> =
        [("a", "b"), ("b", "c"), ("c", "a")].map(|(m, n)| (m.into(), [n.into()].into())).into();
    assert_eq!(circle(&looped), Some(vec!["a".into(), "b".into(), "c".into()]));
}

#[test]
fn imports_are_read_from_single_names_and_groups() {
    let source = "use crate::{a::b, c, d::{e, f}};\nuse crate::g::h;\n#[cfg(test)]\nuse crate::z;";
    let expected: BTreeSet<String> = ["a", "c", "d", "g"].map(String::from).into();
    assert_eq!(imports(source), expected);
}
