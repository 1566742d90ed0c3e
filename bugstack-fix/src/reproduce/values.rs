//! How the harness builds values of the crate's own types: a struct field
//! by field, an enum variant by variant, a value made in place by its
//! `new()` or `Default` or by a constructor from generated arguments, and a
//! type implementing one of the crate's traits (for a type parameter or an
//! `impl Trait` argument).

use std::collections::BTreeSet;

use quote::ToTokens as _;

use super::generics::pick;
use super::shape::{shape_of, EnumShape, Shape, Step, StructShape, Variant};
use super::target::{lifetime_arguments_only, lifetimes_only, Resolver};

/// Deepest nesting of struct fields the harness builds.
const MAX_DEPTH: usize = 4;
/// Most fields of a struct the harness builds (proptest tuples stop at 12).
const MAX_FIELDS: usize = 10;
/// Most variants of an enum the harness builds.
const MAX_VARIANTS: usize = 32;

impl Resolver<'_> {
    /// The shape of the crate's type `name`: a struct built field by field,
    /// an enum variant by variant, or else a value built in place by a
    /// constructor. `owner`: the type's public path, when known (a
    /// method's receiver), picks the type when several public types share
    /// its name (`regex_syntax::Parser` beside
    /// `regex_syntax::ast::parse::Parser`).
    pub(super) fn type_shape(&mut self, name: &str, owner: Option<&str>, depth: usize) -> Option<Shape> {
        if self.std_names.contains(&name) {
            return super::shape::std_value(name);
        }
        if let Some(s) = self.struct_shape(name, depth) {
            return Some(Shape::Struct(s));
        }
        if let Some(e) = self.enum_shape(name, depth) {
            return Some(Shape::Enum(e));
        }
        self.built_shape(name, owner, depth)
    }

    /// A value of the crate's public type `name` (lifetime parameters
    /// allowed) made by a public constructor taking arguments the harness
    /// generates ([`Resolver::constructed`]: `Regex::new(&str) ->
    /// Result<Regex>`, a fallible one unwrapped); else by `Name::new()` (a
    /// public inherent function without arguments returning `Self`) or
    /// `Name::default()` (derived or implemented); else by a method of
    /// another type ([`Resolver::produced`]). Of several public types named
    /// `name`, the one at `owner`, else the last one found.
    fn built_shape(&mut self, name: &str, owner: Option<&str>, depth: usize) -> Option<Shape> {
        let src_root = self.crate_dir();
        let mut defs = Vec::new();
        let mut makers = Makers::default();
        let mut producers: Vec<Producer> = Vec::new();
        let names_it = |ty: &syn::Type| matches!(ty, syn::Type::Path(tp) if tp.qself.is_none() && tp.path.segments.last().is_some_and(|l| l.ident == name && lifetime_arguments_only(&l.arguments)));
        // The other types of this name make no value of this one.
        let others = owner.map(|o| self.files_of_other_types(name, o)).unwrap_or_default();
        for (i, (path, file)) in self.all_files().iter().enumerate() {
            let other = others.contains(&i);
            for it in &file.items {
                match it {
                    syn::Item::Struct(s) if s.ident == name => {
                        makers.default |= !other && derives(&s.attrs, "Default");
                        if matches!(s.vis, syn::Visibility::Public(_)) && lifetimes_only(&s.generics) {
                            defs.push(path.strip_prefix(&src_root).ok()?.to_string_lossy().into_owned());
                        }
                    }
                    syn::Item::Impl(imp) if imp.trait_.is_none() && lifetimes_only(&imp.generics) => {
                        producers.extend(imp.items.iter().filter_map(|ii| producer(imp, ii, &names_it)));
                    }
                    _ => {}
                }
                match it {
                    syn::Item::Impl(imp) if !other && lifetimes_only(&imp.generics) && names_it(&imp.self_ty) => {
                        makers.add_impl(imp, &names_it, &[]);
                    }
                    _ => {}
                }
            }
        }
        let paths: Vec<String> = defs.into_iter().filter_map(|d| self.item_path(d, name)).collect();
        let path = owner
            .and_then(|want| paths.iter().find(|p| *p == want))
            .or(paths.last())?
            .clone();
        let empty = makers.empty();
        if depth < MAX_DEPTH {
            if let Some(made) = self.constructed(&path, makers.ctors, empty, depth) {
                return Some(made);
            }
            if !empty {
                let made = self.produced(path, producers, depth);
                if made.is_some() {
                    self.made_by_method.insert(name.to_string());
                }
                return made;
            }
        }
        let expr = format!("{path}::{}()", if makers.default { "default" } else { "new" });
        empty.then_some(Shape::Built { path, expr })
    }

    /// A value of the crate's generic type `name` with the type arguments
    /// `args` (`Slab<u8>`: the types picked for a callee's parameters, put
    /// into its `Self`): made by a constructor of an `impl<T> Name<T>`
    /// block, `T` given its argument ([`Resolver::constructed`]'s rules),
    /// else by `new()` or `Default`. Called with the arguments written
    /// (`slab::Slab::<u8>::new()`); a struct's parameters after `args`
    /// must have defaults (`S = RandomState`).
    pub(super) fn generic_shape(&mut self, name: &str, args: &[syn::Type], depth: usize) -> Option<Shape> {
        let src_root = self.crate_dir();
        let mut def = None;
        let mut makers = Makers::default();
        let names_it = |ty: &syn::Type| matches!(ty, syn::Type::Path(tp) if tp.qself.is_none() && tp.path.segments.last().is_some_and(|l| l.ident == name));
        for (path, file) in self.all_files() {
            for it in &file.items {
                match it {
                    syn::Item::Struct(s) if s.ident == name && matches!(s.vis, syn::Visibility::Public(_)) => {
                        let params: Vec<&syn::TypeParam> = s.generics.type_params().collect();
                        let fits = s.generics.const_params().next().is_none()
                            && params.len() >= args.len()
                            && params[args.len()..].iter().all(|p| p.default.is_some());
                        if fits {
                            makers.default |= derives(&s.attrs, "Default");
                            def = Some(path.strip_prefix(&src_root).ok()?.to_string_lossy().into_owned());
                        }
                    }
                    syn::Item::Impl(imp) if names_it(&imp.self_ty) => {
                        if let Some(bindings) = impl_bindings(imp, args) {
                            makers.add_impl(imp, &names_it, &bindings);
                        }
                    }
                    _ => {}
                }
            }
        }
        let path = self.item_path(def?, name)?;
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.to_token_stream().to_string().replace(' ', ""))
            .collect();
        let ty = format!("{path}<{}>", shown.join(", "));
        let called = format!("{path}::<{}>", shown.join(", "));
        let empty = makers.empty();
        if depth < MAX_DEPTH {
            if let Some(Shape::Constructed {
                ctor, args, fallible, ..
            }) = self.constructed(&called, makers.ctors, empty, depth)
            {
                return Some(Shape::Constructed {
                    path: ty,
                    ctor,
                    args,
                    fallible,
                });
            }
        }
        empty.then(|| Shape::Built {
            expr: format!("{called}::{}()", if makers.default { "default" } else { "new" }),
            path: ty,
        })
    }

    /// A value made by one of the type's own constructors (`ctors`: name,
    /// argument types, fallible) from generated arguments: `new` first,
    /// then the one with fewest arguments. When the type also has an empty
    /// value (`new()` / `Default`, `empty`), only a constructor that takes
    /// content and cannot fail is taken (`Rope::from_str(&str)`, not
    /// `with_capacity(usize)`): its arguments' boundary values make the
    /// empty value too, and every other one a value with something in it,
    /// where a receiver built empty reaches little of its type's code.
    fn constructed(&mut self, path: &str, mut ctors: Vec<Ctor>, empty: bool, depth: usize) -> Option<Shape> {
        if empty {
            ctors.retain(|(n, _, fallible)| !fallible && !n.starts_with("with_capacity"));
        }
        ctors.sort_by_key(|(n, args, _)| (n != "new", args.len()));
        ctors.into_iter().find_map(|(ctor, args, fallible)| {
            let args: Vec<Shape> = args
                .into_iter()
                .map(|t| self.argument_shape(t, depth + 1))
                .collect::<Option<_>>()?;
            Some(Shape::Constructed {
                ctor: if ctor == FROM_ITERATOR {
                    "std::iter::FromIterator::from_iter".into()
                } else {
                    format!("{path}::{ctor}")
                },
                path: path.to_string(),
                args,
                fallible,
            })
        })
    }

    /// A value made by a method of another type (`Rope::lines(&self) ->
    /// Lines<'_>`), called on a value the harness builds: the simplest
    /// first, one that cannot fail, on an owner made by its own
    /// constructor (`Rope::from_str`, not a `RopeSlice` itself made by
    /// `Rope::slice`), with fewest arguments.
    fn produced(&mut self, path: String, producers: Vec<Producer>, depth: usize) -> Option<Shape> {
        let mut viable = Vec::new();
        for p in producers {
            let Some(owner) = self.shape(&p.owner, depth + 1) else {
                continue;
            };
            let rest: Option<Vec<Shape>> = p
                .args
                .iter()
                .map(|t| self.argument_shape(t.clone(), depth + 1))
                .collect();
            let Some(rest) = rest else { continue };
            let owner_name = match &p.owner {
                syn::Type::Path(tp) => tp.path.segments.last().map(|l| l.ident.to_string()),
                _ => None,
            };
            let by_method = owner_name.is_some_and(|n| self.made_by_method.contains(&n));
            let cost = (p.fallible, by_method, rest.len());
            viable.push((cost, p, owner, rest));
        }
        viable.sort_by_key(|(cost, ..)| *cost);
        let (_, p, owner, rest) = viable.into_iter().next()?;
        let ctor = format!("{}::{}", owner.type_code(), p.method);
        let receiver = Shape::Ref {
            inner: Box::new(owner),
            mutable: p.mutable,
        };
        Some(Shape::Constructed {
            ctor,
            path,
            args: std::iter::once(receiver).chain(rest).collect(),
            fallible: p.fallible,
        })
    }

    /// The indices (in [`Resolver::all_files`]) of the files that define a
    /// type named `name` other than the one at the public path `owner`
    /// (type arguments left out). An impl block beside a type's definition
    /// is that type's: `regex_syntax::ast::parse::Parser`'s methods are not
    /// `regex_syntax::Parser`'s. Empty when one file defines the name.
    fn files_of_other_types(&mut self, name: &str, owner: &str) -> BTreeSet<usize> {
        let want = owner.split("::<").next().unwrap_or(owner);
        let src_root = self.crate_dir();
        let defines = |f: &syn::File| {
            f.items.iter().any(|it| match it {
                syn::Item::Struct(s) => s.ident == name,
                syn::Item::Enum(e) => e.ident == name,
                _ => false,
            })
        };
        let defining: Vec<(usize, String)> = self
            .all_files()
            .iter()
            .enumerate()
            .filter(|(_, (_, f))| defines(f))
            .filter_map(|(i, (p, _))| Some((i, p.strip_prefix(&src_root).ok()?.to_string_lossy().into_owned())))
            .collect();
        if defining.len() < 2 {
            return BTreeSet::new();
        }
        defining
            .into_iter()
            .filter_map(|(i, rel)| (self.item_path(rel, name).as_deref() != Some(want)).then_some(i))
            .collect()
    }

    /// `base`, a value of the crate's type `ty` built where it is passed,
    /// with the steps that may change it before the call: its inherent
    /// `&mut self` methods, called on `owner` (the type's path as the
    /// callee's is written, `hashlink::LinkedHashMap::<u8, u8>`). A value
    /// built by `new()` or a constructor reaches only the states those make;
    /// a bug behind a sequence of calls (insert four, pop one, shrink) needs
    /// the calls. `base` as it is when no method qualifies.
    pub(super) fn prepared(&mut self, base: Shape, ty: &syn::Type, owner: &str) -> Shape {
        if !matches!(base, Shape::Built { .. } | Shape::Constructed { .. }) {
            return base;
        }
        let syn::Type::Path(tp) = ty else { return base };
        let Some(last) = tp.path.segments.last() else {
            return base;
        };
        let name = last.ident.to_string();
        let Some(args) = super::shape::type_arguments(&last.arguments) else {
            return base;
        };
        let names_it = |t: &syn::Type| matches!(t, syn::Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|l| l.ident == name));
        // (method, argument types) of every candidate, shaped after the scan.
        let mut methods: Vec<(String, Vec<syn::Type>)> = Vec::new();
        let others = self.files_of_other_types(&name, owner);
        for (_, (_, file)) in self.all_files().iter().enumerate().filter(|(i, _)| !others.contains(i)) {
            for it in &file.items {
                let syn::Item::Impl(imp) = it else { continue };
                if imp.trait_.is_some() || !names_it(&imp.self_ty) || test_only(&imp.attrs) {
                    continue;
                }
                let bindings = if args.is_empty() {
                    if !lifetimes_only(&imp.generics) {
                        continue;
                    }
                    Vec::new()
                } else {
                    match impl_bindings(imp, &args) {
                        Some(b) => b,
                        None => continue,
                    }
                };
                methods.extend(imp.items.iter().filter_map(|ii| step_inputs(ii, &bindings, ty)));
            }
        }
        // Fewest arguments first; a method named twice (two impl blocks
        // under different bounds) once.
        methods.sort_by_key(|(_, inputs)| inputs.len());
        let mut seen = std::collections::BTreeSet::new();
        methods.retain(|(m, _)| seen.insert(m.clone()));
        let mut steps = Vec::new();
        for (method, inputs) in methods {
            if steps.len() == super::shape::MAX_STEPS {
                break;
            }
            let shaped: Option<Vec<Shape>> = inputs.into_iter().map(|t| self.argument_shape(t, 1)).collect();
            if let Some(args) = shaped {
                steps.push(Step {
                    path: format!("{owner}::{method}"),
                    args,
                });
            }
        }
        if steps.is_empty() {
            return base;
        }
        Shape::Prepared {
            base: Box::new(base),
            steps,
        }
    }

    /// The shape of a type as a signature writes it, the crate's own types
    /// included.
    pub(super) fn shape(&mut self, ty: &syn::Type, depth: usize) -> Option<Shape> {
        shape_of(ty, &mut |n, args| {
            if args.is_empty() {
                self.type_shape(n, None, depth)
            } else {
                self.generic_shape(n, args, depth)
            }
        })
    }

    /// The shape of a constructor's argument, an `impl Trait` one given
    /// the type its bounds pick.
    fn argument_shape(&mut self, ty: syn::Type, depth: usize) -> Option<Shape> {
        let ty = self.impl_trait_argument(ty).ok()?;
        self.shape(&ty, depth)
    }

    /// A type of the crate implementing its trait `name` (outside macros,
    /// without type parameters) whose values the harness builds: generated
    /// values first (`&[u8]`, a struct), then constructed ones.
    pub(super) fn implementor(&mut self, name: &str) -> Option<(syn::Type, Shape)> {
        let mut types: Vec<syn::Type> = Vec::new();
        for (_, file) in self.all_files() {
            for it in &file.items {
                if let syn::Item::Impl(imp) = it {
                    let is_it =
                        matches!(&imp.trait_, Some((None, p, _)) if p.segments.last().is_some_and(|l| l.ident == name));
                    if is_it && lifetimes_only(&imp.generics) {
                        types.push((*imp.self_ty).clone());
                    }
                }
            }
        }
        let mut built = None;
        for ty in types {
            match self.shape(&ty, 0) {
                Some(shape @ Shape::Built { .. }) => built = built.or(Some((ty, shape))),
                Some(shape) => return Some((ty, shape)),
                None => {}
            }
        }
        built
    }

    /// A type of the crate implementing its trait `name`, by its public
    /// path: a type parameter bounded by that trait.
    pub(super) fn implementing_type(&mut self, name: &str) -> Option<syn::Type> {
        let (_, shape) = self.implementor(name)?;
        syn::parse_str(&shape.type_code()).ok()
    }

    /// An `impl Trait` argument (or a reference to one) as the type its
    /// bounds suggest.
    pub(super) fn impl_trait_argument(&mut self, ty: syn::Type) -> Result<syn::Type, String> {
        let mut crate_type = |n: &str| self.implementing_type(n);
        match ty {
            syn::Type::ImplTrait(it) => {
                let bounds: Vec<syn::TypeParamBound> = it.bounds.into_iter().collect();
                pick(&bounds, &mut crate_type).map_err(|e| format!("an `impl Trait` argument: {e}"))
            }
            syn::Type::Reference(mut r) => {
                if let syn::Type::ImplTrait(it) = &*r.elem {
                    let bounds: Vec<syn::TypeParamBound> = it.bounds.iter().cloned().collect();
                    *r.elem = pick(&bounds, &mut crate_type).map_err(|e| format!("an `impl Trait` argument: {e}"))?;
                }
                Ok(syn::Type::Reference(r))
            }
            other => Ok(other),
        }
    }

    /// The shape of a field of type `ty` (of a struct or variant at
    /// `depth`): an owned value, never a borrowed one, and no generic type
    /// of the crate (its arguments are not picked here).
    fn field_shape(&mut self, ty: &syn::Type, depth: usize) -> Option<Shape> {
        let shape = shape_of(ty, &mut |n, args| {
            if args.is_empty() {
                self.field_type_shape(n, depth + 1)
            } else {
                None
            }
        })?;
        (!matches!(shape, Shape::Ref { .. } | Shape::Str | Shape::Slice(_))).then_some(shape)
    }

    /// The shape of the crate's type `name` as a field: a struct or an
    /// enum the harness generates (a constructor call is no field value).
    fn field_type_shape(&mut self, name: &str, depth: usize) -> Option<Shape> {
        if let Some(s) = self.struct_shape(name, depth) {
            return Some(Shape::Struct(s));
        }
        self.enum_shape(name, depth).map(Shape::Enum)
    }

    /// The shape of the crate's enum `name`: public, non-generic, `Debug`,
    /// exhaustive, every variant's fields of a shape the harness generates
    /// (owned).
    fn enum_shape(&mut self, name: &str, depth: usize) -> Option<EnumShape> {
        if depth > MAX_DEPTH {
            return None;
        }
        let src_root = self.crate_dir();
        let (rel, e) = self.all_files().iter().find_map(|(path, file)| {
            file.items.iter().find_map(|it| match it {
                syn::Item::Enum(e) if e.ident == name => {
                    let rel = path.strip_prefix(&src_root).ok()?.to_string_lossy().into_owned();
                    Some((rel, e.clone()))
                }
                _ => None,
            })
        })?;
        let non_exhaustive = e.attrs.iter().any(|a| a.path().is_ident("non_exhaustive"));
        if !matches!(e.vis, syn::Visibility::Public(_))
            || !e.generics.params.is_empty()
            || !derives(&e.attrs, "Debug")
            || non_exhaustive
            || e.variants.is_empty()
            || e.variants.len() > MAX_VARIANTS
        {
            return None;
        }
        let mut variants = Vec::new();
        for v in &e.variants {
            if v.fields.len() > MAX_FIELDS {
                return None;
            }
            let mut fields = Vec::new();
            for (i, f) in v.fields.iter().enumerate() {
                let shape = self.field_shape(&f.ty, depth)?;
                let field = f.ident.as_ref().map_or_else(|| i.to_string(), ToString::to_string);
                fields.push((field, shape));
            }
            variants.push(Variant {
                name: v.ident.to_string(),
                named: matches!(v.fields, syn::Fields::Named(_)),
                fields,
            });
        }
        let path = self.item_path(rel, name)?;
        Some(EnumShape { path, variants })
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
        let non_exhaustive = s.attrs.iter().any(|a| a.path().is_ident("non_exhaustive"));
        if !matches!(s.vis, syn::Visibility::Public(_))
            || !s.generics.params.is_empty()
            || !derives(&s.attrs, "Debug")
            || non_exhaustive
        {
            return None;
        }
        let default = derives(&s.attrs, "Default");
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
            let shape = self.field_shape(&f.ty, depth)?;
            fields.push((ident, shape));
        }
        let path = self.item_path(rel, name)?;
        Some(StructShape { path, fields, default })
    }
}

