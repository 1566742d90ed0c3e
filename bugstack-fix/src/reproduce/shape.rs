//! Argument shapes: the types a generated harness knows how to produce,
//! read from a function's signature with `syn`, and the Rust code of the
//! proptest strategy and of the literal renderer for each.
//!
//! Everything spliced into generated code here comes from the repository's
//! own source (type and field names parsed by `syn`) or from bugstack's own
//! tables; literals are always written with `{:?}`.

use std::fmt::Write as _;

/// What an argument is, as far as the harness is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A primitive integer (`u8` … `i128`, `usize`, `isize`).
    Int(&'static str),
    /// `f32` / `f64`.
    Float(&'static str),
    /// `bool`.
    Bool,
    /// `char`.
    Char,
    /// `&str`.
    Str,
    /// `String`.
    String,
    /// `&[T]`.
    Slice(Box<Shape>),
    /// `Vec<T>`.
    Vec(Box<Shape>),
    /// `Option<T>` of an owned `T`.
    Option(Box<Shape>),
    /// `Range<T>` of an integer `T` (`0..len`).
    Range(&'static str),
    /// `(A, B, …)` of owned elements, up to [`MAX_TUPLE`] of them.
    Tuple(Vec<Shape>),
    /// `[T; N]` of an owned `T`, `N` up to [`MAX_ARRAY`].
    Array(Box<Shape>, usize),
    /// A `HashMap`, `BTreeMap`, `HashSet` or `BTreeSet` of keys that are
    /// integers, `bool`, `char` or `String` (and of owned values, for a
    /// map), as `std::collections` names it.
    Collection {
        /// Which one.
        kind: CollectionKind,
        /// The keys (a set's elements).
        key: Box<Shape>,
        /// The values, for a map.
        value: Option<Box<Shape>>,
    },
    /// `&T` / `&mut T` of an owned `T`.
    Ref {
        /// The referenced shape.
        inner: Box<Shape>,
        /// `&mut`.
        mutable: bool,
    },
    /// A public struct with public named fields (and `Debug`).
    Struct(StructShape),
    /// A public enum (and `Debug`) whose every variant's fields the
    /// harness generates.
    Enum(EnumShape),
    /// A value of a public `Debug` type built by its zero-argument
    /// constructor (`T::new()` or `T::default()`): a type whose fields are
    /// private, a method's receiver most often.
    Built {
        /// The type's public path (`gimli::read::Abbreviations`).
        path: String,
        /// The constructor call (`gimli::read::Abbreviations::default()`).
        expr: String,
    },
    /// A value of a public type built by a constructor taking arguments the
    /// harness generates (`fancy_regex::Regex::new(&str)`): the arguments
    /// are generated, the value is built where it is passed.
    Constructed {
        /// The type's public path.
        path: String,
        /// The constructor's path (`fancy_regex::Regex::new`).
        ctor: String,
        /// Its arguments.
        args: Vec<Shape>,
        /// It returns a `Result` or `Option`, unwrapped (a constructor
        /// that fails is a panic elsewhere, not a reproduction).
        fallible: bool,
    },
    /// A value built by `base` (a [`Shape::Built`] or
    /// [`Shape::Constructed`]) then changed by calls of its type's own
    /// `&mut self` methods (`map.pop_front()`, `map.insert(1, 2)`) before it
    /// is passed: a state its constructors alone do not reach (a map with a
    /// hole where an entry was). The generated value is the base's and a
    /// list of steps, each one of `steps` with its arguments.
    Prepared {
        /// How the value is first built.
        base: Box<Shape>,
        /// The methods a step may call.
        steps: Vec<Step>,
    },
    /// Code bugstack writes itself and passes as written, never generated
    /// (the bound of the `take` that drives an iterator).
    Literal {
        /// The expression (`1000`).
        code: &'static str,
        /// Its type (`usize`).
        ty: &'static str,
    },
}

/// The `std::collections` a [`Shape::Collection`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CollectionKind {
    /// `HashMap<K, V>`.
    HashMap,
    /// `BTreeMap<K, V>`.
    BTreeMap,
    /// `HashSet<T>`.
    HashSet,
    /// `BTreeSet<T>`.
    BTreeSet,
}

impl CollectionKind {
    /// By the type's name.
    fn named(name: &str) -> Option<CollectionKind> {
        Some(match name {
            "HashMap" => CollectionKind::HashMap,
            "BTreeMap" => CollectionKind::BTreeMap,
            "HashSet" => CollectionKind::HashSet,
            "BTreeSet" => CollectionKind::BTreeSet,
            _ => return None,
        })
    }

    /// `std::collections::HashMap`, …
    fn path(self) -> &'static str {
        match self {
            CollectionKind::HashMap => "std::collections::HashMap",
            CollectionKind::BTreeMap => "std::collections::BTreeMap",
            CollectionKind::HashSet => "std::collections::HashSet",
            CollectionKind::BTreeSet => "std::collections::BTreeSet",
        }
    }

    /// proptest's strategy function for it (`proptest::collection::hash_map`).
    fn strategy_fn(self) -> &'static str {
        match self {
            CollectionKind::HashMap => "proptest::collection::hash_map",
            CollectionKind::BTreeMap => "proptest::collection::btree_map",
            CollectionKind::HashSet => "proptest::collection::hash_set",
            CollectionKind::BTreeSet => "proptest::collection::btree_set",
        }
    }
}

/// One `&mut self` method of a type a [`Shape::Prepared`] value may be
/// changed by, called as a function with the value first
/// (`hashlink::LinkedHashMap::<u8, u8>::insert(&mut value, 1, 2)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// The method's path, its type's arguments written
    /// (`hashlink::LinkedHashMap::<u8, u8>::insert`).
    pub path: String,
    /// Its arguments after the receiver.
    pub args: Vec<Shape>,
}

impl Step {
    /// The owned type of its arguments (`(u8, u8,)`, `()` for none).
    fn args_type(&self) -> String {
        if self.args.is_empty() {
            return "()".into();
        }
        tuple(self.args.iter().map(Shape::owned_type))
    }
}

