//! Fix strategies: for the located panic, every fix that fits, best first.
//!
//! Order per class (a strategy is skipped when it does not fit the site):
//!
//! | class | strategies, in order |
//! |---|---|
//! | unwrap-none | `?` (fn returns `Option`) · `.ok_or(..)?` (fn returns `Result` with a writable error) · `let Some(..) = .. else { return <empty>; }` · `.unwrap_or_default()` |
//! | unwrap-err, parse-unwrap | `?` / `.map_err(..)?` (fn returns `Result`) · `.ok()?` (fn returns `Option`) · `let Ok(..) = .. else { return <empty>; }` · `.unwrap_or_default()` |
//! | index-oob, slice-range | `.get(..)?` · `.get(..).ok_or(..)?` · guard `if .. { return <empty>; }` · `.get(..)` with a default |
//! | vec-position (`Vec::remove`/`swap_remove`/`insert`) | guard `if i >= v.len() { return <empty>; }` (`>` for `insert`) |
//! | missing-key (`map[&k]`) | `.get(..)?` · `.get(..).ok_or(..)?` · guard `if !map.contains_key(..) { return <empty>; }` · `.get(..)` with a default |
//! | char-boundary | `.get(..)?` · `.get(..).ok_or(..)?` · move the bound down to a char boundary · `is_char_boundary` guard · `.get(..)` with a default |
//! | div-zero, rem-zero | `checked_*(..)?` · `checked_*(..).ok_or(..)?` · guard `if d == 0 { return <empty>; }` · `checked_*(..).unwrap_or(0)` |
//! | overflow, shifts (`<<`, `>>`) | `checked_sh*(..)?` · `checked_sh*(..).unwrap_or(0)` (the amount through `u32::try_from`) |
//! | overflow (integers, and `Duration` `+ - *`) | `checked_*(..)?` · `checked_*(..).ok_or(..)?` · `saturating_*` · `let Some(..) = checked_*(..) else { return <empty>; }` |
//!
//! `<empty>` is the return type's natural empty value (`()`, `None`, `0`,
//! `0.0`, `false`, `String::new()`, ...) or, in a `Result` function whose
//! error type cannot be written down, an `Err(..)` the function already
//! returns elsewhere (when it only uses the function's parameters).

use std::collections::HashSet;

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{BinOp, Expr, Lit, Pat, Signature, Stmt};

use super::class::{OverflowOp, PanicClass};
use super::locate::{Idents, Located};
use super::signature::{ErrKind, ReturnKind};
use super::source::{Edit, Source};

/// One way to fix the panic.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// Short strategy name (`question-mark`, `guard-return`, ...).
    pub(crate) strategy: &'static str,
    /// Byte-span edits on the original file.
    pub(crate) edits: Vec<Edit>,
    /// What the change does, in plain words.
    pub(crate) explanation: String,
}

/// Everything the strategies need about the site.
pub(crate) struct Site<'a, 'ast> {
    pub(crate) src: &'a Source<'a>,
    pub(crate) class: PanicClass,
    pub(crate) loc: &'a Located<'ast>,
    pub(crate) ret: ReturnKind,
    pub(crate) can_return: bool,
    pub(crate) fn_name: String,
    sig: Option<&'ast Signature>,
    body: Option<&'ast syn::Block>,
    stmt: Option<(&'ast Stmt, bool)>,
    nl: &'static str,
    unit: String,
    idents: HashSet<String>,
}

impl<'a, 'ast> Site<'a, 'ast> {
    pub(crate) fn new(src: &'a Source<'a>, class: PanicClass, loc: &'a Located<'ast>) -> Self {
        let (func, can_return) = loc.function();
        let sig = func.map(|(s, _)| s);
        let body = func.and_then(|(_, b)| b);
        let mut idents = Idents::default();
        if let Some(b) = body {
            idents.visit_block(b);
        }
        if let Some(s) = sig {
            idents.visit_signature(s);
        }
        Site {
            src,
            class,
            loc,
            ret: sig.map_or(ReturnKind::Other, |s| ReturnKind::of(&s.output)),
            can_return: can_return && sig.is_some(),
            fn_name: sig.map_or_else(|| "(no function)".into(), |s| s.ident.to_string()),
            sig,
            body,
            stmt: loc.statement(),
            nl: src.newline(),
            unit: src.indent_unit(),
            idents: idents.0,
        }
    }

    fn text(&self, n: &impl Spanned) -> Option<&'a str> {
        self.src.slice(n.span())
    }

    fn range(&self, n: &impl Spanned) -> Option<std::ops::Range<usize>> {
        self.src.range(n.span())
    }

