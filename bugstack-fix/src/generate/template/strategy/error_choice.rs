//! Which error a fix returns, chosen as a maintainer would: the existing
//! error whose variant name or message shares the most words with the
//! panic (its message, an `expect` text, the names in the failing
//! expression), nearest to the panic first, never simply the first error
//! in the function.
//!
//! Where the errors come from, in order of preference at equal words:
//! 1. `Err(..)`, `.ok_or(..)`, `.ok_or_else(|| ..)`, `.map_err(|_| ..)` in
//!    the function itself, whose value names only the function's
//!    parameters (so it is valid anywhere in the body), nearest line first;
//! 2. the same in the rest of the file (impl, module), when the value names
//!    no local at all;
//! 3. the unit variants of the error enum, when it is declared in the file.
//!
//! When no error shares a word with the panic, the nearest one in the
//! function is the fallback (said so in the rationale); without one, the
//! caller writes a new error from the panic's message when the error type
//! allows it.

use std::collections::{BTreeSet, HashSet};

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Pat};

use super::Site;
use crate::generate::template::signature::ReturnKind;

/// Words too common to tell errors apart.
const STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "be",
    "to",
    "of",
    "in",
    "on",
    "at",
    "for",
    "and",
    "or",
    "not",
    "no",
    "should",
    "must",
    "this",
    "that",
    "it",
    "with",
    "by",
    "as",
    "value",
    "called",
    "err",
    "error",
    "errors",
    "some",
    "none",
    "ok",
    "self",
    "occur",
    "happen",
    "never",
    "unwrap",
    "expect",
    "option",
    "result",
    "let",
    "mut",
    "into",
    "new",
    "from",
    "string",
    "str",
    "to_string",
    "format",
    "internal",
    "entered",
    "code",
    "failed",
    "assertion",
    "left",
    "right",
    "attempt",
    "but",
    "with",
];

/// The words of a text: identifiers split at `_` and case changes,
/// lower-cased, a plural `s` dropped, stop words left out.
pub(crate) fn words(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for token in text.split(|c: char| !c.is_alphanumeric()) {
        let mut word = String::new();
        let mut prev_lower = false;
        for c in token.chars() {
            if c.is_uppercase() && prev_lower {
                push_word(&mut out, &word);
                word.clear();
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            word.extend(c.to_lowercase());
        }
        push_word(&mut out, &word);
    }
    out
}

fn push_word(out: &mut BTreeSet<String>, word: &str) {
    let mut w = word.to_string();
    if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
        w.pop();
    }
    if w.len() > 1 && !STOP.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit()) {
        out.insert(w);
    }
}

/// `text` without `Type::` path prefixes: `Error::InvalidToken` is judged
/// by `InvalidToken`, as every variant shares the enum's name.
fn without_type_paths(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split("::").enumerate() {
        if i > 0 {
            // Drop the identifier just before this `::`.
            let keep = out.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_').len();
            out.truncate(keep);
        }
        out.push_str(part);
    }
    out
}

/// Where an error value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Origin {
    Function,
    File,
    Variant,
}

/// The error a fix returns, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChosenError {
    /// The error value (inside `Err(..)`), as source text.
    pub(crate) value: String,
    /// Indentation of the line it was written on (for multi-line values).
    pub(crate) indent: String,
    /// Why it was chosen, in one sentence.
    pub(crate) why: String,
    /// It shares words with the panic (not only the nearest error).
    pub(crate) matched: bool,
}

struct Found {
    value: String,
    indent: String,
    line: usize,
    origin: Origin,
}

impl ChosenError {
    /// This error, shortened as explanations show it, when `fix`'s edits
    /// write it.
    pub(crate) fn returned_by(&self, fix: &super::StrategyFix) -> Option<String> {
        let first = self.value.lines().next().unwrap_or_default().trim();
        (!first.is_empty() && fix.edits.iter().any(|e| e.text.contains(first)))
            .then(|| crate::generate::template::short(&self.value))
    }
}

