//! `GET /`: the incidents, most recently seen first, filtered by status and
//! text, a page at a time, each with its sparklines.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use bugstack_core::Timestamp;
use maud::{html, Markup};
use serde::Deserialize;

use super::{ago, layout, status_badge, when};
use crate::dashboard::auth::{percent_encode, Viewer};
use crate::dashboard::chart::{buckets, sparkline};
use crate::dashboard::{blocking, DashboardError, DashboardState, PAGE_SIZE};
use crate::store::{HourCount, IncidentFilter, IncidentSearch, IncidentStore, ProjectRecord, Status};

/// `?project=&status=&q=&page=`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListParams {
    project: Option<String>,
    status: Option<String>,
    q: Option<String>,
    page: Option<usize>,
}

/// What the list page shows.
pub(crate) struct ListData {
    /// The page of incidents.
    pub(crate) search: IncidentSearch,
    /// Their hourly counts over the last 14 days, in the same order.
    pub(crate) hours: Vec<Vec<HourCount>>,
    /// Every project (the filter offers them when there are several).
    pub(crate) projects: Vec<ProjectRecord>,
}

/// Reads one page of the list (what the bench times with [`render_list`]).
pub(crate) fn load_list(
    store: &dyn IncidentStore,
    filter: &IncidentFilter,
    now: Timestamp,
) -> Result<ListData, DashboardError> {
    let search = store.search_incidents(filter)?;
    let ids: Vec<i64> = search.incidents.iter().map(|r| r.id).collect();
    let since = Timestamp::from_millis(
        now.as_millis()
            .saturating_sub(Duration::from_secs(14 * 86_400).as_millis() as u64),
    );
    let hours = store.histograms(&ids, since)?;
    let projects = store.projects()?;
    Ok(ListData {
        search,
        hours,
        projects,
    })
}

/// `GET /`.
pub(crate) async fn list(
    State(state): State<DashboardState>,
    viewer: Viewer,
    Query(params): Query<ListParams>,
) -> Response {
    let status = match params.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<Status>() {
            Ok(st) => Some(st),
            Err(_) => return DashboardError::BadRequest(format!("no status {s:?}")).into_response(),
        },
    };
    let project = match params.project.clone().filter(|p| !p.is_empty()) {
        None => None,
        Some(name) => {
            let store = state.store.clone();
            match blocking(move || Ok(store.project_named(&name)?)).await {
                Ok(p) => Some(p.id),
                Err(e) => return e.into_response(),
            }
        }
    };
    let page = params.page.unwrap_or(1).max(1);
    let filter = IncidentFilter {
        project,
        status,
        text: params.q.clone().filter(|q| !q.trim().is_empty()),
        offset: (page - 1).saturating_mul(PAGE_SIZE),
        limit: PAGE_SIZE,
    };
    let store = state.store.clone();
    let now = Timestamp::now();
    let f = filter.clone();
    match blocking(move || load_list(store.as_ref(), &f, now)).await {
        Ok(data) => layout(
            Some(&viewer),
            "Incidents",
            render_list(&viewer, &filter, page, &data, now),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The list's body.
pub(crate) fn render_list(
    viewer: &Viewer,
    filter: &IncidentFilter,
    page: usize,
    data: &ListData,
    now: Timestamp,
) -> Markup {
    let _ = viewer;
    let q = filter.text.clone().unwrap_or_default();
    let status = filter.status.map(|s| s.to_string()).unwrap_or_default();
    let pages = usize::try_from(data.search.total)
        .unwrap_or(usize::MAX)
        .div_ceil(PAGE_SIZE)
        .max(1);
    let project = filter
        .project
        .and_then(|id| data.projects.iter().find(|p| p.id == id))
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let link = |p: usize| {
        format!(
            "/?project={}&status={}&q={}&page={p}",
            percent_encode(&project),
            percent_encode(&status),
            percent_encode(&q)
        )
    };
    html! {
        h1 { "Incidents" }
        form.filters method="get" action="/" {
            @if data.projects.len() > 1 {
                select name="project" aria-label="project" {
                    option value="" selected[project.is_empty()] { "every project" }
                    @for p in &data.projects {
                        option value=(p.name) selected[project == p.name] { (p.name) }
                    }
                }
            }
            select name="status" aria-label="status" {
                option value="" selected[status.is_empty()] { "any status" }
                @for s in Status::ALL {
                    option value=(s.as_str()) selected[status == s.as_str()] { (s.as_str()) }
                }
            }
            input type="search" name="q" value=(q) placeholder="search title, kind, level" aria-label="search";
            button type="submit" { "Filter" }
            span.muted { (data.search.total) " incident" @if data.search.total != 1 { "s" } }
        }
        @if data.search.incidents.is_empty() {
            p.muted id="empty" { "No incidents match." }
        } @else {
            table #incidents {
                thead { tr {
                    th { "Status" } th { "Level" } th { "Title" } th.num { "Count" }
                    th { "24 h" } th { "14 d" } th { "First seen" } th { "Last seen" } th { "Releases" }
                } }
                tbody {
                    @for (i, r) in data.search.incidents.iter().enumerate() {
                        @let hours = data.hours.get(i).map(Vec::as_slice).unwrap_or(&[]);
                        tr data-incident=(r.id) {
                            td { (status_badge(r.status.as_str())) }
                            td class=(format!("lv-{}", r.level)) { (r.level) }
                            td.title {
                                a.incident-link href=(format!("/incidents/{}", r.id)) { (r.title) }
                                br; span.muted { (r.kind) " · #" (r.id) }
                            }
                            td.num { (r.count) }
                            td { (sparkline(&buckets(hours, now, 24, 1), "occurrences in the last 24 hours")) }
                            td { (sparkline(&buckets(hours, now, 14, 24), "occurrences in the last 14 days")) }
                            td { (when(r.first_seen)) }
                            td { (when(r.last_seen)) br; span.muted { (ago(r.last_seen, now)) } }
                            td {
                                @for (j, rel) in r.releases.iter().rev().take(3).enumerate() {
                                    @if j > 0 { ", " }
                                    code { (super::cut(rel, 24)) }
                                }
                                @if r.releases.len() > 3 { span.muted { " +" (r.releases.len() - 3) } }
                            }
                        }
                    }
                }
            }
        }
        div.pager {
            @if page > 1 { a rel="prev" href=(link(page - 1)) { "← newer" } }
            span.muted { "page " (page) " of " (pages) }
            @if page < pages { a rel="next" href=(link(page + 1)) { "older →" } }
        }
    }
}
