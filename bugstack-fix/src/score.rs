//! Stage 4, score: a confidence in [0, 1] from explicit, reported signals.
//!
//! The formula is a sum of contributions, clamped to [0, 1]; every signal
//! is listed in the report with its observed value and contribution:
//!
//! | signal | observed | contribution |
//! |---|---|---|
//! | `checks_green` | every check passed (none blames the fix) | +0.35, else the total is capped at 0.20 |
//! | `attempts` | attempts needed | 1: +0.10, 2: +0.05, more: 0 |
//! | `patch_size` | changed lines | ≤4: +0.10, ≤10: +0.06, ≤20: +0.03, more: 0 |
//! | `touches_panic_line` | the patch changes the innermost in-repo frame's line (or inserts just above it) | +0.15 |
//! | `known_safe_template` | produced by the offline template generator for a recognised panic class | +0.15 |
//! | `regression_test` | a test that fails on the base and passes with the fix | fail→pass: +0.15; present otherwise: −0.10; none: 0 |
//! | `files_touched` | files changed | 1: +0.05, 2: +0.02, more: 0 |
//! | `model_rating` | the model's own confidence c | +0.20 × (c − 0.5), i.e. −0.10..+0.10 |
//! | `error_choice` | only when the fix returns an existing error that names none of the panic's words ([`Patch::borrowed_error`]) | −0.10 (and the pipeline refuses to auto-merge it) |
//! | `reproduction` | the search found an input raising the incident's panic, and its regression test fails on the base and passes with the fix | reproduced and fixed: +0.25; otherwise 0 and the total is capped at [`NOT_REPRODUCED_CAP`] |
//!
//! **Reproduced and fixed is the strongest signal.** Without it (nothing
//! reproduced the panic, no search was made, or the reproduction's test did
//! not fail on the base and pass with the fix) the score is capped at
//! [`NOT_REPRODUCED_CAP`] = 0.45, below the lowest threshold a policy may set
//! ([`MIN_CONFIDENCE_THRESHOLD`](crate::MIN_CONFIDENCE_THRESHOLD) = 0.5): such
//! a fix can be proposed, never auto-merged. `patch_size` and `files_touched`
//! do not count the reproduction's test file, and `regression_test` scores
//! only a test the generator wrote (the reproduction's test scores here).
//!
//! **Untrusted signals are capped.** `touches_panic_line` reads the event's
//! frames (sent by whoever triggered the error) and `model_rating` is the
//! model's word about itself (steerable by the same text): together they add
//! at most [`UNTRUSTED_CAP`] (their negative contributions count in full).
//! Without a regression test that fails on the base and passes with the fix,
//! an LLM fix tops out at 0.70 — below the default threshold of 0.8 — however
//! its untrusted signals read.
//!
//! A one-attempt template fix of a two-line change at the panic site scores
//! 1.0 when reproduced and fixed (0.85 before the cap, so 0.45 when not
//! reproduced); a reproduced LLM fix needing a retry ~0.86.

use serde::{Deserialize, Serialize};

use crate::generate::template::TEMPLATE_GENERATOR;
use crate::patch::{parse_diff, HunkLine};
use crate::{FixContext, Patch, Reproduction, Validation};

/// One signal and what it contributed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Signal name (see the module docs).
    pub name: String,
    /// What was observed, in words (`"2 attempts"`).
    pub observed: String,
    /// Contribution to the score.
    pub contribution: f64,
    /// Read from untrusted input (the event, the model's self-rating):
    /// its positive part is capped with the other untrusted signals'.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub untrusted: bool,
}

/// Most the untrusted signals together add to a score.
pub const UNTRUSTED_CAP: f64 = 0.10;

/// Most a fix scores when its panic was not reproduced and proven gone by
/// the reproduction's regression test: below
/// [`MIN_CONFIDENCE_THRESHOLD`](crate::MIN_CONFIDENCE_THRESHOLD), so never
/// auto-merged.
pub const NOT_REPRODUCED_CAP: f64 = 0.45;

/// The score and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confidence {
    /// The score in [0, 1].
    pub score: f64,
    /// Every signal, in the order of the table above.
    pub signals: Vec<Signal>,
}

/// The signals read from untrusted input.
const UNTRUSTED_SIGNALS: &[&str] = &["touches_panic_line", "model_rating"];

/// A yes/no signal: `yes` and `weight` when `on`, else `no` and nothing.
fn either(on: bool, yes: &str, no: &str, weight: f64) -> (String, f64) {
    if on {
        (yes.into(), weight)
    } else {
        (no.into(), 0.0)
    }
}

