//! The deploy and forge tests' fixture: a real git repository whose `main`
//! is pushed to a bare remote, the fix of its `src/cart.rs`, and hand-built
//! contexts and reports.

use std::path::{Path, PathBuf};

use bugstack_core::{Fingerprint, Timestamp};
use bugstack_fix::{CheckStatus, Decision, DecisionKind, FixContext, FixReport, Incident, Patch, Validation};

pub(crate) use super::check;
use super::{
    context_at, described, double_sandbox, edit_patch, git, git_output, panic_event, push_to_new_remote, target_frame,
    T0,
};

/// The fixture's `src/cart.rs` at the release: panics on an empty cart.
pub(crate) const BEFORE: &str =
    "pub fn total(items: &[u32]) -> u32 {\n    let first = items[0];\n    first + items[1..].iter().sum::<u32>()\n}\n";
/// The fixed `src/cart.rs`.
pub(crate) const AFTER: &str = "pub fn total(items: &[u32]) -> u32 {\n    items.iter().sum::<u32>()\n}\n";

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
        push_to_new_remote(&repo, &remote);
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

    /// Where a local forge keeps its pull requests.
    pub(crate) fn store_dir(&self) -> PathBuf {
        self.tmp.path().join("store")
    }

    /// A dirty working tree: an uncommitted edit, a staged file, and an
    /// untracked one. Returns its [`snapshot`](Self::snapshot): what a
    /// deployment must leave as it is.
    pub(crate) fn make_dirty(&self) -> super::Snapshot {
        std::fs::write(self.repo.join("src/cart.rs"), format!("{BEFORE}// work in progress\n")).unwrap();
        std::fs::write(self.repo.join("staged.txt"), "staged\n").unwrap();
        git(&self.repo, &["add", "staged.txt"]);
        std::fs::write(self.repo.join("untracked.txt"), "mine\n").unwrap();
        self.snapshot()
    }

    /// The user's work tree, index and `HEAD` (see [`super::snapshot`]).
    pub(crate) fn snapshot(&self) -> super::Snapshot {
        super::snapshot(&self.repo)
    }

    /// The commit `branch` points at in the bare remote, if any.
    pub(crate) fn remote_tip(&self, branch: &str) -> Option<String> {
        let out = git_output(
            &self.remote,
            &["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}")],
        );
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// A patch of the fixture's `src/cart.rs` from [`BEFORE`] to `after`.
pub(crate) fn cart_edit(after: &str) -> Patch {
    edit_patch("src/cart.rs", BEFORE, after)
}

/// The fix for the fixture's `src/cart.rs`.
pub(crate) fn cart_patch() -> Patch {
    described(
        cart_edit(AFTER),
        "index-oob",
        "`total` indexes `items[0]` without checking that the cart has items.",
        "Sum all items instead of splitting off the first one.",
    )
}

/// The fixture's panic, seen `count` times.
pub(crate) fn incident(count: u64) -> Incident {
    let mut event = panic_event("index out of bounds: the len is 0 but the index is 0");
    event.count = count;
    event.fingerprint = Some(Fingerprint::from_parts([
        "panic",
        "index out of bounds",
        "shop::cart::total",
    ]));
    Incident::from_event("42", event)
}

/// The context of [`incident`]`(count)` at the fixture's release.
pub(crate) fn context(fx: &Fixture, count: u64) -> FixContext {
    context_at(
        incident(count),
        fx.repo.clone(),
        fx.release.clone(),
        target_frame("src/cart.rs", 2, Some(17), Some("shop::cart::total")),
        BEFORE,
    )
}

/// A report for `ctx` whose fix is `patch`, validated green or red, with
/// `kind` as the decision.
pub(crate) fn report(ctx: &FixContext, patch: Patch, kind: DecisionKind, green: bool) -> FixReport {
    let validation = Validation {
        sandbox: double_sandbox(),
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
    let decision = Decision {
        reason: match kind {
            DecisionKind::AutoMerge => "all checks green, confidence 0.90 ≥ threshold 0.80, auto_merge on".into(),
            DecisionKind::Review => "auto_merge is off in bugstack.toml: left for review".into(),
            DecisionKind::NoFix => "no fix".into(),
            DecisionKind::Held => {
                "confidence 0.45 is below review_threshold 0.50: held in the report, not proposed".into()
            }
        },
        kind,
    };
    FixReport {
        attempts: vec![bugstack_fix::Attempt {
            number: 1,
            patch: Some(patch.clone()),
            rejected: None,
            validation: Some(validation),
            duration_ms: 5,
        }],
        fix: Some(patch),
        finished_at: Timestamp::from_millis(1_700_000_001_000),
        ..FixReport::new(ctx.clone(), "template", decision, T0)
    }
}

/// The full message of `commit` in `dir`.
pub(crate) fn message(dir: &Path, commit: &str) -> String {
    git(dir, &["log", "-1", "--format=%B", commit])
}
