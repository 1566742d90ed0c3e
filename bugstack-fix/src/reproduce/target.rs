//! Which function the harness calls: the failing function, or the nearest
//! caller up the stack that the crate's public API reaches, with every
//! argument of a [`Shape`] the harness can generate.

use std::path::{Path, PathBuf};

use syn::spanned::Spanned;

use super::shape::{shape_of, Shape, StructShape};
use crate::FixContext;

/// The library crate a panic happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LibCrate {
    /// Its directory, relative to the repository root (`""` at the root).
    pub dir: String,
    /// The package's name (the harness's dependency key).
    pub package: String,
    /// The library's name as code names it (`my_crate`).
    pub lib_name: String,
    /// The library's root file, relative to the crate directory.
    pub root_file: String,
}

/// The function the harness calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Callee {
    /// Its path as the harness names it (`shop::cart::average_price_cents`,
    /// `shop::cart::Cart::total_cents`).
    pub path: String,
    /// Its arguments (the receiver first for a method).
    pub args: Vec<Shape>,
    /// The frame it was found at (0 = the panic's own function).
    pub frame: usize,
}

/// Most files read when looking for a struct's definition.
const MAX_FILES: usize = 400;
/// Deepest nesting of struct fields the harness builds.
const MAX_DEPTH: usize = 4;
/// Most fields of a struct the harness builds (proptest tuples stop at 12).
const MAX_FIELDS: usize = 10;

/// The library crate containing repository path `file`, read from the
/// checkout at `root`.
pub(crate) fn lib_crate(root: &Path, file: &str) -> Result<LibCrate, String> {
    let mut dir = Path::new(file).parent();
    while let Some(d) = dir {
        let manifest = root.join(d).join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            let value: toml::Value = text
                .parse()
                .map_err(|e| format!("{} does not parse: {e}", manifest.display()))?;
            if let Some(package) = value
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
            {
                let lib = value.get("lib");
                let lib_name = lib
                    .and_then(|l| l.get("name"))
                    .and_then(|n| n.as_str())
                    .unwrap_or(package)
                    .replace('-', "_");
                let root_file = lib
                    .and_then(|l| l.get("path"))
                    .and_then(|p| p.as_str())
                    .unwrap_or("src/lib.rs")
                    .to_string();
                if !root.join(d).join(&root_file).is_file() {
                    return Err(format!(
                        "package {package:?} has no library target: only a library's public API can be called"
                    ));
                }
                return Ok(LibCrate {
                    dir: d.to_string_lossy().into_owned(),
                    package: package.to_string(),
                    lib_name,
                    root_file,
                });
            }
        }
        dir = d.parent();
    }
    Err(format!("no Cargo.toml with a [package] above {file}"))
}

/// The function to call: walks the context's frames from the panic outward
/// and takes the first one whose function is public, reachable from the
/// crate root, not generic or async, with arguments the harness can build.
/// The reasons each frame was passed over, when none fits.
pub(crate) fn find_callee(ctx: &FixContext, root: &Path, krate: &LibCrate) -> Result<Callee, String> {
    let mut why = Vec::new();
    let mut resolver = Resolver::new(root, krate);
    for (i, frame) in ctx.frames.iter().enumerate() {
        let text = match ctx.file(&frame.path) {
            Some(t) => t.to_string(),
            None => match std::fs::read_to_string(root.join(&frame.path)) {
                Ok(t) => t,
                Err(_) => continue,
            },
        };
        let Some(module) = resolver.module_of(&frame.path) else {
            why.push(format!("{}: not in the library", frame.path));
            continue;
        };
        let Ok(file) = syn::parse_file(&text) else {
            why.push(format!("{}: does not parse", frame.path));
            continue;
        };
        match enclosing_fn(&file.items, frame.line, &module, true) {
            None => why.push(format!("{}:{}: no function there", frame.path, frame.line)),
            Some(found) => match resolver.callee(&found, i) {
                Ok(c) => return Ok(c),
                Err(e) => why.push(format!("{}:{}: {e}", frame.path, frame.line)),
            },
        }
    }
    if why.is_empty() {
        why.push("no in-repository frame".into());
    }
    Err(why.join("; "))
}

/// A function found at a line.
struct FoundFn {
    /// Module path inside the crate, public all the way.
    module: Vec<String>,
    /// Every module up to it is `pub`.
    public_chain: bool,
    /// The impl's self type, for an associated function or method.
    self_ty: Option<String>,
    sig: syn::Signature,
    public: bool,
}

