//! `bugstack merge PR` and `bugstack close PR`: a person's decision on a fix
//! pull request. On the local forge a merge happens in its bare remote
//! ([`LocalForge::merge`]: only the reviewed head, never over a conflict) and
//! a close in the store; on GitHub both go through its API, then the store
//! follows. Either way the incident moves with it (merged: `fixed` at the
//! merge commit; closed: `open`, the patch never proposed again), and who did
//! it and why is left as a comment on the pull request.

use std::sync::Arc;

use bugstack_core::Timestamp;
use bugstack_fix::{
    local_remote_path, Comment, Forge, GitHubForge, LocalForge, MergeOutcome, Policy, PullRequestState,
    PullRequestStore,
};
use serde::Serialize;

use super::args::PullRequestArgs;
use super::open_existing;
use crate::store::{pull_request_state_name, Cause, ForgeChange, ForgeStore, PullRequestRecord};
use crate::terminal::sanitize;
use crate::{Error, Result};

/// What the person asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `bugstack merge`.
    Merge,
    /// `bugstack close`.
    Close,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Merge => "merged",
            Action::Close => "closed",
        }
    }
}

/// The result, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Outcome {
    pull_request: i64,
    forge: &'static str,
    action: &'static str,
    state: &'static str,
    merge_commit: Option<String>,
    incident: Option<i64>,
    incident_status: Option<String>,
    actor: String,
    reason: Option<String>,
    url: String,
}

fn forge_err(e: bugstack_fix::Error) -> Error {
    Error::Forge(e.to_string())
}

/// The policy of `--repo`, with the project's forge when it has one.
fn policy_for(args: &PullRequestArgs, store: &Arc<dyn ForgeStore>, why: &str) -> Result<Policy> {
    let repo = args.repo.as_deref().ok_or_else(|| {
        Error::Config(format!(
            "{why} needs the repository whose bugstack.toml names the forge: pass --repo PATH (or set BUGSTACK_REPO)"
        ))
    })?;
    let project = super::project::chosen(store.as_ref(), &args.scope.project)?;
    super::project::policy_of(repo, &project)
}

