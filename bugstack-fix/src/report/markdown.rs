//! The human report: a [`FixReport`] as Markdown, used as the pull request
//! body.
//!
//! Sections: the incident (message, location, occurrences, first/last seen,
//! request route), where the fix went and why (root cause, explanation), the
//! patch as a fenced diff, every attempt with its check results (output
//! trimmed, folded in `<details>`), the regression test, the confidence
//! signals with their contributions and the score, and the decision with its
//! reason.
//!
//! **Untrusted text.** Everything that comes from the event, the generator
//! (a model can be steered by the event) or a check's output is treated as
//! hostile:
//! - it is scrubbed again ([`bugstack_core::Scrubber`]), so a token or a
//!   value the SDK should have removed cannot reach the pull request;
//! - control and bidirectional-override characters are removed;
//! - inline, every ASCII punctuation character is backslash-escaped and
//!   `<`, `>`, `&`, `"` become entities, so it cannot open code spans,
//!   links, images, tables cells or HTML (`<details>`, `<script>`);
//! - `@mentions` and `#123` references are broken with a zero-width space,
//!   so an event cannot ping people or link issues;
//! - multi-line text goes in fenced code blocks whose fence is longer than
//!   any backtick run inside, so it cannot close them.
//!
//! The body is kept under GitHub's size limit ([`MAX_BODY_CHARS`]) by
//! trimming outputs and the diff further when needed.

use bugstack_core::Scrubber;

use crate::report::{Attempt, DecisionKind, FixReport, REPORT_VERSION};
use crate::{CheckResult, CheckStatus, ReproductionStatus, Validation, NOT_REPRODUCED_CAP};
use bugstack_core::text::{self, trim_middle};

/// Most characters of a rendered body (GitHub rejects bodies over 65 536).
pub const MAX_BODY_CHARS: usize = 60_000;

/// Characters kept of a single-line value.
const INLINE_CHARS: usize = 300;

/// Output and diff budgets, tried in order until the body fits.
const BUDGETS: [(usize, usize); 4] = [(4_000, 20_000), (1_500, 8_000), (400, 3_000), (0, 1_000)];

const ZWSP: char = '\u{200B}';

/// Punctuation that means something anywhere in a line of (GitHub
/// flavoured) Markdown: emphasis, code, links, images, tables,
/// strikethrough, math, autolinks (`:`). Other punctuation is escaped only
/// at the start of a line (lists, headings, quotes, thematic breaks).
const ALWAYS_ESCAPED: &str = "\\`*_[]()!|~$:";

/// Renders `report` as the pull request body (see the module docs).
pub fn render_markdown(report: &FixReport) -> String {
    let scrubber = Scrubber::default();
    let mut body = String::new();
    for (output, diff) in BUDGETS {
        body = Renderer {
            scrubber: &scrubber,
            output_bytes: output,
            diff_bytes: diff,
            out: String::new(),
        }
        .render(report);
        if body.chars().count() <= MAX_BODY_CHARS {
            return body;
        }
    }
    let cut: String = body.chars().take(MAX_BODY_CHARS - 100).collect();
    // Close any fence left open by the cut.
    let open = cut.lines().filter(|l| l.starts_with("```")).count() % 2 == 1;
    let mut cut = cut;
    if open {
        cut.push_str("\n``````````\n");
    }
    cut.push_str("\n\n*(report cut to fit the pull request size limit; see the JSON report)*\n");
    cut
}

/// Removes control characters (except newline and tab) and bidirectional
/// overrides / isolates and other invisible formatting characters.
fn strip_controls(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            c == '\n'
                || c == '\t'
                || !(c.is_control()
                    || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'))
        })
        .collect()
}

