//! `bugstack serve`: the collector plus, when enabled, the fix-job loop.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bugstack_core::{DecodeLimits, Secret};
use tokio::sync::{watch, Notify};

use super::args::ServeArgs;
use super::data_dir;
use super::fix_jobs::{job_runner, prepare_data_dir, project_checkouts, start_job_loop};
use crate::collector::{
    forge_hook_router, generate_token, router, CollectorLimits, CollectorState, ForgeHookState, FORGE_HOOK_PATH,
    WEBHOOK_SECRET_ENV,
};
use crate::dashboard::{dashboard_router, DashboardState, LocalForgeActions, SourceLinks};
use crate::release_check::{run_release_checks, ReleaseCheckConfig, ReleaseChecker, ReleaseResolver};
use crate::store::{is_postgres_url, ForgeStore, IncidentStore, PostgresStore, SqliteStore, DEFAULT_PROJECT_ID};
use crate::{Error, Result};

/// The token file's name inside the data directory.
pub const TOKEN_FILE: &str = "token";

/// The dashboard token file's name inside the data directory.
pub const DASHBOARD_TOKEN_FILE: &str = "dashboard-token";

/// The token to accept: `given` (from `--token` / `BUGSTACK_TOKEN`), else the
/// one stored in `dir/token`, else a new one that is stored there (mode 0600)
/// and returned with `true` so the caller prints it once.
pub fn resolve_token(given: Option<&str>, dir: &Path) -> Result<(String, bool)> {
    resolve_token_file(given, dir, TOKEN_FILE, "--token / BUGSTACK_TOKEN")
}

/// The dashboard token, as [`resolve_token`] does for the ingest token:
/// `given` (`--dashboard-token` / `BUGSTACK_DASHBOARD_TOKEN`), else
/// `dir/dashboard-token`, else a new one stored there (mode 0600).
pub fn resolve_dashboard_token(given: Option<&str>, dir: &Path) -> Result<(String, bool)> {
    resolve_token_file(
        given,
        dir,
        DASHBOARD_TOKEN_FILE,
        "--dashboard-token / BUGSTACK_DASHBOARD_TOKEN",
    )
}