pub(crate) fn run(args: &PullRequestArgs, action: Action) -> Result<()> {
    let store = open_existing(&args.scope.data)?;
    let record = store
        .pull_requests()?
        .into_iter()
        .find(|p| p.number == args.number)
        .ok_or(Error::PullRequestNotFound(args.number))?;
    let project = super::project::chosen(store.as_ref(), &args.scope.project)?;
    super::project::check_pull_request(store.as_ref(), &record, &project)?;
    if record.state != PullRequestState::Open {
        return Err(Error::Refused(format!(
            "pull request #{} is already {}; only an open pull request can be {}",
            record.number,
            pull_request_state_name(record.state),
            action.verb()
        )));
    }
    let cause = args.who.cause("");
    let actor = cause.actor.clone();
    let note = format!(
        "{} by {}{}",
        action.verb(),
        actor,
        args.who.reason().map(|r| format!(": {r}")).unwrap_or_default()
    );
    let forge_number = store.forge_number_of(record.number)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime tokio", e))?;
    let forge = runtime.block_on(async {
        match forge_number {
            Some(n) => on_github(args, &store, &record, n, action, &note, &cause).await,
            None => on_local(args, &store, &record, action, &note, &cause).await,
        }
    })?;
    let after = store
        .pull_requests()?
        .into_iter()
        .find(|p| p.number == args.number)
        .ok_or(Error::PullRequestNotFound(args.number))?;
    let incident_status = after
        .incident_id
        .map(|id| store.incident(id).map(|i| i.status.to_string()))
        .transpose()?;
    let out = Outcome {
        pull_request: after.number,
        forge,
        action: action.verb(),
        state: pull_request_state_name(after.state),
        merge_commit: after.merge_commit.clone(),
        incident: after.incident_id,
        incident_status,
        actor,
        reason: args.who.reason().map(str::to_string),
        url: after.url.clone(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("pull request #{}: {}", out.pull_request, out.action);
        if let Some(c) = &out.merge_commit {
            print!(" in {}", sanitize(c, 80));
        }
        println!(" by {}", sanitize(&out.actor, 80));
        if let (Some(id), Some(status)) = (out.incident, &out.incident_status) {
            println!("incident {id}: {status}");
        }
        if action == Action::Close {
            println!("the patch is remembered as rejected: it will not be proposed again for this incident");
        }
    }
    Ok(())
}

/// The local forge: merge in the bare remote (the store follows through
/// [`PullRequestStore`]), close in the store; the note is a comment.
async fn on_local(
    args: &PullRequestArgs,
    store: &Arc<dyn ForgeStore>,
    record: &PullRequestRecord,
    action: Action,
    note: &str,
    cause: &Cause,
) -> Result<&'static str> {
    let number = u64::try_from(record.number).map_err(|_| Error::PullRequestNotFound(record.number))?;
    let prs: Arc<dyn PullRequestStore> = store.clone().into_pull_request_store();
    match action {
        Action::Merge => {
            let policy = policy_for(args, store, "merging a local-forge pull request")?;
            let repo = args.repo.as_deref().unwrap_or(std::path::Path::new("."));
            let remote = local_remote_path(repo, &policy.forge.remote).await.map_err(forge_err)?;
            let forge = LocalForge::new(remote, prs.clone());
            let pr = prs
                .get(number)
                .map_err(forge_err)?
                .ok_or(Error::PullRequestNotFound(record.number))?;
            match forge.merge(&pr, policy.forge.merge_method).await.map_err(forge_err)? {
                MergeOutcome::Merged { .. } => {}
                MergeOutcome::NotMerged { reason } => {
                    return Err(Error::Refused(format!(
                        "pull request #{number} was not merged: {reason}"
                    )))
                }
            }
            forge.comment(number, note).await.map_err(forge_err)?;
        }
        Action::Close => {
            store.close_pull_request(record.number, cause, Timestamp::now())?;
            prs.update(number, &mut |p| {
                p.comments.push(Comment {
                    at: Timestamp::now(),
                    body: note.to_string(),
                })
            })
            .map_err(forge_err)?;
        }
    }
    Ok("local")
}

/// GitHub: merge (only the recorded head) or close through the API, then
/// the store follows; the note is a comment on GitHub.
async fn on_github(
    args: &PullRequestArgs,
    store: &Arc<dyn ForgeStore>,
    record: &PullRequestRecord,
    forge_number: i64,
    action: Action,
    note: &str,
    cause: &Cause,
) -> Result<&'static str> {
    let policy = policy_for(args, store, "a pull request on GitHub")?;
    let forge = GitHubForge::from_forge_config(&policy.forge).map_err(forge_err)?;
    let number = u64::try_from(forge_number).map_err(|_| Error::PullRequestNotFound(record.number))?;
    let change = match action {
        Action::Merge => {
            let current = match forge.poll_pull_request(number, None).await.map_err(forge_err)? {
                bugstack_fix::PullRequestPoll::Current { pull_request, .. } => pull_request,
                bugstack_fix::PullRequestPoll::NotModified => {
                    return Err(Error::Forge("GitHub answered 304 to an unconditional request".into()))
                }
            };
            if current.state != PullRequestState::Open {
                return Err(Error::Refused(format!(
                    "pull request #{} (GitHub #{number}) is already {} on GitHub; `bugstack serve` will sync it",
                    record.number,
                    pull_request_state_name(current.state)
                )));
            }
            match forge
                .merge(&current, policy.forge.merge_method)
                .await
                .map_err(forge_err)?
            {
                MergeOutcome::Merged { sha } => ForgeChange::Merged { commit: sha },
                MergeOutcome::NotMerged { reason } => {
                    return Err(Error::Refused(format!("GitHub did not merge #{number}: {reason}")))
                }
            }
        }
        Action::Close => {
            forge.close_pull_request(number).await.map_err(forge_err)?;
            ForgeChange::Closed
        }
    };
    store.apply_forge_change(record.number, &change, cause, Timestamp::now())?;
    if let Err(e) = forge.comment(number, note).await {
        eprintln!("bugstack: {} on GitHub, but the comment failed: {e}", action.verb());
    }
    Ok("github")
}