/// Whether a constructor's return type `ty` makes the type `names_it`
/// recognises: `Some(false)` for `Self` or the type, `Some(true)` for a
/// `Result` or `Option` of it (unwrapped by the harness).
/// A public method of another type's inherent impl that returns a value of
/// the type looked for, from `&self` or `&mut self` and arguments.
struct Producer {
    /// The type whose method it is.
    owner: syn::Type,
    method: String,
    /// `&mut self`.
    mutable: bool,
    /// The arguments after the receiver.
    args: Vec<syn::Type>,
    /// It returns a `Result` or `Option` of the type (unwrapped).
    fallible: bool,
}

/// `ii` as a [`Producer`] of the type `names_it` recognises.
fn producer(imp: &syn::ItemImpl, ii: &syn::ImplItem, names_it: &dyn Fn(&syn::Type) -> bool) -> Option<Producer> {
    let syn::ImplItem::Fn(f) = ii else { return None };
    if names_it(&imp.self_ty) || !plainly_callable(f) {
        return None;
    }
    let syn::ReturnType::Type(_, out) = &f.sig.output else {
        return None;
    };
    // `Self` (or a `Result`/`Option` of it) here is the owner, not the
    // type looked for.
    if constructs(out, &|_| false).is_some() {
        return None;
    }
    let fallible = constructs(out, names_it)?;
    let Some(syn::FnArg::Receiver(r)) = f.sig.inputs.first() else {
        return None;
    };
    r.reference.as_ref()?;
    Some(Producer {
        owner: (*imp.self_ty).clone(),
        method: f.sig.ident.to_string(),
        mutable: r.mutability.is_some(),
        args: concrete_inputs(&f.sig, 1)?,
        fallible,
    })
}

