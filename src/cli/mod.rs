//! The `bugstack` command line: argument parsing, dispatch, exit codes.
//!
//! Exit codes (also in `docs/cli.md`): 0 success; 1 runtime error (store,
//! I/O, network); 2 usage or configuration error; 3 the incident or pull
//! request asked for does not exist.

mod args;
mod control;
mod demo;
mod fix;
mod fix_jobs;
mod output;
mod project;
mod pulls;
mod serve;
mod worker;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

pub use args::{
    ActorArgs, Cli, Command, ControlArgs, DataArgs, FixArgs, FixJobArgs, InitArgs, ListArgs, ProjectAddArgs,
    ProjectArg, ProjectArgs, ProjectCommand, ProjectListArgs, PullRequestArgs, ResolveArgs, ServeArgs, ShowArgs,
    WorkerArgs, DEFAULT_ACTOR,
};
pub use demo::{DemoArgs, DEMO_POLICY};
pub use serve::{resolve_dashboard_token, resolve_token, DASHBOARD_TOKEN_FILE, TOKEN_FILE};

use crate::store::{is_postgres_url, ForgeStore, PostgresStore, SqliteStore};
use crate::{Error, Result};

/// The default data directory, relative to the current directory.
pub const DEFAULT_DATA_DIR: &str = ".bugstack";

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: a runtime error (store, I/O, network).
pub const EXIT_ERROR: u8 = 1;
/// Exit code: a usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the incident or pull request asked for does not exist.
pub const EXIT_NOT_FOUND: u8 = 3;

/// Parses the process arguments, runs the command, prints any error as one
/// line plus a hint, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = hint(&e) {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The exit code for an error.
pub fn exit_code(e: &Error) -> u8 {
    match e {
        Error::IncidentNotFound(_)
        | Error::PullRequestNotFound(_)
        | Error::ProjectNotFound(_)
        | Error::NotInProject { .. } => EXIT_NOT_FOUND,
        Error::ProjectExists(_) => EXIT_USAGE,
        Error::Config(_) | Error::NotAGitRepository(_) | Error::Policy(_) => EXIT_USAGE,
        _ => EXIT_ERROR,
    }
}

fn hint(e: &Error) -> Option<&'static str> {
    Some(match e {
        Error::IncidentNotFound(_) => "list incidents with `bugstack incidents` (same --data / BUGSTACK_DATA as serve)",
        Error::PullRequestNotFound(_) => "list pull requests with `bugstack prs`",
        Error::ProjectNotFound(_) => "list the projects with `bugstack project list` (same --data / --store as serve)",
        Error::ProjectExists(_) => "pick another name; `bugstack project list` shows the names taken",
        Error::IllegalTransition { .. } => {
            "see the incident's status and timeline with `bugstack show ID`; the allowed changes are in docs/lifecycle.md"
        }
        Error::SchemaTooNew { .. } => "this data directory was written by a newer bugstack; upgrade this binary",
        Error::Sqlite(_) => "is another program holding the database? check --data / BUGSTACK_DATA and disk space",
        Error::Policy(_) => "fix bugstack.toml in the repository (`bugstack init` writes a commented template)",
        Error::Io { .. } => "check the path exists and is writable",
        Error::Pipeline(_) => "the failed attempt is recorded with its error: see `bugstack show ID`",
        Error::Refused(_) => "see the incident with `bugstack show ID` and the pull requests with `bugstack prs`",
        Error::Forge(_) => "check [forge] in bugstack.toml, the token variable it names, and the remote",
        Error::NotAGitRepository(_) => {
            "bugstack fixes committed code: point --repo at a git clone (or `git init` and commit)"
        }
        _ => return None,
    })
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init(a) => init(&a),
        Command::Serve(a) => serve::serve(a),
        Command::Worker(a) => worker::worker(a),
        Command::Incidents(a) => {
            let (store, project) = project::open_in(&a.scope)?;
            project::note_default(store.as_ref(), &a.scope.project, &project)?;
            let list: Vec<_> = store
                .incidents()?
                .into_iter()
                .filter(|i| i.project == project.id)
                .collect();
            output::incidents(&list, a.json)
        }
        Command::Show(a) => {
            let (store, project) = project::open_in(&a.scope)?;
            project::incident_in(store.as_ref(), a.id, &project)?;
            output::show(&store.incident_detail(a.id)?, a.json)
        }
        Command::Prs(a) => {
            let (store, project) = project::open_in(&a.scope)?;
            project::note_default(store.as_ref(), &a.scope.project, &project)?;
            let mut list = Vec::new();
            for pr in store.pull_requests()? {
                if project::pull_request_in(store.as_ref(), &pr, &project)? {
                    list.push(pr);
                }
            }
            output::prs(&list, a.json)
        }
        Command::Project(a) => match &a.command {
            ProjectCommand::Add(add) => project::add(add),
            ProjectCommand::List(list) => project::list(list),
        },
        Command::Ignore(a) => control::run(control::Control::Ignore, &a),
        Command::Reopen(a) => control::run(control::Control::Reopen, &a),
        Command::Retry(a) => control::run(control::Control::Retry, &a),
        Command::Resolve(a) => control::resolve(&a),
        Command::Fix(a) => fix::fix(a),
        Command::Merge(a) => pulls::run(&a, pulls::Action::Merge),
        Command::Close(a) => pulls::run(&a, pulls::Action::Close),
        Command::Demo(a) => demo::run(&a),
    }
}

/// The data directory chosen by `--data` / `BUGSTACK_DATA`, else `.bugstack`.
pub fn data_dir(args: &DataArgs) -> PathBuf {
    args.data.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

/// Opens the store that must already exist: the Postgres database of
/// `--store` / `BUGSTACK_STORE`, else the data directory's SQLite file (read
/// commands never create an empty store by mistake).
pub(crate) fn open_existing(args: &DataArgs) -> Result<Arc<dyn ForgeStore>> {
    if let Some(url) = args.store.as_ref().map(bugstack_core::Secret::expose) {
        if !is_postgres_url(url) {
            return Err(Error::Config(
                "--store / BUGSTACK_STORE takes a Postgres URL (postgres://USER:PASSWORD@HOST:PORT/DB); SQLite, the default, lives in --data"
                    .into(),
            ));
        }
        return Ok(Arc::new(PostgresStore::connect_existing(url)?));
    }
    let dir = data_dir(args);
    if !dir.join(crate::store::DB_FILE).is_file() {
        return Err(Error::Config(format!(
            "no bugstack store in {} (run `bugstack serve --data {}` first, or point --data / BUGSTACK_DATA at it)",
            dir.display(),
            dir.display()
        )));
    }
    Ok(Arc::new(SqliteStore::open(&dir)?))
}

fn init(args: &InitArgs) -> Result<()> {
    let dir: &Path = &args.dir;
    let path = dir.join(bugstack_fix::POLICY_FILE);
    if path.exists() && !args.force {
        return Err(Error::Config(format!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    std::fs::write(&path, bugstack_fix::POLICY_TEMPLATE)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    println!("bugstack: wrote {} (safe defaults: no auto-merge)", path.display());
    Ok(())
}
