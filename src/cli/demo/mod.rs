//! `bugstack demo`: the whole loop on this machine, offline, in one command.
//!
//! 1. copy `examples/shop` (a small axum service with a latent
//!    divide-by-zero) into a fresh git repository with a bare remote `origin`,
//!    plus a demo `bugstack.toml` (auto-merge at confidence ≥ 0.8, checks =
//!    `cargo build` + `cargo test`, offline generator, local forge);
//! 2. start the collector in-process on a free loopback port, store in a
//!    temporary SQLite database;
//! 3. build the shop (shared target directory, so later runs are warm) and
//!    start it with the SDK pointed at the collector, `BUGSTACK_RELEASE` = the
//!    commit;
//! 4. send traffic: healthy requests plus many summaries of an empty cart,
//!    each of which panics;
//! 5. wait for the SDK's batches and show the single incident and its count;
//! 6. run the fix pipeline (context, template generator, build + test in a
//!    worktree, score, local PR, auto-merge) as the incident's fix job — the
//!    same assembly as `bugstack fix` ([`crate::fix_runner::build_pipeline`]),
//!    so the pull request is recorded in the store (`bugstack prs`);
//! 7. pull the merged commit, rebuild, restart, replay the failing request:
//!    it answers 200 and the incident is `fixed`.
//!
//! A timeline of the stages closes the output. The service is killed and the
//! temporary directory removed whatever happens (unless `--keep`); any failed
//! stage makes the command exit non-zero. The collector serves the web
//! dashboard too (its address and token are printed); with `--keep` it
//! stays up after the demo until Ctrl-C, so the incident, the fix run and
//! its pull request can be looked at. See `docs/demo.md`.

mod repo;
mod service;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bugstack_core::text::short_id;
use bugstack_core::Timestamp;
use clap::Args;
use tokio::sync::Notify;

use crate::collector::{generate_token, router, CollectorLimits, CollectorState};
use crate::dashboard::{dashboard_router, DashboardState, LocalForgeActions};
use crate::fix_runner::{build_pipeline, outcome_from_report, write_report, PipelineOptions, StageDisplay, Stream};
use crate::store::{pull_request_state_name, FixOutcome, IncidentStore, SqliteStore, Status};
use crate::terminal::sanitize;
use crate::{Error, Result};

pub use repo::DEMO_POLICY;

/// `bugstack demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The shop example to copy [default: examples/shop of this checkout].
    #[arg(long, value_name = "DIR")]
    pub shop_dir: Option<PathBuf>,
    /// Cargo target directory shared by the demo's builds and checks, kept
    /// between runs so warm runs are fast [default: $CARGO_TARGET_DIR/demo,
    /// else target/demo of this checkout].
    #[arg(long, value_name = "DIR", env = "BUGSTACK_DEMO_TARGET_DIR")]
    pub target_dir: Option<PathBuf>,
    /// Where the fix report is written (kept after the demo)
    /// as DIR/reports/INCIDENT-RUN.{json,md} [default: TMPDIR/bugstack-demo].
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Requests that hit the bug.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub failing_requests: usize,
    /// Healthy requests sent alongside.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub healthy_requests: usize,
    /// Keep the temporary repository, remote and store (their path is
    /// printed), and keep serving the dashboard after the demo until Ctrl-C.
    #[arg(long)]
    pub keep: bool,
}

/// The checkout this binary was built from.
fn checkout() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn default_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("demo"),
        _ => checkout().join("target").join("demo"),
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(p).map_err(|e| Error::io(format!("cannot find {}", p.display()), e))
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Times the stages and prints them as they start and end.
struct Timeline {
    start: Instant,
    stages: Vec<(String, Duration)>,
    total: usize,
}

impl Timeline {
    fn stage<T>(&mut self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let n = self.stages.len() + 1;
        println!("[{n:>2}/{}] {name} ...", self.total);
        let t = Instant::now();
        let result = f();
        let took = t.elapsed();
        self.stages.push((name.to_string(), took));
        match &result {
            Ok(_) => println!("        done in {}", secs(took)),
            Err(e) => println!("        FAILED after {}: {e}", secs(took)),
        }
        result
    }

    fn print(&self) {
        println!();
        println!("timeline:");
        let mut at = Duration::ZERO;
        for (name, took) in &self.stages {
            println!("  {:>7} +{:>7}  {name}", secs(at), secs(*took));
            at += *took;
        }
        println!("  total {}", secs(self.start.elapsed()));
    }
}

