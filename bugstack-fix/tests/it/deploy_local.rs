//! The local forge end to end, with real git: a repository, a bare remote,
//! the fix branch, the recorded pull request and the merge.

use crate::support;

use std::sync::Arc;

use bugstack_fix::{
    fix_branch_name, DecisionKind, Deployer, Deployment, Error, FixContext, ForgeDeployer, LocalForge, Patch, Policy,
    PullRequestState,
};
use support::deploy::*;
use support::git;

fn deployer(fx: &Fixture) -> (ForgeDeployer, Arc<LocalForge>) {
    let forge = Arc::new(LocalForge::with_json_store(&fx.remote, fx.store_dir()).unwrap());
    let d = ForgeDeployer::with_plain_body(forge.clone());
    (d, forge)
}

/// Someone else clones the remote, commits `text` as `path` on `branch`
/// with `subject`, and pushes it; returns the branch's new tip.
fn push_as_someone_else(fx: &Fixture, branch: &str, path: &str, text: &str, subject: &str) -> String {
    let other = fx.tmp.path().join("other");
    git(
        fx.tmp.path(),
        &["clone", "-q", fx.remote.to_str().unwrap(), other.to_str().unwrap()],
    );
    git(&other, &["checkout", "-q", branch]);
    std::fs::write(other.join(path), text).unwrap();
    git(&other, &["add", path]);
    git(&other, &["commit", "-qm", subject]);
    git(&other, &["push", "-q", "origin", branch]);
    fx.remote_tip(branch).unwrap()
}

/// Deploys `patch` for `ctx`, validated green or red, under the default
/// policy.
async fn deploy_for(
    deployer: &ForgeDeployer,
    ctx: &FixContext,
    patch: Patch,
    kind: DecisionKind,
    green: bool,
) -> bugstack_fix::Result<Deployment> {
    deployer
        .deploy(ctx, &report(ctx, patch, kind, green), &Policy::default())
        .await
}

/// Deploys `patch`, validated green, under the default policy, for the
/// fixture's incident seen `count` times.
async fn deploy(
    deployer: &ForgeDeployer,
    fx: &Fixture,
    count: u64,
    patch: Patch,
    kind: DecisionKind,
) -> bugstack_fix::Result<Deployment> {
    deploy_for(deployer, &context(fx, count), patch, kind, true).await
}

/// The conventional fixture, its deployer and local forge, and the cart
/// fix of incident 1 deployed for review (the pull request a later run
/// reuses).
async fn reviewed_fix() -> (Fixture, ForgeDeployer, Arc<LocalForge>, Deployment) {
    let fx = Fixture::conventional();
    let (deployer, forge) = deployer(&fx);
    let first = deploy(&deployer, &fx, 1, cart_patch(), DecisionKind::Review)
        .await
        .unwrap();
    (fx, deployer, forge, first)
}

