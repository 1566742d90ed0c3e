//! Test-by-test results of a `cargo test` run, read from libtest's lines as
//! they stream by (the kept output is trimmed; the tally is not).
//!
//! ```text
//!      Running unittests src/lib.rs (target/debug/deps/shop-3f2a…)   ← which binary
//! test cart::tests::total ... ok                                     ← one test
//! test cart::tests::empty ... FAILED
//! test result: FAILED. 1 passed; 1 failed; 0 ignored; …              ← the binary's summary
//!    Doc-tests shop
//! test src/lib.rs - Cart::total (line 12) ... ok
//! ```
//!
//! A test is keyed by its binary (the source label and the binary's name
//! without its hash, so two crates' `unittests src/lib.rs` stay apart) and its
//! name; a doc test's `(line N)` is dropped, since a patch above it moves it.
//! The per-test lines are checked against libtest's own summaries: a test
//! binary writing to the real stdout could print `test x ... ok` lines of its
//! own, and the summary's count is what it cannot forge.

use std::collections::BTreeMap;

use bugstack_core::omit_empty;
use serde::{Deserialize, Serialize};

/// Most distinct tests tallied; past it the tally is marked incomplete.
const MAX_TESTS: usize = 200_000;

/// How many times a test (one key) passed, failed or was ignored in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Outcomes {
    /// `... ok`
    pub passed: u32,
    /// `... FAILED`
    pub failed: u32,
    /// `... ignored`
    pub ignored: u32,
}

/// Every test result of one `cargo test` run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TestTally {
    /// Results by `binary :: test name`.
    pub tests: BTreeMap<String, Outcomes>,
    /// `passed` summed over libtest's `test result:` lines.
    pub summary_passed: u64,
    /// `failed` summed over libtest's `test result:` lines.
    pub summary_failed: u64,
    /// `ok` lines seen.
    pub lines_passed: u64,
    /// `FAILED` lines seen.
    pub lines_failed: u64,
    /// More than [`MAX_TESTS`] tests: later ones were not kept.
    pub overflowed: bool,
    binary: String,
    /// A `test NAME` line without its verdict: a doc test whose name spans
    /// lines (an impl's generics written over several lines), continued by
    /// the next line.
    pending: Option<String>,
}

/// The longest test name held while waiting for its verdict.
const MAX_PENDING: usize = 4096;

impl TestTally {
    /// Reads one line of output (without its newline).
    pub(crate) fn line(&mut self, line: &str) {
        let line = line.trim_end_matches('\r');
        let trimmed = line.trim_start();
        if let Some(head) = self.pending.take() {
            let next_record = ["test ", "Running ", "Doc-tests "]
                .iter()
                .any(|p| trimmed.starts_with(p));
            if !next_record && head.len() + line.len() <= MAX_PENDING {
                return self.line(&format!("{head}{line}"));
            }
        }
        if let Some(rest) = trimmed.strip_prefix("Running ") {
            self.binary = binary_label(rest);
            return;
        }
        if let Some(krate) = trimmed.strip_prefix("Doc-tests ") {
            self.binary = format!("doc-tests {}", krate.trim());
            return;
        }
        if let Some(rest) = line.strip_prefix("test result: ") {
            self.summary_passed += count_before(rest, " passed");
            self.summary_failed += count_before(rest, " failed");
            return;
        }
        let Some(rest) = line.strip_prefix("test ") else {
            return;
        };
        let Some((name, verdict)) = rest.rsplit_once(" ... ") else {
            self.pending = Some(line.to_string());
            return;
        };
        let verdict = verdict.trim();
        let kind = if verdict == "ok" {
            0
        } else if verdict == "FAILED" {
            1
        } else if verdict == "ignored" || verdict.starts_with("ignored, ") {
            2
        } else {
            return;
        };
        let name = name.strip_suffix(" - should panic").unwrap_or(name);
        let key = format!("{} :: {}", self.binary, doc_test_name(name));
        match kind {
            0 => self.lines_passed += 1,
            1 => self.lines_failed += 1,
            _ => {}
        }
        if !self.tests.contains_key(&key) && self.tests.len() >= MAX_TESTS {
            self.overflowed = true;
            return;
        }
        let o = self.tests.entry(key).or_default();
        match kind {
            0 => o.passed += 1,
            1 => o.failed += 1,
            _ => o.ignored += 1,
        }
    }