fn enclosing_fn(items: &[syn::Item], line: u32, module: &[String], chain: bool) -> Option<FoundFn> {
    let covers = |s: proc_macro2::Span| {
        let (a, b) = (s.start().line as u32, s.end().line as u32);
        a <= line && line <= b
    };
    for item in items {
        if !covers(item.span()) {
            continue;
        }
        match item {
            syn::Item::Fn(f) => {
                return Some(FoundFn {
                    module: module.to_vec(),
                    public_chain: chain,
                    self_ty: None,
                    sig: f.sig.clone(),
                    public: matches!(f.vis, syn::Visibility::Public(_)),
                })
            }
            syn::Item::Impl(imp) if imp.trait_.is_none() && imp.generics.params.is_empty() => {
                let syn::Type::Path(tp) = &*imp.self_ty else {
                    return None;
                };
                let name = tp.path.segments.last()?.ident.to_string();
                for ii in &imp.items {
                    if let syn::ImplItem::Fn(f) = ii {
                        if covers(f.span()) {
                            return Some(FoundFn {
                                module: module.to_vec(),
                                public_chain: chain,
                                self_ty: Some(name),
                                sig: f.sig.clone(),
                                public: matches!(f.vis, syn::Visibility::Public(_)),
                            });
                        }
                    }
                }
                return None;
            }
            syn::Item::Mod(m) => {
                let (_, inner) = m.content.as_ref()?;
                let mut path = module.to_vec();
                path.push(m.ident.to_string());
                return enclosing_fn(inner, line, &path, chain && matches!(m.vis, syn::Visibility::Public(_)));
            }
            _ => return None,
        }
    }
    None
}

/// Resolves module paths, visibility and struct shapes in one crate.
struct Resolver<'a> {
    root: &'a Path,
    krate: &'a LibCrate,
    files: Option<Vec<(PathBuf, syn::File)>>,
}

impl<'a> Resolver<'a> {
    fn new(root: &'a Path, krate: &'a LibCrate) -> Self {
        Resolver {
            root,
            krate,
            files: None,
        }
    }

    fn crate_dir(&self) -> PathBuf {
        self.root.join(&self.krate.dir)
    }

