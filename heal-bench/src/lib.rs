//! The project's own heal benchmark (issue 13): real panic bugs from
//! crates.io releases, each fixed upstream in a later release, driven
//! through the real product and judged by an independent reproducer.
//!
//! For each case (`cases/NAME/case.toml` + `repro.rs`):
//! 1. **fetch**: cargo fetches the buggy and the fixed release's source
//!    (never committed here);
//! 2. **check** ([`check`]): the crate's suite is green on the buggy
//!    release, the reproducer panics there with the recorded message and
//!    location, and passes on the fixed release — else the case is broken
//!    and not counted;
//! 3. **heal** ([`heal`]): the buggy release is committed to a git
//!    repository with a bare `origin` and a `bugstack.toml` (offline
//!    templates, local forge, checks `cargo build` + the suite); `bugstack
//!    serve` runs; the reproducer runs in a host program linking
//!    `bugstack-sdk` ([`host`]), whose panic hook reports to the collector;
//!    `bugstack fix ID --json` runs the pipeline on the stored incident;
//! 4. **judge**: the proposed branch is cloned, the case's own reproducer
//!    (not the test bugstack added) is added and run under a timeout (a hang
//!    fails), and the suite is run. Healed = both pass.

pub mod case;
pub mod check;
pub mod error;
pub mod heal;
pub mod host;
pub mod process;
pub mod report;
pub mod source;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub use case::Case;
pub use error::{Error, Result};
pub use report::{BenchReport, CaseReport, Outcome, Totals};

/// How the benchmark runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The `bugstack` binary under test.
    pub bugstack: PathBuf,
    /// The `bugstack-sdk` package directory the host links.
    pub sdk_dir: PathBuf,
    /// `CARGO_TARGET_DIR` shared by every build of the cases (checks, hosts,
    /// judging); `bugstack fix` keeps its own per repository.
    pub target_dir: PathBuf,
    /// Where each case's scratch directories go (`WORK/NAME/`).
    pub work_dir: PathBuf,
    /// Cases run at once.
    pub jobs: usize,
    /// Only check the cases; do not run bugstack.
    pub check_only: bool,
    /// Keep each case's scratch directory.
    pub keep: bool,
}

impl Settings {
    /// The environment of every cargo command of the cases.
    ///
    /// Dependencies resolve to versions the installed compiler supports
    /// (`CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback`): a release's
    /// newest compatible dependency may since require a newer compiler, and
    /// the repository's lock file must build, as an application's does.
    pub fn cargo_env(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("CARGO_TARGET_DIR", self.target_dir.to_str().unwrap_or("target")),
            ("CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS", "fallback"),
        ]
    }

    /// The workspace's `Cargo.lock` (next to the SDK's directory).
    pub fn workspace_lock(&self) -> PathBuf {
        self.sdk_dir.parent().unwrap_or(Path::new(".")).join("Cargo.lock")
    }
}

/// The cases shipped with this package (`heal-bench/cases`).
pub fn default_cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cases")
}

/// The workspace's `bugstack-sdk`.
pub fn default_sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../bugstack-sdk")
}

/// Runs one case to its outcome; never fails (a failure is the outcome).
pub fn run_case(settings: &Settings, case: &Case) -> CaseReport {
    let started = Instant::now();
    let work = settings.work_dir.join(&case.name);
    let mut report = CaseReport {
        name: case.name.clone(),
        krate: case.krate.clone(),
        buggy: case.buggy.clone(),
        fixed: case.fixed.clone(),
        class: case.class.clone(),
        outcome: Outcome::Broken,
        detail: String::new(),
        check: None,
        heal: None,
        upstream_fix_lines: case.upstream_fix_lines,
        upstream_release_diff_lines: None,
        check_secs: 0.0,
        total_secs: 0.0,
    };
    let result = run_case_in(settings, case, &work, &mut report);
    if let Err(e) = result {
        report.detail = e.to_string();
        if report.check.as_ref().is_some_and(|c| c.ok()) {
            report.outcome = Outcome::Error;
        }
    }
    report.total_secs = started.elapsed().as_secs_f64();
    if !settings.keep {
        let _ = std::fs::remove_dir_all(&work);
    }
    report
}

fn run_case_in(settings: &Settings, case: &Case, work: &Path, report: &mut CaseReport) -> Result<()> {
    if work.exists() {
        std::fs::remove_dir_all(work).map_err(Error::io(work))?;
    }
    std::fs::create_dir_all(work).map_err(Error::io(work))?;
    let started = Instant::now();
    let buggy = source::fetch(work, &case.krate, &case.buggy)?;
    let fixed = source::fetch(work, &case.krate, &case.fixed)?;
    report.upstream_release_diff_lines = source::diff_lines(&buggy.dir, &fixed.dir, &case.fix_files).ok();
    let checked = check::check(settings, case, &buggy, &fixed, work)?;
    report.check_secs = started.elapsed().as_secs_f64();
    let ok = checked.ok();
    report.detail = checked.problem.clone().unwrap_or_default();
    report.check = Some(checked);
    if !ok {
        report.outcome = Outcome::Broken;
        return Ok(());
    }
    if settings.check_only {
        report.outcome = Outcome::Checked;
        report.detail = "the reproducer panics on the buggy release and passes on the fixed one".into();
        return Ok(());
    }
    let run = heal::heal(settings, case, &buggy, work)?;
    report.outcome = match (&run.branch, run.repro_on_fix, run.suite_on_fix) {
        (None, _, _) if run.decision == "held" => Outcome::Held,
        (None, _, _) => Outcome::NoFix,
        (Some(_), Some(process::Status::Passed), Some(process::Status::Passed)) => Outcome::Healed,
        (Some(_), _, _) => Outcome::ProposedNotHealed,
    };
    report.detail = match report.outcome {
        Outcome::NoFix => run.reason.clone(),
        Outcome::Held => run.held_detail(),
        Outcome::Healed => format!(
            "{} ({}), reproducer and suite pass on the fix branch",
            run.generator.as_deref().unwrap_or("?"),
            run.fix_class.as_deref().unwrap_or("?")
        ),
        _ => match (run.suite_on_fix, &run.failure) {
            (Some(process::Status::Passed), Some(failure)) => failure.clone(),
            (suite, failure) => format!(
                "the suite {suite:?} on the fix branch: {}",
                failure.as_deref().unwrap_or_default()
            ),
        },
    };
    report.heal = Some(run);
    Ok(())
}

/// Runs `cases`, `settings.jobs` at a time, calling `progress` as each
/// ends; the report lists them in the given order.
pub fn run(settings: &Settings, cases: &[Case], progress: &(dyn Fn(&CaseReport) + Sync)) -> BenchReport {
    let started_at = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseReport>>> = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|s| {
        for _ in 0..settings.jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let r = run_case(settings, case);
                progress(&r);
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(r);
                }
            });
        }
    });
    let cases: Vec<CaseReport> = results.into_inner().unwrap_or_default().into_iter().flatten().collect();
    BenchReport {
        started: started_at,
        bugstack: settings.bugstack.display().to_string(),
        totals: report::totals(&cases, started.elapsed().as_secs_f64()),
        cases,
    }
}
