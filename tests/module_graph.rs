//! The module graph has no cycles: within each crate of the workspace, the
//! top-level modules (the children of `lib.rs`) import each other one way
//! only. An import is any path `crate::m::…`, or `crate::Name` where `lib.rs`
//! re-exports `Name` from `m` (`pub use m::Name`), in any file of the module.
//! ARCHITECTURE.md ("How to check the module graph") points here; run it
//! alone with `cargo test --test module_graph`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Each crate's `src` directory, relative to the workspace root.
const CRATES: [&str; 4] = ["src", "bugstack-core/src", "bugstack-sdk/src", "bugstack-fix/src"];

fn parse(path: &Path) -> syn::File {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every name a use tree brings in, as (first segment after `crate`, rest).
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut path = prefix.clone();
            path.push(n.ident.to_string());
            out.push(path);
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            path.push(r.ident.to_string());
            out.push(path);
        }
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix, out);
            }
        }
    }
}

/// The crate root's modules, and the module each root re-export comes from.
fn root(src: &Path) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let lib = parse(&src.join("lib.rs"));
    let mut modules = BTreeSet::new();
    let mut reexports = BTreeMap::new();
    for item in &lib.items {
        match item {
            syn::Item::Mod(m) if m.content.is_none() => {
                modules.insert(m.ident.to_string());
            }
            syn::Item::Use(u) => {
                let mut paths = Vec::new();
                use_paths(&u.tree, &mut Vec::new(), &mut paths);
                for p in paths {
                    let p: Vec<String> = p.into_iter().skip_while(|s| s == "self" || s == "crate").collect();
                    if let (Some(first), Some(last)) = (p.first(), p.last()) {
                        if p.len() > 1 {
                            reexports.insert(last.clone(), first.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // Renamed re-exports (`pub use m::A as B`) are keyed by B.
    for item in &lib.items {
        if let syn::Item::Use(u) = item {
            collect_renames(&u.tree, None, &mut reexports);
        }
    }
    (modules, reexports)
}

fn collect_renames(tree: &syn::UseTree, first: Option<&str>, out: &mut BTreeMap<String, String>) {
    match tree {
        syn::UseTree::Path(p) => {
            let ident = p.ident.to_string();
            let first = first.or(if ident == "crate" || ident == "self" {
                None
            } else {
                Some(&ident)
            });
            collect_renames(&p.tree, first, out);
        }
        syn::UseTree::Rename(r) => {
            if let Some(first) = first {
                out.insert(r.rename.to_string(), first.to_string());
            }
        }
        syn::UseTree::Group(g) => {
            for t in &g.items {
                collect_renames(t, first, out);
            }
        }
        _ => {}
    }
}

/// Collects the second segment of every `crate::…` path in a file.
#[derive(Default)]
struct CratePaths(BTreeSet<String>);

impl<'ast> Visit<'ast> for CratePaths {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segs.len() > 1 && segs[0] == "crate" {
            self.0.insert(segs[1].clone());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        use_paths(&u.tree, &mut Vec::new(), &mut paths);
        for p in paths {
            if p.len() > 1 && p[0] == "crate" {
                self.0.insert(p[1].clone());
            }
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `module → modules it imports` for the crate whose sources are in `src`.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let (modules, reexports) = root(src);
    let mut graph = BTreeMap::new();
    for m in &modules {
        let mut files = Vec::new();
        let file = src.join(format!("{m}.rs"));
        if file.exists() {
            files.push(file);
        }
        rust_files(&src.join(m), &mut files);
        assert!(!files.is_empty(), "module {m} of {} has no file", src.display());
        let mut seen = CratePaths::default();
        for f in &files {
            seen.visit_file(&parse(f));
        }
        let deps: BTreeSet<String> = seen
            .0
            .iter()
            .filter_map(|s| {
                if modules.contains(s) {
                    Some(s.clone())
                } else {
                    reexports.get(s).cloned()
                }
            })
            .filter(|d| d != m)
            .collect();
        graph.insert(m.clone(), deps);
    }
    graph
}

/// A cycle through `graph`, when there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for d in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn each_crate_s_top_level_modules_import_each_other_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cycles = Vec::new();
    for krate in CRATES {
        let g = graph(&root.join(krate));
        assert!(g.len() > 1, "{krate}: no modules found");
        if let Some(c) = find_cycle(&g) {
            cycles.push(format!("{krate}: {}", c.join(" → ")));
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_checker_finds_a_cycle_and_accepts_a_tree() {
    let g = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert_eq!(
        find_cycle(&g(&[("cli", "store"), ("store", "error"), ("error", "store")])),
        Some(vec!["store".into(), "error".into(), "store".into()])
    );
    assert_eq!(
        find_cycle(&g(&[("cli", "store"), ("cli", "error"), ("store", "error")])),
        None
    );
}
