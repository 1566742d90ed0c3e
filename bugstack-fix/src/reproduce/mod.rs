//! Reproduction by search, before any fix: find an input that raises the
//! incident's panic — same class, same file and line — through the crate's
//! public API, and turn it into the patch's regression test.
//!
//! From the [`FixContext`] (the panic's location and class, the in-repo
//! frames, the files), [`plan`] picks the function to call — the failing
//! function, or the nearest caller up the stack that the library's public
//! API reaches with arguments a harness can build ([`shape`]) — and writes a
//! small harness crate ([`harness`]) that depends on the target crate by
//! path and on `proptest`. Its strategies start from boundary values (empty,
//! zero, `MAX`, `MIN`, multibyte and long strings), bodies of the failing
//! request's payload shape when the event has one ([`payload`]), the
//! literals of the crate's own tests and doc examples, and mutations of
//! these, then anything;
//! proptest shrinks the first case that panics at the location. The
//! validator runs it inside the checks' sandbox within the policy's budget
//! (`[reproduce] budget`, see [`Validator::reproduce`](crate::Validator::reproduce)).
//!
//! A [`Reproduction`] that found the panic carries a plain `#[test]` with the
//! shrunk input as literals; [`Reproduction::attach`] adds it to every
//! candidate, so validation proves the fix on the failing input (fails on
//! the base, passes with the fix, within a timeout).

pub(crate) mod generics;
pub(crate) mod harness;
mod message;
mod payload;
mod relevance;
pub(crate) mod shape;
pub(crate) mod target;
mod values;

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::panic_class::PanicClass;
use crate::{FixContext, Patch, RegressionTest};

use harness::{Location, Outcome, Seeds};
use shape::Shape;
use target::{Callee, LibCrate};

/// Whether the incident's panic was reproduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReproductionStatus {
    /// An input raised the same panic at the same place.
    Reproduced,
    /// The search ran (or could not be set up) and found nothing.
    NotReproduced,
    /// No search was made (the validator does not search, or the policy
    /// turned it off).
    #[default]
    NotAttempted,
}

/// The reproduction's regression test: a file the patch adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReproductionTest {
    /// Repository-relative path of the test file (new).
    pub path: String,
    /// The test's name (a `cargo test` filter).
    pub name: String,
    /// The file's text; the text added at its end when the file exists
    /// (see `diff`).
    pub source: String,
    /// When the test goes at the end of an existing test file (a crate
    /// listing its test targets): the file's diff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Cargo features the call needs (see [`RegressionTest::features`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// The paths of calls whose result is unwrapped (`a::B::new(..).unwrap()`,
/// `.expect(..)`), turbofish left out.
struct Unwrapped(Vec<String>);

impl<'ast> syn::visit::Visit<'ast> for Unwrapped {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if m.method == "unwrap" || m.method == "expect" {
            if let syn::Expr::Call(c) = &*m.receiver {
                if let syn::Expr::Path(p) = &*c.func {
                    let path: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
                    self.0.push(path.join("::"));
                }
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }
}

/// Whether `e` is the emptiest value of its type, where shrinking ends: `""`,
/// `0`, `0.0`, `false`, `None`, `[]`, `vec![]`, `Default::default()`,
/// `String::new()`, behind any `&`.
fn emptiest(e: &syn::Expr) -> bool {
    use syn::{Expr, Lit};
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) => s.value().is_empty(),
            Lit::ByteStr(s) => s.value().is_empty(),
            Lit::Int(i) => i.base10_digits() == "0",
            Lit::Float(f) => f.base10_parse::<f64>().is_ok_and(|v| v == 0.0),
            Lit::Bool(b) => !b.value,
            _ => false,
        },
        Expr::Reference(r) => emptiest(&r.expr),
        Expr::Paren(p) => emptiest(&p.expr),
        Expr::Array(a) => a.elems.is_empty(),
        Expr::Macro(m) => m.mac.path.is_ident("vec") && m.mac.tokens.is_empty(),
        Expr::Path(p) => p.path.is_ident("None"),
        Expr::Call(c) => {
            c.args.is_empty()
                && matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "default" || s.ident == "new"))
        }
        Expr::MethodCall(m) => {
            m.args.is_empty() && (m.method == "to_string" || m.method == "to_vec") && emptiest(&m.receiver)
        }
        _ => false,
    }
}

