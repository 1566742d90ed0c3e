//! Cold validation vs. a retry, on the fixture service crate
//! (`tests/fixtures/validate-service`, copied into a fresh git repository).
//!
//! - **cold**: a new [`WorktreeValidator`] with an empty shared target dir
//!   validates a fix: the base commit's checks run (build, test, clippy,
//!   fmt — the Rust defaults) and then the candidate's, all from scratch.
//! - **retry**: the same validator validates a revised fix: base results
//!   come from its cache and the candidate rebuilds incrementally in the
//!   shared target dir, at the same worktree path.
//!
//! A custom harness (`harness = false`): each iteration is seconds long, so
//! a few iterations are measured and the medians compared. Run with
//! `cargo bench -p bugstack-fix --bench validate` (`BENCH_ITERS=n` to change
//! the iteration count, default 3).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bugstack_core::{Event, EventKind, Level, Timestamp};
use bugstack_fix::{FixContext, Incident, Patch, Policy, Validator, ValidatorOptions, WorktreeValidator};

const FIX: &str = r#"diff --git a/src/cart.rs b/src/cart.rs
--- a/src/cart.rs
+++ b/src/cart.rs
@@ -47,6 +47,9 @@
 
     /// Average price per unit, in cents.
     pub fn average_unit_cents(&self) -> u64 {
+        if self.units() == 0 {
+            return 0;
+        }
         self.subtotal_cents() / self.units()
     }
 }
"#;

const REVISED_FIX: &str = r#"diff --git a/src/cart.rs b/src/cart.rs
--- a/src/cart.rs
+++ b/src/cart.rs
@@ -47,6 +47,6 @@
 
     /// Average price per unit, in cents.
     pub fn average_unit_cents(&self) -> u64 {
-        self.subtotal_cents() / self.units()
+        self.subtotal_cents().checked_div(self.units()).unwrap_or(0)
     }
 }
"#;

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program).current_dir(dir).args(args).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!("{program} {args:?}: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!("{program}: {e}"),
    }
}

fn fixture_repo(into: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validate-service");
    run(
        Path::new("."),
        "cp",
        &["-r", &format!("{}/.", src.display()), &into.display().to_string()],
    );
    let _ = std::fs::remove_dir_all(into.join("target"));
    run(into, "git", &["init", "-q", "-b", "main"]);
    run(into, "git", &["config", "user.name", "bench"]);
    run(into, "git", &["config", "user.email", "bench@example.invalid"]);
    run(into, "git", &["config", "commit.gpgsign", "false"]);
    run(into, "git", &["add", "-A"]);
    run(into, "git", &["commit", "-q", "-m", "service"]);
}

fn ctx(repo: &Path) -> FixContext {
    let head = Command::new("git")
        .current_dir(repo)
        .args(["rev-parse", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let event = Event::new(
        EventKind::Panic,
        Level::Fatal,
        "attempt to divide by zero",
        Timestamp::now(),
    );
    FixContext {
        incident: Incident::from_event("bench", event),
        repo_root: repo.to_path_buf(),
        revision: head,
        frames: Vec::new(),
        snippets: Vec::new(),
        files: BTreeMap::new(),
        token_budget: 0,
        tokens_used: 0,
        warnings: Vec::new(),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this with
    // no arguments: keep that a quick no-op.
    if !std::env::args().any(|a| a == "--bench") {
        println!("validate bench: run with `cargo bench -p bugstack-fix --bench validate`");
        return;
    }
    let iters: usize = std::env::var("BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    // The fixture's dependencies come from the local registry cache.
    std::env::set_var("CARGO_NET_OFFLINE", "true");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let policy = Policy::default();
    let fix = Patch::from_diff(FIX).expect("fix diff");
    let revised = Patch::from_diff(REVISED_FIX).expect("revised diff");
    let (mut cold, mut retry) = (Vec::new(), Vec::new());
    for i in 0..iters {
        let tmp = tempfile::TempDir::new().expect("temp dir");
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(&repo).expect("repo dir");
        fixture_repo(&repo);
        let validator = WorktreeValidator::new(ValidatorOptions {
            target_dir: Some(tmp.path().join("target")),
            work_root: Some(tmp.path().join("worktrees")),
            ..ValidatorOptions::default()
        });
        let ctx = ctx(&repo);
        rt.block_on(async {
            let t = Instant::now();
            let v = validator.validate(&ctx, &fix, &policy).await.expect("cold validation");
            let c = t.elapsed();
            assert!(v.passed(), "cold validation failed: {v:#?}");
            let t = Instant::now();
            let v = validator
                .validate(&ctx, &revised, &policy)
                .await
                .expect("retry validation");
            let r = t.elapsed();
            assert!(v.passed(), "retry validation failed: {v:#?}");
            println!(
                "iteration {}: cold {:>6.2} s, retry {:>6.2} s, ratio {:.1}x",
                i + 1,
                c.as_secs_f64(),
                r.as_secs_f64(),
                c.as_secs_f64() / r.as_secs_f64()
            );
            cold.push(c);
            retry.push(r);
        });
    }
    let (c, r) = (median(cold), median(retry));
    println!(
        "validate/cold   median {:.2} s\nvalidate/retry  median {:.2} s\nretry is {:.1}x faster than cold (target: >= 5x)",
        c.as_secs_f64(),
        r.as_secs_f64(),
        c.as_secs_f64() / r.as_secs_f64()
    );
}
