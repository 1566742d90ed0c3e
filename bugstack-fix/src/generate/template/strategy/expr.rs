//! The shape of expressions: purity, precedence, and how to write them
//! into a rewritten one.

use syn::{BinOp, Expr, Lit};

use crate::generate::template::short;

pub(super) fn is_assign_op(op: &BinOp) -> bool {
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

pub(super) fn is_untyped_int(e: &Expr) -> bool {
    match e {
        Expr::Lit(syn::ExprLit { lit: Lit::Int(i), .. }) => i.suffix().is_empty(),
        Expr::Paren(p) => is_untyped_int(&p.expr),
        Expr::Unary(u) => is_untyped_int(&u.expr),
        _ => false,
    }
}

/// Side-effect-free and cheap, so evaluating it twice (in a guard and at
/// the original site) changes nothing.
pub(super) fn is_pure(e: &Expr) -> bool {
    match e {
        Expr::Path(_) | Expr::Lit(_) => true,
        Expr::Field(f) => is_pure(&f.base),
        Expr::Paren(p) => is_pure(&p.expr),
        Expr::Reference(r) => r.mutability.is_none() && is_pure(&r.expr),
        Expr::Unary(u) => is_pure(&u.expr),
        Expr::Cast(c) => is_pure(&c.expr),
        Expr::Binary(b) => !is_assign_op(&b.op) && is_pure(&b.left) && is_pure(&b.right),
        Expr::Index(i) => is_pure(&i.expr) && is_pure(&i.index),
        Expr::Range(r) => r.start.as_deref().is_none_or(is_pure) && r.end.as_deref().is_none_or(is_pure),
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
pub(super) fn postfix(e: &Expr, text: &str) -> String {
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
pub(super) fn binary_operand(e: &Expr, text: &str) -> String {
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
pub(super) fn unparen(text: &str) -> &str {
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
pub(super) fn describe(e: &Expr, text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(unparen("(m * 60)"), "m * 60");
        assert_eq!(unparen("(a) + (b)"), "(a) + (b)");
    }
}