    /// Whether the per-test lines agree with libtest's summaries (same
    /// number of passes and failures) and nothing was cut. A run whose
    /// lines and summaries disagree cannot be judged test by test.
    pub(crate) fn consistent(&self) -> bool {
        !self.overflowed && self.lines_passed == self.summary_passed && self.lines_failed == self.summary_failed
    }

    /// Whether any test result was seen.
    pub(crate) fn is_empty(&self) -> bool {
        self.tests.is_empty()
    }
}

/// `unittests src/lib.rs (target/debug/deps/shop-3f2a)` → `unittests
/// src/lib.rs [shop]`.
fn binary_label(rest: &str) -> String {
    let rest = rest.trim();
    match rest.rsplit_once(" (") {
        Some((source, path)) => {
            let path = path.trim_end_matches(')');
            let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
            let file = file.strip_suffix(".exe").unwrap_or(file);
            let name = match file.rsplit_once('-') {
                Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name,
                _ => file,
            };
            format!("{source} [{name}]")
        }
        None => rest.to_string(),
    }
}

/// `src/lib.rs - Cart::total (line 12)` → `src/lib.rs - Cart::total`.
fn doc_test_name(name: &str) -> &str {
    match name.rfind(" (line ") {
        Some(i) if name.ends_with(')') => &name[..i],
        _ => name,
    }
}

/// The number just before `word` in a summary (`1 passed; 2 failed`).
fn count_before(text: &str, word: &str) -> u64 {
    let Some(i) = text.find(word) else {
        return 0;
    };
    text[..i]
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// What per-test judgement found, for the report.
#[omit_empty]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestJudgement {
    /// Tests that passed on the base and fail, time out or are gone with
    /// the fix (each with how).
    pub broken: Vec<String>,
    /// Tests that fail with the fix and did not exist on the base (or were
    /// not failing there).
    pub new_failures: Vec<String>,
    /// Tests that already failed on the base (reported, never blamed).
    pub already_failing: Vec<String>,
    /// Tests that passed on the base.
    pub passed_on_base: u64,
    /// Tests that passed with the fix.
    pub passed_with_fix: u64,
}

/// Most test names listed per category in a judgement.
const MAX_LISTED: usize = 50;

/// Compares the candidate's tally with the base's. `timed_out`: the
/// candidate's run was killed at its timeout, so a missing test "timed out".
pub(super) fn judge(base: &TestTally, cand: &TestTally, timed_out: bool) -> TestJudgement {
    let mut j = TestJudgement {
        passed_on_base: base.tests.values().map(|o| u64::from(o.passed)).sum(),
        passed_with_fix: cand.tests.values().map(|o| u64::from(o.passed)).sum(),
        ..TestJudgement::default()
    };
    let none = Outcomes::default();
    for (name, b) in &base.tests {
        let c = cand.tests.get(name).unwrap_or(&none);
        if b.passed > c.passed {
            let how = if c.failed > b.failed {
                "fails with the fix"
            } else if timed_out {
                "did not finish: the run timed out"
            } else {
                "is gone with the fix"
            };
            push_capped(&mut j.broken, format!("{name}: passed on the base, {how}"));
        } else if b.failed > 0 && c.failed > 0 {
            push_capped(&mut j.already_failing, name.clone());
        }
    }
    for (name, c) in &cand.tests {
        let b = base.tests.get(name).unwrap_or(&none);
        if c.failed > b.failed && b.passed <= c.passed {
            push_capped(&mut j.new_failures, format!("{name}: fails with the fix"));
        }
    }
    j
}

