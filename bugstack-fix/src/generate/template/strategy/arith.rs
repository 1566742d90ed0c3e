//! Arithmetic families: division or remainder by zero, integer and
//! `Duration` overflow, negation and shift overflow.

use syn::spanned::Spanned;

use syn::{Pat, Stmt};

use super::expr::{binary_operand, is_assign_op, is_pure, is_untyped_int, postfix, unparen};
use super::guard::stmt_names;
use super::{Site, StrategyFix};
use crate::generate::int_type;
use crate::generate::template::short;
use crate::generate::template::signature::ReturnKind;
use crate::generate::template::source::Edit;
use crate::panic_class::{OverflowOp, PanicClass};

/// How often `file` computes with wrapping arithmetic: `wrapping_*` method
/// calls and `Wrapping` paths. Code that wraps on purpose (hashes,
/// checksums, PRNGs) says so this way; an overflow there is meant to wrap.
fn wrapping_uses(file: &syn::File) -> usize {
    struct Count(usize);
    impl<'ast> syn::visit::Visit<'ast> for Count {
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            if m.method.to_string().starts_with("wrapping_") {
                self.0 += 1;
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_path(&mut self, p: &'ast syn::Path) {
            if p.segments.last().is_some_and(|s| s.ident == "Wrapping") {
                self.0 += 1;
            }
            syn::visit::visit_path(self, p);
        }
    }
    let mut count = Count(0);
    syn::visit::Visit::visit_file(&mut count, file);
    count.0
}

fn unparen_expr(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Paren(p) => unparen_expr(&p.expr),
        e => e,
    }
}

