//! The offline template generator: recognises common Rust panic classes and
//! writes the minimal fix that fits the enclosing function's signature.
//!
//! It needs no model and sends no code anywhere. From the panic message and
//! the syntax tree at the target frame's `line:column` it finds the
//! panicking expression (an `unwrap()`/`expect()`, an index or slice, a map
//! lookup by key, a `Vec::remove`/`insert` position, a division or an
//! arithmetic operation — `Duration`'s included), then lists the fixes that fit the
//! function, best first: `?`
//! when the function returns `Option`/`Result` with a compatible error, else
//! `.get()`, `checked_*`/`saturating_*`, `is_char_boundary`, `contains_key` or an early
//! return of the return type's natural empty value. Edits replace exact
//! byte spans of the syntax tree, so the rest of the file is byte-identical;
//! inserted lines take their neighbours' indentation and the file's line
//! endings, and a file that was rustfmt-clean stays rustfmt-clean (the
//! edited text goes through `rustfmt` when it is installed).
//!
//! Explicit panics (`panic!`, `unreachable!`, failed assertions) in a
//! function returning `Result`/`Option` become its error or `None`; the
//! error returned is chosen by the panic's words among the errors the code
//! already returns; a site with no error channel is guarded at the nearest
//! caller on the stack that has one. Every candidate is kept, ranked, in
//! [`Patch::candidates`], with which one was chosen and why.
//!
//! On a retry the [`Feedback`] lists patches that failed their checks: the
//! generator skips every strategy whose patch was already tried and offers
//! the next one (e.g. `?` did not compile → early return).

mod format;
mod locate;
mod signature;
mod source;
mod strategy;

use async_trait::async_trait;
use bugstack_core::text::{ellipsize, one_line};
use syn::spanned::Spanned;

use crate::panic_class::{OverflowOp, PanicClass};

use crate::patch::{Candidate, FileEdit, Patch};
use crate::{Error, Feedback, FixContext, FixGenerator, Result};

use source::Source;

