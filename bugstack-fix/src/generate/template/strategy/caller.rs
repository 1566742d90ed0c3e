//! Guards up the stack: when the panic site has no error channel (an index
//! out of bounds in a function returning a plain value), the nearest
//! in-app caller on the stack that returns `Result` or `Option` checks the
//! input before the call, with the condition derived from the failing
//! expression, its parameters replaced by the caller's arguments (frame by
//! frame, through callers that have no error channel either, as long as
//! the condition stays in their parameters).
//!
//! The callee's site gives the condition ([`Site::failing_condition`]); the
//! caller's site, located at the call its frame points at, gives the guard
//! ([`Site::caller_guard`]), returning the caller's own error (chosen as in
//! [`super::error_choice`]) or `None`.

use std::collections::HashMap;

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, FnArg, Pat};

use super::expr::{binary_operand, is_pure, postfix};
use super::{Site, StrategyFix};
use crate::generate::template::short;
use crate::generate::template::signature::ReturnKind;
use crate::generate::template::source::Source;
use crate::panic_class::PanicClass;

/// What the callee panicked on, in terms of its parameters.
#[derive(Debug, Clone)]
pub(crate) struct FailingCondition {
    /// The condition (`i >= v.len()`), naming only parameters.
    cond: String,
    /// The callee's parameters in order (`self` first for a method).
    params: Vec<String>,
    /// The callee's name.
    pub(crate) callee: String,
    /// What fails, for the explanation.
    what: String,
    /// The function the panic is in.
    origin: String,
}

impl Site<'_, '_> {
    /// Whether the site's function has an error channel (`Result` or
    /// `Option`) that a fix can use.
    pub(crate) fn has_error_channel(&self) -> bool {
        self.can_return && matches!(self.ret, ReturnKind::Option | ReturnKind::Result(_))
    }

    /// The condition under which the failing expression panics, when it
    /// names only the function's parameters (and is pure).
    pub(crate) fn failing_condition(&self) -> Option<FailingCondition> {
        let sig = self.sig?;
        let e = self.loc.expr;
        let cond = match (self.class, e) {
            (PanicClass::IndexOob, Expr::Index(ix)) if !matches!(&*ix.index, Expr::Range(_)) => {
                pure(&[&ix.expr, &ix.index])?;
                format!(
                    "{} >= {}.len()",
                    binary_operand(&ix.index, self.text(&*ix.index)?),
                    postfix(&ix.expr, self.text(&*ix.expr)?)
                )
            }
            (PanicClass::SliceRange | PanicClass::CharBoundary, Expr::Index(ix)) => {
                pure(&[&ix.expr, &ix.index])?;
                format!(
                    "{}.get({}).is_none()",
                    postfix(&ix.expr, self.text(&*ix.expr)?),
                    self.text(&*ix.index)?
                )
            }
            (PanicClass::MissingKey, Expr::Index(ix)) => {
                pure(&[&ix.expr, &ix.index])?;
                format!(
                    "!{}.contains_key({})",
                    postfix(&ix.expr, self.text(&*ix.expr)?),
                    self.text(&*ix.index)?
                )
            }
            (PanicClass::DivZero | PanicClass::RemZero, Expr::Binary(b)) => {
                pure(&[&b.right])?;
                format!("{} == 0", binary_operand(&b.right, self.text(&*b.right)?))
            }
            (PanicClass::VecPosition, Expr::MethodCall(m)) => {
                let index = m.args.first()?;
                pure(&[&m.receiver, index])?;
                let op = if m.method == "insert" { ">" } else { ">=" };
                format!(
                    "{} {op} {}.len()",
                    binary_operand(index, self.text(index)?),
                    postfix(&m.receiver, self.text(&*m.receiver)?)
                )
            }
            _ => return None,
        };
        let params = params_of_condition(sig, &cond)?;
        Some(FailingCondition {
            cond,
            params,
            callee: sig.ident.to_string(),
            what: format!("`{}`", short(self.text(e)?)),
            origin: sig.ident.to_string(),
        })
    }

