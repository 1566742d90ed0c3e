//! Fix strategies: for the located panic, every fix that fits, best first.
//!
//! Order per class (a strategy is skipped when it does not fit the site):
//!
//! | class | strategies, in order |
//! |---|---|
//! | unwrap-none | `?` (fn returns `Option`) · `.ok_or(<error>)?` (fn returns `Result`) · `let Some(..) = .. else { return <empty>; }` · `.unwrap_or_default()` |
//! | unwrap-err, parse-unwrap | `.map_err(\|_\| <error>)?` (an existing error matches the panic's words) · `.map_err(..)?` / `?` (fn returns `Result`) · `.ok()?` (fn returns `Option`) · `let Ok(..) = .. else { return <empty>; }` · `.unwrap_or_default()` |
//! | explicit-panic (`panic!`, `unreachable!`) | `return Err(<error>)` / `return None` in place of the macro |
//! | explicit-panic (`assert!`, `assert_eq!`, `assert_ne!`) | `if <fails> { return Err(<error>); }` / `return None` in place of the assertion |
//! | explicit-panic in a number type's `div`/`rem` ("Division by zero") | at the division up the stack: `if d.is_zero() { return <error>; }`, else the caller's own answer for input outside its domain ([`divisor`]) |
//! | index-oob, slice-range | `.get(..)?` · `.get(..).ok_or(<error>)?` · guard `if .. { return <empty>; }` · `.get(..)` with a default |
//! | vec-position (`Vec::remove`/`swap_remove`/`insert`) | guard `if i >= v.len() { return <empty>; }` (`>` for `insert`) |
//! | missing-key (`map[&k]`) | `.get(..)?` · `.get(..).ok_or(<error>)?` · guard `if !map.contains_key(..) { return <empty>; }` · `.get(..)` with a default |
//! | char-boundary | `.get(..)?` · `.get(..).ok_or(<error>)?` · move the bound down to a char boundary · `is_char_boundary` guard · `.get(..)` with a default |
//! | div-zero, rem-zero | `checked_*(..)?` · `checked_*(..).ok_or(<error>)?` · guard `if d == 0 { return <empty>; }` · `checked_*(..).unwrap_or(0)` |
//! | overflow, shifts (`<<`, `>>`) | `checked_sh*(..)?` · `checked_sh*(..).unwrap_or(0)` (the amount through `u32::try_from`) · `let Some(..) = checked_sh*(..) else { return <empty>; }` (ranked before the 0 when the statement shifts by the same amount again) |
//! | overflow (integers, and `Duration` `+ - *`) | `wrapping_*` (only where the file already computes with `wrapping_*` or `Wrapping`: a hash or checksum) · `checked_*(..)?` · `checked_*(..).ok_or(<error>)?` (the function can fail: preferred) · clamp the subtrahend `let c = c.min(a);` (a `let` binding read again after the statement, so later reads agree) · `saturating_*` (kept where it cannot) · `let Some(..) = checked_*(..) else { return <empty>; }` |
//!
//! `<error>` is the function's error chosen as a maintainer would
//! ([`error_choice`]): the existing error whose variant or message shares
//! the most words with the panic, nearest first; else a new error from the
//! panic's own text when the error type can be written (`String`, `&str`,
//! `Box<dyn Error>`, `anyhow`, `io`); else the nearest error the function
//! returns. `<empty>` is the return type's natural empty value (`()`,
//! `None`, `0`, `0.0`, `false`, `String::new()`, ...) or, in a `Result`
//! function, `Err(<error>)`.
//!
//! A method call on an untyped integer binding (`let mut n = 0;`) writes
//! the binding's type as the function gives it (E0689 otherwise).
//!
//! When the site's function has no error channel (it returns a plain
//! value), a guard at the nearest in-app caller on the stack that returns
//! `Result`/`Option` ([`caller`]) ranks first: the failing condition with
//! the callee's parameters replaced by the caller's arguments.
//!
//! One file per family: [`unwrap`] (unwrap-none, unwrap-err, parse-unwrap),
//! [`index`] (index-oob, slice-range, missing-key, char-boundary,
//! vec-position), [`arith`] (div-zero, rem-zero, overflow), [`explicit`]
//! (explicit panics), [`caller`] (guards up the stack), [`divisor`] (a
//! number type's division by zero, guarded where it is written); the shapes they
//! share (guard, `let .. else`) are in [`guard`], the error choice in
//! [`error_choice`], expression helpers in [`expr`].

mod arith;
mod caller;
mod divisor;
mod error_choice;
mod explicit;
mod expr;
mod guard;
mod index;
mod unwrap;

use std::collections::HashSet;

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Signature, Stmt};

pub(crate) use divisor::is_operator_division_by_zero;

use super::locate::{is_splitting, Idents, Located};
use super::signature::ReturnKind;
use super::source::{Edit, Source};
use crate::panic_class::{OverflowOp, PanicClass};

