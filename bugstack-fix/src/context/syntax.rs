//! What the context builder reads out of a Rust syntax tree (`syn`): the
//! functions of a file with their line spans, the names a function uses, the
//! items and `use` declarations of a module, and which tests call a function.
//!
//! Line numbers come from `proc-macro2`'s span locations, so everything here
//! must run on the thread that parsed the file.

use std::collections::HashSet;

use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, Block, Expr, ImplItem, Item, Signature, Stmt, TraitItem, Type, UseTree};

/// 1-based first and last line of a syntax node (outer attributes and doc
/// comments included).
pub(crate) fn lines_of<T: Spanned>(node: &T) -> (u32, u32) {
    let span = node.span();
    (span.start().line as u32, span.end().line as u32)
}

/// A function (free, method, trait default method) found in a file.
pub(crate) struct FnInfo<'a> {
    /// Its name.
    pub(crate) ident: String,
    /// `Type::name` for methods, else `name`.
    pub(crate) qualified: String,
    /// First line (attributes included).
    pub(crate) start: u32,
    /// Last line.
    pub(crate) end: u32,
    /// Lines of the enclosing `impl`/`trait` header, up to its `{`.
    pub(crate) header: Option<(u32, u32)>,
    /// The `Self` type's name for methods.
    pub(crate) self_ty: Option<String>,
    /// Inline modules (`mod x { ... }`) of the file it is nested in.
    pub(crate) module: Vec<String>,
    /// Whether it carries a test attribute (`#[test]`, `#[tokio::test]`, ...).
    pub(crate) is_test: bool,
    /// Its signature.
    pub(crate) sig: &'a Signature,
    /// Its body (`None` for a trait method without a default).
    pub(crate) block: Option<&'a Block>,
}

/// The name of a type as written (`Cart` for `crate::cart::Cart<T>`).
pub(crate) fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        _ => None,
    }
}

/// Every function of `file`, in source order, including methods of `impl`
/// and `trait` blocks, functions of inline modules and items nested in
/// function bodies.
pub(crate) fn functions(file: &syn::File) -> Vec<FnInfo<'_>> {
    let mut out = Vec::new();
    walk_items(&file.items, &mut Vec::new(), &mut out);
    out
}

/// The function at `lines` with `sig` and `body` in `module`; a method's
/// `owner` is the `Self` type's name (the trait's, in a `trait` block) and
/// the lines of its block's header.
fn fn_info<'a>(
    lines: (u32, u32),
    sig: &'a Signature,
    body: Option<&'a Block>,
    is_test: bool,
    owner: Option<(Option<String>, (u32, u32))>,
    module: &[String],
) -> FnInfo<'a> {
    let ident = sig.ident.to_string();
    let (self_ty, header) = owner.map_or((None, None), |(t, h)| (t, Some(h)));
    FnInfo {
        qualified: match &self_ty {
            Some(t) => format!("{t}::{ident}"),
            None => ident.clone(),
        },
        ident,
        start: lines.0,
        end: lines.1,
        header,
        self_ty,
        module: module.to_vec(),
        is_test,
        sig,
        block: body,
    }
}

fn walk_items<'a>(items: &'a [Item], module: &mut Vec<String>, out: &mut Vec<FnInfo<'a>>) {
    for item in items {
        match item {
            Item::Fn(f) => {
                let body = Some(&*f.block);
                out.push(fn_info(
                    lines_of(f),
                    &f.sig,
                    body,
                    crate::rust_file::is_test_attr(&f.attrs),
                    None,
                    module,
                ));
                walk_block_items(&f.block, module, out);
            }
            Item::Impl(imp) => {
                let self_ty = type_name(&imp.self_ty);
                let header = (lines_of(imp).0, imp.brace_token.span.open().start().line as u32);
                for ii in &imp.items {
                    if let ImplItem::Fn(f) = ii {
                        let owner = Some((self_ty.clone(), header));
                        let is_test = crate::rust_file::is_test_attr(&f.attrs);
                        out.push(fn_info(lines_of(f), &f.sig, Some(&f.block), is_test, owner, module));
                        walk_block_items(&f.block, module, out);
                    }
                }
            }
            Item::Trait(tr) => {
                let name = tr.ident.to_string();
                let header = (lines_of(tr).0, tr.brace_token.span.open().start().line as u32);
                for ti in &tr.items {
                    if let TraitItem::Fn(f) = ti {
                        let owner = Some((Some(name.clone()), header));
                        out.push(fn_info(lines_of(f), &f.sig, f.default.as_ref(), false, owner, module));
                    }
                }
            }
            Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    module.push(m.ident.to_string());
                    walk_items(items, module, out);
                    module.pop();
                }
            }
            _ => {}
        }
    }
}

