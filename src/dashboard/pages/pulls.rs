//! `GET /pulls`: the fix pull requests, newest first, with merge and close
//! for the local forge's open ones.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use bugstack_fix::PullRequestState;
use maud::{html, Markup};

use super::{csrf_field, external_link, layout, status_badge, when, Flash};
use crate::dashboard::auth::Viewer;
use crate::dashboard::{blocking, DashboardState};
use crate::store::{pull_request_state_name, PullRequestRecord};

/// `GET /pulls`.
pub(crate) async fn list(State(state): State<DashboardState>, viewer: Viewer, Query(flash): Query<Flash>) -> Response {
    let store = state.store.clone();
    let can_act = state.local_forge.is_some();
    let flash = match flash.done.as_deref() {
        Some("merge") => Some("Merged."),
        Some("close") => Some("Closed; the patch will not be proposed again for this incident."),
        _ => None,
    };
    match blocking(move || Ok(store.pull_requests()?)).await {
        Ok(prs) => layout(Some(&viewer), "Pull requests", render(&viewer, &prs, can_act, flash)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn render(viewer: &Viewer, prs: &[PullRequestRecord], can_act: bool, flash: Option<&str>) -> Markup {
    html! {
        @if let Some(f) = flash { p.flash id="flash" { (f) } }
        h1 { "Pull requests" }
        @if !can_act {
            p.muted { "Merging and closing here needs `bugstack serve --repo PATH` with the local forge; "
                "otherwise use `bugstack merge` / `bugstack close`, or the forge." }
        }
        @if prs.is_empty() { p.muted { "No pull request yet." } }
        @else {
            table #pulls {
                thead { tr { th { "#" } th { "State" } th { "Title" } th { "Incident" } th { "Branch" } th { "Decision" } th { "Opened" } th { "" } } }
                tbody { @for p in prs {
                    tr data-pr=(p.number) {
                        td.num { (p.number) }
                        td { (status_badge(pull_request_state_name(p.state))) }
                        td.title { (external_link(&p.url, &p.title)) }
                        td { @if let Some(i) = p.incident_id { a href=(format!("/incidents/{i}")) { "#" (i) } } }
                        td { code { (p.branch) } }
                        td { (p.decision) }
                        td { (when(p.created_at)) }
                        td { @if can_act && p.state == PullRequestState::Open {
                            div.actions {
                                form method="post" action=(format!("/pulls/{}/merge", p.number)) {
                                    (csrf_field(viewer)) button id=(format!("merge-{}", p.number)) type="submit" { "Merge" } }
                                form method="post" action=(format!("/pulls/{}/close", p.number)) {
                                    (csrf_field(viewer)) button id=(format!("close-{}", p.number)) type="submit" { "Close" } }
                            }
                        } }
                    }
                } }
            }
        }
    }
}
