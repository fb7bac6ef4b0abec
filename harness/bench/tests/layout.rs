//! The crate's modules import one another one way only: no circles (the report and its charts
//! once imported each other). Reads the sources: each module's `crate::name` and
//! `use crate::{name, ...}` references outside its tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn module_sources() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("entry").path();
        let (name, file) = if path.is_dir() {
            (path.file_name().expect("name").to_string_lossy().into_owned(), path.join("mod.rs"))
        } else {
            (path.file_stem().expect("stem").to_string_lossy().into_owned(), path.clone())
        };
        if name == "lib" || !file.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("source");
        // What the tests use does not count: they may reach anywhere.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
        out.insert(name, code);
    }
    out
}

fn imports(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            group.split('}').next().unwrap_or_default().split(',').collect()
        } else {
            vec![rest]
        };
        for n in names {
            let n: String = n.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if modules.contains(&n) {
                out.insert(n);
            }
        }
    }
    out
}

#[test]
fn modules_import_one_way_only() {
    let sources = module_sources();
    let names: BTreeSet<String> = sources.keys().cloned().collect();
    assert!(names.contains("report") || names.contains("markdown"), "found the modules: {names:?}");
    let graph: BTreeMap<&String, BTreeSet<String>> =
        sources.iter().map(|(m, code)| (m, imports(code, &names).into_iter().filter(|d| d != m).collect())).collect();
    // Depth-first search for a back edge.
    fn visit<'a>(
        m: &'a String,
        graph: &'a BTreeMap<&String, BTreeSet<String>>,
        path: &mut Vec<&'a String>,
        done: &mut BTreeSet<&'a String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| *p == m) {
            let mut circle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
            circle.push(m.clone());
            return Some(circle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m);
        for d in graph.get(m).into_iter().flatten() {
            let key = graph.keys().find(|k| **k == d)?;
            if let Some(c) = visit(key, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m);
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(circle) = visit(m, &graph, &mut Vec::new(), &mut done) {
            panic!("import circle: {}", circle.join(" -> "));
        }
    }
    // The presentation does not reach back into measuring, nor the charts into the text.
    assert!(!graph[&"charts".to_string()].contains("markdown"));
    assert!(!graph[&"markdown".to_string()].contains("charts"));
}