fn resolve_token_file(given: Option<&str>, dir: &Path, file: &str, flag: &str) -> Result<(String, bool)> {
    if let Some(t) = given {
        let t = t.trim();
        if t.is_empty() {
            return Err(Error::Config(format!("{flag} is empty")));
        }
        return Ok((t.to_string(), false));
    }
    let path = dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok((s.trim().to_string(), false)),
        Ok(_) => {
            return Err(Error::Config(format!(
                "{} is empty; delete it to generate a new token or pass --token",
                path.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
    let token = generate_token()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&path)
        .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    f.write_all(token.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    Ok((token, true))
}

/// The store `serve` runs on, and how to name it: the Postgres database
/// `url` names (`--store` / `BUGSTACK_STORE`), else SQLite in `dir`.
fn open_store(url: Option<&Secret>, dir: &Path) -> Result<(Arc<dyn ForgeStore>, String)> {
    match url.map(Secret::expose) {
        Some(url) if is_postgres_url(url) => {
            // The data directory still holds this process's token, reports
            // and logs (owner-only, as the SQLite store makes it).
            prepare_data_dir(dir)?;
            let store = PostgresStore::connect(url)?;
            let name = store.database().to_string();
            Ok((Arc::new(store), name))
        }
        Some(_) => Err(Error::Config(
            "--store / BUGSTACK_STORE takes a Postgres URL (postgres://USER:PASSWORD@HOST:PORT/DB); SQLite, the default, lives in --data"
                .into(),
        )),
        None => Ok((
            Arc::new(SqliteStore::open(dir)?),
            dir.join(crate::store::DB_FILE).display().to_string(),
        )),
    }
}

/// Runs `bugstack serve` until Ctrl-C or SIGTERM.
pub(crate) fn serve(args: ServeArgs) -> Result<()> {
    let dir: PathBuf = data_dir(&args.data);
    let policy = args.repo.as_deref().map(super::fix::load_policy).transpose()?;
    let (forge_store, store_name) = open_store(args.data.store.as_ref(), &dir)?;
    let projects = project_checkouts(forge_store.as_ref())?;
    if args.auto_fix && policy.is_none() && projects.is_empty() {
        return Err(Error::Config(
            "--auto-fix needs the repository to fix: pass --repo PATH (or set BUGSTACK_REPO)".into(),
        ));
    }
    let mut triggers = policy.as_ref().map(|p| p.triggers.clone()).unwrap_or_default();
    if let Some(cap) = args.max_queued_jobs {
        triggers.max_queued_jobs = cap;
    }
    forge_store.set_triggers(triggers);
    let store: Arc<dyn IncidentStore> = forge_store.clone().into_incident_store();
    let (token, generated) = resolve_token(args.token.as_ref().map(Secret::expose), &dir)?;
    let (dashboard_token, dashboard_generated) =
        resolve_dashboard_token(args.dashboard_token.as_ref().map(Secret::expose), &dir)?;
    if dashboard_token == token {
        return Err(Error::Config(
            "the dashboard token equals the ingest token; they must differ (the ingest token can never read)".into(),
        ));
    }
    let limits = CollectorLimits {
        decode: DecodeLimits {
            max_compressed_bytes: args.max_body_bytes,
            max_decompressed_bytes: args.max_decompressed_bytes,
            max_events: args.max_events,
        },
        max_inflight: args.max_inflight,
        body_timeout: Duration::from_secs(args.body_timeout_secs.max(1)),
        new_incidents_per_hour: args.max_new_incidents_per_hour,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime tokio", e))?;
    runtime.block_on(async move {
        let (default_repo, projects_here) = match (&args.repo, &policy) {
            (Some(repo), Some(policy)) if args.auto_fix => (Some((repo.as_path(), policy)), projects.as_slice()),
            _ if args.auto_fix => (None, projects.as_slice()),
            _ => (None, &[][..]),
        };
        let runner = job_runner(&args.fix, default_repo, projects_here, &forge_store, &dir).await?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Error::io(format!("cannot listen on {}", args.listen), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io(format!("cannot read the address of {}", args.listen), e))?;
        println!("bugstack: store {store_name}");
        announce_token("collector token", "the token", "BUGSTACK_TOKEN", &token, &dir.join(TOKEN_FILE), generated, args.token.is_some());
        let wake = Arc::new(Notify::new());
        let (stop_tx, stop_rx) = watch::channel(false);
        let poller = start_poller(&args, policy.as_ref(), &forge_store, Some(DEFAULT_PROJECT_ID), stop_rx.clone());
        let job_loop = runner.map(|runner| {
            let poll = Duration::from_millis(500);
            start_job_loop(store.clone(), runner, &args.fix, poll, wake.clone(), stop_rx.clone())
        });
        if job_loop.is_none() {
            println!(
                "bugstack: fix jobs are queued, one per incident, but not run (start with --auto-fix --repo PATH to run them)"
            );
        }
        let release_checks = match (&args.repo, &policy) {
            (Some(repo), Some(policy)) => {
                let checker = release_checker(&store, repo, policy, args.verify_window, DEFAULT_PROJECT_ID);
                println!("bugstack: releases of fixed incidents are checked against the fix in {}", repo.display());
                Some(tokio::spawn(run_release_checks(checker, wake.clone(), stop_rx.clone())))
            }
            _ => None,
        };
        let mut project_tasks = Vec::new();
        for p in &projects {
            let checker = release_checker(&store, &p.repo, &p.policy, args.verify_window, p.project.id);
            project_tasks.push(tokio::spawn(run_release_checks(checker, wake.clone(), stop_rx.clone())));
            if let Some(poller) = start_poller(&args, Some(&p.policy), &forge_store, Some(p.project.id), stop_rx.clone()) {
                project_tasks.push(poller);
            }
        }
        if !projects.is_empty() {
            let names: Vec<&str> = projects.iter().map(|p| p.project.name.as_str()).collect();
            println!(
                "bugstack: projects with their repositories here (fix jobs, release checks): {}",
                names.join(", ")
            );
        }
        let hook = ForgeHookState {
            store: forge_store.clone(),
            secret: std::env::var(WEBHOOK_SECRET_ENV).ok().and_then(|s| Secret::non_empty(&s)),
            max_body_bytes: args.max_body_bytes,
        };
        if hook.secret.is_some() {
            println!("bugstack: GitHub webhook on POST {FORGE_HOOK_PATH} (signed with {WEBHOOK_SECRET_ENV})");
        }
        announce_token(
            "dashboard token",
            "the dashboard token",
            "BUGSTACK_DASHBOARD_TOKEN",
            &dashboard_token,
            &dir.join(DASHBOARD_TOKEN_FILE),
            dashboard_generated,
            args.dashboard_token.is_some(),
        );
        let mut dashboard = DashboardState::new(store.clone(), dashboard_token.clone(), token.clone());
        dashboard.secure_cookies = args.secure_cookies;
        dashboard.local_forge = match (&args.repo, &policy) {
            (Some(repo), Some(policy)) if policy.forge.kind == bugstack_fix::ForgeKind::Local => Some(LocalForgeActions {
                repo: repo.clone(),
                policy: policy.clone(),
                pulls: forge_store.clone().into_pull_request_store(),
            }),
            _ => None,
        };
        dashboard.source_links = source_links(args.repo.as_deref(), policy.as_ref()).map(Arc::new);
        let state = CollectorState::new(store, token, &limits, wake)?.with_read_token(dashboard_token)?;
        println!("bugstack: dashboard on http://{addr}/ (sign in with the dashboard token)");
        println!("bugstack: listening on http://{addr}");
        let app = router(state)
            .merge(forge_hook_router(hook))
            .merge(dashboard_router(dashboard));
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| Error::io(format!("server failed on {addr}"), e))?;
        let _ = stop_tx.send(true);
        if let Some(h) = job_loop {
            let _ = h.await;
        }
        if let Some(h) = release_checks {
            let _ = h.await;
        }
        if let Some(h) = poller {
            let _ = h.await;
        }
        for h in project_tasks {
            let _ = h.await;
        }
        println!("bugstack: stopped");
        Ok(())
    })
}

/// Links from the dashboard's stack frames to the repository's lines on
/// GitHub, when the repository's forge is GitHub (`[forge] repository`);
/// its files are listed once, now.
/// Tells where `token` (the `kind`, called `name` when read back) comes
/// from: shown once as `ENV=TOKEN` when it was just generated into `file`,
/// else that it was read from `file` unless the command line gave it.
fn announce_token(kind: &str, name: &str, env: &str, token: &str, file: &Path, generated: bool, given: bool) {
    if generated {
        println!(
            "bugstack: generated a {kind} (shown once, stored in {}):",
            file.display()
        );
        println!("  {env}={token}");
    } else if !given {
        println!("bugstack: using {name} stored in {}", file.display());
    }
}

/// The release checks of `project`'s fixed incidents against the fix in
/// `repo`, with `policy`'s releases and verify window (`verify_window`
/// overrides it).
fn release_checker(
    store: &Arc<dyn IncidentStore>,
    repo: &Path,
    policy: &bugstack_fix::Policy,
    verify_window: Option<Duration>,
    project: i64,
) -> ReleaseChecker {
    let resolver = ReleaseResolver::new(
        bugstack_fix::git::Git::new(repo),
        &policy.forge.remote,
        policy.releases.clone(),
    );
    let config = ReleaseCheckConfig {
        verify_window: verify_window.unwrap_or_else(|| policy.verify.window()),
        ..ReleaseCheckConfig::default()
    };
    ReleaseChecker::new(store.clone(), resolver, config).for_project(project)
}

fn source_links(repo: Option<&Path>, policy: Option<&bugstack_fix::Policy>) -> Option<SourceLinks> {
    let (repo, policy) = (repo?, policy?);
    if policy.forge.kind != bugstack_fix::ForgeKind::Github || policy.forge.api_url.is_some() {
        return None;
    }
    let repository = policy.forge.repository.as_deref()?;
    let files = match bugstack_fix::git::run_blocking(repo, &["ls-files", "-z"]) {
        Ok(out) => out
            .split(|b| *b == 0)
            .filter(|f| !f.is_empty())
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect(),
        Err(e) => {
            eprintln!("bugstack: the dashboard will not link frames to the repository: {e}");
            return None;
        }
    };
    SourceLinks::github(repository, files)
}

/// Starts polling GitHub for the fix pull requests' state when the
/// repository's forge is GitHub and polling is on; a missing token is a
/// warning (the webhook may still keep incidents in step).
fn start_poller(
    args: &ServeArgs,
    policy: Option<&bugstack_fix::Policy>,
    store: &Arc<dyn ForgeStore>,
    project: Option<i64>,
    stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let policy = policy?;
    if policy.forge.kind != bugstack_fix::ForgeKind::Github || args.forge_poll_secs == 0 {
        return None;
    }
    match bugstack_fix::GitHubForge::from_forge_config(&policy.forge) {
        Ok(forge) => {
            println!(
                "bugstack: polling GitHub every {}s for merged or closed fix pull requests",
                args.forge_poll_secs
            );
            Some(tokio::spawn(crate::forge_sync::run_poller(
                store.clone(),
                Arc::new(forge),
                project,
                Duration::from_secs(args.forge_poll_secs),
                stop,
            )))
        }
        Err(e) => {
            eprintln!("bugstack: not polling GitHub: {e}");
            None
        }
    }
}

/// Waits for Ctrl-C or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    println!("bugstack: shutting down");
}