/// Runs the demo; `Err` names the stage that failed.
pub(crate) fn run(args: &DemoArgs) -> Result<()> {
    let shop_dir = absolute(
        &args
            .shop_dir
            .clone()
            .unwrap_or_else(|| checkout().join("examples").join("shop")),
    )?;
    let sdk = absolute(&checkout().join("bugstack-sdk"))?;
    let target_dir = args.target_dir.clone().unwrap_or_else(default_target_dir);
    std::fs::create_dir_all(&target_dir)
        .map_err(|e| Error::io(format!("cannot create {}", target_dir.display()), e))?;
    let target_dir = absolute(&target_dir)?;
    let report_dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("bugstack-demo"));
    let tmp = tempfile::Builder::new()
        .prefix("bugstack-demo-")
        .tempdir()
        .map_err(|e| {
            Error::io(
                format!(
                    "cannot create a temporary directory in {}",
                    std::env::temp_dir().display()
                ),
                e,
            )
        })?;
    let base = absolute(tmp.path())?;
    println!("bugstack demo: error → incident → validated fix → merged PR → error gone (offline)");
    println!(
        "  work dir   {}{}",
        base.display(),
        if args.keep { " (kept)" } else { "" }
    );
    println!("  target dir {} (shared, kept between runs)", target_dir.display());
    println!();
    let (result, dashboard) = Demo {
        args,
        base: base.clone(),
        target_dir,
        report_dir,
        timeline: Timeline {
            start: Instant::now(),
            stages: Vec::new(),
            total: 10,
        },
        shop: None,
        dashboard: None,
    }
    .run(&shop_dir, &sdk);
    if args.keep {
        let kept = tmp.keep();
        println!("kept {}", kept.display());
        if let Some(d) = dashboard {
            println!("dashboard: {} (sign in with the dashboard token above)", d.url);
            println!("serving the dashboard until Ctrl-C (--keep)");
            d.runtime.block_on(super::serve::shutdown_signal());
        }
    } else if let Err(e) = tmp.close() {
        eprintln!("bugstack demo: could not remove {}: {e}", base.display());
    }
    result
}

/// The collector and dashboard left running after the demo (`--keep`).
struct RunningDashboard {
    /// The runtime serving them.
    runtime: tokio::runtime::Runtime,
    /// The dashboard's address.
    url: String,
}

struct Demo<'a> {
    args: &'a DemoArgs,
    base: PathBuf,
    target_dir: PathBuf,
    report_dir: PathBuf,
    timeline: Timeline,
    /// The running shop (killed on drop, before the runtime and temp dir go).
    shop: Option<service::Shop>,
    /// The collector's runtime and the dashboard's address, once started.
    dashboard: Option<RunningDashboard>,
}

