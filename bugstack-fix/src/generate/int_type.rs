//! The integer type of a local binding, read from the function around it.
//!
//! `let mut n = 0;` has no type where it is written: rustc infers it from
//! later uses, but a method call (`n.saturating_mul(10)`) needs the type at
//! the call, hence E0689 ("can't call method `saturating_mul` on ambiguous
//! numeric type `{integer}`"). The template generator and compiler-guided
//! repair both write the binding's type down; this module finds it from
//! the function's own evidence: the return type when the binding is
//! returned, a typed parameter, `let` or suffixed literal it is combined
//! with, compared to or assigned from.

use std::collections::HashMap;

use syn::visit::Visit;
use syn::{BinOp, Block, Expr, FnArg, Pat, ReturnType, Signature, Stmt, Type};

/// Rust's primitive integer types.
const INTS: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

/// The primitive integer type `ty` names (through one `&`), if any.
pub(crate) fn int_of_type(ty: &Type) -> Option<String> {
    match ty {
        Type::Reference(r) => int_of_type(&r.elem),
        Type::Paren(p) => int_of_type(&p.elem),
        Type::Path(p) if p.qself.is_none() => {
            let id = p.path.get_ident()?.to_string();
            INTS.contains(&id.as_str()).then_some(id)
        }
        _ => None,
    }
}

/// The integer type inside `Option<T>` / `Result<T, _>` / `T`.
fn returned_int(ty: &Type) -> Option<(Option<&'static str>, String)> {
    if let Some(t) = int_of_type(ty) {
        return Some((None, t));
    }
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    let wrapper = match seg.ident.to_string().as_str() {
        "Option" => "Some",
        "Result" => "Ok",
        _ => return None,
    };
    let syn::PathArguments::AngleBracketed(a) = &seg.arguments else {
        return None;
    };
    let inner = a.args.iter().find_map(|g| match g {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })?;
    Some((Some(wrapper), int_of_type(inner)?))
}

/// The type of an integer literal's suffix (`10u64` → `u64`).
fn literal_int(e: &Expr) -> Option<String> {
    match e {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i), ..
        }) => {
            let s = i.suffix();
            INTS.contains(&s).then(|| s.to_string())
        }
        Expr::Paren(p) => literal_int(&p.expr),
        Expr::Unary(u) => literal_int(&u.expr),
        _ => None,
    }
}

fn path_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
        Expr::Paren(p) => path_name(&p.expr),
        _ => None,
    }
}

/// Typed names in scope: parameters and `let x: T` bindings of integer type.
#[derive(Default)]
struct Typed(HashMap<String, String>);

impl<'ast> Visit<'ast> for Typed {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Pat::Type(pt) = &l.pat {
            if let (Pat::Ident(i), Some(t)) = (&*pt.pat, int_of_type(&pt.ty)) {
                self.0.insert(i.ident.to_string(), t);
            }
        }
        syn::visit::visit_local(self, l);
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Evidence for `name`'s type in the body.
struct Evidence<'a> {
    name: &'a str,
    typed: &'a HashMap<String, String>,
    ret: Option<(Option<&'static str>, String)>,
    found: Option<String>,
}

impl Evidence<'_> {
    /// The type of `e` when it is plainly typed.
    fn type_of(&self, e: &Expr) -> Option<String> {
        if let Some(t) = literal_int(e) {
            return Some(t);
        }
        if let Expr::Cast(c) = e {
            return int_of_type(&c.ty);
        }
        self.typed.get(&path_name(e)?).cloned()
    }

    fn is_name(&self, e: &Expr) -> bool {
        path_name(e).as_deref() == Some(self.name)
    }

    /// `left` and `right` have one type: when one is the name, the other's
    /// type is found.
    fn paired(&mut self, left: &Expr, right: &Expr) {
        if self.is_name(left) {
            self.found = self.type_of(right);
        } else if self.is_name(right) {
            self.found = self.type_of(left);
        }
    }

    fn returned(&mut self, e: &Expr) {
        let Some((wrapper, t)) = &self.ret else { return };
        let hit = match (wrapper, e) {
            (None, e) => self.is_name(e),
            (Some(w), Expr::Call(c)) => {
                matches!(&*c.func, Expr::Path(p) if p.path.is_ident(w)) && c.args.len() == 1 && self.is_name(&c.args[0])
            }
            _ => false,
        };
        if hit && self.found.is_none() {
            self.found = Some(t.clone());
        }
    }
}

