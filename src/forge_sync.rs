//! Keeping incidents in step with pull requests a person merges or closes on
//! GitHub, by polling: every open fix pull request that lives on GitHub is
//! asked for with `If-None-Match` (its stored ETag), so an unchanged one is a
//! `304` that costs no rate limit and changes nothing. A merged one fixes its
//! incident at the merge commit; a closed one reopens it and its patch is
//! remembered as rejected ([`ForgeStore::apply_forge_change`]). The webhook
//! (`POST /v1/forge/github`, in the collector) does the same on push.

use std::sync::Arc;
use std::time::Duration;

use bugstack_core::Timestamp;
use bugstack_fix::{GitHubForge, PullRequestPoll, PullRequestState};
use serde::Serialize;
use tokio::sync::watch;

use crate::store::{Cause, ForgeChange, ForgeStore, ForgeSync, FORGE_ACTOR};
use crate::{Error, Result};

/// Default seconds between two polls of GitHub (`serve --forge-poll-secs`).
pub const DEFAULT_POLL_SECS: u64 = 180;

/// What one [`poll_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollSummary {
    /// Pull requests asked about.
    pub checked: usize,
    /// Answered `304 Not Modified`.
    pub not_modified: usize,
    /// Found merged (their incident is now fixed).
    pub merged: usize,
    /// Found closed unmerged (their incident is open again).
    pub closed: usize,
    /// Could not be asked about or applied (each error, for the log).
    pub errors: Vec<String>,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task(format!("store task failed: {e}")))?
}

/// Asks GitHub once about every open pull request a run recorded there and
/// applies what changed.
pub async fn poll_once<S: ForgeStore + ?Sized + 'static>(store: &Arc<S>, forge: &GitHubForge) -> Result<PollSummary> {
    poll_project_once(store, forge, None).await
}

/// [`poll_once`] for the pull requests of `project` only (`None`: every
/// project's): `forge` is that project's repository on GitHub, and another
/// project's pull request numbers mean other pull requests.
pub async fn poll_project_once<S: ForgeStore + ?Sized + 'static>(
    store: &Arc<S>,
    forge: &GitHubForge,
    project: Option<i64>,
) -> Result<PollSummary> {
    let open = {
        let store = store.clone();
        blocking(move || store.forge_pull_requests()).await?
    };
    let open = open.into_iter().filter(|pr| project.is_none_or(|p| p == pr.project));
    let mut summary = PollSummary::default();
    for pr in open {
        summary.checked += 1;
        let Ok(forge_number) = u64::try_from(pr.forge_number) else {
            continue;
        };
        let answer = match forge.poll_pull_request(forge_number, pr.etag.as_deref()).await {
            Ok(a) => a,
            Err(e) => {
                summary
                    .errors
                    .push(format!("pull request #{} (GitHub #{forge_number}): {e}", pr.number));
                continue;
            }
        };
        let PullRequestPoll::Current { pull_request, etag } = answer else {
            summary.not_modified += 1;
            continue;
        };
        let change = match pull_request.state {
            PullRequestState::Open => None,
            PullRequestState::Merged => Some(ForgeChange::Merged {
                commit: pull_request
                    .merge_commit
                    .clone()
                    .unwrap_or(pull_request.head_sha.clone()),
            }),
            PullRequestState::Closed => Some(ForgeChange::Closed),
        };
        let store = store.clone();
        let number = pr.number;
        let applied = blocking(move || {
            if let Some(etag) = &etag {
                store.set_pull_request_etag(number, etag)?;
            }
            change
                .map(|c| {
                    store.apply_forge_change(number, &c, &Cause::new(FORGE_ACTOR, "GitHub poll"), Timestamp::now())
                })
                .transpose()
        })
        .await;
        match applied {
            Ok(Some(ForgeSync::Applied(record))) => match record.state {
                PullRequestState::Merged => summary.merged += 1,
                PullRequestState::Closed => summary.closed += 1,
                PullRequestState::Open => {}
            },
            Ok(_) => {}
            Err(e) => summary.errors.push(format!("pull request #{number}: {e}")),
        }
    }
    Ok(summary)
}

/// Polls every `interval` until `stop` turns true, printing one line per
/// change or error (a quiet poll prints nothing).
pub async fn run_poller(
    store: Arc<dyn ForgeStore>,
    forge: Arc<GitHubForge>,
    project: Option<i64>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match poll_project_once(&store, &forge, project).await {
            Ok(s) => {
                if s.merged + s.closed > 0 {
                    println!(
                        "bugstack: GitHub: {} pull request(s) merged, {} closed since the last look",
                        s.merged, s.closed
                    );
                }
                for e in &s.errors {
                    eprintln!("bugstack: GitHub poll: {}", crate::terminal::sanitize(e, 300));
                }
            }
            Err(e) => eprintln!("bugstack: GitHub poll failed: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
