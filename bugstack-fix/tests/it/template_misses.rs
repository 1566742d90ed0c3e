//! The kinds of miss from issue 13, each on a small fixture: a template fix
//! that did not compile (E0689, now typed by the template or repaired from
//! the compiler's suggestion through the pipeline), an explicit `panic!` in
//! a function returning `Result`, an index out of bounds with no error
//! channel at the site (guarded one call up), the error chosen by the
//! panic's words (the Base62 shape), and locations shown relative to the
//! repository in the pull request body.
//!
//! Fixes are proven by compiling them (`rustc`, or `cargo build` in the
//! validator) and, where behaviour matters, by running a test against the
//! patched code.

use crate::support;

use std::process::Command;
use std::sync::Arc;

use async_trait::async_trait;
use bugstack_core::{Location, Timestamp};
use bugstack_fix::{
    render_markdown, ContextBuilder, Decision, DecisionKind, FixContext, FixReport, Incident, Patch, Policy, RepoRef,
    Result, TemplateGenerator,
};
use support::template::{apply, context, PATH};
use support::{context_at, git, panic_event, slow_check, target_frame, validator, Repo};

/// 1-based line and column of the first `needle` in `src`.
fn at(src: &str, needle: &str) -> (u32, u32) {
    for (i, l) in src.lines().enumerate() {
        if let Some(c) = l.find(needle) {
            return (i as u32 + 1, l[..c].chars().count() as u32 + 1);
        }
    }
    panic!("{needle:?} not in the source");
}

fn candidates(src: &str, needle: &str, message: &str) -> Vec<Patch> {
    let (line, column) = at(src, needle);
    TemplateGenerator::new()
        .without_rustfmt()
        .candidates(&context(PATH, src, line, Some(column), message))
        .unwrap()
}

