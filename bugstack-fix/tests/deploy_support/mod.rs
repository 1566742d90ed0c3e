//! Shared fixtures for the deploy and GitHub tests: a real git repository
//! with a bare remote, and hand-built contexts and reports.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bugstack_core::{Event, EventKind, Fingerprint, Level, Timestamp};
use bugstack_fix::{
    CheckResult, CheckStatus, Decision, DecisionKind, FileEdit, FixContext, FixReport, Incident, Patch, RepoFrame,
    Validation,
};

pub(crate) const BEFORE: &str =
    "pub fn total(items: &[u32]) -> u32 {\n    let first = items[0];\n    first + items[1..].iter().sum::<u32>()\n}\n";
pub(crate) const AFTER: &str = "pub fn total(items: &[u32]) -> u32 {\n    items.iter().sum::<u32>()\n}\n";

/// Runs git in `dir` with a fixed identity; panics with stderr on failure.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// A repository (`repo`) whose `main` is pushed to a bare `remote`.
pub(crate) struct Fixture {
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) repo: PathBuf,
    pub(crate) remote: PathBuf,
    /// The release commit (tip of main when the fixture was made).
    pub(crate) release: String,
}

impl Fixture {
    /// History: one commit adding `src/cart.rs`, then one commit per
    /// subject (each touching `NOTES.md`), the last being the release.
    pub(crate) fn new(subjects: &[&str]) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        let remote = tmp.path().join("remote.git");
        std::fs::create_dir_all(repo.join("src")).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        std::fs::write(repo.join("src/cart.rs"), BEFORE).unwrap();
        std::fs::write(repo.join("src/lib.rs"), "pub mod cart;\n").unwrap();
        git(&repo, &["add", "."]);
        git(
            &repo,
            &["commit", "-q", "-m", subjects.first().copied().unwrap_or("init")],
        );
        for (i, s) in subjects.iter().enumerate().skip(1) {
            std::fs::write(repo.join("NOTES.md"), format!("note {i}\n")).unwrap();
            git(&repo, &["add", "NOTES.md"]);
            git(&repo, &["commit", "-q", "-m", s]);
        }
        git(
            tmp.path(),
            &["init", "-q", "--bare", "-b", "main", remote.to_str().unwrap()],
        );
        git(&repo, &["remote", "add", "origin", remote.to_str().unwrap()]);
        git(&repo, &["push", "-q", "origin", "main"]);
        let release = git(&repo, &["rev-parse", "HEAD"]);
        Fixture {
            tmp,
            repo,
            remote,
            release,
        }
    }

    /// The conventional-commit history used by most tests.
    pub(crate) fn conventional() -> Fixture {
        Fixture::new(&[
            "feat(cart): add cart totals",
            "fix(api): reject empty orders",
            "chore: bump dependencies",
            "docs(cart): explain totals",
        ])
    }

    pub(crate) fn store_dir(&self) -> PathBuf {
        self.tmp.path().join("store")
    }

    /// A dirty working tree: an uncommitted edit, a staged file, and an
    /// untracked one.
    pub(crate) fn make_dirty(&self) {
        std::fs::write(self.repo.join("src/cart.rs"), format!("{BEFORE}// work in progress\n")).unwrap();
        std::fs::write(self.repo.join("staged.txt"), "staged\n").unwrap();
        git(&self.repo, &["add", "staged.txt"]);
        std::fs::write(self.repo.join("untracked.txt"), "mine\n").unwrap();
    }

    /// Every file of the work tree (outside `.git`) with its bytes, plus the
    /// index file, `HEAD` and the checked-out branch's commit.
    pub(crate) fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        walk(&self.repo, &self.repo, &mut out);
        out.insert(
            ".git/index".into(),
            std::fs::read(self.repo.join(".git/index")).unwrap(),
        );
        out.insert(".git/HEAD".into(), std::fs::read(self.repo.join(".git/HEAD")).unwrap());
        out.insert("main".into(), git(&self.repo, &["rev-parse", "main"]).into_bytes());
        out.insert(
            "status".into(),
            git(&self.repo, &["status", "--porcelain=v1", "--untracked-files=all"]).into_bytes(),
        );
        out
    }

    /// The commit `branch` points at in the bare remote, if any.
    pub(crate) fn remote_tip(&self, branch: &str) -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.remote)
            .args(["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}")])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().to_string();
            out.insert(rel, std::fs::read(&path).unwrap());
        }
    }
}