impl Demo<'_> {
    fn run(mut self, shop_dir: &Path, sdk: &Path) -> (Result<()>, Option<RunningDashboard>) {
        let result = self.stages(shop_dir, sdk);
        self.shop = None;
        self.timeline.print();
        match &result {
            Ok(()) => println!("demo: OK"),
            Err(e) => println!("demo: FAILED: {e}"),
        }
        (result, self.dashboard.take())
    }

    fn stages(&mut self, shop_dir: &Path, sdk: &Path) -> Result<()> {
        let base = self.base.clone();
        let repo = self
            .timeline
            .stage("copy the shop into a git repository with a local remote", || {
                repo::prepare(shop_dir, sdk, &base)
            })?;

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start the async runtime tokio", e))?;
        let data = base.join("data");
        let repo_for_dashboard = repo.root.clone();
        let (store, endpoint, token) = self.timeline.stage("start the collector (in-process, SQLite)", || {
            let store = Arc::new(SqliteStore::open(&data)?);
            let token = generate_token()?;
            let dashboard_token = generate_token()?;
            let dyn_store: Arc<dyn IncidentStore> = store.clone();
            let state = CollectorState::new(
                dyn_store.clone(),
                token.clone(),
                &CollectorLimits::default(),
                Arc::new(Notify::new()),
            )?
            .with_read_token(dashboard_token.clone())?;
            let mut dashboard = DashboardState::new(dyn_store, dashboard_token.clone(), token.clone());
            dashboard.local_forge = Some(LocalForgeActions {
                policy: bugstack_fix::Policy::load(&repo_for_dashboard)?,
                repo: repo_for_dashboard.clone(),
                pulls: store.clone(),
            });
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .map_err(|e| Error::io("cannot listen on 127.0.0.1:0", e))?;
            let addr = listener
                .local_addr()
                .map_err(|e| Error::io("cannot read the address of the collector", e))?;
            runtime.spawn(async move {
                if let Err(e) = axum::serve(listener, router(state).merge(dashboard_router(dashboard))).await {
                    eprintln!("bugstack demo: the collector stopped: {e}");
                }
            });
            println!("      collector on http://{addr}, store {}", store.path().display());
            println!("      dashboard on http://{addr}/ (token {dashboard_token})");
            Ok((store, format!("http://{addr}"), token))
        })?;

        let target = self.target_dir.clone();
        let bin = self
            .timeline
            .stage("build the shop (cargo build; warm after the first run)", || {
                service::build(&repo.root, &target)
            })?;

        let env = service::ShopEnv {
            endpoint: endpoint.clone(),
            token: token.clone(),
            release: repo.commit.clone(),
            log: base.join("shop-1.log"),
        };
        let shop = self
            .timeline
            .stage("start the shop with the SDK pointed at the collector", || {
                let shop = service::Shop::start(&bin, &env)?;
                println!(
                    "      shop on http://{} (release {})",
                    shop.addr,
                    short_id(&repo.commit)
                );
                Ok(shop)
            })?;
        self.shop = Some(shop);

        let (failing, healthy) = (self.args.failing_requests.max(1), self.args.healthy_requests);
        let shop_ref = self
            .shop
            .as_ref()
            .ok_or_else(|| Error::Task("the shop is not running".into()))?;
        let failed = self.timeline.stage(
            &format!("send traffic: {failing} summaries of an empty cart + {healthy} healthy requests"),
            || traffic(shop_ref, failing, healthy),
        )?;

        let expected = failed as u64;
        let incident = self.timeline.stage("wait for the SDK's batches: one incident", || {
            wait_for_incident(store.as_ref(), expected)
        })?;

        let report_dir = self.report_dir.clone();
        let fix_target = self.target_dir.clone();
        let repo_root = repo.root.clone();
        let (pr, fix_commit) = self.timeline.stage(
            "fix: context → template fix → build + test in a worktree → local PR → auto-merge",
            || fix(&runtime, &store, &repo_root, &fix_target, &report_dir, incident),
        )?;

        self.shop = None;
        let head = self
            .timeline
            .stage("stop the shop, pull the merged commit, rebuild", || {
                let head = repo::pull(&repo)?;
                println!(
                    "      main is now {} (fix {}, PR #{pr})",
                    short_id(&head),
                    short_id(&fix_commit)
                );
                if head != fix_commit {
                    store.add_release_with_fix(incident, &head)?;
                }
                service::build(&repo.root, &target).map(|_| head)
            })?;

        let env = service::ShopEnv {
            release: head.clone(),
            log: base.join("shop-2.log"),
            ..env
        };
        let shop = self.timeline.stage("restart the shop at the merged commit", || {
            let shop = service::Shop::start(&bin, &env)?;
            println!("      shop on http://{} (release {})", shop.addr, short_id(&head));
            Ok(shop)
        })?;
        self.shop = Some(shop);
        let shop_ref = self
            .shop
            .as_ref()
            .ok_or_else(|| Error::Task("the shop is not running".into()))?;
        self.timeline.stage("replay the failing request", || {
            replay(shop_ref, store.as_ref(), incident)
        })?;
        self.dashboard = Some(RunningDashboard {
            runtime,
            url: format!("{endpoint}/"),
        });
        Ok(())
    }
}

