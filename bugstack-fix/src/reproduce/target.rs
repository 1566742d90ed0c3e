//! Which function the harness calls: the failing function, or the nearest
//! caller up the stack that the crate's public API reaches, with every
//! argument of a [`Shape`] the harness can generate.

use std::path::{Path, PathBuf};

use syn::spanned::Spanned;

use super::generics::{instantiate, substitute, Binding};
use super::shape::Shape;
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
    /// The package is of edition 2015 (tests name the crate with `extern
    /// crate`).
    pub edition_2015: bool,
    /// With `autotests = false` (as crates.io normalises manifests), the
    /// first `[[test]]` target whose file is `tests/<name>.rs`: a new file
    /// under `tests/` would not be built, so the regression test goes into
    /// that one (relative to the crate directory).
    pub test_target: Option<String>,
    /// Cargo builds every file under `tests/` (no `autotests = false`).
    pub autotests: bool,
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
    /// Whether it is an `async fn`: the call is a future, polled to its end
    /// on the calling thread ([`BLOCK_ON`](super::harness::BLOCK_ON)).
    pub is_async: bool,
}

impl Callee {
    /// A plain (not `async`) function `path` called with `args`, found at
    /// `frame`.
    fn sync(path: &str, args: Vec<Shape>, frame: usize) -> Callee {
        Callee {
            path: path.to_string(),
            args,
            frame,
            is_async: false,
        }
    }

    /// The call with `args` (Rust expressions) as generated code writes it:
    /// an `async fn`'s future is driven by
    /// [`BLOCK_ON`](super::harness::BLOCK_ON)'s function.
    pub(crate) fn call(&self, args: &[String]) -> String {
        let call = format!("{}({})", self.path, args.join(", "));
        if self.is_async {
            format!("bugstack_block_on({call})")
        } else {
            call
        }
    }

    /// The call with `args` as a reader writes it (`f(1).await`).
    pub(crate) fn shown(&self, args: &[String]) -> String {
        let awaited = if self.is_async { ".await" } else { "" };
        format!("{}({}){awaited}", self.path, args.join(", "))
    }
}

/// Most files read when looking for a struct's definition.
const MAX_FILES: usize = 400;

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
                let package_table = value.get("package");
                let edition_2015 = package_table
                    .and_then(|p| p.get("edition"))
                    .and_then(|e| e.as_str())
                    .is_none_or(|e| e == "2015");
                let autotests = package_table
                    .and_then(|p| p.get("autotests"))
                    .and_then(|a| a.as_bool())
                    .unwrap_or(true);
                let test_target = if autotests {
                    None
                } else {
                    explicit_test_target(&value, &root.join(d))
                };
                return Ok(LibCrate {
                    dir: d.to_string_lossy().into_owned(),
                    package: package.to_string(),
                    lib_name,
                    root_file,
                    edition_2015,
                    test_target,
                    autotests,
                });
            }
        }
        dir = d.parent();
    }
    Err(format!("no Cargo.toml with a [package] above {file}"))
}

/// The first `[[test]]` of `manifest` whose file is `tests/<name>.rs`, exists
/// under `dir`, and is not switched off by a `#![cfg(..)]`.
fn explicit_test_target(manifest: &toml::Value, dir: &Path) -> Option<String> {
    manifest.get("test")?.as_array()?.iter().find_map(|t| {
        let name = t.get("name")?.as_str()?;
        let path = t
            .get("path")
            .and_then(|p| p.as_str())
            .map_or_else(|| format!("tests/{name}.rs"), str::to_string);
        if path != format!("tests/{name}.rs") || t.get("required-features").is_some() {
            return None;
        }
        let text = std::fs::read_to_string(dir.join(&path)).ok()?;
        (!text.contains("#![cfg")).then_some(path)
    })
}

/// The function to call: walks the context's frames from the panic outward
/// and takes the first one whose function is public, reachable from the
/// crate root, with type parameters the harness can choose and arguments it
/// can build (an `async fn` too: its future is polled to its end).
/// The reasons each frame was passed over, when none fits.
///
/// An operator's impl (`<&Decimal as Div<_>>::div`) is called only when no
/// frame above it can be: called directly it panics as its contract says
/// (a division by zero), while the incident is the caller handing it that
/// value, and the fix goes where the caller can be proven on it.
pub(crate) fn find_callee(ctx: &FixContext, root: &Path, krate: &LibCrate) -> Result<Callee, String> {
    let mut why = Vec::new();
    let mut operator: Option<Callee> = None;
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
        let Ok(file) = crate::rust_file::parse_file(&text) else {
            why.push(format!("{}: does not parse", frame.path));
            continue;
        };
        match enclosing_fn(&file.items, frame.line, &module, true) {
            None => why.push(format!("{}:{}: no function there", frame.path, frame.line)),
            Some(found) => match resolver.callee(&found, i, &file.items) {
                Ok(c) => match unless_operator(c, &mut operator) {
                    Some(c) => return Ok(c),
                    None => continue,
                },
                Err(e) => why.push(format!("{}:{}: {e}", frame.path, frame.line)),
            },
        }
        // A trait method whose code a macro wrote (`impl_integer!(u32)`): the
        // frame's function, `<u32 as my_crate::Integer>::lcm`, names the type
        // and the trait, whose definition gives the signature.
        let symbols = frame.function.as_deref().map(callable_symbols).unwrap_or_default();
        if let Some((symbol, found)) = symbols.iter().find_map(|f| Some((f, resolver.by_symbol(f)?))) {
            match resolver.callee(&found, i, &[]) {
                Ok(c) => {
                    if let Some(c) = unless_operator(c, &mut operator) {
                        return Ok(c);
                    }
                }
                Err(e) => why.push(format!("{symbol}: {e}")),
            }
        }
    }
    // Frames the event names by function only (a binary with symbols but
    // no line tables for the crate): the function is found by its path.
    let mine = format!("{}::", krate.lib_name);
    let named = ctx.incident.event.frames.iter().filter_map(|f| f.function.as_deref());
    for (i, function) in named.filter(|f| f.contains(&mine)).enumerate() {
        if ctx.frames.iter().any(|f| f.function.as_deref() == Some(function)) {
            continue;
        }
        for symbol in callable_symbols(function) {
            let found = match resolver.by_path(&symbol) {
                Some(found) => Some(found),
                None => resolver.by_symbol(&symbol).map(|f| (f, Vec::new())),
            };
            if let Some((found, items)) = found {
                match resolver.callee(&found, i, &items) {
                    Ok(c) => {
                        if let Some(c) = unless_operator(c, &mut operator) {
                            return Ok(c);
                        }
                    }
                    Err(e) => why.push(format!("{symbol}: {e}")),
                }
                break;
            }
        }
    }
    if why.is_empty() {
        why.push("no in-repository frame".into());
    }
    operator.ok_or_else(|| why.join("; "))
}

