//! Explicit panics (`panic!`, `unreachable!`, a failed `assert!`,
//! `assert_eq!`, `assert_ne!`) in a function that returns `Result` or
//! `Option`: the panic becomes the function's error (chosen as in
//! [`super::error_choice`]) or `None`.

use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Stmt};

use super::expr::binary_operand;
use super::{Site, StrategyFix};
use crate::generate::template::short;
use crate::generate::template::signature::ReturnKind;
use crate::generate::template::source::Edit;

impl Site<'_, '_> {
    pub(super) fn explicit(&self, mac: &syn::Macro) -> Option<Vec<Option<StrategyFix>>> {
        if !self.can_return {
            return None;
        }
        let name = mac.path.segments.last()?.ident.to_string();
        let (value, words) = self.error_or_none()?;
        let f = &self.fn_name;
        let target = self.range(self.loc.expr)?;
        let what = format!("`{}!`", name);
        match name.as_str() {
            "panic" | "unreachable" => Some(vec![Some(StrategyFix {
                strategy: if self.ret == ReturnKind::Option { "panic-to-none" } else { "panic-to-error" },
                edits: vec![Edit::replace(target, format!("return {value}"))],
                explanation: format!(
                    "Replaces {what} with `return {}`: `{f}` returns {}, so the case the code assumed impossible now {words} instead of panicking.",
                    short(&value),
                    if self.ret == ReturnKind::Option { "an `Option`" } else { "a `Result`" }
                ),
            })]),
            _ => {
                let cond = failed_condition(&name, mac, self)?;
                // The whole statement, `;` included, becomes the `if`.
                let (range, indent) = match self.stmt {
                    Some((Stmt::Macro(sm), _)) => {
                        let start = sm.span().start();
                        let indent = self
                            .src
                            .first_on_line(start)
                            .then(|| self.src.indent_of(start.line).to_string());
                        (self.range(sm)?, indent)
                    }
                    Some((Stmt::Expr(e, Some(_)), _)) if std::ptr::eq(e, self.loc.expr) => {
                        let start = e.span().start();
                        let indent = self
                            .src
                            .first_on_line(start)
                            .then(|| self.src.indent_of(start.line).to_string());
                        (self.range(self.stmt?.0)?, indent)
                    }
                    _ => return None,
                };
                let nl = self.nl;
                let text = match indent {
                    Some(indent) => {
                        format!("if {cond} {{{nl}{indent}{}return {value};{nl}{indent}}}", self.unit)
                    }
                    None => format!("if {cond} {{ return {value}; }}"),
                };
                Some(vec![Some(StrategyFix {
                    strategy: if self.ret == ReturnKind::Option { "assert-to-none" } else { "assert-to-error" },
                    edits: vec![Edit::replace(range, text)],
                    explanation: format!(
                        "Replaces {what} with `if {} {{ return {} }}`: when the assertion does not hold, `{f}` {words} instead of panicking.",
                        short(&cond),
                        short(&value)
                    ),
                })])
            }
        }
    }

    /// What a failed case returns: `None`, the chosen existing error, or a
    /// new error with the macro's message; with the words for the
    /// explanation.
    fn error_or_none(&self) -> Option<(String, String)> {
        match self.ret {
            ReturnKind::Option => Some(("None".into(), "returns `None`".into())),
            ReturnKind::Result(_) => {
                if let Some(c) = self.chosen_error().filter(|c| !c.value.contains('\n')) {
                    return Some((
                        format!("Err({})", c.value),
                        format!("returns `Err({})` ({})", short(&c.value), c.why),
                    ));
                }
                let v = self.ret.err_value(&self.error_message())?;
                Some((v, "returns a new error carrying the panic's message".into()))
            }
            _ => None,
        }
    }
}

/// The condition under which the assertion fails (`!(cond)`, `a != b`).
fn failed_condition(name: &str, mac: &syn::Macro, site: &Site<'_, '_>) -> Option<String> {
    use syn::parse::Parser;
    let args = Punctuated::<Expr, syn::Token![,]>::parse_terminated
        .parse2(mac.tokens.clone())
        .ok()?;
    let text = |e: &Expr| site.text(e).map(str::to_string);
    match name {
        "assert" | "debug_assert" => {
            let c = args.first()?;
            let t = text(c)?;
            Some(match c {
                Expr::Path(_) | Expr::Call(_) | Expr::MethodCall(_) | Expr::Field(_) | Expr::Paren(_) => {
                    format!("!{t}")
                }
                Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => text(&u.expr)?,
                _ => format!("!({t})"),
            })
        }
        "assert_eq" | "debug_assert_eq" | "assert_ne" | "debug_assert_ne" => {
            let (a, b) = (args.first()?, args.iter().nth(1)?);
            let op = if name.ends_with("eq") { "!=" } else { "==" };
            Some(format!(
                "{} {op} {}",
                binary_operand(a, &text(a)?),
                binary_operand(b, &text(b)?)
            ))
        }
        _ => None,
    }
}
