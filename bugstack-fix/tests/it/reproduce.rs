//! Reproduction by search, end to end through the Pipeline and the
//! WorktreeValidator on small fixture crates: the search finds the panic's
//! input through the public API, the input becomes the patch's regression
//! test (fails on the base, passes with the fix, under a timeout), and a
//! candidate that hangs or panics further on is blamed. Nothing reproduced:
//! the fix is proposed with its confidence capped, "not reproduced".
//!
//! Each test builds `proptest` for its harness once into a target directory
//! the tests share.

use crate::support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use bugstack_fix::{
    render_markdown, ContextBuilder, DecisionKind, Error, Feedback, FileEdit, FixContext, FixGenerator, FixReport,
    Incident, Patch, Pipeline, Policy, RepoFrame, RepoRef, Reproduction, ReproductionStatus, Result, ValidatorOptions,
    WorktreeValidator, NOT_REPRODUCED_CAP,
};
use support::{git, panic_event, slow_check, Repo};

const MANIFEST: &str =
    "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n\n[workspace]\n";

/// The panic of slicing `"é"` at byte 1.
const CHAR_BOUNDARY: &str = "byte index 1 is not a char boundary; it is inside 'é' (bytes 0..2) of `é`";

/// `Codes::get(&self, code)`, whose `code - 1` overflows at 0 (line 10), a
/// receiver with private fields and a derived `Default`.
const CODES: &str = "/// One-based codes.\n#[derive(Debug, Default)]\npub struct Codes {\n    list: Vec<u64>,\n}\n\nimpl Codes {\n    /// The code at one-based position `code`.\n    pub fn get(&self, code: u64) -> Option<u64> {\n        let at = code as usize - 1;\n        self.list.get(at).copied()\n    }\n}\n";

/// The fix of [`CODES`]'s overflow: (from, to).
const CODES_FIX: (&str, &str) = (
    "let at = code as usize - 1;",
    "let at = (code as usize).checked_sub(1)?;",
);

/// The slicing in `f` of [`CHAR_BOUNDARY`]'s panic and its fix: (from, to).
const HEAD_FIX: (&str, &str) = (
    "    let head = &s[..1];\n    head.as_bytes()[0]",
    "    s.as_bytes().first().copied().unwrap_or(0)",
);