/// The operator traits of `std::ops`: their impls panic by contract on
/// some operands (a divisor of zero, an index past the end).
const OPERATOR_TRAITS: &[&str] = &[
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Rem",
    "Neg",
    "Not",
    "BitAnd",
    "BitOr",
    "BitXor",
    "Shl",
    "Shr",
    "AddAssign",
    "SubAssign",
    "MulAssign",
    "DivAssign",
    "RemAssign",
    "BitAndAssign",
    "BitOrAssign",
    "BitXorAssign",
    "ShlAssign",
    "ShrAssign",
    "Index",
    "IndexMut",
];

/// `c`, unless it calls an operator's impl: that one is kept in `operator`
/// (the first found) for when no frame above it can be called.
fn unless_operator(c: Callee, operator: &mut Option<Callee>) -> Option<Callee> {
    if is_operator_call(&c.path) {
        operator.get_or_insert(c);
        None
    } else {
        Some(c)
    }
}

/// Whether call path `path` (`<T as core::ops::Div<_>>::div`) calls an
/// impl of one of [`OPERATOR_TRAITS`].
fn is_operator_call(path: &str) -> bool {
    let Some((_, rest)) = path.split_once(" as ") else {
        return false;
    };
    let trait_path = rest.split(">::").next().unwrap_or_default();
    let bare = trait_path.split('<').next().unwrap_or_default();
    let Some(name) = ["std::ops::", "core::ops::"].iter().find_map(|p| bare.strip_prefix(p)) else {
        return false;
    };
    OPERATOR_TRAITS.contains(&name)
}