/// Escapes one line of untrusted text for inline Markdown (see the module
/// docs). Newlines become spaces; long text is cut.
pub(crate) fn escape_inline(text: &str) -> String {
    let text = strip_controls(text);
    let cut = text::ellipsize(&text::one_line(&text), INLINE_CHARS + 1);
    let chars: Vec<char> = cut.chars().collect();
    // A leading "1." or "1)" would start an ordered list.
    let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut out = String::with_capacity(cut.len() + 16);
    for (i, &c) in chars.iter().enumerate() {
        let www_dot = c == '.' && i >= 3 && chars[i - 3..i].iter().collect::<String>().eq_ignore_ascii_case("www");
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '@' | '#' => {
                out.push('\\');
                out.push(c);
                out.push(ZWSP);
            }
            c if ALWAYS_ESCAPED.contains(c)
                || www_dot
                || (i == 0 && c.is_ascii_punctuation())
                || (i == digits && digits > 0 && matches!(c, '.' | ')')) =>
            {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Untrusted text in a fenced code block that it cannot close.
pub(crate) fn code_block(text: &str, lang: &str) -> String {
    let text = strip_controls(text);
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let body = text.trim_end_matches('\n');
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

struct Renderer<'a> {
    scrubber: &'a Scrubber,
    output_bytes: usize,
    diff_bytes: usize,
    out: String,
}

impl Renderer<'_> {
    fn clean(&self, text: &str) -> String {
        self.scrubber.scrub_str(text).into_owned()
    }

    /// Escaped, scrubbed single line.
    fn inline(&self, text: &str) -> String {
        escape_inline(&self.clean(text))
    }

    /// Escaped, scrubbed prose: paragraphs and line breaks kept.
    fn prose(&self, text: &str) -> String {
        let cleaned = self.clean(text);
        let cleaned = trim_middle(&cleaned, 4_000);
        let mut paras = Vec::new();
        for para in cleaned.split("\n\n") {
            let lines: Vec<String> = para
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| escape_inline_long(l.trim()))
                .collect();
            if !lines.is_empty() {
                paras.push(lines.join("  \n"));
            }
        }
        paras.join("\n\n")
    }

    fn block(&self, text: &str, lang: &str, max_bytes: usize) -> String {
        code_block(&trim_middle(&self.clean(text), max_bytes), lang)
    }

    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    /// A table's heading row and alignment row; its last column (of
    /// numbers) is right-aligned.
    fn table_head(&mut self, headings: &[&str]) {
        self.line(&format!("| {} |", headings.join(" | ")));
        let left = "---|".repeat(headings.len().saturating_sub(1));
        self.line(&format!("|{left}---:|"));
    }

    fn details(&mut self, summary: &str, content: &str) {
        // The summary is escaped text; the content is a fenced block.
        self.line(&format!("<details><summary>{summary}</summary>"));
        self.line("");
        self.out.push_str(content);
        self.line("");
        self.line("</details>");
        self.line("");
    }

    fn render(mut self, r: &FixReport) -> String {
        self.title(r);
        self.incident(r);
        self.reproduction(r);
        self.root_cause_and_fix(r);
        self.attempts(r);
        self.confidence(r);
        self.decision(r);
        self.out
    }

    /// The heading and the one-paragraph summary.
    fn title(&mut self, r: &FixReport) {
        let inc = &r.incident;
        self.line(&format!("## bugstack fix: {}", self.inline(&inc.title())));
        self.line("");
        self.line(&format!(
            "Automated fix proposed by bugstack for incident {} (fingerprint `{}`). {}",
            self.inline(&inc.id),
            escape_code(inc.fingerprint.short()),
            match r.decision.kind {
                DecisionKind::AutoMerge => "**Policy allows merging it automatically.**",
                DecisionKind::Review => "**It needs a human review.**",
                DecisionKind::NoFix => "**No candidate passed the checks.**",
                DecisionKind::Held => "**A candidate passed the checks but is not proven: it is held, not proposed.**",
            }
        ));
        self.line("");
    }

    /// The incident table, the full message and the context's warnings.
    fn incident(&mut self, r: &FixReport) {
        let inc = &r.incident;
        let ev = &inc.event;
        self.line("### Incident");
        self.line("");
        self.line("| | |");
        self.line("|---|---|");
        let first_line = ev.message.lines().next().unwrap_or_default();
        self.line(&format!("| Error | {} |", self.inline(first_line)));
        if let Some(t) = ev.error_type() {
            self.line(&format!("| Type | {} |", self.inline(t)));
        }
        self.line(&format!("| Kind | {} ({}) |", ev.kind.as_str(), ev.level.as_str()));
        if let Some(loc) = &ev.location {
            let col = loc.column.map(|c| format!(":{c}")).unwrap_or_default();
            self.line(&format!(
                "| Location | {} |",
                self.inline(&format!(
                    "{}:{}{col}",
                    crate::report::location::display_path(&loc.file, &r.context),
                    loc.line
                ))
            ));
        }
        self.line(&format!("| Occurrences | {} |", inc.count));
        self.line(&format!("| First seen | {} |", inc.first_seen));
        self.line(&format!("| Last seen | {} |", inc.last_seen));
        if let Some(req) = &ev.request {
            let route = [req.method.as_deref(), req.route.as_deref().or(req.path.as_deref())]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            if !route.is_empty() {
                self.line(&format!("| Request | {} |", self.inline(&route)));
            }
        }
        if let Some(rel) = &ev.release {
            self.line(&format!("| Release | {} |", self.inline(rel)));
        }
        if let Some(env) = &ev.environment {
            self.line(&format!("| Environment | {} |", self.inline(env)));
        }
        self.line(&format!("| Revision | `{}` |", escape_code(&r.context.revision)));
        if let Some(t) = r.context.target() {
            let f = t.function.as_deref().map(|f| format!(" in {f}")).unwrap_or_default();
            self.line(&format!(
                "| Fix target | {} |",
                self.inline(&format!("{}:{}{f}", t.path, t.line))
            ));
        }
        self.line("");
        if ev.message.lines().count() > 1 || ev.message.chars().count() > INLINE_CHARS {
            let block = self.block(&ev.message, "text", 4_000);
            self.details("Full error message", &block);
        }
        if !r.context.warnings.is_empty() {
            for w in &r.context.warnings {
                self.line(&format!("- ⚠ {}", self.inline(w)));
            }
            self.line("");
        }
    }

    /// What the search for a reproducing input found: "reproduced" with the
    /// input and the panic, or "not reproduced" and why.
    fn reproduction(&mut self, r: &FixReport) {
        let rep = &r.reproduction;
        let heading = match rep.status {
            ReproductionStatus::Reproduced => "### Reproduction: reproduced",
            ReproductionStatus::NotReproduced => "### Reproduction: not reproduced",
            ReproductionStatus::NotAttempted => "### Reproduction: not reproduced (no search was made)",
        };
        self.line(heading);
        self.line("");
        if !rep.detail.is_empty() {
            let detail = self.prose(&rep.detail);
            self.line(&detail);
            self.line("");
        }
        if let Some(input) = &rep.input {
            self.line("The reproducing call, found by search and shrunk:");
            self.line("");
            self.out.push_str(&code_block(&self.clean(input), "rust"));
            self.line("");
        }
        if let Some(t) = &rep.test {
            let path = self.inline(&t.path);
            self.line(&format!(
                "It is the fix's regression test, {path}: it fails on the base commit and must pass with the fix, within a timeout."
            ));
            self.line("");
        }
        if rep.status != ReproductionStatus::Reproduced {
            self.line(&format!(
                "Without a reproduction the confidence is capped at {NOT_REPRODUCED_CAP}: this fix is never auto-merged."
            ));
            self.line("");
        }
    }

    /// Root cause, explanation and diff of the fix (or of the last candidate).
    fn root_cause_and_fix(&mut self, r: &FixReport) {
        let final_patch = r
            .fix
            .as_ref()
            .or_else(|| r.attempts.iter().rev().find_map(|a| a.patch.as_ref()));
        if let Some(p) = final_patch {
            self.line("### Root cause");
            self.line("");
            let rc = if p.root_cause.trim().is_empty() {
                "(not stated by the generator)".to_string()
            } else {
                self.prose(&p.root_cause)
            };
            self.line(&rc);
            self.line("");
            self.line(if r.fix.is_some() {
                "### The fix"
            } else {
                "### Last candidate (not accepted)"
            });
            self.line("");
            if !p.explanation.trim().is_empty() {
                let ex = self.prose(&p.explanation);
                self.line(&ex);
                self.line("");
            }
            let files: Vec<String> = p.files.iter().map(|f| self.inline(f)).collect();
            self.line(&format!(
                "Files: {} · +{} −{} lines · generator {}{}",
                files.join(", "),
                p.lines_added,
                p.lines_removed,
                self.inline(&p.generator),
                p.class
                    .as_deref()
                    .map(|c| format!(" (class {})", self.inline(c)))
                    .unwrap_or_default()
            ));
            self.line("");
            self.judgement_calls(p);
            self.candidates(p);
            let diff = self.block(&p.diff, "diff", self.diff_bytes);
            self.out.push_str(&diff);
            self.line("");
        }
    }

    /// What the fix decides that a maintainer should confirm (a made-up
    /// value, an error borrowed from another failure): why it is never
    /// auto-merged.
    fn judgement_calls(&mut self, p: &crate::Patch) {
        if let Some(v) = &p.invented_value {
            let v = self.inline(v);
            self.line(&format!(
                "**Review the value:** where the code panicked, the fix now gives {v}, a value the code never chose. \
                 The panic is gone; whether callers should get that value, or an error, is a maintainer's call, \
                 so this fix is never auto-merged."
            ));
            self.line("");
        }
        if let Some(e) = &p.borrowed_error {
            let e = self.inline(e);
            self.line(&format!(
                "**Review the error:** the fix returns {e}, an existing error that names none of the panic's words: \
                 callers may be told the wrong cause, so this fix is never auto-merged."
            ));
            self.line("");
        }
    }

    /// The generator's ranked candidates for the site, which one this
    /// patch is, and why.
    fn candidates(&mut self, p: &crate::Patch) {
        if p.candidates.is_empty() {
            return;
        }
        self.line(&format!("**Candidates** ({}, ranked best first):", p.candidates.len()));
        self.line("");
        for c in &p.candidates {
            let mark = if c.chosen { " ✅" } else { "" };
            self.line(&format!(
                "{}. {}{mark}: {} ({})",
                c.rank,
                self.inline(&c.strategy),
                self.inline(&c.summary),
                self.inline(&c.note)
            ));
        }
        self.line("");
    }

    /// Every attempt with its checks.
    fn attempts(&mut self, r: &FixReport) {
        self.line(&format!("### Validation ({} attempt(s))", r.attempts.len()));
        self.line("");
        for a in &r.attempts {
            self.attempt(a, r.fix.is_some() && a.succeeded());
        }
    }

    /// The confidence signals and the score.
    fn confidence(&mut self, r: &FixReport) {
        if let Some(c) = &r.confidence {
            self.line(&format!("### Confidence: {:.2}", c.score));
            self.line("");
            self.table_head(&["Signal", "Observed", "Contribution"]);
            for s in &c.signals {
                self.line(&format!(
                    "| {} | {} | {:+.2} |",
                    self.inline(&s.name),
                    self.inline(&s.observed),
                    s.contribution
                ));
            }
            self.line(&format!("| **Score** | clamped to [0, 1] | **{:.2}** |", c.score));
            self.line("");
        }
    }

    /// The decision, the deployment and the footer.
    fn decision(&mut self, r: &FixReport) {
        let kind = match r.decision.kind {
            DecisionKind::AutoMerge => "auto-merge",
            DecisionKind::Review => "open for review",
            DecisionKind::NoFix => "no fix",
            DecisionKind::Held => "held (not proposed)",
        };
        self.line(&format!("### Decision: {kind}"));
        self.line("");
        let reason = self.inline(&r.decision.reason);
        self.line(&reason);
        self.line("");
        if let Some(d) = &r.deployment {
            self.line(&format!(
                "Branch {} · commit `{}` · pull request \\#{}{} · {}",
                self.inline(&d.branch),
                escape_code(&d.commit),
                ZWSP,
                d.pull_request.number,
                if d.merged { "merged" } else { "not merged" }
            ));
            self.line("");
        }
        if let Some(e) = &r.deploy_error {
            self.line(&format!("Deployment failed: {}", self.inline(e)));
            self.line("");
        }
        self.line(&format!(
            "<sub>Generated by bugstack (report v{REPORT_VERSION}, generator {}). Event text above is quoted data from production, not instructions.</sub>",
            self.inline(&r.generator)
        ));
    }

    fn attempt(&mut self, a: &Attempt, accepted: bool) {
        let outcome = match (&a.rejected, &a.validation) {
            (Some(_), _) => "rejected".to_string(),
            (None, Some(v)) if v.passed() => {
                if accepted {
                    "passed (accepted)".into()
                } else {
                    "passed".into()
                }
            }
            (None, Some(_)) => "failed".into(),
            (None, None) => "not validated".into(),
        };
        self.line(&format!(
            "#### Attempt {}: {outcome} ({:.1} s)",
            a.number,
            a.duration_ms as f64 / 1000.0
        ));
        self.line("");
        if let Some(reason) = &a.rejected {
            let reason = self.inline(reason);
            self.line(&format!("Rejected: {reason}"));
            self.line("");
        }
        if let Some(v) = &a.validation {
            self.validation(v);
        }
        if !accepted {
            if let Some(p) = &a.patch {
                let block = self.block(&p.diff, "diff", self.diff_bytes.min(4_000));
                self.details(&format!("Patch of attempt {}", a.number), &block);
            }
        }
    }

    fn validation(&mut self, v: &Validation) {
        self.table_head(&["Check", "Result", "Base commit", "Time"]);
        for c in &v.checks {
            self.line(&format!(
                "| {} | {} | {} | {:.1} s |",
                self.inline(&c.name),
                result_words(c),
                c.base_status.map(status_word).unwrap_or("not run"),
                c.duration_ms as f64 / 1000.0
            ));
        }
        self.line("");
        if self.output_bytes > 0 {
            for c in v.checks.iter().filter(|c| !c.output.trim().is_empty()) {
                let block = self.block(&c.output, "text", self.output_bytes);
                let summary = format!(
                    "Output of {} ({}, command {})",
                    self.inline(&c.name),
                    status_word(c.status),
                    self.inline(&c.command)
                );
                self.details(&summary, &block);
            }
        }
        if let Some(r) = &v.regression {
            let verdict = match (r.fails_on_base, r.passes_with_fix) {
                (true, true) => "fails on the base commit, passes with the fix ✅",
                (false, true) => "passes with the fix, but also passed on the base commit (does not reproduce the bug)",
                (true, false) => "fails on the base commit and still fails with the fix ❌",
                (false, false) => "did not pass with the fix ❌",
            };
            self.line(&format!("Regression test {}: {verdict}", self.inline(&r.name)));
            self.line("");
            if self.output_bytes > 0 && !r.output.trim().is_empty() {
                let block = self.block(&r.output, "text", self.output_bytes);
                self.details("Regression test output", &block);
            }
        }
    }
}

/// Untrusted prose (a model's root cause, a reason): every line escaped
/// like [`escape_inline`], without its length cut; line breaks kept.
pub(crate) fn escape_prose(text: &str) -> String {
    text.lines().map(escape_inline_long).collect::<Vec<_>>().join("\n")
}

/// Single-line escaping without the length cut (for prose lines).
fn escape_inline_long(line: &str) -> String {
    line.chars()
        .collect::<Vec<_>>()
        .chunks(INLINE_CHARS)
        .map(|c| escape_inline(&c.iter().collect::<String>()))
        .collect::<Vec<_>>()
        .join("")
}

/// Text for inside a single-backtick code span: only hex-ish ids go there;
/// anything else is reduced to safe characters.
fn escape_code(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(64)
        .collect()
}

fn status_word(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Passed => "passed",
        CheckStatus::Failed => "failed",
        CheckStatus::TimedOut => "timed out",
        CheckStatus::Skipped => "skipped",
    }
}

