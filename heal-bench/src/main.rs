//! `heal-bench`: the project's heal benchmark (see `docs/heal-rate.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use heal_bench::{case, report, Settings};

/// Runs real panic bugs from crates.io releases through bugstack and reports
/// how many it heals.
#[derive(Debug, Parser)]
#[command(
    name = "heal-bench",
    after_help = "Example:\n  scripts/heal-bench.sh --cases similar-lcs-overlap --out /tmp/r.json"
)]
struct Args {
    /// Only these cases (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
    /// Cases run at once.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Write the JSON report here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the Markdown summary here (it is printed either way).
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Only check the cases (reproducer panics on buggy, passes on fixed).
    #[arg(long)]
    check_only: bool,
    /// The bugstack binary [default: target/debug/bugstack of this workspace,
    /// under $CARGO_TARGET_DIR when set].
    #[arg(long)]
    bugstack: Option<PathBuf>,
    /// `CARGO_TARGET_DIR` for the cases' builds [default: $CARGO_TARGET_DIR/heal-bench, else target/heal-bench].
    #[arg(long)]
    target_dir: Option<PathBuf>,
    /// Scratch directory for the cases [default: a directory under the system temp dir].
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// The cases' directory.
    #[arg(long, default_value_os_t = heal_bench::default_cases_dir())]
    cases_dir: PathBuf,
    /// Keep each case's scratch directory.
    #[arg(long)]
    keep: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("heal-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> heal_bench::Result<ExitCode> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target_root = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let bugstack = args.bugstack.unwrap_or_else(|| target_root.join("debug/bugstack"));
    if !bugstack.is_file() {
        return Err(heal_bench::Error::Bugstack(format!(
            "no binary at {} (build it: cargo build --bin bugstack, or pass --bugstack)",
            bugstack.display()
        )));
    }
    // The cases run it from their own directories: a relative path
    // (`--bugstack target/debug/bugstack`) would not be found there.
    let bugstack = std::fs::canonicalize(&bugstack).map_err(heal_bench::Error::io(&bugstack))?;
    let work_dir = args
        .work_dir
        .unwrap_or_else(|| std::env::temp_dir().join(format!("heal-bench-{}", std::process::id())));
    let work_dir = std::path::absolute(&work_dir).map_err(heal_bench::Error::io(&work_dir))?;
    let settings = Settings {
        bugstack,
        sdk_dir: heal_bench::default_sdk_dir(),
        target_dir: std::path::absolute(args.target_dir.unwrap_or_else(|| target_root.join("heal-bench")))
            .map_err(heal_bench::Error::io(&target_root))?,
        work_dir: work_dir.clone(),
        jobs: args.jobs,
        check_only: args.check_only,
        keep: args.keep,
    };
    let cases = case::load_all(&args.cases_dir, &args.cases)?;
    eprintln!(
        "heal-bench: {} cases, {} at a time, builds in {}",
        cases.len(),
        settings.jobs,
        settings.target_dir.display()
    );
    let progress = |r: &heal_bench::CaseReport| {
        eprintln!(
            "heal-bench: {:<40} {:<22} {:>5.0} s  {}",
            r.name,
            r.outcome.label(),
            r.total_secs,
            r.detail.lines().next().unwrap_or_default()
        );
    };
    let bench = heal_bench::run(&settings, &cases, &progress);
    if !settings.keep {
        let _ = std::fs::remove_dir(&work_dir);
    }
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&bench)?).map_err(heal_bench::Error::io(out))?;
    }
    let md = report::markdown(&bench);
    if let Some(path) = &args.markdown {
        std::fs::write(path, &md).map_err(heal_bench::Error::io(path))?;
    }
    println!("{md}");
    Ok(ExitCode::SUCCESS)
}
