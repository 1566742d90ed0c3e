//! Shared scaffolding for bugstack-fix's integration tests and benches:
//! running git, throwaway repositories (written by hand or copied from a
//! fixture crate under `tests/fixtures/`), work-tree snapshots, panic events
//! and fix contexts, patches, and validator and policy setup.
//!
//! The test binary (`tests/it/main.rs`) declares it once, and its modules
//! `use crate::support;`; a bench includes it with
//! `#[path = "../tests/it/support/mod.rs"] mod support;`. What only some tests
//! need lives in submodules: [`deploy`] (a repository with a bare remote,
//! hand-built reports), [`rust_context`] (stack frames for the context
//! builder), [`template`] (running fixture crates for the template
//! generator), [`model`] (a scripted model server), [`prism`] (the Prism
//! conformance peer) and [`real_bugs`] (the study set of real panics).
#![allow(dead_code)]

pub(crate) mod deploy;
pub(crate) mod inventory;
pub(crate) mod model;
pub(crate) mod prism;
pub(crate) mod real_bugs;
pub(crate) mod rust_context;
pub(crate) mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use bugstack_core::{ChainLink, Event, EventKind, Level, RequestContext, Timestamp};
use bugstack_fix::{
    CheckResult, CheckSpec, CheckStatus, FileEdit, FixContext, Incident, Patch, Policy, RepoFrame, ValidatorOptions,
    WorktreeValidator,
};
use tempfile::TempDir;

/// When every test event happened, unless a test says otherwise:
/// 2023-11-14T22:13:20Z.
pub(crate) const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

/// The identity and signing settings every git command of the helpers runs
/// with, so commits work whatever the machine's git configuration.
const GIT_SETTINGS: [(&str, &str); 4] = [
    ("user.name", "Dev"),
    ("user.email", "dev@example.com"),
    ("commit.gpgsign", "false"),
    ("tag.gpgsign", "false"),
];

/// `git -C dir args` as bugstack runs git ([`bugstack_fix::git::command`]:
/// no prompts, no inherited `GIT_DIR` / `GIT_INDEX_FILE`, ...) with
/// [`GIT_SETTINGS`] and no system config; its output, whatever the exit.
pub(crate) fn git_output(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = bugstack_fix::git::command(dir);
    for (key, value) in GIT_SETTINGS {
        cmd.arg("-c").arg(format!("{key}={value}"));
    }
    cmd.args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs")
}

/// Runs git as [`git_output`] does and returns its standard output without
/// trailing whitespace; panics with git's error output when it fails.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_output(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// `git init` on branch `main` in `dir`, with [`GIT_SETTINGS`] also written
/// to the repository's own config, for the git the code under test runs.
pub(crate) fn init_repo(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    for (key, value) in GIT_SETTINGS {
        git(dir, &["config", key, value]);
    }
}

/// Stages everything in `dir` and commits it; returns the commit id.
pub(crate) fn commit_all(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// Makes a bare repository at `remote`, adds it to `repo` as `origin` and
/// pushes `main` there.
pub(crate) fn push_to_new_remote(repo: &Path, remote: &Path) {
    let parent = remote.parent().expect("the remote has a parent directory");
    let remote = remote.to_str().expect("UTF-8 path");
    git(parent, &["init", "-q", "--bare", "-b", "main", remote]);
    git(repo, &["remote", "add", "origin", remote]);
    git(repo, &["push", "-q", "origin", "main"]);
}

/// Writes `text` to `rel` under `root`, creating its directories.
pub(crate) fn write_file(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// The fixture crate `tests/fixtures/{name}`.
pub(crate) fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Copies the tree `from` into `to`, leaving out every entry (at any depth)
/// whose name is in `skip`.
pub(crate) fn copy_dir(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &to.join(&name), skip);
        } else {
            std::fs::copy(entry.path(), to.join(&name)).expect("copy");
        }
    }
}

/// A git repository (see [`init_repo`]) in a temp dir of its own, removed on
/// drop.
pub(crate) struct Repo {
    dir: TempDir,
}

impl Repo {
    /// An empty repository on `main`.
    pub(crate) fn new() -> Repo {
        let dir = TempDir::new().expect("tempdir");
        init_repo(dir.path());
        Repo { dir }
    }

    /// A repository with one commit, `message`, of `files` (path, text).
    pub(crate) fn with_files(files: &[(&str, &str)], message: &str) -> Repo {
        let repo = Repo::new();
        for (path, text) in files {
            repo.write(path, text);
        }
        repo.commit(message);
        repo
    }

    /// A repository with one commit, `message`, of the fixture crate
    /// `tests/fixtures/{name}` (without its `target`).
    pub(crate) fn from_fixture(name: &str, message: &str) -> Repo {
        let repo = Repo::new();
        copy_dir(&fixture_dir(name), repo.path(), &["target"]);
        repo.commit(message);
        repo
    }

