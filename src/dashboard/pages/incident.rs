//! `GET /incidents/{id}`: one incident, everything the store knows of it.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use bugstack_core::{Event, Timestamp};
use maud::{html, Markup};

use super::{ago, csrf_field, cut, external_link, layout, serde_name, status_badge, table, when, Flash};
use crate::dashboard::auth::Viewer;
use crate::dashboard::chart::{bars, buckets};
use crate::dashboard::{blocking, DashboardError, DashboardState, SourceLinks};
use crate::store::{HourCount, IncidentDetail, IncidentStore, JobState, Status};

/// `GET /incidents/{id}`.
pub(crate) async fn show(
    State(state): State<DashboardState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return DashboardError::BadRequest("an incident id is a number, e.g. /incidents/1".into()).into_response();
    };
    let store = state.store.clone();
    let flash = flash.done.as_deref().and_then(flash_text);
    let links = state.source_links.clone();
    match blocking(move || page(store.as_ref(), &viewer, id, Timestamp::now(), flash, links.as_deref())).await {
        Ok(html) => html.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The whole page of incident `id` for `viewer` at `now`.
pub(crate) fn page(
    store: &dyn IncidentStore,
    viewer: &Viewer,
    id: i64,
    now: Timestamp,
    flash: Option<&str>,
    links: Option<&SourceLinks>,
) -> Result<Html<String>, DashboardError> {
    let since = Timestamp::from_millis(now.as_millis().saturating_sub(14 * 86_400_000));
    let detail = store.incident_detail(id)?;
    let hours = store.histogram(id, since)?;
    let title = format!("#{} {}", detail.incident.id, cut(&detail.incident.title, 60));
    Ok(layout(
        Some(viewer),
        &title,
        render(viewer, &detail, &hours, now, flash, links),
    ))
}

/// The confirmation for `?done=` (only known words: the query is not echoed).
fn flash_text(done: &str) -> Option<&'static str> {
    Some(match done {
        "ignore" => "Ignored.",
        "reopen" => "Reopened: a fix job is queued.",
        "retry" => "A fix job is queued, runnable now.",
        _ => return None,
    })
}

fn render(
    viewer: &Viewer,
    d: &IncidentDetail,
    hours: &[HourCount],
    now: Timestamp,
    flash: Option<&str>,
    links: Option<&SourceLinks>,
) -> Markup {
    let i = &d.incident;
    let e = &d.representative;
    html! {
        @if let Some(f) = flash { p.flash id="flash" { (f) } }
        h1 #incident-title { (i.title) }
        p {
            span #status { (status_badge(i.status.as_str())) } " "
            span class=(format!("lv-{}", i.level)) { (i.level) } " · " (i.kind) " · "
            strong #count { (i.count) } " occurrences · first " (when(i.first_seen)) " · last " (when(i.last_seen))
            " (" (ago(i.last_seen, now)) ")"
        }
        (controls(viewer, i.id, i.status))
        dl.facts {
            dt { "Fingerprint" } dd { code { (i.fingerprint.as_str()) } }
            dt { "Releases" } dd { @for r in &i.releases { code { (r) } " " } }
            @if let Some(r) = &i.fixed_in_release { dt { "Fixed in" } dd { code { (r) } } }
            @if let Some(c) = &i.fix_commit { dt { "Fix commit" } dd { code { (c) } } }
        }
        h2 { "Occurrences, last 14 days (hourly)" }
        (bars(&buckets(hours, now, 14 * 24, 1), "occurrences per hour, last 14 days"))
        h2 { "Message" }
        pre #message { (e.message) }
        @if !e.chain.is_empty() {
            h2 { "Caused by" }
            ol #chain { @for link in &e.chain {
                li { @if let Some(t) = &link.type_name { code { (t) } ": " } (link.message) }
            } }
        }
        @if let Some(l) = &e.location {
            p { "at " code { (l.file) ":" (l.line) @if let Some(c) = l.column { ":" (c) } } }
        }
        (stack(e, links))
        (request(e))
        (environment(e))
        (breadcrumbs(e))
        (runs(d))
        (samples(d, now))
        h2 { "Timeline" }
        (timeline(d))
    }
}

fn timeline(d: &IncidentDetail) -> Markup {
    let rows = d.timeline.iter().map(|t| {
        html! {
            tr {
                td { (when(t.at)) }
                td { @if let Some(f) = t.from { (status_badge(f.as_str())) } @else { span.muted { "new" } } }
                td { (status_badge(t.to.as_str())) }
                td.actor { (t.actor) }
                td { (t.reason) }
            }
        }
    });
    table("timeline", &["When", "From", "To", "Who", "Why"], rows)
}

/// The lifecycle controls the incident's status allows.
fn controls(viewer: &Viewer, id: i64, status: Status) -> Markup {
    let button = |action: &str, label: &str| {
        html! {
            form method="post" action=(format!("/incidents/{id}/{action}")) {
                (csrf_field(viewer))
                button id=(format!("action-{action}")) type="submit" { (label) }
            }
        }
    };
    html! {
        div.actions {
            @if status.can_become(Status::Ignored) { (button("ignore", "Ignore")) }
            @if status == Status::Ignored { (button("reopen", "Reopen")) }
            @if matches!(status, Status::Open | Status::Regressed) { (button("retry", "Retry the fix")) }
        }
    }
}