/// Scores an accepted candidate, `reproduction` being what the search
/// before any fix found.
pub fn score(
    ctx: &FixContext,
    patch: &Patch,
    validation: &Validation,
    attempts: u32,
    reproduction: &Reproduction,
) -> Confidence {
    let repro_test = reproduction
        .test
        .as_ref()
        .filter(|_| reproduction.reproduced())
        .filter(|t| {
            patch
                .regression_test
                .as_ref()
                .is_some_and(|r| r.name == t.name && r.path == t.path)
        });
    let repro_lines = repro_test.map_or(0, |t| t.source.lines().count() as u32);
    let mut signals = Vec::new();
    let mut push = |name: &str, observed: String, contribution: f64| {
        signals.push(Signal {
            name: name.into(),
            observed,
            contribution,
            untrusted: UNTRUSTED_SIGNALS.contains(&name),
        })
    };
    let green = validation.passed();
    let (observed, c) = either(green, "all checks passed", "a check failed", 0.35);
    push("checks_green", observed, c);
    push(
        "attempts",
        format!("{attempts} attempt(s)"),
        match attempts {
            0 | 1 => 0.10,
            2 => 0.05,
            _ => 0.0,
        },
    );
    let changed = patch.changed_lines().saturating_sub(repro_lines);
    push(
        "patch_size",
        format!("{changed} changed line(s)"),
        match changed {
            0..=4 => 0.10,
            5..=10 => 0.06,
            11..=20 => 0.03,
            _ => 0.0,
        },
    );
    let at_panic = touches_panic_line(ctx, patch);
    let (observed, c) = either(
        at_panic,
        "changes the panicking line",
        "does not change the panicking line",
        0.15,
    );
    push("touches_panic_line", observed, c);
    let template = patch.generator == TEMPLATE_GENERATOR && patch.class.is_some();
    push(
        "known_safe_template",
        match (&patch.class, template) {
            (Some(c), true) => format!("template for {c}"),
            _ => format!("generator {}", patch.generator),
        },
        if template { 0.15 } else { 0.0 },
    );
    let proven = repro_test.is_some()
        && validation
            .regression
            .as_ref()
            .is_some_and(|r| r.fails_on_base && r.passes_with_fix);
    let (observed, c) = match (&validation.regression, &patch.regression_test) {
        _ if repro_test.is_some() => ("the reproduction's test (see `reproduction`)".into(), 0.0),
        (Some(r), _) if r.fails_on_base && r.passes_with_fix => {
            (format!("{} fails on base, passes with fix", r.name), 0.15)
        }
        (Some(r), _) => (
            format!(
                "{}: fails on base {}, passes with fix {}",
                r.name, r.fails_on_base, r.passes_with_fix
            ),
            -0.10,
        ),
        (None, Some(t)) => (format!("{} was not run", t.name), -0.10),
        (None, None) => ("none".into(), 0.0),
    };
    push("regression_test", observed, c);
    let files = patch.files.len() - usize::from(repro_test.is_some());
    push(
        "files_touched",
        format!("{files} file(s)"),
        match files {
            0 | 1 => 0.05,
            2 => 0.02,
            _ => 0.0,
        },
    );
    if let Some(c) = patch.model_confidence {
        let c = c.clamp(0.0, 1.0);
        push("model_rating", format!("{c:.2}"), 0.20 * (c - 0.5));
    }
    let repro_observed = match (proven, reproduction.input.as_deref()) {
        (true, Some(input)) => format!("reproduced and fixed: `{input}` panics on the base, passes with the fix"),
        (true, None) => "reproduced and fixed".to_string(),
        (false, _) if repro_test.is_some() => {
            "reproduced, but its test did not fail on the base and pass with the fix".to_string()
        }
        (false, _) => format!(
            "not reproduced ({}): capped at {NOT_REPRODUCED_CAP}",
            if reproduction.detail.is_empty() {
                "no search was made"
            } else {
                reproduction.detail.as_str()
            }
        ),
    };
    if let Some(e) = &patch.borrowed_error {
        push(
            "error_choice",
            format!("returns `{e}`, an existing error that names none of the panic's words"),
            -0.10,
        );
    }
    push("reproduction", repro_observed, if proven { 0.25 } else { 0.0 });
    let trusted: f64 = signals.iter().filter(|s| !s.untrusted).map(|s| s.contribution).sum();
    let untrusted: f64 = signals.iter().filter(|s| s.untrusted).map(|s| s.contribution).sum();
    let mut total = trusted + untrusted.min(UNTRUSTED_CAP);
    if !green {
        total = total.min(0.20);
    }
    if !proven {
        total = total.min(NOT_REPRODUCED_CAP);
    }
    Confidence {
        score: (total.clamp(0.0, 1.0) * 1000.0).round() / 1000.0,
        signals,
    }
}

/// Whether the patch removes the target frame's line, or adds lines within
/// the three lines above it (a guard before the panicking statement).
pub(crate) fn touches_panic_line(ctx: &FixContext, patch: &Patch) -> bool {
    let Some(target) = ctx.target() else {
        return false;
    };
    let Ok(files) = parse_diff(&patch.diff) else {
        return false;
    };
    let target_line = target.line as usize;
    files.iter().filter(|f| f.path() == target.path).any(|f| {
        f.hunks.iter().any(|h| {
            let mut old_line = h.old_start.max(1);
            for l in &h.lines {
                match l {
                    HunkLine::Context(_) => old_line += 1,
                    HunkLine::Remove(_) => {
                        if old_line == target_line {
                            return true;
                        }
                        old_line += 1;
                    }
                    HunkLine::Add(_) => {
                        if old_line <= target_line && target_line - old_line <= 3 {
                            return true;
                        }
                    }
                }
            }
            false
        })
    })
}
