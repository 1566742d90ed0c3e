//! The early-return shapes every family shares: a guard before the
//! statement, and a `let .. else` binding, both returning the function's
//! natural empty value (or an error it already returns).

use std::collections::BTreeSet;

use syn::spanned::Spanned;
use syn::{Pat, Stmt};

use super::{Site, StrategyFix};
use crate::generate::template::short;
use crate::generate::template::signature::ReturnKind;
use crate::generate::template::source::Edit;

impl<'ast> Site<'_, 'ast> {
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
            if let Some(chosen) = self.chosen_error() {
                let text = reindent(&chosen.value, &chosen.indent, indent, self.nl);
                return Some((
                    format!("return Err({text});"),
                    format!("`{}` returns `Err({})` ({})", self.fn_name, short(&text), chosen.why),
                ));
            }
            let value = self.ret.err_value(&self.error_message())?;
            return Some((
                format!("return {value};"),
                format!("`{}` returns a new error with the panic's message", self.fn_name),
            ));
        }
        None
    }

    /// The statement to put a guard before, when a guard there checks
    /// exactly the panicking evaluation: (insert offset, indentation).
    pub(super) fn guard_point(&self) -> Option<(usize, String)> {
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

    /// `if cond { return ..; }` before the statement; or, when a guard
    /// just before it already leaves this spot for bad data of the same
    /// variables with a `break` or `continue` (`if lo == usize::MAX {
    /// break 'fail; }`), `if cond { break 'fail; }`: the code's own way to
    /// give up here, ranked first (see [`Site::fixes`]).
    pub(super) fn guard(&self, cond: &str, why: &str) -> Option<StrategyFix> {
        let (at, indent) = self.guard_point()?;
        let inner = format!("{indent}{}", self.unit);
        let nl = self.nl;
        let (strategy, body, what) = match self.sibling_exit() {
            Some((exit, line)) => (
                "guard-exit",
                exit.clone(),
                format!("it runs `{exit}` instead of panicking, as the guard on line {line} does for the same data: the code's own way to give up here"),
            ),
            None => {
                let (ret, words) = self.early_return(&inner)?;
                ("guard-return", ret, format!("{words} instead of panicking"))
            }
        };
        Some(StrategyFix {
            strategy,
            edits: vec![Edit::insert(
                at,
                format!("{indent}if {cond} {{{nl}{inner}{body}{nl}{indent}}}{nl}"),
            )],
            explanation: format!("Adds a guard before the statement: when {why}, {what}."),
        })
    }

    /// The `break`/`continue` (label included) of a guard among the three
    /// statements before the panicking one, in its block: `if cond {
    /// break 'l; }` with no `else`, whose condition names a variable the
    /// panicking expression uses; with the guard's line.
    fn sibling_exit(&self) -> Option<(String, usize)> {
        let (block, at) = self.containing_block()?;
        let used = names(self.loc.expr);
        block.stmts[at.saturating_sub(3)..at].iter().rev().find_map(|s| {
            let Stmt::Expr(syn::Expr::If(i), _) = s else {
                return None;
            };
            if i.else_branch.is_some() || i.then_branch.stmts.len() != 1 {
                return None;
            }
            let exit = match &i.then_branch.stmts[0] {
                Stmt::Expr(e @ (syn::Expr::Break(_) | syn::Expr::Continue(_)), _) => e,
                _ => return None,
            };
            if matches!(exit, syn::Expr::Break(b) if b.expr.is_some()) {
                return None;
            }
            if names(&i.cond).is_disjoint(&used) {
                return None;
            }
            let text = self.text(exit)?;
            Some((format!("{text};"), i.span().start().line))
        })
    }

    /// The block holding the panicking statement, at any depth of the
    /// function's body, and the statement's index in it.
    pub(super) fn containing_block(&self) -> Option<(&'ast syn::Block, usize)> {
        struct Containing<'s, 'ast> {
            stmt: &'s Stmt,
            found: Option<&'ast syn::Block>,
        }
        impl<'s, 'ast> syn::visit::Visit<'ast> for Containing<'s, 'ast> {
            fn visit_block(&mut self, b: &'ast syn::Block) {
                if b.stmts.iter().any(|s| std::ptr::eq(s, self.stmt)) {
                    self.found = Some(b);
                }
                syn::visit::visit_block(self, b);
            }
        }
        let (stmt, _) = self.stmt?;
        let mut containing = Containing { stmt, found: None };
        syn::visit::Visit::visit_block(&mut containing, self.body?);
        let block = containing.found?;
        let at = block.stmts.iter().position(|s| std::ptr::eq(s, stmt))?;
        Some((block, at))
    }

    /// Binds `opt` (an `Option`/`Result` expression standing for the target)
    /// with `let Some(..) = opt else { return ..; }`: in place when the
    /// target is a `let` initializer, else in a new binding before the
    /// statement that replaces the target. `ctor` is `Some` or `Ok`;
    /// `assign_to` wraps the replacement as `place = value`.
    pub(super) fn let_else(&self, opt: &str, ctor: &str, assign_to: Option<&str>, why: &str) -> Option<StrategyFix> {
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
                    return Some(StrategyFix {
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
        Some(StrategyFix {
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

/// The single-segment paths (variables) an expression names.
pub(super) fn names(e: &syn::Expr) -> BTreeSet<String> {
    let mut n = Names(BTreeSet::new());
    syn::visit::Visit::visit_expr(&mut n, e);
    n.0
}

/// The plain variable names statement `s` reads (paths of one segment).
pub(super) fn stmt_names(s: &Stmt) -> BTreeSet<String> {
    let mut n = Names(BTreeSet::new());
    syn::visit::Visit::visit_stmt(&mut n, s);
    n.0
}

struct Names(BTreeSet<String>);

impl<'ast> syn::visit::Visit<'ast> for Names {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if let Some(id) = p.path.get_ident() {
            self.0.insert(id.to_string());
        }
    }
    // A macro's arguments are tokens (`vec![a, b]`, `format!("{}", a)`):
    // every identifier among them counts.
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        crate::generate::template::locate::token_idents(m.tokens.clone(), &mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reindents_continuation_lines() {
        assert_eq!(
            reindent("Err(X {\n\t\t\ta: 1,\n\t\t})", "\t\t", "\t\t\t", "\n"),
            "Err(X {\n\t\t\t\ta: 1,\n\t\t\t})"
        );
    }
}