    /// A name not used in the function.
    fn fresh(&self, base: &str) -> String {
        if !self.idents.contains(base) {
            return base.into();
        }
        (1..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| !self.idents.contains(n))
            .unwrap_or_else(|| base.into())
    }

    /// `return <empty>;` when the function has an obvious value to return,
    /// with the words for the explanation.
    fn early_return(&self, indent: &str) -> Option<(String, String)> {
        if !self.can_return {
            return None;
        }
        if let Some(v) = self.ret.empty_value() {
            return Some(if v.is_empty() {
                ("return;".into(), format!("`{}` returns early", self.fn_name))
            } else {
                (format!("return {v};"), format!("`{}` returns `{v}`", self.fn_name))
            });
        }
        if let ReturnKind::Result(_) = self.ret {
            let (text, from_indent) = self.existing_err()?;
            let text = reindent(&text, &from_indent, indent, self.nl);
            return Some((
                format!("return {text};"),
                format!(
                    "`{}` returns the same error it already returns for invalid input",
                    self.fn_name
                ),
            ));
        }
        None
    }

    /// An `Err(..)` the function already returns, when it only names the
    /// function's parameters (so it is valid at any point of the body), with
    /// the indentation of the line it starts on.
    fn existing_err(&self) -> Option<(String, String)> {
        let (sig, body) = (self.sig?, self.body?);
        let params: HashSet<String> = sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Receiver(_) => Some("self".to_string()),
                syn::FnArg::Typed(t) => match &*t.pat {
                    Pat::Ident(i) => Some(i.ident.to_string()),
                    _ => None,
                },
            })
            .collect();
        let mut finder = ErrReturns::default();
        finder.visit_block(body);
        finder.found.into_iter().find_map(|e| {
            let mut names = LocalNames::default();
            names.visit_expr(e);
            if !names.0.iter().all(|n| params.contains(n)) {
                return None;
            }
            let start = e.span().start();
            Some((self.text(e)?.to_string(), self.src.indent_of(start.line).to_string()))
        })
    }

    /// The statement to put a guard before, when a guard there checks
    /// exactly the panicking evaluation: (insert offset, indentation).
    fn guard_point(&self) -> Option<(usize, String)> {
        let (stmt, safe) = self.stmt?;
        if !safe {
            return None;
        }
        let start = stmt.span().start();
        if !self.src.first_on_line(start) {
            return None;
        }
        Some((
            self.src.line_start(start.line)?,
            self.src.indent_of(start.line).to_string(),
        ))
    }

    /// `if cond { return ..; }` before the statement.
    fn guard(&self, cond: &str, why: &str) -> Option<Candidate> {
        let (at, indent) = self.guard_point()?;
        let inner = format!("{indent}{}", self.unit);
        let (ret, words) = self.early_return(&inner)?;
        let nl = self.nl;
        Some(Candidate {
            strategy: "guard-return",
            edits: vec![Edit::insert(
                at,
                format!("{indent}if {cond} {{{nl}{inner}{ret}{nl}{indent}}}{nl}"),
            )],
            explanation: format!("Adds a guard before the statement: when {why}, {words} instead of panicking."),
        })
    }

    /// Binds `opt` (an `Option`/`Result` expression standing for the target)
    /// with `let Some(..) = opt else { return ..; }`: in place when the
    /// target is a `let` initializer, else in a new binding before the
    /// statement that replaces the target. `ctor` is `Some` or `Ok`;
    /// `assign_to` wraps the replacement as `place = value`.
    fn let_else(&self, opt: &str, ctor: &str, assign_to: Option<&str>, why: &str) -> Option<Candidate> {
        let target = self.loc.expr;
        let nl = self.nl;
        let (stmt, _) = self.stmt?;
        if let (Stmt::Local(local), None) = (stmt, assign_to) {
            if let Some(init) = &local.init {
                if std::ptr::eq(&*init.expr, target) && init.diverge.is_none() && local.attrs.is_empty() {
                    let start = local.let_token.span.start();
                    if !self.src.first_on_line(start) {
                        return None;
                    }
                    let indent = self.src.indent_of(start.line).to_string();
                    let inner = format!("{indent}{}", self.unit);
                    let (ret, words) = self.early_return(&inner)?;
                    let pat = match &local.pat {
                        Pat::Type(pt) => format!(
                            "{ctor}({}): {}<{}{}>",
                            self.text(&pt.pat)?,
                            if ctor == "Some" { "Option" } else { "Result" },
                            self.text(&pt.ty)?,
                            if ctor == "Some" { "" } else { ", _" }
                        ),
                        p => format!("{ctor}({})", self.text(p)?),
                    };
                    let range = self.src.offset(start)?..self.range(local)?.end;
                    return Some(Candidate {
                        strategy: "let-else-return",
                        edits: vec![Edit::replace(
                            range,
                            format!("let {pat} = {opt} else {{{nl}{inner}{ret}{nl}{indent}}};"),
                        )],
                        explanation: format!(
                            "Binds the value with `let {ctor}(..) = .. else {{ .. }}`: when {why}, {words} instead of panicking."
                        ),
                    });
                }
            }
        }
        let (at, indent) = self.guard_point()?;
        let inner = format!("{indent}{}", self.unit);
        let (ret, words) = self.early_return(&inner)?;
        let name = self.fresh("value");
        let replacement = match assign_to {
            Some(place) => format!("{place} = {name}"),
            None => name.clone(),
        };
        Some(Candidate {
            strategy: "let-else-return",
            edits: vec![
                Edit::insert(
                    at,
                    format!("{indent}let {ctor}({name}) = {opt} else {{{nl}{inner}{ret}{nl}{indent}}};{nl}"),
                ),
                Edit::replace(self.range(target)?, replacement),
            ],
            explanation: format!(
                "Binds the value first with `let {ctor}({name}) = .. else {{ .. }}`: when {why}, {words} instead of panicking."
            ),
        })
    }

    /// All fitting candidates, best first.
    pub(crate) fn candidates(&self) -> Vec<Candidate> {
        let out = match (self.class, self.loc.expr) {
            (c, Expr::MethodCall(m)) if c.is_unwrap() => self.unwrap(m),
            (c, Expr::Index(i)) if c.is_index() => self.index(i),
            (PanicClass::VecPosition, Expr::MethodCall(m)) => self.vec_position(m),
            (PanicClass::DivZero | PanicClass::RemZero, Expr::Binary(b)) => self.div(b),
            (PanicClass::Overflow(op), Expr::Binary(b)) => self.overflow(b, op),
            (PanicClass::Overflow(OverflowOp::Neg), Expr::Unary(u)) => self.negate(u),
            _ => None,
        };
        out.unwrap_or_default().into_iter().flatten().collect()
    }

    fn unwrap(&self, m: &'ast syn::ExprMethodCall) -> Option<Vec<Option<Candidate>>> {
        let none = self.class == PanicClass::UnwrapNone;
        let recv = self.text(&*m.receiver)?;
        let call_end = self.range(m)?.end;
        let recv_end = self.range(&*m.receiver)?.end;
        let dot_start = self.src.offset(m.dot_token.span.start())?;
        let method = m.method.to_string();
        let msg = match m.args.first() {
            Some(Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. })) => s.value(),
            _ if none => format!("{} returned no value", describe(&m.receiver, recv)),
            _ => format!("{} failed", describe(&m.receiver, recv)),
        };
        let q = |text: &str, strategy: &'static str, explanation: String| Candidate {
            strategy,
            edits: vec![Edit::replace(recv_end..call_end, text)],
            explanation,
        };
        let dot = |text: String, strategy: &'static str, explanation: String| Candidate {
            strategy,
            edits: vec![Edit::replace(dot_start..call_end, text)],
            explanation,
        };
        let f = &self.fn_name;
        let mut out = Vec::new();
        if self.can_return {
            match (&self.ret, none) {
                (ReturnKind::Option, true) => out.push(Some(q(
                    "?",
                    "question-mark",
                    format!("Replaces `.{method}()` with `?`: `{f}` returns an `Option`, so a missing value now makes it return `None` instead of panicking."),
                ))),
                (ReturnKind::Option, false) => out.push(Some(dot(
                    ".ok()?".into(),
                    "question-mark",
                    format!("Replaces `.{method}()` with `.ok()?`: `{f}` returns an `Option`, so an error now makes it return `None` instead of panicking."),
                ))),
                (ReturnKind::Result(_), true) => out.push(self.ret.ok_or_suffix(&msg).map(|s| {
                    dot(
                        format!("{s}?"),
                        "question-mark",
                        format!("Replaces `.{method}()` with `{s}?`: `{f}` returns a `Result`, so a missing value now becomes an error the caller handles instead of a panic."),
                    )
                })),
                (ReturnKind::Result(kind), false) => {
                    let words = format!("`{f}` returns a `Result`, so the error now goes to the caller instead of panicking.");
                    match kind {
                        ErrKind::String => out.push(Some(dot(
                            ".map_err(|e| e.to_string())?".into(),
                            "question-mark",
                            format!("Replaces `.{method}()` with `.map_err(|e| e.to_string())?`: {words}"),
                        ))),
                        ErrKind::StaticStr => out.push(Some(dot(
                            format!(".map_err(|_| {msg:?})?"),
                            "question-mark",
                            format!("Replaces `.{method}()` with `.map_err(..)?`: {words}"),
                        ))),
                        _ => {}
                    }
                    out.push(Some(q("?", "question-mark", format!("Replaces `.{method}()` with `?`: {words}"))));
                }
                _ => {}
            }
        }
        let why = if none {
            format!("`{}` has no value", short(recv))
        } else {
            format!("`{}` fails", short(recv))
        };
        out.push(self.let_else(recv, if none { "Some" } else { "Ok" }, None, &why));
        out.push(Some(dot(
            ".unwrap_or_default()".into(),
            "unwrap-or-default",
            format!(
                "Replaces `.{method}()` with `.unwrap_or_default()`: when {why}, the type's default value is used instead of panicking."
            ),
        )));
        Some(out)
    }

    fn index(&self, ix: &'ast syn::ExprIndex) -> Option<Vec<Option<Candidate>>> {
        let base = self.text(&*ix.expr)?;
        let idx = self.text(&*ix.index)?;
        let target = self.loc.expr;
        let parent = self.loc.parent_expr();
        let is = |e: &Expr| std::ptr::eq(e, target);
        // How the indexed place is used decides the `get` form.
        let (replace, method, deref, by_ref) = match parent {
            Some(p @ Expr::Reference(r)) if is(&r.expr) => (
                self.range(p)?,
                if r.mutability.is_some() { "get_mut" } else { "get" },
                false,
                true,
            ),
            Some(Expr::MethodCall(m)) if is(&m.receiver) => (self.range(target)?, "get", false, false),
            Some(Expr::Field(f)) if is(&f.base) => (self.range(target)?, "get", false, false),
            Some(Expr::Index(i)) if is(&i.expr) => (self.range(target)?, "get", false, false),
            Some(Expr::Assign(a)) if is(&a.left) => (self.range(target)?, "get_mut", true, false),
            Some(Expr::Binary(b)) if is(&b.left) && is_assign_op(&b.op) => {
                (self.range(target)?, "get_mut", true, false)
            }
            _ => (self.range(target)?, "get", true, false),
        };
        let recv = postfix(&ix.expr, base);
        let star = if deref { "*" } else { "" };
        let access = |suffix: &str| format!("{star}{recv}.{method}({idx}){suffix}");
        let edit = |text: String| vec![Edit::replace(replace.clone(), text)];
        let what = format!("`{}[{}]`", short(base), short(idx));
        let (miss, missing) = if self.class == PanicClass::MissingKey {
            ("a missing key", "key not found")
        } else {
            ("an out-of-range index", "index out of range")
        };
        let f = &self.fn_name;
        let mut out = Vec::new();
        if self.can_return && self.ret == ReturnKind::Option {
            out.push(Some(Candidate {
                strategy: "question-mark",
                edits: edit(access("?")),
                explanation: format!("Replaces {what} with `.{method}(..)?`: `{f}` returns an `Option`, so {miss} now makes it return `None` instead of panicking."),
            }));
        }
        if self.can_return {
            if let Some(s) = self.ret.ok_or_suffix(missing) {
                out.push(Some(Candidate {
                    strategy: "question-mark",
                    edits: edit(access(&format!("{s}?"))),
                    explanation: format!("Replaces {what} with `.{method}(..){s}?`: `{f}` returns a `Result`, so {miss} now becomes an error for the caller instead of a panic."),
                }));
            }
        }
        let pure = is_pure(&ix.expr) && is_pure(&ix.index);
        let range = match &*ix.index {
            Expr::Range(r) => Some(r),
            _ => None,
        };
        if self.class == PanicClass::CharBoundary && pure {
            if let Some(r) = range {
                out.push(self.floor_bounds(&recv, r));
            }
        }
        if pure {
            let cond = match (self.class, range) {
                (PanicClass::CharBoundary, Some(r)) => {
                    let bounds: Vec<String> = [r.start.as_deref(), r.end.as_deref()]
                        .into_iter()
                        .flatten()
                        .filter_map(|b| self.text(b))
                        .map(|b| format!("!{recv}.is_char_boundary({})", unparen(b)))
                        .collect();
                    if matches!(r.limits, syn::RangeLimits::Closed(_)) || bounds.is_empty() {
                        format!("{recv}.get({idx}).is_none()")
                    } else {
                        bounds.join(" || ")
                    }
                }
                (PanicClass::IndexOob, None) => format!("{} >= {recv}.len()", binary_operand(&ix.index, idx)),
                (PanicClass::MissingKey, _) => format!("!{recv}.contains_key({idx})"),
                _ => format!("{recv}.get({idx}).is_none()"),
            };
            let why = match self.class {
                PanicClass::CharBoundary => format!("a bound of {what} is not on a char boundary"),
                PanicClass::MissingKey => format!("the map has no entry for the key of {what}"),
                _ => format!("{what} would be out of range"),
            };
            out.push(self.guard(&cond, &why));
        }
        let fallback = if by_ref {
            Some(format!("{recv}.{method}({idx}).unwrap_or_default()"))
        } else if deref && method == "get" {
            Some(format!("{recv}.get({idx}).copied().unwrap_or_default()"))
        } else {
            None
        };
        if let Some(text) = fallback {
            out.push(Some(Candidate {
                strategy: "get-or-default",
                edits: edit(text),
                explanation: format!("Replaces {what} with `.{method}(..)` and falls back to the default (empty) value for {miss}, instead of panicking."),
            }));
        }
        Some(out)
    }

    /// `x << n` / `x >> n` with `n` at least the bit width: `checked_sh*`
    /// takes a `u32`, so the amount goes through `u32::try_from` (any
    /// integer type, no truncation); every bit shifted out leaves 0.
    fn shift(
        &self,
        b: &'ast syn::ExprBinary,
        op: OverflowOp,
        lhs: String,
        rhs: &str,
        place: &str,
        compound: bool,
    ) -> Option<Vec<Option<Candidate>>> {
        let name = op.name();
        let checked = format!(
            "u32::try_from({}).ok().and_then(|n| {lhs}.checked_{name}(n))",
            unparen(rhs)
        );
        let assign = |value: String| if compound { format!("{place} = {value}") } else { value };
        let target = self.range(b)?;
        let f = &self.fn_name;
        let what = format!("`{}`", short(self.text(b)?));
        let mut out = Vec::new();
        if self.can_return && self.ret == ReturnKind::Option {
            out.push(Some(Candidate {
                strategy: "question-mark",
                edits: vec![Edit::replace(target.clone(), assign(format!("{checked}?")))],
                explanation: format!("Replaces {what} with `checked_{name}(..)?`: `{f}` returns an `Option`, so a shift by the bit width or more now makes it return `None` instead of panicking."),
            }));
        }
        out.push(Some(Candidate {
            strategy: "checked-or-zero",
            edits: vec![Edit::replace(target, assign(format!("{checked}.unwrap_or(0)")))],
            explanation: format!("Replaces {what} with `checked_{name}(..).unwrap_or(0)`: shifting by the bit width or more shifts every bit out, so the result is 0 instead of a panic."),
        }));
        Some(out)
    }

    /// `v.remove(i)` / `v.swap_remove(i)` / `v.insert(i, x)` with a position
    /// past the end: a guard before the statement.
    fn vec_position(&self, m: &'ast syn::ExprMethodCall) -> Option<Vec<Option<Candidate>>> {
        let index = m.args.first()?;
        if !is_pure(&m.receiver) || !is_pure(index) {
            return None;
        }
        let recv = postfix(&m.receiver, self.text(&*m.receiver)?);
        let idx = binary_operand(index, self.text(index)?);
        let (cond, bound) = if m.method == "insert" {
            (format!("{idx} > {recv}.len()"), "after the end")
        } else {
            (format!("{idx} >= {recv}.len()"), "at or after the end")
        };
        let why = format!("the position passed to `{}` is {bound} of `{}`", m.method, short(&recv));
        Some(vec![self.guard(&cond, &why)])
    }

    /// For a `str` range: moves each bound down to the nearest char
    /// boundary before slicing (keeps "at most N bytes" contracts).
    fn floor_bounds(&self, recv: &str, r: &'ast syn::ExprRange) -> Option<Candidate> {
        // `..=end` needs `end + 1` on a boundary: not this template's shape.
        if matches!(r.limits, syn::RangeLimits::Closed(_)) {
            return None;
        }
        let (at, indent) = self.guard_point()?;
        let nl = self.nl;
        let inner = format!("{indent}{}", self.unit);
        let mut edits = Vec::new();
        let mut insert = String::new();
        let mut taken: HashSet<String> = HashSet::new();
        for (bound, base) in [(r.start.as_deref(), "start"), (r.end.as_deref(), "end")] {
            let Some(b) = bound else { continue };
            if matches!(b, Expr::Lit(syn::ExprLit { lit: Lit::Int(i), .. }) if i.base10_digits() == "0") {
                continue;
            }
            let mut name = self.fresh(base);
            while taken.contains(&name) {
                name.push('_');
            }
            taken.insert(name.clone());
            let text = self.text(b)?;
            insert.push_str(&format!(
                "{indent}let mut {name} = {text};{nl}{indent}while !{recv}.is_char_boundary({name}) {{{nl}{inner}{name} -= 1;{nl}{indent}}}{nl}"
            ));
            edits.push(Edit::replace(self.range(b)?, name));
        }
        if edits.is_empty() {
            return None;
        }
        edits.push(Edit::insert(at, insert));
        Some(Candidate {
            strategy: "floor-char-boundary",
            edits,
            explanation: "Moves the slice bounds down to the nearest char boundary before slicing, so the string is cut before the multi-byte character instead of panicking.".into(),
        })
    }

    fn div(&self, b: &'ast syn::ExprBinary) -> Option<Vec<Option<Candidate>>> {
        let rem = self.class == PanicClass::RemZero;
        let method = if rem { "checked_rem" } else { "checked_div" };
        let lhs = self.text(&*b.left)?;
        let rhs = self.text(&*b.right)?;
        let compound = is_assign_op(&b.op);
        let target = self.range(self.loc.expr)?;
        let f = &self.fn_name;
        let what = format!("`{}`", short(self.text(self.loc.expr)?));
        let op_words = if rem { "remainder" } else { "division" };
        // An unsuffixed literal receiver has no type for method lookup.
        let typed_lhs = !is_untyped_int(&b.left) && (!compound || is_pure(&b.left));
        let call = |suffix: &str| {
            let call = format!("{}.{method}({}){suffix}", postfix(&b.left, lhs), unparen(rhs));
            if compound {
                format!("{lhs} = {call}")
            } else {
                call
            }
        };
        let mut out = Vec::new();
        if typed_lhs && self.can_return && self.ret == ReturnKind::Option {
            out.push(Some(Candidate {
                strategy: "question-mark",
                edits: vec![Edit::replace(target.clone(), call("?"))],
                explanation: format!("Replaces {what} with `{method}(..)?`: `{f}` returns an `Option`, so a zero divisor now makes it return `None` instead of panicking."),
            }));
        }
        if typed_lhs && self.can_return {
            if let Some(s) = self.ret.ok_or_suffix(&format!("{op_words} by zero")) {
                out.push(Some(Candidate {
                    strategy: "question-mark",
                    edits: vec![Edit::replace(target.clone(), call(&format!("{s}?")))],
                    explanation: format!("Replaces {what} with `{method}(..){s}?`: `{f}` returns a `Result`, so a zero divisor now becomes an error for the caller instead of a panic."),
                }));
            }
        }
        if is_pure(&b.right) {
            out.push(self.guard(
                &format!("{} == 0", binary_operand(&b.right, rhs)),
                &format!("the divisor `{}` is zero", short(unparen(rhs))),
            ));
        }
        if typed_lhs {
            out.push(Some(Candidate {
                strategy: "checked-or-zero",
                edits: vec![Edit::replace(target, call(".unwrap_or(0)"))],
                explanation: format!("Replaces {what} with `{method}(..).unwrap_or(0)`: a zero divisor now gives 0 instead of panicking."),
            }));
        }
        Some(out)
    }

    fn negate(&self, u: &'ast syn::ExprUnary) -> Option<Vec<Option<Candidate>>> {
        if is_untyped_int(&u.expr) {
            return Some(Vec::new());
        }
        let operand = postfix(&u.expr, self.text(&*u.expr)?);
        let target = self.range(self.loc.expr)?;
        let what = format!("`{}`", short(self.text(self.loc.expr)?));
        let f = &self.fn_name;
        let mut out = Vec::new();
        if self.can_return && self.ret == ReturnKind::Option {
            out.push(Some(Candidate {
                strategy: "question-mark",
                edits: vec![Edit::replace(target.clone(), format!("{operand}.checked_neg()?"))],
                explanation: format!("Replaces {what} with `checked_neg()?`: `{f}` returns an `Option`, so negating the minimum value now makes it return `None` instead of panicking."),
            }));
        }
        out.push(Some(Candidate {
            strategy: "saturating",
            edits: vec![Edit::replace(target, format!("{operand}.saturating_neg()"))],
            explanation: format!("Replaces {what} with `saturating_neg()`: negating the type's minimum now gives its maximum instead of overflowing and panicking."),
        }));
        out.push(self.let_else(
            &format!("{operand}.checked_neg()"),
            "Some",
            None,
            &format!("{what} would overflow"),
        ));
        Some(out)
    }

    fn overflow(&self, b: &'ast syn::ExprBinary, op: OverflowOp) -> Option<Vec<Option<Candidate>>> {
        let compound = is_assign_op(&b.op);
        if compound && !is_pure(&b.left) {
            return Some(Vec::new());
        }
        let (mut left, mut right) = (&*b.left, &*b.right);
        if is_untyped_int(left) {
            // `1 + x` has no receiver type; addition and multiplication
            // commute, the others cannot be rewritten safely.
            if compound || !matches!(op, OverflowOp::Add | OverflowOp::Mul) || is_untyped_int(right) {
                return Some(Vec::new());
            }
            std::mem::swap(&mut left, &mut right);
        }
        let lhs = self.text(left)?;
        let rhs = self.text(right)?;
        let place = self.text(&*b.left)?;
        let name = op.name();
        if matches!(op, OverflowOp::Shl | OverflowOp::Shr) {
            return self.shift(b, op, postfix(left, lhs), rhs, place, compound);
        }
        let call = |kind: &str, suffix: &str| {
            let call = format!("{}.{kind}_{name}({}){suffix}", postfix(left, lhs), unparen(rhs));
            if compound {
                format!("{place} = {call}")
            } else {
                call
            }
        };
        let target = self.range(self.loc.expr)?;
        let f = &self.fn_name;
        let what = format!("`{}`", short(self.text(self.loc.expr)?));
        let mut out = Vec::new();
        if self.can_return && self.ret == ReturnKind::Option {
            out.push(Some(Candidate {
                strategy: "question-mark",
                edits: vec![Edit::replace(target.clone(), call("checked", "?"))],
                explanation: format!("Replaces {what} with `checked_{name}(..)?`: `{f}` returns an `Option`, so an overflow now makes it return `None` instead of panicking."),
            }));
        }
        if self.can_return {
            if let Some(s) = self.ret.ok_or_suffix("arithmetic overflow") {
                out.push(Some(Candidate {
                    strategy: "question-mark",
                    edits: vec![Edit::replace(target.clone(), call("checked", &format!("{s}?")))],
                    explanation: format!("Replaces {what} with `checked_{name}(..){s}?`: `{f}` returns a `Result`, so an overflow now becomes an error for the caller instead of a panic."),
                }));
            }
        }
        let clamp = match op {
            OverflowOp::Sub => "at zero (or the type's minimum)",
            _ => "at the type's bounds",
        };
        out.push(Some(Candidate {
            strategy: "saturating",
            edits: vec![Edit::replace(target, call("saturating", ""))],
            explanation: format!("Replaces {what} with `saturating_{name}(..)`: the result now stops {clamp} instead of overflowing and panicking."),
        }));
        let checked = format!("{}.checked_{name}({})", postfix(left, lhs), unparen(rhs));
        out.push(self.let_else(
            &checked,
            "Some",
            compound.then_some(place),
            &format!("{what} would overflow"),
        ));
        Some(out)
    }
}

