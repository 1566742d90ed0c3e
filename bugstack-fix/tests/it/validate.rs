//! WorktreeValidator behaviour with small shell checks on throwaway git
//! repositories: judging against the base, timeouts that kill whole process
//! groups, patches that do not apply, bounded output, cleanup in every case,
//! and a user working tree that stays byte-identical.

use crate::support;

use std::time::{Duration, Instant};

use bugstack_fix::{
    CheckSpec, CheckStatus, FileEdit, FixContext, Patch, Policy, RegressionTest, Validation, Validator,
    ValidatorOptions, Worktree, WorktreeValidator, APPLY_CHECK,
};
use support::{edit_patch, head_context, snapshot, work_dir_options, worktree_root, Repo, Snapshot};
use tempfile::TempDir;

const LIB: &str = "fn total() {\n    keep();\n    bug();\n}\n";

/// A repository with one commit of `files`, plus a user's uncommitted edit
/// and an untracked file, which validation must never touch.
fn repo(files: &[(&str, &str)]) -> Repo {
    let repo = Repo::with_files(files, "base");
    repo.write("README", "user's uncommitted edit\n");
    repo.write("notes.untracked", "user's untracked file\n");
    repo
}

fn base_files() -> Vec<(&'static str, &'static str)> {
    vec![("src/lib.txt", LIB), ("README", "readme\n")]
}

fn check(name: &str, command: &str) -> CheckSpec {
    CheckSpec::new(name, command)
}

/// These tests watch the checks' processes and files from outside (pid
/// files, grandchildren), so their checks run unsandboxed; the sandbox has
/// its own cases in the root `tests/long/adversarial.rs`.
fn policy(checks: Vec<CheckSpec>) -> Policy {
    Policy {
        sandbox: bugstack_fix::SandboxMode::Off,
        ..support::policy_with_checks(checks)
    }
}

fn edit(after: &str) -> Patch {
    edit_patch("src/lib.txt", LIB, after)
}

/// The fix: `bug()` becomes `fixed()`.
fn fixed() -> Patch {
    edit(&LIB.replace("bug()", "fixed()"))
}

/// Default options, but checks are not judged against the base commit.
fn not_judged() -> ValidatorOptions {
    ValidatorOptions {
        judge_against_base: false,
        ..ValidatorOptions::default()
    }
}

struct Setup {
    repo: Repo,
    work: TempDir,
    validator: WorktreeValidator,
    before: Snapshot,
}

fn setup(options: ValidatorOptions) -> Setup {
    let repo = repo(&base_files());
    let work = TempDir::new().unwrap();
    let validator = WorktreeValidator::new(work_dir_options(work.path(), options));
    let before = snapshot(repo.path());
    Setup {
        repo,
        work,
        validator,
        before,
    }
}

impl Setup {
    fn ctx(&self) -> FixContext {
        head_context(self.repo.path(), "boom")
    }

    /// Validates `patch` under `policy` for [`Setup::ctx`]; panics when
    /// validation cannot run.
    async fn validate(&self, patch: &Patch, policy: &Policy) -> Validation {
        self.validator.validate(&self.ctx(), patch, policy).await.unwrap()
    }

    /// No worktree left (on disk or in git's list), user tree untouched.
    fn assert_clean(&self) {
        let list = self.repo.git(&["worktree", "list", "--porcelain"]);
        assert_eq!(list.matches("worktree ").count(), 1, "leftover worktree:\n{list}");
        let root = worktree_root(self.work.path());
        // Slot lock files stay; no worktree directory may.
        let left: Vec<_> = std::fs::read_dir(&root)
            .map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "leftover directories: {left:?}");
        assert!(
            snapshot(self.repo.path()) == self.before,
            "the user's working tree changed"
        );
    }
}

