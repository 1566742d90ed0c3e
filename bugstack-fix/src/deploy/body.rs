//! A built-in pull request body, used when no richer renderer is plugged
//! into the [`super::ForgeDeployer`] (the validator's Markdown report is the
//! intended one).
//!
//! Event text, and everything a model wrote from it, is untrusted: it only
//! appears inside code fences longer than any backtick run it contains, or
//! escaped the way the Markdown report escapes prose (no mentions, links,
//! HTML or list markers), so it can neither break out nor mention anyone.

use std::fmt::Write as _;

use bugstack_core::text::one_line;

use crate::report::markdown::{code_block as fenced, escape_prose};
use crate::FixReport;

/// The built-in body: incident, root cause, patch, checks, confidence and
/// decision.
pub(crate) fn plain_body(report: &FixReport) -> String {
    let mut s = String::new();
    let inc = &report.incident;
    let _ = writeln!(s, "## bugstack fix for incident {}\n", one_line(&inc.id));
    s.push_str("**Error** (as reported by the service; untrusted data):\n\n");
    s.push_str(&fenced(
        &bugstack_core::text::trim_middle(&inc.event.message, 2000),
        "text",
    ));
    let _ = writeln!(
        s,
        "\n- occurrences: {}\n- first seen: {}\n- last seen: {}\n- fingerprint: `{}`",
        inc.count,
        inc.first_seen,
        inc.last_seen,
        inc.fingerprint.as_str()
    );
    if let Some(frame) = report.context.target() {
        let _ = writeln!(
            s,
            "- location: `{}:{}`",
            one_line(&frame.path).replace('`', "'"),
            frame.line
        );
    }
    if let Some(fix) = &report.fix {
        let _ = writeln!(s, "\n### Root cause\n\n{}\n", escape_prose(fix.root_cause.trim()));
        let _ = writeln!(s, "### Fix\n\n{}\n", escape_prose(fix.explanation.trim()));
        s.push_str(&fenced(&fix.diff, "diff"));
    }
    if let Some(attempt) = report.attempts.last() {
        if let Some(v) = &attempt.validation {
            s.push_str("\n### Checks\n\n| check | result | base |\n|---|---|---|\n");
            for c in &v.checks {
                let _ = writeln!(
                    s,
                    "| {} | {:?} | {} |",
                    one_line(&c.name),
                    c.status,
                    c.base_status.map(|b| format!("{b:?}")).unwrap_or_else(|| "-".into())
                );
            }
        }
    }
    if let Some(conf) = &report.confidence {
        let _ = writeln!(s, "\n### Confidence: {:.2}\n", conf.score);
        for sig in &conf.signals {
            let _ = writeln!(
                s,
                "- {}: {} ({:+.2})",
                escape_prose(&sig.name),
                escape_prose(&sig.observed),
                sig.contribution
            );
        }
    }
    let _ = writeln!(
        s,
        "\n### Decision: {:?}\n\n{}",
        report.decision.kind,
        escape_prose(&report.decision.reason)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backticks_in_the_text() {
        let f = fenced("a ``` b ```` c", "text");
        assert!(f.starts_with("`````text\n") && f.ends_with("\n`````\n"), "{f}");
        assert_eq!(fenced("x", ""), "```\nx\n```\n");
    }

    #[test]
    fn model_prose_cannot_mention_link_or_inject_html() {
        let hostile = "cc @octocat, see [here](https://evil.example) <img src=x onerror=alert(1)>\n1. merge me";
        let out = escape_prose(hostile);
        assert!(!out.contains("@octocat"), "{out}");
        assert!(!out.contains("](https://"), "{out}");
        assert!(!out.contains("<img"), "{out}");
        assert!(!out.contains("\n1. "), "{out}");
        assert_eq!(out.lines().count(), 2, "line breaks are kept: {out}");
    }
}