/// A frame's function name without generic arguments
/// (`diff_deadline<[usize; 8], ..>` → `diff_deadline`).
fn strip_generics(f: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(f.len());
    for c in f.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim_end_matches("::").replace("::::", "::")
}

/// What the search for a reproducing input found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reproduction {
    /// Reproduced or not.
    pub status: ReproductionStatus,
    /// In one sentence: what reproduced it, or why nothing did.
    pub detail: String,
    /// The function the harness called (`my_crate::parse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// The shrunk reproducing call, as Rust (`my_crate::parse("é")`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The reproduced panic: `file:line: message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panic: Option<String>,
    /// The regression test, when reproduced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<ReproductionTest>,
    /// Cases the search tried.
    #[serde(default)]
    pub cases: u64,
    /// Wall time of the search, building included.
    #[serde(default)]
    pub duration_ms: u64,
}

impl Reproduction {
    /// No search was made, and why.
    pub fn not_attempted(why: impl Into<String>) -> Self {
        Reproduction {
            status: ReproductionStatus::NotAttempted,
            detail: why.into(),
            ..Reproduction::default()
        }
    }

    /// The search found nothing, and why.
    pub fn not_reproduced(why: impl Into<String>) -> Self {
        Reproduction {
            status: ReproductionStatus::NotReproduced,
            detail: why.into(),
            ..Reproduction::default()
        }
    }

    /// Whether an input reproduced the panic (and a test was written).
    pub fn reproduced(&self) -> bool {
        self.status == ReproductionStatus::Reproduced && self.test.is_some()
    }

    /// The crate's own fallible constructor that accepted the reproducing
    /// input before the panic came, later, outside it: `fancy_regex::Regex::new`
    /// in `fancy_regex::Regex::is_match(&fancy_regex::Regex::new("\\1").unwrap(), "")`
    /// when `new` is not on the panic's stack (`frames`: the event's
    /// function names), and the panic needs nothing else: every other
    /// argument of the call shrank to its emptiest value (`""`, `0`,
    /// `false`, `None`, `[]`). The constructed value alone panics, so the
    /// input was let in where it could have been refused: a value made up
    /// where it panicked hides that (see [`Pipeline`](crate::Pipeline)'s
    /// decision). A panic that needs the other arguments too (a text to
    /// match) is a bug where the value is used, not one the constructor let
    /// in: `None`.
    pub fn accepted_by<'f>(&self, frames: impl IntoIterator<Item = &'f str>) -> Option<String> {
        if !self.reproduced() {
            return None;
        }
        // An `async fn`'s input reads `f(..).await`: the call is inside.
        let input = match syn::parse_str(self.input.as_deref()?).ok()? {
            syn::Expr::Await(a) => *a.base,
            e => e,
        };
        let syn::Expr::Call(input) = input else {
            return None;
        };
        let krate = self.call.as_deref()?.split("::").next()?.to_string();
        let frames: Vec<String> = frames.into_iter().map(strip_generics).collect();
        let accepting = |path: &String| {
            let segments: Vec<&str> = path.split("::").collect();
            let tail = segments[segments.len().saturating_sub(2)..].join("::");
            let last = segments[segments.len() - 1];
            // A frame may name the function bare (`new<&str>`): when unsure
            // whether the constructor was on the stack, it was.
            segments.len() >= 2
                && segments[0] == krate
                && self.call.as_deref() != Some(path.as_str())
                && !frames
                    .iter()
                    .any(|f| f == path || f.ends_with(&format!("::{tail}")) || *f == tail || f == last)
        };
        let mut found = None;
        for arg in &input.args {
            let mut unwrapped = Unwrapped(Vec::new());
            syn::visit::Visit::visit_expr(&mut unwrapped, arg);
            match unwrapped.0.into_iter().find(|p| accepting(p)) {
                Some(ctor) => found = found.or(Some(ctor)),
                None if emptiest(arg) => {}
                None => return None,
            }
        }
        found
    }

    /// `patch` with the reproduction's regression test added (a new file)
    /// and named as its [`Patch::regression_test`]; `patch` unchanged when
    /// nothing was reproduced or the patch already writes that file.
    pub fn attach(&self, patch: Patch) -> Patch {
        let Some(test) = self.test.as_ref().filter(|_| self.reproduced()) else {
            return patch;
        };
        if patch.files.iter().any(|f| f == &test.path) {
            return patch;
        }
        let lines: Vec<&str> = test.source.lines().collect();
        let mut diff = patch.diff.clone();
        if !diff.is_empty() && !diff.ends_with('\n') {
            diff.push('\n');
        }
        if let Some(appended) = &test.diff {
            diff.push_str(appended);
        } else {
            diff.push_str(&format!(
                "diff --git a/{p} b/{p}\nnew file mode 100644\n--- /dev/null\n+++ b/{p}\n@@ -0,0 +1,{n} @@\n",
                p = test.path,
                n = lines.len()
            ));
            for l in &lines {
                diff.push('+');
                diff.push_str(l);
                diff.push('\n');
            }
        }
        let mut out = patch;
        out.diff = diff;
        out.files.push(test.path.clone());
        out.lines_added += lines.len() as u32;
        out.regression_test = Some(RegressionTest {
            path: test.path.clone(),
            name: test.name.clone(),
            features: test.features.clone(),
        });
        out
    }
}