#[tokio::test]
async fn auto_merge_pushes_the_branch_records_the_pr_and_merges_it() {
    let fx = Fixture::conventional();
    let before = fx.make_dirty();
    let ctx = context(&fx, 3);
    let report = report(&ctx, cart_patch(), DecisionKind::AutoMerge, true);
    let (deployer, forge) = deployer(&fx);

    let d = deployer.deploy(&ctx, &report, &Policy::default()).await.unwrap();

    let branch = fix_branch_name(&ctx.incident.fingerprint);
    assert_eq!(d.branch, branch);
    assert!(branch.starts_with("bugstack/fix-") && branch.len() == "bugstack/fix-".len() + 12);
    // The branch: in the user's repository and on the remote, one commit on
    // top of the release holding exactly the patched file.
    assert_eq!(git(&fx.repo, &["rev-parse", &format!("refs/heads/{branch}")]), d.commit);
    assert_eq!(git(&fx.repo, &["rev-parse", &format!("{}^", d.commit)]), fx.release);
    assert_eq!(
        git(&fx.repo, &["show", &format!("{}:src/cart.rs", d.commit)]),
        AFTER.trim_end()
    );
    assert_eq!(
        git(&fx.repo, &["diff", "--name-only", &fx.release, &d.commit]),
        "src/cart.rs"
    );
    // Message in the repository's style, with the trailer.
    let msg = message(&fx.repo, &d.commit);
    let subject = msg.lines().next().unwrap();
    assert_eq!(subject, "fix(cart): avoid index-oob panic in cart::total");
    assert!(msg.contains("Root cause: `total` indexes"), "{msg}");
    assert!(msg.contains("\nBugstack-Incident: 42\n"), "{msg}");
    assert_eq!(
        git(&fx.repo, &["log", "-1", "--format=%an <%ae>", &d.commit]),
        "bugstack <bugstack@localhost>"
    );
    // The pull request, recorded.
    let pulls = forge.store().list().unwrap();
    assert_eq!(pulls.len(), 1);
    let pr = &pulls[0];
    assert_eq!(
        (pr.number, pr.branch.as_str(), pr.base.as_str()),
        (1, branch.as_str(), "main")
    );
    assert_eq!(pr.title, subject);
    assert_eq!(pr.head_sha, d.commit);
    assert!(
        pr.body.contains("index out of bounds") && pr.body.contains("```diff"),
        "{}",
        pr.body
    );
    assert_eq!(pr.decision.as_ref().unwrap().kind, DecisionKind::AutoMerge);
    assert_eq!(pr.labels, ["bugstack"]);
    let on_disk = std::fs::read_to_string(fx.store_dir().join("pulls.json")).unwrap();
    assert!(on_disk.contains(&d.commit));
    // Merged on the remote's base branch (a fast-forward here).
    assert!(d.merged, "{}", d.reason);
    assert_eq!(d.pull_request.state, PullRequestState::Merged);
    assert_eq!(pr.state, PullRequestState::Merged);
    assert_eq!(fx.remote_tip("main").unwrap(), d.commit);
    assert_eq!(fx.remote_tip(&branch).unwrap(), d.commit);
    assert!(d.reason.starts_with("merged as "), "{}", d.reason);
    // The user's work tree, index, HEAD and main: byte-identical.
    assert_eq!(fx.snapshot(), before);
}

#[tokio::test]
async fn a_strict_decision_stays_open_and_a_second_run_reuses_the_pr() {
    let fx = Fixture::conventional();
    let before = fx.make_dirty();
    let (deployer, forge) = deployer(&fx);
    let first = deploy(&deployer, &fx, 3, cart_patch(), DecisionKind::Review)
        .await
        .unwrap();
    assert!(!first.merged);
    assert_eq!(first.pull_request.state, PullRequestState::Open);
    assert!(
        first.reason.contains("left open for review: auto_merge is off"),
        "{}",
        first.reason
    );
    assert_eq!(fx.remote_tip("main").unwrap(), fx.release, "base must not move");
    assert_eq!(fx.remote_tip(&first.branch).unwrap(), first.commit);

    // The same fingerprint again, more occurrences: same PR, a comment, same commit.
    let second = deploy(&deployer, &fx, 7, cart_patch(), DecisionKind::Review)
        .await
        .unwrap();
    assert_eq!(second.pull_request.number, first.pull_request.number);
    assert_eq!(second.commit, first.commit, "an identical fix keeps its commit");
    let pulls = forge.store().list().unwrap();
    assert_eq!(pulls.len(), 1, "one fix per fingerprint");
    assert_eq!(pulls[0].comments.len(), 1);
    assert!(
        pulls[0].comments[0].body.contains("7 occurrence(s)"),
        "{}",
        pulls[0].comments[0].body
    );
    assert_eq!(pulls[0].state, PullRequestState::Open);
    assert_eq!(fx.snapshot(), before);
}