    /// The module path of a repository file in the library (`src/a/b.rs` →
    /// `[a, b]`), when it is one of the library's files.
    fn module_of(&self, repo_path: &str) -> Option<Vec<String>> {
        let krate_dir = Path::new(&self.krate.dir);
        let rel = Path::new(repo_path).strip_prefix(krate_dir).ok()?;
        let root_file = Path::new(&self.krate.root_file);
        if rel == root_file {
            return Some(Vec::new());
        }
        let src = root_file.parent()?;
        let rel = rel.strip_prefix(src).ok()?;
        let mut parts: Vec<String> = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|l| l == "mod") {
            parts.pop();
        }
        if parts.is_empty() || parts.iter().any(|p| !is_ident(p)) {
            return None;
        }
        Some(parts)
    }

    /// Whether every module of `path` is declared `pub` in its parent file.
    fn public_modules(&self, path: &[String]) -> bool {
        let dir = self.crate_dir();
        let root_file = dir.join(&self.krate.root_file);
        let Some(src) = root_file.parent().map(Path::to_path_buf) else {
            return false;
        };
        let mut file = root_file;
        for (i, name) in path.iter().enumerate() {
            let Some(parsed) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| syn::parse_file(&t).ok())
            else {
                return false;
            };
            let public = parsed.items.iter().any(
                |it| matches!(it, syn::Item::Mod(m) if m.ident == name && matches!(m.vis, syn::Visibility::Public(_))),
            );
            if !public {
                return false;
            }
            let base: PathBuf = path[..=i].iter().collect();
            let flat = src.join(&base).with_extension("rs");
            file = if flat.is_file() {
                flat
            } else {
                src.join(&base).join("mod.rs")
            };
        }
        true
    }

    /// Whether the crate root re-exports `name` (`pub use a::b::Name;`,
    /// `pub use a::{Name, ..}` or a glob).
    fn root_reexports(&self, name: &str) -> bool {
        let root = self.crate_dir().join(&self.krate.root_file);
        let Some(parsed) = std::fs::read_to_string(root)
            .ok()
            .and_then(|t| syn::parse_file(&t).ok())
        else {
            return false;
        };
        fn leaf(tree: &syn::UseTree, name: &str) -> bool {
            match tree {
                syn::UseTree::Path(p) => leaf(&p.tree, name),
                syn::UseTree::Name(n) => n.ident == name,
                syn::UseTree::Rename(r) => r.rename == name,
                syn::UseTree::Group(g) => g.items.iter().any(|t| leaf(t, name)),
                syn::UseTree::Glob(_) => false,
            }
        }
        parsed.items.iter().any(
            |it| matches!(it, syn::Item::Use(u) if matches!(u.vis, syn::Visibility::Public(_)) && leaf(&u.tree, name)),
        )
    }

    /// The public path of an item named `name` in module `module`.
    fn public_path(&mut self, module: &[String], chain: bool, name: &str) -> Option<String> {
        if chain && self.public_modules(module) {
            let mut p = vec![self.krate.lib_name.clone()];
            p.extend(module.iter().cloned());
            p.push(name.to_string());
            return Some(p.join("::"));
        }
        self.root_reexports(name)
            .then(|| format!("{}::{name}", self.krate.lib_name))
    }

    fn callee(&mut self, f: &FoundFn, frame: usize) -> Result<Callee, String> {
        let name = f.sig.ident.to_string();
        if !f.public {
            return Err(format!("`{name}` is not public"));
        }
        if f.sig.asyncness.is_some() || f.sig.unsafety.is_some() || f.sig.variadic.is_some() {
            return Err(format!("`{name}` is async, unsafe or variadic"));
        }
        if f.sig
            .generics
            .params
            .iter()
            .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)))
        {
            return Err(format!("`{name}` is generic"));
        }
        let owner = match &f.self_ty {
            None => self.public_path(&f.module, f.public_chain, &name),
            Some(ty) => self
                .public_path(&f.module, f.public_chain, ty)
                .map(|p| format!("{p}::{name}")),
        }
        .ok_or_else(|| format!("`{name}` is not reachable from the crate root"))?;
        let mut args = Vec::new();
        for input in &f.sig.inputs {
            let shape = match input {
                syn::FnArg::Receiver(r) => {
                    let ty = f.self_ty.clone().ok_or("a receiver outside an impl")?;
                    let s = self.struct_shape(&ty, 0).ok_or_else(|| {
                        format!("cannot build a `{ty}` value (fields private, not Debug, or unsupported)")
                    })?;
                    match (&r.reference, r.mutability) {
                        (Some(_), m) => Shape::Ref {
                            inner: Box::new(Shape::Struct(s)),
                            mutable: m.is_some(),
                        },
                        (None, _) => Shape::Struct(s),
                    }
                }
                syn::FnArg::Typed(t) => {
                    let ty = (*t.ty).clone();
                    shape_of(&ty, &mut |n| self.struct_shape(n, 1)).ok_or_else(|| {
                        let shown = quote_type(&ty);
                        format!("argument type `{shown}` is not one the harness generates")
                    })?
                }
            };
            args.push(shape);
        }
        Ok(Callee {
            path: owner,
            args,
            frame,
        })
    }

    fn all_files(&mut self) -> &[(PathBuf, syn::File)] {
        if self.files.is_none() {
            let dir = self.crate_dir();
            let src = dir
                .join(&self.krate.root_file)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or(dir);
            let mut out = Vec::new();
            let mut stack = vec![src];
            while let Some(d) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&d) else { continue };
                for e in entries.flatten() {
                    let p = e.path();
                    if out.len() >= MAX_FILES {
                        break;
                    }
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "rs") {
                        if let Some(f) = std::fs::read_to_string(&p).ok().and_then(|t| syn::parse_file(&t).ok()) {
                            out.push((p, f));
                        }
                    }
                }
            }
            self.files = Some(out);
        }
        self.files.as_deref().unwrap_or_default()
    }

    /// The shape of the crate's struct `name`: public, non-generic, `Debug`,
    /// named public fields the harness can build, reachable by a public path.
    fn struct_shape(&mut self, name: &str, depth: usize) -> Option<StructShape> {
        if depth > MAX_DEPTH {
            return None;
        }
        let src_root = self.crate_dir();
        let mut found = None;
        for (path, file) in self.all_files() {
            if let Some(s) = file.items.iter().find_map(|it| match it {
                syn::Item::Struct(s) if s.ident == name => Some(s.clone()),
                _ => None,
            }) {
                let rel = path.strip_prefix(&src_root).ok()?.to_string_lossy().into_owned();
                found = Some((rel, s));
                break;
            }
        }
        let (rel, s) = found?;
        let derives = |what: &str| {
            s.attrs.iter().any(|a| {
                a.path().is_ident("derive") && {
                    let mut hit = false;
                    let _ = a.parse_nested_meta(|m| {
                        hit |= m.path.is_ident(what) || m.path.segments.last().is_some_and(|l| l.ident == what);
                        Ok(())
                    });
                    hit
                }
            })
        };
        let non_exhaustive = s.attrs.iter().any(|a| a.path().is_ident("non_exhaustive"));
        if !matches!(s.vis, syn::Visibility::Public(_))
            || !s.generics.params.is_empty()
            || !derives("Debug")
            || non_exhaustive
        {
            return None;
        }
        let default = derives("Default");
        let syn::Fields::Named(named) = &s.fields else {
            return None;
        };
        if named.named.len() > MAX_FIELDS {
            return None;
        }
        let mut fields = Vec::new();
        for f in &named.named {
            if !matches!(f.vis, syn::Visibility::Public(_)) {
                return None;
            }
            let ident = f.ident.as_ref()?.to_string();
            let shape = shape_of(&f.ty, &mut |n| self.struct_shape(n, depth + 1))?;
            if matches!(shape, Shape::Ref { .. } | Shape::Str | Shape::Slice(_)) {
                return None;
            }
            fields.push((ident, shape));
        }
        let repo_rel = if self.krate.dir.is_empty() {
            rel
        } else {
            format!("{}/{rel}", self.krate.dir)
        };
        let module = self.module_of(&repo_rel)?;
        let path = self.public_path(&module, true, name)?;
        Some(StructShape { path, fields, default })
    }
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

fn quote_type(ty: &syn::Type) -> String {
    use quote::ToTokens;
    ty.to_token_stream().to_string()
}
