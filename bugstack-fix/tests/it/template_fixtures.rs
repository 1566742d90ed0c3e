//! "Done when" for the offline generator: for every panic class, a real
//! fixture crate panics, the template generator writes a patch from the
//! real panic message and location, the patch applies with `git apply`, and
//! `cargo test` in the patched copy compiles, no longer panics on the
//! failing input and keeps the fixture's own tests passing.
//!
//! The fixture (`tests/fixtures/panics`) is dependency-free and every copy
//! builds into one shared `CARGO_TARGET_DIR` inside a temp dir, sequentially.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use bugstack_fix::{Feedback, FixGenerator, TemplateGenerator};
use support::template::{context, first_src_frame, output_text, parse_panic, run_in};
use support::{copy_dir, fixture_dir};

/// (module / repro name, expected class, strategy of the accepted patch,
/// attempts it takes). `retry_err`'s first candidate (`?` into an error type
/// without `From<ParseIntError>`) does not compile; the compiler output goes
/// back as feedback and the second candidate (an early return of the error
/// the function already returns) passes.
const FIXTURES: &[(&str, &str, &str, u32)] = &[
    ("unwrap_none", "unwrap-none", "let-else-return", 1),
    ("unwrap_err", "unwrap-err", "question-mark", 1),
    ("parse_unwrap", "parse-unwrap", "let-else-return", 1),
    ("retry_err", "parse-unwrap", "let-else-return", 2),
    ("index_oob", "index-oob", "guard-return", 1),
    ("slice_range", "slice-range", "question-mark", 1),
    ("char_boundary", "char-boundary", "floor-char-boundary", 1),
    ("div_zero", "div-zero", "guard-return", 1),
    ("rem_zero", "rem-zero", "question-mark", 1),
    ("overflow_sub", "overflow", "saturating", 1),
    ("overflow_add", "overflow", "saturating", 1),
    ("missing_key", "missing-key", "guard-return", 1),
    ("duration_sub", "overflow", "saturating", 1),
    ("vec_position", "vec-position", "guard-return", 1),
    ("shift_overflow", "overflow", "checked-or-zero", 1),
];

/// `cargo <args> --offline` in `dir`, building into `target`, with short
/// backtraces (a panic raised inside std is located by the crate's frame).
fn cargo(dir: &Path, target: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_in(
        Command::new(cargo)
            .args(args)
            .arg("--offline")
            .env("RUST_BACKTRACE", "1"),
        dir,
        target,
    )
}

/// Runs one fixture end to end; `Err` says which step failed and why.
async fn run(tmp: &Path, name: &str, class: &str, strategy: &str, attempts: u32) -> Result<String, String> {
    let dir = tmp.join(name);
    let target = tmp.join("target");
    copy_dir(&fixture_dir("panics"), &dir, &["target", "Cargo.lock"]);
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::copy(
        dir.join("repros").join(format!("{name}.rs")),
        dir.join("tests/repro.rs"),
    )
    .unwrap();

    let before = cargo(&dir, &target, &["test", "--test", "repro"]);
    if before.status.success() {
        return Err("the repro does not panic before the fix".into());
    }
    let out = output_text(&before);
    let (mut path, mut line, mut column, message) =
        parse_panic(&out).ok_or_else(|| format!("no panic location in the repro output:\n{out}"))?;
    if !dir.join(&path).is_file() {
        // Raised inside the standard library: the crate's first frame.
        (path, line, column) =
            first_src_frame(&out).ok_or_else(|| format!("no frame in src/ in the repro output:\n{out}"))?;
    }
    let source = std::fs::read_to_string(dir.join(&path)).map_err(|e| format!("{path}: {e}"))?;
    let mut ctx = context(&path, &source, line, Some(column), &message);
    // The crate under repair: rustfmt follows its configuration (none: the defaults).
    ctx.repo_root = dir.clone();
    let generator = TemplateGenerator::new();
    let mut feedback: Vec<Feedback> = Vec::new();
    for attempt in 1..=3u32 {
        let patch = generator
            .generate(&ctx, &feedback)
            .await
            .map_err(|e| format!("attempt {attempt}: no patch for {path}:{line}:{column} {message:?}: {e}"))?;
        if patch.class.as_deref() != Some(class) {
            return Err(format!("class {:?}, expected {class}", patch.class));
        }
        if patch.root_cause.is_empty() || patch.explanation.is_empty() || patch.files != [path.clone()] {
            return Err(format!("bad metadata: {patch:?}"));
        }
        std::fs::write(dir.join(&path), &source).unwrap();
        std::fs::write(dir.join("fix.diff"), &patch.diff).unwrap();
        let applied = bugstack_fix::git::command(&dir)
            .args(["apply", "fix.diff"])
            .output()
            .expect("git runs");
        if !applied.status.success() {
            return Err(format!("git apply failed: {}\n{}", output_text(&applied), patch.diff));
        }
        // The fixture is rustfmt-clean; the fix keeps it so.
        let fmt = Command::new("rustfmt")
            .args(["--check", "--edition", "2021", &path])
            .current_dir(&dir)
            .output();
        if let Ok(fmt) = fmt {
            if !fmt.status.success() {
                return Err(format!("patched file is not rustfmt-clean:\n{}", output_text(&fmt)));
            }
        }
        let after = cargo(&dir, &target, &["test"]);
        if after.status.success() {
            if !patch.explanation.contains(&format!("strategy: {strategy}")) || attempt != attempts {
                return Err(format!(
                    "passed at attempt {attempt} with {}, expected {strategy} at attempt {attempts}",
                    patch.explanation
                ));
            }
            return Ok(patch.diff);
        }
        println!("{name}: attempt {attempt} failed its checks:\n{}", patch.diff);
        feedback.push(Feedback {
            attempt,
            patch: Some(patch),
            failure: bugstack_core::text::trim_middle(&output_text(&after), 4000),
        });
    }
    Err(format!(
        "cargo test still fails after 3 attempts:\n{}",
        feedback.last().map(|f| f.failure.as_str()).unwrap_or_default()
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn every_panic_class_is_fixed_in_a_real_crate() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for &(name, class, strategy, attempts) in FIXTURES {
        match run(tmp.path(), name, class, strategy, attempts).await {
            Ok(diff) => println!("PASS {name:<14} {class:<14} {strategy}\n{diff}"),
            Err(e) => {
                println!("FAIL {name:<14} {class:<14} {e}");
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