/// Most methods a [`Shape::Prepared`] value's steps choose among
/// (proptest's tuples go to 12).
pub(crate) const MAX_STEPS: usize = 12;

/// Most steps one generated case takes.
const MAX_STEPS_PER_CASE: usize = 4;

/// A struct the harness builds field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StructShape {
    /// Its public path from the harness (`shop::cart::Cart`).
    pub path: String,
    /// Its fields, in order.
    pub fields: Vec<(String, Shape)>,
    /// It derives `Default` (its default value is a seed).
    pub default: bool,
}

/// An enum the harness builds variant by variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnumShape {
    /// Its public path from the harness (`similar::DiffOp`).
    pub path: String,
    /// Its variants, in order.
    pub variants: Vec<Variant>,
}

/// One variant of an [`EnumShape`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variant {
    /// The variant's name.
    pub name: String,
    /// Named fields (`V { a, b }`), else positional (`V(a, b)`) or none.
    pub named: bool,
    /// Its fields: names (positions for a tuple variant) and shapes.
    pub fields: Vec<(String, Shape)>,
}

impl Variant {
    /// `path::V { a: <a>, b: <b> }`, `path::V(<0>, <1>)` or `path::V`, each
    /// field written by `field(index, name)`.
    fn construct(&self, path: &str, field: impl Fn(usize, &str) -> String) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, (n, _))| {
                if self.named {
                    format!("{n}: {}", field(i, n))
                } else {
                    field(i, n)
                }
            })
            .collect();
        match (self.fields.is_empty(), self.named) {
            (true, _) => format!("{path}::{}", self.name),
            (false, true) => format!("{path}::{} {{ {} }}", self.name, parts.join(", ")),
            (false, false) => format!("{path}::{}({})", self.name, parts.join(", ")),
        }
    }
}

/// Most elements of a tuple the harness generates (proptest's tuples of
/// strategies go to 12).
pub(crate) const MAX_TUPLE: usize = 12;

/// Longest array the harness generates (`proptest::array::uniform32`).
pub(crate) const MAX_ARRAY: usize = 32;

/// The integer types.
pub(crate) const INTS: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

/// Lengths of the long texts a search tries (a seed repeated to that many
/// bytes, then another seed): around the buffer and chunk sizes code
/// splits its input at. Longer ones come from `0..MAX_LONG`.
const LONG_SIZES: &str = "255, 256, 257, 511, 512, 1000, 1023, 1024, 1025, 2047, 2048";
/// The longest of those: a shrunk input is kept only when its literal
/// stays under the harness's limit (4,096 characters), and a text of
/// backslashes writes each twice.
const MAX_LONG: usize = 2050;

/// Seed strings every search starts from: empty, blank, multibyte, long,
/// control characters (the escape that starts a terminal colour code among
/// them) and punctuation.
pub(crate) const BOUNDARY_STRINGS: &[&str] = &[
    "",
    " ",
    "a",
    "0",
    "-1",
    "é",
    "日本語",
    "🦀",
    "a\u{301}",
    "\0",
    "\n",
    "\t",
    "\r\n",
    "\u{1b}",
    "$",
    "%",
    "\\",
    "{}",
    "[",
    "a=b&c",
    "ab",
    "aé",
    "éa",
];

impl Shape {
    /// The constructor paths this shape calls to build its value, at any
    /// depth (`fixture::Doc::new`, `std::iter::Iterator::take`): the only
    /// calls, besides plain constructors, its printed literal may make.
    pub(crate) fn calls(&self, out: &mut Vec<String>) {
        match self {
            Shape::Constructed { ctor, args, .. } => {
                out.push(ctor.clone());
                args.iter().for_each(|a| a.calls(out));
            }
            Shape::Slice(i) | Shape::Vec(i) | Shape::Option(i) | Shape::Array(i, _) | Shape::Ref { inner: i, .. } => {
                i.calls(out)
            }
            Shape::Tuple(items) => items.iter().for_each(|i| i.calls(out)),
            Shape::Collection { kind, key, value } => {
                out.push(format!("{}::from", kind.path()));
                key.calls(out);
                if let Some(v) = value {
                    v.calls(out);
                }
            }
            Shape::Prepared { base, steps } => {
                base.calls(out);
                for step in steps {
                    out.push(step.path.clone());
                    step.args.iter().for_each(|a| a.calls(out));
                }
            }
            Shape::Struct(s) => s.fields.iter().for_each(|(_, f)| f.calls(out)),
            Shape::Enum(e) => e
                .variants
                .iter()
                .flat_map(|v| &v.fields)
                .for_each(|(_, f)| f.calls(out)),
            Shape::Int(_)
            | Shape::Float(_)
            | Shape::Bool
            | Shape::Char
            | Shape::Str
            | Shape::String
            | Shape::Range(_)
            | Shape::Built { .. }
            | Shape::Literal { .. } => {}
        }
    }

    /// Whether the value is built where it is passed, not generated as
    /// itself (a constructor's call, a prepared value).
    fn built_where_passed(&self) -> bool {
        matches!(
            self,
            Shape::Built { .. } | Shape::Constructed { .. } | Shape::Prepared { .. }
        )
    }

    /// Whether steps change this value, or the value behind this
    /// reference, before it is passed ([`Shape::Prepared`]).
    pub(crate) fn is_prepared(&self) -> bool {
        match self {
            Shape::Prepared { .. } => true,
            Shape::Ref { inner, .. } => inner.is_prepared(),
            _ => false,
        }
    }

    /// This shape with no steps: a [`Shape::Prepared`] value as its base
    /// builds it (behind a reference too); any other as it is.
    pub(crate) fn without_steps(&self) -> Shape {
        match self {
            Shape::Prepared { base, .. } => (**base).clone(),
            Shape::Ref { inner, mutable } => Shape::Ref {
                inner: Box::new(inner.without_steps()),
                mutable: *mutable,
            },
            other => other.clone(),
        }
    }

