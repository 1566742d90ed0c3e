//! A read session over one commit: parsed files, crates and their module
//! trees, and name resolution through `use` declarations.
//!
//! Resolution follows rustc's rules closely enough for context: `crate::`,
//! `self::`, `super::`, names defined in a module, names a `use` brings in
//! (renames, groups, globs, `pub use` re-exports, 2015 crate-relative paths),
//! `mod foo;` → `foo.rs` / `foo/mod.rs` / `#[path]`, and other crates of the
//! same repository by package name. Anything else (the standard library,
//! registry crates) is outside the repository and is not followed.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use super::objects::BlobReader;
use super::paths::FileIndex;
use super::syntax::{self, DefKind, UseEntry};
use crate::Result;

/// A file read at the session's commit, with its syntax tree when it parses.
pub(crate) struct Parsed {
    /// Its text.
    pub(crate) text: String,
    /// Its syntax tree.
    pub(crate) ast: Option<syn::File>,
    /// Why it did not parse (`line:column: message`).
    pub(crate) error: Option<String>,
}

/// A crate of the repository: the directory of a `Cargo.toml`.
#[derive(Debug, Clone)]
pub(crate) struct CrateInfo {
    /// Its directory relative to the repository root (`""` for the root).
    pub(crate) dir: String,
    /// `[package] name`, when it has one (a virtual manifest has none).
    pub(crate) name: Option<String>,
    /// Path of its `Cargo.toml`.
    pub(crate) manifest: String,
    /// Library root (`[lib] path` or `src/lib.rs`), when it has one.
    pub(crate) lib: Option<String>,
}

impl CrateInfo {
    fn join(&self, rel: &str) -> String {
        if self.dir.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.dir)
        }
    }
}

/// A module: a file, and the inline modules inside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ModId {
    pub(crate) file: String,
    pub(crate) inline: Vec<String>,
}

/// A module of a crate: its crate root file, its path from the root, where
/// its items are.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub(crate) root: String,
    pub(crate) path: Vec<String>,
    pub(crate) id: ModId,
}

/// An item definition found by resolution.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) file: String,
    pub(crate) kind: DefKind,
    pub(crate) name: String,
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// For `Type::thing` paths: `thing` (an associated fn, const or variant).
    pub(crate) assoc: Option<String>,
}

enum Target {
    Item(Found),
    Module(Scope),
}

/// Resolution steps one build may spend (bounds pathological glob cycles).
const STEP_BUDGET: usize = 20_000;
const MAX_DEPTH: u8 = 8;
/// Files larger than this are only parsed when a frame points into them.
pub(crate) const LARGE_FILE: usize = 256 * 1024;

/// Everything read at one commit during one context build.
pub(crate) struct Session {
    pub(crate) index: FileIndex,
    reader: BlobReader,
    parsed: HashMap<String, Option<Rc<Parsed>>>,
    uses: HashMap<ModId, Rc<Vec<UseEntry>>>,
    crates: Option<Rc<Vec<CrateInfo>>>,
    steps: usize,
}

/// Primitive types and the prelude's most common names: never items of the
/// repository, so not worth a lookup.
fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "bool"
            | "char"
            | "str"
            | "u8"
            | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "usize"
            | "i8"
            | "i16"
            | "i32"
            | "i64"
            | "i128"
            | "isize"
            | "f32"
            | "f64"
            | "Some"
            | "None"
            | "Ok"
            | "Err"
            | "Option"
            | "Vec"
            | "String"
            | "Box"
    )
}

fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

