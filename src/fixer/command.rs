//! `bugstack fix ID --repo PATH [--json]`: the pipeline on one stored incident.
//!
//! Progress goes to stderr, one plain line per pipeline step; the report goes
//! to stdout (a human summary, or with `--json` the FixReport JSON) and to
//! `<data>/reports/<incident>-<run>.{json,md}`.
//!
//! The store follows the lifecycle: the incident moves `open`/`regressed` →
//! `fixing` while the pipeline runs, then back to `open` (no fix),
//! `fix-proposed` (PR left for review), or `fixed` (PR merged; the fix
//! commit is recorded as a release containing the fix). An incident another
//! worker is fixing (`fixing`), or that is already fixed, is refused.
//!
//! Exit codes: 0 a fix was produced (PR opened or merged); 4 the pipeline
//! ran but produced no fix (or could not deliver it); 1 runtime error; 2
//! usage / configuration (not a git repository, invalid `bugstack.toml`,
//! incident not in a fixable state); 3 no such incident.

use bugstack_core::Timestamp;
use bugstack_fix::{DecisionKind, FixReport};

use super::{build_pipeline, progress_line, FixerOptions};
use crate::cli::{data_dir, sanitize, FixArgs};
use crate::store::{IncidentStore, SqliteStore, Status};
use crate::{Error, Result};

/// Runs `bugstack fix`.
pub fn fix(args: &FixArgs) -> Result<()> {
    let dir = data_dir(&args.data);
    if !dir.join(crate::store::DB_FILE).is_file() {
        return Err(Error::Config(format!(
            "no bugstack store in {} (point --data / BUGSTACK_DATA at the directory `bugstack serve` uses)",
            dir.display()
        )));
    }
    let store = SqliteStore::open(&dir)?;
    let detail = store.incident_detail(args.id)?;
    super::check_repo(&args.repo)?;
    let status = detail.incident.status;
    if !matches!(status, Status::Open | Status::Regressed) {
        return Err(Error::Config(format!(
            "incident {} is {status}; only open or regressed incidents are fixed",
            args.id
        )));
    }
    let incident = bugstack_fix::Incident {
        id: detail.incident.id.to_string(),
        fingerprint: detail.incident.fingerprint.clone(),
        event: detail.representative.clone(),
        count: detail.incident.count,
        first_seen: detail.incident.first_seen,
        last_seen: detail.incident.last_seen,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", "tokio", e))?;
    let observer = |p: &bugstack_fix::Progress| eprintln!("bugstack: fix: {}", progress_line(p));
    let pipeline = runtime.block_on(build_pipeline(&args.repo, &dir, &FixerOptions::default(), observer))?;
    // Regressed → fixing is allowed; open → fixing too.
    store.transition(args.id, Status::Fixing)?;
    let report = match runtime.block_on(pipeline.run(&incident)) {
        Ok(r) => r,
        Err(e) => {
            let _ = store.transition(args.id, Status::Open);
            return Err(e);
        }
    };
    let run = format!("{}", Timestamp::now().as_millis());
    let written = pipeline.write_report(&report, &run);
    let recorded = record(&store, args.id, &report);
    let (json_path, md_path) = written?;
    recorded?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print_summary(&report);
        println!("report: {}", json_path.display());
        println!("        {}", md_path.display());
    }
    let fixed = report.fix.is_some() && report.deployment.is_some() && report.decision.kind != DecisionKind::NoFix;
    if fixed {
        Ok(())
    } else {
        Err(Error::NoFix(format!(
            "incident {}: {}",
            args.id,
            report
                .deploy_error
                .clone()
                .unwrap_or_else(|| report.decision.reason.clone())
        )))
    }
}

/// Moves the incident on after the run.
fn record(store: &SqliteStore, id: i64, report: &FixReport) -> Result<()> {
    match &report.deployment {
        Some(d) if report.fix.is_some() => {
            store.transition(id, Status::FixProposed)?;
            if d.merged {
                store.transition(id, Status::Fixed)?;
                store.add_release_with_fix(id, &d.commit)?;
            }
        }
        _ => {
            store.transition(id, Status::Open)?;
        }
    }
    Ok(())
}

fn print_summary(report: &FixReport) {
    println!(
        "incident {}: {}",
        report.incident.id,
        sanitize(&report.incident.title(), 200)
    );
    println!("  generator   {}", report.generator);
    println!("  attempts    {}", report.attempts.len());
    if let Some(fix) = &report.fix {
        println!("  root cause  {}", sanitize(&fix.root_cause, 300));
        println!("  files       {}", sanitize(&fix.files.join(", "), 300));
        println!("  changed     {} line(s)", fix.changed_lines());
    }
    if let Some(c) = &report.confidence {
        println!("  confidence  {:.2}", c.score);
    }
    println!("  decision    {:?}: {}", report.decision.kind, report.decision.reason);
    if let Some(d) = &report.deployment {
        println!(
            "  pull request #{} {} ({}) on branch {}",
            d.pull_request.number,
            if d.merged { "merged" } else { "open for review" },
            d.pull_request.url,
            d.branch
        );
        println!("  deploy      {}", sanitize(&d.reason, 300));
    }
    if let Some(e) = &report.deploy_error {
        println!("  deploy failed: {}", sanitize(e, 300));
    }
}