/// A harness ready to be written into a checkout and run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    krate: LibCrate,
    callee: Callee,
    at: Location,
    expected: Option<PanicClass>,
    /// Files to write, relative to the checkout root.
    pub files: Vec<(String, String)>,
    /// When a value is changed by steps before the call
    /// ([`Shape::Prepared`]): the callee and search program without them.
    unstepped: Option<(Callee, String)>,
}

impl Plan {
    /// The harness's manifest building the crate with `features` on.
    pub(crate) fn manifest_with(&self, features: &[String]) -> String {
        harness::manifest(&self.krate, features, &named_crates(&self.callee.path))
    }

    /// Whether a value of the call is changed by steps
    /// ([`Shape::Prepared`]).
    pub(crate) fn has_steps(&self) -> bool {
        self.unstepped.is_some()
    }

    /// The plan without steps, when it had some: a harness whose steps do
    /// not build (a method's bound bugstack misread) is built again without
    /// them, rather than losing the search. Returns the search program's
    /// path (relative to the checkout) and its new text.
    pub(crate) fn drop_steps(&mut self) -> Option<(String, String)> {
        let (callee, source) = self.unstepped.take()?;
        self.callee = callee;
        let path = search_file();
        for (p, text) in &mut self.files {
            if *p == path {
                text.clone_from(&source);
            }
        }
        Some((path, source))
    }
}

