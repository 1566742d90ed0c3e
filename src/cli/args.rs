//! Command-line arguments (clap derive).

use std::net::SocketAddr;
use std::path::PathBuf;

use bugstack_core::Secret;
use clap::{Args, Parser, Subcommand};

use crate::store::Cause;

const ABOUT: &str = "bugstack: a self-healing codebase for Rust services.

Collects errors from services using bugstack-sdk, groups them into incidents,
and (with the fix pipeline) turns each into a validated fix pull request.";

const EXAMPLES: &str = "Examples:
  bugstack init                              write a commented bugstack.toml here
  bugstack serve                             collector on 127.0.0.1:7878, data in .bugstack/
  bugstack serve --listen 0.0.0.0:7878 --data /var/lib/bugstack
  bugstack worker --repo ../shop             run fix jobs only, beside the collectors
  bugstack incidents                         list incidents (same --data as serve)
  bugstack show 3 --json                     one incident as JSON
  bugstack prs                               local-forge pull requests
  bugstack project add shop --repo /srv/shop  another service on this bugstack (prints its token once)
  bugstack incidents --project shop          that project's incidents

Environment: BUGSTACK_DATA, BUGSTACK_LISTEN, BUGSTACK_TOKEN, BUGSTACK_REPO, BUGSTACK_PROJECT.
Precedence: flags > environment > bugstack.toml > defaults.
Exit codes: 0 ok (also `fix` finding no fix: see its decision), 1 error, 2 usage, 3 not found.";

/// The `bugstack` command line.
#[derive(Debug, Parser)]
#[command(name = "bugstack", version, about = ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented bugstack.toml (the repository's fix policy) with safe defaults.
    #[command(after_help = "Examples:\n  bugstack init\n  bugstack init --dir ../shop --force")]
    Init(InitArgs),
    /// Run the collector: accept events from SDKs, store incidents, queue fix jobs.
    #[command(after_help = "Examples:
  bugstack serve
  bugstack serve --listen 127.0.0.1:0 --data /tmp/bs     (port 0: any free port, printed on start)
  BUGSTACK_TOKEN=s3cret bugstack serve --repo ../shop

The first start without --token / BUGSTACK_TOKEN generates a token, stores it in
DIR/token and prints it once; services send it as BUGSTACK_TOKEN.
Stop with Ctrl-C (or SIGTERM); acknowledged events are already on disk.")]
    Serve(ServeArgs),
    /// Run fix jobs only (no collector): claim queued jobs from the shared store and fix them.
    #[command(after_help = "Examples:
  BUGSTACK_STORE=postgres://bugstack@db/bugstack bugstack worker --repo /srv/shop
  bugstack worker --repo ../shop --jobs 4            (SQLite: the store in .bugstack/)

Runs beside any number of `serve` processes (which then need no --auto-fix): a job is
claimed with a lease (FOR UPDATE SKIP LOCKED on Postgres), kept alive by a heartbeat
while it runs, and never run by two workers at once; the job of a worker that died is
taken over by another once its lease (--job-lease-secs) expires. Prints each job's
start, progress and outcome.

Stop with Ctrl-C (or SIGTERM): running jobs are handed back to the queue at once,
without counting the attempt, so another worker picks them up without waiting.
The store must exist: start `bugstack serve` on it first. See docs/deploy.md.")]
    Worker(WorkerArgs),
    /// List incidents, most recently seen first.
    #[command(
        after_help = "Examples:\n  bugstack incidents\n  bugstack incidents --project shop\n  bugstack incidents --json | jq '.[0].count'"
    )]
    Incidents(ListArgs),
    /// Show one incident: counts, releases, the representative event, jobs, runs, PRs.
    #[command(after_help = "Examples:\n  bugstack show 1\n  bugstack show 1 --json")]
    Show(ShowArgs),
    /// Run the fix pipeline on one incident now and print the report.
    #[command(
        after_help = "Examples:\n  bugstack fix 1 --repo ../shop\n  bugstack fix 1 --repo ../shop --json\n  bugstack fix 1 --repo ../shop --dry-run     (no push, no pull request)"
    )]
    Fix(FixArgs),
    /// Ignore an incident: no fix job (its queued or running job is cancelled).
    #[command(after_help = "Examples:
  bugstack ignore 3 --reason \"third-party outage, not our bug\"
  bugstack ignore 3 --actor alice --json