/// `Err(..)` expressions in `return Err(..)`, outside closures and nested
/// items, in source order.
#[derive(Default)]
struct ErrReturns<'ast> {
    found: Vec<&'ast Expr>,
}

impl<'ast> Visit<'ast> for ErrReturns<'ast> {
    fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
        if let Some(e) = &r.expr {
            if let Expr::Call(c) = &**e {
                if matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Err")) {
                    self.found.push(e);
                }
            }
        }
        syn::visit::visit_expr_return(self, r);
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Single-segment lower-case paths (local variables) an expression names;
/// any macro makes it unusable (its tokens are opaque).
#[derive(Default)]
struct LocalNames(HashSet<String>);

impl<'ast> Visit<'ast> for LocalNames {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_none() && p.path.segments.len() == 1 {
            let name = p.path.segments[0].ident.to_string();
            if name.starts_with(|c: char| c.is_lowercase() || c == '_') {
                self.0.insert(name);
            }
        }
        syn::visit::visit_expr_path(self, p);
    }
    fn visit_macro(&mut self, _: &'ast syn::Macro) {
        self.0.insert("<macro>".into());
    }
}

fn is_assign_op(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::AddAssign(_)
            | BinOp::SubAssign(_)
            | BinOp::MulAssign(_)
            | BinOp::DivAssign(_)
            | BinOp::RemAssign(_)
            | BinOp::BitXorAssign(_)
            | BinOp::BitAndAssign(_)
            | BinOp::BitOrAssign(_)
            | BinOp::ShlAssign(_)
            | BinOp::ShrAssign(_)
    )
}

