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
//! Each is measured twice: with the checks in the sandbox (bubblewrap, the
//! default) and with `sandbox = "off"`, to report what the sandbox costs.
//!
//! A custom harness (`harness = false`): each iteration is seconds long, so
//! a few iterations are measured and the medians compared. Run with
//! `cargo bench -p bugstack-fix --bench validate` (`BENCH_ITERS=n` to change
//! the iteration count, default 3).

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use bugstack_fix::SandboxMode;
use bugstack_fix::{Patch, Policy, Validator};
use support::{head_context, service_average_edit, validator, Repo, SERVICE_AVERAGE_GUARDED};

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
    let fix = Patch::from_edits(&[service_average_edit(SERVICE_AVERAGE_GUARDED)]).expect("fix");
    let revised = Patch::from_edits(&[service_average_edit(
        "        self.subtotal_cents().checked_div(self.units()).unwrap_or(0)\n",
    )])
    .expect("revised fix");
    let mut medians = Vec::new();
    for (label, sandbox) in [
        ("sandboxed", SandboxMode::Bubblewrap),
        ("unsandboxed", SandboxMode::Off),
    ] {
        let policy = Policy {
            sandbox,
            ..Policy::default()
        };
        let (mut cold, mut retry) = (Vec::new(), Vec::new());
        for i in 0..iters {
            let repo = Repo::from_fixture("validate-service", "service");
            let work = tempfile::TempDir::new().expect("temp dir");
            let validator = validator(work.path());
            let ctx = head_context(repo.path(), "attempt to divide by zero");
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
                    "{label} iteration {}: cold {:>6.2} s, retry {:>6.2} s, ratio {:.1}x ({})",
                    i + 1,
                    c.as_secs_f64(),
                    r.as_secs_f64(),
                    c.as_secs_f64() / r.as_secs_f64(),
                    v.sandbox.as_ref().map_or("?", |s| s.kind.as_str())
                );
                cold.push(c);
                retry.push(r);
            });
        }
        medians.push((label, median(cold), median(retry)));
    }
    for (label, c, r) in &medians {
        println!(
            "validate/{label}/cold   median {:.2} s\nvalidate/{label}/retry  median {:.2} s\nretry is {:.1}x faster than cold (target: >= 5x)",
            c.as_secs_f64(),
            r.as_secs_f64(),
            c.as_secs_f64() / r.as_secs_f64()
        );
    }
    if let [(_, sc, sr), (_, uc, ur)] = medians.as_slice() {
        println!(
            "sandbox cost: cold {:+.2} s ({:.2}x), retry {:+.2} s ({:.2}x)",
            sc.as_secs_f64() - uc.as_secs_f64(),
            sc.as_secs_f64() / uc.as_secs_f64(),
            sr.as_secs_f64() - ur.as_secs_f64(),
            sr.as_secs_f64() / ur.as_secs_f64()
        );
    }
}