/// The function's own name in a frame's function path
/// (`<u64 as num_integer::Integer>::is_multiple_of` → `is_multiple_of`),
/// closures and generic arguments left out.
fn function_name(path: &str) -> Option<&str> {
    path.rsplit("::")
        .map(|seg| seg.split('<').next().unwrap_or(seg).trim())
        .find(|seg| !seg.is_empty() && !seg.starts_with("{{") && seg.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// The generator name the offline template generator reports.
pub(crate) const TEMPLATE_GENERATOR: &str = "template";

/// The offline template generator (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct TemplateGenerator {
    rustfmt: bool,
}

impl Default for TemplateGenerator {
    fn default() -> Self {
        TemplateGenerator::new()
    }
}

impl TemplateGenerator {
    /// A template generator that keeps rustfmt-clean files rustfmt-clean
    /// (runs `rustfmt` when it is installed).
    pub fn new() -> Self {
        TemplateGenerator { rustfmt: true }
    }

    /// The same generator without the rustfmt pass: edits are kept exactly
    /// as the templates write them (neighbours' indentation, file's line
    /// endings).
    pub fn without_rustfmt(self) -> Self {
        TemplateGenerator { rustfmt: false }
    }

    /// Every fix that fits the panic in `ctx`, best first. Errors when the
    /// panic is not recognised or no fix fits the site safely.
    pub fn candidates(&self, ctx: &FixContext) -> Result<Vec<Patch>> {
        let target = ctx
            .target()
            .ok_or_else(|| Error::Generate("the context has no in-repository frame to fix".into()))?;
        let text = ctx.file(&target.path).ok_or_else(|| {
            Error::Generate(format!(
                "the context does not hold the text of {} (the target frame's file)",
                target.path
            ))
        })?;
        let message = ctx.incident.event.message.as_str();
        let line = target.line as usize;
        let column = target.column.map(|c| c as usize);
        let src = Source::new(text);
        let file = syn::parse_file(text)
            .map_err(|e| Error::Generate(format!("{} does not parse as Rust: {e}", target.path)))?;
        let hint = PanicClass::from_message(message);
        // A custom message with no `expect` at the line: an explicit panic
        // (`panic!`, `unreachable!`, `assert!`) is looked for there.
        let find = |file: &syn::File, line: usize, column: Option<usize>| -> bool {
            let macros = locate::MacroArgs::collect(file);
            locate::locate(file, &macros, &src, hint, line, column).is_some()
                || (hint.is_none()
                    && locate::locate(file, &macros, &src, Some(PanicClass::ExplicitPanic), line, column).is_some())
        };
        // Not in the file's own code: inside a `macro_rules!` expansion,
        // where rustc points at the body or at the macro's call.
        let expansions = if find(&file, line, column) {
            Vec::new()
        } else {
            locate::macro_expansions(&file)
        };
        let mut in_macro: Option<(String, usize)> = None;
        let (parsed, line, column) = match expansions.iter().find(|e| find(&e.file, line, column)) {
            Some(e) => {
                in_macro = Some((e.macro_name.clone(), line));
                (&e.file, line, column)
            }
            None => {
                let called = locate::macro_called_on(&file, line);
                let function = target.function.as_deref().and_then(function_name);
                match called.as_deref().zip(function) {
                    Some((name, f)) => match locate::locate_in_expansions(&expansions, name, hint, f) {
                        Some((i, body_line)) => {
                            in_macro = Some((name.to_string(), line));
                            (&expansions[i].file, body_line, None)
                        }
                        None => (&file, line, column),
                    },
                    None => (&file, line, column),
                }
            }
        };
        let macros = locate::MacroArgs::collect(parsed);
        let loc = locate::locate(parsed, &macros, &src, hint, line, column)
            .or_else(|| {
                hint.is_none()
                    .then(|| locate::locate(parsed, &macros, &src, Some(PanicClass::ExplicitPanic), line, column))
                    .flatten()
            })
            .ok_or_else(|| {
                Error::Generate(match hint {
                    Some(c) => format!(
                        "the panic looks like {c}, but no matching expression is at {}:{line} \
                     (inside a macro call whose tokens cannot be read as code, or the file changed since the \
                     release; a macro_rules! body the line calls was searched too)",
                        target.path
                    ),
                    None => format!(
                        "unrecognised panic ({:?}) with no `unwrap()`/`expect()` or panicking macro at {}:{line}",
                        ellipsize(message, 121),
                        target.path
                    ),
                })
            })?;
        let class = refine(hint, loc.expr, message).ok_or_else(|| {
            Error::Generate(format!(
                "unrecognised panic message {:?}: it does not match the `expect()` at {}:{line}",
                ellipsize(message, 121),
                target.path
            ))
        })?;
        let site = strategy::Site::new(&src, class, &loc, parsed, message);
        let mut root_cause = root_cause(&src, class, loc.expr, &site.fn_name, &target.path, line, message);
        if let Some((name, called_at)) = &in_macro {
            root_cause.push_str(&format!(
                " The expression is in the body of `macro_rules! {name}` (the panic was reported at line {called_at}); \
                 the fix edits the macro, so every expansion gets it."
            ));
        }
        let mut fixes: Vec<(String, &str, strategy::StrategyFix)> = site
            .fixes()
            .into_iter()
            .map(|f| (target.path.clone(), text, f))
            .collect();
        // No error channel here: a guard one or more frames up, where an
        // error can be returned, ranks before any default value.
        if !site.has_error_channel() {
            if let Some((path, caller_text, fix)) = caller_guard(ctx, &site, message) {
                fixes.insert(0, (path, caller_text, fix));
            }
        }
        let mut patches: Vec<Patch> = Vec::new();
        let mut strategies: Vec<(&'static str, String)> = Vec::new();
        let mut formatters = std::collections::HashMap::new();
        for (path, before, c) in fixes {
            let Some(mut after) = source::apply_edits(before, &c.edits) else {
                continue;
            };
            if syn::parse_file(&after).is_err() {
                continue;
            }
            if self.rustfmt {
                // Once per file: a rustfmt-clean file stays clean.
                let rustfmt = formatters.entry(path.clone()).or_insert_with(|| {
                    let crlf = Source::new(before).newline() == "\r\n";
                    Some(format::Rustfmt::for_file(&ctx.repo_root, &path, crlf)).filter(|f| f.is_clean(before))
                });
                if let Some(formatted) = rustfmt.as_ref().and_then(|f| f.run(&after)) {
                    after = formatted;
                }
            }
            let mut p = Patch::from_edits(&[FileEdit {
                path,
                before: before.to_string(),
                after,
            }])?;
            p.generator = TEMPLATE_GENERATOR.into();
            p.class = Some(class.name().into());
            p.root_cause = root_cause.clone();
            p.explanation = format!("{} (template strategy: {})", c.explanation, c.strategy);
            if !patches.iter().any(|q: &Patch| q.diff == p.diff) {
                strategies.push((c.strategy, first_sentence(&c.explanation)));
                patches.push(p);
            }
        }
        if patches.is_empty() {
            return Err(Error::Generate(format!(
                "recognised {class} in `{}` at {}:{line}, but no template fix fits this site safely",
                site.fn_name, target.path
            )));
        }
        let ranking: Vec<Candidate> = strategies
            .into_iter()
            .enumerate()
            .map(|(i, (strategy, summary))| Candidate {
                rank: i as u32 + 1,
                strategy: strategy.into(),
                summary,
                chosen: false,
                note: String::new(),
            })
            .collect();
        for (i, p) in patches.iter_mut().enumerate() {
            p.candidates = ranking.clone();
            mark_chosen(&mut p.candidates, i, &[]);
        }
        Ok(patches)
    }

    /// The best candidate that was not already tried in `feedback`, its
    /// [`Patch::candidates`] saying which ones were tried and why this one
    /// was chosen.
    pub fn generate_now(&self, ctx: &FixContext, feedback: &[Feedback]) -> Result<Patch> {
        let all = self.candidates(ctx)?;
        let total = all.len();
        let tried_in = |p: &Patch| {
            feedback
                .iter()
                .find(|f| f.patch.as_ref().is_some_and(|q| q.diff.trim_end() == p.diff.trim_end()))
                .map(|f| f.attempt)
        };
        let tried: Vec<Option<u32>> = all.iter().map(tried_in).collect();
        let Some(index) = tried.iter().position(Option::is_none) else {
            return Err(Error::Generate(format!(
                "all {total} template strategies for this panic were already tried and failed their checks"
            )));
        };
        let mut chosen = all
            .into_iter()
            .nth(index)
            .ok_or_else(|| Error::Generate("no candidate".into()))?;
        mark_chosen(&mut chosen.candidates, index, &tried);
        Ok(chosen)
    }
}

#[async_trait]
impl FixGenerator for TemplateGenerator {
    fn name(&self) -> String {
        TEMPLATE_GENERATOR.into()
    }

    async fn generate(&self, ctx: &FixContext, feedback: &[Feedback]) -> Result<Patch> {
        // Parsing and the rustfmt pass block: keep them off the async
        // workers when running on tokio; inline on any other executor.
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return self.generate_now(ctx, feedback);
        };
        let (me, ctx, feedback) = (*self, ctx.clone(), feedback.to_vec());
        handle
            .spawn_blocking(move || me.generate_now(&ctx, &feedback))
            .await
            .map_err(|e| Error::Generate(format!("the template generator task failed: {e}")))?
    }
}

/// A guard at the nearest in-app caller on the stack that can return an
/// error, when the failing expression names only the failing function's
/// parameters: (the caller's file, its text, the fix).
fn caller_guard<'c>(
    ctx: &'c FixContext,
    site: &strategy::Site<'_, '_>,
    message: &str,
) -> Option<(String, &'c str, strategy::StrategyFix)> {
    let mut failing = site.failing_condition()?;
    for frame in ctx.frames.iter().skip(1) {
        let Some(text) = ctx.file(&frame.path) else { continue };
        let Ok(file) = syn::parse_file(text) else { continue };
        let src = Source::new(text);
        let macros = locate::MacroArgs::collect(&file);
        let column = frame.column.map(|c| c as usize);
        let Some(loc) = locate::locate_call(&file, &macros, &src, &failing.callee, frame.line as usize, column) else {
            continue;
        };
        let caller = strategy::Site::new(&src, site.class, &loc, &file, message);
        if let Some(fix) = caller.caller_guard(&failing) {
            return Some((frame.path.clone(), text, fix));
        }
        if caller.has_error_channel() {
            // The nearest caller that could return an error did not fit:
            // guarding further up would skip it.
            return None;
        }
        // No error channel here either: carry the condition one frame up.
        failing = caller.lifted(&failing)?;
    }
    None
}