    /// The code of this argument's strategy without steps: a
    /// [`Shape::Prepared`] value as its base builds it, and an empty list
    /// of steps (the rounds of the search that leave it as built); `None`
    /// for a shape without steps.
    pub(crate) fn unstepped_strategy(&self, ints: &[i128], strings: &[String]) -> Option<String> {
        match self {
            Shape::Prepared { base, steps } => Some(format!(
                "({}, proptest::strategy::Just(Vec::<{}>::new())).boxed()",
                base.strategy(ints, strings),
                step_type(steps)
            )),
            Shape::Ref { inner, .. } => inner.unstepped_strategy(ints, strings),
            _ => None,
        }
    }

    /// Whether this is a byte sequence (`&[u8]`, `Vec<u8>`, a reference to
    /// one): generated from the crate's sample inputs too.
    pub(crate) fn is_bytes(&self) -> bool {
        match self {
            Shape::Slice(i) | Shape::Vec(i) => **i == Shape::Int("u8"),
            Shape::Ref { inner, .. } => inner.is_bytes(),
            _ => false,
        }
    }

    /// The owned type a strategy yields for this shape.
    pub(crate) fn owned_type(&self) -> String {
        match self {
            Shape::Int(t) | Shape::Float(t) => (*t).to_string(),
            Shape::Bool => "bool".into(),
            Shape::Char => "char".into(),
            Shape::Str | Shape::String => "String".into(),
            Shape::Slice(i) | Shape::Vec(i) => format!("Vec<{}>", i.owned_type()),
            Shape::Option(i) => format!("Option<{}>", i.owned_type()),
            Shape::Range(t) => format!("std::ops::Range<{t}>"),
            Shape::Tuple(items) => tuple(items.iter().map(Shape::owned_type)),
            Shape::Array(i, n) => format!("[{}; {n}]", i.owned_type()),
            Shape::Collection { kind, key, value } => match value {
                Some(v) => format!("{}<{}, {}>", kind.path(), key.owned_type(), v.owned_type()),
                None => format!("{}<{}>", kind.path(), key.owned_type()),
            },
            Shape::Ref { inner, .. } => inner.owned_type(),
            Shape::Struct(s) => s.path.clone(),
            Shape::Enum(e) => e.path.clone(),
            // Built in place where it is passed ([`Shape::pass`]): the
            // generated value is a placeholder, so the type needs no `Debug`.
            Shape::Built { .. } | Shape::Literal { .. } => "()".into(),
            // The constructor's arguments.
            Shape::Constructed { args, .. } => tuple(args.iter().map(Shape::owned_type)),
            // The base's value, and the steps: one `Some` per step, for the
            // method it calls.
            Shape::Prepared { base, steps } => format!("({}, Vec<{}>)", base.owned_type(), step_type(steps)),
        }
    }

    /// The Rust type this shape stands for, as a signature writes it
    /// (`&[u8]`, `Option<String>`): the `Self` of a qualified trait call.
    pub(crate) fn type_code(&self) -> String {
        match self {
            Shape::Int(t) | Shape::Float(t) => (*t).to_string(),
            Shape::Bool => "bool".into(),
            Shape::Char => "char".into(),
            Shape::Str => "&str".into(),
            Shape::String => "String".into(),
            Shape::Slice(i) => format!("&[{}]", i.type_code()),
            Shape::Vec(i) => format!("Vec<{}>", i.type_code()),
            Shape::Option(i) => format!("Option<{}>", i.type_code()),
            Shape::Range(t) => format!("std::ops::Range<{t}>"),
            Shape::Tuple(items) => tuple(items.iter().map(Shape::type_code)),
            Shape::Array(i, n) => format!("[{}; {n}]", i.type_code()),
            Shape::Collection { .. } => self.owned_type(),
            Shape::Ref { inner, mutable } => {
                format!("&{}{}", if *mutable { "mut " } else { "" }, inner.type_code())
            }
            Shape::Struct(s) => s.path.clone(),
            Shape::Enum(e) => e.path.clone(),
            Shape::Built { path, .. } | Shape::Constructed { path, .. } => path.clone(),
            Shape::Prepared { base, .. } => base.type_code(),
            Shape::Literal { ty, .. } => (*ty).to_string(),
        }
    }