fn join(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if dir.is_empty() {
        Vec::new()
    } else {
        dir.split('/').collect()
    };
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

impl Session {
    /// A session reading files at `commit` of the repository at `root`.
    pub(crate) fn new(root: &Path, commit: &str, index: FileIndex) -> Self {
        Session {
            index,
            reader: BlobReader::new(root, commit),
            parsed: HashMap::new(),
            uses: HashMap::new(),
            crates: None,
            steps: 0,
        }
    }

    /// The raw text of a tracked file.
    pub(crate) fn text(&mut self, path: &str) -> Result<Option<String>> {
        if !self.index.contains(path) {
            return Ok(None);
        }
        self.reader.read(path)
    }

    /// A tracked file, parsed (once), unless it is larger than
    /// [`LARGE_FILE`] (generated tables: slow to parse, too big for a
    /// context) — then `None`.
    pub(crate) fn parse(&mut self, path: &str) -> Result<Option<Rc<Parsed>>> {
        if let Some(hit) = self.parsed.get(path) {
            return Ok(hit.clone());
        }
        if self.text(path)?.is_some_and(|t| t.len() > LARGE_FILE) {
            return Ok(None);
        }
        self.parse_any(path)
    }

    /// A tracked file, parsed (once), whatever its size.
    pub(crate) fn parse_any(&mut self, path: &str) -> Result<Option<Rc<Parsed>>> {
        if let Some(hit) = self.parsed.get(path) {
            return Ok(hit.clone());
        }
        let parsed = self.text(path)?.map(|text| {
            let (ast, error) = match crate::rust_file::parse_file(&text) {
                Ok(ast) => (Some(ast), None),
                Err(e) => {
                    let at = e.span().start();
                    (None, Some(format!("{}:{}: {e}", at.line, at.column + 1)))
                }
            };
            Rc::new(Parsed { text, ast, error })
        });
        self.parsed.insert(path.to_string(), parsed.clone());
        Ok(parsed)
    }

    /// The repository's crates (every tracked `Cargo.toml`), read once.
    pub(crate) fn crates(&mut self) -> Result<Rc<Vec<CrateInfo>>> {
        if let Some(c) = &self.crates {
            return Ok(c.clone());
        }
        let manifests: Vec<String> = self
            .index
            .files()
            .iter()
            .filter(|f| *f == "Cargo.toml" || f.ends_with("/Cargo.toml"))
            .take(500)
            .cloned()
            .collect();
        let mut crates = Vec::new();
        for manifest in manifests {
            let Some(text) = self.reader.read(&manifest)? else {
                continue;
            };
            let value: Option<toml::Table> = text.parse().ok();
            let name = value
                .as_ref()
                .and_then(|v| v.get("package"))
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .map(str::to_string);
            let dir = parent_dir(&manifest).to_string();
            let mut info = CrateInfo {
                dir,
                name,
                manifest,
                lib: None,
            };
            let lib_path = value
                .as_ref()
                .and_then(|v| v.get("lib"))
                .and_then(|l| l.get("path"))
                .and_then(|p| p.as_str())
                .map(|p| join(&info.dir, p))
                .unwrap_or_else(|| info.join("src/lib.rs"));
            if self.index.contains(&lib_path) {
                info.lib = Some(lib_path);
            }
            crates.push(info);
        }
        let crates = Rc::new(crates);
        self.crates = Some(crates.clone());
        Ok(crates)
    }

    /// The crate a file belongs to: the closest directory above it with a
    /// `Cargo.toml`.
    pub(crate) fn crate_of(&mut self, path: &str) -> Result<Option<CrateInfo>> {
        let crates = self.crates()?;
        Ok(crates
            .iter()
            .filter(|c| c.dir.is_empty() || path.starts_with(&format!("{}/", c.dir)))
            .max_by_key(|c| c.dir.len())
            .cloned())
    }

    /// The crate root a file is compiled from and its module path there,
    /// by cargo's layout conventions (`src/a/b.rs` → `a::b` of `src/lib.rs`
    /// or `src/main.rs`; targets under `tests/`, `examples/`, `benches/` and
    /// `src/bin/` are their own roots).
    pub(crate) fn root_and_module(&mut self, path: &str) -> Result<(String, Vec<String>)> {
        let krate = self.crate_of(path)?;
        let rel = match &krate {
            Some(c) if !c.dir.is_empty() => path[c.dir.len() + 1..].to_string(),
            _ => path.to_string(),
        };
        let Some(inner) = rel.strip_prefix("src/") else {
            return Ok((path.to_string(), Vec::new()));
        };
        if inner == "lib.rs" || inner == "main.rs" || inner.starts_with("bin/") {
            return Ok((path.to_string(), Vec::new()));
        }
        let krate_join = |rel: &str| match &krate {
            Some(c) => c.join(rel),
            None => rel.to_string(),
        };
        let lib = krate
            .as_ref()
            .and_then(|c| c.lib.clone())
            .unwrap_or_else(|| krate_join("src/lib.rs"));
        let main = krate_join("src/main.rs");
        let root = if self.index.contains(&lib) { lib } else { main };
        let mut module: Vec<String> = inner.trim_end_matches(".rs").split('/').map(str::to_string).collect();
        if module.last().is_some_and(|m| m == "mod") {
            module.pop();
        }
        Ok((root, module))
    }

    /// The file of `mod seg;` declared in module `id` (`attr`: its `#[path]`).
    fn child_file(&self, id: &ModId, seg: &str, is_root: bool, attr: Option<String>) -> Option<String> {
        let dir = parent_dir(&id.file);
        if let (Some(p), true) = (&attr, id.inline.is_empty()) {
            let f = join(dir, p);
            return self.index.contains(&f).then_some(f);
        }
        let name = id.file.rsplit('/').next().unwrap_or(&id.file);
        let mut base = if is_root || matches!(name, "mod.rs" | "lib.rs" | "main.rs") {
            dir.to_string()
        } else {
            join(dir, name.trim_end_matches(".rs"))
        };
        for m in &id.inline {
            base = join(&base, m);
        }
        if let Some(p) = attr {
            let f = join(&base, &p);
            return self.index.contains(&f).then_some(f);
        }
        [join(&base, &format!("{seg}.rs")), join(&base, &format!("{seg}/mod.rs"))]
            .into_iter()
            .find(|f| self.index.contains(f))
    }

    /// The child module `seg` of `scope`, inline or in its own file.
    fn child_scope(&mut self, scope: &Scope, seg: &str) -> Result<Option<Scope>> {
        let Some(parsed) = self.parse(&scope.id.file)? else {
            return Ok(None);
        };
        let Some(ast) = &parsed.ast else { return Ok(None) };
        let Some(items) = syntax::module_items(ast, &scope.id.inline) else {
            return Ok(None);
        };
        let mut path = scope.path.clone();
        path.push(seg.to_string());
        let id = match syntax::find_def(items, seg) {
            Some(d) if d.kind == DefKind::InlineMod => {
                let mut inline = scope.id.inline.clone();
                inline.push(seg.to_string());
                ModId {
                    file: scope.id.file.clone(),
                    inline,
                }
            }
            Some(d) if d.kind == DefKind::FileMod => {
                let attr = match d.item {
                    syn::Item::Mod(m) => syntax::path_attr(&m.attrs),
                    _ => None,
                };
                let is_root = scope.path.is_empty() && scope.id.inline.is_empty();
                match self.child_file(&scope.id, seg, is_root, attr) {
                    Some(file) => ModId {
                        file,
                        inline: Vec::new(),
                    },
                    None => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(Scope {
            root: scope.root.clone(),
            path,
            id,
        }))
    }

    /// The module at `path` of the crate rooted at `root`.
    pub(crate) fn scope(&mut self, root: &str, path: &[String]) -> Result<Option<Scope>> {
        let mut scope = Scope {
            root: root.to_string(),
            path: Vec::new(),
            id: ModId {
                file: root.to_string(),
                inline: Vec::new(),
            },
        };
        for seg in path {
            match self.child_scope(&scope, seg)? {
                Some(s) => scope = s,
                None => return Ok(None),
            }
        }
        Ok(Some(scope))
    }

    fn use_entries(&mut self, id: &ModId) -> Result<Rc<Vec<UseEntry>>> {
        if let Some(u) = self.uses.get(id) {
            return Ok(u.clone());
        }
        let entries = match self.parse(&id.file)? {
            Some(p) => p
                .ast
                .as_ref()
                .and_then(|ast| syntax::module_items(ast, &id.inline))
                .map(syntax::use_entries)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let entries = Rc::new(entries);
        self.uses.insert(id.clone(), entries.clone());
        Ok(entries)
    }

    /// Resolves `segs` as written in module `scope` to an item definition
    /// inside the repository.
    pub(crate) fn resolve(&mut self, scope: &Scope, segs: &[String]) -> Result<Option<Found>> {
        Ok(match self.resolve_target(scope, segs, 0)? {
            Some(Target::Item(f)) => Some(f),
            _ => None,
        })
    }

    fn resolve_target(&mut self, scope: &Scope, segs: &[String], depth: u8) -> Result<Option<Target>> {
        let Some(first) = segs.first() else { return Ok(None) };
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        let start = match first.as_str() {
            "crate" => self.scope(&scope.root, &[])?.map(Target::Module),
            "self" => Some(Target::Module(scope.clone())),
            "super" => {
                let mut path = scope.path.clone();
                let mut rest = segs;
                while rest.first().is_some_and(|s| s == "super") {
                    if path.pop().is_none() {
                        return Ok(None);
                    }
                    rest = &rest[1..];
                }
                let target = self.scope(&scope.root, &path)?.map(Target::Module);
                return self.walk(target, rest, depth);
            }
            "Self" | "std" | "core" | "alloc" => None,
            name if segs.len() == 1 && is_builtin(name) => None,
            name => self.step(scope, name, depth)?,
        };
        self.walk(start, &segs[1..], depth)
    }

    fn walk(&mut self, mut target: Option<Target>, rest: &[String], depth: u8) -> Result<Option<Target>> {
        for seg in rest {
            target = match target {
                Some(Target::Module(m)) => self.step(&m, seg, depth)?,
                Some(Target::Item(mut f)) => {
                    if f.kind == DefKind::Type && f.assoc.is_none() {
                        f.assoc = Some(seg.clone());
                    }
                    return Ok(Some(Target::Item(f)));
                }
                None => return Ok(None),
            };
        }
        Ok(target)
    }

    /// The meaning of `name` in module `scope`.
    fn step(&mut self, scope: &Scope, name: &str, depth: u8) -> Result<Option<Target>> {
        self.steps += 1;
        if self.steps > STEP_BUDGET || depth > MAX_DEPTH {
            return Ok(None);
        }
        // 1. Defined in the module.
        if let Some(parsed) = self.parse(&scope.id.file)? {
            if let Some(items) = parsed
                .ast
                .as_ref()
                .and_then(|a| syntax::module_items(a, &scope.id.inline))
            {
                if let Some(def) = syntax::find_def(items, name) {
                    match def.kind {
                        DefKind::InlineMod | DefKind::FileMod => {
                            return Ok(self.child_scope(scope, name)?.map(Target::Module));
                        }
                        kind => {
                            return Ok(Some(Target::Item(Found {
                                file: scope.id.file.clone(),
                                kind,
                                name: name.to_string(),
                                start: def.start,
                                end: def.end,
                                assoc: None,
                            })))
                        }
                    }
                }
            }
        }
        // 2. Brought in by a `use` (also how `pub use` re-exports resolve).
        let entries = self.use_entries(&scope.id)?;
        for e in entries.iter().filter(|e| e.alias == name) {
            if e.path.first().is_some_and(|f| f == name) && e.path.len() == 1 {
                continue; // `use name;` (an extern crate in 2018)
            }
            if let Some(t) = self.resolve_target(scope, &e.path, depth + 1)? {
                return Ok(Some(t));
            }
            // 2015 edition: `use` paths are relative to the crate root.
            if !matches!(e.path[0].as_str(), "crate" | "self" | "super") {
                if let Some(root) = self.scope(&scope.root, &[])? {
                    if let Some(t) = self.resolve_target(&root, &e.path, depth + 1)? {
                        return Ok(Some(t));
                    }
                }
            }
        }
        // 3. Another crate of the repository.
        let crates = self.crates()?;
        let wanted = name.replace('-', "_");
        if let Some(lib) = crates
            .iter()
            .find(|c| c.name.as_ref().is_some_and(|n| n.replace('-', "_") == wanted))
            .and_then(|c| c.lib.clone())
        {
            if lib != scope.root {
                return Ok(self.scope(&lib, &[])?.map(Target::Module));
            }
        }
        // 4. Glob imports.
        for e in entries.iter().filter(|e| e.alias == "*") {
            if let Some(Target::Module(m)) = self.resolve_target(scope, &e.path, depth + 1)? {
                if let Some(t) = self.step(&m, name, depth + 1)? {
                    return Ok(Some(t));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn join_normalises() {
        assert_eq!(join("src", "a.rs"), "src/a.rs");
        assert_eq!(join("", "src/lib.rs"), "src/lib.rs");
        assert_eq!(join("crates/x/src", "../gen/out.rs"), "crates/x/gen/out.rs");
        assert_eq!(join("src", "./a/./b.rs"), "src/a/b.rs");
    }
}