impl<'ast> Site<'_, 'ast> {
    pub(super) fn div(&self, b: &'ast syn::ExprBinary) -> Option<Vec<Option<StrategyFix>>> {
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
        if rem && typed_lhs && !compound {
            out.push(self.divisibility(b, lhs, rhs));
        }
        if typed_lhs && self.can_return && self.ret == ReturnKind::Option {
            out.push(Some(StrategyFix {
                strategy: "question-mark",
                edits: vec![Edit::replace(target.clone(), call("?"))],
                explanation: format!("Replaces {what} with `{method}(..)?`: `{f}` returns an `Option`, so a zero divisor now makes it return `None` instead of panicking."),
            }));
        }
        if typed_lhs && self.can_return {
            if let Some((s, chosen)) = self.error_suffix(&format!("{op_words} by zero")) {
                out.push(Some(StrategyFix {
                    strategy: "question-mark",
                    edits: vec![Edit::replace(target.clone(), call(&format!("{s}?")))],
                    explanation: format!("Replaces {what} with `{method}(..){s}?`: `{f}` returns a `Result`, so a zero divisor now becomes an error for the caller instead of a panic.{chosen}"),
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
            out.push(Some(StrategyFix {
                strategy: "checked-or-zero",
                edits: vec![Edit::replace(target, call(".unwrap_or(0)"))],
                explanation: format!("Replaces {what} with `{method}(..).unwrap_or(0)`: a zero divisor now gives 0 instead of panicking."),
            }));
        }
        self.type_receiver(&b.left, &mut out);
        Some(out)
    }

    /// `x % d == 0` (or `!= 0`) is a divisibility test, and its answer for
    /// `d == 0` is defined: only 0 is a multiple of 0. The comparison
    /// becomes `x.checked_rem(d).map_or(x == 0, |r| r == 0)`.
    fn divisibility(&self, b: &syn::ExprBinary, lhs: &str, rhs: &str) -> Option<StrategyFix> {
        let syn::Expr::Binary(cmp) = self.loc.parent_expr()? else {
            return None;
        };
        let eq = match cmp.op {
            syn::BinOp::Eq(_) => "==",
            syn::BinOp::Ne(_) => "!=",
            _ => return None,
        };
        let zero = |e: &syn::Expr| matches!(unparen_expr(e), syn::Expr::Lit(l) if matches!(&l.lit, syn::Lit::Int(i) if i.base10_digits() == "0"));
        let is_rem = |e: &syn::Expr| std::ptr::eq(unparen_expr(e), self.loc.expr);
        if !((is_rem(&cmp.left) && zero(&cmp.right)) || (zero(&cmp.left) && is_rem(&cmp.right))) {
            return None;
        }
        let range = self.range(cmp)?;
        let x = postfix(&b.left, lhs);
        let plain_x = unparen(lhs);
        let d = unparen(rhs);
        Some(StrategyFix {
            strategy: "divisibility",
            edits: vec![Edit::replace(
                range,
                format!("{x}.checked_rem({d}).map_or({plain_x} {eq} 0, |r| r {eq} 0)"),
            )],
            explanation: format!(
                "Replaces the divisibility test `{}` with `checked_rem(..).map_or(..)`: by the usual convention only 0 is a multiple of 0, so a zero divisor now answers whether `{}` is 0 instead of panicking.",
                short(self.text(cmp)?),
                short(plain_x)
            ),
        })
    }

    pub(super) fn negate(&self, u: &'ast syn::ExprUnary) -> Option<Vec<Option<StrategyFix>>> {
        if is_untyped_int(&u.expr) {
            return Some(Vec::new());
        }
        let operand = postfix(&u.expr, self.text(&*u.expr)?);
        let target = self.range(self.loc.expr)?;
        let what = format!("`{}`", short(self.text(self.loc.expr)?));
        let f = &self.fn_name;
        let mut out = Vec::new();
        if self.can_return && self.ret == ReturnKind::Option {
            out.push(Some(StrategyFix {
                strategy: "question-mark",
                edits: vec![Edit::replace(target.clone(), format!("{operand}.checked_neg()?"))],
                explanation: format!("Replaces {what} with `checked_neg()?`: `{f}` returns an `Option`, so negating the minimum value now makes it return `None` instead of panicking."),
            }));
        }
        out.push(Some(StrategyFix {
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

    pub(super) fn overflow(&self, b: &'ast syn::ExprBinary, op: OverflowOp) -> Option<Vec<Option<StrategyFix>>> {
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
        // The same operation by the same operand in the same, the next or
        // the previous statement overflows on the same input: it gets the
        // same change.
        let siblings = if compound {
            Vec::new()
        } else {
            self.sibling_operations(b, rhs)
        };
        let with_siblings = |kind: &str, first: Edit| -> (Vec<Edit>, String) {
            let mut edits = vec![first];
            let mut lines = Vec::new();
            for (range, left, line) in &siblings {
                edits.push(Edit::replace(
                    range.clone(),
                    format!("{left}.{kind}_{name}({})", unparen(rhs)),
                ));
                lines.push(line.to_string());
            }
            let note = if lines.is_empty() {
                String::new()
            } else {
                format!(
                    " The same operation by `{}` on line {} gets the same change: it overflows on the same input.",
                    short(unparen(rhs)),
                    lines.join(", ")
                )
            };
            (edits, note)
        };
        let wrapping = wrapping_uses(self.file);
        if wrapping > 0 && matches!(op, OverflowOp::Add | OverflowOp::Sub | OverflowOp::Mul) {
            let (edits, note) = with_siblings("wrapping", Edit::replace(target.clone(), call("wrapping", "")));
            out.push(Some(StrategyFix {
                strategy: "wrapping",
                edits,
                explanation: format!("Replaces {what} with `wrapping_{name}(..)`: the file already computes with wrapping arithmetic ({wrapping} use(s) of `wrapping_*` or `Wrapping`, as hashes and checksums do), so this operation wraps like the others instead of panicking in debug builds; release builds already wrapped, so their results do not change.{note}"),
            }));
        }
        if self.can_return && self.ret == ReturnKind::Option {
            out.push(Some(StrategyFix {
                strategy: "question-mark",
                edits: vec![Edit::replace(target.clone(), call("checked", "?"))],
                explanation: format!("Replaces {what} with `checked_{name}(..)?`: `{f}` returns an `Option`, so an overflow now makes it return `None` instead of panicking."),
            }));
        }
        if self.can_return {
            if let Some((s, chosen)) = self.error_suffix("arithmetic overflow") {
                out.push(Some(StrategyFix {
                    strategy: "checked-error",
                    edits: vec![Edit::replace(target.clone(), call("checked", &format!("{s}?")))],
                    explanation: format!("Replaces {what} with `checked_{name}(..){s}?`: `{f}` returns a `Result`, so an overflow now becomes an error for the caller instead of a panic (preferred to saturating, which would hide a wrong result).{chosen}"),
                }));
            }
        }
        let clamp = match op {
            OverflowOp::Sub => "at zero (or the type's minimum)",
            _ => "at the type's bounds",
        };
        if matches!(op, OverflowOp::Sub) && !compound {
            out.push(self.clamp_operand(b, &siblings));
        }
        let (edits, note) = with_siblings("saturating", Edit::replace(target, call("saturating", "")));
        out.push(Some(StrategyFix {
            strategy: "saturating",
            edits,
            explanation: format!("Replaces {what} with `saturating_{name}(..)`: the result now stops {clamp} instead of overflowing and panicking.{note}"),
        }));
        let checked = format!("{}.checked_{name}({})", postfix(left, lhs), unparen(rhs));
        out.push(self.let_else(
            &checked,
            "Some",
            compound.then_some(place),
            &format!("{what} would overflow"),
        ));
        self.type_receiver(left, &mut out);
        Some(out)
    }

    /// `a - c` overflowing where `c` is a `let` binding that later
    /// statements read again (`len - prefix - suffix` when the suffix
    /// overlaps the prefix): `let c = c.min(a);` before the statement
    /// clamps `c` to what is left, so the difference stops at zero *and*
    /// every later read of `c` agrees with it. Saturating the one result
    /// would leave those reads with the old, too large `c`. Later siblings
    /// (the same subtraction of `c` on the next line) bound it too.
    fn clamp_operand(
        &self,
        b: &'ast syn::ExprBinary,
        siblings: &[(std::ops::Range<usize>, String, usize)],
    ) -> Option<StrategyFix> {
        let syn::Expr::Path(p) = unparen_expr(&b.right) else {
            return None;
        };
        let name = p.path.get_ident()?.to_string();
        if !is_pure(&b.left) || is_untyped_int(&b.left) {
            return None;
        }
        // A method call on an untyped integer does not compile (E0689).
        if int_type::untyped_binding(self.body?, &name).is_some() {
            return None;
        }
        let (block, at) = self.containing_block()?;
        let (insert_at, indent) = self.guard_point()?;
        let bound = block.stmts[..at].iter().rev().find_map(|s| match s {
            Stmt::Local(l) => simple_binding(&l.pat).filter(|(n, _)| *n == name),
            _ => None,
        });
        if !matches!(bound, Some((_, false))) {
            return None;
        }
        let later: Vec<usize> = block.stmts[at + 1..]
            .iter()
            .filter(|s| stmt_names(s).contains(&name))
            .map(|s| s.span().start().line)
            .collect();
        if later.is_empty() {
            return None;
        }
        let own_line = self.stmt?.0.span().start().line;
        let mut bounds = vec![unparen(self.text(&*b.left)?).to_string()];
        bounds.extend(
            siblings
                .iter()
                .filter(|(_, _, line)| *line >= own_line)
                .map(|(_, left, _)| unparen(left).to_string()),
        );
        let clamp: String = bounds.iter().map(|x| format!(".min({x})")).collect();
        let lines: Vec<String> = later.iter().map(usize::to_string).collect();
        Some(StrategyFix {
            strategy: "clamp-operand",
            edits: vec![Edit::insert(
                insert_at,
                format!("{indent}let {name} = {name}{clamp};{}", self.nl),
            )],
            explanation: format!(
                "Clamps `{name}` to what is left of {} before the statement: the subtraction now stops at zero instead of overflowing, and the later uses of `{name}` (line {}) agree with it, which saturating the one result would not.",
                bounds.iter().map(|x| format!("`{}`", short(x))).collect::<Vec<_>>().join(" and "),
                lines.join(", ")
            ),
        })
    }

    /// A method call on `let mut n = 0;` does not compile until `n` has a
    /// type (E0689): when the receiver is such a binding, every fix that
    /// calls a method on it also writes the binding's type, as the function
    /// gives it (its return type, a typed operand, ...). When the function
    /// says nothing, the candidate is left as is and compiler-guided repair
    /// takes rustc's suggestion.
    fn type_receiver(&self, recv: &syn::Expr, fixes: &mut [Option<StrategyFix>]) {
        let syn::Expr::Path(p) = unparen_expr(recv) else { return };
        let (Some(name), Some(sig), Some(body)) = (p.path.get_ident(), self.sig, self.body) else {
            return;
        };
        let name = name.to_string();
        let Some(ident) = int_type::untyped_binding(body, &name) else {
            return;
        };
        let Some(ty) = int_type::infer(sig, body, &name) else {
            return;
        };
        let Some(at) = self.range(ident).map(|r| r.end) else {
            return;
        };
        for f in fixes.iter_mut().flatten() {
            if f.strategy == "guard-return" {
                continue;
            }
            f.edits.push(Edit::insert(at, format!(": {ty}")));
            f.explanation.push_str(&format!(
                " The binding `{name}` is typed `{ty}` (as the function uses it), so the method call compiles."
            ));
        }
    }

    /// Binary operations like `b` (same operator, same right operand) in
    /// the panicking statement (besides `b`) and the statements right
    /// before and after it, in the same block of the function's body:
    /// (range, left operand as a receiver, 1-based line).
    fn sibling_operations(&self, b: &syn::ExprBinary, rhs: &str) -> Vec<(std::ops::Range<usize>, String, usize)> {
        struct Same<'r> {
            op: std::mem::Discriminant<syn::BinOp>,
            rhs: &'r str,
            found: Vec<&'r syn::ExprBinary>,
        }
        impl<'ast: 'r, 'r> syn::visit::Visit<'ast> for Same<'r> {
            fn visit_expr_binary(&mut self, e: &'ast syn::ExprBinary) {
                if std::mem::discriminant(&e.op) == self.op {
                    self.found.push(e);
                }
                syn::visit::visit_expr_binary(self, e);
            }
            fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        }
        let Some((body, at)) = self.containing_block() else {
            return Vec::new();
        };
        // The statement itself too: `(n - i, Some(n - i))` repeats the
        // operation on the next line of one expression.
        let neighbours = [at.checked_sub(1), Some(at), at.checked_add(1)];
        let Some(own) = self.range(b) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for s in neighbours.into_iter().flatten().filter_map(|i| body.stmts.get(i)) {
            let mut same = Same {
                op: std::mem::discriminant(&b.op),
                rhs: unparen(rhs),
                found: Vec::new(),
            };
            syn::visit::Visit::visit_stmt(&mut same, s);
            for e in same.found {
                let (Some(r), Some(l), Some(range)) = (self.text(&*e.right), self.text(&*e.left), self.range(e)) else {
                    continue;
                };
                let overlaps = range.start < own.end && own.start < range.end;
                if unparen(r) == same.rhs && !is_untyped_int(&e.left) && !overlaps {
                    out.push((range, postfix(&e.left, l), e.span().start().line));
                }
            }
        }
        out
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
    ) -> Option<Vec<Option<StrategyFix>>> {
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
            out.push(Some(StrategyFix {
                strategy: "question-mark",
                edits: vec![Edit::replace(target.clone(), assign(format!("{checked}?")))],
                explanation: format!("Replaces {what} with `checked_{name}(..)?`: `{f}` returns an `Option`, so a shift by the bit width or more now makes it return `None` instead of panicking."),
            }));
        }
        let or_zero = Some(StrategyFix {
            strategy: "checked-or-zero",
            edits: vec![Edit::replace(target, assign(format!("{checked}.unwrap_or(0)")))],
            explanation: format!("Replaces {what} with `checked_{name}(..).unwrap_or(0)`: shifting by the bit width or more shifts every bit out, so the result is 0 instead of a panic."),
        });
        let early = self.let_else(
            &checked,
            "Some",
            compound.then_some(place),
            &format!("{what} would shift by the bit width or more"),
        );
        // The same amount shifting again in the statement (`(v << s) >> s`)
        // would overflow next: returning early beats a 0 that panics there.
        if self.shifts_again_by(rhs) {
            out.extend([early, or_zero]);
        } else {
            out.extend([or_zero, early]);
        }
        Some(out)
    }

    /// Whether the statement with the panicking shift shifts by `amount`
    /// more than once (text match on the statement: `<<`/`>>`, then the
    /// amount as a whole token).
    fn shifts_again_by(&self, amount: &str) -> bool {
        let Some(text) = self.stmt.and_then(|(stmt, _)| self.text(stmt)) else {
            return false;
        };
        let amount = amount.trim();
        let found = ["<<", ">>"]
            .iter()
            .flat_map(|op| text.match_indices(op).map(move |(i, _)| &text[i + op.len()..]))
            .filter(|rest| {
                let rest = rest.trim_start_matches('=').trim_start();
                rest.strip_prefix(amount)
                    .is_some_and(|after| !after.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
            })
            .count();
        found > 1
    }
}

/// The name a `let` pattern binds when it is one plain name (`n`,
/// `n: usize`, `mut n`), with whether it is `mut`.
fn simple_binding(p: &Pat) -> Option<(String, bool)> {
    match p {
        Pat::Ident(i) if i.by_ref.is_none() && i.subpat.is_none() => {
            Some((i.ident.to_string(), i.mutability.is_some()))
        }
        Pat::Type(t) => simple_binding(&t.pat),
        _ => None,
    }
}