fn walk_block_items<'a>(block: &'a Block, module: &mut Vec<String>, out: &mut Vec<FnInfo<'a>>) {
    for stmt in &block.stmts {
        if let Stmt::Item(item) = stmt {
            walk_items(std::slice::from_ref(item), module, out);
        }
    }
}

/// The innermost function containing `line` (closures count as part of
/// the function they are written in).
pub(crate) fn enclosing_fn<'f, 'a>(fns: &'f [FnInfo<'a>], line: u32) -> Option<&'f FnInfo<'a>> {
    fns.iter()
        .filter(|f| f.start <= line && line <= f.end)
        .min_by_key(|f| f.end - f.start)
}

/// Paths and method names a function's signature and body mention, in
/// first-seen order.
#[derive(Default)]
pub(crate) struct Uses {
    /// Paths (`Cart`, `crate::tax::rate`, `Item::new`), as segments.
    pub(crate) paths: Vec<Vec<String>>,
    /// Method call names (`.total()` → `total`).
    pub(crate) methods: Vec<String>,
    seen_paths: HashSet<Vec<String>>,
    seen_methods: HashSet<String>,
}

impl Uses {
    /// Collects what `f` mentions.
    pub(crate) fn of(f: &FnInfo<'_>) -> Self {
        let mut uses = Uses::default();
        uses.visit_signature(f.sig);
        if let Some(b) = f.block {
            uses.visit_block(b);
        }
        uses
    }
}

/// Parses a macro's tokens as comma-separated expressions (`assert_eq!(a, b)`,
/// `vec![x, y]`, `format!("{}", x)`), when they are.
fn macro_exprs(mac: &syn::Macro) -> Vec<Expr> {
    mac.parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        .map(|p| p.into_iter().collect())
        .unwrap_or_default()
}

impl<'ast> Visit<'ast> for Uses {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if !segs.is_empty() && self.seen_paths.insert(segs.clone()) {
            self.paths.push(segs);
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let name = m.method.to_string();
        if self.seen_methods.insert(name.clone()) {
            self.methods.push(name);
        }
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        for e in macro_exprs(mac) {
            self.visit_expr(&e);
        }
    }

    fn visit_attribute(&mut self, _: &'ast Attribute) {}
}

/// Whether `block` calls (or names) a function or method called `name`,
/// macro arguments included.
pub(crate) fn calls_name(block: &Block, name: &str) -> bool {
    struct Finder<'n> {
        name: &'n str,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if p.path.segments.last().is_some_and(|s| s.ident == self.name) {
                self.found = true;
            }
            syn::visit::visit_expr_path(self, p);
        }
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            if m.method == self.name {
                self.found = true;
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            for e in macro_exprs(mac) {
                self.visit_expr(&e);
            }
        }
    }
    let mut f = Finder { name, found: false };
    f.visit_block(block);
    f.found
}

/// The items of the inline module at `inline` (empty: the file's top level).
pub(crate) fn module_items<'a>(file: &'a syn::File, inline: &[String]) -> Option<&'a [Item]> {
    let mut items: &[Item] = &file.items;
    for seg in inline {
        items = items.iter().find_map(|i| match i {
            Item::Mod(m) if m.ident == seg => m.content.as_ref().map(|(_, items)| items.as_slice()),
            _ => None,
        })?;
    }
    Some(items)
}

/// What an item found by name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefKind {
    /// `fn`.
    Fn,
    /// `struct`, `enum`, `union`, `type`, `trait`.
    Type,
    /// `const`, `static`.
    Const,
    /// `mod x;` (file module).
    FileMod,
    /// `mod x { ... }`.
    InlineMod,
}

/// An item of a module, by name.
pub(crate) struct Def<'a> {
    pub(crate) kind: DefKind,
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) item: &'a Item,
}

