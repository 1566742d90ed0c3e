//! WorktreeValidator with real `cargo build` / `cargo test` on the fixture
//! service crate (`tests/fixtures/validate-service`, copied to a temp repo):
//! a fix whose regression test fails on the base and passes with the fix,
//! then a retry-style second candidate that breaks a passing test (blamed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bugstack_core::{Event, EventKind, Level, Timestamp};
use bugstack_fix::{
    CheckSpec, CheckStatus, FixContext, Incident, Patch, Policy, RegressionTest, Validator, ValidatorOptions,
    WorktreeValidator,
};
use tempfile::TempDir;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() == "target" {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn fixture_repo() -> TempDir {
    let dir = TempDir::new().unwrap();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validate-service");
    copy_dir(&src, dir.path());
    git(dir.path(), &["init", "-q", "-b", "main"]);
    for (k, v) in [
        ("user.name", "t"),
        ("user.email", "t@example.invalid"),
        ("commit.gpgsign", "false"),
    ] {
        git(dir.path(), &["config", k, v]);
    }
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "service"]);
    dir
}

fn ctx(repo: &Path) -> FixContext {
    let event = Event::new(
        EventKind::Panic,
        Level::Fatal,
        "attempt to divide by zero",
        Timestamp::from_millis(1_700_000_000_000),
    );
    FixContext {
        incident: Incident::from_event("1", event),
        repo_root: repo.to_path_buf(),
        revision: git(repo, &["rev-parse", "HEAD"]),
        frames: Vec::new(),
        snippets: Vec::new(),
        files: BTreeMap::new(),
        token_budget: 0,
        tokens_used: 0,
        warnings: Vec::new(),
    }
}

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
diff --git a/tests/regression.rs b/tests/regression.rs
new file mode 100644
--- /dev/null
+++ b/tests/regression.rs
@@ -0,0 +1,6 @@
+use validate_service::cart::Cart;
+
+#[test]
+fn empty_cart_average_is_zero() {
+    assert_eq!(Cart::default().average_unit_cents(), 0);
+}
"#;

const BREAKS_A_TEST: &str = r#"diff --git a/src/cart.rs b/src/cart.rs
--- a/src/cart.rs
+++ b/src/cart.rs
@@ -47,6 +47,6 @@
 
     /// Average price per unit, in cents.
     pub fn average_unit_cents(&self) -> u64 {
-        self.subtotal_cents() / self.units()
+        self.subtotal_cents() / self.units().max(1) + 1
     }
 }
"#;

fn policy() -> Policy {
    let check = |name: &str, command: &str| CheckSpec {
        timeout_secs: 300,
        ..CheckSpec::new(name, command)
    };
    Policy {
        checks: vec![
            check("build", "cargo build --offline --all-targets"),
            check("test", "cargo test --offline"),
        ],
        ..Policy::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_fix_passes_with_regression_fail_to_pass_then_a_breaking_candidate_is_blamed() {
    let repo = fixture_repo();
    let work = TempDir::new().unwrap();
    let validator = WorktreeValidator::new(ValidatorOptions {
        work_root: Some(work.path().join("wt")),
        target_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("validate-cargo-target")),
        ..ValidatorOptions::default()
    });
    let ctx = ctx(repo.path());
    let policy = policy();

    let mut fix = Patch::from_diff(FIX).unwrap();
    fix.regression_test = Some(RegressionTest {
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

    let broken = Patch::from_diff(BREAKS_A_TEST).unwrap();
    let v = validator.validate(&ctx, &broken, &policy).await.unwrap();
    assert!(!v.passed());
    let test = v.checks.iter().find(|c| c.name == "test").unwrap();
    assert_eq!(test.status, CheckStatus::Failed);
    assert_eq!(test.base_status, Some(CheckStatus::Passed));
    assert!(test.blames_fix());
    assert!(test.output.contains("average_of_a_full_cart"), "{}", test.output);

    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "", "user tree touched");
    assert_eq!(git(repo.path(), &["worktree", "list"]).lines().count(), 1);
    let dirs = std::fs::read_dir(work.path().join("wt"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir());
    assert_eq!(dirs.count(), 0, "a worktree directory was left behind");
}