/// A context whose frames are `frames` (innermost first) in `path`.
struct Frames {
    path: &'static str,
    text: &'static str,
    frames: Vec<(u32, &'static str)>,
}

#[async_trait]
impl ContextBuilder for Frames {
    async fn build(&self, incident: &Incident, repo: &RepoRef) -> Result<FixContext> {
        let mut ctx = FixContext::new(
            incident.clone(),
            repo.root.clone(),
            git(&repo.root, &["rev-parse", "HEAD"]),
        );
        ctx.frames = self
            .frames
            .iter()
            .enumerate()
            .map(|(i, (line, function))| RepoFrame {
                frame_index: Some(i),
                path: self.path.into(),
                line: *line,
                column: None,
                function: Some((*function).into()),
            })
            .collect();
        ctx.files.insert(self.path.into(), self.text.into());
        Ok(ctx)
    }
}

/// One candidate (a textual replacement in `src/lib.rs`), then no more
/// ideas; keeps the feedback it was given.
struct OneIdea {
    path: &'static str,
    before: &'static str,
    from: &'static str,
    to: &'static str,
    seen: Mutex<Vec<Feedback>>,
}

impl OneIdea {
    fn new(before: &'static str, from: &'static str, to: &'static str) -> Self {
        assert!(before.contains(from), "the fixture contains {from:?}");
        OneIdea {
            path: "src/lib.rs",
            before,
            from,
            to,
            seen: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl FixGenerator for OneIdea {
    fn name(&self) -> String {
        "template".into()
    }

    async fn generate(&self, _ctx: &FixContext, feedback: &[Feedback]) -> Result<Patch> {
        *self.seen.lock().unwrap() = feedback.to_vec();
        if !feedback.is_empty() {
            return Err(Error::Generate("no other idea".into()));
        }
        let mut p = Patch::from_edits(&[FileEdit {
            path: self.path.into(),
            before: self.before.into(),
            after: self.before.replacen(self.from, self.to, 1),
        }])?;
        p.generator = "template".into();
        p.class = Some("fixture".into());
        p.root_cause = "the fixture's bug".into();
        Ok(p)
    }
}

/// The indices of this module's target directories no test is using.
static FREE_TARGETS: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// How many target directories this module's tests have made.
static TARGETS: AtomicUsize = AtomicUsize::new(0);

/// A target directory no other test of this module is using, until it is
/// dropped: one per test running at once, each reused by the tests that
/// follow (the harness's `proptest` is built once in each). Tests running
/// side by side then never wait on each other's target lock.
struct SharedTarget(usize);

impl SharedTarget {
    fn take() -> SharedTarget {
        let mut free = FREE_TARGETS.lock().unwrap_or_else(PoisonError::into_inner);
        let lowest = (0..free.len()).min_by_key(|&i| free[i]);
        SharedTarget(match lowest {
            Some(i) => free.swap_remove(i),
            None => TARGETS.fetch_add(1, Ordering::SeqCst),
        })
    }

    fn path(&self) -> PathBuf {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("reproduce-target-{}", self.0))
    }
}

impl Drop for SharedTarget {
    fn drop(&mut self) {
        FREE_TARGETS.lock().unwrap_or_else(PoisonError::into_inner).push(self.0);
    }
}

fn policy(budget: &str) -> Policy {
    let mut p = Policy {
        checks: vec![slow_check("build", "cargo build")],
        auto_merge: true,
        confidence_threshold: 0.8,
        retry_limit: 1,
        ..Policy::default()
    };
    p.reproduce.budget = budget.into();
    p
}

/// The search reproduced the panic; its reproduction.
fn assert_reproduced(report: &FixReport) -> &Reproduction {
    let r = &report.reproduction;
    assert_eq!(r.status, ReproductionStatus::Reproduced, "{}", report.to_json());
    r
}

/// The search reproduced the panic by the call `input`.
fn assert_input(report: &FixReport, input: &str) {
    let found = assert_reproduced(report).input.as_deref();
    assert_eq!(found, Some(input), "{}", report.to_json());
}

/// The search reproduced the panic by a call starting with `prefix` (the
/// rest is what the seeded search shrank to).
fn assert_input_starts(report: &FixReport, prefix: &str) {
    let input = assert_reproduced(report).input.clone().unwrap_or_default();
    assert!(input.starts_with(prefix), "{input}");
}

/// [`run`] with one candidate replacing `fix.0` by `fix.1` in `lib` and a
/// 30 s budget; the search reproduced the panic.
async fn reproduced(
    lib: &'static str,
    fix: (&'static str, &'static str),
    frames: Vec<(u32, &'static str)>,
    message: &str,
) -> FixReport {
    let generator = Arc::new(OneIdea::new(lib, fix.0, fix.1));
    let (report, _repo) = run(lib, frames, message, generator, "30s").await;
    assert_reproduced(&report);
    report
}

/// The first attempt's regression test failed on the base and passed with
/// the fix (the input found is proven by the validator).
fn assert_regression_proven(report: &FixReport) {
    let regression = report.attempts[0]
        .validation
        .as_ref()
        .and_then(|v| v.regression.as_ref())
        .unwrap_or_else(|| panic!("no regression check: {}", report.to_json()));
    assert!(
        regression.fails_on_base && regression.passes_with_fix,
        "{}",
        report.to_json()
    );
}

async fn run(
    lib: &'static str,
    frames: Vec<(u32, &'static str)>,
    message: &str,
    generator: Arc<OneIdea>,
    budget: &str,
) -> (FixReport, Repo) {
    run_event(lib, frames, panic_event(message), generator, budget).await
}

/// [`run`] with the event given.
async fn run_event(
    lib: &'static str,
    frames: Vec<(u32, &'static str)>,
    event: bugstack_core::Event,
    generator: Arc<OneIdea>,
    budget: &str,
) -> (FixReport, Repo) {
    run_files(lib, &[], ("src/lib.rs", lib), frames, event, generator, budget).await
}

/// [`run_event`] with more files in the crate (`path`, text); `frames` are in
/// the file `at` (path, text).
async fn run_files(
    lib: &'static str,
    more: &[(&str, &str)],
    at: (&'static str, &'static str),
    frames: Vec<(u32, &'static str)>,
    event: bugstack_core::Event,
    generator: Arc<OneIdea>,
    budget: &str,
) -> (FixReport, Repo) {
    let mut files = vec![("Cargo.toml", MANIFEST), ("src/lib.rs", lib)];
    files.extend_from_slice(more);
    let repo = Repo::with_files(&files, "base");
    let work = tempfile::TempDir::new().unwrap();
    let target = SharedTarget::take();
    let validator = WorktreeValidator::new(ValidatorOptions {
        work_root: Some(work.path().join("worktrees")),
        target_dir: Some(target.path()),
        ..ValidatorOptions::default()
    });
    let ctx = Frames {
        path: at.0,
        text: at.1,
        frames,
    };
    let pipeline = Pipeline::new(Arc::new(ctx), generator, Arc::new(validator));
    let report = pipeline
        .run(
            &Incident::from_event("1", event),
            &RepoRef::new(repo.path()),
            &policy(budget),
        )
        .await
        .unwrap();
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "the repository is untouched"
    );
    (report, repo)
}

/// (c) `fn f(s: &str) -> u8` slicing by byte index: the search finds a
/// string whose first char is multibyte, the patch carries it as a plain
/// `#[test]` that fails on the base and passes with the fix, and "reproduced
/// and fixed" lifts the confidence to auto-merge.
#[tokio::test]
async fn a_found_reproduction_is_the_fixs_regression_test() {
    const LIB: &str = "/// The first byte of `s`, or 0.\npub fn f(s: &str) -> u8 {\n    let head = &s[..1];\n    head.as_bytes()[0]\n}\n";
    let report = reproduced(LIB, HEAD_FIX, vec![(3, "fixture::f")], CHAR_BOUNDARY).await;
    let json = report.to_json();
    let r = &report.reproduction;
    let input = r.input.as_deref().unwrap();
    assert!(input.starts_with("fixture::f(\""), "{input}");
    assert!(r.panic.as_deref().unwrap().contains("is not a char boundary"), "{json}");
    let test = r.test.as_ref().unwrap();
    assert!(
        test.source.contains("#[test]") && !test.source.contains("proptest"),
        "{}",
        test.source
    );

    let fix = report.fix.as_ref().expect("a fix");
    assert!(
        fix.files.contains(&test.path),
        "the patch adds the test: {:?}",
        fix.files
    );
    assert!(fix.diff.contains(input), "{}", fix.diff);
    assert_regression_proven(&report);
    let c = report.confidence.as_ref().unwrap();
    let signal = c.signals.iter().find(|s| s.name == "reproduction").unwrap();
    assert!(
        signal.contribution > 0.0 && signal.observed.starts_with("reproduced and fixed"),
        "{c:?}"
    );
    assert!(c.score >= 0.8, "{c:?}");
    assert_eq!(report.decision.kind, DecisionKind::AutoMerge, "{:?}", report.decision);
    assert!(render_markdown(&report).contains("### Reproduction: reproduced"));
}

/// (a) A char-boundary guard that returns 0 to a caller looping until the
/// helper makes progress turns the panic into an infinite loop: the
/// reproduction's test times out, the candidate is blamed, no fix is
/// proposed. The search calls the nearest public caller (`units`): the
/// helper is private.
#[tokio::test]
async fn a_fix_that_hangs_is_caught_by_the_reproductions_timeout() {
    const LIB: &str = "/// Counts one-byte units of `s`.\npub fn units(s: &str) -> usize {\n    let mut at = 0;\n    let mut n = 0;\n    while at < s.len() {\n        at += advance(s, at);\n        n += 1;\n    }\n    n\n}\n\nfn advance(s: &str, at: usize) -> usize {\n    let unit = &s[at..at + 1];\n    unit.len()\n}\n";
    let hang = Arc::new(OneIdea::new(
        LIB,
        "    let unit = &s[at..at + 1];",
        "    let Some(unit) = s.get(at..at + 1) else { return 0 };",
    ));
    let frames = vec![(13, "fixture::advance"), (6, "fixture::units")];
    let (report, _repo) = run(LIB, frames, CHAR_BOUNDARY, hang.clone(), "30s").await;
    let json = report.to_json();
    assert_eq!(
        assert_reproduced(&report).call.as_deref(),
        Some("fixture::units"),
        "{json}"
    );
    assert!(report.fix.is_none(), "a hang is not a fix: {json}");
    assert_eq!(report.decision.kind, DecisionKind::NoFix, "{json}");
    let v = report.attempts[0].validation.as_ref().unwrap();
    assert!(!v.passed() && v.regression_blames_fix(), "{json}");
    assert!(
        v.regression.as_ref().unwrap().output.contains("no return within"),
        "{json}"
    );
    let seen = hang.seen.lock().unwrap().clone();
    assert!(
        seen[0].failure.contains("still fails with the fix"),
        "{}",
        seen[0].failure
    );
}

/// (b) Stopping the overflow at the panic line while the same input
/// overflows two lines later is blamed: the reproducing input still panics.
#[tokio::test]
async fn a_fix_that_moves_the_panic_is_blamed() {
    const LIB: &str = "/// Doubles `x` and pads it.\npub fn grow(x: u8) -> u8 {\n    let doubled = x * 2;\n    let padded = doubled + 10;\n    padded\n}\n";
    let moved = Arc::new(OneIdea::new(LIB, "x * 2", "x.saturating_mul(2)"));
    let frames = vec![(3, "fixture::grow")];
    let (report, _repo) = run(LIB, frames, "attempt to multiply with overflow", moved.clone(), "30s").await;
    let json = report.to_json();
    assert_reproduced(&report);
    assert!(report.fix.is_none(), "{json}");
    let v = report.attempts[0].validation.as_ref().unwrap();
    assert!(v.regression_blames_fix(), "{json}");
    assert!(v.regression.as_ref().unwrap().output.contains("panicked"), "{json}");
    assert_eq!(report.attempts.len(), 2, "the next strategy was asked for: {json}");
    assert!(!moved.seen.lock().unwrap().is_empty());
}

/// (d) Nothing reproduces within the budget: the fix is still proposed, the
/// report says "not reproduced", and the confidence is capped below any
/// threshold a policy may set.
#[tokio::test]
async fn nothing_reproduced_caps_the_confidence() {
    const LIB: &str = "/// Checks a tag.\npub fn tag(n: u64) -> u64 {\n    if (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) == 0x0bad_cafe {\n        panic!(\"impossible tag\");\n    }\n    n\n}\n";
    let fix = Arc::new(OneIdea::new(LIB, "panic!(\"impossible tag\");", "return 0;"));
    let (report, _repo) = run(LIB, vec![(4, "fixture::tag")], "impossible tag", fix, "3s").await;
    let json = report.to_json();
    assert_eq!(report.reproduction.status, ReproductionStatus::NotReproduced, "{json}");
    assert!(report.reproduction.cases > 0, "the search ran: {json}");
    assert!(report.fix.is_some(), "{json}");
    let c = report.confidence.as_ref().unwrap();
    assert!(c.score <= NOT_REPRODUCED_CAP, "{c:?}");
    // Below the default review threshold: held in the report, not proposed.
    assert_eq!(report.decision.kind, DecisionKind::Held, "{:?}", report.decision);
    assert!(
        report.decision.reason.contains("not reproduced"),
        "{:?}",
        report.decision
    );
    assert!(
        report
            .decision
            .reason
            .contains("review_threshold = 0.0 in bugstack.toml proposes unproven fixes"),
        "{:?}",
        report.decision
    );
    let md = render_markdown(&report);
    assert!(md.contains("### Reproduction: not reproduced"), "{md}");
}

#[test]
fn a_policy_cannot_set_the_threshold_below_the_cap() {
    assert!(Policy::from_toml_str("confidence_threshold = 0.4\n").is_err());
    assert!(Policy::from_toml_str("confidence_threshold = 0.5\n").is_ok());
    const { assert!(bugstack_fix::MIN_CONFIDENCE_THRESHOLD > NOT_REPRODUCED_CAP) };
}

/// The frame's function is a trait method a macro wrote
/// (`<u32 as fixture::Per>::per`, from `per!(u32)`): no `fn` is at the
/// frame's line, so the symbol names the type and the trait, and the trait's
/// definition gives the signature. The crate's unit tests no longer compile,
/// as with an old release under today's compiler: the regression test (an
/// integration test file) is built and run alone, fails on the base and
/// passes with the fix.
#[tokio::test]
async fn a_trait_method_written_by_a_macro_is_called_through_its_symbol() {
    const LIB: &str = "/// Division.\npub trait Per {\n    /// `self` per `by`.\n    fn per(&self, by: &Self) -> Self;\n}\n\nfn div(a: u32, b: u32) -> u32 {\n    a / b\n}\n\nmacro_rules! per {\n    ($t:ty) => {\n        impl Per for $t {\n            fn per(&self, by: &Self) -> Self {\n                div(*self, *by)\n            }\n        }\n    };\n}\n\nper!(u32);\n\n#[cfg(test)]\nmod unit {\n    #[test]\n    fn stale() {\n        let _: u8 = \"no longer compiles\";\n    }\n}\n";
    let fix = ("    a / b\n", "    a.checked_div(b).unwrap_or(0)\n");
    let frames = vec![(8, "fixture::div"), (21, "<u32 as fixture::Per>::per")];
    let report = reproduced(LIB, fix, frames, "attempt to divide by zero").await;
    let json = report.to_json();
    let r = &report.reproduction;
    assert_eq!(r.call.as_deref(), Some("<u32 as fixture::Per>::per"), "{json}");
    let test = r.test.as_ref().unwrap();
    assert!(
        !test.source.contains("extern crate"),
        "edition 2021 names the crate without it: {}",
        test.source
    );
    assert_regression_proven(&report);
    assert_eq!(report.decision.kind, DecisionKind::AutoMerge, "{json}");
}

/// A trait's default method taking `&mut self` is called on a type of the
/// crate implementing the trait whose values the harness builds (`&[u8]`):
/// `<&[u8] as fixture::Take>::skip(&mut &[..][..], n)`.
#[tokio::test]
async fn a_default_trait_method_is_called_on_an_implementing_type() {
    const LIB: &str = "/// A byte source.\npub trait Take {\n    /// Bytes left.\n    fn left(&self) -> usize;\n\n    /// Bytes left after skipping `n`.\n    fn skip(&mut self, n: usize) -> usize {\n        self.left() - n\n    }\n}\n\nimpl Take for &[u8] {\n    fn left(&self) -> usize {\n        self.len()\n    }\n}\n";
    let fix = ("self.left() - n", "self.left().saturating_sub(n)");
    let frames = vec![(8, "fixture::Take::skip")];
    let report = reproduced(LIB, fix, frames, "attempt to subtract with overflow").await;
    let json = report.to_json();
    let r = &report.reproduction;
    assert_eq!(r.call.as_deref(), Some("<&[u8] as fixture::Take>::skip"), "{json}");
    assert!(r.input.as_deref().unwrap().contains("(&mut &["), "{json}");
    assert_regression_proven(&report);
}

/// `Words` has private fields and no constructor but a `#[doc(hidden)]` one
/// (not public API, and it counts right): `Doc::words(&self)` makes one.
/// (`Doc::trimmed(&self) -> Self` makes a `Doc`, not a `Words`.) Its
/// `size_hint` underflows once `next` has yielded the empty doc's one empty
/// word, as `collect` calls them: the search drives the iterator that way,
/// over a `Doc` it builds.
#[tokio::test]
async fn an_iterator_made_by_another_types_method_is_driven_by_collect() {
    const LIB: &str = "/// A document.\npub struct Doc {\n    text: String,\n}\n\nimpl Doc {\n    /// A document of `text`.\n    pub fn new(text: &str) -> Doc {\n        Doc { text: text.to_string() }\n    }\n\n    /// The document without surrounding blanks.\n    pub fn trimmed(&self) -> Self {\n        Doc { text: self.text.trim().to_string() }\n    }\n\n    /// Its words; an empty document has one, empty.\n    pub fn words(&self) -> Words<'_> {\n        let total = self.text.split_whitespace().count();\n        Words { rest: self.text.split_whitespace(), total, seen: 0 }\n    }\n}\n\n/// The words of a [`Doc`].\npub struct Words<'a> {\n    rest: std::str::SplitWhitespace<'a>,\n    total: usize,\n    seen: usize,\n}\n\nimpl<'a> Words<'a> {\n    /// Not part of the public API: for the crate's own property tests.\n    #[doc(hidden)]\n    pub fn from_text(text: &'a str) -> Words<'a> {\n        Words { rest: text.split_whitespace(), total: text.split_whitespace().count().max(1), seen: 0 }\n    }\n}\n\nimpl<'a> Iterator for Words<'a> {\n    type Item = &'a str;\n\n    fn next(&mut self) -> Option<&'a str> {\n        let word = self.rest.next().or(if self.seen == 0 { Some(\"\") } else { None })?;\n        self.seen += 1;\n        Some(word)\n    }\n\n    fn size_hint(&self) -> (usize, Option<usize>) {\n        let left = self.total - self.seen;\n        (left, Some(left))\n    }\n}\n";
    assert_eq!(LIB.lines().nth(48), Some("        let left = self.total - self.seen;"));
    let fix = ("self.total - self.seen", "self.total.saturating_sub(self.seen)");
    let frames = vec![(
        49,
        "<fixture::Words as core::iter::traits::iterator::Iterator>::size_hint",
    )];
    let report = reproduced(LIB, fix, frames, "attempt to subtract with overflow").await;
    // The text is blank ("", or whitespace only: shrinking ends at either).
    let input = assert_reproduced(&report).input.clone().unwrap_or_default();
    let text = input
        .strip_prefix("std::iter::Iterator::collect::<std::vec::Vec<_>>(std::iter::Iterator::take(fixture::Doc::words(&fixture::Doc::new(")
        .and_then(|rest| rest.strip_suffix(")), 1000))"));
    let blank = text
        .and_then(|t| syn::parse_str::<syn::LitStr>(t).ok())
        .map(|l| l.value());
    assert!(blank.is_some_and(|t| t.trim().is_empty()), "{input}");
    let test = report.reproduction.test.as_ref().map(|t| t.path.as_str());
    assert_eq!(
        test,
        Some("tests/bugstack_repro_collect_49.rs"),
        "named without the turbofish"
    );
    assert_regression_proven(&report);
}

/// A method whose receiver has private fields: the value is built by the
/// type's `Default` (derived), the receiver the crate's own users start from.
#[tokio::test]
async fn a_receiver_with_private_fields_is_built_by_its_constructor() {
    let frames = vec![(10, "fixture::Codes::get")];
    let report = reproduced(CODES, CODES_FIX, frames, "attempt to subtract with overflow").await;
    assert_input(&report, "fixture::Codes::get(&fixture::Codes::default(), 0)");
    assert_regression_proven(&report);
}

/// Only the panic's own frame has a file and line (the binary has symbols
/// but no line tables for the crate); the caller is named by the event's
/// frames only (`fixture::Ring::at::{{closure}}`, then `fixture::Ring::at`):
/// the closure's enclosing method is found by its path, and the search
/// calls it.
#[tokio::test]
async fn a_frame_named_by_its_function_only_is_found_by_its_path() {
    const LIB: &str = "/// A ring of slots.\n#[derive(Debug, Default)]\npub struct Ring {\n    slots: Vec<u32>,\n}\n\nfn wrap(i: usize, len: usize) -> usize {\n    i % len\n}\n\nimpl Ring {\n    /// The slot at `i`, wrapping around.\n    pub fn at(&self, i: usize) -> Option<u32> {\n        self.slots.get(wrap(i, self.slots.len())).copied()\n    }\n}\n";
    let fix = Arc::new(OneIdea::new(
        LIB,
        "    i % len\n",
        "    i.checked_rem(len).unwrap_or(0)\n",
    ));
    let mut event = panic_event("attempt to calculate the remainder with a divisor of zero");
    event.frames = [
        "fixture::wrap",
        "fixture::Ring::at::{{closure}}",
        "fixture::Ring::at",
        "host::main",
    ]
    .iter()
    .map(|f| bugstack_core::Frame {
        function: Some((*f).into()),
        in_app: f.starts_with("fixture::"),
        ..bugstack_core::Frame::default()
    })
    .collect();
    let (report, _repo) = run_event(LIB, vec![(8, "fixture::wrap")], event, fix, "30s").await;
    assert_input(&report, "fixture::Ring::at(&fixture::Ring::default(), 0)");
    assert_regression_proven(&report);
}

/// The method's type lives in a private module the parent re-exports with a
/// glob (`mod codes; pub use self::codes::*;` under `pub mod table`): the
/// harness names it by the re-export, `fixture::table::Codes`.
#[tokio::test]
async fn a_type_re_exported_by_a_glob_is_named_by_its_public_path() {
    const LIB: &str = "/// Tables.\npub mod table;\n";
    const TABLE: &str = "//! Tables.\nmod codes;\npub use self::codes::*;\n";
    let fix = Arc::new(OneIdea::new(LIB, "/// Tables.", "/// The tables."));
    let (report, _repo) = run_files(
        LIB,
        &[("src/table/mod.rs", TABLE), ("src/table/codes.rs", CODES)],
        ("src/table/codes.rs", CODES),
        vec![(10, "fixture::table::codes::Codes::get")],
        panic_event("attempt to subtract with overflow"),
        fix,
        "30s",
    )
    .await;
    assert_input(
        &report,
        "fixture::table::Codes::get(&fixture::table::Codes::default(), 0)",
    );
}

/// The root of a crate with two public types named `Parser`.
const PARSERS: &str = "/// Parsers.\npub mod parser;\npub mod syntax;\n";
/// `syntax::Parser`, beside `parser::Parser`.
const SYNTAX_PARSER: &str = "/// Reads syntax trees.\n#[derive(Debug)]\npub struct Parser {\n    nodes: Vec<u8>,\n}\n\nimpl Parser {\n    /// No nodes.\n    pub fn new() -> Parser {\n        Parser { nodes: Vec::new() }\n    }\n\n    /// Adds a node.\n    pub fn push(&mut self, node: u8) {\n        self.nodes.push(node);\n    }\n}\n";

/// [`run_files`] on the crate [`PARSERS`] with `src/parser.rs` = `parser`,
/// the panic `message` at `frame` in it, and a 30 s budget.
async fn two_parsers(parser: &'static str, frame: (u32, &'static str), message: &str, fix: Arc<OneIdea>) -> FixReport {
    let files = [("src/parser.rs", parser), ("src/syntax.rs", SYNTAX_PARSER)];
    let at = ("src/parser.rs", parser);
    let (report, _repo) = run_files(PARSERS, &files, at, vec![frame], panic_event(message), fix, "30s").await;
    report
}

/// Two public types share a name (`parser::Parser`, `syntax::Parser`): the
/// receiver is the one the method belongs to, whichever the crate's files
/// list last.
#[tokio::test]
async fn a_receiver_is_the_type_of_its_method_among_types_of_one_name() {
    const PARSER: &str = "/// Reads patterns.\n#[derive(Debug)]\npub struct Parser {\n    depth: usize,\n}\n\nimpl Parser {\n    /// A parser at depth 0.\n    pub fn new() -> Parser {\n        Parser { depth: 0 }\n    }\n\n    /// The byte after the first of `pattern`.\n    pub fn parse(&mut self, pattern: &str) -> u8 {\n        self.depth += 1;\n        pattern.as_bytes()[1]\n    }\n}\n";
    let fix = Arc::new(OneIdea::new(PARSERS, "/// Parsers.", "/// The parsers."));
    let report = two_parsers(
        PARSER,
        (16, "fixture::parser::Parser::parse"),
        "index out of bounds: the len is 0 but the index is 1",
        fix,
    )
    .await;
    assert_input_starts(
        &report,
        "fixture::parser::Parser::parse(&mut fixture::parser::Parser::new(), ",
    );
}

/// The steps that change a receiver are its own type's methods, not those
/// of another public type of the same name (`syntax::Parser::push`, which
/// `parser::Parser` lacks: with it the steps did not build, were dropped,
/// and the depth the panic needs was never reached).
#[tokio::test]
async fn steps_are_the_methods_of_the_receivers_type_among_types_of_one_name() {
    const PARSER: &str = "/// How deep a parser may go.\nconst MAX_DEPTH: u32 = 2;\n\n/// Reads patterns.\n#[derive(Debug)]\npub struct Parser {\n    depth: u32,\n}\n\nimpl Parser {\n    /// A parser at depth 0.\n    pub fn new() -> Parser {\n        Parser { depth: 0 }\n    }\n\n    /// One group deeper, up to the limit.\n    pub fn enter(&mut self) {\n        if self.depth < MAX_DEPTH {\n            self.depth += 1;\n        }\n    }\n\n    /// The room each of `n` groups has left.\n    pub fn room(&self, n: u32) -> u32 {\n        n / (MAX_DEPTH - self.depth)\n    }\n}\n";
    let fix = Arc::new(OneIdea {
        path: "src/parser.rs",
        ..OneIdea::new(
            PARSER,
            "n / (MAX_DEPTH - self.depth)",
            "n.checked_div(MAX_DEPTH - self.depth).unwrap_or(0)",
        )
    });
    let report = two_parsers(
        PARSER,
        (25, "fixture::parser::Parser::room"),
        "attempt to divide by zero",
        fix,
    )
    .await;
    let r = assert_reproduced(&report);
    let input = r.input.clone().unwrap_or_default();
    assert!(input.contains("fixture::parser::Parser::enter(&mut value)"), "{input}");
    assert!(!r.detail.contains("did not build with steps"), "{}", r.detail);
    assert_regression_proven(&report);
}

/// A crate listing its test targets (`autotests = false`, as crates.io
/// normalises manifests) would not build a new file under `tests/`: the
/// regression test goes at the end of its first test target's file, in a
/// module of its own, and is run as `cargo test --test api <module>::<test>`;
/// it fails on the base and passes with the fix.
#[tokio::test]
async fn with_listed_test_targets_the_regression_test_joins_an_existing_one() {
    const MANIFEST_LISTED: &str = "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\nautotests = false\n\n[[test]]\nname = \"api\"\npath = \"tests/api.rs\"\n\n[dependencies]\n\n[workspace]\n";
    const API: &str = "//! The API's tests.\nuse fixture::Codes;\n\n#[test]\nfn empty() {\n    assert_eq!(Codes::default().get(1), None);\n}\n";
    let (report, _repo) = run_files(
        CODES,
        &[("Cargo.toml", MANIFEST_LISTED), ("tests/api.rs", API)],
        ("src/lib.rs", CODES),
        vec![(10, "fixture::Codes::get")],
        panic_event("attempt to subtract with overflow"),
        Arc::new(OneIdea::new(CODES, CODES_FIX.0, CODES_FIX.1)),
        "30s",
    )
    .await;
    let json = report.to_json();
    let test = assert_reproduced(&report).test.as_ref().unwrap();
    assert_eq!(test.path, "tests/api.rs", "{json}");
    assert_eq!(test.name, "bugstack_repro_get_10::bugstack_repro_get_10", "{json}");
    let fix = report.fix.as_ref().expect("a fix");
    assert!(!fix.diff.contains("new file mode"), "{}", fix.diff);
    assert_regression_proven(&report);
}

/// An argument the panic does not depend on keeps the value the crate's own
/// calls pass (the doc example's radix 10), not the smallest one shrinking
/// reaches (0, which the function rejects further on): with the fix, the
/// regression test passes.
#[tokio::test]
async fn an_argument_the_panic_ignores_keeps_the_crates_own_value() {
    const LIB: &str = "/// Parses `s` in base `radix` after its first character.\n///\n/// ```\n/// assert_eq!(fixture::parse(\"+7\", 10), Some(7));\n/// ```\npub fn parse(s: &str, radix: u32) -> Option<u32> {\n    let rest = &s[1..];\n    assert!((2..=36).contains(&radix), \"radix out of range\");\n    u32::from_str_radix(rest, radix).ok()\n}\n";
    let fix = ("&s[1..]", "s.get(1..).unwrap_or_default()");
    let report = reproduced(LIB, fix, vec![(7, "fixture::parse")], CHAR_BOUNDARY).await;
    let input = report.reproduction.input.as_deref().unwrap();
    assert!(input.ends_with(", 10)"), "{}", report.to_json());
    assert_regression_proven(&report);
}

/// `x + K` overflows only from `MAX - K` on, which random integers never
/// hit: the search also tries the panicking file's constants' distances from
/// the type's maximum.
#[tokio::test]
async fn an_overflow_past_a_constant_is_found_from_the_files_constants() {
    const LIB: &str = "/// A mixing constant.\nconst K: u32 = 0x1656_67B1;\n\n/// Mixes `data`'s length into `seed`.\npub fn mix(seed: u32, data: &[u8]) -> u32 {\n    let acc = seed.wrapping_add(K);\n    acc + data.len() as u32\n}\n";
    let fix = ("acc + data.len() as u32", "acc.wrapping_add(data.len() as u32)");
    let report = reproduced(LIB, fix, vec![(7, "fixture::mix")], "attempt to add with overflow").await;
    assert_regression_proven(&report);
}

/// `impl FromStr for Pct` on a type the harness cannot build (a private
/// field, no constructor): `from_str` takes no receiver, so it is called by
/// the type's and the trait's public paths,
/// `<fixture::Pct as std::str::FromStr>::from_str`, the trait's path read
/// from the file's `use`.
#[tokio::test]
async fn a_standard_trait_function_without_receiver_is_called_by_its_paths() {
    const LIB: &str = "use std::str::FromStr;\n\n/// A percentage.\n#[derive(Debug)]\npub struct Pct {\n    value: u8,\n}\n\nimpl FromStr for Pct {\n    type Err = ();\n\n    fn from_str(s: &str) -> Result<Self, ()> {\n        let digits = &s[..s.len() - 1];\n        digits.parse().map(|value| Pct { value }).map_err(|_| ())\n    }\n}\n";
    let fix = ("s.len() - 1", "s.len().saturating_sub(1)");
    let frames = vec![(13, "<fixture::Pct as core::str::traits::FromStr>::from_str")];
    let report = reproduced(LIB, fix, frames, "attempt to subtract with overflow").await;
    assert_input(&report, "<fixture::Pct as std::str::FromStr>::from_str(\"\")");
    assert_regression_proven(&report);
}

/// A handler's parser of the raw body divides by a field that is `0` only
/// in a whole object of both keys (`{"count":0,"total":…}`), which the
/// crate's literals (`"\"count\""`, `"\"total\""`) do not spell: the event's
/// payload shape (keys and types, no values) seeds the search with bodies
/// of that shape holding boundary values, and `{"count":0,"total":0}`
/// reproduces the panic. The same search without the shape does not find
/// it in 10 s.
#[tokio::test]
async fn the_requests_payload_shape_seeds_the_search_with_bodies_of_that_shape() {
    const LIB: &str = "/// The price per item of an order body (`{\"total\": 10, \"count\": 2}`).\npub fn unit_price(body: &str) -> Option<u64> {\n    let fields = body.strip_prefix('{')?.strip_suffix('}')?;\n    let (mut total, mut count) = (None, None);\n    for pair in fields.split(',') {\n        let (key, value) = pair.split_once(':')?;\n        let value: u64 = value.trim().parse().ok()?;\n        match key.trim() {\n            \"\\\"total\\\"\" => total = Some(value),\n            \"\\\"count\\\"\" => count = Some(value),\n            _ => return None,\n        }\n    }\n    Some(total? / count?)\n}\n";
    let message = "attempt to divide by zero";
    let mut event = panic_event(message);
    let body = serde_json::json!({"total": 10, "count": 2});
    event.request = Some(bugstack_core::RequestContext {
        method: Some("POST".into()),
        route: Some("/orders/price".into()),
        payload_shape: Some(bugstack_core::Shape::of(&body, &Default::default())),
        ..Default::default()
    });
    let fix = ("Some(total? / count?)", "total?.checked_div(count?)");
    let frames = vec![(14, "fixture::unit_price")];
    seeded_only_by_the_event(LIB, fix, frames, (event, panic_event(message)), r#"\"count\":0"#).await;
}

/// The event `events.0` reproduces the panic, with an input containing
/// `found` and proven by the fix; `events.1`, the same event without what
/// seeds the search, does not in 10 s.
async fn seeded_only_by_the_event(
    lib: &'static str,
    fix: (&'static str, &'static str),
    frames: Vec<(u32, &'static str)>,
    events: (bugstack_core::Event, bugstack_core::Event),
    found: &str,
) {
    let generator = Arc::new(OneIdea::new(lib, fix.0, fix.1));
    let (report, _repo) = run_event(lib, frames.clone(), events.0, generator, "20s").await;
    let input = assert_reproduced(&report).input.clone().unwrap_or_default();
    assert!(input.contains(found), "{input}");
    assert_regression_proven(&report);

    let generator = Arc::new(OneIdea::new(lib, fix.0, fix.1));
    let (report, _repo) = run_event(lib, frames, events.1, generator, "10s").await;
    assert_eq!(
        report.reproduction.status,
        ReproductionStatus::NotReproduced,
        "{}",
        report.to_json()
    );
}

/// The panic message quotes the text a `str` was sliced from, and the
/// search tries it first. Here the text is a whole sentence whose checksum
/// gates the slice, so made-up inputs do not reach it: the same search
/// without the quoted text does not find it in 10 s.
#[tokio::test]
async fn the_text_a_panic_message_quotes_seeds_the_search() {
    const LIB: &str = "/// The talker of a sentence `$<body>*<hhhh>`, whose four hex digits check the body.\npub fn talker(sentence: &str) -> Option<&str> {\n    let (body, sum) = sentence.strip_prefix('$')?.rsplit_once('*')?;\n    let sum = u16::from_str_radix(sum, 16).ok()?;\n    let check = body.bytes().fold(7u16, |h, b| h.wrapping_mul(31).wrapping_add(u16::from(b)));\n    if check != sum {\n        return None;\n    }\n    Some(&sentence[1..3])\n}\n";
    let quoting = panic_event("byte index 3 is not a char boundary; it is inside 'é' (bytes 2..4) of `$AéGGA,1*55C6`");
    let unquoted = panic_event("byte index 3 is not a char boundary");
    let fix = ("Some(&sentence[1..3])", "sentence.get(1..3)");
    seeded_only_by_the_event(LIB, fix, vec![(9, "fixture::talker")], (quoting, unquoted), "*55C6").await;
}

/// The search is seeded the same on every run: the same incident on the
/// same code finds the same input after the same number of cases, so a
/// report can be re-run and gives what it said.
#[tokio::test]
async fn a_search_run_twice_finds_the_same_input_after_the_same_cases() {
    const LIB: &str = "/// The midpoint of `a` and `b`.\npub fn mid(a: u32, b: u32, c: u32) -> u32 {\n    if c % 7 == 3 { (a + b) / 2 } else { a.min(b) }\n}\n";
    let fix = ("(a + b) / 2", "a / 2 + b / 2 + (a % 2 + b % 2) / 2");
    let search = || async {
        let report = reproduced(LIB, fix, vec![(3, "fixture::mid")], "attempt to add with overflow").await;
        assert_regression_proven(&report);
        let r = report.reproduction;
        (r.input, r.cases)
    };
    let (first, again) = (search().await, search().await);
    assert!(first.1 > 1, "the first case does not panic: {first:?}");
    assert_eq!(first, again);
}

/// An `async fn` (a service's handler code) is called too: its future is
/// polled to its end on the harness's thread, no runtime needed, and the
/// regression test drives it the same way. The input reads as the caller
/// writes it, `fixture::mean(vec![]).await`.
#[tokio::test]
async fn an_async_function_is_called_and_its_future_driven() {
    const LIB: &str = "/// The mean of `values`, for a handler.\npub async fn mean(values: Vec<u32>) -> u32 {\n    let total: u32 = values.iter().map(|v| v % 1000).sum();\n    total / values.len() as u32\n}\n";
    let fix = (
        "total / values.len() as u32",
        "total.checked_div(values.len() as u32).unwrap_or(0)",
    );
    let frames = vec![(4, "fixture::mean::{{closure}}")];
    let report = reproduced(LIB, fix, frames, "attempt to divide by zero").await;
    let json = report.to_json();
    assert_input(&report, "fixture::mean(vec![]).await");
    let test = report
        .reproduction
        .test
        .as_ref()
        .map(|t| t.source.as_str())
        .unwrap_or_default();
    assert!(test.contains("bugstack_block_on(fixture::mean(vec![]))"), "{json}");
    assert_regression_proven(&report);
}

/// Tuples and arrays are generated too (`&[u8; 4]`, `(u16, u16)`), and
/// the input is written back as literals of the same types.
#[tokio::test]
async fn tuple_and_array_arguments_are_generated() {
    const LIB: &str = "/// The port span of a rule for `ip`.\npub fn span(ip: &[u8; 4], ports: (u16, u16)) -> u16 {\n    let width = ports.1 - ports.0;\n    width / u16::from(ip[3].max(1))\n}\n";
    let fix = ("ports.1 - ports.0", "ports.1.saturating_sub(ports.0)");
    let report = reproduced(
        LIB,
        fix,
        vec![(3, "fixture::span")],
        "attempt to subtract with overflow",
    )
    .await;
    assert_input(&report, "fixture::span(&[0, 0, 0, 0], (1, 0,))");
    assert_regression_proven(&report);
}

/// A parser's panic needs its format's magic first (`BSv1`), which no
/// random bytes give: the crate's tests' byte strings are seeds, cut short
/// and changed byte by byte, and `b"BSv1\x02ab"` cut to its magic panics.
#[tokio::test]
async fn byte_inputs_start_from_the_tests_byte_strings() {
    const LIB: &str = "/// The payload of a `BSv1` packet: the magic, a length byte, the payload.\npub fn payload(packet: &[u8]) -> Option<&[u8]> {\n    if !packet.starts_with(b\"BSv1\") {\n        return None;\n    }\n    let len = packet[4] as usize;\n    packet.get(5..5 + len)\n}\n";
    const API: &str =
        "#[test]\nfn two_bytes() {\n    assert_eq!(fixture::payload(b\"BSv1\\x02ab\"), Some(&b\"ab\"[..]));\n}\n";
    let (report, _repo) = run_files(
        LIB,
        &[("tests/api.rs", API)],
        ("src/lib.rs", LIB),
        vec![(6, "fixture::payload")],
        panic_event("index out of bounds: the len is 4 but the index is 4"),
        Arc::new(OneIdea::new(
            LIB,
            "let len = packet[4] as usize;",
            "let len = *packet.get(4)? as usize;",
        )),
        "30s",
    )
    .await;
    assert_input(&report, "fixture::payload(&[66, 83, 118, 49])");
    assert_regression_proven(&report);
}

/// A map argument (a request's query parameters) is generated with the
/// file's own strings as keys, and written back as
/// `HashMap::from([(key, value)])`.
#[tokio::test]
async fn map_arguments_are_generated_with_the_codes_keys() {
    const LIB: &str = "use std::collections::HashMap;\n\n/// The 0-based page a request asks for (`page` counts from 1).\npub fn page(query: &HashMap<String, u32>) -> u32 {\n    match query.get(\"page\") {\n        Some(p) => p - 1,\n        None => 0,\n    }\n}\n";
    let fix = ("Some(p) => p - 1,", "Some(p) => p.saturating_sub(1),");
    let report = reproduced(
        LIB,
        fix,
        vec![(6, "fixture::page")],
        "attempt to subtract with overflow",
    )
    .await;
    assert_input(
        &report,
        "fixture::page(&std::collections::HashMap::from([(String::from(\"page\"), 0)]))",
    );
    assert_regression_proven(&report);
}

/// `Duration` and `&Path` arguments (imported from `std` by the file) are
/// built by their constructors from generated values.
#[tokio::test]
async fn std_durations_and_paths_are_built_by_their_constructors() {
    const LIB: &str = "use std::path::Path;\nuse std::time::Duration;\n\n/// The delay before retry `attempt` (from 1) of the job logging to `log`.\npub fn backoff(base: Duration, attempt: u32, log: &Path) -> Duration {\n    let _ = log;\n    base * 2u32.pow((attempt - 1).min(8))\n}\n";
    let fix = ("(attempt - 1)", "attempt.saturating_sub(1)");
    let report = reproduced(
        LIB,
        fix,
        vec![(7, "fixture::backoff")],
        "attempt to subtract with overflow",
    )
    .await;
    // Any duration: `attempt` = 0 alone is the panic (the seeds' order
    // decides which duration the shrink stops at).
    let input = assert_reproduced(&report).input.clone().unwrap_or_default();
    assert!(
        input.starts_with("fixture::backoff(std::time::Duration::new(")
            && input.ends_with("), 0, &std::path::PathBuf::from(String::from(\"\")))"),
        "{input}"
    );
    assert_regression_proven(&report);
}

/// A panic in an operator's impl (`impl Div for Count`, "Division by zero")
/// is searched through its caller (`share`): called directly, `Count / 0`
/// panics as the operator's contract says, and no fix of the caller could
/// ever pass that test; through the caller, the fix is proven.
#[tokio::test]
async fn an_operators_panic_is_searched_through_its_caller() {
    const LIB: &str = "use std::ops::Div;\n\n/// A count.\n#[derive(Debug, Clone, Copy, Default)]\npub struct Count(pub u32);\n\nimpl Div for Count {\n    type Output = Count;\n\n    fn div(self, by: Count) -> Count {\n        if by.0 == 0 {\n            panic!(\"Division by zero\")\n        }\n        Count(self.0 / by.0)\n    }\n}\n\n/// The share of `part` in `whole`, in hundredths.\npub fn share(part: u32, whole: u32) -> u32 {\n    (Count(part.min(1000) * 100) / Count(whole)).0\n}\n";
    let fix = (
        "    (Count(part.min(1000) * 100) / Count(whole)).0\n",
        "    if whole == 0 {\n        return 0;\n    }\n    (Count(part.min(1000) * 100) / Count(whole)).0\n",
    );
    let frames = vec![
        (12, "<fixture::Count as core::ops::arith::Div>::div"),
        (20, "fixture::share"),
    ];
    let report = reproduced(LIB, fix, frames, "Division by zero").await;
    let json = report.to_json();
    assert_eq!(report.reproduction.call.as_deref(), Some("fixture::share"), "{json}");
    assert_regression_proven(&report);
}

/// `impl PartialEq<str> for Tag`: a trait with a type argument is named
/// with `_` for it (`PartialEq<_>`), and the compiler infers it from the
/// argument the impl's signature gives (`&str`).
#[tokio::test]
async fn a_trait_with_type_arguments_is_called_with_them_inferred() {
    const LIB: &str = "/// A tag.\n#[derive(Debug, Default)]\npub struct Tag {\n    len: u8,\n}\n\nimpl PartialEq<str> for Tag {\n    fn eq(&self, other: &str) -> bool {\n        self.len - other.len() as u8 == 0\n    }\n}\n";
    let fix = (
        "self.len - other.len() as u8 == 0",
        "self.len.checked_sub(other.len() as u8) == Some(0)",
    );
    let frames = vec![(9, "<fixture::Tag as core::cmp::PartialEq<str>>::eq")];
    let report = reproduced(LIB, fix, frames, "attempt to subtract with overflow").await;
    let json = report.to_json();
    let r = &report.reproduction;
    assert_eq!(r.call.as_deref(), Some("<fixture::Tag as PartialEq<_>>::eq"), "{json}");
    assert!(
        r.input
            .as_deref()
            .is_some_and(|i| i.starts_with("<fixture::Tag as PartialEq<_>>::eq(&fixture::Tag::default(), \"")),
        "{json}"
    );
    assert_regression_proven(&report);
}

/// A crate listing its test targets (`autotests = false`) without one the
/// regression test can join: a new file under `tests/` would never be
/// built, so the test goes at the end of the library's root file, a
/// `#[cfg(test)]` unit test naming the crate `crate` (with `std` by name:
/// the library is `#![no_std]`); it fails on the base and passes with the
/// fix, which edits another file.
#[tokio::test]
async fn without_a_test_target_to_join_the_regression_test_is_a_unit_test() {
    const MANIFEST_NO_TESTS: &str = "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\nautotests = false\n\n[dependencies]\n\n[workspace]\n";
    const LIB: &str = "//! Bytes.\n#![no_std]\npub mod head;\n";
    const HEAD: &str = "//! Heads.\n\n/// The first byte of `s`, or 0.\npub fn f(s: &str) -> u8 {\n    let head = &s[..1];\n    head.as_bytes()[0]\n}\n";
    let fix = Arc::new(OneIdea {
        path: "src/head.rs",
        ..OneIdea::new(HEAD, HEAD_FIX.0, HEAD_FIX.1)
    });
    let (report, _repo) = run_files(
        LIB,
        &[("Cargo.toml", MANIFEST_NO_TESTS), ("src/head.rs", HEAD)],
        ("src/head.rs", HEAD),
        vec![(5, "fixture::head::f")],
        panic_event(CHAR_BOUNDARY),
        fix,
        "30s",
    )
    .await;
    let json = report.to_json();
    let test = assert_reproduced(&report).test.as_ref().unwrap();
    assert_eq!(test.path, "src/lib.rs", "{json}");
    assert!(
        test.source.contains("#[cfg(test)]") && test.source.contains("crate :: head :: f"),
        "{json}"
    );
    assert_regression_proven(&report);
}

/// A receiver whose type borrows (`Book<'a>`), is not `Debug`, and is made
/// by `new()` returning `Book<'a>` (a 2015-edition crate's style): built in
/// place at the call, it needs no `Debug`.
#[tokio::test]
async fn a_receiver_with_a_lifetime_and_no_debug_is_built_in_place() {
    const LIB: &str = "/// Pages.\npub struct Book<'a> {\n    pages: Vec<&'a str>,\n}\n\nimpl<'a> Book<'a> {\n    /// An empty book.\n    pub fn new() -> Book<'a> {\n        Book { pages: Vec::new() }\n    }\n\n    /// Adds `text` after its first byte.\n    pub fn add(&mut self, text: &'a str) -> usize {\n        let rest = &text[1..];\n        self.pages.push(rest);\n        self.pages.len()\n    }\n}\n";
    let fix = (
        "let rest = &text[1..];",
        "let rest = text.get(1..).unwrap_or_default();",
    );
    let report = reproduced(
        LIB,
        fix,
        vec![(14, "fixture::Book::add")],
        "byte index 1 is out of bounds of ``",
    )
    .await;
    assert_input(&report, "fixture::Book::add(&mut fixture::Book::new(), \"\")");
    assert_regression_proven(&report);
}

/// A receiver whose type has an empty value (`new()`) and a constructor
/// that takes content (`from_text(&str)`): the panic needs text in it, so
/// the harness builds it from generated text (an empty one is
/// `from_text("")`), never only `new()`; a constructor taking a `'static`
/// reference (`from_static`) is passed over: a generated value does not
/// live that long, and the harness would not build.
#[tokio::test]
async fn a_receiver_with_a_content_constructor_is_built_from_generated_content() {
    const LIB: &str = "/// A note.\n#[derive(Debug)]\npub struct Note {\n    text: String,\n}\n\nimpl Note {\n    /// An empty note.\n    pub fn new() -> Note {\n        Note { text: String::new() }\n    }\n\n    /// A note of a text that lives for ever.\n    pub fn from_static(text: &'static str) -> Note {\n        Note { text: text.to_string() }\n    }\n\n    /// A note of `text`.\n    pub fn from_text(text: &str) -> Note {\n        Note { text: text.to_string() }\n    }\n\n    /// Its first two bytes, or all of it.\n    pub fn head(&self) -> &str {\n        if self.text.len() < 2 {\n            return &self.text;\n        }\n        &self.text[..2]\n    }\n}\n";
    let fix = ("&self.text[..2]", "self.text.get(..2).unwrap_or(&self.text)");
    let report = reproduced(
        LIB,
        fix,
        vec![(28, "fixture::Note::head")],
        "byte index 2 is not a char boundary; it is inside 'é' (bytes 1..3) of `aé`",
    )
    .await;
    assert_input_starts(&report, "fixture::Note::head(&fixture::Note::from_text(\"");
    assert_regression_proven(&report);
}

/// A function generic over `R: RangeBounds<usize>` (a slice's range) is
/// called with a `Range<usize>` the harness generates.
#[tokio::test]
async fn a_range_bounds_parameter_is_called_with_a_generated_range() {
    const LIB: &str = "use std::ops::{Bound, RangeBounds};\n\n/// The bytes of `s` in `range`, the end clamped to its length.\npub fn part<R: RangeBounds<usize>>(s: &str, range: R) -> &str {\n    let start = match range.start_bound() {\n        Bound::Included(&n) => n,\n        Bound::Excluded(&n) => n.saturating_add(1),\n        Bound::Unbounded => 0,\n    };\n    let end = match range.end_bound() {\n        Bound::Included(&n) => n.saturating_add(1),\n        Bound::Excluded(&n) => n,\n        Bound::Unbounded => s.len(),\n    };\n    &s[start..end.min(s.len())]\n}\n";
    let fix = (
        "&s[start..end.min(s.len())]",
        "s.get(start..end.min(s.len())).unwrap_or_default()",
    );
    let report = reproduced(
        LIB,
        fix,
        vec![(15, "fixture::part")],
        "begin <= end (1 <= 0) when slicing ``",
    )
    .await;
    let input = assert_reproduced(&report).input.clone().unwrap_or_default();
    assert!(
        input.starts_with("fixture::part::<std::ops::Range<usize>>(\"") && input.contains(".."),
        "{input}"
    );
    assert_regression_proven(&report);
}

/// Generic constructors and methods are called with the types their
/// bounds pick: the receiver `Part<'_>` is made by `Text::part<R:
/// RangeBounds<usize>>` on a `Text::new<S: Into<String>>` (not the empty
/// `Default` one).
#[tokio::test]
async fn generic_constructors_and_producers_are_called_with_picked_types() {
    const LIB: &str = "/// A text.\n#[derive(Debug, Default)]\npub struct Text {\n    s: String,\n}\n\n/// A part of a text.\n#[derive(Debug)]\npub struct Part<'a> {\n    s: &'a str,\n}\n\nimpl Text {\n    /// A text of `s`.\n    pub fn new<S: Into<String>>(s: S) -> Text {\n        Text { s: s.into() }\n    }\n\n    /// Its bytes in `range`, or nothing.\n    pub fn part<R: std::ops::RangeBounds<usize>>(&self, range: R) -> Part<'_> {\n        let start = match range.start_bound() {\n            std::ops::Bound::Included(&n) => n,\n            _ => 0,\n        };\n        Part { s: self.s.get(start..).unwrap_or_default() }\n    }\n}\n\nimpl Part<'_> {\n    /// Its first two bytes, or all of it.\n    pub fn head(&self) -> &str {\n        if self.s.len() < 2 {\n            return self.s;\n        }\n        &self.s[..2]\n    }\n}\n";
    let fix = ("&self.s[..2]", "self.s.get(..2).unwrap_or(self.s)");
    let report = reproduced(
        LIB,
        fix,
        vec![(35, "fixture::Part::head")],
        "byte index 2 is not a char boundary; it is inside 'é' (bytes 1..3) of `aé`",
    )
    .await;
    assert_input_starts(
        &report,
        "fixture::Part::head(&fixture::Text::part(&fixture::Text::new(String::from(\"",
    );
    assert_regression_proven(&report);
}

/// A bug that needs a long input (a multibyte char across a 1024-byte
/// block's end): the search tries texts around the usual buffer sizes.
#[tokio::test]
async fn a_panic_at_a_block_boundary_is_found_with_a_long_text() {
    const LIB: &str = "/// The text's blocks of at most 1024 bytes.\npub fn blocks(text: &str) -> Vec<&str> {\n    let mut out = Vec::new();\n    let mut at = 0;\n    while at < text.len() {\n        let end = (at + 1024).min(text.len());\n        out.push(&text[at..end]);\n        at = end;\n    }\n    out\n}\n";
    let fix = (
        "let end = (at + 1024).min(text.len());",
        "let mut end = (at + 1024).min(text.len());\n        while !text.is_char_boundary(end) {\n            end -= 1;\n        }",
    );
    let report = reproduced(
        LIB,
        fix,
        vec![(7, "fixture::blocks")],
        "byte index 1024 is not a char boundary; it is inside 'é' (bytes 1023..1025) of `aaaa`[...]",
    )
    .await;
    let input = assert_reproduced(&report).input.clone().unwrap_or_default();
    assert!(input.starts_with("fixture::blocks(\"") && input.len() > 1024, "{input}");
    assert_regression_proven(&report);
}

/// A method of a generic type (`impl<T: Clone> Ring<T>`) is called on a
/// `Ring<u8>` (the type its bound picks), made by its content constructor.
#[tokio::test]
async fn a_generic_types_method_is_called_on_a_value_of_picked_type() {
    const LIB: &str = "/// A ring of `T`s.\n#[derive(Debug)]\npub struct Ring<T> {\n    items: Vec<T>,\n}\n\nimpl<T: Clone> Ring<T> {\n    /// An empty ring.\n    pub fn new() -> Ring<T> {\n        Ring { items: Vec::new() }\n    }\n\n    /// A ring of `items`.\n    pub fn from_items(items: Vec<T>) -> Ring<T> {\n        Ring { items }\n    }\n\n    /// The last item but one, if any.\n    pub fn second_last(&self) -> Option<T> {\n        if self.items.is_empty() {\n            return None;\n        }\n        Some(self.items[self.items.len() - 2].clone())\n    }\n}\n";
    let fix = ("if self.items.is_empty() {", "if self.items.len() < 2 {");
    let report = reproduced(
        LIB,
        fix,
        vec![(23, "fixture::Ring<T>::second_last")],
        "attempt to subtract with overflow",
    )
    .await;
    assert_input_starts(
        &report,
        "fixture::Ring::<u8>::second_last(&fixture::Ring::<u8>::from_items(vec![",
    );
    assert_regression_proven(&report);
}

/// A container whose only way to hold items is its `FromIterator` impl
/// (`new()` makes it empty) is built from a generated `Vec` of items.
#[tokio::test]
async fn a_container_is_filled_through_its_from_iterator_impl() {
    const LIB: &str = "/// Values under keys, in the order they came.\n#[derive(Debug)]\npub struct Keyed<T> {\n    keys: Vec<usize>,\n    values: Vec<T>,\n}\n\nimpl<T> Keyed<T> {\n    /// None.\n    pub fn new() -> Keyed<T> {\n        Keyed { keys: Vec::new(), values: Vec::new() }\n    }\n\n    /// How far the second key is from the first.\n    pub fn gap(&self) -> usize {\n        if self.keys.is_empty() {\n            return 0;\n        }\n        self.keys[1].abs_diff(self.keys[0])\n    }\n}\n\nimpl<T> FromIterator<(usize, T)> for Keyed<T> {\n    fn from_iter<I: IntoIterator<Item = (usize, T)>>(iter: I) -> Self {\n        let mut out = Keyed::new();\n        for (k, v) in iter {\n            out.keys.push(k);\n            out.values.push(v);\n        }\n        out\n    }\n}\n";
    let fix = ("if self.keys.is_empty() {", "if self.keys.len() < 2 {");
    let report = reproduced(
        LIB,
        fix,
        vec![(19, "fixture::Keyed<T>::gap")],
        "index out of bounds: the len is 1 but the index is 1",
    )
    .await;
    assert_input_starts(
        &report,
        "fixture::Keyed::<u8>::gap(&std::iter::FromIterator::from_iter(vec![(",
    );
    assert_regression_proven(&report);
}

/// A panic behind a sequence of calls (push one, take it back, then look
/// after the hole) is found by changing the receiver with its type's own
/// `&mut self` methods before the call (one only the crate's tests have
/// is left out); the regression test writes the steps out.
#[tokio::test]
async fn a_receiver_is_changed_by_its_own_methods_before_the_call() {
    const LIB: &str = "/// Numbered slots; a freed slot is remembered.\n#[derive(Debug)]\npub struct Slots {\n    items: Vec<Option<u32>>,\n    free: Vec<usize>,\n}\n\nimpl Slots {\n    /// No slots.\n    pub fn new() -> Slots {\n        Slots { items: Vec::new(), free: Vec::new() }\n    }\n\n    /// Stores `v` in a new slot, and returns its number.\n    pub fn push(&mut self, v: u32) -> usize {\n        self.items.push(Some(v));\n        self.items.len() - 1\n    }\n\n    /// Frees slot `at`, and returns what it held.\n    pub fn take(&mut self, at: usize) -> Option<u32> {\n        let v = self.items.get_mut(at)?.take();\n        if v.is_some() {\n            self.free.push(at);\n        }\n        v\n    }\n\n    /// What the slot after the first freed one holds.\n    pub fn after_hole(&self) -> Option<u32> {\n        let hole = *self.free.first()?;\n        self.items[hole + 1]\n    }\n}\n\n#[cfg(test)]\nimpl Slots {\n    /// Only the crate's own tests have it: never a step.\n    pub fn reset(&mut self) {\n        self.items.clear();\n    }\n}\n";
    let fix = ("self.items[hole + 1]", "self.items.get(hole + 1).copied().flatten()");
    let report = reproduced(
        LIB,
        fix,
        vec![(32, "fixture::Slots::after_hole")],
        "index out of bounds: the len is 1 but the index is 1",
    )
    .await;
    assert_input_starts(
        &report,
        "fixture::Slots::after_hole(&{ let mut value = fixture::Slots::new(); let _ = fixture::Slots::push(&mut value, ",
    );
    let input = assert_reproduced(&report).input.as_deref().unwrap_or_default();
    assert!(
        input.contains("let _ = fixture::Slots::take(&mut value, "),
        "{}",
        report.to_json()
    );
    assert_regression_proven(&report);
}

/// A type parameter the impl leaves free and the type gives a default
/// (`S = RandomState`, a hasher) keeps its default: the receiver is
/// `Buckets::<u8>`, whose other impls (`add`, for `S: BuildHasher`) serve
/// it, where a picked `u8` hasher would leave it empty for ever.
#[tokio::test]
async fn a_defaulted_type_parameter_keeps_its_default() {
    const LIB: &str = "use std::collections::hash_map::RandomState;\nuse std::hash::BuildHasher;\n\n/// Items, and the hasher that will place them.\n#[derive(Debug)]\npub struct Buckets<T, S = RandomState> {\n    items: Vec<T>,\n    hasher: S,\n}\n\nimpl<T> Buckets<T> {\n    /// No items.\n    pub fn new() -> Self {\n        Buckets { items: Vec::new(), hasher: RandomState::new() }\n    }\n}\n\nimpl<T, S> Buckets<T, S> {\n    /// No items, placed by `hasher`.\n    pub fn with_hasher(hasher: S) -> Self {\n        Buckets { items: Vec::new(), hasher }\n    }\n\n    /// The second item, if there are any.\n    pub fn second(&self) -> Option<&T> {\n        if self.items.is_empty() {\n            return None;\n        }\n        Some(&self.items[1])\n    }\n}\n\nimpl<T, S: BuildHasher> Buckets<T, S> {\n    /// Adds `v`.\n    pub fn add(&mut self, v: T) {\n        let _ = self.hasher.hash_one(self.items.len());\n        self.items.push(v);\n    }\n}\n";
    let fix = ("Some(&self.items[1])", "self.items.get(1)");
    let report = reproduced(
        LIB,
        fix,
        vec![(29, "fixture::Buckets<T,S>::second")],
        "index out of bounds: the len is 1 but the index is 1",
    )
    .await;
    assert_input_starts(
        &report,
        "fixture::Buckets::<u8>::second(&{ let mut value = fixture::Buckets::<u8>::new(); let _ = fixture::Buckets::<u8>::add(&mut value, ",
    );
    assert_regression_proven(&report);
}

/// Steps that end the process every time (a method asking for 8 TiB) are
/// turned off after a few rounds: the rounds without them go on to the end
/// of the budget, rather than the search giving up when too many rounds
/// have ended.
#[tokio::test]
async fn steps_that_keep_ending_the_process_are_turned_off() {
    const LIB: &str = "/// A count.\n#[derive(Debug)]\npub struct Counter {\n    n: usize,\n}\n\nimpl Counter {\n    /// Zero.\n    pub fn new() -> Counter {\n        Counter { n: 0 }\n    }\n\n    /// Makes room for more than the search may hold: the process ends.\n    pub fn grow(&mut self) {\n        let room: Vec<u64> = Vec::with_capacity(1 << 40);\n        self.n += room.capacity();\n    }\n\n    /// The count shared `by` ways; none when `by` is 0.\n    pub fn share(&self, by: usize) -> usize {\n        if by == 0 {\n            return 0;\n        }\n        self.n / by\n    }\n}\n";
    let generator = Arc::new(OneIdea::new(LIB, "self.n / by", "self.n.checked_div(by).unwrap_or(0)"));
    let frames = vec![(24, "fixture::Counter::share")];
    let (report, _repo) = run(LIB, frames, "attempt to divide by zero", generator, "10s").await;
    let r = &report.reproduction;
    assert_eq!(r.status, ReproductionStatus::NotReproduced, "{}", report.to_json());
    assert!(r.detail.starts_with("no input among"), "{}", r.detail);
    assert!(r.detail.contains("the search went on without them"), "{}", r.detail);
}

/// A harness whose steps do not build (a method the build leaves out) is
/// built again without them: the search goes on, and finds the panic the
/// receiver as built reaches.
#[tokio::test]
async fn steps_that_do_not_build_are_dropped_not_the_search() {
    const LIB: &str = "/// A count.\n#[derive(Debug)]\npub struct Counter {\n    n: u32,\n}\n\nimpl Counter {\n    /// Zero.\n    pub fn new() -> Counter {\n        Counter { n: 0 }\n    }\n\n    /// The count shared `by` ways.\n    pub fn share(&self, by: u32) -> u32 {\n        self.n / by\n    }\n}\n\n#[cfg(any())]\nimpl Counter {\n    /// In no build.\n    pub fn bump(&mut self) {\n        self.n += 1;\n    }\n}\n";
    let fix = ("self.n / by", "self.n.checked_div(by).unwrap_or(0)");
    let report = reproduced(
        LIB,
        fix,
        vec![(15, "fixture::Counter::share")],
        "attempt to divide by zero",
    )
    .await;
    assert_input_starts(&report, "fixture::Counter::share(&fixture::Counter::new(), 0)");
    let detail = &assert_reproduced(&report).detail;
    assert!(detail.contains("did not build with steps"), "{detail}");
    assert_regression_proven(&report);
}

/// A generated case that ends the process (an abort, an allocation that
/// fails) costs its round, not the search: the harness is run again from
/// the next round and finds the panic.
#[tokio::test]
async fn a_round_that_aborts_the_process_is_skipped_and_the_search_goes_on() {
    const LIB: &str = "/// Item `at` of the first `n` (at most 4) numbers.\npub fn pick(n: u32, at: usize) -> u32 {\n    if n % 2 == 0 {\n        // 8 TiB: the allocation fails, and the process ends.\n        let table: Vec<u64> = Vec::with_capacity(1 << 40);\n        return table.len() as u32;\n    }\n    let table: Vec<u32> = (0..n.min(4)).collect();\n    table[at]\n}\n";
    let fix = ("table[at]", "table.get(at).copied().unwrap_or(0)");
    let report = reproduced(
        LIB,
        fix,
        vec![(9, "fixture::pick")],
        "index out of bounds: the len is 0 but the index is 1",
    )
    .await;
    let r = assert_reproduced(&report);
    assert!(r.detail.contains("the process ended"), "{}", report.to_json());
    assert_regression_proven(&report);
}

/// A value two methods make (`Part::words`, `Text::words`) is made on the
/// owner the crate's own constructor builds (`Text::from_str`), not on one
/// itself made by a method (`Text::part`): the shorter way, as a
/// maintainer's test takes it.
#[tokio::test]
async fn a_value_is_made_on_an_owner_built_by_its_own_constructor() {
    const LIB: &str = "/// A text.\n#[derive(Debug)]\npub struct Text {\n    s: String,\n}\n\n/// A part of a text.\n#[derive(Debug)]\npub struct Part<'a> {\n    s: &'a str,\n}\n\n/// Words of a text or of a part.\n#[derive(Debug)]\npub struct Words<'a> {\n    s: &'a str,\n    whole: bool,\n}\n\nimpl<'a> Part<'a> {\n    /// Its words.\n    pub fn words(&self) -> Words<'a> {\n        Words { s: self.s, whole: false }\n    }\n}\n\nimpl Text {\n    /// No text.\n    pub fn new() -> Text {\n        Text { s: String::new() }\n    }\n\n    /// A text of `s`.\n    pub fn from_str(s: &str) -> Text {\n        Text { s: s.to_string() }\n    }\n\n    /// Its bytes from `at`, or none.\n    pub fn part(&self, at: usize) -> Part<'_> {\n        Part { s: self.s.get(at..).unwrap_or_default() }\n    }\n\n    /// Its words.\n    pub fn words(&self) -> Words<'_> {\n        Words { s: &self.s, whole: true }\n    }\n}\n\nimpl Words<'_> {\n    /// The index of the last byte.\n    pub fn last_index(&self) -> usize {\n        if self.whole {\n            self.s.len() - 1\n        } else {\n            self.s.len().saturating_sub(1)\n        }\n    }\n}\n";
    let fix = ("self.s.len() - 1", "self.s.len().saturating_sub(1)");
    let report = reproduced(
        LIB,
        fix,
        vec![(53, "fixture::Words::last_index")],
        "attempt to subtract with overflow",
    )
    .await;
    assert_input_starts(
        &report,
        "fixture::Words::last_index(&fixture::Text::words(&fixture::Text::from_str(",
    );
    assert_regression_proven(&report);
}

/// `str::split_at` panics inside the standard library (its location is in
/// `core`, not at the call): the search finds the incident's line in the
/// panicking thread's stack instead.
#[tokio::test]
async fn a_panic_raised_inside_std_is_matched_by_the_callers_frame() {
    const LIB: &str = "/// The length of `s` before `n`.\npub fn head_len(s: &str, n: usize) -> usize {\n    let (head, _) = s.split_at(n);\n    head.len()\n}\n";
    let fix = ("s.split_at(n)", "s.split_at(n.min(s.len()))");
    let frames = vec![(3, "fixture::head_len")];
    let report = reproduced(LIB, fix, frames, "end byte index 1 is out of bounds of ``").await;
    let input = assert_reproduced(&report).input.as_deref().unwrap_or_default();
    assert!(input.starts_with("fixture::head_len("), "{}", report.to_json());
    assert_regression_proven(&report);
}

/// A generic function (similar's `lcs::diff<Old, New, D>`): each type
/// parameter gets a type by its bounds (`?Sized` sequences as `[u8]`, the
/// crate's `Hook` as the crate's type implementing it), the ranges are
/// generated short, and the call names the types.
#[tokio::test]
async fn a_generic_function_is_called_with_types_its_bounds_allow() {
    const LIB: &str = "//! Sequences compared.\nuse std::ops::{Index, Range};\n\n/// Receives runs.\npub trait Hook {\n    /// `len` equal items at `at`.\n    fn equal(&mut self, at: usize, len: usize);\n}\n\n/// Records runs.\n#[derive(Debug, Default)]\npub struct Runs {\n    /// Lengths seen.\n    pub seen: Vec<usize>,\n}\n\nimpl Hook for Runs {\n    fn equal(&mut self, _at: usize, len: usize) {\n        self.seen.push(len);\n    }\n}\n\n/// Reports the common prefix of `a[ra]` and `b[rb]`; how many items of\n/// `b[rb]` differ between the common prefix and suffix.\npub fn diff<A, B, H>(h: &mut H, a: &A, ra: Range<usize>, b: &B, rb: Range<usize>) -> usize\nwhere\n    A: Index<usize> + ?Sized,\n    B: Index<usize> + ?Sized,\n    H: Hook,\n    B::Output: PartialEq<A::Output>,\n{\n    let n = ra.len().min(rb.len());\n    let prefix = (0..n).take_while(|&i| b[rb.start + i] == a[ra.start + i]).count();\n    h.equal(ra.start, prefix);\n    let suffix = (0..n).take_while(|&i| b[rb.end - 1 - i] == a[ra.end - 1 - i]).count();\n    rb.len() - prefix - suffix\n}\n";
    let fix = ("rb.len() - prefix - suffix", "rb.len().saturating_sub(prefix + suffix)");
    let frames = vec![(36, "fixture::diff")];
    let report = reproduced(LIB, fix, frames, "attempt to subtract with overflow").await;
    let json = report.to_json();
    let r = &report.reproduction;
    assert_eq!(
        r.call.as_deref(),
        Some("fixture::diff::<[u8], [u8], fixture::Runs>"),
        "{json}"
    );
    let input = r.input.as_deref().unwrap_or_default();
    assert!(input.contains(".."), "{json}");
    assert_regression_proven(&report);
}

/// A decoder generic over its input (`R: Read`, `&mut R`, `R: Read +
/// Seek`) or its output (`W: Write`) is called with bytes: a reader is
/// `&[u8]` (a seeking one an in-memory `Cursor`), a writer `Vec<u8>`.
#[tokio::test]
async fn io_type_parameters_are_called_with_bytes() {
    const LIB: &str = "//! A record stream.\nuse std::io::{Read, Seek, SeekFrom, Write};\n\n/// Records per block, from a stream's two-byte header.\npub fn per_block<R: Read>(mut input: R) -> std::io::Result<u32> {\n    let mut head = [0u8; 2];\n    input.read_exact(&mut head)?;\n    Ok(u32::from(head[0]) / u32::from(head[1]))\n}\n\n/// The same, read through a borrowed reader.\npub fn per_block_from<R: Read + ?Sized>(input: &mut R) -> std::io::Result<u32> {\n    let mut head = [0u8; 2];\n    input.read_exact(&mut head)?;\n    Ok(u32::from(head[1]) / u32::from(head[0]))\n}\n\n/// The trailer's record count, from the stream's last byte.\npub fn trailer<R: Read + Seek>(input: &mut R) -> std::io::Result<u32> {\n    input.seek(SeekFrom::End(-1))?;\n    let mut last = [0u8; 1];\n    input.read_exact(&mut last)?;\n    Ok(100 / u32::from(last[0]))\n}\n\n/// Writes `count` records of `width` bytes, then the width per record.\npub fn write_block<W: Write>(out: &mut W, count: u8, width: u8) -> std::io::Result<u8> {\n    out.write_all(&[count, width])?;\n    Ok(width / count)\n}\n";
    let cases = [
        (
            "fixture::per_block::<&[u8]>",
            (
                "Ok(u32::from(head[0]) / u32::from(head[1]))",
                "Ok(u32::from(head[0]).checked_div(u32::from(head[1])).unwrap_or(0))",
            ),
            (8, "fixture::per_block"),
        ),
        (
            "fixture::per_block_from::<&[u8]>",
            (
                "Ok(u32::from(head[1]) / u32::from(head[0]))",
                "Ok(u32::from(head[1]).checked_div(u32::from(head[0])).unwrap_or(0))",
            ),
            (15, "fixture::per_block_from"),
        ),
        (
            "fixture::trailer::<std::io::Cursor<Vec<u8>>>",
            (
                "Ok(100 / u32::from(last[0]))",
                "Ok(100u32.checked_div(u32::from(last[0])).unwrap_or(0))",
            ),
            (23, "fixture::trailer"),
        ),
        (
            "fixture::write_block::<Vec<u8>>",
            ("Ok(width / count)", "Ok(width.checked_div(count).unwrap_or(0))"),
            (29, "fixture::write_block"),
        ),
    ];
    for (call, fix, frame) in cases {
        let report = reproduced(LIB, fix, vec![frame], "attempt to divide by zero").await;
        assert_eq!(report.reproduction.call.as_deref(), Some(call), "{}", report.to_json());
        assert_regression_proven(&report);
    }
}

/// A format's entry point generic over what it reads (`from_str::<T:
/// Deserialize>`) is called with `serde::de::IgnoredAny`, which takes any
/// input the format parses; the harness depends on serde for it.
#[tokio::test]
async fn a_deserialize_parameter_is_given_a_type_that_reads_anything() {
    const LIB: &str = "//! A format of `n:<digits>` numbers and `s:<text>` strings.\nuse serde::de::{self, Visitor};\n\n/// What went wrong.\n#[derive(Debug)]\npub struct Error(String);\n\nimpl std::fmt::Display for Error {\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {\n        f.write_str(&self.0)\n    }\n}\n\nimpl std::error::Error for Error {}\n\nimpl de::Error for Error {\n    fn custom<T: std::fmt::Display>(msg: T) -> Self {\n        Error(msg.to_string())\n    }\n}\n\n/// Reads values from a text.\npub struct Deserializer<'de> {\n    input: &'de str,\n}\n\nimpl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {\n    type Error = Error;\n\n    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {\n        let tag = &self.input[..2];\n        let body = &self.input[2..];\n        match tag {\n            \"n:\" => visitor.visit_u64(body.parse().map_err(de::Error::custom)?),\n            _ => visitor.visit_borrowed_str(body),\n        }\n    }\n\n    serde::forward_to_deserialize_any! {\n        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string\n        bytes byte_buf option unit unit_struct newtype_struct seq tuple\n        tuple_struct map struct enum identifier ignored_any\n    }\n}\n\n/// Reads a `T` from `input`.\npub fn from_str<'de, T: de::Deserialize<'de>>(input: &'de str) -> Result<T, Error> {\n    let mut d = Deserializer { input };\n    T::deserialize(&mut d)\n}\n";
    const MANIFEST_SERDE: &str = "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nserde = \"1\"\n\n[workspace]\n";
    let fix = (
        "let tag = &self.input[..2];",
        "let tag = self.input.get(..2).ok_or_else(|| Error(\"too short\".into()))?;",
    );
    let generator = Arc::new(OneIdea::new(LIB, fix.0, fix.1));
    let frames = vec![
        (
            31,
            "<&mut fixture::Deserializer as serde::de::Deserializer>::deserialize_any",
        ),
        (49, "fixture::from_str"),
    ];
    let event = panic_event("byte index 2 is out of bounds of `a`");
    let (report, _repo) = run_files(
        LIB,
        &[("Cargo.toml", MANIFEST_SERDE)],
        ("src/lib.rs", LIB),
        frames,
        event,
        generator,
        "30s",
    )
    .await;
    let json = report.to_json();
    assert_reproduced(&report);
    assert_eq!(
        report.reproduction.call.as_deref(),
        Some("fixture::from_str::<serde::de::IgnoredAny>"),
        "{json}"
    );
    assert_regression_proven(&report);
}

/// A method of a generic inherent impl (`impl<T: Copy + PartialOrd>
/// Sorted<T>`, like rand_distr's `impl<F: Float> FisherF<F>`): called as
/// `Sorted::<u8>::rank_before`.
#[tokio::test]
async fn a_generic_impls_function_is_called_with_its_type_named() {
    const LIB: &str = "//! Ranks.\n\n/// Values in order.\npub struct Sorted<T> {\n    values: Vec<T>,\n}\n\nimpl<T: Copy + PartialOrd> Sorted<T> {\n    /// How many of `values` lie below `x`, the smallest not counted.\n    pub fn rank_before(values: Vec<T>, x: T) -> usize {\n        let below = values.iter().filter(|v| **v < x).count();\n        below - 1\n    }\n}\n";
    let fix = ("below - 1", "below.saturating_sub(1)");
    let frames = vec![(12, "fixture::Sorted<T>::rank_before")];
    let report = reproduced(LIB, fix, frames, "attempt to subtract with overflow").await;
    assert_input(&report, "fixture::Sorted::<u8>::rank_before(vec![], 0)");
    assert_regression_proven(&report);
}

/// A float argument: the smallest subnormal is a boundary value (half of it
/// rounds to zero, rand_distr's `FisherF::new(5e-324, …)`), and the test
/// writes it as a maintainer would, `5e-324f64`, not by its bits.
#[tokio::test]
async fn a_float_input_is_written_as_a_literal() {
    const LIB: &str = "/// Half of `m`, which must stay positive.\npub fn half(m: f64) -> f64 {\n    let h = m * 0.5;\n    if m > 0.0 && !(h > 0.0) {\n        panic!(\"half of {m} is not positive\");\n    }\n    h\n}\n";
    let fix = ("panic!(\"half of {m} is not positive\");", "return f64::MIN_POSITIVE;");
    let report = reproduced(LIB, fix, vec![(5, "fixture::half")], "is not positive").await;
    assert_input(&report, "fixture::half(5e-324f64)");
    assert_regression_proven(&report);
}

/// A panic inside `Display::fmt` (similar's hunk header): the value is
/// formatted as callers do, `ToString::to_string(&value)`, the trait's path
/// read through the file's `use std::fmt;`.
#[tokio::test]
async fn a_display_impl_is_called_by_formatting_the_value() {
    const LIB: &str = "use std::fmt;\n\n/// A span of lines.\n#[derive(Debug)]\npub struct Span {\n    /// First line.\n    pub start: usize,\n    /// One past the last line.\n    pub end: usize,\n}\n\nimpl fmt::Display for Span {\n    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {\n        let len = self.end - self.start;\n        write!(f, \"{},{}\", self.start + 1, len)\n    }\n}\n";
    // The whole fix: with only the subtraction fixed, an input starting at
    // `usize::MAX` overflows `start + 1` next, and the regression test
    // blames it.
    let fix = (
        "self.end - self.start;\n        write!(f, \"{},{}\", self.start + 1, len)",
        "self.end.saturating_sub(self.start);\n        write!(f, \"{},{}\", self.start.saturating_add(1), len)",
    );
    let frames = vec![(14, "<fixture::Span as core::fmt::Display>::fmt")];
    let report = reproduced(LIB, fix, frames, "attempt to subtract with overflow").await;
    let input = assert_reproduced(&report).input.as_deref().unwrap_or_default();
    assert!(
        input.starts_with("std::string::ToString::to_string(&fixture::Span { start: "),
        "{}",
        report.to_json()
    );
    assert_regression_proven(&report);
}

/// An argument of the crate's enum (similar's `&[DiffOp]`): each variant is
/// generated with its fields, and the test writes the variant as code does
/// (`fixture::Op::Drop(1)`).
#[tokio::test]
async fn an_enum_argument_is_generated_variant_by_variant() {
    const LIB: &str = "/// An edit.\n#[derive(Debug, Clone, Copy)]\npub enum Op {\n    /// Keep `len` items.\n    Keep { len: usize },\n    /// Drop `n` items.\n    Drop(usize),\n    /// The end.\n    End,\n}\n\n/// Items left after `ops` run over `total` items.\npub fn left(total: usize, ops: &[Op]) -> usize {\n    let mut left = total;\n    for op in ops {\n        match op {\n            Op::Keep { .. } | Op::End => {}\n            Op::Drop(n) => left -= n,\n        }\n    }\n    left\n}\n";
    let fix = (
        "Op::Drop(n) => left -= n,",
        "Op::Drop(n) => left = left.saturating_sub(*n),",
    );
    let report = reproduced(
        LIB,
        fix,
        vec![(18, "fixture::left")],
        "attempt to subtract with overflow",
    )
    .await;
    let input = assert_reproduced(&report).input.as_deref().unwrap_or_default();
    assert!(
        input.starts_with("fixture::left(") && input.contains("fixture::Op::Drop("),
        "{}",
        report.to_json()
    );
    assert_regression_proven(&report);
}

/// A receiver whose type is made only by a fallible constructor taking
/// arguments (fancy-regex's `Regex::new(&str) -> Result<Regex>`): the
/// constructor's arguments are generated with the method's, the value is
/// built and unwrapped where it is passed (a constructor that fails panics
/// elsewhere, which is not the incident's panic).
#[tokio::test]
async fn a_receiver_made_by_a_constructor_with_arguments_is_built_from_generated_ones() {
    const LIB: &str = "/// A pattern of literal bytes and `?` wildcards.\npub struct Pattern {\n    parts: Vec<u8>,\n}\n\nimpl Pattern {\n    /// Parses `text`; an empty pattern is an error.\n    pub fn new(text: &str) -> Result<Pattern, String> {\n        if text.is_empty() {\n            return Err(\"empty pattern\".into());\n        }\n        Ok(Pattern { parts: text.bytes().collect() })\n    }\n\n    /// Whether `hay` starts with the pattern.\n    pub fn is_prefix(&self, hay: &str) -> bool {\n        let h = hay.as_bytes();\n        for i in 0..self.parts.len() {\n            if self.parts[i] != b'?' && self.parts[i] != h[i] {\n                return false;\n            }\n        }\n        true\n    }\n}\n";
    let fix = ("self.parts[i] != h[i]", "Some(&self.parts[i]) != h.get(i)");
    let frames = vec![(19, "fixture::Pattern::is_prefix")];
    let report = reproduced(LIB, fix, frames, "index out of bounds: the len is 0 but the index is 0").await;
    let input = assert_reproduced(&report).input.as_deref().unwrap_or_default();
    assert!(
        input.starts_with("fixture::Pattern::is_prefix(&fixture::Pattern::new(") && input.contains(").unwrap(), "),
        "{}",
        report.to_json()
    );
    assert_regression_proven(&report);
}

/// An API behind a Cargo feature the defaults leave out (rust_decimal's
/// `MathematicalOps` behind `maths`): rustc names the feature when the
/// harness does not build, the harness is built again with it, and the
/// regression test is gated on it (the crate's default checks skip it) and
/// run with `--features`: it fails on the base and passes with the fix.
#[tokio::test]
async fn an_api_behind_a_cargo_feature_is_searched_and_proven_with_it() {
    const MANIFEST_FEATURES: &str = "[package]\nname = \"fixture\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\nmaths = []\n\n[dependencies]\n\n[workspace]\n";
    const LIB: &str = "//! Lengths.\n\n/// The first char's length in bytes.\n#[cfg(feature = \"maths\")]\npub fn head_len(s: &str) -> usize {\n    s[..1].len()\n}\n";
    let (report, _repo) = run_files(
        LIB,
        &[("Cargo.toml", MANIFEST_FEATURES)],
        ("src/lib.rs", LIB),
        vec![(6, "fixture::head_len")],
        panic_event(CHAR_BOUNDARY),
        Arc::new(OneIdea::new(LIB, "s[..1].len()", "s.get(..1).map_or(0, str::len)")),
        "30s",
    )
    .await;
    let json = report.to_json();
    let test = assert_reproduced(&report).test.as_ref().unwrap();
    assert_eq!(test.features, ["maths"], "{json}");
    assert!(test.source.contains("#![cfg(feature = \"maths\")]"), "{json}");
    let fix = report.fix.as_ref().expect("a fix");
    assert_eq!(
        fix.regression_test.as_ref().map(|t| t.features.clone()),
        Some(vec!["maths".to_string()])
    );
    assert_regression_proven(&report);
}