/// One way to fix the panic: a strategy's edits and their explanation.
#[derive(Debug, Clone)]
pub(crate) struct StrategyFix {
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
    /// The parsed file (errors returned elsewhere in it, its error enum).
    file: &'ast syn::File,
    /// The words of the panic: its message and the failing expression
    /// (see `error_choice`).
    panic_words: std::collections::BTreeSet<String>,
    /// The panic's own words in the source (an `expect` or `panic!`
    /// text), for a new error value; never the event's message, which is
    /// untrusted.
    message: String,
}

/// The string literal an `expect(..)` call or a panicking macro carries.
fn source_message(e: &Expr) -> Option<String> {
    let lit = match e {
        Expr::MethodCall(m) if m.method == "expect" => m.args.first()?,
        Expr::Macro(m) => return macro_message(&m.mac),
        _ => return None,
    };
    match lit {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s), ..
        }) => Some(s.value()),
        _ => None,
    }
}

/// The format string of a `panic!`/`unreachable!`/`assert!` call, its
/// `{..}` placeholders left out.
pub(crate) fn macro_message(m: &syn::Macro) -> Option<String> {
    use syn::parse::Parser;
    let args = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated
        .parse2(m.tokens.clone())
        .ok()?;
    let name = m.path.segments.last()?.ident.to_string();
    let skip = match name.as_str() {
        "assert" | "debug_assert" => 1,
        "assert_eq" | "assert_ne" | "debug_assert_eq" | "debug_assert_ne" => 2,
        _ => 0,
    };
    args.iter().skip(skip).find_map(|a| match a {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s), ..
        }) => {
            let text = s.value();
            let mut out = String::new();
            let mut depth = 0;
            for c in text.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth > 0 => depth -= 1,
                    c if depth == 0 => out.push(c),
                    _ => {}
                }
            }
            Some(out.split_whitespace().collect::<Vec<_>>().join(" "))
        }
        _ => None,
    })
}

impl<'a, 'ast> Site<'a, 'ast> {
    pub(crate) fn new(
        src: &'a Source<'a>,
        class: PanicClass,
        loc: &'a Located<'ast>,
        file: &'ast syn::File,
        message: &str,
    ) -> Self {
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
        let mut panic_words = error_choice::words(message);
        panic_words.extend(error_choice::words(src.slice(loc.expr.span()).unwrap_or_default()));
        Site {
            src,
            class,
            loc,
            file,
            panic_words,
            message: source_message(loc.expr).unwrap_or_default(),
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

    /// The message a new error carries: the panic's first line, or the
    /// class in words when the message is empty.
    fn error_message(&self) -> String {
        if self.message.is_empty() {
            format!("{} in `{}`", self.class, self.fn_name)
        } else {
            bugstack_core::text::ellipsize(&self.message, 120)
        }
    }

    /// The value `fix` makes up where the code panicked, in words (see
    /// [`Patch::invented_value`](crate::Patch::invented_value)); `None`
    /// when it returns the function's error or `None`, answers by a
    /// convention (`divisibility`), or gives up the code's own way
    /// (`guard-exit`, `wrapping` where the file already wraps).
    pub(crate) fn invented_value(&self, fix: &StrategyFix) -> Option<String> {
        match fix.strategy {
            "guard-return" | "let-else-return" => match &self.ret {
                ReturnKind::Unit => Some(format!("nothing: `{}` skips the rest of its work", self.fn_name)),
                ReturnKind::Default(v) => Some(format!("`{v}`")),
                ReturnKind::Option | ReturnKind::Result(_) | ReturnKind::Other => None,
            },
            "checked-or-zero" => Some("`0`".into()),
            "saturating" => Some("the type's bound (a saturated result)".into()),
            "get-or-default" | "unwrap-or-default" => Some("the type's default value".into()),
            "clamp-operand" => Some("a clamped operand (it stops at what is left)".into()),
            "clamp-position" | "floor-char-boundary" => Some("a moved position (the cut falls elsewhere)".into()),
            _ => None,
        }
    }

    /// Every strategy's fix that fits the site, best first.
    pub(crate) fn fixes(&self) -> Vec<StrategyFix> {
        let out = match (self.class, self.loc.expr) {
            (c, Expr::MethodCall(m)) if c.is_unwrap() => self.unwrap(m),
            (c, Expr::Index(i)) if c.is_index() => self.index(i),
            (PanicClass::VecPosition, Expr::MethodCall(m)) => self.vec_position(m),
            (PanicClass::SliceRange | PanicClass::CharBoundary | PanicClass::IndexOob, Expr::MethodCall(m))
                if is_splitting(m) =>
            {
                self.split_position(m)
            }
            (PanicClass::DivZero | PanicClass::RemZero, Expr::Binary(b)) => self.div(b),
            (PanicClass::Overflow(op), Expr::Binary(b)) => self.overflow(b, op),
            (PanicClass::Overflow(OverflowOp::Neg), Expr::Unary(u)) => self.negate(u),
            (PanicClass::ExplicitPanic, Expr::Macro(m)) => self.explicit(&m.mac),
            _ => None,
        };
        let mut fixes: Vec<StrategyFix> = out.unwrap_or_default().into_iter().flatten().collect();
        // The code's own way to give up here comes before any error or
        // default value the template would choose.
        fixes.sort_by_key(|f| f.strategy != "guard-exit");
        fixes
    }
}