#[tokio::test]
async fn a_revised_fix_moves_the_reused_pr_head() {
    let (fx, deployer, forge, first) = reviewed_fix().await;
    let mut revised = cart_edit(
        &AFTER
            .replace("items.iter()", "items.iter().copied().map(u32::from)")
            .replace("sum::<u32>()", "sum()"),
    );
    revised.generator = "template".into();
    let second = deploy(&deployer, &fx, 2, revised, DecisionKind::AutoMerge)
        .await
        .unwrap();
    assert_ne!(second.commit, first.commit);
    assert_eq!(second.pull_request.number, first.pull_request.number);
    assert_eq!(
        fx.remote_tip(&second.branch).unwrap(),
        second.commit,
        "force-with-lease push"
    );
    assert!(second.merged, "{}", second.reason);
    assert_eq!(fx.remote_tip("main").unwrap(), second.commit);
    let pr = forge.store().get(first.pull_request.number).unwrap().unwrap();
    assert_eq!(pr.head_sha, second.commit);
    assert_eq!(pr.state, PullRequestState::Merged);
}

#[tokio::test]
async fn plain_capitalised_history_gives_a_plain_capitalised_subject() {
    let fx = Fixture::new(&[
        "Add cart totals",
        "Reject empty orders",
        "Bump dependencies",
        "Explain totals",
    ]);
    let (deployer, _) = deployer(&fx);
    let d = deploy(&deployer, &fx, 1, cart_patch(), DecisionKind::Review)
        .await
        .unwrap();
    let msg = message(&fx.repo, &d.commit);
    assert_eq!(msg.lines().next().unwrap(), "Avoid index-oob panic in cart::total");
}

#[tokio::test]
async fn a_conflicting_base_leaves_the_pr_open_with_the_reason() {
    let fx = Fixture::conventional();
    // Someone else changes the same line on the remote's main after the release.
    let moved_main = push_as_someone_else(
        &fx,
        "main",
        "src/cart.rs",
        &BEFORE.replace("items[0]", "items[0usize]"),
        "fix(cart): explicit index",
    );

    let (deployer, forge) = deployer(&fx);
    let d = deploy(&deployer, &fx, 1, cart_patch(), DecisionKind::AutoMerge)
        .await
        .unwrap();
    assert!(!d.merged);
    // The fix was validated on the old tip: merging it into the moved base
    // would merge a tree nobody validated.
    assert!(
        d.reason.contains(&format!("the base branch moved to {moved_main}")),
        "{}",
        d.reason
    );
    assert_eq!(fx.remote_tip("main").unwrap(), moved_main);
    assert_eq!(forge.store().list().unwrap()[0].state, PullRequestState::Open);
}

#[tokio::test]
async fn a_moved_base_is_never_merged_unvalidated_and_the_fix_merges_onto_the_tip_it_was_validated_on() {
    let fx = Fixture::conventional();
    let moved_main = push_as_someone_else(&fx, "main", "README.md", "shop\n", "docs: readme");

    let (deployer, _) = deployer(&fx);
    let d = deploy(&deployer, &fx, 1, cart_patch(), DecisionKind::AutoMerge)
        .await
        .unwrap();
    assert!(!d.merged, "{}", d.reason);
    assert!(d.reason.contains("the base branch moved"), "{}", d.reason);
    assert_eq!(fx.remote_tip("main").unwrap(), moved_main);

    // Validated on the new tip (as the pipeline does when the base moved):
    // the fix commit sits on it and the merge is that very tree.
    let base = bugstack_fix::resolve_base(&fx.repo, &Policy::default().forge)
        .await
        .unwrap();
    assert_eq!(base.commit, moved_main);
    let mut ctx = context(&fx, 1);
    ctx.base = Some(base.commit);
    let d = deploy_for(&deployer, &ctx, cart_patch(), DecisionKind::AutoMerge, true)
        .await
        .unwrap();
    assert!(d.merged, "{}", d.reason);
    let main = fx.remote_tip("main").unwrap();
    assert_eq!(git(&fx.remote, &["rev-parse", &format!("{main}^")]), moved_main);
    assert_eq!(
        git(&fx.remote, &["show", &format!("{main}:src/cart.rs")]),
        AFTER.trim_end()
    );
    assert_eq!(git(&fx.remote, &["show", &format!("{main}:README.md")]), "shop");
    assert_eq!(
        git(&fx.remote, &["rev-parse", &format!("{main}^{{tree}}")]),
        git(&fx.repo, &["rev-parse", &format!("{}^{{tree}}", d.commit)])
    );
}