Allowed from open or regressed (docs/lifecycle.md); `bugstack reopen` undoes it.")]
    Ignore(ControlArgs),
    /// Reopen an ignored incident: back to open, with a fix job queued.
    #[command(after_help = "Examples:\n  bugstack reopen 3 --reason \"it is ours after all\"")]
    Reopen(ControlArgs),
    /// Queue a fix job for an open or regressed incident now (past the queue cap and triggers).
    #[command(after_help = "Examples:\n  bugstack retry 3\n  bugstack retry 3 --reason \"model key fixed\" --json")]
    Retry(ControlArgs),
    /// Mark an open or regressed incident fixed by hand, in the release that contains the fix.
    #[command(after_help = "Examples:
  bugstack resolve 3 --release v1.4.2 --reason \"fixed in #812\"
  bugstack resolve 3 --release 9fceb02 --json

The release is a commit (full or abbreviated), a tag or a release name mapped by
[releases] in bugstack.toml; `serve --repo` resolves it to the fix commit, and a later
release containing that commit that sends the error again makes the incident regressed.")]
    Resolve(ResolveArgs),
    /// Merge a fix pull request (local forge: in its bare remote; GitHub: through its API).
    #[command(after_help = "Examples:
  bugstack merge 3 --repo ../shop
  bugstack merge 3 --repo ../shop --reason \"reviewed, LGTM\" --json

The number is the one `bugstack prs` shows. Exit codes: 3 unknown pull request,
1 already merged or closed (the reason is printed).")]
    Merge(PullRequestArgs),
    /// Close a fix pull request unmerged; its incident reopens and the patch is never proposed again.
    #[command(after_help = "Examples:
  bugstack close 3 --reason \"wrong fix: the divisor is never zero here\"
  bugstack close 3 --repo ../shop --json      (GitHub: --repo names the forge)")]
    Close(PullRequestArgs),
    /// List the local forge's pull requests, newest first.
    #[command(after_help = "Examples:\n  bugstack prs\n  bugstack prs --project shop --json")]
    Prs(ListArgs),
    /// Projects: several services on one bugstack, each with its own token, repository, policy and forge.
    #[command(after_help = "Examples:
  bugstack project add shop --repo /srv/shop
  bugstack project add billing --repo /srv/billing --forge github:acme/billing
  bugstack project list

A single `bugstack serve --repo PATH` is the default project (named `default`): its
token is serve's own (--token / BUGSTACK_TOKEN), its repository serve's --repo.
Each added project gets a token of its own, printed once by `project add` (only its
hash is stored): the services of that project send it as BUGSTACK_TOKEN, and their
events land in that project only. Read commands and controls take --project NAME
(default: the default project). See docs/deploy.md#projects.")]
    Project(ProjectArgs),
    /// Run the offline end-to-end demo: error → incident → validated fix → merged PR → error gone.
    #[command(
        after_help = "Examples:\n  bugstack demo\n  bugstack demo --keep --failing-requests 500\n\nSee docs/demo.md."
    )]
    Demo(super::demo::DemoArgs),
}

/// The data directory option shared by every command that uses the store.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Data directory holding the store (bugstack.db) and the token [default: .bugstack]
    #[arg(long, env = "BUGSTACK_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The store: a Postgres database (`postgres://USER:PASSWORD@HOST:PORT/DB`)
    /// shared by several `serve` processes [default: SQLite in the data
    /// directory]. Prefer BUGSTACK_STORE: a flag is visible in `ps`.
    #[arg(long, env = "BUGSTACK_STORE", value_name = "URL", hide_env_values = true)]
    pub store: Option<Secret>,
}

/// `bugstack init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Repository root to write bugstack.toml into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite an existing bugstack.toml.
    #[arg(long)]
    pub force: bool,
}