    /// The work tree's root.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git in the repository (see [`git`]).
    pub(crate) fn git(&self, args: &[&str]) -> String {
        git(self.path(), args)
    }

    /// Writes `text` to `rel`, creating its directories.
    pub(crate) fn write(&self, rel: &str, text: &str) {
        write_file(self.path(), rel, text);
    }

    /// Commits everything; returns the commit id.
    pub(crate) fn commit(&self, message: &str) -> String {
        commit_all(self.path(), message)
    }

    /// The commit `HEAD` points at.
    pub(crate) fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }
}

/// A work tree as its user sees it; see [`snapshot`].
pub(crate) type Snapshot = BTreeMap<String, Vec<u8>>;

/// Every file of the work tree at `root` with its bytes (not `.git`, not a
/// top-level `target`), plus git's status, the commit `HEAD` points at, and
/// the bytes of `.git/HEAD` and of the index (read after the status, which
/// may refresh the index's stat data).
pub(crate) fn snapshot(root: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .to_string();
            if rel == ".git" || rel == "target" {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    let status = git(root, &["status", "--porcelain=v1", "--untracked-files=all"]);
    out.insert("(status)".into(), status.into_bytes());
    out.insert("(HEAD commit)".into(), git(root, &["rev-parse", "HEAD"]).into_bytes());
    for file in [".git/HEAD", ".git/index"] {
        out.insert(file.into(), std::fs::read(root.join(file)).expect("read"));
    }
    out
}

/// A fatal panic event saying `message`, at [`T0`].
pub(crate) fn panic_event(message: &str) -> Event {
    Event::new(EventKind::Panic, Level::Fatal, message, T0)
}

/// A panic event (see [`panic_event`]) raised while serving `method route`,
/// whose error chain is one link of type `type_name`.
pub(crate) fn request_panic_event(message: &str, type_name: &str, method: &str, route: &str) -> Event {
    let mut event = panic_event(message);
    event.chain = vec![ChainLink {
        type_name: Some(type_name.into()),
        message: message.into(),
    }];
    event.request = Some(RequestContext {
        method: Some(method.into()),
        route: Some(route.into()),
        ..RequestContext::default()
    });
    event
}

/// A bare context (see [`FixContext::new`]) for a panic saying `message`
/// (incident `1`), at the commit `HEAD` of `repo` points at.
pub(crate) fn head_context(repo: &Path, message: &str) -> FixContext {
    let incident = Incident::from_event("1", panic_event(message));
    FixContext::new(incident, repo, git(repo, &["rev-parse", "HEAD"]))
}

/// The innermost repository frame (index 0): `path:line[:column]`, in
/// `function` when known.
pub(crate) fn target_frame(path: &str, line: u32, column: Option<u32>, function: Option<&str>) -> RepoFrame {
    RepoFrame {
        frame_index: Some(0),
        path: path.into(),
        line,
        column,
        function: function.map(str::to_string),
    }
}

/// A context whose only frame is `target`, holding `text` as that frame's
/// file, with a budget of 1000 tokens and none used.
pub(crate) fn context_at(
    incident: Incident,
    repo_root: impl Into<PathBuf>,
    revision: impl Into<String>,
    target: RepoFrame,
    text: &str,
) -> FixContext {
    FixContext {
        files: BTreeMap::from([(target.path.clone(), text.to_string())]),
        frames: vec![target],
        token_budget: 1000,
        ..FixContext::new(incident, repo_root, revision)
    }
}

/// The patch of one edit: `path` from `before` to `after`.
pub(crate) fn edit_patch(path: &str, before: &str, after: &str) -> Patch {
    Patch::from_edits(&[FileEdit {
        path: path.into(),
        before: before.into(),
        after: after.into(),
    }])
    .expect("a valid edit")
}

/// `patch` as the template generator labels it: its generator, its panic
/// `class`, and the root cause and explanation a report shows.
pub(crate) fn described(mut patch: Patch, class: &str, root_cause: &str, explanation: &str) -> Patch {
    patch.generator = "template".into();
    patch.class = Some(class.into());
    patch.root_cause = root_cause.into();
    patch.explanation = explanation.into();
    patch
}

/// Where a validator set up by [`work_dir_options`] makes its worktrees.
pub(crate) fn worktree_root(work: &Path) -> PathBuf {
    work.join("worktrees")
}

/// `options` with the worktrees in [`worktree_root`]`(work)` and the shared
/// target dir in `work/target`.
pub(crate) fn work_dir_options(work: &Path, options: ValidatorOptions) -> ValidatorOptions {
    ValidatorOptions {
        work_root: Some(worktree_root(work)),
        target_dir: Some(work.join("target")),
        ..options
    }
}

/// A validator with default options working in `work` (see
/// [`work_dir_options`]).
pub(crate) fn validator(work: &Path) -> WorktreeValidator {
    WorktreeValidator::new(work_dir_options(work, ValidatorOptions::default()))
}

/// The default policy, with `checks` as its checks.
pub(crate) fn policy_with_checks(checks: Vec<CheckSpec>) -> Policy {
    Policy {
        checks,
        ..Policy::default()
    }
}

/// A check allowed 5 minutes: a cargo build or test of a fixture crate.
pub(crate) fn slow_check(name: &str, command: &str) -> CheckSpec {
    CheckSpec {
        timeout_secs: 300,
        ..CheckSpec::new(name, command)
    }
}

/// The line of the validate-service fixture's `Cart::average_unit_cents`
/// that divides by zero for an empty cart.
pub(crate) const SERVICE_AVERAGE: &str = "        self.subtotal_cents() / self.units()\n";

/// [`SERVICE_AVERAGE`] behind a guard: the fix of the divide-by-zero.
pub(crate) const SERVICE_AVERAGE_GUARDED: &str =
    "        if self.units() == 0 {\n            return 0;\n        }\n        self.subtotal_cents() / self.units()\n";

/// The validate-service fixture's `src/cart.rs` with [`SERVICE_AVERAGE`]
/// replaced by `lines`.
pub(crate) fn service_average_edit(lines: &str) -> FileEdit {
    let before = std::fs::read_to_string(fixture_dir("validate-service").join("src/cart.rs")).expect("fixture cart.rs");
    assert_eq!(before.matches(SERVICE_AVERAGE).count(), 1, "the fixture changed");
    FileEdit {
        path: "src/cart.rs".into(),
        after: before.replace(SERVICE_AVERAGE, lines),
        before,
    }
}

/// A cargo check `name` that ended `status` (and passed on the base).
pub(crate) fn check(name: &str, status: CheckStatus) -> CheckResult {
    CheckResult {
        verdict: None,
        name: name.into(),
        command: format!("cargo {name}"),
        status,
        base_status: Some(CheckStatus::Passed),
        exit_code: Some(if status == CheckStatus::Passed { 0 } else { 101 }),
        duration_ms: 10,
        output: String::new(),
    }
}

/// Where a test-double validator says its checks ran: nowhere, no code runs.
pub(crate) fn double_sandbox() -> Option<bugstack_fix::SandboxReport> {
    Some(bugstack_fix::SandboxReport {
        kind: "test-double".into(),
        detail: "no code runs".into(),
    })
}

/// What a test-double deployer reports for `report`: a pull request,
/// merged when the decision is to auto-merge.
pub(crate) fn double_deployment(report: &bugstack_fix::FixReport) -> bugstack_fix::Deployment {
    let merged = report.decision.kind == bugstack_fix::DecisionKind::AutoMerge;
    bugstack_fix::Deployment {
        branch: "bugstack/fix-x".into(),
        commit: "c".into(),
        pull_request: bugstack_fix::PullRequestRef {
            number: 1,
            url: "local://1".into(),
            state: if merged {
                bugstack_fix::PullRequestState::Merged
            } else {
                bugstack_fix::PullRequestState::Open
            },
        },
        merged,
        reason: report.decision.reason.clone(),
        merge_commit: None,
        deploy_command: None,
    }
}

/// What a test-double validator's search reports: the panic reproduced by
/// `fixture::f("é")`, its regression test a one-test file.
pub(crate) fn double_reproduction() -> bugstack_fix::Reproduction {
    bugstack_fix::Reproduction {
        status: bugstack_fix::ReproductionStatus::Reproduced,
        detail: "`fixture::f(\"é\")` panics at src/lib.rs:3 (test double)".into(),
        call: Some("fixture::f".into()),
        input: Some("fixture::f(\"é\")".into()),
        panic: Some("src/lib.rs:3: byte index 1 is not a char boundary".into()),
        test: Some(bugstack_fix::ReproductionTest {
            path: "tests/bugstack_repro_double.rs".into(),
            name: "bugstack_repro_double".into(),
            source: "#[test]\nfn bugstack_repro_double() {}\n".into(),
            diff: None,
            features: Vec::new(),
        }),
        cases: 1,
        duration_ms: 0,
    }
}

/// The regression outcome a test double reports for `patch`: the
/// reproduction's test (when the patch carries one) failed on the base, and
/// passes with the fix when `passes`.
pub(crate) fn double_regression(patch: &Patch, passes: bool) -> Option<bugstack_fix::RegressionResult> {
    patch.regression_test.as_ref().map(|t| bugstack_fix::RegressionResult {
        name: t.name.clone(),
        fails_on_base: true,
        passes_with_fix: passes,
        output: "test double".into(),
    })
}
