//! The template generator on real panic bugs from published crates (the
//! study set found by [`support::real_bugs::dir`]; skipped with a notice
//! when absent, a failure under `CI=true`). For each case: copy `crate/` to
//! a temp dir, build the context by hand from `cases.json`'s panic location
//! and message, generate and `git apply` a patch, then run the case's
//! `repro.rs` and its `suite_command`. A fix that moves the panic to another
//! recognised panic is followed by one more round (as the pipeline would,
//! on the new incident), up to 3 rounds. Prints a table, and fails when
//! fewer cases are fixed than today's floor ([`FIXED_FLOOR`],
//! [`SINGLE_PATCH_FLOOR`]: a regression), when the generator crashes or
//! when a patch does not apply. It takes ~1 minute (the cases build their
//! registry dependencies once into `CARGO_TARGET_TMPDIR`); set
//! `BUGSTACK_SKIP_REAL_BUGS=1` to skip it.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use bugstack_fix::{Feedback, FixGenerator, TemplateGenerator};
use support::template::{context, output_text, parse_panic, run_in};
use support::{copy_dir, real_bugs};

/// Cases fixed (repro and suite pass) today: all five of the study set.
const FIXED_FLOOR: usize = 5;

/// Cases fixed by a single patch today (clokwerk's remainder by zero moves
/// to a second site and takes two rounds).
const SINGLE_PATCH_FLOOR: usize = 4;

/// `sh -c cmd` in `dir`, building into `target`.
fn sh(dir: &Path, target: &Path, cmd: &str) -> Output {
    run_in(Command::new("sh").args(["-c", cmd]), dir, target)
}

struct Row {
    name: String,
    class: String,
    generated: String,
    rounds: usize,
    repro: bool,
    suite: bool,
}

async fn run_case(set_dir: &Path, tmp: &Path, case: &serde_json::Value) -> Row {
    let s = |k: &str| case[k].as_str().unwrap_or_default().to_string();
    let name = s("name");
    let case_dir = set_dir.join("cases").join(&name);
    let dir = tmp.join(&name);
    // One persistent target dir for every case: reruns reuse the compiled
    // registry dependencies.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("template-real-bugs");
    copy_dir(&case_dir.join("crate"), &dir, &["target", ".git"]);
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::copy(case_dir.join("repro.rs"), dir.join("tests/repro.rs")).unwrap();
    let mut row = Row {
        name: name.clone(),
        class: s("class"),
        generated: String::new(),
        rounds: 0,
        repro: false,
        suite: false,
    };
    let loc = s("panic_location");
    let mut parts = loc.rsplitn(3, ':');
    let column: u32 = parts.next().and_then(|c| c.parse().ok()).unwrap();
    let line: u32 = parts.next().and_then(|c| c.parse().ok()).unwrap();
    let mut panic = (parts.next().unwrap().to_string(), line, column, s("panic_message"));
    let generator = TemplateGenerator::new();
    for round in 1..=3 {
        let (path, line, column, message) = panic.clone();
        let source = std::fs::read_to_string(dir.join(&path)).unwrap();
        let ctx = context(&path, &source, line, Some(column), &message);
        let patch = match generator.generate(&ctx, &[] as &[Feedback]).await {
            Ok(p) => p,
            Err(e) => {
                row.generated = format!("{} round {round}: no patch: {e}", row.generated);
                return row;
            }
        };
        row.rounds = round;
        row.generated.push_str(&format!(
            "[{path}:{line} {} {}] ",
            patch.class.as_deref().unwrap_or("?"),
            patch
                .explanation
                .rsplit("strategy: ")
                .next()
                .unwrap_or("")
                .trim_end_matches(')')
        ));
        println!("--- {name} round {round}: {}\n{}", patch.root_cause, patch.diff);
        let diff = dir.join(format!("fix{round}.diff"));
        std::fs::write(&diff, &patch.diff).unwrap();
        let applied = sh(&dir, &target, &format!("git apply {}", diff.display()));
        assert!(
            applied.status.success(),
            "{name}: patch does not apply: {}",
            output_text(&applied)
        );
        let repro = sh(&dir, &target, "cargo test --test repro");
        if repro.status.success() {
            row.repro = true;
            break;
        }
        let out = output_text(&repro);
        match parse_panic(&out) {
            Some(next) if next != panic && !next.0.starts_with('/') => {
                println!(
                    "{name}: round {round} moved the panic to {}:{}: {}",
                    next.0, next.1, next.3
                );
                panic = next;
            }
            _ => {
                println!(
                    "{name}: repro still fails:\n{}",
                    out.lines().rev().take(25).collect::<Vec<_>>().join("\n")
                );
                return row;
            }
        }
    }
    if row.repro {
        let suite = sh(&dir, &target, &s("suite_command"));
        row.suite = suite.status.success();
        if !row.suite {
            println!("{name}: suite fails:\n{}", output_text(&suite));
        }
    }
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn template_generator_on_real_bugs() {
    if std::env::var_os("BUGSTACK_SKIP_REAL_BUGS").is_some() {
        println!("SKIPPED: BUGSTACK_SKIP_REAL_BUGS is set");
        return;
    }
    let Some(root) = real_bugs::dir() else {
        return;
    };
    let cases = real_bugs::cases(&root);
    let tmp = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for case in &cases {
        rows.push(run_case(&root, tmp.path(), case).await);
    }
    println!("\n| case | class | rounds | repro passes | suite passes | patches |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.name, r.class, r.rounds, r.repro, r.suite, r.generated
        );
    }
    let first_round = rows.iter().filter(|r| r.repro && r.suite && r.rounds == 1).count();
    let total = rows.iter().filter(|r| r.repro && r.suite).count();
    println!(
        "\n{total}/{} real bugs fixed ({first_round} with a single patch)",
        rows.len()
    );
    assert!(
        total >= FIXED_FLOOR && first_round >= SINGLE_PATCH_FLOOR,
        "{total} real bugs fixed ({first_round} with a single patch); today's floor is {FIXED_FLOOR} \
         ({SINGLE_PATCH_FLOOR} with a single patch)"
    );
}
