//! The domain crate's layers import one way (`docs/architecture.md`): ground floor →
//! model → store → operations → the edge for handlers. This test reads every source file
//! of `shared/src`, resolves its `crate::` and `super::` paths to files, and fails on an
//! import that points up a layer or on any cycle among files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn layer_of(file: &str) -> usize {
    match file.split('/').next().unwrap_or_default() {
        "clock.rs" | "error.rs" | "ids.rs" | "time.rs" | "permissions.rs" | "validation.rs" | "patch.rs"
        | "json.rs" | "pagination.rs" => 0,
        "model" => 1,
        "store" | "mail.rs" | "signing.rs" | "export_files.rs" | "webhook_client.rs" | "webhook_queue.rs" => 2,
        "operations" => 3,
        "http.rs" | "rest" | "routes.rs" | "app.rs" | "idempotency.rs" | "openapi.rs" | "asyncapi.rs"
        | "api_reference.rs" | "xapi.rs" | "scim" | "webhook_events.rs" | "lib.rs" | "bin" => 4,
        other => panic!("{file}: `{other}` belongs to no layer; add it to docs/architecture.md and this test"),
    }
}

const LAYER_NAMES: [&str; 5] = ["ground floor", "model", "store", "operations", "edge"];

fn source_files(dir: &Path, root: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read shared/src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            source_files(&path, root, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path
                .strip_prefix(root)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            files.push(relative);
        }
    }
}

/// The module path of a file: `store/members.rs` → [store, members]; `store/mod.rs` → [store].
fn module_of(file: &str) -> Vec<String> {
    let trimmed = file.trim_end_matches(".rs");
    let mut parts: Vec<String> = trimmed.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|last| last == "mod" || last == "lib") {
        parts.pop();
    }
    parts
}

/// The file that holds the longest prefix of `path` naming a module.
fn file_of(path: &[String], files: &BTreeSet<String>) -> Option<String> {
    (1..=path.len()).rev().find_map(|length| {
        let joined = path[..length].join("/");
        [format!("{joined}.rs"), format!("{joined}/mod.rs")]
            .into_iter()
            .find(|candidate| files.contains(candidate))
    })
}

/// Every `crate::a::b` and `super::a` path in code (comments dropped), as module paths.
fn imported_paths(file: &str, text: &str) -> Vec<Vec<String>> {
    let here = module_of(file);
    let is_mod_file = file.ends_with("mod.rs");
    let mut paths = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for (anchor, base) in [
            ("crate::", Vec::new()),
            ("super::", {
                // `super` of `store/members.rs` is `store`; of `store/mod.rs`, the crate root.
                let mut parent = here.clone();
                if !is_mod_file || !parent.is_empty() {
                    parent.pop();
                }
                parent
            }),
        ] {
            let mut rest = code;
            while let Some(index) = rest.find(anchor) {
                let preceded_by_ident = rest[..index]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
                rest = &rest[index + anchor.len()..];
                if preceded_by_ident {
                    continue;
                }
                let segments: Vec<String> = rest
                    .split("::")
                    .map_while(|segment| {
                        let name: String = segment
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                            .collect();
                        (!name.is_empty() && name.len() == segment.len()).then_some(name)
                    })
                    .collect();
                // The last segment may be an item (`store::audit::record`); file_of finds the module.
                let first_item: String = rest
                    .split("::")
                    .nth(segments.len())
                    .map(|segment| {
                        segment
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                            .collect()
                    })
                    .unwrap_or_default();
                let mut path = base.clone();
                path.extend(segments);
                if !first_item.is_empty() {
                    path.push(first_item);
                }
                paths.push(path);
            }
        }
    }
    paths
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut list = Vec::new();
    source_files(&root, &root, &mut list);
    let files: BTreeSet<String> = list.into_iter().collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(root.join(file)).expect("read source");
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        let imports: BTreeSet<String> = imported_paths(file, text)
            .into_iter()
            .filter_map(|path| file_of(&path, &files))
            .filter(|target| target != file)
            .collect();
        graph.insert(file.clone(), imports);
    }
    graph
}

#[test]
fn imports_never_point_up_a_layer() {
    let mut violations = Vec::new();
    for (file, imports) in import_graph() {
        for target in imports {
            if layer_of(&target) > layer_of(&file) {
                violations.push(format!(
                    "{file} ({}) imports {target} ({})",
                    LAYER_NAMES[layer_of(&file)],
                    LAYER_NAMES[layer_of(&target)]
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layers:\n{}",
        violations.join("\n")
    );
}

#[test]
fn no_source_file_takes_part_in_an_import_cycle() {
    let graph = import_graph();
    // Depth-first search with colours: reaching a file still on the stack is a cycle.
    fn visit(
        file: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        on_stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = on_stack.iter().position(|f| f == file) {
            let mut cycle = on_stack[start..].to_vec();
            cycle.push(file.to_string());
            return Some(cycle);
        }
        if done.contains(file) {
            return None;
        }
        on_stack.push(file.to_string());
        for next in graph.get(file).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, on_stack, done) {
                return Some(cycle);
            }
        }
        on_stack.pop();
        done.insert(file.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for file in graph.keys() {
        if let Some(cycle) = visit(file, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_checker_sees_imports_of_each_kind() {
    let graph = import_graph();
    let of = |file: &str| graph.get(file).cloned().unwrap_or_default();
    // `use crate::…`, `super::…` and an inline `store::audit::record(…)` path.
    assert!(of("store/members.rs").contains("model/users.rs"));
    assert!(of("store/members.rs").contains("store/keys.rs"));
    assert!(of("operations/users.rs").contains("store/audit.rs") || of("operations/users.rs").contains("store/mod.rs"));
    assert!(of("operations/api_keys.rs").contains("operations/users.rs"));
}