fn push_capped(v: &mut Vec<String>, s: String) {
    if v.len() < MAX_LISTED {
        v.push(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(text: &str) -> TestTally {
        let mut t = TestTally::default();
        for l in text.lines() {
            t.line(l);
        }
        t
    }

    const BASE: &str = "\
     Running unittests src/lib.rs (target/debug/deps/shop-0123abcd)
running 3 tests
test cart::tests::total ... ok
test cart::tests::old_bug ... FAILED
test cart::tests::slow ... ignored, needs a database
test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running unittests src/lib.rs (target/debug/deps/other-99aa)
running 1 test
test cart::tests::total ... ok
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests shop
test src/lib.rs - Cart::total (line 12) ... ok
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.10s
";

    #[test]
    fn tallies_tests_by_binary_and_name() {
        let t = tally(BASE);
        assert!(t.consistent(), "{t:?}");
        assert_eq!(t.tests.len(), 5);
        assert_eq!(t.tests["unittests src/lib.rs [shop] :: cart::tests::total"].passed, 1);
        assert_eq!(t.tests["unittests src/lib.rs [other] :: cart::tests::total"].passed, 1);
        assert_eq!(t.tests["unittests src/lib.rs [shop] :: cart::tests::old_bug"].failed, 1);
        assert_eq!(t.tests["unittests src/lib.rs [shop] :: cart::tests::slow"].ignored, 1);
        assert!(t.tests.contains_key("doc-tests shop :: src/lib.rs - Cart::total"));
        assert_eq!((t.summary_passed, t.summary_failed), (3, 1));
    }

    #[test]
    fn a_test_broken_behind_an_old_failure_is_blamed() {
        let base = tally(BASE);
        let cand = tally(
            &BASE
                .replace(
                    "test cart::tests::total ... ok\ntest cart::tests::old_bug",
                    "test cart::tests::total ... FAILED\ntest cart::tests::old_bug",
                )
                .replace("FAILED. 1 passed; 1 failed", "FAILED. 0 passed; 2 failed"),
        );
        let j = judge(&base, &cand, false);
        assert_eq!(j.broken.len(), 1, "{j:?}");
        assert!(
            j.broken[0].contains("[shop] :: cart::tests::total: passed on the base, fails"),
            "{j:?}"
        );
        assert_eq!(
            j.already_failing,
            ["unittests src/lib.rs [shop] :: cart::tests::old_bug"]
        );
        assert!(j.new_failures.is_empty());
    }

    #[test]
    fn gone_timed_out_and_new_failures() {
        let base = tally(BASE);
        let cand = tally(&BASE.replace(
            "   Doc-tests shop\ntest src/lib.rs - Cart::total (line 12) ... ok\n",
            "",
        ));
        let j = judge(&base, &cand, false);
        assert!(j.broken[0].contains("is gone with the fix"), "{j:?}");
        let j = judge(&base, &cand, true);
        assert!(j.broken[0].contains("timed out"), "{j:?}");
        let cand = tally(&format!(
            "{BASE}     Running tests/new.rs (target/debug/deps/new-12)\ntest added ... FAILED\ntest result: FAILED. 0 passed; 1 failed;\n"
        ));
        let j = judge(&base, &cand, false);
        assert!(j.broken.is_empty());
        assert_eq!(j.new_failures, ["tests/new.rs [new] :: added: fails with the fix"]);
        // A doc test moved by the patch keeps its key.
        let moved = tally(&BASE.replace("(line 12)", "(line 15)"));
        assert!(judge(&base, &moved, false).broken.is_empty());
    }

    /// rustdoc names a doc test on an impl by the impl's generics as
    /// written, line breaks included (textwrap 0.14's `Options<'a,
    /// wrap_algorithms::OptimalFit,\n word_separators::…>`).
    #[test]
    fn a_doc_test_name_over_two_lines_is_one_test() {
        let out = "   Doc-tests textwrap\n\
            test src/lib.rs - Options<'a,wrap_algorithms::OptimalFit,\n\
            word_separators::UnicodeBreakProperties,WordSplit>::with_word_splitter (line 414) ... ok\n\
            test src/lib.rs - fill (line 703) ... FAILED\n\
            test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.10s\n";
        let t = tally(out);
        assert!(t.consistent(), "{t:?}");
        assert_eq!(t.tests.len(), 2, "{t:?}");
        assert!(
            t.tests.keys().any(|k| k.contains("OptimalFit,word_separators::")),
            "{t:?}"
        );
        // A name that never gets its verdict is dropped at the next test.
        let cut = tally("test a - (line 1\ntest b ... ok\ntest result: ok. 1 passed; 0 failed;\n");
        assert!(cut.consistent() && cut.tests.len() == 1, "{cut:?}");
    }

    #[test]
    fn forged_lines_make_the_tally_inconsistent() {
        let forged = format!("{BASE}test cart::tests::old_bug ... ok\n");
        assert!(!tally(&forged).consistent());
        assert!(tally("").consistent() && tally("").is_empty());
    }
}
