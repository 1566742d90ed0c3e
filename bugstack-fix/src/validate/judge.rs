//! How a check's result on a candidate is judged against the base's:
//! test by test for `cargo test`, by new compiler errors for `cargo
//! build|check|clippy`, by exit code for anything else (see
//! [`crate::policy::Judge`]).

use super::diagnostics::{new_errors, suggestions_for};
use super::libtest::judge as judge_tests;
use super::process::{CommandRun, Parse};
use super::{CheckStatus, Verdict};
use crate::policy::Judge;
use crate::CheckSpec;

/// How one check is run and judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The command actually run (`--no-fail-fast` or `--message-format=json`
    /// added).
    pub(crate) command: String,
    /// What is read from its output.
    pub(crate) parse: Parse,
}

/// The plan for `check`: its judge (resolved from the command when `auto`)
/// and the command with the flag that judge needs. A command that is not a
/// plain `cargo` invocation (shell operators, several commands) is judged by
/// its exit code, since the flag could not be placed safely.
pub(crate) fn plan(check: &CheckSpec) -> Plan {
    let exit_code = Plan {
        command: check.command.clone(),
        parse: Parse::Raw,
    };
    let Some((sub, at)) = cargo_subcommand(&check.command) else {
        return exit_code;
    };
    let judge = match check.judge {
        Judge::Auto => match sub.as_str() {
            "test" => Judge::Tests,
            "build" | "check" | "clippy" => Judge::Diagnostics,
            _ => Judge::ExitCode,
        },
        other => other,
    };
    let (flag, parse, present) = match judge {
        Judge::Tests if sub == "test" => ("--no-fail-fast", Parse::Tests, "--no-fail-fast"),
        Judge::Diagnostics if matches!(sub.as_str(), "build" | "check" | "clippy") => {
            ("--message-format=json", Parse::Diagnostics, "--message-format")
        }
        _ => return exit_code,
    };
    let before_dashes = check.command.split(" -- ").next().unwrap_or_default();
    let command = if before_dashes.contains(present) {
        if parse == Parse::Diagnostics && !before_dashes.contains("--message-format=json") {
            // Another message format was asked for: keep the command as it is.
            return exit_code;
        }
        check.command.clone()
    } else {
        format!("{} {flag}{}", &check.command[..at], &check.command[at..])
    };
    Plan { command, parse }
}

/// `cargo [+toolchain] <sub> …` → (`sub`, the byte offset just after it);
/// `None` for anything else or anything with shell syntax in it.
fn cargo_subcommand(command: &str) -> Option<(String, usize)> {
    if command.contains(['|', '&', ';', '<', '>', '`', '$', '(', ')', '\n']) {
        return None;
    }
    let mut offset = 0;
    let mut words = command.split(' ').map(|w| {
        let start = offset;
        offset += w.len() + 1;
        (w, start)
    });
    let (first, _) = words.by_ref().find(|(w, _)| !w.is_empty())?;
    if first != "cargo" {
        return None;
    }
    let (mut sub, mut start) = words.by_ref().find(|(w, _)| !w.is_empty())?;
    if sub.starts_with('+') {
        (sub, start) = words.find(|(w, _)| !w.is_empty())?;
    }
    Some((sub.to_string(), start + sub.len()))
}