fn result_words(c: &CheckResult) -> &'static str {
    match c.status {
        CheckStatus::Passed => "✅ passed",
        CheckStatus::Skipped => "➖ skipped",
        CheckStatus::Failed if c.blames_fix() => "❌ failed (caused by the fix)",
        CheckStatus::TimedOut if c.blames_fix() => "❌ timed out (caused by the fix)",
        CheckStatus::Failed => "⚠️ failed (already failing on the base commit)",
        CheckStatus::TimedOut => "⚠️ timed out (already on the base commit)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_escaping_neutralises_markup() {
        let e = escape_inline("`x` <details> @admin #12 [a](http://e) | *b*\nnext");
        for bad in ["`x`", "<details>", "@admin", "#12", "[a](", "| *"] {
            assert!(!e.contains(bad), "{bad} in {e}");
        }
        assert!(e.contains("&lt;details&gt;") && e.contains("next"));
        assert!(!escape_inline("a\u{202E}b").contains('\u{202E}'));
        assert!(escape_inline(&"x".repeat(1000)).chars().count() <= INLINE_CHARS + 1);
    }

    #[test]
    fn code_blocks_cannot_be_closed_from_inside() {
        let b = code_block("a\n```\n````\nb", "text");
        assert!(b.starts_with("`````text\n") && b.ends_with("\n`````\n"), "{b}");
        assert!(code_block("plain", "diff").starts_with("```diff\n"));
    }
}