/// `bugstack serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "BUGSTACK_LISTEN", value_name = "ADDR", default_value = "127.0.0.1:7878")]
    pub listen: SocketAddr,
    /// Data directory.
    #[command(flatten)]
    pub data: DataArgs,
    /// Repository the fix jobs work on (its bugstack.toml is checked on start).
    #[arg(long, env = "BUGSTACK_REPO", value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Run fix jobs automatically as incidents arrive (needs --repo).
    #[arg(long)]
    pub auto_fix: bool,
    /// Accepted bearer token (default: the one stored in DIR/token, generated on
    /// first start). Prefer BUGSTACK_TOKEN: a flag is visible in `ps`.
    #[arg(long, env = "BUGSTACK_TOKEN", value_name = "T", hide_env_values = true)]
    pub token: Option<Secret>,
    /// The dashboard's token: signs in to the web pages and reads the API
    /// (default: the one stored in DIR/dashboard-token, generated on first
    /// start). Must differ from the ingest token, which can never read.
    #[arg(long, env = "BUGSTACK_DASHBOARD_TOKEN", value_name = "T", hide_env_values = true)]
    pub dashboard_token: Option<Secret>,
    /// Mark the dashboard's session cookie `Secure`: set it when the
    /// dashboard is reached over HTTPS (a TLS proxy in front of serve).
    #[arg(long, env = "BUGSTACK_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Largest accepted request body, compressed.
    #[arg(long, env = "BUGSTACK_MAX_BODY_BYTES", value_name = "N", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest accepted request body after decompression.
    #[arg(long, env = "BUGSTACK_MAX_DECOMPRESSED_BYTES", value_name = "N", default_value_t = 16 * 1024 * 1024)]
    pub max_decompressed_bytes: usize,
    /// Most events accepted in one batch.
    #[arg(long, env = "BUGSTACK_MAX_EVENTS", value_name = "N", default_value_t = 1000)]
    pub max_events: usize,
    /// Batches received and stored at once; more get 429 + Retry-After.
    #[arg(long, env = "BUGSTACK_MAX_INFLIGHT", value_name = "N", default_value_t = crate::collector::DEFAULT_MAX_INFLIGHT)]
    pub max_inflight: usize,
    /// Seconds a client may take to send one request body (408 after).
    #[arg(long, value_name = "SECS", default_value_t = crate::collector::DEFAULT_BODY_TIMEOUT.as_secs())]
    pub body_timeout_secs: u64,
    /// Most incidents the token's events may create in any hour; events of
    /// further new fingerprints are counted in one overflow incident.
    #[arg(long, env = "BUGSTACK_MAX_NEW_INCIDENTS_PER_HOUR", value_name = "N", default_value_t = crate::store::DEFAULT_NEW_INCIDENTS_PER_HOUR)]
    pub max_new_incidents_per_hour: u32,
    /// Most fix jobs queued at once; beyond it new incidents wait and are
    /// queued as jobs finish, the most frequent first [default: `[triggers]
    /// max_queued_jobs` of the repository's bugstack.toml, else 20]
    #[arg(long, env = "BUGSTACK_MAX_QUEUED_JOBS", value_name = "N")]
    pub max_queued_jobs: Option<usize>,
    /// How long a live release containing a fix must stay silent before the
    /// incident is verified, e.g. "30m", "90s" [default: `[verify] window`
    /// of the repository's bugstack.toml, else 30m]
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    pub verify_window: Option<std::time::Duration>,
    /// Seconds between two looks at the open fix pull requests on GitHub
    /// (conditional requests: an unchanged one costs no rate limit); 0 turns
    /// polling off. Only when the repository's forge is GitHub.
    #[arg(long, env = "BUGSTACK_FORGE_POLL_SECS", value_name = "SECS", default_value_t = crate::forge_sync::DEFAULT_POLL_SECS)]
    pub forge_poll_secs: u64,
    /// How fix jobs run (with --auto-fix).
    #[command(flatten)]
    pub fix: FixJobArgs,
}