#[tokio::test]
async fn red_validation_is_red_ci_and_blocks_the_merge() {
    let fx = Fixture::conventional();
    let (deployer, _) = deployer(&fx);
    let ctx = context(&fx, 1);
    let d = deploy_for(&deployer, &ctx, cart_patch(), DecisionKind::AutoMerge, false)
        .await
        .unwrap();
    assert!(!d.merged);
    assert!(
        d.reason.contains("CI failed") && d.reason.contains("test"),
        "{}",
        d.reason
    );
    assert_eq!(fx.remote_tip("main").unwrap(), fx.release);
}

#[tokio::test]
async fn a_patch_that_does_not_apply_is_an_error_and_touches_nothing() {
    let fx = Fixture::conventional();
    let before = fx.make_dirty();
    let (deployer, forge) = deployer(&fx);
    let ctx = context(&fx, 1);
    let bad = support::edit_patch("src/cart.rs", &BEFORE.replace("items[0]", "items[9]"), AFTER);
    let err = deploy_for(&deployer, &ctx, bad, DecisionKind::AutoMerge, true)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PatchDoesNotApply(_)), "{err}");
    assert_eq!(fx.snapshot(), before);
    assert_eq!(git(&fx.repo, &["branch", "--list", "bugstack/*"]), "");
    assert_eq!(fx.remote_tip(&fix_branch_name(&ctx.incident.fingerprint)), None);
    assert!(forge.store().list().unwrap().is_empty());

    // No fix at all, or a no-fix decision: a clear error.
    let mut no_fix = report(&ctx, cart_patch(), DecisionKind::NoFix, true);
    let err = deployer.deploy(&ctx, &no_fix, &Policy::default()).await.unwrap_err();
    assert!(err.to_string().contains("no-fix"), "{err}");
    no_fix.fix = None;
    let err = deployer.deploy(&ctx, &no_fix, &Policy::default()).await.unwrap_err();
    assert!(err.to_string().contains("no validated fix"), "{err}");
}

#[tokio::test]
async fn an_unknown_remote_is_a_clear_error() {
    let fx = Fixture::conventional();
    let (deployer, _) = deployer(&fx);
    let ctx = context(&fx, 1);
    let mut policy = Policy::default();
    policy.forge.remote = "nowhere".into();
    let err = deployer
        .deploy(&ctx, &report(&ctx, cart_patch(), DecisionKind::Review, true), &policy)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
}

#[tokio::test]
async fn commits_someone_added_to_the_fix_branch_are_never_overwritten() {
    let (fx, deployer, _, first) = reviewed_fix().await;
    // A reviewer pushes a commit of their own onto the fix branch.
    let reviewed = push_as_someone_else(
        &fx,
        &first.branch,
        "src/cart.rs",
        &format!("{AFTER}// reviewed\n"),
        "Tweak the fix",
    );

    let err = deploy(&deployer, &fx, 2, cart_patch(), DecisionKind::AutoMerge)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bugstack did not make"), "{err}");
    assert_eq!(fx.remote_tip(&first.branch).unwrap(), reviewed);
    assert_eq!(fx.remote_tip("main").unwrap(), fx.release);
}

#[tokio::test]
async fn a_fix_branch_the_user_has_checked_out_is_not_moved() {
    let (fx, deployer, forge, first) = reviewed_fix().await;
    // The user looks at the fix in a work tree of their own.
    let look = fx.tmp.path().join("look");
    git(
        &fx.repo,
        &["worktree", "add", "-q", look.to_str().unwrap(), &first.branch],
    );
    let revised = cart_edit(&AFTER.replace("items.iter()", "items.iter().copied()"));
    let second = deploy(&deployer, &fx, 2, revised, DecisionKind::Review).await.unwrap();
    assert_ne!(second.commit, first.commit);
    assert_eq!(
        git(&fx.repo, &["rev-parse", &first.branch]),
        first.commit,
        "checked-out branch kept"
    );
    assert_eq!(git(&look, &["status", "--porcelain"]), "");
    assert_eq!(
        fx.remote_tip(&first.branch).unwrap(),
        second.commit,
        "the revision is still pushed"
    );
    assert!(
        second.reason.starts_with("reused open pull request #1"),
        "{}",
        second.reason
    );
    assert_eq!(forge.store().get(1).unwrap().unwrap().head_sha, second.commit);
}