fn is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie waiting for a reaper is dead too.
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn wait_dead(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if is_dead(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[tokio::test]
async fn passing_fix_passes_and_records_base_status() {
    let s = setup(ValidatorOptions::default());
    let p = policy(vec![
        check("fixed", "grep -q fixed src/lib.txt"),
        check("readme", "test -f README"),
    ]);
    let v = s.validate(&fixed(), &p).await;
    assert!(v.passed(), "{v:#?}");
    assert_eq!(v.checks[0].status, CheckStatus::Passed);
    assert_eq!(v.checks[0].base_status, Some(CheckStatus::Failed));
    assert_eq!(v.checks[1].status, CheckStatus::Passed);
    assert_eq!(v.checks[1].base_status, Some(CheckStatus::Passed));
    assert_eq!(v.checks[0].exit_code, Some(0));
    s.assert_clean();
}

#[tokio::test]
async fn breaking_a_check_the_base_passes_is_blamed() {
    let s = setup(ValidatorOptions::default());
    let p = policy(vec![check("keep", "grep -q keep src/lib.txt"), check("later", "true")]);
    let v = s.validate(&edit(&LIB.replace("keep()", "drop()")), &p).await;
    assert!(!v.passed());
    assert_eq!(v.checks[0].status, CheckStatus::Failed);
    assert_eq!(v.checks[0].base_status, Some(CheckStatus::Passed));
    assert!(v.checks[0].blames_fix());
    assert_eq!(v.checks[0].exit_code, Some(1));
    assert_eq!(v.checks[1].status, CheckStatus::Skipped, "stop at first failure");
    assert!(v.failure_summary(1000).contains("grep -q keep"));
    s.assert_clean();
}

#[tokio::test]
async fn failure_the_base_already_had_is_reported_not_blamed() {
    let s = setup(ValidatorOptions::default());
    let p = policy(vec![
        check("flaky", "echo 'legacy failure'; grep -q never-there src/lib.txt"),
        check("fixed", "grep -q fixed src/lib.txt"),
    ]);
    let v = s.validate(&fixed(), &p).await;
    assert_eq!(v.checks[0].status, CheckStatus::Failed);
    assert_eq!(v.checks[0].base_status, Some(CheckStatus::Failed));
    assert!(!v.checks[0].blames_fix());
    assert!(v.checks[0].output.contains("legacy failure"));
    assert_eq!(
        v.checks[1].status,
        CheckStatus::Passed,
        "not stopped: the failure is not the fix's"
    );
    assert!(v.passed(), "{v:#?}");
    s.assert_clean();
}

#[tokio::test]
async fn lint_the_base_fails_is_skipped() {
    let s = setup(ValidatorOptions::default());
    let lint = CheckSpec {
        only_if_base_passes: true,
        ..check("lint", "grep -q lint-clean src/lib.txt")
    };
    let p = policy(vec![check("ok", "true"), lint]);
    let v = s.validate(&fixed(), &p).await;
    assert_eq!(v.checks[1].status, CheckStatus::Skipped);
    assert_eq!(v.checks[1].base_status, Some(CheckStatus::Failed));
    assert!(v.checks[1].output.contains("base commit does not pass"));
    assert!(v.passed());
    s.assert_clean();
}

#[tokio::test]
async fn hanging_check_is_killed_with_its_process_group() {
    let s = setup(not_judged());
    let pidfile = s.work.path().join("grandchild.pid");
    let hang = CheckSpec {
        timeout_secs: 2,
        ..check(
            "hang",
            &format!("echo started; sleep 600 & echo $! > {}; wait", pidfile.display()),
        )
    };
    let t = Instant::now();
    let v = s.validate(&fixed(), &policy(vec![hang])).await;
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    let c = &v.checks[0];
    assert_eq!(c.status, CheckStatus::TimedOut, "{c:#?}");
    assert!(c.blames_fix());
    assert!(c.output.contains("started") && c.output.contains("killed with its process group"));
    let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(wait_dead(pid), "grandchild sleep {pid} survived the timeout");
    s.assert_clean();
}

#[tokio::test]
async fn cancelled_validation_kills_its_checks_and_removes_the_worktree() {
    let s = setup(not_judged());
    let pidfile = s.work.path().join("cancelled.pid");
    let p = policy(vec![check(
        "hang",
        &format!("sleep 600 & echo $! > {}; wait", pidfile.display()),
    )]);
    let ctx = s.ctx();
    let patch = fixed();
    // Cancel (drop the future) once the check's grandchild is running.
    let started = async {
        while std::fs::read_to_string(&pidfile).map_or(true, |t| !t.ends_with('\n')) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        r = s.validator.validate(&ctx, &patch, &p) => panic!("the check should still be running: {r:?}"),
        () = started => {}
        () = tokio::time::sleep(Duration::from_secs(60)) => panic!("the check never started"),
    }
    let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(wait_dead(pid), "check {pid} survived cancellation");
    s.assert_clean();
}

#[tokio::test]
async fn patch_that_does_not_apply_is_a_clear_failed_result() {
    let s = setup(ValidatorOptions::default());
    let stale = edit_patch(
        "src/lib.txt",
        "fn total() {\n    other();\n}\n",
        "fn total() {\n    fixed();\n}\n",
    );
    let v = s.validate(&stale, &policy(vec![check("ok", "true")])).await;
    assert_eq!(v.checks.len(), 1);
    assert_eq!(v.checks[0].name, APPLY_CHECK);
    assert_eq!(v.checks[0].status, CheckStatus::Failed);
    assert!(v.checks[0].blames_fix() && !v.passed());
    assert!(v.checks[0].output.contains("does not apply"), "{}", v.checks[0].output);
    assert!(v.checks[0].output.contains("src/lib.txt"), "{}", v.checks[0].output);
    s.assert_clean();
}

#[tokio::test]
async fn unknown_revision_is_an_error_and_leaves_nothing() {
    let s = setup(ValidatorOptions::default());
    let mut ctx = s.ctx();
    ctx.revision = "0000000000000000000000000000000000000bad".into();
    let err = s
        .validator
        .validate(&ctx, &fixed(), &policy(vec![check("ok", "true")]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no commit named"), "{err}");
    s.assert_clean();
}

#[tokio::test]
async fn worktree_guard_removes_the_worktree_when_dropped() {
    let s = setup(ValidatorOptions::default());
    let root = worktree_root(s.work.path());
    let head = s.repo.head();
    let wt = Worktree::create(s.repo.path(), &root, &head).await.unwrap();
    let path = wt.path().to_path_buf();
    assert!(path.join("src/lib.txt").exists());
    std::fs::write(path.join("scratch"), "dirty").unwrap();
    assert!(s.repo.git(&["worktree", "list"]).contains(path.to_str().unwrap()));
    drop(wt);
    assert!(!path.exists());
    s.assert_clean();
    // A second worktree reuses the freed slot: same path, so builds stay incremental.
    let wt = Worktree::create(s.repo.path(), &root, &head).await.unwrap();
    assert_eq!(wt.path(), path);
    wt.remove().await.unwrap();
    s.assert_clean();
}

#[tokio::test]
async fn output_is_bounded_head_and_tail() {
    let s = setup(ValidatorOptions {
        max_output_bytes: 4096,
        ..not_judged()
    });
    // ~30 MB of output between a first and a last line.
    let noisy = "echo FIRST-LINE; yes 'noise noise noise' | head -c 30000000; echo; echo LAST-LINE; exit 3";
    let v = s.validate(&fixed(), &policy(vec![check("noisy", noisy)])).await;
    let c = &v.checks[0];
    assert_eq!((c.status, c.exit_code), (CheckStatus::Failed, Some(3)));
    assert!(c.output.len() <= 4096 + 100, "{} bytes kept", c.output.len());
    assert!(c.output.starts_with("FIRST-LINE"), "{}", &c.output[..50]);
    assert!(c.output.trim_end().ends_with("LAST-LINE"));
    assert!(c.output.contains("bytes of output dropped"));
    s.assert_clean();
}

#[tokio::test]
async fn base_results_are_cached_across_retries() {
    let s = setup(ValidatorOptions::default());
    let counter = s.work.path().join("runs");
    let p = policy(vec![check(
        "count",
        &format!("echo run >> {}; grep -q fixed src/lib.txt", counter.display()),
    )]);
    let ctx = s.ctx();
    let first = s
        .validator
        .validate(&ctx, &edit(&LIB.replace("bug()", "wrong()")), &p)
        .await
        .unwrap();
    assert!(!first.passed());
    let second = s.validator.validate(&ctx, &fixed(), &p).await.unwrap();
    assert!(second.passed());
    assert_eq!(second.checks[0].base_status, Some(CheckStatus::Failed));
    let runs = std::fs::read_to_string(&counter).unwrap().lines().count();
    assert_eq!(runs, 3, "1 base run + 2 candidate runs");
    assert_eq!(s.validator.cached_base_results(), 1);
    s.assert_clean();
}

#[tokio::test]
async fn checks_share_the_target_dir_and_never_see_secrets() {
    let s = setup(ValidatorOptions {
        secret_env: vec!["MY_VALIDATE_SECRET".into()],
        ..not_judged()
    });
    std::env::set_var("MY_VALIDATE_SECRET", "hunter2-validate-secret");
    let mut p = policy(vec![check(
        "env",
        "echo \"target=$CARGO_TARGET_DIR\"; echo \"value=${MY_VALIDATE_SECRET:-unset}\"",
    )]);
    p.forge.token_env = "MY_VALIDATE_SECRET".into();
    let v = s.validate(&fixed(), &p).await;
    let out = &v.checks[0].output;
    assert!(
        out.contains(&format!("target={}", s.work.path().join("target").display())),
        "{out}"
    );
    assert!(out.contains("value=unset"), "{out}");
    assert!(!out.contains("hunter2"));
    s.assert_clean();
}

#[tokio::test]
async fn regression_test_with_a_bad_name_is_not_run() {
    let s = setup(ValidatorOptions::default());
    let mut patch = fixed();
    patch.regression_test = Some(RegressionTest {
        features: Vec::new(),
        path: "src/lib.txt".into(),
        name: "x; touch /tmp/pwned".into(),
    });
    let v = s.validate(&patch, &policy(vec![check("ok", "true")])).await;
    let r = v.regression.unwrap();
    assert!(!r.fails_on_base && !r.passes_with_fix);
    assert!(r.output.contains("not run"));
    s.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validations_sharing_a_target_dir_take_turns() {
    let s = setup(not_judged());
    let log = s.work.path().join("log");
    let p = policy(vec![check(
        "turns",
        &format!("echo start >> {0}; sleep 1; echo end >> {0}", log.display()),
    )]);
    let ctx = s.ctx();
    let (a, b) = (fixed(), edit(&LIB.replace("bug()", "other()")));
    let (ra, rb) = tokio::join!(s.validator.validate(&ctx, &a, &p), s.validator.validate(&ctx, &b, &p));
    assert!(ra.unwrap().passed() && rb.unwrap().passed());
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines, ["start", "end", "start", "end"], "validations overlapped");
    assert!(s
        .work
        .path()
        .join("target")
        .join(bugstack_fix::TARGET_LOCK_FILE)
        .exists());
    s.assert_clean();
}

#[tokio::test]
async fn patch_creating_a_file_from_plain_edits_applies() {
    let s = setup(ValidatorOptions::default());
    let patch = Patch::from_edits(&[
        FileEdit {
            path: "src/lib.txt".into(),
            before: LIB.into(),
            after: LIB.replace("bug()", "fixed()"),
        },
        FileEdit {
            path: "tests/new_test.txt".into(),
            before: String::new(),
            after: "a new test\n".into(),
        },
    ])
    .unwrap();
    assert!(patch.diff.contains("--- a/tests/new_test.txt"), "{}", patch.diff);
    let p = policy(vec![check(
        "new",
        "grep -q 'a new test' tests/new_test.txt && grep -q fixed src/lib.txt",
    )]);
    let v = s.validate(&patch, &p).await;
    assert!(v.passed(), "{v:#?}");
    s.assert_clean();
}

#[tokio::test]
async fn a_slot_left_by_a_crashed_run_is_reclaimed() {
    let s = setup(ValidatorOptions::default());
    let root = worktree_root(s.work.path());
    std::fs::create_dir_all(&root).unwrap();
    // What a run killed with SIGKILL leaves: a registered worktree in slot-0
    // and its (unlocked) lock file.
    let stale = root.join("slot-0");
    s.repo.git(&[
        "worktree",
        "add",
        "--detach",
        "--quiet",
        stale.to_str().unwrap(),
        "HEAD",
    ]);
    std::fs::write(root.join("slot-0.lock"), "").unwrap();
    std::fs::write(stale.join("half-built"), "x").unwrap();
    let p = policy(vec![check("where", "pwd")]);
    let v = s.validate(&fixed(), &p).await;
    assert!(
        v.checks[0].output.trim_end().ends_with("slot-0"),
        "{}",
        v.checks[0].output
    );
    s.assert_clean();
}

#[tokio::test]
async fn validator_error_mid_run_still_cleans_up() {
    let s = setup(not_judged());
    // The first check deletes the worktree, so the second cannot even start:
    // validation cannot run, and must still leave nothing behind.
    let p = policy(vec![check("vandal", "rm -rf \"$(pwd)\""), check("after", "true")]);
    let err = s.validator.validate(&s.ctx(), &fixed(), &p).await.unwrap_err();
    assert!(err.to_string().contains("starting `true`"), "{err}");
    s.assert_clean();
}