/// The paths a frame's function may be called by, innermost first:
/// closures (`{{closure}}`) and turbofish arguments dropped, then each
/// enclosing item (`<f32 as m::Num>::from_str_radix::shift_char` →
/// itself, then `<f32 as m::Num>::from_str_radix`), down to two segments.
pub(crate) fn callable_symbols(function: &str) -> Vec<String> {
    // Top-level `::`-separated segments (a `<..>` is one piece).
    let mut segs: Vec<String> = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    let mut chars = function.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ':' if depth == 0 && chars.peek() == Some(&':') => {
                chars.next();
                segs.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    segs.push(cur);
    // Closures and turbofish arguments go; a qualified head (`<A as B>`) stays.
    let keep = |s: &String| !s.is_empty() && !s.starts_with("{{") && (!s.starts_with('<') || s.contains(" as "));
    segs.retain(keep);
    let mut out = Vec::new();
    for n in (2..=segs.len()).rev() {
        out.push(segs[..n].join("::"));
    }
    out
}

/// A function found at a line.
struct FoundFn {
    /// Module path inside the crate, public all the way.
    module: Vec<String>,
    /// Every module up to it is `pub`.
    public_chain: bool,
    /// What the function belongs to.
    owner: Owner,
    sig: syn::Signature,
    public: bool,
    /// The generics of the inherent impl it is in (`impl<F: Float>
    /// FisherF<F>`), and that impl's `Self` as written.
    impl_generics: syn::Generics,
    impl_self: Option<syn::Type>,
}

impl FoundFn {
    fn new(module: &[String], public_chain: bool, owner: Owner, sig: &syn::Signature, public: bool) -> Self {
        FoundFn {
            module: module.to_vec(),
            public_chain,
            owner,
            sig: sig.clone(),
            public,
            impl_generics: syn::Generics::default(),
            impl_self: None,
        }
    }

    /// The function as a method of `imp`: an inherent impl's generics and
    /// `Self` (a trait impl's were checked to be lifetimes only).
    fn in_impl(mut self, imp: &syn::ItemImpl) -> Self {
        if imp.trait_.is_none() {
            self.impl_generics = imp.generics.clone();
            self.impl_self = Some((*imp.self_ty).clone());
        }
        self
    }
}

/// What a found function belongs to.
enum Owner {
    /// Nothing: a free function.
    Free,
    /// An inherent impl of the type named.
    Inherent(String),
    /// `impl Trait for Type`: called as `<Type as Trait>::f`.
    TraitImpl {
        /// The implementing type, as written.
        self_ty: Box<syn::Type>,
        /// The trait, as written (resolved against the file's `use`s).
        trait_: syn::Path,
    },
    /// A default method of the crate's trait named: called on a type of the
    /// crate that implements it.
    TraitDefault(String),
}

/// Whether a path segment's generic arguments are lifetimes only (or none):
/// `Template<'a>`.
pub(super) fn lifetime_arguments_only(args: &syn::PathArguments) -> bool {
    match args {
        syn::PathArguments::None => true,
        syn::PathArguments::AngleBracketed(a) => a.args.iter().all(|x| matches!(x, syn::GenericArgument::Lifetime(_))),
        syn::PathArguments::Parenthesized(_) => false,
    }
}

/// How many type parameters `g` has.
fn type_params(g: &syn::Generics) -> usize {
    g.params
        .iter()
        .filter(|p| matches!(p, syn::GenericParam::Type(_)))
        .count()
}

/// `ty` without the last `n` type arguments of its last segment
/// (`Map<K, V, S>` → `Map<K, V>` for 1).
fn drop_trailing_arguments(ty: &mut syn::Type, n: usize) {
    let syn::Type::Path(tp) = ty else { return };
    let Some(last) = tp.path.segments.last_mut() else {
        return;
    };
    let syn::PathArguments::AngleBracketed(a) = &mut last.arguments else {
        return;
    };
    for _ in 0..n {
        if matches!(a.args.last(), Some(syn::GenericArgument::Type(_))) {
            a.args.pop();
        }
    }
    if a.args.is_empty() {
        last.arguments = syn::PathArguments::None;
    }
}

/// Whether every generic parameter is a lifetime.
pub(super) fn lifetimes_only(g: &syn::Generics) -> bool {
    g.params.iter().all(|p| matches!(p, syn::GenericParam::Lifetime(_)))
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
                return Some(FoundFn::new(
                    module,
                    chain,
                    Owner::Free,
                    &f.sig,
                    matches!(f.vis, syn::Visibility::Public(_)),
                ))
            }
            // An inherent impl may be generic: the harness picks its types.
            syn::Item::Impl(imp) if imp.trait_.is_none() || lifetimes_only(&imp.generics) => {
                let owner = match &imp.trait_ {
                    None => {
                        let syn::Type::Path(tp) = &*imp.self_ty else {
                            return None;
                        };
                        Owner::Inherent(tp.path.segments.last()?.ident.to_string())
                    }
                    Some((None, path, _)) => Owner::TraitImpl {
                        self_ty: imp.self_ty.clone(),
                        trait_: path.clone(),
                    },
                    Some(_) => return None,
                };
                let trait_impl = imp.trait_.is_some();
                for ii in &imp.items {
                    if let syn::ImplItem::Fn(f) = ii {
                        if covers(f.span()) {
                            // A trait's methods are as public as the trait.
                            let public = trait_impl || matches!(f.vis, syn::Visibility::Public(_));
                            return Some(FoundFn::new(module, chain, owner, &f.sig, public).in_impl(imp));
                        }
                    }
                }
                return None;
            }
            syn::Item::Trait(t) if t.generics.params.is_empty() => {
                for ti in &t.items {
                    if let syn::TraitItem::Fn(f) = ti {
                        if f.default.is_some() && covers(f.span()) {
                            return Some(FoundFn::new(
                                module,
                                chain,
                                Owner::TraitDefault(t.ident.to_string()),
                                &f.sig,
                                matches!(t.vis, syn::Visibility::Public(_)),
                            ));
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

/// The function `names` (`[f]`, `[Type, f]`, `[Trait, f]`, inline modules
/// first) among `items` of module `module`.
fn named_fn(items: &[syn::Item], names: &[String], module: &[String], chain: bool) -> Option<FoundFn> {
    let found = |owner: Owner, sig: &syn::Signature, public: bool| FoundFn::new(module, chain, owner, sig, public);
    let public = |v: &syn::Visibility| matches!(v, syn::Visibility::Public(_));
    match names {
        [f] => items.iter().find_map(|it| match it {
            syn::Item::Fn(x) if x.sig.ident == f => Some(found(Owner::Free, &x.sig, public(&x.vis))),
            _ => None,
        }),
        [ty, f] => items.iter().find_map(|it| match it {
            syn::Item::Impl(imp) if imp.trait_.is_none() => {
                let syn::Type::Path(tp) = &*imp.self_ty else {
                    return None;
                };
                if tp.path.segments.last()?.ident != ty {
                    return None;
                }
                imp.items.iter().find_map(|ii| match ii {
                    syn::ImplItem::Fn(x) if x.sig.ident == f => {
                        Some(found(Owner::Inherent(ty.clone()), &x.sig, public(&x.vis)).in_impl(imp))
                    }
                    _ => None,
                })
            }
            syn::Item::Trait(t) if t.ident == ty && t.generics.params.is_empty() => {
                t.items.iter().find_map(|ti| match ti {
                    syn::TraitItem::Fn(x) if x.sig.ident == f && x.default.is_some() => {
                        Some(found(Owner::TraitDefault(ty.clone()), &x.sig, public(&t.vis)))
                    }
                    _ => None,
                })
            }
            syn::Item::Mod(m) if m.ident == ty => {
                let (_, inner) = m.content.as_ref()?;
                let mut path = module.to_vec();
                path.push(ty.clone());
                named_fn(inner, &names[1..], &path, chain && public(&m.vis))
            }
            _ => None,
        }),
        [m, more @ ..] if !more.is_empty() => items.iter().find_map(|it| match it {
            syn::Item::Mod(x) if x.ident == m => {
                let (_, inner) = x.content.as_ref()?;
                let mut path = module.to_vec();
                path.push(m.clone());
                named_fn(inner, more, &path, chain && public(&x.vis))
            }
            _ => None,
        }),
        _ => None,
    }
}

/// Traits of the standard prelude, named without a path.
const PRELUDE_TRAITS: &[&str] = &[
    "Clone",
    "Default",
    "Drop",
    "Eq",
    "Extend",
    "From",
    "FromIterator",
    "Into",
    "IntoIterator",
    "Iterator",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
];

/// The full path a `use` item of `items` gives to `name`.
fn used_path(items: &[syn::Item], name: &str) -> Option<Vec<String>> {
    fn walk(tree: &syn::UseTree, prefix: &mut Vec<String>, name: &str) -> Option<Vec<String>> {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                let found = walk(&p.tree, prefix, name);
                prefix.pop();
                found
            }
            syn::UseTree::Name(n) if n.ident == name => {
                let mut v = prefix.clone();
                v.push(name.to_string());
                Some(v)
            }
            syn::UseTree::Rename(r) if r.rename == name => {
                let mut v = prefix.clone();
                v.push(r.ident.to_string());
                Some(v)
            }
            syn::UseTree::Group(g) => g.items.iter().find_map(|t| walk(t, prefix, name)),
            _ => None,
        }
    }
    items.iter().find_map(|it| match it {
        syn::Item::Use(u) => walk(&u.tree, &mut Vec::new(), name),
        _ => None,
    })
}

/// Resolves module paths, visibility and struct shapes in one crate.
pub(super) struct Resolver<'a> {
    root: &'a Path,
    krate: &'a LibCrate,
    files: Option<Vec<(PathBuf, syn::File)>>,
    /// The standard types ([`shape::STD_VALUES`](super::shape::STD_VALUES))
    /// the file being called into imports by their bare names (`use
    /// std::time::Duration;`): a bare `Duration` there is std's.
    pub(super) std_names: Vec<&'static str>,
    /// The crate's types the harness can only make by a method of another
    /// type (`RopeSlice` by `Rope::slice`): an owner among them is a longer
    /// way to a value than one made by its own constructor.
    pub(super) made_by_method: std::collections::HashSet<String>,
}

impl<'a> Resolver<'a> {
    fn new(root: &'a Path, krate: &'a LibCrate) -> Self {
        Resolver {
            root,
            krate,
            files: None,
            std_names: Vec::new(),
            made_by_method: std::collections::HashSet::new(),
        }
    }

    /// The public path of the item `name` defined in the library file
    /// `rel` (relative to the crate's directory).
    pub(super) fn item_path(&mut self, rel: String, name: &str) -> Option<String> {
        let repo_rel = if self.krate.dir.is_empty() {
            rel
        } else {
            format!("{}/{rel}", self.krate.dir)
        };
        let module = self.module_of(&repo_rel)?;
        self.public_path(&module, true, name)
    }

    pub(super) fn crate_dir(&self) -> PathBuf {
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
                .and_then(|t| crate::rust_file::parse_file(&t).ok())
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

    /// Whether module `at` re-exports `name` of its descendant module
    /// `from` (`pub use a::b::Name;`, `pub use a::{Name, ..}`, or a glob of
    /// the module it is in: `pub use self::abbrev::*;`).
    fn reexports(&self, at: &[String], name: &str, from: &[String]) -> bool {
        let Some(parsed) = self
            .module_file(at)
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|t| crate::rust_file::parse_file(&t).ok())
        else {
            return false;
        };
        fn leaf(tree: &syn::UseTree, name: &str, home: Option<&String>, last: Option<String>) -> bool {
            match tree {
                syn::UseTree::Path(p) => leaf(&p.tree, name, home, Some(p.ident.to_string())),
                syn::UseTree::Name(n) => n.ident == name,
                syn::UseTree::Rename(r) => r.rename == name,
                syn::UseTree::Group(g) => g.items.iter().any(|t| leaf(t, name, home, last.clone())),
                syn::UseTree::Glob(_) => home.is_some() && last.as_ref() == home,
            }
        }
        // A glob counts when it names the item's own module.
        let home = from.last().filter(|_| from.len() == 1);
        parsed.items.iter().any(
            |it| matches!(it, syn::Item::Use(u) if matches!(u.vis, syn::Visibility::Public(_)) && leaf(&u.tree, name, home, None)),
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
        // Re-exported by an ancestor module whose path is public.
        (0..module.len().max(1)).rev().find_map(|k| {
            let k = k.min(module.len());
            (self.public_modules(&module[..k]) && self.reexports(&module[..k], name, &module[k..])).then(|| {
                let mut p = vec![self.krate.lib_name.clone()];
                p.extend(module[..k].iter().cloned());
                p.push(name.to_string());
                p.join("::")
            })
        })
    }

    /// The public path of the crate's type `ty` (a struct or enum named by
    /// a path without generic arguments).
    fn type_path(&mut self, ty: &syn::Type) -> Option<String> {
        let syn::Type::Path(tp) = ty else { return None };
        let last = tp.path.segments.last()?;
        if tp.qself.is_some() || !last.arguments.is_none() {
            return None;
        }
        let name = last.ident.to_string();
        let src_root = self.crate_dir();
        let rel = self.all_files().iter().find_map(|(path, file)| {
            file.items.iter().find_map(|it| {
                let public = match it {
                    syn::Item::Struct(x) if x.ident == name => matches!(x.vis, syn::Visibility::Public(_)),
                    syn::Item::Enum(x) if x.ident == name => matches!(x.vis, syn::Visibility::Public(_)),
                    _ => return None,
                };
                public.then(|| {
                    path.strip_prefix(&src_root)
                        .ok()
                        .map(|r| r.to_string_lossy().into_owned())
                })?
            })
        })?;
        self.item_path(rel, &name)
    }

    /// The crate's public trait named `name`: its public path and definition.
    fn find_trait(&mut self, name: &str) -> Option<(String, syn::ItemTrait)> {
        let src_root = self.crate_dir();
        let (rel, def) = self.all_files().iter().find_map(|(path, file)| {
            file.items.iter().find_map(|it| match it {
                syn::Item::Trait(t) if t.ident == name && matches!(t.vis, syn::Visibility::Public(_)) => {
                    let rel = path.strip_prefix(&src_root).ok()?.to_string_lossy().into_owned();
                    Some((rel, t.clone()))
                }
                _ => None,
            })
        })?;
        let path = self.item_path(rel, name)?;
        Some((path, def))
    }

    /// The path a harness names trait `path` by, written in a file whose
    /// items are `items`: a standard trait by its public path, the crate's
    /// own by its public path.
    ///
    /// A trait with type arguments (`Index<usize>`, `PartialEq<str>`) is
    /// written with one `_` each (`std::ops::Index<_>`): the compiler infers
    /// them from the call's arguments, whose types the impl's signature
    /// gives, so the argument types never have to be written in the harness.
    fn trait_path(&mut self, path: &syn::Path, items: &[syn::Item]) -> Option<String> {
        let last = path.segments.last()?;
        if path.segments.iter().rev().skip(1).any(|s| !s.arguments.is_none()) {
            return None;
        }
        let inferred = match &last.arguments {
            syn::PathArguments::None => String::new(),
            syn::PathArguments::AngleBracketed(a) => {
                let mut types = 0;
                for arg in &a.args {
                    match arg {
                        syn::GenericArgument::Type(_) | syn::GenericArgument::Const(_) => types += 1,
                        syn::GenericArgument::Lifetime(_) => {}
                        // Associated-type bindings and bounds.
                        _ => return None,
                    }
                }
                match types {
                    0 => String::new(),
                    n => format!("<{}>", vec!["_"; n].join(", ")),
                }
            }
            // `Fn(A) -> B`: no impl of the crate's is called through it.
            syn::PathArguments::Parenthesized(_) => return None,
        };
        self.bare_trait_path(path, items).map(|p| p + &inferred)
    }

    /// [`Resolver::trait_path`] of `path` without its generic arguments.
    fn bare_trait_path(&mut self, path: &syn::Path, items: &[syn::Item]) -> Option<String> {
        let mut segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segs.len() == 1 {
            if let Some(full) = used_path(items, &segs[0]) {
                segs = full;
            } else if PRELUDE_TRAITS.contains(&segs[0].as_str()) {
                return Some(segs[0].clone());
            }
        } else if let Some(mut full) = used_path(items, &segs[0]) {
            // `fmt::Display` under `use std::fmt;`.
            full.extend(segs.drain(1..));
            segs = full;
        }
        let first = segs.first()?.as_str();
        if path.leading_colon.is_none() && matches!(first, "std" | "core" | "alloc")
            || path.leading_colon.is_some() && segs.len() > 1
        {
            return Some(segs.join("::"));
        }
        let last = segs.last()?.clone();
        self.find_trait(&last).map(|(p, _)| p)
    }

    /// The file of the crate's module `module` (`[a, b]` → `src/a/b.rs` or
    /// `src/a/b/mod.rs`; `[]` → the crate root).
    fn module_file(&self, module: &[String]) -> Option<PathBuf> {
        let root_file = self.crate_dir().join(&self.krate.root_file);
        if module.is_empty() {
            return Some(root_file);
        }
        let base: PathBuf = root_file.parent()?.join(module.iter().collect::<PathBuf>());
        let flat = base.with_extension("rs");
        if flat.is_file() {
            return Some(flat);
        }
        let nested = base.join("mod.rs");
        nested.is_file().then_some(nested)
    }

    /// A function named by a frame's path (`my_crate::a::Type::f`,
    /// `my_crate::a::Trait::f`, `my_crate::a::f`), found in the module's
    /// file; the file's items (for its `use`s).
    fn by_path(&mut self, symbol: &str) -> Option<(FoundFn, Vec<syn::Item>)> {
        let path: syn::Path = syn::parse_str(symbol).ok()?;
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segs.len() < 2 || segs[0] != self.krate.lib_name {
            return None;
        }
        let rest = &segs[1..];
        for k in (0..rest.len()).rev() {
            let Some(file) = self.module_file(&rest[..k]) else {
                continue;
            };
            let parsed = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| crate::rust_file::parse_file(&t).ok())?;
            let found = named_fn(&parsed.items, &rest[k..], &rest[..k], true)?;
            return Some((found, parsed.items));
        }
        None
    }

    /// A function named by a frame's symbol `<Type as my_crate::Trait>::f`,
    /// with the crate's own trait: its signature from the trait's definition.
    fn by_symbol(&mut self, symbol: &str) -> Option<FoundFn> {
        let expr: syn::ExprPath = syn::parse_str(symbol).ok()?;
        let qself = expr.qself.as_ref()?;
        let segs: Vec<String> = expr.path.segments.iter().map(|s| s.ident.to_string()).collect();
        if qself.position + 1 != segs.len() || segs.first() != Some(&self.krate.lib_name) {
            return None;
        }
        let method = segs.last()?;
        let (trait_path, def) = self.find_trait(&segs[qself.position - 1])?;
        if !def.generics.params.is_empty() {
            return None;
        }
        let sig = def.items.iter().find_map(|ti| match ti {
            syn::TraitItem::Fn(f) if f.sig.ident == method => Some(f.sig.clone()),
            _ => None,
        })?;
        let owner = Owner::TraitImpl {
            self_ty: qself.ty.clone(),
            trait_: syn::parse_str(&trait_path).ok()?,
        };
        Some(FoundFn::new(&[], true, owner, &sig, true))
    }

    fn callee(&mut self, f: &FoundFn, frame: usize, items: &[syn::Item]) -> Result<Callee, String> {
        let name = f.sig.ident.to_string();
        if !f.public {
            return Err(format!("`{name}` is not public"));
        }
        if f.sig.unsafety.is_some() || f.sig.variadic.is_some() {
            return Err(format!("`{name}` is unsafe or variadic"));
        }
        // `Duration` is std's only where the file says so: another crate's
        // (`chrono::Duration`) is not built like it.
        self.std_names = super::shape::STD_VALUES
            .iter()
            .copied()
            .filter(|n| used_path(items, n).is_some_and(|p| matches!(p[0].as_str(), "std" | "core")))
            .collect();
        // Type parameters, the impl's then the function's, get the types
        // their bounds suggest; the call names them (`FisherF::<f64>::new`,
        // `diff::<[u8], [u8], Capture>`) unless an `impl Trait` argument
        // forbids it, and every argument type is read with them.
        let bindings = instantiate(&[&f.impl_generics, &f.sig.generics], &mut |n| self.implementing_type(n))
            .map_err(|e| format!("`{name}` is generic, and {e}"))?;
        let impl_params = type_params(&f.impl_generics);
        let turbofish = |params: usize, skip: usize| {
            let types: Vec<String> = bindings[skip..skip + params]
                .iter()
                .map(|(_, t)| quote_type(t))
                .collect();
            if types.is_empty() {
                String::new()
            } else {
                format!("::<{}>", types.join(", "))
            }
        };
        let impl_trait_argument = f
            .sig
            .inputs
            .iter()
            .any(|a| matches!(a, syn::FnArg::Typed(t) if quote_type(&t.ty).contains("impl ")));
        let fn_turbofish = if impl_trait_argument {
            String::new()
        } else {
            turbofish(bindings.len() - impl_params, impl_params)
        };
        let unreachable = || format!("`{name}` is not reachable from the crate root");
        // The path called, and `Self` with its shape (for a method).
        let (path, self_ty): (String, Option<(syn::Type, Option<Shape>)>) = match &f.owner {
            Owner::Free => (
                self.public_path(&f.module, f.public_chain, &name)
                    .ok_or_else(unreachable)?,
                None,
            ),
            Owner::Inherent(ty) => {
                let owner = self
                    .public_path(&f.module, f.public_chain, ty)
                    .ok_or_else(unreachable)?;
                // A hasher-like parameter the impl leaves free and the type
                // gives a default (`impl<K, V, S> Map<K, V, S>`, `S =
                // DefaultHasher`) keeps its default: the call names the
                // leading ones only (`Map::<u8, u8>`), where a picked type
                // would make a value no other impl of the type serves.
                let defaulted = match &f.impl_self {
                    Some(written) => self.left_to_default(written, &f.impl_generics, &f.sig),
                    None => 0,
                };
                let impl_turbofish = turbofish(impl_params - defaulted, 0);
                let self_ty: syn::Type = match (&f.impl_self, impl_params) {
                    (Some(written), 1..) => {
                        let mut written = written.clone();
                        drop_trailing_arguments(&mut written, defaulted);
                        substitute(&written, &bindings).ok_or("a `Self` type that cannot be written")?
                    }
                    _ => syn::parse_str(ty).map_err(|e| e.to_string())?,
                };
                // A generic type is built with the types picked for its
                // parameters (`Slab<u8>`).
                let shape = if impl_params == 0 {
                    self.type_shape(ty, Some(&owner), 0)
                } else {
                    self.shape(&self_ty, 0)
                };
                // The receiver may be changed by its type's own methods
                // before the call (a prepared value).
                let owner = format!("{owner}{impl_turbofish}");
                let receives = matches!(f.sig.inputs.first(), Some(syn::FnArg::Receiver(_)));
                let shape = shape.map(|s| {
                    if receives {
                        self.prepared(s, &self_ty, &owner)
                    } else {
                        s
                    }
                });
                (format!("{owner}::{name}"), Some((self_ty, shape)))
            }
            Owner::TraitImpl { self_ty, trait_ } => {
                let t = self
                    .trait_path(trait_, items)
                    .ok_or_else(|| format!("the trait of `{name}` is not reachable from the crate root"))?;
                // A type the harness cannot build still names an associated
                // function without a receiver (`<T as FromStr>::from_str`).
                let (code, shape) = match self.shape(self_ty, 0) {
                    Some(shape) => (shape.type_code(), Some(shape)),
                    None => (
                        self.type_path(self_ty).ok_or_else(|| {
                            format!("the implementing type `{}` is not reachable", quote_type(self_ty))
                        })?,
                        None,
                    ),
                };
                // `Display::fmt` needs a `Formatter`: the value is formatted
                // the way callers do, by `ToString::to_string(&value)`.
                if name == "fmt" && t.ends_with("fmt::Display") {
                    let receiver =
                        shape.ok_or_else(|| format!("cannot build a `{}` value to format", quote_type(self_ty)))?;
                    let arg = match receiver {
                        Shape::Ref { .. } | Shape::Str | Shape::Slice(_) => receiver,
                        owned => Shape::Ref {
                            inner: Box::new(owned),
                            mutable: false,
                        },
                    };
                    return Ok(Callee::sync("std::string::ToString::to_string", vec![arg], frame));
                }
                // An iterator's method runs as its users run it: driven by
                // `collect` (`next` to the end, `size_hint` on the way), at
                // most `DRIVEN_ITEMS` items (an endless iterator ends).
                if is_std_iterator(&t) {
                    let value = shape
                        .filter(|s| !matches!(s, Shape::Ref { .. } | Shape::Str | Shape::Slice(_)))
                        .ok_or_else(|| format!("cannot build a `{}` value to iterate", quote_type(self_ty)))?;
                    let taken = Shape::Constructed {
                        path: format!("std::iter::Take<{}>", value.type_code()),
                        ctor: "std::iter::Iterator::take".into(),
                        args: vec![
                            value,
                            Shape::Literal {
                                code: DRIVEN_ITEMS,
                                ty: "usize",
                            },
                        ],
                        fallible: false,
                    };
                    return Ok(Callee::sync(
                        "std::iter::Iterator::collect::<std::vec::Vec<_>>",
                        vec![taken],
                        frame,
                    ));
                }
                (format!("<{code} as {t}>::{name}"), Some(((**self_ty).clone(), shape)))
            }
            Owner::TraitDefault(tr) => {
                let t = self
                    .public_path(&f.module, f.public_chain, tr)
                    .ok_or_else(|| format!("the trait `{tr}` is not reachable from the crate root"))?;
                let (ty, shape) = self
                    .implementor(tr)
                    .ok_or_else(|| format!("no type of the crate implementing `{tr}` can be built"))?;
                (
                    format!("<{} as {t}>::{name}", shape.type_code()),
                    Some((ty, Some(shape))),
                )
            }
        };
        let mut args = Vec::new();
        for input in &f.sig.inputs {
            let shape = match input {
                syn::FnArg::Receiver(r) => {
                    let (ty, shape) = self_ty.as_ref().ok_or("a receiver outside an impl")?;
                    let s = shape.clone().ok_or_else(|| {
                        format!(
                            "cannot build a `{}` value (fields private, no `new()` or `Default`, or unsupported)",
                            quote_type(ty)
                        )
                    })?;
                    match (&r.reference, r.mutability) {
                        (Some(_), m) if !matches!(s, Shape::Ref { .. }) => Shape::Ref {
                            inner: Box::new(s),
                            mutable: m.is_some(),
                        },
                        (None, _) if r.colon_token.is_none() => s,
                        _ => return Err(format!("`{name}` takes an unsupported `self`")),
                    }
                }
                syn::FnArg::Typed(t) => {
                    let mut with: Vec<Binding> = bindings.clone();
                    if let Some((st, _)) = &self_ty {
                        with.push(("Self".into(), st.clone()));
                    }
                    let ty = substitute(&t.ty, &with).ok_or_else(|| {
                        format!(
                            "argument type `{}` cannot be written with concrete types",
                            quote_type(&t.ty)
                        )
                    })?;
                    let ty = self.impl_trait_argument(ty)?;
                    self.shape(&ty, 1).ok_or_else(|| {
                        let shown = quote_type(&ty);
                        format!("argument type `{shown}` is not one the harness generates")
                    })?
                }
            };
            args.push(shape);
        }
        let path = match &f.owner {
            Owner::Free | Owner::Inherent(_) => format!("{path}{fn_turbofish}"),
            _ => path,
        };
        Ok(Callee {
            path,
            args,
            frame,
            is_async: f.sig.asyncness.is_some(),
        })
    }

    /// How many of the impl's last type parameters keep the type's
    /// defaults when called: those `written` (the impl's `Self`) names
    /// last, in order, where the type's definition gives a default, that
    /// the impl bounds nowhere and `sig`'s arguments do not take.
    fn left_to_default(&mut self, written: &syn::Type, generics: &syn::Generics, sig: &syn::Signature) -> usize {
        let syn::Type::Path(tp) = written else { return 0 };
        let Some(last) = tp.path.segments.last() else { return 0 };
        let Some(args) = super::shape::type_arguments(&last.arguments) else {
            return 0;
        };
        let name = last.ident.to_string();
        let defaults = self
            .all_files()
            .iter()
            .flat_map(|(_, file)| &file.items)
            .find_map(|it| match it {
                syn::Item::Struct(s) if s.ident == name => {
                    let params: Vec<&syn::TypeParam> = s.generics.type_params().collect();
                    Some(params.iter().rev().take_while(|p| p.default.is_some()).count())
                }
                _ => None,
            })
            .unwrap_or(0);
        use quote::ToTokens as _;
        let inputs: Vec<String> = sig.inputs.iter().map(|a| a.to_token_stream().to_string()).collect();
        let free = |arg: &syn::Type| {
            let syn::Type::Path(ap) = arg else { return false };
            let Some(ident) = ap.path.get_ident() else { return false };
            let Some(param) = generics.type_params().find(|p| p.ident == *ident) else {
                return false;
            };
            let bounded_in_where = generics.where_clause.iter().flat_map(|w| &w.predicates).any(|p| {
                p.to_token_stream()
                    .into_iter()
                    .any(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == *ident))
            });
            let named = |text: &String| {
                text.split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|w| *ident == w)
            };
            param.bounds.is_empty() && !bounded_in_where && !inputs.iter().any(named)
        };
        let n = args.iter().rev().take(defaults).take_while(|a| free(a)).count();
        // The turbofish lists the impl's parameters in order: the ones left
        // out must be its last ones too.
        let params: Vec<String> = generics.type_params().map(|p| p.ident.to_string()).collect();
        let written: Vec<String> = args.iter().map(|a| a.to_token_stream().to_string()).collect();
        let in_order = n <= params.len() && params[params.len() - n..] == written[written.len() - n..];
        if in_order {
            n
        } else {
            0
        }
    }

    pub(super) fn all_files(&mut self) -> &[(PathBuf, syn::File)] {
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
                        if let Some(f) = std::fs::read_to_string(&p)
                            .ok()
                            .and_then(|t| crate::rust_file::parse_file(&t).ok())
                        {
                            out.push((p, f));
                        }
                    }
                }
            }
            // In path order, whatever order the file system lists them in:
            // the same crate gives the same harness.
            out.sort_by(|a, b| a.0.cmp(&b.0));
            self.files = Some(out);
        }
        self.files.as_deref().unwrap_or_default()
    }
}

