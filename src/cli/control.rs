//! The people's controls over an incident's lifecycle: `bugstack ignore`,
//! `reopen`, `retry` and `resolve`. Each is a change recorded in the
//! incident's timeline with who (`--actor`, else `$USER`, else `cli`) and
//! why (`--reason`).

use std::sync::Arc;

use bugstack_core::Timestamp;
use serde::Serialize;

use super::args::{ControlArgs, ResolveArgs};
use crate::store::{FixJob, ForgeStore, IncidentRecord, IncidentStore, Status, TimelineEntry};
use crate::terminal::sanitize;
use crate::Result;

/// What a control prints with `--json`.
#[derive(Debug, Serialize)]
struct ControlOutput<'a> {
    /// The incident after the change.
    incident: &'a IncidentRecord,
    /// The timeline entry the change recorded.
    change: Option<&'a TimelineEntry>,
    /// The fix job `retry` queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<&'a FixJob>,
}

/// Which control to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// `bugstack ignore`: open or regressed → ignored (its job cancelled).
    Ignore,
    /// `bugstack reopen`: ignored → open (a fix job queued).
    Reopen,
    /// `bugstack retry`: a fix job for an open or regressed incident, now.
    Retry,
}

/// Runs `ignore`, `reopen` or `retry`.
pub(crate) fn run(control: Control, args: &ControlArgs) -> Result<()> {
    let store = open_incident(args)?;
    let now = Timestamp::now();
    let (incident, job) = match control {
        Control::Ignore => {
            let c = args.who.cause("ignored from the CLI");
            (store.transition(args.id, Status::Ignored, &c)?, None)
        }
        Control::Reopen => {
            let c = args.who.cause("reopened from the CLI");
            (store.transition(args.id, Status::Open, &c)?, None)
        }
        Control::Retry => {
            let c = args.who.cause("retry requested from the CLI");
            let job = store.retry(args.id, &c, now)?;
            (store.incident(args.id)?, Some(job))
        }
    };
    report(store.into_incident_store().as_ref(), &incident, job.as_ref(), args.json)
}

/// Runs `resolve`.
pub(crate) fn resolve(args: &ResolveArgs) -> Result<()> {
    let control = &args.control;
    let store = open_incident(control)?;
    let c = control.who.cause("fixed by hand");
    let incident = store.resolve(control.id, &args.release, &c, Timestamp::now())?;
    report(store.into_incident_store().as_ref(), &incident, None, control.json)
}

/// The store `args` names, its incident checked to be in its project.
fn open_incident(args: &ControlArgs) -> Result<Arc<dyn ForgeStore>> {
    let (store, project) = super::project::open_in(&args.scope)?;
    super::project::incident_in(store.as_ref(), args.id, &project)?;
    Ok(store)
}

/// Prints the change just made (the incident's last timeline entry).
fn report(store: &dyn IncidentStore, incident: &IncidentRecord, job: Option<&FixJob>, json: bool) -> Result<()> {
    let timeline = store.timeline(incident.id)?;
    let change = timeline.last();
    if json {
        let out = ControlOutput { incident, change, job };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if let Some(c) = change {
        let from = c.from.map_or_else(|| "new".to_string(), |f| f.to_string());
        println!(
            "incident {}: {} → {} (by {}: {})",
            incident.id,
            from,
            c.to,
            sanitize(&c.actor, 60),
            sanitize(&c.reason, 200)
        );
    }
    if let Some(j) = job {
        println!("  fix job {} queued, runnable now", j.id);
    }
    Ok(())
}
