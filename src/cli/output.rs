//! Human and JSON output of the read commands.
//!
//! Event text is attacker-controlled: it reaches the terminal only through
//! [`sanitize`]. JSON output is escaped by serde.

use serde::Serialize;

use crate::store::{pull_request_state_name, IncidentDetail, IncidentRecord, PullRequestRecord};
use crate::terminal::sanitize;
use crate::Result;

fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints `list` as JSON when `json`, else `none` when it is empty; whether
/// it printed (otherwise the caller prints the table).
fn printed_json_or_none<T: Serialize>(list: &[T], json: bool, none: &str) -> Result<bool> {
    if json {
        print_json(list)?;
    } else if list.is_empty() {
        println!("{none}");
    } else {
        return Ok(false);
    }
    Ok(true)
}

/// Prints the incident list.
pub(crate) fn incidents(list: &[IncidentRecord], json: bool) -> Result<()> {
    if printed_json_or_none(list, json, "no incidents yet")? {
        return Ok(());
    }
    println!(
        "{:>5}  {:<12}  {:>9}  {:<24}  {:<7}  TITLE",
        "ID", "STATUS", "COUNT", "LAST SEEN", "KIND"
    );
    for i in list {
        println!(
            "{:>5}  {:<12}  {:>9}  {:<24}  {:<7}  {}",
            i.id,
            i.status.as_str(),
            i.count,
            i.last_seen.to_string(),
            sanitize(&i.kind, 7),
            sanitize(&i.title, 80)
        );
    }
    Ok(())
}

/// Prints one incident.
pub(crate) fn show(d: &IncidentDetail, json: bool) -> Result<()> {
    if json {
        return print_json(d);
    }
    let i = &d.incident;
    println!("incident {}: {}", i.id, sanitize(&i.title, 200));
    println!("  status       {}", i.status);
    println!("  fingerprint  {}", i.fingerprint);
    println!("  kind/level   {} / {}", sanitize(&i.kind, 20), sanitize(&i.level, 20));
    println!("  count        {}", i.count);
    println!("  first seen   {}", i.first_seen);
    println!("  last seen    {}", i.last_seen);
    if !i.releases.is_empty() {
        let rels: Vec<String> = i.releases.iter().map(|r| sanitize(r, 40)).collect();
        println!("  releases     {}", rels.join(", "));
    }
    if let Some(r) = &i.fixed_in_release {
        println!("  fixed in     {}", sanitize(r, 40));
    }
    if let Some(c) = &i.fix_commit {
        println!("  fix commit   {}", sanitize(c, 64));
    }
    for v in &d.release_checks {
        println!(
            "  release      {}: {}{} — {}",
            sanitize(&v.release, 40),
            v.verdict,
            v.commit
                .as_deref()
                .map(|c| format!(" (commit {})", sanitize(c.get(..12).unwrap_or(c), 12)))
                .unwrap_or_default(),
            sanitize(&v.note, 200)
        );
    }
    let e = &d.representative;
    println!("  message      {}", sanitize(&e.message, 500));
    if let Some(loc) = &e.location {
        println!("  location     {}:{}", sanitize(&loc.file, 200), loc.line);
    }
    let frames: Vec<_> = e.in_app_frames().take(8).collect();
    if !frames.is_empty() {
        println!("  in-app frames (innermost first):");
        for f in frames {
            let func = f.function.as_deref().unwrap_or("?");
            let file = f.file.as_deref().unwrap_or("?");
            let line = f.line.map(|l| format!(":{l}")).unwrap_or_default();
            println!("    {}  {}{}", sanitize(func, 120), sanitize(file, 120), line);
        }
    }
    if let Some(s) = &d.stack_dependencies {
        if !s.dependencies.is_empty() {
            println!("  crates on the stack (release {}):", sanitize(&s.release, 40));
            for dep in &s.dependencies {
                println!("    {} {}", sanitize(&dep.name, 64), sanitize(&dep.version, 64));
            }
        }
    }
    println!("  samples      {} recent events kept", d.samples.len());
    for j in &d.jobs {
        println!(
            "  {:<13}{} (attempt {}/{}){}",
            format!("job {}", j.id),
            j.state,
            j.attempts,
            j.max_attempts,
            j.last_error
                .as_deref()
                .map(|e| format!(": {}", sanitize(e, 200)))
                .unwrap_or_default()
        );
    }
    for r in &d.runs {
        println!(
            "  run {}       attempt {}: {} at {}",
            r.id, r.attempt, r.outcome, r.finished_at
        );
    }
    for p in &d.pull_requests {
        println!(
            "  {:<13}{} {}",
            format!("PR #{}", p.number),
            pull_request_state_name(p.state),
            sanitize(&p.title, 100)
        );
    }
    if !d.timeline.is_empty() {
        println!("  timeline:");
        for t in &d.timeline {
            let change = match t.from {
                None => format!("→ {}", t.to),
                Some(from) if from == t.to => format!("{} (no change)", t.to),
                Some(from) => format!("{from} → {}", t.to),
            };
            println!(
                "    {}  {:<26} by {}: {}",
                t.at,
                change,
                sanitize(&t.actor, 40),
                sanitize(&t.reason, 200)
            );
        }
    }
    Ok(())
}

/// Prints the pull requests.
pub(crate) fn prs(list: &[PullRequestRecord], json: bool) -> Result<()> {
    if printed_json_or_none(list, json, "no pull requests yet")? {
        return Ok(());
    }
    println!(
        "{:>5}  {:<7}  {:>8}  {:<16}  {:<32}  TITLE",
        "PR", "STATE", "INCIDENT", "DECISION", "BRANCH"
    );
    for p in list {
        println!(
            "{:>5}  {:<7}  {:>8}  {:<16}  {:<32}  {}",
            format!("#{}", p.number),
            pull_request_state_name(p.state),
            p.incident_id.map_or_else(|| "-".to_string(), |i| i.to_string()),
            sanitize(&p.decision, 16),
            sanitize(&p.branch, 32),
            sanitize(&p.title, 80)
        );
    }
    Ok(())
}
