//! Indexing families: an index or slice out of range, a missing map key, a
//! string sliced inside a character, a `Vec` position past the end.

use std::collections::HashSet;
use std::ops::Range;

use syn::{Expr, Lit};

use super::expr::{binary_operand, is_assign_op, is_pure, postfix, unparen};
use super::{Site, StrategyFix};
use crate::generate::template::short;
use crate::generate::template::signature::ReturnKind;
use crate::generate::template::source::Edit;
use crate::panic_class::PanicClass;

/// How the indexed place is used, which decides the `get` form.
struct Access {
    /// The span the `get` call replaces (the index, or `&v[i]` as a whole).
    replace: Range<usize>,
    /// `get` or `get_mut`.
    method: &'static str,
    /// The element is used by value: the `get` result is dereferenced.
    deref: bool,
    /// The element is borrowed (`&v[i]`): the `get` result replaces the borrow.
    by_ref: bool,
}

/// What the index site is, in the words and pieces every strategy uses.
struct IndexSite<'s> {
    access: Access,
    /// The indexed value, usable as a method receiver.
    recv: String,
    /// The index's source text.
    idx: &'s str,
    /// `` `v[i]` `` for explanations.
    what: String,
    /// "a missing key" / "an out-of-range index".
    miss: &'static str,
}

impl IndexSite<'_> {
    fn access(&self, suffix: &str) -> String {
        let Access { method, deref, .. } = self.access;
        let star = if deref { "*" } else { "" };
        format!("{star}{}.{method}({}){suffix}", self.recv, self.idx)
    }

    fn edit(&self, text: String) -> Vec<Edit> {
        vec![Edit::replace(self.access.replace.clone(), text)]
    }
}