/// The verdict on a candidate's run of a check judged beyond its exit code;
/// `None` for exit-code judgement (then [`super::CheckResult::blames_fix`]
/// compares statuses). `base` is the base's run of the same command, when
/// there is one.
pub(crate) fn verdict(base: Option<&CommandRun>, cand: &CommandRun) -> Option<Verdict> {
    let failed = |r: &CommandRun| matches!(r.status, CheckStatus::Failed | CheckStatus::TimedOut);
    if let Some(tally) = &cand.tests {
        let base_tally = base.and_then(|b| b.tests.as_ref());
        let judged = base_tally.map(|b| judge_tests(b, tally, cand.status == CheckStatus::TimedOut));
        let consistent = tally.consistent() && base_tally.is_none_or(|b| b.consistent());
        let base_failed = base.is_some_and(failed);
        let (blamed, reason) = match &judged {
            _ if !consistent => (
                true,
                format!(
                    "the test output cannot be judged test by test: its per-test lines ({} passed, {} failed) \
                     disagree with libtest's summaries ({} passed, {} failed)",
                    tally.lines_passed, tally.lines_failed, tally.summary_passed, tally.summary_failed
                ),
            ),
            Some(j) if !j.broken.is_empty() => (
                true,
                format!(
                    "{} test(s) that passed on the base fail, time out or are gone with the fix",
                    j.broken.len()
                ),
            ),
            Some(j) if !j.new_failures.is_empty() && failed(cand) => (
                true,
                format!(
                    "{} test(s) fail with the fix that did not fail on the base",
                    j.new_failures.len()
                ),
            ),
            Some(_) if failed(cand) && tally.is_empty() => (
                true,
                "the command failed before any test ran (the tests do not build with the fix)".to_string(),
            ),
            Some(j) if failed(cand) && !base_failed => (
                true,
                format!(
                    "the command failed with the fix and passed on the base ({} test(s) already failing)",
                    j.already_failing.len()
                ),
            ),
            Some(j) => (
                false,
                if j.already_failing.is_empty() {
                    "every test that passed on the base passes with the fix".to_string()
                } else {
                    format!(
                        "every test that passed on the base passes with the fix; {} test(s) already failed on the base",
                        j.already_failing.len()
                    )
                },
            ),
            None if failed(cand) => (true, "the command failed with the fix".to_string()),
            None => (false, "passed (no base run to compare with)".to_string()),
        };
        return Some(Verdict {
            judged_by: "tests".into(),
            blamed,
            reason,
            tests: judged,
            new_errors: Vec::new(),
            suggestions: Vec::new(),
        });
    }
    if let Some(diags) = &cand.diagnostics {
        if !failed(cand) {
            return Some(Verdict {
                judged_by: "diagnostics".into(),
                blamed: false,
                reason: "no compiler error".into(),
                tests: None,
                new_errors: Vec::new(),
                suggestions: Vec::new(),
            });
        }
        let base_failed = base.filter(|b| failed(b));
        let (blamed, reason, new) = match base_failed.map(|b| (b, b.diagnostics.as_ref())) {
            Some((b, Some(bd))) => {
                let new = new_errors(bd, diags);
                let same_failure = !diags.errors.is_empty() || (bd.errors.is_empty() && b.status == cand.status);
                if !new.is_empty() {
                    (
                        true,
                        format!("{} compiler error(s) the base does not have", new.len()),
                        new,
                    )
                } else if same_failure {
                    (
                        false,
                        "the base fails the same way: no new compiler error".to_string(),
                        new,
                    )
                } else {
                    (
                        true,
                        "the command failed with the fix, and not with a compiler error the base has".to_string(),
                        new,
                    )
                }
            }
            _ => (
                true,
                "the command failed with the fix and passed on the base".to_string(),
                Vec::new(),
            ),
        };
        // Without a base run every error is the candidate's own.
        let keys: Vec<String> = if base_failed.is_some() {
            new.clone()
        } else {
            diags.errors.keys().cloned().collect()
        };
        return Some(Verdict {
            judged_by: "diagnostics".into(),
            blamed,
            reason,
            tests: None,
            new_errors: new,
            suggestions: if blamed {
                suggestions_for(diags, &keys)
            } else {
                Vec::new()
            },
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::libtest::TestTally;

    fn check(command: &str) -> CheckSpec {
        CheckSpec::new("c", command)
    }

    #[test]
    fn plans_add_the_flag_their_judge_needs() {
        assert_eq!(plan(&check("cargo test")).command, "cargo test --no-fail-fast");
        assert_eq!(plan(&check("cargo test")).parse, Parse::Tests);
        assert_eq!(
            plan(&check("cargo test --locked -- --test-threads=4")).command,
            "cargo test --no-fail-fast --locked -- --test-threads=4"
        );
        assert_eq!(
            plan(&check("cargo +nightly clippy --all-targets -- -D warnings")).command,
            "cargo +nightly clippy --message-format=json --all-targets -- -D warnings"
        );
        assert_eq!(plan(&check("cargo build --all-targets")).parse, Parse::Diagnostics);
        for raw in [
            "cargo fmt --all -- --check",
            "make test",
            "cargo test && echo ok",
            "cargo build --message-format=short",
        ] {
            assert_eq!(plan(&check(raw)).parse, Parse::Raw, "{raw}");
            assert_eq!(plan(&check(raw)).command, raw);
        }
        let mut c = check("cargo test");
        c.judge = Judge::ExitCode;
        assert_eq!(plan(&c).parse, Parse::Raw);
    }

    fn run(status: CheckStatus, lines: &str) -> CommandRun {
        let mut t = TestTally::default();
        for l in lines.lines() {
            t.line(l);
        }
        CommandRun {
            tests: Some(t),
            ..CommandRun::not_run(status, "")
        }
    }

    #[test]
    fn a_broken_test_is_blamed_even_when_the_base_failed_too() {
        let base = run(
            CheckStatus::Failed,
            "test a ... ok\ntest old ... FAILED\ntest result: FAILED. 1 passed; 1 failed;",
        );
        let same = run(
            CheckStatus::Failed,
            "test a ... ok\ntest old ... FAILED\ntest result: FAILED. 1 passed; 1 failed;",
        );
        let v = verdict(Some(&base), &same).unwrap();
        assert!(!v.blamed, "{v:?}");
        assert!(v.reason.contains("already failed"), "{v:?}");
        let broken = run(
            CheckStatus::Failed,
            "test a ... FAILED\ntest old ... FAILED\ntest result: FAILED. 0 passed; 2 failed;",
        );
        let v = verdict(Some(&base), &broken).unwrap();
        assert!(v.blamed, "{v:?}");
        assert_eq!(v.tests.unwrap().broken.len(), 1);
        let forged = run(
            CheckStatus::Failed,
            "test a ... ok\ntest a ... ok\ntest old ... FAILED\ntest result: FAILED. 1 passed; 1 failed;",
        );
        assert!(verdict(Some(&base), &forged).unwrap().blamed);
        let no_build = run(CheckStatus::Failed, "error[E0308]: mismatched types");
        let v = verdict(Some(&base), &no_build).unwrap();
        assert!(v.blamed, "{v:?}");
    }
}