    /// At a caller's site (the call of the failing function): a guard
    /// before the call's statement, returning the caller's error or `None`
    /// when the callee's arguments would make it panic.
    pub(crate) fn caller_guard(&self, failing: &FailingCondition) -> Option<StrategyFix> {
        if !self.has_error_channel() {
            return None;
        }
        let cond = self.substituted(failing)?;
        let why = format!(
            "the arguments would make {} in `{}` panic (it has no error channel of its own)",
            failing.what, failing.origin
        );
        let mut fix = self.guard(&cond, &why)?;
        fix.strategy = "caller-guard";
        fix.explanation = format!(
            "Guards the call of `{}` in `{}`, up the stack where an error can be returned: {}",
            failing.callee, self.fn_name, fix.explanation
        );
        Some(fix)
    }

    /// At a caller with no error channel either: the failing condition in
    /// terms of this caller's own parameters, to carry one frame further
    /// up.
    pub(crate) fn lifted(&self, failing: &FailingCondition) -> Option<FailingCondition> {
        let cond = self.substituted(failing)?;
        let params = params_of_condition(self.sig?, &cond)?;
        Some(FailingCondition {
            cond,
            params,
            callee: self.sig?.ident.to_string(),
            what: failing.what.clone(),
            origin: failing.origin.clone(),
        })
    }

    /// The failing condition with the callee's parameters replaced by this
    /// call's arguments (each pure, so evaluating it twice changes nothing).
    fn substituted(&self, failing: &FailingCondition) -> Option<String> {
        let args: Vec<&Expr> = match self.loc.expr {
            Expr::MethodCall(m) => std::iter::once(&*m.receiver).chain(m.args.iter()).collect(),
            Expr::Call(c) => c.args.iter().collect(),
            _ => return None,
        };
        // A method called as `x.f(a)` maps `self` to `x`; `f(a)` has no
        // `self` unless called as `Type::f(x, a)`.
        if matches!(self.loc.expr, Expr::MethodCall(_)) && failing.params.first().map(String::as_str) != Some("self") {
            return None;
        }
        if args.len() != failing.params.len() {
            return None;
        }
        let mut map = HashMap::new();
        for (p, a) in failing.params.iter().zip(&args) {
            if !is_pure(a) {
                return None;
            }
            let text = self.text(*a)?;
            let simple = matches!(
                a,
                Expr::Path(_) | Expr::Field(_) | Expr::MethodCall(_) | Expr::Lit(_) | Expr::Paren(_) | Expr::Index(_)
            );
            map.insert(p.clone(), if simple { text.to_string() } else { format!("({text})") });
        }
        substitute(&failing.cond, &map)
    }
}

fn pure(exprs: &[&Expr]) -> Option<()> {
    exprs.iter().all(|e| is_pure(e)).then_some(())
}

/// `cond` with every single-segment path in `map` replaced by its value.
fn substitute(cond: &str, map: &HashMap<String, String>) -> Option<String> {
    struct Paths<'m> {
        map: &'m HashMap<String, String>,
        hits: Vec<(proc_macro2::Span, String)>,
    }
    impl<'ast> Visit<'ast> for Paths<'_> {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if p.qself.is_none() && p.path.segments.len() == 1 {
                if let Some(v) = self.map.get(&p.path.segments[0].ident.to_string()) {
                    self.hits.push((p.span(), v.clone()));
                }
            }
        }
    }
    let parsed: Expr = syn::parse_str(cond).ok()?;
    let mut v = Paths { map, hits: Vec::new() };
    v.visit_expr(&parsed);
    let src = Source::new(cond);
    let mut ranges: Vec<(std::ops::Range<usize>, String)> = v
        .hits
        .into_iter()
        .map(|(s, t)| src.range(s).map(|r| (r, t)))
        .collect::<Option<_>>()?;
    ranges.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = cond.to_string();
    for (r, t) in ranges {
        out.replace_range(r, &t);
    }
    Some(out)
}

/// `sig`'s parameter names (`self` for a receiver), when every name
/// `cond` uses is one of them: the condition can be checked where the
/// function is called. `None` for a pattern parameter or a foreign name.
fn params_of_condition(sig: &syn::Signature, cond: &str) -> Option<Vec<String>> {
    let params: Vec<String> = sig
        .inputs
        .iter()
        .map(|a| match a {
            FnArg::Receiver(_) => Some("self".to_string()),
            FnArg::Typed(t) => match &*t.pat {
                Pat::Ident(i) => Some(i.ident.to_string()),
                _ => None,
            },
        })
        .collect::<Option<_>>()?;
    let parsed: Expr = syn::parse_str(cond).ok()?;
    let mut names = super::error_choice::LocalNames::default();
    names.visit_expr(&parsed);
    names.0.iter().all(|n| params.contains(n)).then_some(params)
}
