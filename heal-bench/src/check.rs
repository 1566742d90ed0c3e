//! Checking a case: its reproducer panics with the recorded message and
//! location on the buggy release, passes on the fixed one, and the crate's
//! suite is green on the buggy release (else "suite stays green" means
//! nothing). A case failing any of this is a broken case, never counted.

use std::path::{Path, PathBuf};
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
        // A backtrace: a panic raised inside the standard library (slicing a
        // `str`) is located at the crate's frame that called it.
        shell(dir, &command, &[&env[..], &[("RUST_BACKTRACE", "1")]].concat()),
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
/// `file:line` (see [`panic_site`]).
pub fn shows_the_panic(case: &Case, run: &Run) -> bool {
    let Some((file, line)) = case.panic_location.rsplit_once(':') else {
        return false;
    };
    run.status == Status::Failed
        && run.output.contains(&case.panic_message)
        && panic_site(&run.output).is_some_and(|(f, l)| l == line && (f == file || f.ends_with(&format!("/{file}"))))
}

/// The `(file, line)` the first panic in `output` is located at: the
/// `panicked at FILE:LINE:COL:` location, or, when that is inside the
/// standard library (`/rustc/…`, e.g. `str` slicing, which is not
/// `#[track_caller]`) or a dependency (cargo's registry), the first
/// backtrace frame (`at FILE:LINE:COL`) outside them. A leading `./` is
/// dropped.
pub fn panic_site(output: &str) -> Option<(String, String)> {
    fn file_line(location: &str) -> Option<(String, String)> {
        let mut parts = location.trim().trim_end_matches(':').rsplitn(3, ':');
        let _column = parts.next()?;
        let line = parts.next()?;
        let file = parts.next()?;
        line.parse::<u32>().ok()?;
        Some((file.trim_start_matches("./").to_string(), line.to_string()))
    }
    let mut lines = output.lines().skip_while(|l| !l.contains("panicked at "));
    let first = lines.next()?;
    let at = &first[first.find("panicked at ")? + "panicked at ".len()..];
    let foreign = |f: &str| f.starts_with("/rustc/") || f.contains("/.cargo/registry/") || f.contains("/.cargo/git/");
    let site = file_line(at)?;
    if !foreign(&site.0) {
        return Some(site);
    }
    lines
        .filter_map(|l| l.trim_start().strip_prefix("at "))
        .filter_map(file_line)
        .find(|(f, _)| !foreign(f))
}

/// A copy of `release`'s sources in `work/name`; its path.
fn release_tree(release: &Source, work: &Path, name: &str) -> Result<PathBuf> {
    let dir = work.join(name);
    source::copy_to(release, &dir)?;
    Ok(dir)
}

/// A check's problem: `what` went wrong, then the last lines of `run`'s
/// output.
fn with_output_tail(what: &str, run: &Run) -> String {
    format!("{what}:\n{}", run.tail(25))
}

/// Checks `case` with the two releases' sources, in `work`.
pub fn check(settings: &Settings, case: &Case, buggy: &Source, fixed: &Source, work: &Path) -> Result<CaseCheck> {
    let mut result = CaseCheck {
        panics_on_buggy: false,
        passes_on_fixed: false,
        suite_green_on_buggy: false,
        problem: None,
    };
    let buggy_dir = release_tree(buggy, work, "buggy")?;
    let suite = run_suite(settings, case, &buggy_dir)?;
    result.suite_green_on_buggy = suite.status == Status::Passed;
    if !result.suite_green_on_buggy {
        let what = format!("the suite `{}` fails on {}", case.suite, case.buggy);
        result.problem = Some(with_output_tail(&what, &suite));
        return Ok(result);
    }
    source::add_repro(case, &buggy_dir)?;
    let on_buggy = run_repro(settings, case, &buggy_dir)?;
    result.panics_on_buggy = shows_the_panic(case, &on_buggy);
    if !result.panics_on_buggy {
        let what = format!(
            "the reproducer does not panic with {:?} at {} on {} ({:?})",
            case.panic_message, case.panic_location, case.buggy, on_buggy.status
        );
        result.problem = Some(with_output_tail(&what, &on_buggy));
        return Ok(result);
    }
    let fixed_dir = release_tree(fixed, work, "fixed")?;
    source::add_repro(case, &fixed_dir)?;
    let on_fixed = run_repro(settings, case, &fixed_dir)?;
    result.passes_on_fixed = on_fixed.status == Status::Passed;
    if !result.passes_on_fixed {
        let what = format!("the reproducer does not pass on {} ({:?})", case.fixed, on_fixed.status);
        result.problem = Some(with_output_tail(&what, &on_fixed));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_located_where_it_is_raised() {
        let out = "thread 'repro' (9) panicked at src/buf/buf_impl.rs:90:24:\nattempt to shift left with overflow\n";
        assert_eq!(panic_site(out), Some(("src/buf/buf_impl.rs".into(), "90".into())));
    }

    #[test]
    fn a_panic_inside_the_standard_library_is_located_at_the_crate_frame_calling_it() {
        let out = "thread 'repro' (2383) panicked at /rustc/5980/library/core/src/str/mod.rs:849:21:
end byte index 8 is out of bounds of `{world}`
stack backtrace:
   0: __rustc::rust_begin_unwind
             at /rustc/5980/library/std/src/panicking.rs:689:5
   2: core::str::slice_error_fail_rt
   4: core::str::<impl str>::split_at
             at /rustc/5980/library/core/src/str/mod.rs:849:21
   5: tinytemplate::compiler::TemplateCompiler::consume_text
             at ./src/compiler.rs:274:53
   6: tinytemplate::compiler::TemplateCompiler::compile
             at ./src/compiler.rs:154:41
";
        assert_eq!(panic_site(out), Some(("src/compiler.rs".into(), "274".into())));
        let dep = "thread 'repro' panicked at /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/arrayvec-0.5.2/src/array_string.rs:165:26:
called `Result::unwrap()` on an `Err` value: CapacityError: insufficient capacity
stack backtrace:
   4: arrayvec::array_string::ArrayString<A>::push_str
             at /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/arrayvec-0.5.2/src/array_string.rs:165:26
   5: rust_decimal::str::to_str_internal
             at ./src/str.rs:40:13
";
        assert_eq!(panic_site(dep), Some(("src/str.rs".into(), "40".into())));
        let run = Run {
            status: Status::Failed,
            output: out.into(),
            elapsed: Duration::ZERO,
        };
        let mut case = Case {
            name: "t".into(),
            krate: "t".into(),
            buggy: "1".into(),
            fixed: "2".into(),
            class: "slice-range".into(),
            panic_message: "is out of bounds of".into(),
            panic_location: "src/compiler.rs:274".into(),
            suite: "cargo test".into(),
            features: vec![],
            fix_files: vec!["src/compiler.rs".into()],
            upstream_fix_lines: None,
            source: String::new(),
            notes: String::new(),
            repro: String::new(),
            dir: Default::default(),
        };
        assert!(shows_the_panic(&case, &run));
        // A frame further up the stack is not the panic's location.
        case.panic_location = "src/compiler.rs:154".into();
        assert!(!shows_the_panic(&case, &run));
        // Nor is the line number's prefix.
        case.panic_location = "src/compiler.rs:27".into();
        assert!(!shows_the_panic(&case, &run));
    }
}