#[tokio::test]
async fn an_unknown_release_commit_is_a_clear_error() {
    let fx = Fixture::conventional();
    let (deployer, _) = deployer(&fx);
    let mut ctx = context(&fx, 1);
    ctx.revision = "0123456789abcdef0123456789abcdef01234567".into();
    let err = deploy_for(&deployer, &ctx, cart_patch(), DecisionKind::Review, true)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Repo(_)), "{err}");
    assert!(err.to_string().contains("0123456789abcdef"), "{err}");
    assert_eq!(fx.remote_tip(&fix_branch_name(&ctx.incident.fingerprint)), None);
}

/// A [`Vcs`] backend that records each call and delegates to git, with a
/// base tip that can be overridden (as another backend's view would be).
struct RecordingVcs {
    git: bugstack_fix::GitVcs,
    calls: std::sync::Mutex<Vec<&'static str>>,
    base_tip: Option<String>,
}

impl RecordingVcs {
    fn record(&self, call: &'static str) {
        self.calls.lock().unwrap().push(call);
    }
}

/// The cart fix (one occurrence, green checks) deployed as `kind` under
/// `policy` on a new fixture, which is returned to keep it alive.
async fn deploy_cart_on_a_new_fixture(kind: DecisionKind, policy: &Policy) -> (Fixture, FixContext, Deployment) {
    let fx = Fixture::conventional();
    let (dep, _) = deployer(&fx);
    let ctx = context(&fx, 1);
    let d = dep
        .deploy(&ctx, &report(&ctx, cart_patch(), kind, true), policy)
        .await
        .unwrap();
    (fx, ctx, d)
}

/// Auto-merges the cart fix through a [`RecordingVcs`] over the fixture's
/// repository (its base tip replaced by `base_tip`, when given).
async fn deploy_through_recording_vcs(
    fx: &Fixture,
    base_tip: Option<String>,
) -> (Deployment, Arc<RecordingVcs>, Arc<LocalForge>) {
    let vcs = Arc::new(RecordingVcs {
        git: bugstack_fix::GitVcs::new(&fx.repo),
        calls: Default::default(),
        base_tip,
    });
    let (deployer, forge) = deployer(fx);
    let deployer = deployer.with_vcs(vcs.clone());
    let d = deploy_for(&deployer, &context(fx, 3), cart_patch(), DecisionKind::AutoMerge, true)
        .await
        .unwrap();
    (d, vcs, forge)
}

#[async_trait::async_trait]
impl bugstack_fix::Vcs for RecordingVcs {
    async fn base(&self, forge: &bugstack_fix::ForgeConfig) -> bugstack_fix::Result<bugstack_fix::BaseRef> {
        self.record("base");
        let mut base = self.git.base(forge).await?;
        if let Some(tip) = &self.base_tip {
            base.commit = tip.clone();
        }
        Ok(base)
    }
    async fn resolve_commit(&self, rev: &str) -> bugstack_fix::Result<String> {
        self.record("resolve_commit");
        self.git.resolve_commit(rev).await
    }
    async fn recent_subjects(&self, rev: &str, n: usize) -> bugstack_fix::Result<Vec<String>> {
        self.record("recent_subjects");
        self.git.recent_subjects(rev, n).await
    }
    async fn prepare_fix_branch(
        &self,
        branch: &str,
        commit: &bugstack_fix::FixCommit<'_>,
    ) -> bugstack_fix::Result<String> {
        self.record("prepare_fix_branch");
        self.git.prepare_fix_branch(branch, commit).await
    }
    async fn remote_default_branch(&self, remote: &str) -> bugstack_fix::Result<Option<String>> {
        self.record("remote_default_branch");
        self.git.remote_default_branch(remote).await
    }
    async fn push_fix_branch(&self, remote: &str, branch: &str, commit: &str) -> bugstack_fix::Result<bool> {
        self.record("push_fix_branch");
        self.git.push_fix_branch(remote, branch, commit).await
    }
}

