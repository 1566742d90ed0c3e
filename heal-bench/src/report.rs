//! The benchmark's report: one entry per case, totals, a Markdown table.

use serde::Serialize;

use crate::check::CaseCheck;
use crate::heal::HealRun;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A fix branch on which the case's reproducer passes (within its
    /// timeout) and the crate's suite is green.
    Healed,
    /// A fix was proposed, but the reproducer still fails or hangs, or the
    /// suite broke: the dangerous number.
    ProposedNotHealed,
    /// bugstack proposed no fix.
    NoFix,
    /// A validated fix held in the report, not proposed: below the
    /// policy's `review_threshold`, or a value made up after the crate's
    /// own constructor accepted the reproducing input.
    Held,
    /// bugstack (or the harness around it) failed before deciding; counted
    /// like a case not healed.
    Error,
    /// `--check-only`: the case is sound; it was not run through bugstack.
    Checked,
    /// The case itself is unsound (its reproducer does not panic on the
    /// buggy release, or does not pass on the fixed one, or the suite is red
    /// on the buggy release, or its source cannot be fetched); not counted.
    Broken,
}

impl Outcome {
    /// The label used in tables.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Healed => "healed",
            Outcome::ProposedNotHealed => "proposed, NOT healed",
            Outcome::NoFix => "no fix",
            Outcome::Held => "held (not proposed)",
            Outcome::Error => "error",
            Outcome::Checked => "checked",
            Outcome::Broken => "broken case",
        }
    }
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// The case's name.
    pub name: String,
    /// The crate.
    #[serde(rename = "crate")]
    pub krate: String,
    /// Buggy release.
    pub buggy: String,
    /// Fixed release.
    pub fixed: String,
    /// Panic class.
    pub class: String,
    /// The outcome.
    pub outcome: Outcome,
    /// Why, in a line or a few.
    pub detail: String,
    /// The case check, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<CaseCheck>,
    /// What bugstack did, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heal: Option<HealRun>,
    /// Upstream fix size: the recorded count, else the release diff of the
    /// fix files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_fix_lines: Option<u32>,
    /// `+`/`-` lines of the fix files between the two releases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_release_diff_lines: Option<u32>,
    /// Seconds checking the case took.
    pub check_secs: f64,
    /// Seconds the whole case took.
    pub total_secs: f64,
}

/// Totals over a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Cases run.
    pub cases: usize,
    /// Cases counted (not broken).
    pub counted: usize,
    /// Healed cases.
    pub healed: usize,
    /// Fixes proposed that do not heal.
    pub proposed_not_healed: usize,
    /// Cases with no fix proposed.
    pub no_fix: usize,
    /// Cases where bugstack failed before deciding.
    pub errors: usize,
    /// Broken cases (not counted).
    pub broken: usize,
    /// `healed / counted`, 0 when nothing counted.
    pub heal_rate: f64,
    /// Healed patches that carry their own regression test.
    pub healed_with_regression_test: usize,
    /// Healed cases whose fix is proven: its panic reproduced, and the
    /// reproduction's regression test failing on the base and passing with
    /// the fix.
    pub proven_healed: usize,
    /// Held fixes (see [`Outcome::Held`]).
    pub held: usize,
    /// What `review_threshold = 0.0` (unproven fixes proposed too) makes of
    /// this run: the healed cases, and the fixes held below the threshold
    /// whose patch heals when applied.
    pub with_unproven_healed: usize,
    /// The same: the fixes proposed that do not heal, and the held ones
    /// that would not (the dangerous number with unproven fixes proposed).
    pub with_unproven_not_healed: usize,
    /// What `auto_merge = true` (default threshold) makes of this run:
    /// healed cases whose fix it would merge ([`crate::heal::HealRun::would_auto_merge`]).
    pub auto_merged_healed: usize,
    /// The same: fixes it would merge that do not heal (the number that
    /// must stay 0 for a team to turn `auto_merge` on).
    pub auto_merged_not_healed: usize,
    /// Wall time of the run in seconds.
    pub wall_secs: f64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// UTC date and time the run started (`date -u` form).
    pub started: String,
    /// The bugstack binary used.
    pub bugstack: String,
    /// Totals.
    pub totals: Totals,
    /// One entry per case.
    pub cases: Vec<CaseReport>,
}