/// Compiles `src` as a library with its `#[test]`s and runs them; the
/// compiler's or the tests' output on failure.
fn test_with_rustc(src: &str) -> std::result::Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lib.rs");
    std::fs::write(&file, src).unwrap();
    let bin = dir.path().join("tests");
    let out = Command::new("rustc")
        .args(["--edition", "2021", "--test", "-o"])
        .arg(&bin)
        .arg(&file)
        .output()
        .expect("rustc runs");
    if !out.status.success() {
        return Err(format!("does not compile:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    let run = Command::new(&bin).output().expect("the test binary runs");
    if !run.status.success() {
        return Err(format!("tests fail:\n{}", String::from_utf8_lossy(&run.stdout)));
    }
    Ok(())
}

/// `fixed` has `expected` in it, and compiles and passes `tests` appended to it.
fn assert_fixed(fixed: String, expected: &str, tests: &str) {
    assert!(fixed.contains(expected), "{fixed}");
    test_with_rustc(&(fixed + tests)).unwrap();
}

/// The start of the two escape-parsing fixtures: an error type without a
/// variant for the site's failure, and a helper that indexes.
const ESCAPE_PRELUDE: &str = "#[derive(Debug, PartialEq)]
pub enum EscapeError {
    Empty,
    EscapeOutOfBounds,
}

fn digit_at(bytes: &[u8], pos: usize) -> u8 {
    bytes[pos].wrapping_sub(b'0')
}
";

/// The template candidates for a fixture's panic at `bytes[pos]` (an
/// escape fixture's, most), with a frame for each caller: (frame index, the text of its call, its
/// function).
fn escape_candidates(src: &str, callers: &[(usize, &str, Option<&str>)]) -> Vec<Patch> {
    let (line, column) = at(src, "bytes[pos]");
    let mut ctx = context(
        PATH,
        src,
        line,
        Some(column),
        "index out of bounds: the len is 2 but the index is 2",
    );
    for &(index, call, function) in callers {
        let (l, c) = at(src, call);
        let mut frame = target_frame(PATH, l, Some(c), function);
        frame.frame_index = Some(index);
        ctx.frames.push(frame);
    }
    TemplateGenerator::new().without_rustfmt().candidates(&ctx).unwrap()
}

const TOTAL: &str = "pub fn total(base: u64, n: u32) -> u64 {
    let mut acc = 1;
    for _ in 0..n {
        acc = acc * base;
    }
    acc
}
";

#[test]
fn e0689_the_template_types_the_binding_from_the_function() {
    let ps = candidates(TOTAL, "acc * base", "attempt to multiply with overflow");
    let first = apply(TOTAL, &ps[0]);
    assert!(first.contains("let mut acc: u64 = 1;"), "{first}");
    assert!(first.contains("acc = acc.saturating_mul(base);"), "{first}");
    assert!(ps[0].explanation.contains("typed `u64`"), "{}", ps[0].explanation);
    // Every candidate compiles (the miss: the only one offered did not).
    for p in &ps {
        let tests = "\n#[test]\nfn big() { assert_eq!(total(10, 30), u64::MAX); }\n";
        let fixed = apply(TOTAL, p) + tests;
        match test_with_rustc(&fixed) {
            Ok(()) => {}
            Err(e) if e.starts_with("tests fail") => {} // a different clamp, still built
            Err(e) => panic!("{}\n{fixed}\n{e}", p.explanation),
        }
    }
}

#[test]
fn explicit_panic_in_a_result_fn_becomes_its_error() {
    let src = "#[derive(Debug, PartialEq)]
pub enum StateError {
    Empty,
    UnknownState,
}

pub fn state(s: &str) -> Result<u8, StateError> {
    let c = s.chars().next().ok_or(StateError::Empty)?;
    match c {
        'a' => Ok(1),
        'b' => Ok(2),
        _ => panic!(\"state {c} should not occur here\"),
    }
}
";
    let ps = candidates(src, "panic!", "state z should not occur here");
    assert_eq!(ps[0].class.as_deref(), Some("explicit-panic"));
    let fixed = apply(src, &ps[0]);
    assert!(
        fixed.contains("_ => return Err(StateError::UnknownState),"),
        "the variant naming the panic's words, not the first error: {fixed}"
    );
    assert!(ps[0].explanation.contains("state"), "{}", ps[0].explanation);
    let tests = "\n#[test]\nfn unknown() { assert_eq!(state(\"z\"), Err(StateError::UnknownState)); assert_eq!(state(\"b\"), Ok(2)); }\n";
    test_with_rustc(&(fixed + tests)).unwrap();
}

#[test]
fn failed_assertions_in_option_and_result_fns_return_none_or_the_error() {
    let src = "pub fn ratio(a: u32, b: u32) -> Option<u32> {
    assert!(b > 0, \"b must be positive\");
    Some(a / b)
}

pub fn pair(v: &[u8]) -> Result<(u8, u8), String> {
    assert_eq!(v.len(), 2);
    Ok((v[0], v[1]))
}
";
    let ps = candidates(src, "assert!", "b must be positive");
    let fixed = apply(src, &ps[0]);
    assert!(
        fixed.contains("if !(b > 0) {\n        return None;\n    }\n"),
        "{fixed}"
    );
    let ps = candidates(
        src,
        "assert_eq!",
        "assertion `left == right` failed\n  left: 3\n right: 2",
    );
    let fixed = apply(&fixed, &ps[0]);
    let tests = "\n#[test]\nfn t() { assert_eq!(ratio(1, 0), None); assert!(pair(&[1]).is_err()); assert_eq!(pair(&[1, 2]), Ok((1, 2))); }\n";
    assert_fixed(fixed, "if v.len() != 2 {", tests);
}

#[test]
fn index_out_of_bounds_without_an_error_channel_is_guarded_one_call_up() {
    let src = &[
        ESCAPE_PRELUDE,
        "
pub fn parse_escape(s: &str, pos: usize) -> Result<u8, EscapeError> {
    if s.is_empty() {
        return Err(EscapeError::Empty);
    }
    let d = digit_at(s.as_bytes(), pos + 1);
    Ok(d)
}
",
    ]
    .concat();
    let ps = escape_candidates(src, &[(1, "digit_at(s", Some("parse_escape"))]);
    assert!(ps[0].explanation.contains("caller-guard"), "{}", ps[0].explanation);
    // The other candidates rank after, and the site itself is unchanged.
    assert_eq!(ps[0].candidates[0].strategy, "caller-guard");
    assert!(ps[0].candidates[0].chosen);
    assert!(ps[0].candidates.len() > 1);
    let fixed = apply(src, &ps[0]);
    assert!(fixed.contains("    bytes[pos].wrapping_sub(b'0')\n"), "{fixed}");
    let tests = "\n#[test]\nfn t() { assert_eq!(parse_escape(\"a\", 0), Err(EscapeError::EscapeOutOfBounds)); assert_eq!(parse_escape(\"a5\", 0), Ok(5)); }\n";
    assert_fixed(
        fixed,
        "    if (pos + 1) >= s.as_bytes().len() {\n        return Err(EscapeError::EscapeOutOfBounds);\n    }\n    let d = digit_at(s.as_bytes(), pos + 1);",
        tests,
    );
}

#[test]
fn the_error_is_chosen_by_the_panics_words_not_first_in_the_function() {
    let src = "#[derive(Debug, PartialEq)]
pub enum TokenError {
    BadKeyLength,
    InvalidBase62Token,
}

fn decode_base62(s: &str) -> Option<u128> {
    s.chars().try_fold(0u128, |n, c| Some(n.checked_mul(62)? + c.to_digit(36)? as u128))
}

pub fn parse_token(key: &[u8], token: &str) -> Result<u128, TokenError> {
    if key.len() != 32 {
        return Err(TokenError::BadKeyLength);
    }
    if token.len() > 22 {
        return Err(TokenError::InvalidBase62Token);
    }
    let n = decode_base62(token).expect(\"Base62 token is invalid.\");
    Ok(n)
}
";
    let ps = candidates(src, "expect", "Base62 token is invalid.");
    let fixed = apply(src, &ps[0]);
    assert!(
        fixed.contains("let n = decode_base62(token).ok_or(TokenError::InvalidBase62Token)?;"),
        "{fixed}"
    );
    assert!(
        ps[0].explanation.contains("base62, invalid, token") && ps[0].explanation.contains("line(s) above"),
        "the rationale names the words and the place: {}",
        ps[0].explanation
    );
    // The early-return candidate makes the same choice.
    for p in &ps {
        assert!(
            !p.diff.contains("+        return Err(TokenError::BadKeyLength)"),
            "{}",
            p.diff
        );
    }
    let tests =
        "\n#[test]\nfn t() { assert_eq!(parse_token(&[0; 32], \"a-b\"), Err(TokenError::InvalidBase62Token)); }\n";
    test_with_rustc(&(fixed + tests)).unwrap();
}

#[test]
fn checked_with_the_functions_error_ranks_before_saturating() {
    let src = "#[derive(Debug)]
pub enum SizeError {
    Overflow,
}

pub fn area(w: u32, h: u32) -> Result<u32, SizeError> {
    if w == u32::MAX {
        return Err(SizeError::Overflow);
    }
    Ok(w * h)
}
";
    let ps = candidates(src, "w * h", "attempt to multiply with overflow");
    let fixed = apply(src, &ps[0]);
    assert!(
        fixed.contains("Ok(w.checked_mul(h).ok_or(SizeError::Overflow)?)"),
        "{fixed}"
    );
    let strategies: Vec<&str> = ps[0].candidates.iter().map(|c| c.strategy.as_str()).collect();
    let checked = strategies.iter().position(|s| *s == "checked-error").unwrap();
    let saturating = strategies.iter().position(|s| *s == "saturating").unwrap();
    assert!(checked < saturating, "{strategies:?}");
}

#[test]
fn the_pull_request_shows_locations_relative_to_the_repository() {
    let src = "fn f(v: &[u8]) -> u8 {\n    v[3]\n}\n";
    let mut event = panic_event("index out of bounds: the len is 1 but the index is 3");
    event.location = Some(Location {
        file: "/home/ci/builds/shop/src/lib.rs".into(),
        line: 2,
        column: Some(5),
    });
    let ctx = context_at(
        Incident::from_event("9", event.clone()),
        "/srv/bugstack/checkouts/shop",
        "0".repeat(40),
        target_frame(PATH, 2, Some(5), Some("shop::f")),
        src,
    );
    let decision = Decision {
        kind: DecisionKind::NoFix,
        reason: "none".into(),
    };
    let report = FixReport::new(ctx, "template", decision, Timestamp::from_millis(1));
    let md = render_markdown(&report);
    assert!(md.contains("| Location | src/lib.rs\\:2\\:5 |"), "{md}");
    assert!(!md.contains("/home/ci"), "{md}");
}

/// The E0689 miss, end to end: the function gives the binding no type, so
/// the template's candidate does not build; the pipeline hands the
/// compiler's suggestion to compiler-guided repair, and the repaired
/// candidate passes `cargo build` in the validator.
const GROW: &str = "pub fn grow(n: u32) -> String {
    let mut acc = 1;
    for _ in 0..n {
        acc = acc * 10;
    }
    acc.to_string()
}
";

struct Ctx;

#[async_trait]
impl ContextBuilder for Ctx {
    async fn build(&self, incident: &Incident, repo: &RepoRef) -> Result<FixContext> {
        let (line, column) = at(GROW, "acc * 10");
        Ok(context_at(
            incident.clone(),
            repo.root.clone(),
            git(&repo.root, &["rev-parse", "HEAD"]),
            target_frame(PATH, line, Some(column), Some("grow::grow")),
            GROW,
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e0689_is_repaired_from_the_compilers_suggestion_in_the_pipeline() {
    let repo = Repo::with_files(
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"grow\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
            ),
            (PATH, GROW),
        ],
        "base",
    );
    let work = tempfile::tempdir().unwrap();
    // Compiler-guided repair alone: no reproduction search (whose input,
    // when found in time, would make the saturating loop's test time out).
    let policy = Policy {
        checks: vec![slow_check("build", "cargo build --offline")],
        reproduce: bugstack_fix::ReproduceConfig {
            enabled: false,
            ..bugstack_fix::ReproduceConfig::default()
        },
        ..Policy::default()
    };
    let pipeline = bugstack_fix::Pipeline::new(
        Arc::new(Ctx),
        Arc::new(TemplateGenerator::new()),
        Arc::new(validator(work.path())),
    );
    let mut event = panic_event("attempt to multiply with overflow");
    event.location = Some(Location {
        file: format!("{}/src/lib.rs", repo.path().display()),
        line: 4,
        column: Some(15),
    });
    let report = pipeline
        .run(&Incident::from_event("13", event), &RepoRef::new(repo.path()), &policy)
        .await
        .unwrap();
    let first = report.attempts[0].validation.as_ref().expect("attempt 1 was validated");
    let build = &first.checks[0];
    let verdict = build.verdict.as_ref().expect("judged by diagnostics");
    assert!(verdict.blamed && build.output.contains("E0689"), "{}", report.to_json());
    assert!(verdict.suggestions.iter().any(|s| s.code.as_deref() == Some("E0689")));
    assert!(report.attempts[1].succeeded(), "{}", report.to_json());
    let fix = report.fix.as_ref().expect("the repaired candidate is the fix");
    assert!(fix.diff.contains("+    let mut acc: i32 = 1;"), "{}", fix.diff);
    assert!(
        fix.explanation.contains("Compiler-guided repair"),
        "{}",
        fix.explanation
    );
    let md = render_markdown(&report);
    assert!(md.contains("**Candidates**"), "{md}");
    assert!(md.contains("| Location | src/lib.rs\\:4\\:15 |"), "{md}");
    assert!(!md.contains(&repo.path().display().to_string()), "{md}");
}

#[test]
fn errors_from_elsewhere_in_the_file_must_be_of_the_functions_error_type() {
    let src = "#[derive(Debug, PartialEq)]
pub enum KeyError {
    Missing,
    InvalidKeyLength,
}

#[derive(Debug, PartialEq)]
pub enum OtherError {
    InvalidKeyFormat,
}

pub fn other(s: &str) -> Result<(), OtherError> {
    if s.is_empty() {
        return Err(OtherError::InvalidKeyFormat);
    }
    Ok(())
}

pub fn check(v: Option<u8>) -> Result<u8, KeyError> {
    let n = v.expect(\"key format is invalid\");
    Ok(n)
}
";
    // `OtherError::InvalidKeyFormat` shares more words, but is another
    // function's error type.
    let ps = candidates(src, "expect", "key format is invalid");
    let fixed = apply(src, &ps[0]);
    let tests = "\n#[test]\nfn t() { assert_eq!(check(None), Err(KeyError::InvalidKeyLength)); assert_eq!(other(\"\"), Err(OtherError::InvalidKeyFormat)); }\n";
    assert_fixed(fixed, "let n = v.ok_or(KeyError::InvalidKeyLength)?;", tests);
}

#[test]
fn the_guard_goes_up_through_callers_without_an_error_channel() {
    let src = &[
        ESCAPE_PRELUDE,
        "
fn escape_digit(s: &str, at: usize) -> u8 {
    digit_at(s.as_bytes(), at + 1)
}

pub fn parse_escape(s: &str, pos: usize) -> Result<u8, EscapeError> {
    if s.is_empty() {
        return Err(EscapeError::Empty);
    }
    let d = escape_digit(s, pos);
    Ok(d)
}
",
    ]
    .concat();
    let ps = escape_candidates(src, &[(1, "digit_at(s.", None), (2, "escape_digit(s, pos)", None)]);
    assert_eq!(ps[0].candidates[0].strategy, "caller-guard", "{}", ps[0].explanation);
    let tests = "\n#[test]\nfn t() { assert_eq!(parse_escape(\"a\", 0), Err(EscapeError::EscapeOutOfBounds)); assert_eq!(parse_escape(\"a7\", 0), Ok(7)); }\n";
    assert_fixed(
        apply(src, &ps[0]),
        "    if (pos + 1) >= s.as_bytes().len() {\n        return Err(EscapeError::EscapeOutOfBounds);\n    }\n    let d = escape_digit(s, pos);",
        tests,
    );
}

/// Up the stack, the only error the caller returns names none of the
/// panic's words (fancy-regex's `run` returning `BacktrackLimitExceeded`
/// for a slice out of range in a `-> bool` helper): the guard there would
/// tell callers the wrong cause, so it ranks after the site's own fixes,
/// and says the error is borrowed.
#[test]
fn a_caller_guard_with_a_borrowed_error_ranks_after_the_sites_own_fixes() {
    let src = "#[derive(Debug, PartialEq)]
pub enum LimitError {
    TooDeep,
}

fn is_digit_at(bytes: &[u8], pos: usize) -> bool {
    bytes[pos].is_ascii_digit()
}

pub fn scan(s: &str, pos: usize, depth: u32) -> Result<bool, LimitError> {
    if depth > 100 {
        return Err(LimitError::TooDeep);
    }
    let d = is_digit_at(s.as_bytes(), pos + 1);
    Ok(d)
}
";
    let ps = escape_candidates(src, &[(1, "is_digit_at(s", Some("scan"))]);
    assert_ne!(ps[0].candidates[0].strategy, "caller-guard", "{}", ps[0].explanation);
    assert!(ps[0].borrowed_error.is_none(), "{:?}", ps[0]);
    let last = ps.last().unwrap();
    assert!(last.explanation.contains("caller-guard"), "{}", last.explanation);
    assert_eq!(last.borrowed_error.as_deref(), Some("LimitError::TooDeep"));
}

/// A number type whose own `Div` panics on a zero divisor (rust_decimal's
/// `Decimal::ZERO.ln()`): the operator must return a number, so the fix
/// goes where the division is written, one frame up, with the type's own
/// `is_zero()`. With no error channel there, the caller's answer for input
/// outside its domain (its `else`) is returned, and the fix says it made
/// that value up for one more input; with an `Option`, `None`.
#[test]
fn a_number_types_division_by_zero_is_guarded_where_the_division_is_written() {
    const NUM: &str = "#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fixed(i64);

impl Fixed {
    pub const ZERO: Fixed = Fixed(0);
    pub const ONE: Fixed = Fixed(1000);
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl std::ops::Div for Fixed {
    type Output = Fixed;
    fn div(self, other: Fixed) -> Fixed {
        match self.0.checked_mul(1000).and_then(|n| n.checked_div(other.0)) {
            Some(q) => Fixed(q),
            None => panic!(\"Division by zero\"),
        }
    }
}

/// The reciprocal of a number that is not negative; zero for the others.
pub fn recip(x: Fixed) -> Fixed {
    if x.0 >= 0 {
        Fixed::ONE / x
    } else {
        Fixed::ZERO
    }
}

/// The reciprocal, `None` where there is none.
pub fn checked_recip(x: Fixed) -> Option<Fixed> {
    let q = Fixed::ONE / x;
    Some(q)
}
";
    let candidates = |call: &str, function: &str| {
        let (line, column) = at(NUM, "panic!(");
        let mut ctx = context(PATH, NUM, line, Some(column), "Division by zero");
        ctx.frames[0].function = Some("<demo::Fixed as core::ops::arith::Div>::div".into());
        let (l, c) = at(NUM, call);
        let mut frame = target_frame(PATH, l, Some(c), Some(function));
        frame.frame_index = Some(1);
        ctx.frames.push(frame);
        TemplateGenerator::new().without_rustfmt().candidates(&ctx).unwrap()
    };
    let ps = candidates("Fixed::ONE / x", "demo::recip");
    assert_eq!(
        ps[0].candidates[0].strategy, "divisor-fallback",
        "{}",
        ps[0].explanation
    );
    assert_eq!(
        ps[0].invented_value.as_deref(),
        Some("`Fixed::ZERO`, the function's answer for other input it does not take")
    );
    let tests = "\n#[test]\nfn t() { assert_eq!(recip(Fixed::ZERO), Fixed::ZERO); assert_eq!(recip(Fixed(2000)), Fixed(500)); assert_eq!(recip(Fixed(-1)), Fixed::ZERO); }\n";
    assert_fixed(
        apply(NUM, &ps[0]),
        "    if x.0 >= 0 {\n        if x.is_zero() {\n            return Fixed::ZERO;\n        }\n        Fixed::ONE / x\n",
        tests,
    );

    let ps = candidates("Fixed::ONE / x;", "demo::checked_recip");
    assert_eq!(ps[0].candidates[0].strategy, "divisor-guard", "{}", ps[0].explanation);
    assert_eq!(ps[0].invented_value, None);
    let tests = "\n#[test]\nfn t() { assert_eq!(checked_recip(Fixed::ZERO), None); assert_eq!(checked_recip(Fixed(2000)), Some(Fixed(500))); }\n";
    assert_fixed(
        apply(NUM, &ps[0]),
        "    if x.is_zero() {\n        return None;\n    }\n    let q = Fixed::ONE / x;",
        tests,
    );
}