    /// How a value of the owned type `var` is passed as this argument.
    pub(crate) fn pass(&self, var: &str) -> String {
        match self {
            Shape::Str | Shape::Slice(_) => format!("&{var}"),
            // A receiver `&mut self` whose `Self` is `&[T]` / `&str`.
            Shape::Ref { inner, mutable } if matches!(**inner, Shape::Slice(_) | Shape::Str) => {
                format!("&{}&{var}[..]", if *mutable { "mut " } else { "" })
            }
            Shape::Built { expr, .. } => expr.clone(),
            Shape::Literal { code, .. } => (*code).to_string(),
            Shape::Constructed {
                ctor, args, fallible, ..
            } => {
                let passed: Vec<String> = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| a.pass(&format!("{var}.{i}")))
                    .collect();
                constructor_call(ctor, &passed.join(", "), *fallible)
            }
            // Each step calls the method its `Some` names.
            Shape::Prepared { base, steps } => {
                let mut code = format!(
                    "{{ let mut bugstack_value = {}; for bugstack_step in &{var}.1 {{ ",
                    base.pass(&format!("{var}.0"))
                );
                for (k, step) in steps.iter().enumerate() {
                    let passed: String = step
                        .args
                        .iter()
                        .enumerate()
                        .map(|(i, a)| format!(", {}", a.pass(&format!("bugstack_args.{i}"))))
                        .collect();
                    let _ = write!(
                        code,
                        "if let Some(bugstack_args) = &bugstack_step.{k} {{ let _ = bugstack_args; let _ = {}(&mut bugstack_value{passed}); }} ",
                        step.path
                    );
                }
                code.push_str("} bugstack_value }");
                code
            }
            Shape::Ref { inner, mutable } if inner.built_where_passed() => {
                format!("&{}{}", if *mutable { "mut " } else { "" }, inner.pass(var))
            }
            Shape::Ref { mutable: true, .. } => format!("&mut {var}"),
            Shape::Ref { mutable: false, .. } => format!("&{var}"),
            _ => format!("{var}.clone()"),
        }
    }

    /// Code of a `BoxedStrategy<owned type>`: boundary values, the crate's
    /// own literals (`ints`, `strings`, the code's char literals among them)
    /// and mutations (one seed spliced into another: an escape character
    /// before a delimiter), then anything.
    pub(crate) fn strategy(&self, ints: &[i128], strings: &[String]) -> String {
        match self {
            Shape::Int(t) => int_strategy(t, &[], ints),
            Shape::Float(t) => format!(
                "prop_oneof![3 => proptest::sample::select(vec![0.0, -0.0, 1.0, -1.0, 0.5, {t}::NAN, {t}::INFINITY, {t}::NEG_INFINITY, {t}::MAX, {t}::MIN, {t}::EPSILON, {t}::MIN_POSITIVE, {t}::from_bits(1)]), 1 => any::<{t}>()].boxed()"
            ),
            Shape::Bool => "any::<bool>().boxed()".into(),
            Shape::Char => {
                "prop_oneof![2 => proptest::sample::select(vec!['\\0', 'a', 'é', '日', '🦀', '$', '\\n']), 1 => any::<char>()].boxed()".into()
            }
            Shape::Str | Shape::String => {
                let mut seeds = String::new();
                for s in BOUNDARY_STRINGS.iter().map(|s| s.to_string()).chain(strings.iter().cloned()) {
                    let _ = write!(seeds, "{s:?}.to_string(), ");
                }
                format!(
                    "{{ let seeds: Vec<String> = vec![{seeds}\"a\".repeat(300), \"é\".repeat(100)]; \
                     let pick = proptest::sample::select(seeds); \
                     prop_oneof![\
                     4 => pick.clone(), \
                     2 => (pick.clone(), pick.clone()).prop_map(|(a, b)| a + &b), \
                     2 => (pick.clone(), 0usize..64).prop_map(|(s, n)| s.chars().take(n).collect::<String>()), \
                     2 => (pick.clone(), any::<char>(), 0usize..64).prop_map(|(s, c, n)| {{ let mut v: Vec<char> = s.chars().collect(); let at = n.min(v.len()); v.insert(at, c); v.into_iter().collect::<String>() }}), \
                     2 => (pick.clone(), pick.clone(), 0usize..64).prop_map(|(mut s, t, n)| {{ let at = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i); s.insert_str(at, &t); s }}), \
                     1 => (pick.clone(), pick.clone(), prop_oneof![proptest::sample::select(vec![{LONG_SIZES}]), 0usize..{MAX_LONG}]).prop_map(|(fill, tail, n)| {{ let unit = if fill.is_empty() {{ \"a\".to_string() }} else {{ fill }}; let mut s = String::with_capacity(n + unit.len() + tail.len()); while s.len() < n {{ s.push_str(&unit); }} let mut end = n.min(s.len()); while !s.is_char_boundary(end) {{ end -= 1; }} s.truncate(end); s.push_str(&tail); s }}), \
                     1 => \"\\\\PC{{0,40}}\", \
                     1 => any::<String>()].boxed() }}"
                )
            }
            Shape::Slice(i) | Shape::Vec(i) => {
                format!("proptest::collection::vec({}, 0..8).boxed()", i.strategy(ints, strings))
            }
            Shape::Option(i) => format!("proptest::option::of({}).boxed()", i.strategy(ints, strings)),
            Shape::Tuple(items) => tuple(items.iter().map(|i| i.strategy(ints, strings))) + ".boxed()",
            Shape::Array(i, n) => format!("proptest::array::uniform{n}({}).boxed()", i.strategy(ints, strings)),
            Shape::Collection { kind, key, value } => {
                let value = value
                    .as_ref()
                    .map_or_else(String::new, |v| format!("{}, ", v.strategy(ints, strings)));
                format!(
                    "{}({}, {value}0..6).boxed()",
                    kind.strategy_fn(),
                    key.strategy(ints, strings)
                )
            }
            // Short ranges near the start most often: the ranges a caller
            // passes into the sequences generated beside them.
            Shape::Range(t) => format!(
                "prop_oneof![3 => (0{t}..4, 0{t}..6).prop_map(|(a, b)| a..b), 1 => ({any}, {any}).prop_map(|(a, b)| a..b)].boxed()",
                any = int_strategy(t, &[], ints)
            ),
            Shape::Ref { inner, .. } => inner.strategy(ints, strings),
            Shape::Built { .. } | Shape::Literal { .. } => "proptest::strategy::Just(()).boxed()".into(),
            Shape::Constructed { args, .. } => tuple(args.iter().map(|a| a.strategy(ints, strings))) + ".boxed()",
            // One to four steps, each any of the methods.
            Shape::Prepared { base, steps } => {
                let ty = step_type(steps);
                let arms: Vec<String> = (0..steps.len())
                    .map(|k| {
                        let step = &steps[k];
                        let args = if step.args.is_empty() {
                            "proptest::strategy::Just(())".to_string()
                        } else {
                            tuple(step.args.iter().map(|a| a.strategy(ints, strings)))
                        };
                        let slots: Vec<String> = steps
                            .iter()
                            .enumerate()
                            .map(|(j, other)| {
                                if j == k {
                                    "Some(a)".to_string()
                                } else {
                                    format!("None::<{}>", other.args_type())
                                }
                            })
                            .collect();
                        format!("{args}.prop_map(|a| -> {ty} {{ ({},) }}).boxed()", slots.join(", "))
                    })
                    .collect();
                format!(
                    "({}, proptest::collection::vec(proptest::strategy::Union::new(vec![{}]), 1..={MAX_STEPS_PER_CASE})).boxed()",
                    base.strategy(ints, strings),
                    arms.join(", ")
                )
            }
            // One strategy per variant, any of them.
            Shape::Enum(e) => {
                let arms: Vec<String> = e
                    .variants
                    .iter()
                    .map(|v| {
                        let built = v.construct(&e.path, |i, _| format!("f{i}"));
                        if v.fields.is_empty() {
                            return format!("proptest::strategy::LazyJust::new(|| {built}).boxed()");
                        }
                        let strategies: Vec<String> = v.fields.iter().map(|(_, f)| f.strategy(ints, strings)).collect();
                        let vars: Vec<String> = (0..v.fields.len()).map(|i| format!("f{i}")).collect();
                        format!(
                            "({},).prop_map(|({},)| {built}).boxed()",
                            strategies.join(", "),
                            vars.join(", ")
                        )
                    })
                    .collect();
                format!("proptest::strategy::Union::new(vec![{}]).boxed()", arms.join(", "))
            }
            Shape::Struct(s) => {
                let names: Vec<String> = (0..s.fields.len()).map(|i| format!("f{i}")).collect();
                let strategies: Vec<String> = s.fields.iter().map(|(_, f)| f.strategy(ints, strings)).collect();
                let init: Vec<String> = s
                    .fields
                    .iter()
                    .zip(&names)
                    .map(|((field, _), var)| format!("{field}: {var}"))
                    .collect();
                let built = format!(
                    "({},).prop_map(|({},)| {} {{ {} }}).boxed()",
                    strategies.join(", "),
                    names.join(", "),
                    s.path,
                    init.join(", ")
                );
                if s.default {
                    format!(
                        "prop_oneof![1 => proptest::strategy::LazyJust::new(<{} as Default>::default), 3 => {built}].boxed()",
                        s.path
                    )
                } else {
                    built
                }
            }
        }
    }

    /// [`Shape::strategy`], with the integers `first` (the values the
    /// crate's own calls of the function pass at this argument) tried before
    /// any other: shrinking moves toward the front of the list, so a
    /// reproducing input keeps a value the crate itself uses where the
    /// argument does not matter to the panic (a radix of 10, not 0).
    pub(crate) fn strategy_preferring(&self, first: &[i128], ints: &[i128], strings: &[String]) -> String {
        match self {
            Shape::Int(t) if !first.is_empty() => int_strategy(t, first, ints),
            Shape::Ref { inner, .. } => inner.strategy_preferring(first, ints, strings),
            _ => self.strategy(ints, strings),
        }
    }

    /// Code of an expression rendering `var` (a reference to the owned
    /// value) as the Rust source of this argument, a `String`. `depth`
    /// keeps nested closure variables apart.
    pub(crate) fn render(&self, var: &str, depth: usize) -> String {
        let x = format!("x{depth}");
        match self {
            Shape::Int(_) | Shape::Bool | Shape::Char | Shape::Str => format!("format!(\"{{:?}}\", {var})"),
            // As a maintainer writes it (`1.0f64`, `5e-324f64`: `{:?}` is
            // the shortest text that reads back to the same value), the
            // non-finite values by their constants.
            Shape::Float(t) => format!(
                "{{ let v: {t} = *{var}; if v.is_nan() {{ \"{t}::NAN\".to_string() }} else if v.is_infinite() {{ if v > 0.0 {{ \"{t}::INFINITY\".to_string() }} else {{ \"{t}::NEG_INFINITY\".to_string() }} }} else {{ format!(\"{{v:?}}{t}\") }} }}"
            ),
            Shape::String => format!("format!(\"String::from({{:?}})\", {var})"),
            Shape::Slice(i) | Shape::Vec(i) => {
                let open = if matches!(self, Shape::Slice(_)) { "&[" } else { "vec![" };
                format!(
                    "format!(\"{open}{{}}]\", {var}.iter().map(|{x}| {}).collect::<Vec<String>>().join(\", \"))",
                    i.render(&x, depth + 1)
                )
            }
            Shape::Option(i) => format!(
                "match {var} {{ Some({x}) => format!(\"Some({{}})\", {}), None => \"None\".to_string() }}",
                i.render(&x, depth + 1)
            ),
            // `(1, "a".to_string(),)`: the trailing comma keeps a 1-tuple one.
            Shape::Tuple(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .enumerate()
                    .map(|(k, i)| i.render(&format!("(&{var}.{k})"), depth + 1))
                    .collect();
                format!("format!(\"({{}},)\", [{}].join(\", \"))", parts.join(", "))
            }
            Shape::Array(i, _) => format!(
                "format!(\"[{{}}]\", {var}.iter().map(|{x}| {}).collect::<Vec<String>>().join(\", \"))",
                i.render(&x, depth + 1)
            ),
            // `HashMap::from([(k, v), …])`, entries sorted by their text: a
            // hash map's order differs from run to run, its literal not.
            Shape::Collection { kind, key, value } => {
                let entry = match value {
                    Some(v) => format!(
                        "{var}.iter().map(|({x}, y{depth})| format!(\"({{}}, {{}})\", {}, {})).collect::<Vec<String>>()",
                        key.render(&x, depth + 1),
                        v.render(&format!("y{depth}"), depth + 1)
                    ),
                    None => format!(
                        "{var}.iter().map(|{x}| {}).collect::<Vec<String>>()",
                        key.render(&x, depth + 1)
                    ),
                };
                format!(
                    "{{ let mut e = {entry}; e.sort(); format!(\"{}::from([{{}}])\", e.join(\", \")) }}",
                    kind.path()
                )
            }
            Shape::Ref { inner, mutable } => {
                let amp = if *mutable { "&mut " } else { "&" };
                // `&mut &[1, 2][..]`: a `&mut &[T]` the literal coerces to.
                let whole = if matches!(**inner, Shape::Slice(_)) { "[..]" } else { "" };
                format!("format!(\"{amp}{{}}{whole}\", {})", inner.render(var, depth))
            }
            Shape::Range(_) => format!("format!(\"{{:?}}..{{:?}}\", {var}.start, {var}.end)"),
            Shape::Built { expr, .. } => format!("{expr:?}.to_string()"),
            Shape::Literal { code, .. } => format!("{code:?}.to_string()"),
            Shape::Constructed {
                ctor, args, fallible, ..
            } => {
                let parts: Vec<String> = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| a.render(&format!("(&{var}.{i})"), depth + 1))
                    .collect();
                // The call with `{}` where the arguments' literals go.
                let template = constructor_call(ctor, "{}", *fallible);
                format!("format!({template:?}, [{}].join(\", \"))", parts.join(", "))
            }
            // `{ let mut value = <base>; let _ = T::insert(&mut value, 1, 2); value }`.
            Shape::Prepared { base, steps } => {
                let step = format!("s{depth}");
                let args = format!("p{depth}");
                let built = base.render(&format!("(&{var}.0)"), depth + 1);
                // No steps (a round that leaves the value as built): the
                // base's literal alone.
                let mut code = format!(
                    "if {var}.1.is_empty() {{ {built} }} else {{ let mut out = format!(\"{{{{ let mut value = {{}}; \", {built}); for {step} in {var}.1.iter() {{ "
                );
                for (k, s) in steps.iter().enumerate() {
                    let parts: Vec<String> = s
                        .args
                        .iter()
                        .enumerate()
                        .map(|(i, a)| format!("format!(\", {{}}\", {})", a.render(&format!("(&{args}.{i})"), depth + 1)))
                        .collect();
                    let path = s.path.replace('{', "{{").replace('}', "}}");
                    let line = if parts.is_empty() {
                        format!("format!({:?})", format!("let _ = {path}(&mut value); "))
                    } else {
                        let template = format!("let _ = {path}(&mut value{{}}); ");
                        format!("format!({template:?}, [{}].concat())", parts.join(", "))
                    };
                    let _ = write!(
                        code,
                        "if let Some({args}) = &{step}.{k} {{ let _ = {args}; out.push_str(&{line}); }} "
                    );
                }
                code.push_str("} out.push_str(\"value }\"); out }");
                code
            }
            // `match` on the reference: each field binds by reference.
            Shape::Enum(e) => {
                let arms: Vec<String> = e
                    .variants
                    .iter()
                    .map(|v| {
                        let bind = |i: usize, _: &str| format!("v{depth}_{i}");
                        let pattern = v.construct(&e.path, bind);
                        // The literal's text: `{}` where each field goes.
                        let shown = v.construct(&e.path, |_, _| "{}".into()).replace('{', "{{").replace('}', "}}");
                        let shown = shown.replace("{{}}", "{}");
                        let values: Vec<String> =
                            (0..v.fields.len()).map(|i| v.fields[i].1.render(&bind(i, ""), depth + 1)).collect();
                        if values.is_empty() {
                            format!("{pattern} => {pattern:?}.to_string()")
                        } else {
                            format!("{pattern} => format!({shown:?}, {})", values.join(", "))
                        }
                    })
                    .collect();
                format!("match {var} {{ {} }}", arms.join(", "))
            }
            Shape::Struct(s) => {
                let mut parts = Vec::new();
                for (field, f) in &s.fields {
                    let field_var = format!("(&{var}.{field})");
                    parts.push(format!(
                        "format!(\"{field}: {{}}\", {})",
                        f.render(&field_var, depth + 1)
                    ));
                }
                format!(
                    "format!(\"{} {{{{ {{}} }}}}\", [{}].join(\", \"))",
                    s.path,
                    parts.join(", ")
                )
            }
        }
    }
}

