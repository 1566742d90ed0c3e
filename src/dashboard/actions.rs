//! The dashboard's actions: POST forms, each checked against the session's
//! CSRF token, each recorded in the incident's timeline as
//! [`DASHBOARD_ACTOR`]'s through the store's own controls (the same ones
//! the CLI's `ignore`, `reopen`, `retry`, `merge` and `close` use).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use bugstack_core::Timestamp;
use bugstack_fix::{local_remote_path, Comment, Forge, LocalForge, MergeOutcome, PullRequestState};
use serde::Deserialize;

use super::auth::{CheckedForm, CsrfToken};
use super::{blocking, DashboardError, DashboardState, DASHBOARD_ACTOR};
use crate::store::{Cause, Status};

/// An action's form: the CSRF token and an optional reason.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ActionForm {
    csrf: Option<String>,
    reason: Option<String>,
}

impl CsrfToken for ActionForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

impl ActionForm {
    fn cause(&self, default_reason: &str) -> Cause {
        let reason = self
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or(default_reason);
        Cause::new(DASHBOARD_ACTOR, bugstack_core::text::ellipsize(reason, 500))
    }
}

/// `POST /incidents/{id}/{ignore|reopen|retry}`.
pub(crate) async fn incident_action(
    State(state): State<DashboardState>,
    Path((id, action)): Path<(String, String)>,
    CheckedForm { form, .. }: CheckedForm<ActionForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return DashboardError::BadRequest("an incident id is a number".into()).into_response();
    };
    let store = state.store.clone();
    let done = blocking(move || {
        match action.as_str() {
            "ignore" => {
                store.transition(id, Status::Ignored, &form.cause("ignored from the dashboard"))?;
            }
            "reopen" => {
                store.transition(id, Status::Open, &form.cause("reopened from the dashboard"))?;
            }
            "retry" => {
                store.retry(id, &form.cause("retry requested from the dashboard"), Timestamp::now())?;
            }
            other => {
                return Err(DashboardError::NotFound(format!(
                    "no action {:?}",
                    bugstack_core::text::ellipsize(other, 40)
                )))
            }
        }
        Ok(action)
    })
    .await;
    match done {
        Ok(action) => Redirect::to(&format!("/incidents/{id}?done={action}")).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /pulls/{number}/{merge|close}` (local forge only).
pub(crate) async fn pull_action(
    State(state): State<DashboardState>,
    Path((number, action)): Path<(String, String)>,
    CheckedForm { form, .. }: CheckedForm<ActionForm>,
) -> Response {
    match pull_action_inner(&state, &number, &action, &form).await {
        Ok(()) => Redirect::to(&format!("/pulls?done={action}")).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn pull_action_inner(
    state: &DashboardState,
    number: &str,
    action: &str,
    form: &ActionForm,
) -> Result<(), DashboardError> {
    let number: i64 = number
        .parse()
        .map_err(|_| DashboardError::BadRequest("a pull request number is a number".into()))?;
    if !matches!(action, "merge" | "close") {
        return Err(DashboardError::NotFound(format!(
            "no action {:?}",
            bugstack_core::text::ellipsize(action, 40)
        )));
    }
    let forge = state.local_forge.clone().ok_or_else(|| {
        DashboardError::Refused(
            "merging or closing here needs `bugstack serve --repo PATH` on a repository whose forge is the local one; \
             use `bugstack merge` / `bugstack close`"
                .into(),
        )
    })?;
    let store = state.store.clone();
    let record = blocking(move || {
        store
            .pull_requests()?
            .into_iter()
            .find(|p| p.number == number)
            .ok_or_else(|| DashboardError::NotFound(format!("no pull request #{number}")))
    })
    .await?;
    // The local forge here is the default project's repository; another
    // project's pull request lives in its own.
    if let Some(incident) = record.incident_id {
        let store = state.store.clone();
        let project = blocking(move || Ok(store.incident(incident)?.project)).await?;
        if project != crate::store::DEFAULT_PROJECT_ID {
            return Err(DashboardError::Refused(format!(
                "pull request #{number} belongs to another project, whose repository is not the one this dashboard \
                 merges in; use `bugstack merge {number} --project NAME --repo PATH` (or `bugstack close`)"
            )));
        }
    }
    if record.state != PullRequestState::Open {
        return Err(DashboardError::Refused(format!(
            "pull request #{number} is already {}",
            crate::store::pull_request_state_name(record.state)
        )));
    }
    let unsigned = u64::try_from(number).map_err(|_| DashboardError::NotFound(format!("no pull request #{number}")))?;
    let forge_err = |e: bugstack_fix::Error| DashboardError::Refused(e.to_string());
    let cause = form.cause(if action == "merge" {
        "merged from the dashboard"
    } else {
        "closed from the dashboard"
    });
    let note = format!(
        "{} by {}: {}",
        if action == "merge" { "merged" } else { "closed" },
        cause.actor,
        cause.reason
    );
    if action == "merge" {
        let remote = local_remote_path(&forge.repo, &forge.policy.forge.remote)
            .await
            .map_err(forge_err)?;
        let local = LocalForge::new(remote, forge.pulls.clone());
        let pr = forge
            .pulls
            .get(unsigned)
            .map_err(forge_err)?
            .ok_or_else(|| DashboardError::NotFound(format!("no pull request #{number}")))?;
        match local
            .merge(&pr, forge.policy.forge.merge_method)
            .await
            .map_err(forge_err)?
        {
            MergeOutcome::Merged { .. } => {}
            MergeOutcome::NotMerged { reason } => {
                return Err(DashboardError::Refused(format!(
                    "pull request #{number} was not merged: {reason}"
                )))
            }
        }
    } else {
        let store = state.store.clone();
        let c = cause.clone();
        blocking(move || Ok(store.close_pull_request(number, &c, Timestamp::now())?)).await?;
    }
    let pulls = forge.pulls.clone();
    let _ = pulls.update(unsigned, &mut |p| {
        p.comments.push(Comment {
            at: Timestamp::now(),
            body: note.clone(),
        })
    });
    Ok(())
}