/// How a process runs fix jobs: `serve --auto-fix` and `bugstack worker`.
#[derive(Debug, Clone, Args)]
pub struct FixJobArgs {
    /// Fix jobs run at the same time.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub jobs: usize,
    /// Seconds a fix job's lease lasts without a heartbeat (renewed every
    /// third of it while the job runs); a job whose worker died is claimed
    /// again by another worker after this.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub job_lease_secs: u64,
    /// TESTING ONLY (feature `test-support`, not in a release build): run fix
    /// jobs with a test double instead of the pipeline.
    /// `sleep-ms=N` logs start/finish lines to DIR/test-runner.log, sleeps N ms,
    /// and records "no fix" with a report that says it came from the test double.
    #[cfg(feature = "test-support")]
    #[arg(long, value_name = "SPEC", hide = true)]
    pub test_job_runner: Option<String>,
}

impl FixJobArgs {
    /// Whether a test double runs the jobs (`--test-job-runner`, feature
    /// `test-support`; always `false` without it).
    #[cfg(feature = "test-support")]
    pub fn has_test_runner(&self) -> bool {
        self.test_job_runner.is_some()
    }

    /// Whether a test double runs the jobs: never without the
    /// `test-support` feature.
    #[cfg(not(feature = "test-support"))]
    pub fn has_test_runner(&self) -> bool {
        false
    }
}

/// `bugstack worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The store the collectors write: a Postgres database (`--store` /
    /// BUGSTACK_STORE) or the SQLite store in the data directory of the one
    /// `serve` on this machine. It must exist already (a worker never
    /// creates an empty store).
    #[command(flatten)]
    pub data: DataArgs,
    /// Repository the fix jobs work on (its bugstack.toml is checked on start).
    #[arg(long, env = "BUGSTACK_REPO", value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Most fix jobs queued at once; a finished job makes room for waiting
    /// incidents, the most frequent first [default: `[triggers]
    /// max_queued_jobs` of the repository's bugstack.toml, else 20]
    #[arg(long, env = "BUGSTACK_MAX_QUEUED_JOBS", value_name = "N")]
    pub max_queued_jobs: Option<usize>,
    /// Milliseconds between two looks for a runnable job while idle (a
    /// worker is not told when a collector queues one).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub poll_ms: u64,
    /// How fix jobs run.
    #[command(flatten)]
    pub fix: FixJobArgs,
}

/// Parses `--verify-window`.
fn parse_window(text: &str) -> Result<std::time::Duration, String> {
    bugstack_fix::parse_duration(text)
}

/// `--project NAME`: the project a read command or control works in.
#[derive(Debug, Clone, Default, Args)]
pub struct ProjectArg {
    /// The project to read or act in (`bugstack project list` names them)
    /// [default: the default project, the one `serve --repo` serves]
    #[arg(long, env = "BUGSTACK_PROJECT", value_name = "NAME")]
    pub project: Option<String>,
}

/// `--data` (or `--store`) and `--project`: the store a read command or a
/// control opens and the project it works in.
#[derive(Debug, Clone, Args)]
pub struct ScopeArgs {
    /// Data directory.
    #[command(flatten)]
    pub data: DataArgs,
    /// The project.
    #[command(flatten)]
    pub project: ProjectArg,
}

/// `bugstack project`.
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ProjectCommand,
}

/// `bugstack project add` / `list`.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Add a project and print its ingest token (once: only its hash is stored).
    #[command(after_help = "Examples:
  bugstack project add shop --repo /srv/shop
  bugstack project add billing --repo /srv/billing --forge github:acme/billing --json

The repository's bugstack.toml is its policy (checked now when the path is on this
machine). --forge overrides the policy's [forge] kind (and GitHub repository).
`serve` loads the projects when it starts: restart it after adding one to run that
project's fix jobs and release checks (its events are accepted at once).")]
    Add(ProjectAddArgs),
    /// List the projects (never their tokens).
    #[command(after_help = "Examples:\n  bugstack project list\n  bugstack project list --json")]
    List(ProjectListArgs),
}