/// Most items a driven iterator yields (see [`Resolver::callee`]).
const DRIVEN_ITEMS: &str = "1000";

/// Whether trait path `t` (as [`Resolver::trait_path`] writes it) is the
/// standard library's `Iterator`.
fn is_std_iterator(t: &str) -> bool {
    t == "Iterator" || ((t.starts_with("std::") || t.starts_with("core::")) && t.ends_with("::Iterator"))
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// A type as code names it: `fixture::Runs`, `[u8]`, `Vec<u8>`, `&mut T`.
fn quote_type(ty: &syn::Type) -> String {
    use quote::ToTokens;
    let spaced = ty.to_token_stream().to_string();
    let mut out = String::with_capacity(spaced.len());
    let mut words = spaced.split(' ').peekable();
    while let Some(w) = words.next() {
        out.push_str(w);
        // A space stays only between two words (`&mut T`, `dyn Fn`) and
        // after a comma.
        let next = words.peek().copied().unwrap_or("");
        let word = |s: &str| {
            s.chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '\'')
        };
        if !next.is_empty() && ((word(w.trim_start_matches('&')) && word(next)) || w.ends_with(',')) {
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{callable_symbols, is_operator_call, quote_type};

    #[test]
    fn operator_impls_are_told_by_their_trait() {
        assert!(is_operator_call("<&rust_decimal::Decimal as core::ops::Div<_>>::div"));
        assert!(is_operator_call("<fixture::Ring as std::ops::Index<_>>::index"));
        assert!(is_operator_call("<fixture::Count as std::ops::Div>::div"));
        assert!(!is_operator_call("<fixture::Tag as PartialEq<_>>::eq"));
        assert!(!is_operator_call("<u32 as fixture::ops::Div>::div"));
        assert!(!is_operator_call("fixture::ops::div"));
    }

    #[test]
    fn types_are_quoted_as_code_writes_them() {
        for ty in [
            "fixture::Runs",
            "[u8]",
            "Vec<u8>",
            "&mut T",
            "&'a str",
            "impl AsRef<str>",
            "(u8, u8)",
        ] {
            assert_eq!(quote_type(&syn::parse_str(ty).unwrap()), ty);
        }
    }

    #[test]
    fn symbols_drop_closures_and_walk_out_of_nested_items() {
        assert_eq!(
            callable_symbols("<f32 as num_traits::Num>::from_str_radix::slice_shift_char::{{closure}}"),
            [
                "<f32 as num_traits::Num>::from_str_radix::slice_shift_char",
                "<f32 as num_traits::Num>::from_str_radix"
            ]
        );
        assert_eq!(callable_symbols("a::b::f::<u8>::{{closure}}"), ["a::b::f", "a::b"]);
        assert!(callable_symbols("main").is_empty());
    }
}
