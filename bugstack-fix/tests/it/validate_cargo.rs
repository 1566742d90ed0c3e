//! WorktreeValidator with real `cargo build` / `cargo test` on the fixture
//! service crate (`tests/fixtures/validate-service`, copied to a temp repo):
//! a fix whose regression test fails on the base and passes with the fix,
//! then a retry-style second candidate that breaks a passing test (blamed).

use crate::support;

use std::path::PathBuf;

use bugstack_fix::{
    CheckStatus, FileEdit, Patch, Policy, RegressionTest, Validator, ValidatorOptions, WorktreeValidator,
};
use support::{
    edit_patch, head_context, policy_with_checks, service_average_edit, slow_check, work_dir_options, worktree_root,
    write_file, Repo, SERVICE_AVERAGE_GUARDED,
};
use tempfile::TempDir;

/// The regression test the fix adds: it panics on the base.
const REGRESSION_TEST: &str = "use validate_service::cart::Cart;

#[test]
fn empty_cart_average_is_zero() {
    assert_eq!(Cart::default().average_unit_cents(), 0);
}
";

/// The fix, with its regression test.
fn guarded_fix() -> Patch {
    Patch::from_edits(&[
        service_average_edit(SERVICE_AVERAGE_GUARDED),
        FileEdit {
            path: "tests/regression.rs".into(),
            before: String::new(),
            after: REGRESSION_TEST.into(),
        },
    ])
    .unwrap()
}

/// A candidate that avoids the panic but breaks a passing test.
fn breaks_a_test() -> Patch {
    Patch::from_edits(&[service_average_edit(
        "        self.subtotal_cents() / self.units().max(1) + 1\n",
    )])
    .unwrap()
}

fn policy() -> Policy {
    policy_with_checks(vec![
        slow_check("build", "cargo build --offline --all-targets"),
        slow_check("test", "cargo test --offline"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_fix_passes_with_regression_fail_to_pass_then_a_breaking_candidate_is_blamed() {
    let repo = Repo::from_fixture("validate-service", "service");
    let work = TempDir::new().unwrap();
    let validator = WorktreeValidator::new(ValidatorOptions {
        target_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("validate-cargo-target")),
        ..work_dir_options(work.path(), ValidatorOptions::default())
    });
    let ctx = head_context(repo.path(), "attempt to divide by zero");
    let policy = policy();

    let mut fix = guarded_fix();
    fix.regression_test = Some(RegressionTest {
        features: Vec::new(),
        path: "tests/regression.rs".into(),
        name: "empty_cart_average_is_zero".into(),
    });
    let v = validator.validate(&ctx, &fix, &policy).await.unwrap();
    assert!(v.passed(), "{v:#?}");
    for c in &v.checks {
        assert_eq!(
            (c.status, c.base_status),
            (CheckStatus::Passed, Some(CheckStatus::Passed)),
            "{c:#?}"
        );
    }
    let r = v.regression.expect("regression result");
    assert!(r.fails_on_base, "{}", r.output);
    assert!(r.passes_with_fix, "{}", r.output);
    assert!(r.output.contains("attempt to divide by zero"), "{}", r.output);

    let broken = breaks_a_test();
    let v = validator.validate(&ctx, &broken, &policy).await.unwrap();
    assert!(!v.passed());
    let test = v.checks.iter().find(|c| c.name == "test").unwrap();
    assert_eq!(test.status, CheckStatus::Failed);
    assert_eq!(test.base_status, Some(CheckStatus::Passed));
    assert!(test.blames_fix());
    assert!(test.output.contains("average_of_a_full_cart"), "{}", test.output);

    assert_eq!(repo.git(&["status", "--porcelain"]), "", "user tree touched");
    assert_eq!(repo.git(&["worktree", "list"]).lines().count(), 1);
    let dirs = std::fs::read_dir(worktree_root(work.path()))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir());
    assert_eq!(dirs.count(), 0, "a worktree directory was left behind");
}

/// A path dependency outside the repository, in a workspace of its own
/// (`version.workspace = true`) under a directory the sandbox hides
/// (`/tmp`): it and its workspace are bound back read-only, and the project
/// builds inside the sandbox. (Before, the checks failed at once: cargo saw
/// an empty `/tmp`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_dependency_outside_the_repository_builds_in_the_sandbox() {
    let outside = TempDir::new().unwrap();
    write_file(
        outside.path(),
        "Cargo.toml",
        "[workspace]\nmembers = [\"lib\"]\nresolver = \"2\"\n\n[workspace.package]\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write_file(
        outside.path(),
        "lib/Cargo.toml",
        "[package]\nname = \"outside-lib\"\nversion.workspace = true\nedition.workspace = true\n",
    );
    write_file(outside.path(), "lib/src/lib.rs", "pub fn one() -> u32 {\n    1\n}\n");
    let lib = outside.path().join("lib").display().to_string();
    let manifest = format!(
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\noutside-lib = {{ path = {lib:?} }}\n"
    );
    const BEFORE: &str = "pub fn two() -> u32 {\n    outside_lib::one() + 1\n}\n";
    let repo = Repo::with_files(&[("Cargo.toml", &manifest), ("src/lib.rs", BEFORE)], "app");
    let work = TempDir::new().unwrap();
    let validator = WorktreeValidator::new(work_dir_options(work.path(), ValidatorOptions::default()));
    let ctx = head_context(repo.path(), "attempt to add with overflow");
    let patch = edit_patch(
        "src/lib.rs",
        BEFORE,
        "pub fn two() -> u32 {\n    outside_lib::one().saturating_add(1)\n}\n",
    );
    let policy = policy_with_checks(vec![slow_check("build", "cargo build --offline")]);
    let v = validator.validate(&ctx, &patch, &policy).await.unwrap();
    let sandbox = v.sandbox.clone().expect("sandbox report");
    if !sandbox.confined() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must sandbox the checks: {}",
            sandbox.detail
        );
        eprintln!(
            "SKIPPED: no sandbox here ({}); the case needs bubblewrap",
            sandbox.detail
        );
        return;
    }
    assert!(v.passed(), "{v:#?}");
    assert_eq!(v.checks[0].base_status, Some(CheckStatus::Passed), "{v:#?}");
}