/// Plans the search for `ctx`'s panic in the checkout at `root`; why not,
/// when no function can be called.
pub(crate) fn plan(ctx: &FixContext, root: &Path, budget: Duration) -> Result<Plan, String> {
    let target = ctx.target().ok_or("no frame maps to the repository")?;
    let at = Location {
        file: target.path.clone(),
        line: target.line,
    };
    let krate = target::lib_crate(root, &target.path)?;
    let callee = target::find_callee(ctx, root, &krate).map_err(|e| format!("no function to call: {e}"))?;
    let mut sources: Vec<String> = Vec::new();
    let tests_dir = root.join(&krate.dir).join("tests");
    if let Ok(entries) = std::fs::read_dir(&tests_dir) {
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        paths.sort();
        sources.extend(paths.iter().take(32).filter_map(|p| std::fs::read_to_string(p).ok()));
    }
    sources.extend(
        ctx.snippets
            .iter()
            .filter(|s| s.kind == crate::SnippetKind::Test)
            .map(|s| s.text.clone()),
    );
    sources.extend(ctx.file(&target.path).map(str::to_string));
    let name = callee.path.rsplit("::").next().unwrap_or_default();
    // The tests about the code that panicked seed first (see `relevance`),
    // then as many again from every source in file order: the related ones
    // never crowd out what the file order offered before.
    let related = relevance::related_tests(&sources, &relevance::site_words(ctx));
    // The values the panic message quotes first (the text a slice was cut
    // from, the index), then bodies of the failing request's shape, when
    // the event has one.
    let mut seeds = message::seeds(&ctx.incident.event.message);
    seeds.absorb(request_seeds(ctx));
    seeds.absorb(Seeds::collect(related.iter().map(String::as_str)));
    let mut all = Seeds::collect_for(sources.iter().map(String::as_str), name);
    seeds.args = std::mem::take(&mut all.args);
    seeds.absorb(all);
    // The panicking file's own literals, whatever the cap left out: an
    // overflow is often `x + K` for one of its constants, a parser compares
    // against its chars (the delimiters).
    seeds.absorb(Seeds::collect(ctx.file(&target.path)));
    let expected = PanicClass::from_message(&ctx.incident.event.message);
    let dir = harness::HARNESS_DIR;
    let needles = class_needles(expected);
    let files = vec![
        (
            format!("{dir}/Cargo.toml"),
            harness::manifest(&krate, &[], &named_crates(&callee.path)),
        ),
        (
            search_file(),
            harness::search_source(&callee, &at, needles, &seeds, budget),
        ),
        (format!("{dir}/src/lib.rs"), String::new()),
    ];
    let unstepped = callee.args.iter().any(Shape::is_prepared).then(|| {
        let callee = Callee {
            args: callee.args.iter().map(Shape::without_steps).collect(),
            ..callee.clone()
        };
        let source = harness::search_source(&callee, &at, needles, &seeds, budget);
        (callee, source)
    });
    Ok(Plan {
        krate,
        callee,
        at,
        expected,
        files,
        unstepped,
    })
}

/// The crates a call names besides the target, through the types its
/// generic parameters were given ([`generics::pick`]): `serde`.
fn named_crates(call: &str) -> Vec<&'static str> {
    generics::DEPENDENCY_CRATES
        .iter()
        .copied()
        .filter(|c| call.contains(&format!("<{c}::")) || call.contains(&format!(" {c}::")))
        .collect()
}

/// Seeds from the request the service was handling, when the event says
/// which JSON body it had ([`payload::seeds`]); none otherwise.
fn request_seeds(ctx: &FixContext) -> Seeds {
    let shape = ctx
        .incident
        .event
        .request
        .as_ref()
        .and_then(|r| r.payload_shape.as_ref());
    shape.map(payload::seeds).unwrap_or_default()
}

/// The search program's path, relative to the checkout.
fn search_file() -> String {
    format!("{}/tests/{}.rs", harness::HARNESS_DIR, harness::HARNESS_TEST)
}

/// Words a panic message of `class` contains (what
/// [`PanicClass::from_message`] keys on), so the search keeps only panics of
/// the incident's class; empty for an unknown class.
fn class_needles(class: Option<PanicClass>) -> &'static [&'static str] {
    use crate::OverflowOp as Op;
    match class {
        // An explicit panic's message is the program's own: any panic at the
        // incident's location counts.
        None | Some(PanicClass::ExplicitPanic) => &[],
        Some(PanicClass::UnwrapNone) => &["on a `None` value"],
        Some(PanicClass::UnwrapErr) => &["on an `Err` value"],
        Some(PanicClass::ParseUnwrap) => &["on an `Err` value"],
        Some(PanicClass::IndexOob) => &["index out of bounds"],
        Some(PanicClass::SliceRange) => &[
            "out of range for slice",
            "slice index starts at",
            "is out of bounds of",
            "when slicing",
        ],
        Some(PanicClass::MissingKey) => &["no entry found for key"],
        Some(PanicClass::VecPosition) => &["should be < len", "should be <= len"],
        Some(PanicClass::DivZero) => &["attempt to divide by zero"],
        Some(PanicClass::RemZero) => &["remainder with a divisor of zero"],
        Some(PanicClass::CharBoundary) => &["is not a char boundary"],
        Some(PanicClass::Overflow(op)) => match op {
            Op::Add => &["attempt to add with overflow", "overflow when adding"],
            Op::Sub => &["attempt to subtract with overflow", "overflow when subtracting"],
            Op::Mul => &["attempt to multiply with overflow", "overflow when multiplying"],
            Op::Div => &["attempt to divide with overflow"],
            Op::Neg => &["attempt to negate with overflow"],
            Op::Shl => &["attempt to shift left with overflow"],
            Op::Shr => &["attempt to shift right with overflow"],
        },
    }
}

