//! A number type's own division panicking on a zero divisor (`impl Div for
//! Decimal`: `panic!("Division by zero")` in a function that must return
//! a `Decimal`): the operator cannot refuse, so the fix goes where the
//! division is written, up the stack (`C4 / (self * C256)` in `ln`), as a
//! guard on the divisor with the type's own zero test (`is_zero()`).
//!
//! The guard returns the caller's error or `None` when it has one; else
//! the answer the caller already gives for input outside its domain: the
//! constant `else` branch of the `if` its result comes from, when that
//! `if` tests the same variables (`if self.is_sign_positive() { .. } else
//! { Decimal::ZERO }`). That answer is borrowed for one more input, so
//! the fix is reviewed ([`Patch::invented_value`](crate::Patch::invented_value)).

use syn::spanned::Spanned;
use syn::{Expr, Stmt};

use super::expr::{is_pure, postfix};
use super::{Site, StrategyFix};
use crate::generate::template::short;
use crate::generate::template::source::Edit;

/// Operator methods that divide.
const DIVIDING: &[&str] = &["div", "rem", "div_assign", "rem_assign"];

/// Whether the panic is a dividing operator's own, on a zero divisor: the
/// site's function is `div`/`rem` (an operator trait's method) and the
/// message says "by zero".
pub(crate) fn is_operator_division_by_zero(fn_name: &str, message: &str) -> bool {
    DIVIDING.contains(&fn_name) && message.to_lowercase().contains("by zero")
}

impl Site<'_, '_> {
    /// At the caller's division (`self.loc.expr` is `a / d` or `a % d`): a
    /// guard `if d.is_zero() { return ..; }` before its statement, and the
    /// value it makes up, if any (see the module's docs).
    pub(crate) fn divisor_guard(&self) -> Option<(StrategyFix, Option<String>)> {
        let Expr::Binary(b) = self.loc.expr else {
            return None;
        };
        if !matches!(b.op, syn::BinOp::Div(_) | syn::BinOp::Rem(_)) || !is_pure(&b.right) {
            return None;
        }
        let divisor = self.text(&*b.right)?;
        let cond = format!("{}.is_zero()", postfix(&b.right, divisor));
        let why = format!("the divisor `{}` is zero", short(divisor));
        if self.has_error_channel() {
            let mut fix = self.guard(&cond, &why)?;
            fix.strategy = "divisor-guard";
            return Some((fix, None));
        }
        let value = self.out_of_domain_answer(&b.right)?;
        let (at, indent) = self.guard_point()?;
        let nl = self.nl;
        let inner = format!("{indent}{}", self.unit);
        let f = &self.fn_name;
        Some((
            StrategyFix {
                strategy: "divisor-fallback",
                edits: vec![Edit::insert(
                    at,
                    format!("{indent}if {cond} {{{nl}{inner}return {value};{nl}{indent}}}{nl}"),
                )],
                explanation: format!(
                    "Adds a guard before the division in `{f}`: when {why}, `{f}` returns `{}`, its answer for input it does not take (the `else` of the `if` its result comes from), instead of the division panicking.",
                    short(&value)
                ),
            },
            Some(format!(
                "`{}`, the function's answer for other input it does not take",
                short(&value)
            )),
        ))
    }

    /// The constant the function returns for input outside its domain: the
    /// `else` block of an `if` that is the body's tail (or nested as the
    /// tail of its branches), holding the site in its `then` branch, whose
    /// condition names a variable `divisor` names, and whose `else` is one
    /// constant (a path such as `Decimal::ZERO`, or a literal).
    fn out_of_domain_answer(&self, divisor: &Expr) -> Option<String> {
        let used = super::guard::names(divisor);
        let line = self.loc.expr.span().start().line;
        let mut tail = tail_expr(self.body?)?;
        loop {
            let Expr::If(i) = tail else {
                return None;
            };
            let then = i.then_branch.span();
            if !(then.start().line <= line && line <= then.end().line) {
                return None;
            }
            if let Some((_, otherwise)) = &i.else_branch {
                if let Expr::Block(b) = &**otherwise {
                    let shares = !super::guard::names(&i.cond).is_disjoint(&used);
                    if let (true, Some(v)) = (shares, tail_expr(&b.block).filter(|e| constant(e))) {
                        return self.text(v).map(str::to_string);
                    }
                }
            }
            tail = tail_expr(&i.then_branch)?;
        }
    }
}

/// A block's tail expression (its value), when its last statement is one.
fn tail_expr(b: &syn::Block) -> Option<&Expr> {
    match b.stmts.last()? {
        Stmt::Expr(e, None) => Some(e),
        _ => None,
    }
}

/// A constant: a literal, or a path of two or more segments or in capitals
/// (`Decimal::ZERO`, `MAX`).
fn constant(e: &Expr) -> bool {
    match e {
        Expr::Lit(_) => true,
        Expr::Path(p) => {
            p.qself.is_none()
                && (p.path.segments.len() >= 2
                    || p.path.get_ident().is_some_and(|i| {
                        let s = i.to_string();
                        s.chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    }))
        }
        _ => false,
    }
}
