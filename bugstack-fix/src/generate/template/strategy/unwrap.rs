//! `unwrap()` / `expect()` on `None` or `Err` (parse errors included).

use syn::{Expr, Lit};

use super::expr::describe;
use super::{Site, StrategyFix};
use crate::generate::template::short;
use crate::generate::template::signature::{ErrKind, ReturnKind};
use crate::generate::template::source::Edit;
use crate::panic_class::PanicClass;

impl<'ast> Site<'_, 'ast> {
    pub(super) fn unwrap(&self, m: &'ast syn::ExprMethodCall) -> Option<Vec<Option<StrategyFix>>> {
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
        let q = |text: &str, strategy: &'static str, explanation: String| StrategyFix {
            strategy,
            edits: vec![Edit::replace(recv_end..call_end, text)],
            explanation,
        };
        let dot = |text: String, strategy: &'static str, explanation: String| StrategyFix {
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
                (ReturnKind::Result(_), true) => out.push(self.error_suffix(&msg).map(|(s, chosen)| {
                    dot(
                        format!("{s}?"),
                        "question-mark",
                        format!("Replaces `.{method}()` with `{s}?`: `{f}` returns a `Result`, so a missing value now becomes an error the caller handles instead of a panic.{chosen}"),
                    )
                })),
                (ReturnKind::Result(kind), false) => {
                    let words = format!("`{f}` returns a `Result`, so the error now goes to the caller instead of panicking.");
                    // An existing error that names what failed reads better
                    // than a conversion the error type may not have.
                    if let Some(c) = self.chosen_error().filter(|c| c.matched && !c.value.contains('\n')) {
                        out.push(Some(dot(
                            format!(".map_err(|_| {})?", c.value),
                            "map-err-existing",
                            format!("Replaces `.{method}()` with `.map_err(|_| {})?`: {words} It returns `{}`: {}.", short(&c.value), short(&c.value), c.why),
                        )));
                    }
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
}