impl Plan {
    /// The target crate's directory (relative), where its `Cargo.lock`
    /// search starts.
    pub(crate) fn crate_dir(&self) -> &str {
        &self.krate.dir
    }

    /// The function called.
    pub(crate) fn call(&self) -> &str {
        &self.callee.path
    }

    /// The reproduction the harness's `output` shows; `root` is the
    /// checkout (to name the test file).
    /// `features`: the crate's Cargo features the harness was built with
    /// (the ones gating the callee), which the regression test needs too.
    pub(crate) fn conclude(&self, root: &Path, output: &str, features: &[String]) -> Reproduction {
        let outcome = match harness::parse_output(output, &self.callee.args) {
            Ok(o) => o,
            Err(e) => {
                return Reproduction {
                    call: Some(self.callee.path.clone()),
                    ..Reproduction::not_reproduced(format!("the search failed: {e}"))
                }
            }
        };
        match outcome {
            Outcome::NotReproduced { cases } => Reproduction {
                call: Some(self.callee.path.clone()),
                cases,
                ..Reproduction::not_reproduced(format!(
                    "no input among {cases} generated case(s) made `{}` panic at {}:{}",
                    self.callee.path, self.at.file, self.at.line
                ))
            },
            Outcome::Reproduced {
                args,
                at,
                message,
                cases,
            } => {
                let got = PanicClass::from_message(&message);
                if let (Some(want), Some(got)) = (self.expected, got) {
                    if want != got {
                        return Reproduction {
                            call: Some(self.callee.path.clone()),
                            cases,
                            ..Reproduction::not_reproduced(format!(
                                "an input panicked at {at}, but as {} where the incident is {}",
                                got.name(),
                                want.name()
                            ))
                        };
                    }
                }
                let (path, name) = harness::regression_names(root, &self.krate, &self.callee, &self.at);
                let extern_crate = self.krate.edition_2015.then_some(self.krate.lib_name.as_str());
                let (source, diff) = match name.split_once("::") {
                    // Appended to an existing test target, in a module.
                    Some((module, _)) => {
                        let Ok(before) = std::fs::read_to_string(root.join(&path)) else {
                            return Reproduction {
                                call: Some(self.callee.path.clone()),
                                cases,
                                ..Reproduction::not_reproduced(format!("reproduced, but {path} cannot be read"))
                            };
                        };
                        // In the library itself (no test target to join), as
                        // a unit test naming the crate `crate`.
                        let unit = self.krate.test_target.is_none().then_some(self.krate.lib_name.as_str());
                        let added = harness::regression_source(
                            &self.callee,
                            &args,
                            module,
                            &self.at,
                            extern_crate.filter(|_| unit.is_none()),
                            harness::Placement::Module { unit },
                            features,
                        );
                        let mut after = before.clone();
                        if !after.is_empty() && !after.ends_with('\n') {
                            after.push('\n');
                        }
                        after.push_str(&added);
                        let diff = crate::patch::unified_diff(&path, &before, &after);
                        (added, Some(diff))
                    }
                    None => (
                        harness::regression_source(
                            &self.callee,
                            &args,
                            &name,
                            &self.at,
                            extern_crate,
                            harness::Placement::File,
                            features,
                        ),
                        None,
                    ),
                };
                let input = self.callee.shown(&args);
                Reproduction {
                    status: ReproductionStatus::Reproduced,
                    detail: format!(
                        "`{input}` panics at {at} (found in {cases} case(s){})",
                        if self.callee.frame > 0 {
                            format!(", called {} frame(s) up the stack", self.callee.frame)
                        } else {
                            String::new()
                        }
                    ),
                    call: Some(self.callee.path.clone()),
                    input: Some(input),
                    panic: Some(format!("{at}: {message}")),
                    test: Some(ReproductionTest {
                        path,
                        name,
                        source,
                        diff,
                        features: features.to_vec(),
                    }),
                    cases,
                    duration_ms: 0,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constructor_that_accepted_the_input_is_named_unless_it_panicked() {
        let r = |input: &str| Reproduction {
            status: ReproductionStatus::Reproduced,
            call: Some("fancy_regex::Regex::is_match".into()),
            input: Some(input.into()),
            test: Some(ReproductionTest {
                path: "tests/r.rs".into(),
                name: "r".into(),
                source: String::new(),
                diff: None,
                features: Vec::new(),
            }),
            ..Reproduction::default()
        };
        let through = r(r#"fancy_regex::Regex::is_match(&fancy_regex::Regex::new("\\1").unwrap(), "")"#);
        let frames = ["fancy_regex::vm::State::get", "fancy_regex::Regex::is_match"];
        assert_eq!(through.accepted_by(frames).as_deref(), Some("fancy_regex::Regex::new"));
        // The panic was in the constructor: it did not accept the input.
        let in_ctor = ["fancy_regex::parse::Parser::parse", "fancy_regex::Regex::new"];
        assert_eq!(through.accepted_by(in_ctor), None);
        assert_eq!(through.accepted_by(["new<&str>"]), None);
        assert_eq!(through.accepted_by(["Regex::new<&str>"]), None);
        // The panic needs a text too: the matcher's bug, not the pattern's.
        let with_text =
            r(r#"fancy_regex::Regex::find_from_pos(&fancy_regex::Regex::new("(.)(?i:\\1)").unwrap(), "aé", 0)"#);
        assert_eq!(with_text.accepted_by(frames), None);
        let emptiest =
            r(r#"fancy_regex::Regex::find_from_pos(&fancy_regex::Regex::new("\\1").unwrap(), &String::new(), 0)"#);
        assert_eq!(emptiest.accepted_by(frames).as_deref(), Some("fancy_regex::Regex::new"));
        let awaited = r(r#"fancy_regex::Regex::check(&fancy_regex::Regex::new("\\1").unwrap(), "").await"#);
        assert_eq!(awaited.accepted_by(frames).as_deref(), Some("fancy_regex::Regex::new"));
        // Another crate's constructor, or none: nothing to say.
        let other = r(
            r#"fancy_regex::Regex::is_match(&fancy_regex::Regex::new("a").unwrap(), std::str::from_utf8(b"").unwrap())"#,
        );
        assert_eq!(other.accepted_by(["x"]), None, "`from_utf8(..)` is no emptiest value");

        let plain = r(r#"fancy_regex::escape(std::str::from_utf8(b"a").unwrap())"#);
        assert_eq!(plain.accepted_by(["x"]), None);
        // Nothing reproduced: nothing to say.
        let mut not = through.clone();
        not.test = None;
        assert_eq!(not.accepted_by(frames), None);
    }

    #[test]
    fn attach_adds_the_test_file_once() {
        let r = Reproduction {
            status: ReproductionStatus::Reproduced,
            test: Some(ReproductionTest {
                path: "tests/bugstack_repro_f_3.rs".into(),
                name: "bugstack_repro_f_3".into(),
                source: "#[test]\nfn bugstack_repro_f_3() {}\n".into(),
                diff: None,
                features: Vec::new(),
            }),
            ..Reproduction::default()
        };
        let fix = Patch::from_diff("--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a\n+b\n").unwrap();
        let p = r.attach(fix);
        assert_eq!(p.files, ["src/lib.rs", "tests/bugstack_repro_f_3.rs"]);
        assert_eq!((p.lines_added, p.lines_removed), (3, 1));
        assert_eq!(
            p.regression_test.as_ref().map(|t| t.name.as_str()),
            Some("bugstack_repro_f_3")
        );
        let parsed = Patch::from_diff(p.diff.clone()).unwrap();
        assert_eq!(parsed.files, p.files);
        assert_eq!(r.attach(p.clone()), p, "attached once");
        let none = Reproduction::not_reproduced("x");
        let fix = Patch::from_diff("--- a/a\n+++ b/a\n@@ -1 +1 @@\n-a\n+b\n").unwrap();
        assert_eq!(none.attach(fix.clone()), fix);
    }
}