/// A method that can change a value of its type, as a step of a prepared
/// value ([`Resolver::prepared`]): public, `&mut self`, its arguments
/// written with the impl's `bindings` (and `Self` = `ty`), handing nothing
/// borrowed back (`iter_mut`, `entry` look, they do not change). A type
/// parameter of its own is taken only when a bound names its type
/// (`K: Borrow<Q>`: `Q` is `K`, the key a map's `remove(&Q)` takes);
/// any other is left out, not guessed (a step that does not build costs
/// the whole search its harness).
fn step_inputs(
    ii: &syn::ImplItem,
    bindings: &[super::generics::Binding],
    ty: &syn::Type,
) -> Option<(String, Vec<syn::Type>)> {
    let syn::ImplItem::Fn(f) = ii else { return None };
    let mutable_self = matches!(f.sig.inputs.first(), Some(syn::FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_some() && r.colon_token.is_none());
    if !plainly_callable(f) || !mutable_self || test_only(&f.attrs) || f.sig.generics.const_params().next().is_some() {
        return None;
    }
    if let syn::ReturnType::Type(_, out) = &f.sig.output {
        let out = out.to_token_stream().to_string();
        if out.contains('&') || out.contains('\'') {
            return None;
        }
    }
    let mut with: Vec<super::generics::Binding> = bindings.to_vec();
    with.push(("Self".into(), ty.clone()));
    for p in f.sig.generics.type_params() {
        let borrowed = f
            .sig
            .generics
            .where_clause
            .iter()
            .flat_map(|w| &w.predicates)
            .find_map(|pred| {
                let syn::WherePredicate::Type(t) = pred else {
                    return None;
                };
                t.bounds
                    .iter()
                    .any(|b| matches!(b, syn::TypeParamBound::Trait(tb) if borrows(&tb.path, &p.ident)))
                    .then(|| t.bounded_ty.clone())
            })?;
        with.push((p.ident.to_string(), super::generics::substitute(&borrowed, bindings)?));
    }
    Some((f.sig.ident.to_string(), written_inputs(&f.sig, 1, &with)?))
}

/// Whether `attrs` hold `#[cfg(test)]` (or another `cfg` naming `test`):
/// code the crate's users do not get.
fn test_only(attrs: &[syn::Attribute]) -> bool {
    crate::rust_file::has_attr_word(attrs, "cfg", "test")
}

/// Whether `bound` is `Borrow<P>`.
fn borrows(bound: &syn::Path, p: &syn::Ident) -> bool {
    bound.segments.last().is_some_and(|l| {
        l.ident == "Borrow"
            && super::shape::type_arguments(&l.arguments).is_some_and(
                |a| matches!(a.as_slice(), [syn::Type::Path(tp)] if tp.qself.is_none() && tp.path.is_ident(p)),
            )
    })
}

/// A constructor from arguments: its name, its argument types, and whether
/// it returns a `Result` or `Option` of the type.
type Ctor = (String, Vec<syn::Type>, bool);

/// The ways a type's impl blocks offer to make one of its values.
#[derive(Default)]
struct Makers {
    /// `Default`, derived or implemented.
    default: bool,
    /// A `new()` without arguments returning the type.
    new: bool,
    /// Constructors from arguments, a `FromIterator` impl among them.
    ctors: Vec<Ctor>,
}

impl Makers {
    /// What `imp`, an impl block of the type `names_it` recognises, offers;
    /// its parameters are given the types of `bindings` (none for a type
    /// without type parameters).
    fn add_impl(
        &mut self,
        imp: &syn::ItemImpl,
        names_it: &dyn Fn(&syn::Type) -> bool,
        bindings: &[super::generics::Binding],
    ) {
        match &imp.trait_ {
            Some((None, t, _)) => {
                self.default |= t.segments.last().is_some_and(|l| l.ident == "Default");
                self.ctors.extend(from_iterator(t, bindings));
            }
            Some(_) => {}
            None => {
                for ii in &imp.items {
                    let syn::ImplItem::Fn(f) = ii else { continue };
                    let returns = match &f.sig.output {
                        syn::ReturnType::Type(_, t) => constructs(t, names_it),
                        syn::ReturnType::Default => None,
                    };
                    let Some(fallible) = returns.filter(|_| plainly_callable(f)) else {
                        continue;
                    };
                    if f.sig.inputs.is_empty() {
                        // `new()` returning the type itself.
                        self.new |= f.sig.ident == "new" && f.sig.generics.params.is_empty() && !fallible;
                    } else if let Some(args) = concrete_inputs(&f.sig, 0) {
                        let args: Option<Vec<syn::Type>> =
                            args.iter().map(|t| super::generics::substitute(t, bindings)).collect();
                        self.ctors
                            .extend(args.map(|args| (f.sig.ident.to_string(), args, fallible)));
                    }
                }
            }
        }
    }

    /// Whether the type has an empty value (`new()` or `Default`).
    fn empty(&self) -> bool {
        self.default || self.new
    }
}

/// The name [`from_iterator`] gives a type's `FromIterator` impl among its
/// constructors (no function's name: it is called as
/// `std::iter::FromIterator::from_iter(vec![..])`, the type inferred where
/// the value is passed).
const FROM_ITERATOR: &str = "<FromIterator>";

/// A constructor from a `Vec` of items for the trait `t` when it is
/// `FromIterator<X>` (`Slab<T>: FromIterator<(usize, T)>`): a container
/// with items in it, where `new()` makes an empty one. `bindings` give the
/// impl's parameters their types.
fn from_iterator(t: &syn::Path, bindings: &[super::generics::Binding]) -> Option<Ctor> {
    let last = t.segments.last().filter(|l| l.ident == "FromIterator")?;
    let [item] = &super::shape::type_arguments(&last.arguments)?[..] else {
        return None;
    };
    let item = super::generics::substitute(item, bindings)?;
    let items = syn::parse_str(&format!("Vec<{}>", item.to_token_stream())).ok()?;
    Some((FROM_ITERATOR.to_string(), vec![items], false))
}

/// The impl's type parameters bound to `args` by where its `Self` names
/// them (`impl<T> Slab<T>` with `[u8]`: `T = u8`); `None` when its `Self`
/// is written with anything but its own parameters, one each (`impl
/// Slab<u8>`, `impl<T> Slab<Vec<T>>`), or with fewer than `args`.
fn impl_bindings(imp: &syn::ItemImpl, args: &[syn::Type]) -> Option<Vec<super::generics::Binding>> {
    let syn::Type::Path(tp) = &*imp.self_ty else {
        return None;
    };
    let written = super::shape::type_arguments(&tp.path.segments.last()?.arguments)?;
    if imp.generics.const_params().next().is_some() || written.len() < args.len() {
        return None;
    }
    let params: Vec<String> = imp.generics.type_params().map(|p| p.ident.to_string()).collect();
    let mut out = Vec::new();
    for (w, a) in written.iter().zip(args) {
        let syn::Type::Path(wp) = w else { return None };
        let ident = wp.path.get_ident()?.to_string();
        if !params.contains(&ident) || out.iter().any(|(n, _): &super::generics::Binding| *n == ident) {
            return None;
        }
        out.push((ident, a.clone()));
    }
    // A parameter written after them keeps the type's default (`Map<u8>`
    // is `Map<u8, DefaultHasher>`): named by a type no crate has, so a
    // function taking it is left out, while one that does not (`insert(K,
    // V)` of `impl<K, V, S> Map<K, V, S>`) is kept.
    for w in &written[args.len()..] {
        let syn::Type::Path(wp) = w else { return None };
        let ident = wp.path.get_ident()?.to_string();
        if !params.contains(&ident) || out.iter().any(|(n, _): &super::generics::Binding| *n == ident) {
            return None;
        }
        out.push((ident, syn::parse_quote!(BugstackTypeDefault)));
    }
    // Every parameter of the impl is bound (one the type's arguments do
    // not reach, `impl<T, S> Map<T> where T: Into<S>`, is not guessed).
    (out.len() == params.len()).then_some(out)
}

/// The types of `sig`'s arguments after the first `skip` (a receiver),
/// each a type the harness can name: a type parameter is given the type
/// its bounds pick (`R: RangeBounds<usize>` → `Range<usize>`, `S:
/// Into<String>` → `String`; see [`pick`]); an `impl Trait` argument stays
/// for [`Resolver::impl_trait_argument`]. `None`: a receiver after `skip`,
/// or a parameter no type is picked for (one bounded by the crate's own
/// trait among them: the caller resolves those for a callee, not here).
fn concrete_inputs(sig: &syn::Signature, skip: usize) -> Option<Vec<syn::Type>> {
    let bindings = super::generics::instantiate(&[&sig.generics], &mut |_| None).ok()?;
    // A parameter no argument names (`fn parse<T>() -> T`) is not inferred
    // at the call: such a function is left out, not guessed.
    fn names(ts: proc_macro2::TokenStream, p: &str) -> bool {
        ts.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == p,
            proc_macro2::TokenTree::Group(g) => names(g.stream(), p),
            _ => false,
        })
    }
    let named = |p: &str| sig.inputs.iter().any(|a| names(a.to_token_stream(), p));
    if !bindings.iter().all(|(p, _)| named(p)) {
        return None;
    }
    written_inputs(sig, skip, &bindings)
}