/// `ctor(args)`, unwrapped when the constructor is fallible: the code
/// that builds a [`Shape::Constructed`] value, and its literal.
fn constructor_call(ctor: &str, args: &str, fallible: bool) -> String {
    format!("{ctor}({args}){}", if fallible { ".unwrap()" } else { "" })
}

/// The strategy of integer type `t`: the values `first`, boundary values,
/// the crate's literals `ints` and their distances from the type's maximum
/// (`x + K` overflows from `MAX - K` on), then anything.
fn int_strategy(t: &str, first: &[i128], ints: &[i128]) -> String {
    let lits = |v: &[i128]| v.iter().map(|i| format!("{i}i128, ")).collect::<String>();
    format!(
        "prop_oneof![4 => proptest::sample::select({{ let mut v: Vec<{t}> = [{first}].into_iter().filter_map(|x: i128| {t}::try_from(x).ok()).collect(); \
         v.extend([0, 1, 2, {t}::MAX, {t}::MIN, {t}::MAX - 1, {t}::MIN.wrapping_add(1)]); \
         v.extend([-1i128, 7, 10, 16, 100, 255, 256, 1000, 65535, 65536, {lits}].into_iter().filter_map(|x| {t}::try_from(x).ok())); \
         v.extend([{lits}].into_iter().filter_map(|x: i128| {t}::try_from(x).ok()).map(|x| {t}::MAX.wrapping_sub(x))); v }}), \
         1 => any::<{t}>()].boxed()",
        first = lits(first),
        lits = lits(ints)
    )
}