/// Sends the traffic; the number of requests that failed.
fn traffic(shop: &service::Shop, failing: usize, healthy: usize) -> Result<usize> {
    let client = service::client()?;
    let mut ok = 0usize;
    for _ in 0..healthy.div_ceil(3) {
        let cart = service::new_cart(&client, shop)?;
        service::add_item(&client, shop, cart)?;
        if let Ok((200, _)) = service::summary(&client, shop, cart) {
            ok += 1;
        }
    }
    let empty = service::new_cart(&client, shop)?;
    let threads = 4usize;
    let failed: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let client = client.clone();
                s.spawn(move || {
                    (0..failing)
                        .filter(|i| i % threads == t)
                        .filter(|_| !matches!(service::summary(&client, shop, empty), Ok((200, _))))
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    println!("      {ok} healthy summaries answered 200; {failed} of {failing} GET /carts/{empty}/summary failed (the handler panicked)");
    if failed == 0 {
        return Err(Error::Task("no request hit the bug: is the shop still buggy?".into()));
    }
    Ok(failed)
}

/// Waits until the store holds one incident counting at least `expected`
/// occurrences; its id.
fn wait_for_incident(store: &dyn IncidentStore, expected: u64) -> Result<i64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let incidents = store.incidents()?;
        let total: u64 = incidents.iter().map(|i| i.count).sum();
        if total >= expected || Instant::now() > deadline {
            if incidents.len() != 1 {
                return Err(Error::Task(format!(
                    "expected one incident, the collector has {} ({} occurrences of {expected} expected)",
                    incidents.len(),
                    total
                )));
            }
            let i = &incidents[0];
            let d = store.incident_detail(i.id)?;
            println!(
                "      incident {}: {} — count {} (status {})",
                i.id,
                sanitize(&i.title, 100),
                i.count,
                i.status
            );
            if let Some(loc) = &d.representative.location {
                println!("      at {}:{}", sanitize(&loc.file, 200), loc.line);
            }
            if i.count < expected {
                return Err(Error::Task(format!(
                    "only {} of {expected} occurrences arrived within 60 s",
                    i.count
                )));
            }
            return Ok(i.id);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs the incident's fix job through the pipeline `bugstack fix` and
/// `serve --auto-fix` use ([`build_pipeline`]; the local forge records the
/// pull request in `store`), with the demo's options: validation builds in
/// the shared `target` dir and skips the base-commit run. Writes the report
/// to `report_dir/reports`. The PR number and the fix commit.
fn fix(
    runtime: &tokio::runtime::Runtime,
    store: &Arc<SqliteStore>,
    repo: &Path,
    target: &Path,
    report_dir: &Path,
    incident: i64,
) -> Result<(u64, String)> {
    let owner = crate::jobs::worker_id();
    let job = store
        .claim_job(&owner, Duration::from_secs(3600), Timestamp::now())?
        .ok_or_else(|| Error::Task("the incident has no queued fix job".into()))?;
    if job.incident.id != incident {
        return Err(Error::Task(format!(
            "the queued fix job is for incident {}, not {incident}",
            job.incident.id
        )));
    }
    let options = PipelineOptions {
        target_dir: Some(target.to_path_buf()),
        judge_against_base: false,
        ci_polling: Some((Duration::from_millis(200), Duration::from_secs(5))),
        data_dir: None,
        ..PipelineOptions::default()
    };
    let display = StageDisplay::new(Stream::Stdout, "      ");
    let shown = display.clone();
    let observer = move |p: &bugstack_fix::Progress| shown.show(p);
    let ran = runtime.block_on(async {
        let policy = bugstack_fix::Policy::load(repo)?;
        let runner = build_pipeline(repo, &policy, store.clone(), &options, observer).await?;
        let report = runner.report(&job).await?;
        Ok::<_, Error>((report, runner.forge_records_in_store))
    });
    display.finish();
    let fail = |e: Error| {
        let _ = store.fail_job(job.job.id, &owner, &e.to_string(), Duration::ZERO, Timestamp::now());
        e
    };
    let (report, forge_records_in_store) = ran.map_err(fail)?;
    // The report is kept whatever the outcome, so a failed run can be read.
    let (json, md) = write_report(report_dir, &report, &Timestamp::now().as_millis().to_string()).map_err(fail)?;
    println!("      report {}", json.display());
    println!("             {}", md.display());
    let outcome = outcome_from_report(&report, forge_records_in_store).map_err(fail)?;
    let run = store.complete_job(job.job.id, &owner, &outcome, Timestamp::now())?;
    let FixOutcome::Merged { release, .. } = &outcome else {
        return Err(Error::Task(format!(
            "the fix was not merged ({}): {}",
            outcome.name(),
            report
                .deployment
                .as_ref()
                .map(|d| d.reason.clone())
                .unwrap_or_else(|| report.decision.reason.clone())
        )));
    };
    let number = report.deployment.as_ref().map_or(0, |d| d.pull_request.number);
    let prs = store.pull_requests()?;
    let stored = prs.iter().find(|p| Some(p.number) == run.pr_number);
    println!(
        "      pull request #{number} merged into main as {} (in the store, `bugstack prs`: {})",
        short_id(release),
        stored.map_or("missing", |p| pull_request_state_name(p.state))
    );
    let now = store.incident(incident)?;
    println!(
        "      incident {incident} is {} in {}",
        now.status,
        now.fixed_in_release.as_deref().map(short_id).unwrap_or("?")
    );
    if stored.is_none() {
        return Err(Error::Task(format!(
            "pull request #{number} is not in the store (bugstack prs)"
        )));
    }
    if now.status != Status::Fixed {
        return Err(Error::Task(format!("incident {incident} is {}, not fixed", now.status)));
    }
    Ok((number, release.clone()))
}

/// Replays the failing request against the fixed shop.
fn replay(shop: &service::Shop, store: &dyn IncidentStore, incident: i64) -> Result<()> {
    let client = service::client()?;
    let cart = service::new_cart(&client, shop)?;
    match service::summary(&client, shop, cart) {
        Ok((200, body)) => println!("      GET /carts/{cart}/summary (empty cart) → 200 {body}"),
        Ok((status, body)) => {
            return Err(Error::Task(format!(
                "GET /carts/{cart}/summary still fails: {status} {body}"
            )))
        }
        Err(e) => return Err(Error::Task(format!("GET /carts/{cart}/summary still fails: {e}"))),
    }
    let i = store.incident(incident)?;
    println!(
        "      incident {incident}: status {}, fixed in {}",
        i.status,
        i.fixed_in_release.as_deref().map(short_id).unwrap_or("?")
    );
    if i.status != Status::Fixed {
        return Err(Error::Task(format!("incident {incident} is {}, not fixed", i.status)));
    }
    Ok(())
}