impl<'ast> Visit<'ast> for Evidence<'_> {
    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        let combines = !matches!(b.op, BinOp::And(_) | BinOp::Or(_) | BinOp::Shl(_) | BinOp::Shr(_))
            && !matches!(b.op, BinOp::ShlAssign(_) | BinOp::ShrAssign(_));
        if combines && self.found.is_none() {
            self.paired(&b.left, &b.right);
        }
        syn::visit::visit_expr_binary(self, b);
    }
    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if self.found.is_none() {
            self.paired(&a.left, &a.right);
        }
        syn::visit::visit_expr_assign(self, a);
    }
    fn visit_expr_return(&mut self, r: &'ast syn::ExprReturn) {
        if let Some(e) = &r.expr {
            self.returned(e);
        }
        syn::visit::visit_expr_return(self, r);
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// The integer type the function gives the untyped binding `name`, from
/// its own evidence (see the module docs); `None` when nothing says.
pub(crate) fn infer(sig: &Signature, body: &Block, name: &str) -> Option<String> {
    let mut typed = Typed::default();
    for a in &sig.inputs {
        if let FnArg::Typed(pt) = a {
            if let (Pat::Ident(i), Some(t)) = (&*pt.pat, int_of_type(&pt.ty)) {
                typed.0.insert(i.ident.to_string(), t);
            }
        }
    }
    typed.visit_block(body);
    let ret = match &sig.output {
        ReturnType::Type(_, ty) => returned_int(ty),
        ReturnType::Default => None,
    };
    let mut ev = Evidence {
        name,
        typed: &typed.0,
        ret,
        found: None,
    };
    if let Some(Stmt::Expr(tail, None)) = body.stmts.last() {
        ev.returned(tail);
    }
    ev.visit_block(body);
    ev.found
}

/// The `let` binding of `name` in `body` when it has no type and starts as
/// an untyped integer literal (`let mut n = 0;`): the pattern identifier,
/// after which `: T` goes.
pub(crate) fn untyped_binding<'ast>(body: &'ast Block, name: &str) -> Option<&'ast syn::Ident> {
    struct Find<'ast, 'n> {
        name: &'n str,
        found: Option<&'ast syn::Ident>,
    }
    impl<'ast> Visit<'ast> for Find<'ast, '_> {
        fn visit_local(&mut self, l: &'ast syn::Local) {
            if let (Pat::Ident(i), Some(init)) = (&l.pat, &l.init) {
                if i.ident == self.name {
                    let untyped = matches!(&*init.expr, Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }) if n.suffix().is_empty());
                    self.found = untyped.then_some(&i.ident);
                }
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut f = Find { name, found: None };
    f.visit_block(body);
    f.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer_in(code: &str, name: &str) -> Option<String> {
        let f: syn::ItemFn = syn::parse_str(code).unwrap();
        infer(&f.sig, &f.block, name)
    }

    #[test]
    fn reads_the_type_from_the_functions_evidence() {
        assert_eq!(
            infer_in("fn f(n: u64) -> u64 { let mut acc = 1; acc = acc * 10; acc }", "acc").as_deref(),
            Some("u64")
        );
        assert_eq!(
            infer_in(
                "fn f(s: &[u8]) -> Option<u16> { let mut v = 0; for b in s { v = v * 10; } Some(v) }",
                "v"
            )
            .as_deref(),
            Some("u16")
        );
        assert_eq!(
            infer_in("fn f(limit: u32) { let mut n = 0; while n < limit { n += 1; } }", "n").as_deref(),
            Some("u32")
        );
        assert_eq!(
            infer_in("fn f() { let mut n = 0; n += 2i8; }", "n").as_deref(),
            Some("i8")
        );
        assert_eq!(infer_in("fn f() -> String { let n = 0; n.to_string() }", "n"), None);
    }

    #[test]
    fn finds_untyped_literal_bindings_only() {
        let f: syn::ItemFn = syn::parse_str("fn f() { let mut a = 0; let b: u8 = 0; let c = 0u8; }").unwrap();
        assert!(untyped_binding(&f.block, "a").is_some());
        assert!(untyped_binding(&f.block, "b").is_none());
        assert!(untyped_binding(&f.block, "c").is_none());
    }
}