/// The shape of a type written in a signature, when the harness supports
/// it; `lookup` resolves the crate's own type names (a struct built field
/// by field, or a value built by its constructor).
pub(crate) fn shape_of(ty: &syn::Type, lookup: &mut dyn FnMut(&str, &[syn::Type]) -> Option<Shape>) -> Option<Shape> {
    match ty {
        syn::Type::Reference(r) => {
            let inner = match &*r.elem {
                syn::Type::Path(p) if is_ident(p, "str") => return (r.mutability.is_none()).then_some(Shape::Str),
                syn::Type::Slice(s) => {
                    let elem = shape_of(&s.elem, lookup)?;
                    return (r.mutability.is_none() && !matches!(elem, Shape::Ref { .. } | Shape::Str))
                        .then(|| Shape::Slice(Box::new(elem)));
                }
                other => shape_of(other, lookup)?,
            };
            // `&mut &[u8]` / `&mut &str` (a reader, a parser's cursor) are
            // passed as `&mut &v[..]`; other references to references are not.
            let cursor = r.mutability.is_some() && matches!(inner, Shape::Str | Shape::Slice(_));
            if matches!(inner, Shape::Ref { .. } | Shape::Str | Shape::Slice(_)) && !cursor {
                return None;
            }
            Some(Shape::Ref {
                inner: Box::new(inner),
                mutable: r.mutability.is_some(),
            })
        }
        syn::Type::Paren(p) => shape_of(&p.elem, lookup),
        syn::Type::Tuple(t) if !t.elems.is_empty() && t.elems.len() <= MAX_TUPLE => {
            let items = t
                .elems
                .iter()
                .map(|e| shape_of(e, lookup).filter(owned))
                .collect::<Option<Vec<_>>>()?;
            Some(Shape::Tuple(items))
        }
        syn::Type::Array(a) => {
            let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(n), ..
            }) = &a.len
            else {
                return None;
            };
            let n: usize = n.base10_parse().ok().filter(|n| (1..=MAX_ARRAY).contains(n))?;
            let inner = shape_of(&a.elem, lookup)?;
            owned(&inner).then(|| Shape::Array(Box::new(inner), n))
        }
        syn::Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let name = last.ident.to_string();
            if let Some(kind) = CollectionKind::named(&name) {
                return collection(kind, &last.arguments, lookup);
            }
            // The crate's generic type with its arguments (`Slab<u8>`).
            if !matches!(name.as_str(), "Vec" | "Option" | "Range" | "Box") && !std_path(&p.path) {
                if let Some(args) = type_arguments(&last.arguments).filter(|a| !a.is_empty()) {
                    return lookup(&name, &args);
                }
            }
            let generic = match &last.arguments {
                // `Lines<'a>`: the crate's type, looked up by its name.
                a if super::target::lifetime_arguments_only(a) => None,
                syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => match a.args.first() {
                    Some(syn::GenericArgument::Type(t)) => Some(t),
                    _ => return None,
                },
                _ => return None,
            };
            match (name.as_str(), generic) {
                (n, None) if INTS.contains(&n) => INTS.iter().find(|t| **t == n).map(|t| Shape::Int(t)),
                ("f32", None) => Some(Shape::Float("f32")),
                ("f64", None) => Some(Shape::Float("f64")),
                ("bool", None) => Some(Shape::Bool),
                ("char", None) => Some(Shape::Char),
                ("String", None) => Some(Shape::String),
                ("Vec", Some(t)) => {
                    let inner = shape_of(t, lookup)?;
                    owned(&inner).then(|| Shape::Vec(Box::new(inner)))
                }
                ("Option", Some(t)) => {
                    let inner = shape_of(t, lookup)?;
                    owned(&inner).then(|| Shape::Option(Box::new(inner)))
                }
                ("Range", Some(t)) => match shape_of(t, lookup)? {
                    Shape::Int(t) => Some(Shape::Range(t)),
                    _ => None,
                },
                // `Box<T>`: built where it is passed, `Box::new(<T>)`.
                ("Box", Some(t)) => wrapping("Box", t, lookup),
                // `std::io::Cursor<Vec<u8>>` (a seeking reader): built
                // from its bytes where it is passed.
                ("Cursor", Some(t)) if std_path(&p.path) => wrapping("std::io::Cursor", t, lookup),
                (n, None) if std_path(&p.path) => std_value(n),
                (n, None) => lookup(n, &[]),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `Wrapper<T>` for a generated `T`, built where it is passed by
/// `Wrapper::new(<T>)` (`Box`, `std::io::Cursor`).
fn wrapping(
    wrapper: &str,
    t: &syn::Type,
    lookup: &mut dyn FnMut(&str, &[syn::Type]) -> Option<Shape>,
) -> Option<Shape> {
    let inner = shape_of(t, lookup).filter(owned)?;
    Some(Shape::Constructed {
        path: format!("{wrapper}<{}>", inner.type_code()),
        ctor: format!("{wrapper}::new"),
        args: vec![inner],
        fallible: false,
    })
}

/// The type arguments of a path segment, its lifetimes left out (`<'a,
/// u8>` → `[u8]`); `None` for other arguments (a const, an associated
/// type's binding, `Fn(..)` sugar).
pub(crate) fn type_arguments(args: &syn::PathArguments) -> Option<Vec<syn::Type>> {
    match args {
        syn::PathArguments::None => Some(Vec::new()),
        syn::PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter(|g| !matches!(g, syn::GenericArgument::Lifetime(_)))
            .map(|g| match g {
                syn::GenericArgument::Type(t) => Some(t.clone()),
                _ => None,
            })
            .collect(),
        syn::PathArguments::Parenthesized(_) => None,
    }
}

/// The standard types [`std_value`] builds, by name.
pub(crate) const STD_VALUES: &[&str] = &["Duration", "Path", "PathBuf"];

/// Whether `path` is written from `std` or `core` (`std::time::Duration`).
fn std_path(path: &syn::Path) -> bool {
    path.segments.len() > 1
        && path
            .segments
            .first()
            .is_some_and(|s| s.ident == "std" || s.ident == "core")
}

/// A standard type (one of [`STD_VALUES`]), built by its constructor where
/// it is passed: `Duration::new(secs, nanos)`, `PathBuf::from(text)` (a
/// `&Path` too, by deref). Only where the signature names it from `std`,
/// or its file imports it from there ([`Resolver::std_names`]).
///
/// [`Resolver::std_names`]: super::target::Resolver
pub(crate) fn std_value(name: &str) -> Option<Shape> {
    let (path, ctor, args) = match name {
        "Duration" => (
            "std::time::Duration",
            "std::time::Duration::new",
            vec![Shape::Int("u64"), Shape::Int("u32")],
        ),
        "PathBuf" | "Path" => ("std::path::PathBuf", "std::path::PathBuf::from", vec![Shape::String]),
        _ => return None,
    };
    Some(Shape::Constructed {
        path: path.into(),
        ctor: ctor.into(),
        args,
        fallible: false,
    })
}

/// The [`Shape::Collection`] of `kind` with type arguments `args`: a
/// map's two, a set's one (a custom hasher's third is not generated).
fn collection(
    kind: CollectionKind,
    args: &syn::PathArguments,
    lookup: &mut dyn FnMut(&str, &[syn::Type]) -> Option<Shape>,
) -> Option<Shape> {
    let syn::PathArguments::AngleBracketed(a) = args else {
        return None;
    };
    let types: Vec<&syn::Type> = a
        .args
        .iter()
        .map(|g| match g {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let map = matches!(kind, CollectionKind::HashMap | CollectionKind::BTreeMap);
    let (key, value) = match (map, types.as_slice()) {
        (true, [k, v]) => (shape_of(k, lookup)?, Some(shape_of(v, lookup).filter(owned)?)),
        (false, [k]) => (shape_of(k, lookup)?, None),
        _ => return None,
    };
    // Hashable and ordered, by value.
    if !matches!(key, Shape::Int(_) | Shape::Bool | Shape::Char | Shape::String) {
        return None;
    }
    Some(Shape::Collection {
        kind,
        key: Box::new(key),
        value: value.map(Box::new),
    })
}

/// Whether a shape can be an element or a payload: owned and generated as
/// itself (a value built where it is passed cannot).
fn owned(s: &Shape) -> bool {
    !matches!(
        s,
        Shape::Ref { .. }
            | Shape::Str
            | Shape::Slice(_)
            | Shape::Built { .. }
            | Shape::Constructed { .. }
            | Shape::Prepared { .. }
            | Shape::Literal { .. }
    )
}

/// `(a, b,)`: a tuple of `parts`, its trailing comma keeping a 1-tuple
/// one (types, strategies and values alike).
fn tuple(parts: impl Iterator<Item = String>) -> String {
    format!("({},)", parts.collect::<Vec<_>>().join(", "))
}

/// The type of one step of a [`Shape::Prepared`] value: an `Option` of
/// each method's arguments.
fn step_type(steps: &[Step]) -> String {
    tuple(steps.iter().map(|s| format!("Option<{}>", s.args_type())))
}

fn is_ident(p: &syn::TypePath, name: &str) -> bool {
    p.qself.is_none() && p.path.is_ident(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(src: &str) -> Option<Shape> {
        let ty: syn::Type = syn::parse_str(src).unwrap();
        shape_of(&ty, &mut |n, _| match n {
            "Cart" => Some(Shape::Struct(StructShape {
                path: "shop::Cart".into(),
                fields: vec![("n".into(), Shape::Int("u64"))],
                default: true,
            })),
            "Op" => Some(Shape::Enum(EnumShape {
                path: "shop::Op".into(),
                variants: vec![
                    Variant {
                        name: "Add".into(),
                        named: true,
                        fields: vec![("at".into(), Shape::Int("usize")), ("text".into(), Shape::String)],
                    },
                    Variant {
                        name: "Skip".into(),
                        named: false,
                        fields: vec![("0".into(), Shape::Int("u8"))],
                    },
                    Variant {
                        name: "Stop".into(),
                        named: false,
                        fields: vec![],
                    },
                ],
            })),
            _ => None,
        })
    }

    #[test]
    fn supported_and_unsupported_types() {
        assert_eq!(shape("&str"), Some(Shape::Str));
        assert_eq!(shape("&[u8]"), Some(Shape::Slice(Box::new(Shape::Int("u8")))));
        assert_eq!(
            shape("(u8, String)"),
            Some(Shape::Tuple(vec![Shape::Int("u8"), Shape::String]))
        );
        assert_eq!(shape("(u8, &str)"), None, "a tuple holds owned values");
        assert_eq!(shape("&[u8; 4]").map(|s| s.type_code()).as_deref(), Some("&[u8; 4]"));
        assert_eq!(shape("[u8; 33]"), None, "proptest's arrays go to 32");
        assert_eq!(shape("[u8; N]"), None, "a const parameter is not a length");
        assert_eq!(
            shape("HashMap<String, u32>").map(|s| s.owned_type()).as_deref(),
            Some("std::collections::HashMap<String, u32>")
        );
        assert_eq!(
            shape("&std::collections::BTreeSet<char>")
                .map(|s| s.type_code())
                .as_deref(),
            Some("&std::collections::BTreeSet<char>")
        );
        assert_eq!(
            shape("std::time::Duration").map(|s| s.type_code()).as_deref(),
            Some("std::time::Duration")
        );
        assert_eq!(
            shape("Duration"),
            None,
            "a bare name is std's only where the file imports it"
        );
        assert_eq!(shape("Box<u8>").map(|s| s.type_code()).as_deref(), Some("Box<u8>"));
        assert_eq!(shape("HashMap<f64, u8>"), None, "a float is no key");
        assert_eq!(shape("HashMap<u8, u8, MyHasher>"), None);
        assert_eq!(shape("HashSet<&str>"), None);
        assert_eq!(shape("Option<String>"), Some(Shape::Option(Box::new(Shape::String))));
        assert_eq!(shape("std::ops::Range<usize>"), Some(Shape::Range("usize")));
        assert!(matches!(shape("&Cart"), Some(Shape::Ref { mutable: false, .. })));
        for bad in [
            "&mut str",
            "Option<&str>",
            "Vec<&str>",
            "impl Fn()",
            "Other",
            "()",
            "Range<f64>",
        ] {
            assert_eq!(shape(bad), None, "{bad}");
        }
    }

    #[test]
    fn rendered_code_parses() {
        for s in [
            "&str",
            "String",
            "&[u8]",
            "Vec<Option<i32>>",
            "&Cart",
            "f64",
            "char",
            "Range<usize>",
        ] {
            let sh = shape(s).unwrap();
            let strategy = sh.strategy(&[5, -3], &["it's \"quoted\"".into()]);
            syn::parse_str::<syn::Expr>(&strategy).unwrap_or_else(|e| panic!("{s}: {e}\n{strategy}"));
            let preferring = sh.strategy_preferring(&[10, -1], &[5], &[]);
            syn::parse_str::<syn::Expr>(&preferring).unwrap_or_else(|e| panic!("{s}: {e}\n{preferring}"));
            let render = sh.render("(&a0)", 0);
            syn::parse_str::<syn::Expr>(&render).unwrap_or_else(|e| panic!("{s}: {e}\n{render}"));
        }
    }
}