/// Totals of `cases`.
pub fn totals(cases: &[CaseReport], wall_secs: f64) -> Totals {
    let count = |o: Outcome| cases.iter().filter(|c| c.outcome == o).count();
    let proven = |o: Outcome| {
        cases
            .iter()
            .filter(|c| c.outcome == o && c.heal.as_ref().is_some_and(|h| h.proven))
            .count()
    };
    let held_judged = |heals: bool| {
        cases
            .iter()
            .filter(|c| c.outcome == Outcome::Held)
            .filter_map(|c| c.heal.as_ref())
            .filter(|h| h.held_below_threshold() && h.repro_on_fix.is_some() && h.heals() == heals)
            .count()
    };
    let merged = |o: Outcome| {
        cases
            .iter()
            .filter(|c| c.outcome == o && c.heal.as_ref().is_some_and(|h| h.would_auto_merge()))
            .count()
    };
    let mut t = Totals {
        cases: cases.len(),
        healed: count(Outcome::Healed),
        proposed_not_healed: count(Outcome::ProposedNotHealed),
        no_fix: count(Outcome::NoFix),
        errors: count(Outcome::Error),
        broken: count(Outcome::Broken),
        healed_with_regression_test: cases
            .iter()
            .filter(|c| c.outcome == Outcome::Healed)
            .filter(|c| c.heal.as_ref().is_some_and(|h| h.has_regression_test))
            .count(),
        held: count(Outcome::Held),
        proven_healed: proven(Outcome::Healed),
        with_unproven_healed: count(Outcome::Healed) + held_judged(true),
        with_unproven_not_healed: count(Outcome::ProposedNotHealed) + held_judged(false),
        auto_merged_healed: merged(Outcome::Healed),
        auto_merged_not_healed: merged(Outcome::ProposedNotHealed),
        wall_secs,
        ..Totals::default()
    };
    t.counted = t.cases - t.broken - count(Outcome::Checked);
    if t.counted > 0 {
        t.heal_rate = t.healed as f64 / t.counted as f64;
    }
    t
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The report as Markdown: a table per case and the totals.
pub fn markdown(report: &BenchReport) -> String {
    let t = &report.totals;
    let mut out = format!(
        "Run started {}; {} cases, {} counted ({} broken).\n\n\
         | | count |\n|---|---|\n\
         | **healed** | **{}** of {} ({:.0}%) |\n\
         | proposed, NOT healed (the dangerous number) | {} |\n\
         | no fix proposed | {} |\n| held (not proposed) | {} |\n| error before a decision | {} |\n\
         | broken case (not counted) | {} |\n\
         | healed patches carrying a regression test | {} of {} |\n\
         | healed and proven (a regression test that fails before and passes after) | {} of {} |\n\
         | with `review_threshold = 0.0` (unproven fixes proposed too): healed, proposed NOT healed | {} ({:.0}%), {} |\n\
         | with `auto_merge = true` (threshold 0.8): merged and healed, merged NOT healed | {}, {} |\n\
         | wall time | {:.0} s |\n\n\
         | case | crate buggy→fixed | class | outcome | proven | bugstack patch (lines) | upstream fix (lines) | fix s | total s |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        report.started,
        t.cases,
        t.counted,
        t.broken,
        t.healed,
        t.counted,
        t.heal_rate * 100.0,
        t.proposed_not_healed,
        t.no_fix,
        t.held,
        t.errors,
        t.broken,
        t.healed_with_regression_test,
        t.healed,
        t.proven_healed,
        t.healed,
        t.with_unproven_healed,
        if t.counted > 0 {
            t.with_unproven_healed as f64 * 100.0 / t.counted as f64
        } else {
            0.0
        },
        t.with_unproven_not_healed,
        t.auto_merged_healed,
        t.auto_merged_not_healed,
        t.wall_secs,
    );
    for c in &report.cases {
        let patch = c
            .heal
            .as_ref()
            .and_then(|h| h.patch_lines)
            .map_or("–".to_string(), |n| n.to_string());
        let upstream = match (c.upstream_fix_lines, c.upstream_release_diff_lines) {
            (Some(n), _) => n.to_string(),
            (None, Some(n)) => format!("≤{n}"),
            (None, None) => "–".into(),
        };
        let fix_secs = c
            .heal
            .as_ref()
            .map_or("–".to_string(), |h| format!("{:.0}", h.fix_secs));
        out.push_str(&format!(
            "| {} | {} {}→{} | {} | {} | {} | {} | {} | {} | {:.0} |\n",
            cell(&c.name),
            cell(&c.krate),
            cell(&c.buggy),
            cell(&c.fixed),
            cell(&c.class),
            c.outcome.label(),
            match &c.heal {
                Some(h) if h.proven => "yes",
                Some(h) if h.branch.is_some() || h.decision == "held" => "no",
                _ => "–",
            },
            patch,
            upstream,
            fix_secs,
            c.total_secs,
        ));
    }
    out.push_str("\nDetails:\n\n");
    for c in &report.cases {
        let first_line = c.detail.lines().next().unwrap_or_default();
        // What a maintainer must confirm before it merges, when anything.
        let call = c
            .heal
            .as_ref()
            .and_then(|h| h.judgement_call.as_deref())
            .map(|j| format!(" (for review: the fix {})", cell(j)))
            .unwrap_or_default();
        out.push_str(&format!(
            "- `{}` ({}): {}{call}\n",
            c.name,
            c.outcome.label(),
            cell(first_line)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(outcome: Outcome, heal: HealRun) -> CaseReport {
        CaseReport {
            name: "c".into(),
            krate: "k".into(),
            buggy: "1.0.0".into(),
            fixed: "1.0.1".into(),
            class: "overflow".into(),
            outcome,
            detail: String::new(),
            check: None,
            heal: Some(heal),
            upstream_fix_lines: None,
            upstream_release_diff_lines: None,
            check_secs: 0.0,
            total_secs: 0.0,
        }
    }

    /// `auto_merge = true` would merge a delivered, proven fix scored at
    /// the threshold, never one that makes up a value, however it scores.
    #[test]
    fn auto_merge_totals_leave_out_judgement_calls() {
        let merged = HealRun {
            branch: Some("bugstack/fix-1".into()),
            proven: true,
            confidence: Some(1.0),
            ..HealRun::default()
        };
        let invented = HealRun {
            judgement_call: Some("makes up `0`".into()),
            ..merged.clone()
        };
        let unproven = HealRun {
            proven: false,
            confidence: Some(0.45),
            ..merged.clone()
        };
        let cases = [
            case(Outcome::Healed, merged.clone()),
            case(Outcome::Healed, unproven),
            case(Outcome::ProposedNotHealed, invented),
            case(Outcome::ProposedNotHealed, merged),
        ];
        let t = totals(&cases, 1.0);
        assert_eq!((t.auto_merged_healed, t.auto_merged_not_healed), (1, 1));
        assert_eq!(t.proven_healed, 1);
        let md = markdown(&BenchReport {
            started: "now".into(),
            bugstack: "bugstack".into(),
            totals: t,
            cases: cases.to_vec(),
        });
        assert!(md.contains("merged and healed, merged NOT healed | 1, 1 |"), "{md}");
        assert!(md.contains("(for review: the fix makes up `0`)"), "{md}");
    }

    /// What `review_threshold = 0.0` would make of a run: the fixes held
    /// below the threshold count by what their patch does on the base; a
    /// fix held for another reason (held at any threshold) does not count.
    #[test]
    fn fixes_held_below_the_threshold_count_by_their_patch() {
        use crate::process::Status;
        let proven = HealRun {
            branch: Some("bugstack/fix-1".into()),
            proven: true,
            repro_on_fix: Some(Status::Passed),
            suite_on_fix: Some(Status::Passed),
            ..HealRun::default()
        };
        let held = |reason: &str, repro: Status| HealRun {
            decision: "held".into(),
            reason: reason.into(),
            repro_on_fix: Some(repro),
            suite_on_fix: Some(Status::Passed),
            ..HealRun::default()
        };
        let below = "confidence 0.45 is below review_threshold 0.50 (not reproduced): held in the report, not proposed";
        let cases = [
            case(Outcome::Healed, proven),
            case(Outcome::Held, held(below, Status::Passed)),
            case(Outcome::Held, held(below, Status::Failed)),
            case(
                Outcome::Held,
                held("the reproducing input was accepted by `X::new`", Status::Passed),
            ),
        ];
        let t = totals(&cases, 1.0);
        assert_eq!((t.healed, t.proven_healed, t.held), (1, 1, 3));
        assert_eq!((t.with_unproven_healed, t.with_unproven_not_healed), (2, 1));
        let md = markdown(&BenchReport {
            started: "now".into(),
            bugstack: "bugstack".into(),
            totals: t,
            cases: cases.to_vec(),
        });
        assert!(
            md.contains("| with `review_threshold = 0.0` (unproven fixes proposed too): healed, proposed NOT healed | 2 (50%), 1 |"),
            "{md}"
        );
        assert!(
            md.contains("| healed and proven (a regression test that fails before and passes after) | 1 of 1 |"),
            "{md}"
        );
    }
}