#[tokio::test]
async fn the_deployer_works_through_the_vcs_it_is_given() {
    use bugstack_fix::Vcs as _;
    let fx = Fixture::conventional();
    let (d, vcs, _forge) = deploy_through_recording_vcs(&fx, None).await;

    assert!(d.merged, "{}", d.reason);
    let calls = vcs.calls.lock().unwrap().clone();
    for call in ["resolve_commit", "prepare_fix_branch", "push_fix_branch", "base"] {
        assert!(calls.contains(&call), "{call} not called: {calls:?}");
    }
    // The push went through the backend: the remote has the branch.
    assert_eq!(fx.remote_tip(&d.branch).unwrap(), d.commit);
    assert_eq!(vcs.git.resolve_commit("HEAD").await.unwrap(), fx.release);
}

#[tokio::test]
async fn a_backend_whose_base_moved_keeps_the_fix_from_merging() {
    let fx = Fixture::conventional();
    let (d, _vcs, forge) = deploy_through_recording_vcs(&fx, Some("0".repeat(40))).await;

    assert!(!d.merged);
    assert!(d.reason.contains("base branch moved"), "{}", d.reason);
    assert_eq!(forge.store().list().unwrap()[0].state, PullRequestState::Open);
    assert_eq!(fx.remote_tip("main").unwrap(), fx.release);
}

#[tokio::test]
async fn the_deploy_command_runs_after_an_auto_merge_in_the_checkout_and_a_failure_is_reported() {
    let mut policy = Policy {
        deploy: Some(bugstack_fix::DeployConfig {
            command:
                "echo \"deploying $BUGSTACK_MERGE_COMMIT from $BUGSTACK_BRANCH #$BUGSTACK_PR_NUMBER to \
                      $BUGSTACK_BASE_BRANCH\"; pwd > deployed-from; echo token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"
                    .into(),
            timeout_secs: 30,
        }),
        ..Policy::default()
    };
    let (fx, ctx, d) = deploy_cart_on_a_new_fixture(DecisionKind::AutoMerge, &policy).await;
    assert!(d.merged, "{}", d.reason);
    let merge = d.merge_commit.clone().expect("the merge commit");
    assert_eq!(fx.remote_tip("main").unwrap(), merge);
    let run = d.deploy_command.as_ref().expect("the deploy command ran");
    assert!(run.success, "{run:?}");
    assert!(
        run.output
            .contains(&format!("deploying {merge} from {} #1 to main", d.branch)),
        "{}",
        run.output
    );
    assert!(!run.output.contains("ghp_abcdefghij"), "scrubbed: {}", run.output);
    // In the repository checkout, not a sandbox or worktree.
    let from = std::fs::read_to_string(ctx.repo_root.join("deployed-from")).unwrap();
    assert_eq!(
        std::fs::canonicalize(from.trim()).unwrap(),
        std::fs::canonicalize(&ctx.repo_root).unwrap()
    );

    // No merge: nothing runs. A failing command: reported, not retried.
    let (_fx, _, review) = deploy_cart_on_a_new_fixture(DecisionKind::Review, &policy).await;
    assert!(!review.merged && review.deploy_command.is_none());
    policy.deploy = Some(bugstack_fix::DeployConfig {
        command: "echo rollout refused >&2; exit 7".into(),
        timeout_secs: 30,
    });
    let (_fx, _, d) = deploy_cart_on_a_new_fixture(DecisionKind::AutoMerge, &policy).await;
    assert!(d.merged);
    let run = d.deploy_command.unwrap();
    assert_eq!((run.success, run.exit_code), (false, Some(7)));
    assert!(run.output.contains("rollout refused"), "{}", run.output);
    assert!(d.reason.contains("deploy command failed (exit 7)"), "{}", d.reason);
}