fn is_untyped_int(e: &Expr) -> bool {
    match e {
        Expr::Lit(syn::ExprLit { lit: Lit::Int(i), .. }) => i.suffix().is_empty(),
        Expr::Paren(p) => is_untyped_int(&p.expr),
        Expr::Unary(u) => is_untyped_int(&u.expr),
        _ => false,
    }
}

/// Side-effect-free and cheap, so evaluating it twice (in a guard and at
/// the original site) changes nothing.
fn is_pure(e: &Expr) -> bool {
    match e {
        Expr::Path(_) | Expr::Lit(_) => true,
        Expr::Field(f) => is_pure(&f.base),
        Expr::Paren(p) => is_pure(&p.expr),
        Expr::Reference(r) => r.mutability.is_none() && is_pure(&r.expr),
        Expr::Unary(u) => is_pure(&u.expr),
        Expr::Cast(c) => is_pure(&c.expr),
        Expr::Binary(b) => !is_assign_op(&b.op) && is_pure(&b.left) && is_pure(&b.right),
        Expr::Index(i) => is_pure(&i.expr) && is_pure(&i.index),
        Expr::Range(r) => r.start.as_deref().map_or(true, is_pure) && r.end.as_deref().map_or(true, is_pure),
        Expr::MethodCall(m) => {
            const PURE: &[&str] = &[
                "len", "is_empty", "as_bytes", "as_str", "as_slice", "as_ref", "capacity", "abs",
            ];
            m.args.is_empty() && PURE.iter().any(|p| m.method == p) && is_pure(&m.receiver)
        }
        _ => false,
    }
}

