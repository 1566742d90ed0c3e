//! Checking a case: its reproducer panics with the recorded message and
//! location on the buggy release, passes on the fixed one, and the crate's
//! suite is green on the buggy release (else "suite stays green" means
//! nothing). A case failing any of this is a broken case, never counted.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::case::{Case, REPRO_TARGET};
use crate::error::Result;
use crate::process::{self, shell, Run, Status};
use crate::source::{self, Source};
use crate::Settings;

/// How long building a crate and its tests may take.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(900);
/// How long the reproducer may run once built: past it, it hangs.
pub const REPRO_TIMEOUT: Duration = Duration::from_secs(60);

/// The check's findings.
#[derive(Debug, Clone, Serialize)]
pub struct CaseCheck {
    /// The reproducer panicked on the buggy release with the recorded
    /// message at the recorded location.
    pub panics_on_buggy: bool,
    /// The reproducer passed on the fixed release.
    pub passes_on_fixed: bool,
    /// The crate's suite passed on the buggy release.
    pub suite_green_on_buggy: bool,
    /// What went wrong, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl CaseCheck {
    /// Whether the case is sound and can be counted.
    pub fn ok(&self) -> bool {
        self.panics_on_buggy && self.passes_on_fixed && self.suite_green_on_buggy
    }
}

/// Runs the reproducer at `dir` (already added): builds it, then runs it
/// under [`REPRO_TIMEOUT`].
pub fn run_repro(settings: &Settings, case: &Case, dir: &Path) -> Result<Run> {
    let env = settings.cargo_env();
    let build = format!("cargo test --no-run --test {REPRO_TARGET}{}", case.feature_args());
    let built = process::run(shell(dir, &build, &env), &build, BUILD_TIMEOUT)?;
    if built.status != Status::Passed {
        return Ok(built);
    }
    let command = format!("{} -- --nocapture", case.repro_command());
    let mut run = process::run(
        shell(dir, &command, &[&env[..], &[("RUST_BACKTRACE", "0")]].concat()),
        &command,
        REPRO_TIMEOUT,
    )?;
    run.elapsed += built.elapsed;
    Ok(run)
}

/// Runs the case's suite at `dir`.
pub fn run_suite(settings: &Settings, case: &Case, dir: &Path) -> Result<Run> {
    process::run(
        shell(dir, &case.suite, &settings.cargo_env()),
        &case.suite,
        BUILD_TIMEOUT,
    )
}

/// Whether `run`'s output shows the case's panic: its message and its
/// `file:line`.
pub fn shows_the_panic(case: &Case, run: &Run) -> bool {
    run.status == Status::Failed
        && run.output.contains(&case.panic_message)
        && run.output.contains(&format!("{}:", case.panic_location))
}

/// Checks `case` with the two releases' sources, in `work`.
pub fn check(settings: &Settings, case: &Case, buggy: &Source, fixed: &Source, work: &Path) -> Result<CaseCheck> {
    let mut result = CaseCheck {
        panics_on_buggy: false,
        passes_on_fixed: false,
        suite_green_on_buggy: false,
        problem: None,
    };
    let buggy_dir = work.join("buggy");
    source::copy_to(buggy, &buggy_dir)?;
    let suite = run_suite(settings, case, &buggy_dir)?;
    result.suite_green_on_buggy = suite.status == Status::Passed;
    if !result.suite_green_on_buggy {
        result.problem = Some(format!(
            "the suite `{}` fails on {}:\n{}",
            case.suite,
            case.buggy,
            suite.tail(25)
        ));
        return Ok(result);
    }
    source::add_repro(case, &buggy_dir)?;
    let on_buggy = run_repro(settings, case, &buggy_dir)?;
    result.panics_on_buggy = shows_the_panic(case, &on_buggy);
    if !result.panics_on_buggy {
        result.problem = Some(format!(
            "the reproducer does not panic with {:?} at {} on {} ({:?}):\n{}",
            case.panic_message,
            case.panic_location,
            case.buggy,
            on_buggy.status,
            on_buggy.tail(25)
        ));
        return Ok(result);
    }
    let fixed_dir = work.join("fixed");
    source::copy_to(fixed, &fixed_dir)?;
    source::add_repro(case, &fixed_dir)?;
    let on_fixed = run_repro(settings, case, &fixed_dir)?;
    result.passes_on_fixed = on_fixed.status == Status::Passed;
    if !result.passes_on_fixed {
        result.problem = Some(format!(
            "the reproducer does not pass on {} ({:?}):\n{}",
            case.fixed,
            on_fixed.status,
            on_fixed.tail(25)
        ));
    }
    Ok(result)
}