/// The value of a `#[path = "..."]` attribute.
pub(crate) fn path_attr(attrs: &[Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s), ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// The item called `name` among `items` (types and values share the lookup:
/// the first definition wins).
pub(crate) fn find_def<'a>(items: &'a [Item], name: &str) -> Option<Def<'a>> {
    items.iter().find_map(|item| {
        let (ident, kind) = match item {
            Item::Fn(f) => (&f.sig.ident, DefKind::Fn),
            Item::Struct(s) => (&s.ident, DefKind::Type),
            Item::Enum(e) => (&e.ident, DefKind::Type),
            Item::Union(u) => (&u.ident, DefKind::Type),
            Item::Type(t) => (&t.ident, DefKind::Type),
            Item::Trait(t) => (&t.ident, DefKind::Type),
            Item::Const(c) => (&c.ident, DefKind::Const),
            Item::Static(s) => (&s.ident, DefKind::Const),
            Item::Mod(m) if m.content.is_some() => (&m.ident, DefKind::InlineMod),
            Item::Mod(m) => (&m.ident, DefKind::FileMod),
            _ => return None,
        };
        if ident != name {
            return None;
        }
        let (start, end) = lines_of(item);
        Some(Def { kind, start, end, item })
    })
}

/// One name a `use` declaration brings into scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UseEntry {
    /// The name in scope (`*` for a glob import).
    pub(crate) alias: String,
    /// The full path as written (`crate::cart::Cart`; for a glob, the prefix).
    pub(crate) path: Vec<String>,
}

/// The names the `use` items among `items` bring into scope.
pub(crate) fn use_entries(items: &[Item]) -> Vec<UseEntry> {
    let mut out = Vec::new();
    for item in items {
        if let Item::Use(u) = item {
            flatten_use(&u.tree, &mut Vec::new(), &mut out);
        }
    }
    out
}

fn flatten_use(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<UseEntry>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    out.push(UseEntry {
                        alias: last.clone(),
                        path: prefix.clone(),
                    });
                }
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                out.push(UseEntry { alias: name, path });
            }
        }
        UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            out.push(UseEntry {
                alias: r.rename.to_string(),
                path,
            });
        }
        UseTree::Glob(_) => out.push(UseEntry {
            alias: "*".into(),
            path: prefix.clone(),
        }),
        UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix, out);
            }
        }
    }
}

/// Line ranges of the `use` items among `items`.
pub(crate) fn use_lines(items: &[Item]) -> Vec<(u32, u32)> {
    items
        .iter()
        .filter(|i| matches!(i, Item::Use(_)))
        .map(lines_of)
        .collect()
}

/// Lines `start..=end` (1-based) of `text`, line endings kept.
pub(crate) fn line_range(text: &str, start: u32, end: u32) -> String {
    let start = start.max(1);
    let from = start as usize - 1;
    let count = (end.max(start) - start + 1) as usize;
    text.split_inclusive('\n').skip(from).take(count).collect()
}

/// Number of lines in `text`.
pub(crate) fn line_count(text: &str) -> u32 {
    text.split_inclusive('\n').count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_trees_flatten_to_names_in_scope() {
        let file: syn::File =
            syn::parse_str("use a::{b::{self, C as D}, e::*};\nuse crate::f::G;\nuse h as i;\n").expect("parses");
        let got: Vec<(String, String)> = use_entries(&file.items)
            .into_iter()
            .map(|e| (e.alias, e.path.join("::")))
            .collect();
        let want = [
            ("b", "a::b"),
            ("D", "a::b::C"),
            ("*", "a::e"),
            ("G", "crate::f::G"),
            ("i", "h"),
        ];
        assert_eq!(
            got,
            want.iter()
                .map(|(a, p)| (a.to_string(), p.to_string()))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn innermost_function_covers_methods_trait_defaults_nested_fns_and_closures() {
        let src = "trait T {\n    fn d(&self) -> u32 {\n        1\n    }\n}\n\
                   fn outer() {\n    fn inner() {\n        let c = || 2;\n    }\n    inner();\n}\n";
        let file = syn::parse_file(src).expect("parses");
        let fns = functions(&file);
        let at = |line| enclosing_fn(&fns, line).map(|f| f.qualified.clone());
        assert_eq!(at(3).as_deref(), Some("T::d"));
        assert_eq!(at(8).as_deref(), Some("inner"));
        assert_eq!(at(10).as_deref(), Some("outer"));
        assert_eq!(at(5), None);
        let d = fns.iter().find(|f| f.ident == "d").expect("d");
        assert_eq!(d.header, Some((1, 1)));
    }

    #[test]
    fn calls_are_found_inside_macro_arguments() {
        let file = syn::parse_file("#[test]\nfn t() {\n    assert_eq!(total(&[1]), 1);\n}\n").expect("parses");
        let fns = functions(&file);
        assert!(fns[0].is_test);
        let block = fns[0].block.expect("body");
        assert!(calls_name(block, "total"));
        assert!(!calls_name(block, "other"));
        assert_eq!(line_range("a\nb\r\nc\n", 2, 3), "b\r\nc\n");
    }
}