fn stack(e: &Event, links: Option<&SourceLinks>) -> Markup {
    let rev = e.release.as_deref().unwrap_or("HEAD");
    let rows = e.frames.iter().enumerate().map(|(n, f)| {
        html! {
            tr class=@if f.in_app { "in-app" } @else { "lib" } {
                td.num { (n) }
                td.fn {
                    code { (f.function.as_deref().unwrap_or("?")) }
                    @if f.in_app { span.tag { "in app" } }
                }
                td { @if let Some(file) = &f.file {
                    @let place = html! { code { (file) @if let Some(l) = f.line { ":" (l) } } };
                    @match links.filter(|_| f.in_app).and_then(|l| l.link(file, f.line, rev)) {
                        Some(url) => a.source href=(url) rel="noopener noreferrer" { (place) },
                        None => (place),
                    }
                } @else if let Some(a) = &f.address { code.muted { (a) } } }
            }
        }
    });
    html! {
        @if !e.frames.is_empty() {
            h2 { "Stack" }
            (table("stack", &["#", "Function", "Where"], rows))
            @if e.omitted.frames > 0 { p.muted { (e.omitted.frames) " frames omitted" } }
        }
    }
}

fn request(e: &Event) -> Markup {
    html! {
        @if let Some(r) = &e.request {
            h2 { "Request" }
            dl.facts #request {
                @if let Some(m) = &r.method { dt { "Method" } dd { code { (m) } } }
                @if let Some(m) = &r.route { dt { "Route" } dd { code { (m) } } }
                @if let Some(m) = &r.path { dt { "Path" } dd { code { (m) } } }
                @for (k, v) in &r.headers { dt { code { (k) } } dd { code { (v) } } }
                @if let Some(s) = &r.payload_shape {
                    dt { "Payload shape" }
                    dd { pre { (serde_json::to_string_pretty(s).unwrap_or_default()) } }
                }
            }
        }
    }
}

fn environment(e: &Event) -> Markup {
    html! {
        h2 { "Environment" }
        dl.facts #environment {
            dt { "Release" } dd { (e.release.as_deref().unwrap_or("—")) }
            dt { "Environment" } dd { (e.environment.as_deref().unwrap_or("—")) }
            @if let Some(s) = &e.service {
                dt { "Service" } dd { (s.name.as_deref().unwrap_or("?")) " " (s.version.as_deref().unwrap_or("")) }
            }
            @if let Some(r) = &e.runtime {
                dt { "Runtime" }
                dd { (r.rustc_version.as_deref().unwrap_or("")) " " (r.target.as_deref().unwrap_or("")) " "
                     (r.os.as_deref().unwrap_or("")) " " (r.arch.as_deref().unwrap_or("")) }
            }
            @if let Some(t) = &e.thread {
                dt { "Thread" } dd { (t.name.as_deref().unwrap_or("?")) " " span.muted { (t.id.as_deref().unwrap_or("")) } }
            }
            @for (k, v) in &e.tags { dt { code { (k) } } dd { (v) } }
        }
    }
}

fn breadcrumbs(e: &Event) -> Markup {
    let rows = e.breadcrumbs.iter().map(|b| {
        html! {
            tr {
                td { (when(b.timestamp)) }
                td { (b.level.as_str()) }
                td { (b.category.as_deref().unwrap_or("")) }
                td { (b.message) }
            }
        }
    });
    html! {
        @if !e.breadcrumbs.is_empty() {
            h2 { "Breadcrumbs" }
            (table("breadcrumbs", &["When", "Level", "Category", "Message"], rows))
        }
    }
}

fn runs(d: &IncidentDetail) -> Markup {
    let rows = d.runs.iter().map(|r| {
        html! {
            tr {
                td { a.run-link href=(format!("/incidents/{}/runs/{}", d.incident.id, r.id)) { "run " (r.id) } }
                td.num { (r.attempt) }
                td { (status_badge(&r.outcome)) }
                td { (r.worker) }
                td { (when(r.finished_at)) }
                td { @if let Some(n) = r.pr_number { "#" (n) } }
            }
        }
    });
    html! {
        @if !d.runs.is_empty() || !d.pull_requests.is_empty() || !d.jobs.is_empty() {
            h2 { "Fix runs" }
            @if d.runs.is_empty() { p.muted { "No run has finished yet." } }
            @else {
                (table("runs", &["Run", "Attempt", "Outcome", "Worker", "Finished", "Pull request"], rows))
            }
            @for j in d.jobs.iter().filter(|j| matches!(j.state, JobState::Queued | JobState::Running)) {
                p.muted { "Fix job " (j.id) ": " (j.state.as_str()) ", attempt " (j.attempts) " of " (j.max_attempts) }
            }
            @for p in &d.pull_requests {
                p { "Pull request #" (p.number) " " (status_badge(crate::store::pull_request_state_name(p.state))) " "
                    (external_link(&p.url, &p.title)) " " span.muted { (serde_name(&p.decision)) } }
            }
        }
    }
}

fn samples(d: &IncidentDetail, now: Timestamp) -> Markup {
    let rows = d.samples.iter().map(|s| {
        html! {
            tr {
                td { (when(s.timestamp)) " " span.muted { (ago(s.timestamp, now)) } }
                td { code { (s.release.as_deref().unwrap_or("—")) } }
                td.num { (s.count) }
                td { (cut(&s.message, 200)) }
            }
        }
    });
    html! {
        @if !d.samples.is_empty() {
            h2 { "Recent samples" }
            (table("samples", &["When", "Release", "Count", "Message"], rows))
        }
    }
}