/// The fix for the fixture's `src/cart.rs`.
pub(crate) fn cart_patch() -> Patch {
    let mut p = Patch::from_edits(&[FileEdit {
        path: "src/cart.rs".into(),
        before: BEFORE.into(),
        after: AFTER.into(),
    }])
    .unwrap();
    p.generator = "template".into();
    p.class = Some("index-oob".into());
    p.root_cause = "`total` indexes `items[0]` without checking that the cart has items.".into();
    p.explanation = "Sum all items instead of splitting off the first one.".into();
    p
}

pub(crate) fn incident(count: u64) -> Incident {
    let mut event = Event::new(
        EventKind::Panic,
        Level::Fatal,
        "index out of bounds: the len is 0 but the index is 0",
        Timestamp::from_millis(1_700_000_000_000),
    );
    event.count = count;
    event.fingerprint = Some(Fingerprint::from_parts([
        "panic",
        "index out of bounds",
        "shop::cart::total",
    ]));
    Incident::from_event("42", event)
}

pub(crate) fn context(fx: &Fixture, count: u64) -> FixContext {
    FixContext {
        incident: incident(count),
        repo_root: fx.repo.clone(),
        revision: fx.release.clone(),
        frames: vec![RepoFrame {
            frame_index: Some(0),
            path: "src/cart.rs".into(),
            line: 2,
            column: Some(17),
            function: Some("shop::cart::total".into()),
        }],
        snippets: Vec::new(),
        files: BTreeMap::from([("src/cart.rs".to_string(), BEFORE.to_string())]),
        token_budget: 1000,
        tokens_used: 0,
        warnings: Vec::new(),
    }
}

pub(crate) fn check(name: &str, status: CheckStatus) -> CheckResult {
    CheckResult {
        name: name.into(),
        command: format!("cargo {name}"),
        status,
        base_status: Some(CheckStatus::Passed),
        exit_code: Some(if status == CheckStatus::Passed { 0 } else { 101 }),
        duration_ms: 10,
        output: String::new(),
    }
}

/// A report for `ctx` whose fix is `patch`, validated green or red, with
/// `kind` as the decision.
pub(crate) fn report(ctx: &FixContext, patch: Patch, kind: DecisionKind, green: bool) -> FixReport {
    let validation = Validation {
        checks: vec![
            check("build", CheckStatus::Passed),
            check(
                "test",
                if green {
                    CheckStatus::Passed
                } else {
                    CheckStatus::Failed
                },
            ),
        ],
        regression: None,
    };
    FixReport {
        report_version: bugstack_fix::report::REPORT_VERSION,
        incident: ctx.incident.clone(),
        context: ctx.clone(),
        generator: "template".into(),
        attempts: vec![bugstack_fix::Attempt {
            number: 1,
            patch: Some(patch.clone()),
            rejected: None,
            validation: Some(validation),
            duration_ms: 5,
        }],
        fix: Some(patch),
        confidence: None,
        decision: Decision {
            kind,
            reason: match kind {
                DecisionKind::AutoMerge => "all checks green, confidence 0.90 ≥ threshold 0.80, auto_merge on".into(),
                DecisionKind::Review => "auto_merge is off in bugstack.toml: left for review".into(),
                DecisionKind::NoFix => "no fix".into(),
            },
        },
        deployment: None,
        deploy_error: None,
        started_at: Timestamp::from_millis(1_700_000_000_000),
        finished_at: Timestamp::from_millis(1_700_000_001_000),
        stage_ms: BTreeMap::new(),
    }
}

/// The full message of `commit` in `dir`.
pub(crate) fn message(dir: &Path, commit: &str) -> String {
    git(dir, &["log", "-1", "--format=%B", commit])
}