/// `text` of `e` usable as a method-call receiver (parenthesised when
/// needed).
fn postfix(e: &Expr, text: &str) -> String {
    match e {
        Expr::Path(_)
        | Expr::MethodCall(_)
        | Expr::Call(_)
        | Expr::Field(_)
        | Expr::Index(_)
        | Expr::Paren(_)
        | Expr::Macro(_)
        | Expr::Tuple(_)
        | Expr::Array(_)
        | Expr::Try(_) => text.to_string(),
        Expr::Lit(syn::ExprLit { lit, .. }) if !text.starts_with('-') && !matches!(lit, Lit::Float(_)) => {
            text.to_string()
        }
        _ => format!("({text})"),
    }
}

/// `text` of `e` as an operand of a comparison (parenthesised when needed).
fn binary_operand(e: &Expr, text: &str) -> String {
    match e {
        // Arithmetic, bit operations and casts bind tighter than `==`/`>=`.
        Expr::Binary(b)
            if matches!(
                b.op,
                BinOp::And(_)
                    | BinOp::Or(_)
                    | BinOp::Eq(_)
                    | BinOp::Lt(_)
                    | BinOp::Le(_)
                    | BinOp::Ne(_)
                    | BinOp::Ge(_)
                    | BinOp::Gt(_)
            ) || is_assign_op(&b.op) =>
        {
            format!("({text})")
        }
        Expr::Range(_) | Expr::Closure(_) | Expr::Assign(_) | Expr::Let(_) => format!("({text})"),
        _ => text.to_string(),
    }
}