/// `bugstack project add`.
#[derive(Debug, Args)]
pub struct ProjectAddArgs {
    /// The project's name: lowercase letters, digits, '-', '_' and '.'.
    pub name: String,
    /// Its repository: the checkout (path) its fix jobs run in, whose
    /// bugstack.toml is its policy.
    #[arg(long, value_name = "PATH")]
    pub repo: String,
    /// Its forge, overriding the policy's [forge]: `local` or `github:OWNER/NAME`.
    #[arg(long, value_name = "FORGE")]
    pub forge: Option<String>,
    /// Data directory (or --store).
    #[command(flatten)]
    pub data: DataArgs,
    /// Print the project and its token as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `bugstack project list`.
#[derive(Debug, Args)]
pub struct ProjectListArgs {
    /// Data directory (or --store).
    #[command(flatten)]
    pub data: DataArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `bugstack incidents` / `bugstack prs`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Data directory and project.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Print JSON (stable, documented in docs/cli.md) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `bugstack show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Incident id (from `bugstack incidents`).
    pub id: i64,
    /// Data directory and project.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Print JSON (stable, documented in docs/cli.md).
    #[arg(long)]
    pub json: bool,
}

/// `bugstack ignore` / `reopen` / `retry`.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// Incident id.
    pub id: i64,
    /// Data directory and project.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Who and why.
    #[command(flatten)]
    pub who: ActorArgs,
    /// Print the incident and the recorded change as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `bugstack resolve`: a control with the release that contains the fix.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The release that contains the fix: a commit, a tag, or a release name.
    #[arg(long, value_name = "R")]
    pub release: String,
    /// The incident, where, who and why.
    #[command(flatten)]
    pub control: ControlArgs,
}

/// `bugstack merge` / `bugstack close`.
#[derive(Debug, Args)]
pub struct PullRequestArgs {
    /// Pull request number (from `bugstack prs`).
    pub number: i64,
    /// The repository whose bugstack.toml names the forge (needed to merge on
    /// the local forge, and for any pull request on GitHub).
    #[arg(long, env = "BUGSTACK_REPO", value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Who and why.
    #[command(flatten)]
    pub who: ActorArgs,
    /// Data directory and project.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `bugstack fix`.
#[derive(Debug, Args)]
pub struct FixArgs {
    /// Incident id.
    pub id: i64,
    /// Repository to fix.
    #[arg(long, env = "BUGSTACK_REPO", value_name = "PATH")]
    pub repo: PathBuf,
    /// Data directory and project.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Build the context, generate and validate, then stop: nothing is
    /// pushed, no pull request is opened, the incident does not change.
    #[arg(long)]
    pub dry_run: bool,
    /// Who and why.
    #[command(flatten)]
    pub who: ActorArgs,
}

/// `--actor` and `--reason`: who makes a change and why, recorded in the
/// incident's timeline (and on the pull request, for `merge`/`close`).
#[derive(Debug, Clone, Default, Args)]
pub struct ActorArgs {
    /// Who [default: $USER, else cli]
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
    /// Why.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// The actor recorded when `--actor` is not given and `$USER` is unset.
pub const DEFAULT_ACTOR: &str = "cli";

impl ActorArgs {
    /// Who acts: `--actor`, else `$USER`, else [`DEFAULT_ACTOR`].
    pub fn actor(&self) -> String {
        self.actor
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.trim().is_empty()))
            .unwrap_or_else(|| DEFAULT_ACTOR.to_string())
    }

    /// `--reason`, when given and not blank.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref().map(str::trim).filter(|r| !r.is_empty())
    }

    /// Who and why, `default_reason` when no `--reason` is given.
    pub fn cause(&self, default_reason: &str) -> Cause {
        Cause::new(self.actor(), self.reason().unwrap_or(default_reason))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn the_token_is_redacted_in_debug_output() {
        let cli = Cli::try_parse_from(["bugstack", "serve", "--token", "hunter2-secret"]).unwrap();
        let dbg = format!("{cli:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        assert_eq!(args.token.unwrap().expose(), "hunter2-secret");
    }
}