impl<'ast> Site<'_, 'ast> {
    pub(super) fn index(&self, ix: &'ast syn::ExprIndex) -> Option<Vec<Option<StrategyFix>>> {
        let base = self.text(&*ix.expr)?;
        let idx = self.text(&*ix.index)?;
        let site = IndexSite {
            access: self.index_access()?,
            recv: postfix(&ix.expr, base),
            idx,
            what: format!("`{}[{}]`", short(base), short(idx)),
            miss: if self.class == PanicClass::MissingKey {
                "a missing key"
            } else {
                "an out-of-range index"
            },
        };
        let mut out = self.index_question_marks(&site);
        if is_pure(&ix.expr) && is_pure(&ix.index) {
            let range = match &*ix.index {
                Expr::Range(r) => Some(r),
                _ => None,
            };
            if let (PanicClass::CharBoundary, Some(r)) = (self.class, range) {
                out.push(self.floor_bounds(&site.recv, r));
            }
            out.push(self.index_guard(&site, &ix.index, range));
        }
        out.push(self.index_fallback(&site));
        Some(out)
    }

    /// How the indexed place is used decides the `get` form.
    fn index_access(&self) -> Option<Access> {
        let target = self.loc.expr;
        let is = |e: &Expr| std::ptr::eq(e, target);
        let (replace, method, deref, by_ref) = match self.loc.parent_expr() {
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
        Some(Access {
            replace,
            method,
            deref,
            by_ref,
        })
    }

    /// `.get(..)?` (the function returns `Option`) and `.get(..).ok_or(..)?`
    /// (it returns a `Result` with a writable error).
    fn index_question_marks(&self, site: &IndexSite<'_>) -> Vec<Option<StrategyFix>> {
        let (what, miss, method) = (&site.what, site.miss, site.access.method);
        let missing = if self.class == PanicClass::MissingKey {
            "key not found"
        } else {
            "index out of range"
        };
        let f = &self.fn_name;
        let mut out = Vec::new();
        if self.can_return && self.ret == ReturnKind::Option {
            out.push(Some(StrategyFix {
                strategy: "question-mark",
                edits: site.edit(site.access("?")),
                explanation: format!("Replaces {what} with `.{method}(..)?`: `{f}` returns an `Option`, so {miss} now makes it return `None` instead of panicking."),
            }));
        }
        if self.can_return {
            if let Some((s, chosen)) = self.error_suffix(missing) {
                out.push(Some(StrategyFix {
                    strategy: "question-mark",
                    edits: site.edit(site.access(&format!("{s}?"))),
                    explanation: format!("Replaces {what} with `.{method}(..){s}?`: `{f}` returns a `Result`, so {miss} now becomes an error for the caller instead of a panic.{chosen}"),
                }));
            }
        }
        out
    }

    /// A guard before the statement, checking exactly what the indexing
    /// would panic on (only when index and indexed value are pure).
    fn index_guard(&self, site: &IndexSite<'_>, index: &Expr, range: Option<&syn::ExprRange>) -> Option<StrategyFix> {
        let (recv, idx, what) = (&site.recv, site.idx, &site.what);
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
            (PanicClass::IndexOob, None) => format!("{} >= {recv}.len()", binary_operand(index, idx)),
            (PanicClass::MissingKey, _) => format!("!{recv}.contains_key({idx})"),
            _ => format!("{recv}.get({idx}).is_none()"),
        };
        let why = match self.class {
            PanicClass::CharBoundary => format!("a bound of {what} is not on a char boundary"),
            PanicClass::MissingKey => format!("the map has no entry for the key of {what}"),
            _ => format!("{what} would be out of range"),
        };
        self.guard(&cond, &why)
    }

    /// `.get(..)` falling back to the default value, when the element is
    /// borrowed or copied out.
    fn index_fallback(&self, site: &IndexSite<'_>) -> Option<StrategyFix> {
        let (recv, idx, method) = (&site.recv, site.idx, site.access.method);
        let text = if site.access.by_ref {
            format!("{recv}.{method}({idx}).unwrap_or_default()")
        } else if site.access.deref && method == "get" {
            format!("{recv}.get({idx}).copied().unwrap_or_default()")
        } else {
            return None;
        };
        Some(StrategyFix {
            strategy: "get-or-default",
            edits: site.edit(text),
            explanation: format!(
                "Replaces {} with `.{method}(..)` and falls back to the default (empty) value for {}, instead of panicking.",
                site.what, site.miss
            ),
        })
    }

    /// `v.remove(i)` / `v.swap_remove(i)` / `v.insert(i, x)` with a position
    /// past the end: a guard before the statement.
    pub(super) fn vec_position(&self, m: &'ast syn::ExprMethodCall) -> Option<Vec<Option<StrategyFix>>> {
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

    /// `s.split_at(mid)` with `mid` past the end, or inside a character:
    /// the position moved to where the split can happen (the end, or the
    /// char boundary below), else a guard before the statement.
    pub(super) fn split_position(&self, m: &'ast syn::ExprMethodCall) -> Option<Vec<Option<StrategyFix>>> {
        let index = m.args.first()?;
        if !is_pure(&m.receiver) || !is_pure(index) {
            return None;
        }
        let recv = postfix(&m.receiver, self.text(&*m.receiver)?);
        let idx = self.text(index)?;
        let what = format!("`{}.{}({})`", short(&recv), m.method, short(idx));
        let mut out = Vec::new();
        if self.class == PanicClass::CharBoundary {
            let (at, indent) = self.guard_point()?;
            let name = self.fresh("mid");
            out.push(Some(StrategyFix {
                strategy: "floor-char-boundary",
                edits: vec![
                    Edit::insert(at, self.floor_to_boundary(&recv, &name, idx, &indent)),
                    Edit::replace(self.range(index)?, name),
                ],
                explanation: format!("Moves the position of {what} down to the nearest char boundary (the end at most), so the string is split before the multi-byte character instead of panicking."),
            }));
        } else {
            out.push(Some(StrategyFix {
                strategy: "clamp-position",
                edits: vec![Edit::replace(
                    self.range(index)?,
                    format!("{}.min({recv}.len())", postfix(index, idx)),
                )],
                explanation: format!("Clamps the position of {what} to the length, so a position past the end splits at the end (everything before, nothing after) instead of panicking."),
            }));
        }
        let cond = format!("{} > {recv}.len()", binary_operand(index, idx));
        out.push(self.guard(&cond, &format!("the position passed to {what} is past the end")));
        Some(out)
    }

    /// The statements binding `name` to `start` moved down to a char
    /// boundary of `recv` (the end at most), indented by `indent`.
    fn floor_to_boundary(&self, recv: &str, name: &str, start: &str, indent: &str) -> String {
        let (nl, unit) = (self.nl, &self.unit);
        format!(
            "{indent}let mut {name} = {start};{nl}{indent}while !{recv}.is_char_boundary({name}) {{{nl}{indent}{unit}{name} -= 1;{nl}{indent}}}{nl}"
        )
    }

    /// For a `str` range: moves each bound down to the nearest char
    /// boundary before slicing (keeps "at most N bytes" contracts).
    fn floor_bounds(&self, recv: &str, r: &'ast syn::ExprRange) -> Option<StrategyFix> {
        // `..=end` needs `end + 1` on a boundary: not this template's shape.
        if matches!(r.limits, syn::RangeLimits::Closed(_)) {
            return None;
        }
        let (at, indent) = self.guard_point()?;
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
            insert.push_str(&self.floor_to_boundary(recv, &name, text, &indent));
            edits.push(Edit::replace(self.range(b)?, name));
        }
        if edits.is_empty() {
            return None;
        }
        edits.push(Edit::insert(at, insert));
        Some(StrategyFix {
            strategy: "floor-char-boundary",
            edits,
            explanation: "Moves the slice bounds down to the nearest char boundary before slicing, so the string is cut before the multi-byte character instead of panicking.".into(),
        })
    }
}
