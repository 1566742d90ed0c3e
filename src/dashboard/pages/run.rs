//! `GET /incidents/{id}/runs/{run}`: one fix run from its JSON report —
//! each attempt with its checks, the diffs, the confidence and each signal,
//! the decision, the pull request.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bugstack_fix::{Attempt, CheckResult, FixReport, Patch};
use maud::{html, Markup};

use super::{cut, external_link, layout, serde_name, status_badge, when};
use crate::dashboard::auth::Viewer;
use crate::dashboard::{blocking, diff, DashboardError, DashboardState};
use crate::store::{FixRun, IncidentRecord, PullRequestRecord};

/// Most characters of a check's output shown (head and tail kept).
const OUTPUT_BYTES: usize = 4000;

/// `GET /incidents/{id}/runs/{run}`.
pub(crate) async fn show(
    State(state): State<DashboardState>,
    viewer: Viewer,
    Path((id, run)): Path<(String, String)>,
) -> Response {
    let (Ok(id), Ok(run_id)) = (id.parse::<i64>(), run.parse::<i64>()) else {
        return DashboardError::BadRequest("ids are numbers, e.g. /incidents/1/runs/1".into()).into_response();
    };
    let store = state.store.clone();
    let loaded = blocking(move || {
        let detail = store.incident_detail(id)?;
        let run = detail
            .runs
            .iter()
            .find(|r| r.id == run_id)
            .cloned()
            .ok_or_else(|| DashboardError::NotFound(format!("incident {id} has no run {run_id}")))?;
        let pr = run
            .pr_number
            .and_then(|n| detail.pull_requests.iter().find(|p| p.number == n).cloned());
        Ok((detail.incident, run, pr))
    })
    .await;
    match loaded {
        Ok((incident, run, pr)) => layout(
            Some(&viewer),
            &format!("Run {} of #{}", run.id, incident.id),
            render(&incident, &run, pr.as_ref()),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}

fn render(incident: &IncidentRecord, run: &FixRun, pr: Option<&PullRequestRecord>) -> Markup {
    let report = serde_json::from_value::<FixReport>(run.report.clone());
    html! {
        p { a href=(format!("/incidents/{}", incident.id)) { "← #" (incident.id) " " (cut(&incident.title, 80)) } }
        h1 { "Fix run " (run.id) }
        p { (status_badge(&run.outcome)) " · attempt " (run.attempt) " of its job · worker " code { (run.worker) }
            " · finished " (when(run.finished_at)) }
        @if let Some(p) = pr { (pull_request(p)) }
        @match &report {
            Ok(r) => (report_body(r)),
            Err(_) => {
                h2 { "Report" }
                p.muted { "This run's report is not a fix report (an error, or an older layout); as recorded:" }
                pre #raw-report { (serde_json::to_string_pretty(&run.report).unwrap_or_default()) }
            }
        }
    }
}

fn pull_request(p: &PullRequestRecord) -> Markup {
    html! {
        h2 { "Pull request" }
        p #pull-request { "#" (p.number) " " (status_badge(crate::store::pull_request_state_name(p.state))) " "
            (external_link(&p.url, &p.title)) " · branch " code { (p.branch) } " → " code { (p.base) }
            @if let Some(c) = &p.merge_commit { " · merged as " code { (c) } }
            " · " a href="/pulls" { "all pull requests" } }
    }
}

fn report_body(r: &FixReport) -> Markup {
    html! {
        h2 { "Decision" }
        p #decision { strong { (serde_name(&r.decision.kind)) } ": " (r.decision.reason) }
        @if let Some(e) = &r.deploy_error { p.error { "Deployment failed: " (e) } }
        @if let Some(d) = &r.deployment {
            p { "Deployed on branch " code { (d.branch) } " (commit " code { (d.commit) } "), pull request #"
                (d.pull_request.number) ", " @if d.merged { "merged" } @else { "not merged" } ": " (d.reason) }
        }
        h2 { "Confidence" }
        @if let Some(c) = &r.confidence {
            p { span.score #confidence { (format!("{:.2}", c.score)) } }
            table #signals {
                thead { tr { th { "Signal" } th { "Observed" } th.num { "Contribution" } th { "" } } }
                tbody { @for s in &c.signals {
                    tr {
                        td { code { (s.name) } }
                        td { (s.observed) }
                        td.num { (format!("{:+.2}", s.contribution)) }
                        td { @if s.untrusted { span.muted { "untrusted (capped)" } } }
                    }
                } }
            }
        } @else { p.muted { "No accepted patch, no score." } }
        h2 { "Reproduction" }
        p #reproduction { strong { (serde_name(&r.reproduction.status)) } " " (r.reproduction.detail)
            @if let Some(i) = &r.reproduction.input { br; "input: " code { (i) } } }
        @if let Some(fix) = &r.fix {
            h2 { "The fix" }
            (patch(fix, "fix-diff"))
        }
        h2 { "Attempts" }
        @for a in &r.attempts { (attempt(a)) }
        p.muted { "Generator " code { (r.generator) } " · started " (super::when(r.started_at)) " · "
            @for (k, v) in &r.stage_ms { (k) " " (v) " ms · " } }
    }
}

fn attempt(a: &Attempt) -> Markup {
    html! {
        div.attempt id=(format!("attempt-{}", a.number)) {
            h3 { "Attempt " (a.number) " "
                @if a.succeeded() { (status_badge("passed")) } @else { (status_badge("failed")) }
                " " span.muted { (a.duration_ms) " ms" } }
            @if let Some(why) = &a.rejected { p.error { "Rejected: " (why) } }
            @if let Some(p) = &a.patch {
                details { summary { "Patch: " (p.files.join(", ")) " (+" (p.lines_added) " −" (p.lines_removed) ")" }
                    (patch(p, &format!("diff-{}", a.number))) }
            }
            @if let Some(v) = &a.validation {
                table.checks {
                    thead { tr { th { "Check" } th { "Status" } th { "On base" } th.num { "Duration" } th { "Output" } } }
                    tbody { @for c in &v.checks { (check(c)) } }
                }
                @if let Some(reg) = &v.regression {
                    p { "Regression test " code { (reg.name) } ": fails on base " (reg.fails_on_base)
                        ", passes with the fix " (reg.passes_with_fix) }
                }
            }
        }
    }
}

fn check(c: &CheckResult) -> Markup {
    let status = serde_name(&c.status);
    html! {
        tr {
            td { (c.name) br; code.muted { (cut(&c.command, 120)) } }
            td { (status_badge(&status)) }
            td { @if let Some(b) = &c.base_status { (serde_name(b)) } }
            td.num { (c.duration_ms) " ms" }
            td {
                @if let Some(v) = &c.verdict { p { (v.judged_by) ": " (v.reason) } }
                @if !c.output.trim().is_empty() {
                    details { summary { "output" } pre { (bugstack_core::text::trim_middle(&c.output, OUTPUT_BYTES)) } }
                }
            }
        }
    }
}

fn patch(p: &Patch, id: &str) -> Markup {
    html! {
        p { strong { "Root cause: " } (p.root_cause) }
        p { strong { "Change: " } (p.explanation) }
        div id=(id) { (diff::render(&p.diff)) }
    }
}