/// Marks candidate `index` as the chosen one, with why each was or was
/// not chosen; `tried[i]` is the attempt candidate `i` already failed in.
fn mark_chosen(ranking: &mut [Candidate], index: usize, tried: &[Option<u32>]) {
    for (i, c) in ranking.iter_mut().enumerate() {
        c.chosen = i == index;
        c.note = match tried.get(i).copied().flatten() {
            Some(a) => format!("tried in attempt {a}: failed its checks"),
            None if i == index && index == 0 => "chosen: ranked first".into(),
            None if i == index => "chosen: the best-ranked candidate not yet tried".into(),
            None if i < index => "not chosen".into(),
            None => "not tried: ranked below the chosen one".into(),
        };
    }
}

/// The first sentence of an explanation (up to `: ` or `. `), for the
/// ranking.
fn first_sentence(text: &str) -> String {
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    ellipsize(&one_line(&text[..end]), 200)
}

/// The class, confirmed (or decided, for `expect` with a custom message)
/// by the expression found.
fn refine(hint: Option<PanicClass>, expr: &syn::Expr, message: &str) -> Option<PanicClass> {
    let is_parse = |m: &syn::ExprMethodCall| matches!(&*m.receiver, syn::Expr::MethodCall(r) if r.method == "parse");
    match (hint, expr) {
        (Some(PanicClass::UnwrapErr), syn::Expr::MethodCall(m)) if is_parse(m) => Some(PanicClass::ParseUnwrap),
        (Some(c), _) => Some(c),
        (None, syn::Expr::Macro(_)) => Some(PanicClass::ExplicitPanic),
        (None, syn::Expr::MethodCall(m)) if m.method == "expect" => {
            let Some(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s), ..
            })) = m.args.first()
            else {
                return None;
            };
            let lit = s.value();
            if message == lit {
                Some(PanicClass::UnwrapNone)
            } else if message.starts_with(&format!("{lit}: ")) {
                Some(if is_parse(m) {
                    PanicClass::ParseUnwrap
                } else {
                    PanicClass::UnwrapErr
                })
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Code cut to one line of at most 60 chars, for explanations.
fn short(code: &str) -> String {
    ellipsize(&one_line(code), 60)
}

fn root_cause(
    src: &Source<'_>,
    class: PanicClass,
    expr: &syn::Expr,
    fn_name: &str,
    path: &str,
    line: usize,
    message: &str,
) -> String {
    let code = |e: &syn::Expr| format!("`{}`", short(src.slice(e.span()).unwrap_or_default()));
    let whole = code(expr);
    let at = format!("in `{fn_name}` ({path}:{line})");
    let what = match (class, expr) {
        (PanicClass::UnwrapNone, syn::Expr::MethodCall(m)) => format!(
            "{} was `None` {at}, and `.{}()` panicked on it: the code assumed a value is always there",
            code(&m.receiver),
            m.method
        ),
        (PanicClass::UnwrapErr, syn::Expr::MethodCall(m)) => format!(
            "{} returned an error {at}, and `.{}()` panicked on it instead of handling it",
            code(&m.receiver),
            m.method
        ),
        (PanicClass::ParseUnwrap, syn::Expr::MethodCall(m)) => format!(
            "{} failed on input that does not parse {at}, and `.{}()` panicked instead of handling the parse error",
            code(&m.receiver),
            m.method
        ),
        (PanicClass::IndexOob, _) => {
            format!("{whole} {at} indexed past the end: the index was not less than the length")
        }
        (PanicClass::SliceRange, _) => format!("{whole} {at} sliced with a range outside the bounds of the data"),
        (PanicClass::MissingKey, _) => format!("{whole} {at} looked up a key that is not in the map"),
        (PanicClass::VecPosition, _) => format!("{whole} {at} was given a position past the end of the vector"),
        (PanicClass::CharBoundary, _) => {
            format!("{whole} {at} sliced a string at a byte offset inside a multi-byte character")
        }
        (PanicClass::ExplicitPanic, _) => format!(
            "{whole} {at} panicked explicitly, on a case the code assumed could not happen, though the function has an error channel"
        ),
        (PanicClass::DivZero, _) => format!("{whole} {at} divided by zero"),
        (PanicClass::RemZero, _) => format!("{whole} {at} took a remainder with a divisor of zero"),
        (PanicClass::Overflow(op @ (OverflowOp::Shl | OverflowOp::Shr)), _) => format!(
            "{whole} {at} shifted {} by at least its type's bit width",
            if op == OverflowOp::Shl { "left" } else { "right" }
        ),
        (PanicClass::Overflow(op), _) => format!(
            "{whole} {at} overflowed its integer type ({} out of range)",
            match op {
                OverflowOp::Add => "the sum was",
                OverflowOp::Sub => "the difference was",
                OverflowOp::Mul => "the product was",
                OverflowOp::Div => "the quotient was",
                OverflowOp::Neg => "the negation was",
                OverflowOp::Shl | OverflowOp::Shr => "the shift was",
            }
        ),
        _ => format!("{whole} {at} panicked"),
    };
    format!(
        "{what}. Panic: {}",
        ellipsize(message.lines().next().unwrap_or_default(), 161)
    )
}