/// One pair of outer parentheses removed (for a call argument).
fn unparen(text: &str) -> &str {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        // Only when the parentheses enclose everything: `(a) + (b)` stays.
        let mut depth = 0i32;
        for c in inner.chars() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return t;
                    }
                }
                _ => {}
            }
        }
        if depth == 0 {
            return inner;
        }
    }
    t
}

/// A short name for the value an expression produces, for error messages:
/// the last call of a chain (`` `max()` ``), else the code cut short.
fn describe(e: &Expr, text: &str) -> String {
    match e {
        Expr::MethodCall(m) => format!("`{}()`", m.method),
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => format!(
                "`{}()`",
                p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default()
            ),
            _ => format!("`{}`", short(text)),
        },
        _ => format!("`{}`", short(text)),
    }
}

/// Code cut to one line of at most 60 chars, for explanations.
fn short(code: &str) -> String {
    let one: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 60 {
        let mut s: String = one.chars().take(57).collect();
        s.push_str("...");
        s
    } else {
        one
    }
}

/// Re-indents a multi-line snippet from `from` to `to` (first line as is).
fn reindent(text: &str, from: &str, to: &str, nl: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if i > 0 {
            out.push_str(nl);
            match line.strip_prefix(from) {
                Some(rest) => {
                    out.push_str(to);
                    out.push_str(rest);
                }
                None => out.push_str(line),
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(unparen("(m * 60)"), "m * 60");
        assert_eq!(unparen("(a) + (b)"), "(a) + (b)");
        assert_eq!(
            reindent("Err(X {\n\t\t\ta: 1,\n\t\t})", "\t\t", "\t\t\t", "\n"),
            "Err(X {\n\t\t\t\ta: 1,\n\t\t\t})"
        );
        assert_eq!(short("a\n   .b()"), "a .b()");
    }
}
