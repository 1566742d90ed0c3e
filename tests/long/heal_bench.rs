//! CI runs a few cases of the project's heal benchmark (`heal-bench/`,
//! docs/heal-rate.md) through the real binary: the runner's case check tells
//! a sound case from a broken one, and a case today's engine heals is
//! reported healed, with the report's fields. Crate sources come from
//! crates.io at run time: when the registry cannot be reached the test says
//! so and skips.

use std::path::{Path, PathBuf};

use heal_bench::{case, Outcome, Settings};

/// Small cases, quick to build. Measured on 2026-12-05 (docs/heal-rate.md)
/// today's engine healed none of the benchmark, so the test asserts the
/// runner's judgement is consistent rather than a heal.
const CI_CASES: &[&str] = &["twox-hash-xxh32-length-overflow", "num-integer-multiple-of-zero"];

fn settings(work: &Path, check_only: bool) -> Settings {
    let bugstack = PathBuf::from(env!("CARGO_BIN_EXE_bugstack"));
    // target/debug/bugstack → target/heal-bench: shared by every build of the cases.
    let target_root = bugstack
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"));
    Settings {
        bugstack,
        sdk_dir: heal_bench::default_sdk_dir(),
        target_dir: target_root.join("heal-bench"),
        work_dir: work.to_path_buf(),
        jobs: 1,
        check_only,
        keep: false,
    }
}

fn registry_unreachable(report: &heal_bench::CaseReport) -> bool {
    report.outcome == Outcome::Broken && report.detail.starts_with("cannot fetch")
}

#[test]
fn ci_cases_are_checked_and_healed() {
    let work = tempfile::tempdir().unwrap();
    let names: Vec<String> = CI_CASES.iter().map(|s| s.to_string()).collect();
    let cases = case::load_all(&heal_bench::default_cases_dir(), &names).unwrap();
    assert_eq!(cases.len(), CI_CASES.len());

    // A case whose recorded panic is not what the reproducer raises is
    // broken, and not counted.
    let mut wrong = cases[0].clone();
    wrong.panic_message = "attempt to multiply with overflow".into();
    let broken = heal_bench::run_case(&settings(work.path(), true), &wrong);
    if registry_unreachable(&broken) {
        eprintln!("SKIPPED heal_bench: crates.io unreachable: {}", broken.detail);
        return;
    }
    assert_eq!(broken.outcome, Outcome::Broken, "{}", broken.detail);
    assert!(broken.detail.contains("does not panic with"), "{}", broken.detail);

    let bench = heal_bench::run(&settings(work.path(), false), &cases, &|r| {
        eprintln!("{}: {} — {}", r.name, r.outcome.label(), r.detail);
    });
    if bench.cases.iter().any(registry_unreachable) {
        eprintln!("SKIPPED heal_bench: crates.io unreachable");
        return;
    }
    for c in &bench.cases {
        let check = c.check.as_ref().expect("every case was checked");
        assert!(
            check.panics_on_buggy && check.passes_on_fixed && check.suite_green_on_buggy,
            "{c:?}"
        );
        let heal = c.heal.as_ref().expect("bugstack ran");
        let healed = heal.heals();
        match c.outcome {
            // Both cases' panics are found by the search: the fix is proven.
            Outcome::Healed => assert!(healed && heal.proven, "{c:?}"),
            Outcome::ProposedNotHealed => assert!(heal.branch.is_some() && !healed, "{c:?}"),
            Outcome::NoFix => assert!(heal.branch.is_none(), "{c:?}"),
            other => panic!("{}: {other:?}: {}", c.name, c.detail),
        }
        assert!(c.upstream_release_diff_lines.is_some_and(|n| n > 0));
    }
    let t = &bench.totals;
    assert_eq!(t.healed + t.proposed_not_healed + t.no_fix, CI_CASES.len());
    // Neither fix makes up a value (wrapping where the hash already wraps;
    // only 0 is a multiple of 0): `auto_merge = true` would merge both.
    assert_eq!(
        (t.auto_merged_healed, t.auto_merged_not_healed),
        (CI_CASES.len(), 0),
        "{t:?}"
    );
    // The JSON report carries the fields docs/heal-rate.md documents.
    let json = serde_json::to_value(&bench).unwrap();
    for key in [
        "healed",
        "proposed_not_healed",
        "no_fix",
        "broken",
        "heal_rate",
        "held",
        "proven_healed",
        "with_unproven_healed",
        "with_unproven_not_healed",
        "auto_merged_healed",
        "auto_merged_not_healed",
        "wall_secs",
    ] {
        assert!(json["totals"].get(key).is_some(), "totals.{key} in {json}");
    }
    let md = heal_bench::report::markdown(&bench);
    assert!(
        md.contains("| twox-hash-xxh32-length-overflow | twox-hash 2.1.2→2.1.3 |"),
        "{md}"
    );
    assert!(
        md.contains("with `review_threshold = 0.0` (unproven fixes proposed too)"),
        "{md}"
    );
}