impl Site<'_, '_> {
    /// The existing error to return for this panic (see the module docs),
    /// `None` when the function does not return a `Result` or no existing
    /// error can be used at the site.
    pub(crate) fn chosen_error(&self) -> Option<ChosenError> {
        if !matches!(self.ret, ReturnKind::Result(_)) {
            return None;
        }
        let panic_words = &self.panic_words;
        let line = self.loc.expr.span().start().line;
        let found = self.error_values();
        let scored = found
            .iter()
            .map(|f| {
                let shared: Vec<String> = words(&without_type_paths(&f.value))
                    .intersection(panic_words)
                    .cloned()
                    .collect();
                (f, shared)
            })
            .max_by(|(a, sa), (b, sb)| {
                sa.len()
                    .cmp(&sb.len())
                    .then(b.origin.cmp(&a.origin))
                    .then(b.line.abs_diff(line).cmp(&a.line.abs_diff(line)))
            })?;
        let (f, shared) = scored;
        let distance = f.line.abs_diff(line);
        let place = match f.origin {
            Origin::Function if f.line < line => format!("{distance} line(s) above, in `{}`", self.fn_name),
            Origin::Function => format!("{distance} line(s) below, in `{}`", self.fn_name),
            Origin::File => format!("elsewhere in this file (line {})", f.line),
            Origin::Variant => "a variant of the function's error type".into(),
        };
        if !shared.is_empty() {
            return Some(ChosenError {
                value: f.value.clone(),
                indent: f.indent.clone(),
                why: format!(
                    "`{}` is the existing error that matches the panic's words ({}); it is returned {place}",
                    crate::generate::template::short(&f.value),
                    shared.join(", ")
                ),
                matched: true,
            });
        }
        // No words in common: the nearest error of the function itself,
        // unless a new error can be written from the panic's message.
        if self.ret.err_value("").is_some() {
            return None;
        }
        let nearest = found
            .iter()
            .filter(|f| f.origin == Origin::Function)
            .min_by_key(|f| f.line.abs_diff(line))?;
        Some(ChosenError {
            value: nearest.value.clone(),
            indent: nearest.indent.clone(),
            why: format!(
                "no existing error names the panic's words, so `{}`, the error `{}` returns nearest to the panic ({} line(s) away), is reused",
                crate::generate::template::short(&nearest.value),
                self.fn_name,
                nearest.line.abs_diff(line)
            ),
            matched: false,
        })
    }

    /// The existing error a fix here may return when it is borrowed from
    /// another failure: it names none of the panic's words (see
    /// [`ChosenError::returned_by`]).
    pub(crate) fn borrowed_error(&self) -> Option<ChosenError> {
        self.chosen_error().filter(|c| !c.matched)
    }

    /// A method-call suffix turning an absent value into the function's
    /// error, before `?`: `.ok_or(<chosen error>)` when an existing error
    /// matches the panic (or is the only way to write one), else a new error
    /// from `message` when the error type allows it; with why.
    pub(crate) fn error_suffix(&self, message: &str) -> Option<(String, String)> {
        let fresh = self.ret.ok_or_suffix(message);
        match self.chosen_error() {
            Some(c) if c.matched || fresh.is_none() => {
                let value = crate::generate::template::short(&c.value);
                let simple = !c.value.contains('\n')
                    && syn::parse_str::<Expr>(&c.value).is_ok_and(|e| matches!(e, Expr::Path(_) | Expr::Lit(_)));
                let suffix = if simple {
                    format!(".ok_or({})", c.value)
                } else if !c.value.contains('\n') {
                    format!(".ok_or_else(|| {})", c.value)
                } else {
                    return fresh.map(|s| (s, String::new()));
                };
                Some((suffix, format!(" It returns `{value}`: {}.", c.why)))
            }
            _ => fresh.map(|s| (s, String::new())),
        }
    }