/// The types of `sig`'s arguments after the first `skip`, written with
/// `bindings`; `None` for a receiver after `skip`, or an argument taking a
/// `'static` reference (`Bytes::from_static(&'static [u8])`: a generated
/// value never lives that long, so the call would not build).
fn written_inputs(sig: &syn::Signature, skip: usize, bindings: &[super::generics::Binding]) -> Option<Vec<syn::Type>> {
    sig.inputs
        .iter()
        .skip(skip)
        .map(|a| match a {
            syn::FnArg::Typed(t) if !t.ty.to_token_stream().to_string().contains("'static") => {
                super::generics::substitute(&t.ty, bindings)
            }
            _ => None,
        })
        .collect()
}

fn constructs(ty: &syn::Type, names_it: &dyn Fn(&syn::Type) -> bool) -> Option<bool> {
    let syn::Type::Path(tp) = ty else { return None };
    if tp.path.is_ident("Self") || names_it(ty) {
        return Some(false);
    }
    let last = tp.path.segments.last()?;
    if last.ident != "Result" && last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(a) = &last.arguments else {
        return None;
    };
    match a.args.first()? {
        syn::GenericArgument::Type(t) if constructs(t, names_it) == Some(false) => Some(true),
        _ => None,
    }
}

/// A public API function a harness can call plainly: not hidden
/// ([`public_api`]), neither async nor unsafe (type parameters are given
/// types by [`concrete_inputs`]).
fn plainly_callable(f: &syn::ImplItemFn) -> bool {
    public_api(&f.vis, &f.attrs) && f.sig.asyncness.is_none() && f.sig.unsafety.is_none()
}

/// Public and documented: `#[doc(hidden)]` marks an item "not part of the
/// public API" (ropey's `Lines::from_str_pt`, exposed for its own property
/// tests), which a maintainer's regression test would not call.
fn public_api(vis: &syn::Visibility, attrs: &[syn::Attribute]) -> bool {
    matches!(vis, syn::Visibility::Public(_)) && !crate::rust_file::has_attr_word(attrs, "doc", "hidden")
}

/// Whether `attrs` derive `what` (`Debug`, `Default`).
fn derives(attrs: &[syn::Attribute], what: &str) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("derive") && {
            let mut hit = false;
            let _ = a.parse_nested_meta(|m| {
                hit |= m.path.segments.last().is_some_and(|l| l.ident == what);
                Ok(())
            });
            hit
        }
    })
}
