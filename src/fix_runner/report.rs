//! What a fix run shows a person: one plain line per pipeline progress event
//! ([`progress_line`]) and the report on disk ([`write_report`]).

use std::path::{Path, PathBuf};

use bugstack_fix::{render_markdown, FixReport, Progress};

use crate::terminal::sanitize;
use crate::{Error, Result};

/// Where [`write_report`] puts reports, inside the directory it is given.
pub const REPORTS_DIR: &str = "reports";

/// Writes `report` as `<dir>/reports/<incident>-<run>.json` and `.md` (the
/// Markdown is the pull request body, [`render_markdown`]); returns both
/// paths. Characters other than ASCII letters, digits and `-` in the file
/// stem become `_`.
pub fn write_report(dir: &Path, report: &FixReport, run: &str) -> Result<(PathBuf, PathBuf)> {
    let dir = dir.join(REPORTS_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let stem: String = format!("{}-{run}", report.incident.id)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    let json = dir.join(format!("{stem}.json"));
    let md = dir.join(format!("{stem}.md"));
    std::fs::write(&json, report.to_json()).map_err(|e| Error::io(format!("cannot write {}", json.display()), e))?;
    std::fs::write(&md, render_markdown(report)).map_err(|e| Error::io(format!("cannot write {}", md.display()), e))?;
    Ok((json, md))
}

/// One plain line for a pipeline progress event. Text that comes from the
/// event, the repository or a check (targets, file names, reasons) is
/// sanitized: control characters become `?`, long text is cut.
pub fn progress_line(p: &Progress) -> String {
    match p {
        Progress::ContextStarted => "building the code context".into(),
        Progress::ContextBuilt {
            snippets,
            tokens,
            target,
        } => format!(
            "context: {snippets} snippets, ~{tokens} tokens, target {}",
            target.as_deref().map_or_else(|| "unknown".into(), |t| sanitize(t, 200))
        ),
        Progress::Reproduced { status, detail } => {
            format!("reproduction: {status:?}: {}", sanitize(detail, 300))
        }
        Progress::AttemptStarted { attempt } => format!("attempt {attempt}: generating a patch"),
        Progress::PatchGenerated {
            attempt,
            files,
            changed_lines,
        } => format!(
            "attempt {attempt}: patch changes {changed_lines} line(s) in {}",
            sanitize(&files.join(", "), 200)
        ),
        Progress::PatchRejected { attempt, reason } => {
            format!("attempt {attempt}: patch rejected: {}", sanitize(reason, 300))
        }
        Progress::CheckFinished { attempt, check } => format!(
            "attempt {attempt}: check {} ({}): {:?} in {:.1}s",
            sanitize(&check.name, 40),
            sanitize(&check.command, 120),
            check.status,
            check.duration_ms as f64 / 1000.0
        ),
        Progress::Validated { attempt, passed } => format!(
            "attempt {attempt}: {}",
            if *passed { "validated" } else { "checks failed" }
        ),
        Progress::Scored { score } => format!("confidence {score:.2}"),
        Progress::Decided { decision } => {
            format!("decision {:?}: {}", decision.kind, sanitize(&decision.reason, 300))
        }
        Progress::Deployed { pull_request, merged } => format!(
            "pull request #{pull_request} {}",
            if *merged { "merged" } else { "opened for review" }
        ),
        Progress::DeployFailed { reason } => format!("delivery failed: {}", sanitize(reason, 300)),
    }
}

#[cfg(test)]
mod tests {
    use bugstack_core::{Event, EventKind, Level, Timestamp};
    use bugstack_fix::{Decision, DecisionKind, Incident};

    use super::*;

    #[test]
    fn progress_lines_strip_control_characters() {
        let line = progress_line(&Progress::PatchRejected {
            attempt: 2,
            reason: "bad\x1b[2Jthing".into(),
        });
        assert_eq!(line, "attempt 2: patch rejected: bad?[2Jthing");
        let line = progress_line(&Progress::Decided {
            decision: Decision {
                kind: DecisionKind::NoFix,
                reason: "no\x07 template".into(),
            },
        });
        assert_eq!(line, "decision NoFix: no? template");
        let line = progress_line(&Progress::ContextBuilt {
            snippets: 3,
            tokens: 120,
            target: Some("src/cart.rs\r\n:38".into()),
        });
        assert_eq!(line, "context: 3 snippets, ~120 tokens, target src/cart.rs??:38");
    }

    #[test]
    fn reports_are_written_as_json_and_markdown_under_a_safe_name() {
        let dir = tempfile::tempdir().unwrap();
        let event = Event::new(
            EventKind::Panic,
            Level::Fatal,
            "attempt to divide by zero",
            Timestamp::from_millis(1),
        );
        let context = bugstack_fix::FixContext::new(Incident::from_event("../7", event), "/repo", "HEAD");
        let decision = Decision {
            kind: DecisionKind::NoFix,
            reason: "no template matches".into(),
        };
        let report = FixReport::new(context, "template", decision, Timestamp::from_millis(1));
        let (json, md) = write_report(dir.path(), &report, "12 34").unwrap();
        assert_eq!(json, dir.path().join("reports").join("___7-12_34.json"));
        assert_eq!(md, dir.path().join("reports").join("___7-12_34.md"));
        let parsed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(parsed["decision"]["reason"], "no template matches");
        assert!(std::fs::read_to_string(&md).unwrap().contains("no template matches"));
    }
}