    /// Every usable error value, in the function, the file and the error
    /// enum's variants.
    fn error_values(&self) -> Vec<Found> {
        let mut out: Vec<Found> = Vec::new();
        let mut seen = HashSet::new();
        let params = self.param_names();
        let body_span = self.body.map(|b| b.span());
        if let Some(body) = self.body {
            let mut v = ErrValues::default();
            v.visit_block(body);
            for e in v.found {
                let mut names = LocalNames::default();
                names.visit_expr(e);
                if names.0.iter().all(|n| params.contains(n)) {
                    self.push_found(&mut out, &mut seen, e, Origin::Function);
                }
            }
        }
        let error_type = self.error_type_name();
        let mut v = ErrValues::default();
        v.visit_file(self.file);
        for e in v.found {
            let inside = body_span.is_some_and(|b| {
                let (s, bs, be) = (e.span().start(), b.start(), b.end());
                (bs.line, bs.column) <= (s.line, s.column) && (s.line, s.column) <= (be.line, be.column)
            });
            let mut names = LocalNames::default();
            names.visit_expr(e);
            if !inside && names.0.is_empty() && self.fits_elsewhere(e, error_type.as_deref()) {
                self.push_found(&mut out, &mut seen, e, Origin::File);
            }
        }
        if let Some(name) = self.error_type_name() {
            for item in &self.file.items {
                let syn::Item::Enum(en) = item else { continue };
                if en.ident != name {
                    continue;
                }
                for var in &en.variants {
                    if matches!(var.fields, syn::Fields::Unit) {
                        let value = format!("{name}::{}", var.ident);
                        if seen.insert(value.clone()) {
                            out.push(Found {
                                value,
                                indent: String::new(),
                                line: var.span().start().line,
                                origin: Origin::Variant,
                            });
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether an error value from elsewhere in the file can be written in
    /// this function: no `Self` (another impl's), and a `Type::Variant`
    /// path only of the function's own error type.
    fn fits_elsewhere(&self, e: &Expr, error_type: Option<&str>) -> bool {
        let Some(text) = self.text(e) else { return false };
        if text.contains("Self") {
            return false;
        }
        let path = match e {
            Expr::Path(p) => Some(&p.path),
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => Some(&p.path),
                _ => None,
            },
            Expr::Struct(st) => Some(&st.path),
            _ => None,
        };
        match (path, error_type) {
            (Some(p), Some(t)) if p.segments.len() >= 2 => p.segments[p.segments.len() - 2].ident == t,
            _ => true,
        }
    }

    fn push_found(&self, out: &mut Vec<Found>, seen: &mut HashSet<String>, e: &Expr, origin: Origin) {
        let Some(text) = self.text(e) else { return };
        let start = e.span().start();
        if !seen.insert(text.to_string()) {
            // The same error returned again: it counts where it is nearest
            // to the panic (its distance decides between errors).
            let panic_line = self.loc.expr.span().start().line;
            if let Some(f) = out.iter_mut().find(|f| f.value == text && f.origin == origin) {
                if start.line.abs_diff(panic_line) < f.line.abs_diff(panic_line) {
                    f.line = start.line;
                    f.indent = self.src.indent_of(start.line).to_string();
                }
            }
            return;
        }
        out.push(Found {
            value: text.to_string(),
            indent: self.src.indent_of(start.line).to_string(),
            line: start.line,
            origin,
        });
    }

    /// The function's parameter names (`self` included).
    pub(super) fn param_names(&self) -> HashSet<String> {
        self.sig
            .map(|sig| {
                sig.inputs
                    .iter()
                    .filter_map(|a| match a {
                        syn::FnArg::Receiver(_) => Some("self".to_string()),
                        syn::FnArg::Typed(t) => match &*t.pat {
                            Pat::Ident(i) => Some(i.ident.to_string()),
                            _ => None,
                        },
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The last path segment of `E` in `-> Result<T, E>`.
    fn error_type_name(&self) -> Option<String> {
        let syn::ReturnType::Type(_, ty) = &self.sig?.output else {
            return None;
        };
        let syn::Type::Path(p) = &**ty else { return None };
        let seg = p.path.segments.last()?;
        let syn::PathArguments::AngleBracketed(a) = &seg.arguments else {
            return None;
        };
        let err = a
            .args
            .iter()
            .filter_map(|g| match g {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .nth(1)?;
        let syn::Type::Path(e) = err else { return None };
        Some(e.path.segments.last()?.ident.to_string())
    }
}

/// Error values: the argument of `Err(..)`, of `.ok_or(..)`, the body of
/// `.ok_or_else(|| ..)` and `.map_err(|_| ..)`; outside nested items.
#[derive(Default)]
struct ErrValues<'ast> {
    found: Vec<&'ast Expr>,
}

impl<'ast> Visit<'ast> for ErrValues<'ast> {
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Err")) && c.args.len() == 1 {
            self.found.push(&c.args[0]);
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let arg = m.args.first();
        match (m.method.to_string().as_str(), arg) {
            ("ok_or", Some(a)) => self.found.push(a),
            ("ok_or_else" | "map_err", Some(Expr::Closure(c))) => {
                // `|_| X` / `|| X`: X must not use the closure's argument.
                let binds = c.inputs.iter().any(|p| !matches!(p, Pat::Wild(_)));
                if !binds {
                    self.found.push(&c.body);
                }
            }
            _ => {}
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}
}

/// Single-segment lower-case paths (local variables) an expression names;
/// a macro other than `format!` makes it unusable (its tokens are opaque).
#[derive(Default)]
pub(super) struct LocalNames(pub(super) HashSet<String>);

impl<'ast> Visit<'ast> for LocalNames {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_none() && p.path.segments.len() == 1 {
            let name = p.path.segments[0].ident.to_string();
            if name.starts_with(|c: char| c.is_lowercase() || c == '_') {
                self.0.insert(name);
            }
        }
        syn::visit::visit_expr_path(self, p);
    }
    fn visit_macro(&mut self, _: &'ast syn::Macro) {
        self.0.insert("<macro>".into());
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {
        self.0.insert("<closure>".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_identifiers_and_drop_noise() {
        let w = words("InvalidBase62Token");
        assert_eq!(w.into_iter().collect::<Vec<_>>(), ["base62", "invalid", "token"]);
        let w = words("Base62 token is invalid.");
        assert!(w.contains("base62") && w.contains("token") && w.contains("invalid"));
        assert!(!w.contains("is"));
        assert_eq!(words("BadKeyLength").len(), 3);
        assert!(words("Error::Overflows").contains("overflow"));
        assert_eq!(without_type_paths("StateError::Empty"), "Empty");
        assert_eq!(without_type_paths("Err(crate::E::Bad(x))"), "Err(Bad(x))");
    }
}
