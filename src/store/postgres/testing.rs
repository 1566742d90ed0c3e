//! A throwaway Postgres cluster for tests (with `cfg(test)` or the
//! `test-support` feature).
//!
//! [`cluster`] starts one cluster per test process, the first time a test
//! asks: `initdb` into a temporary directory (as the `postgres` user when
//! the process runs as root, since `initdb` refuses root), then `pg_ctl
//! start` on a free loopback port with its socket in that directory, tuned
//! for tests (`fsync=off`: a crash of the test machine loses nothing that
//! matters). A watcher process stops the cluster and deletes its directory
//! once the test process has exited. [`TestCluster::fresh_database`] makes
//! an empty, migrated database per test (isolation), copied from a
//! template migrated once.
//!
//! Binaries are looked for in `BUGSTACK_PG_BIN`, then in the newest
//! `/usr/lib/postgresql/*/bin` (Debian's `postgresql` package). Instead of
//! a throwaway cluster, `BUGSTACK_TEST_POSTGRES_URL` names a server to use
//! (a role that may create databases). When neither is there, [`cluster`]
//! returns `None` after printing a visible `SKIPPED` line, except under
//! `CI` (set), where a missing Postgres fails the test: CI must run them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use postgres::{Client, NoTls};

use super::PostgresStore;

/// The template database every test database is copied from.
const TEMPLATE: &str = "bugstack_template";

/// A running cluster (or the server `BUGSTACK_TEST_POSTGRES_URL` names).
#[derive(Debug)]
pub struct TestCluster {
    /// `postgres://USER@127.0.0.1:PORT` (no database).
    base_url: String,
    /// The database administrative commands connect to.
    admin_db: String,
    next: AtomicU64,
}

/// A database made for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    /// Its URL, for [`PostgresStore::connect`] or `serve --store`.
    pub url: String,
    /// Its name.
    pub name: String,
}

impl TestDatabase {
    /// A new store (its own pool) over this database.
    pub fn store(&self) -> PostgresStore {
        match PostgresStore::connect_with(&self.url, 4) {
            Ok(s) => s,
            Err(e) => panic!("cannot open the test database {}: {e}", self.name),
        }
    }
}

impl TestCluster {
    /// A new, empty database with the store's schema, unique in this
    /// cluster.
    pub fn fresh_database(&self) -> TestDatabase {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        let mut admin = self.admin();
        let sql = format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}");
        if let Err(e) = admin.batch_execute(&sql) {
            panic!("{sql}: {e}");
        }
        TestDatabase {
            url: format!("{}/{name}", self.base_url),
            name,
        }
    }

    /// The server's URL without a database (`postgres://USER@HOST:PORT`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn admin(&self) -> Client {
        let url = format!("{}/{}", self.base_url, self.admin_db);
        match Client::connect(&url, NoTls) {
            Ok(c) => c,
            Err(e) => panic!("cannot connect to the test cluster at {url}: {e}"),
        }
    }

    /// Creates the migrated template (once per cluster).
    fn prepare_template(&self) {
        let mut admin = self.admin();
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {TEMPLATE}"));
        if let Err(e) = admin.batch_execute(&format!("CREATE DATABASE {TEMPLATE}")) {
            panic!("cannot create the template database: {e}");
        }
        drop(admin);
        let url = format!("{}/{TEMPLATE}", self.base_url);
        // Migrate, then close every connection: a template must be idle.
        match PostgresStore::connect_with(&url, 1) {
            Ok(store) => drop(store),
            Err(e) => panic!("cannot migrate the template database: {e}"),
        }
    }
}

/// The test process's cluster, started on first use; `None` (after a
/// `SKIPPED` line on stderr) when Postgres is not installed and `CI` is not
/// set. `test` names the caller in that line.
pub fn cluster(test: &str) -> Option<&'static TestCluster> {
    static CLUSTER: OnceLock<Result<TestCluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(start) {
        Ok(c) => Some(c),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: Postgres is required under CI: {why}")
        }
        Err(why) => {
            // Straight to the process's stderr: libtest captures `eprintln!`
            // of a passing test, and a skip must be seen.
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "SKIPPED {test} on Postgres: {why}");
            None
        }
    }
}

/// A fresh database of the test process's cluster (see [`cluster`]).
pub fn fresh_database(test: &str) -> Option<TestDatabase> {
    cluster(test).map(TestCluster::fresh_database)
}

/// The directory of Postgres's server binaries, if installed.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BUGSTACK_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn start() -> Result<TestCluster, String> {
    if let Ok(url) = std::env::var("BUGSTACK_TEST_POSTGRES_URL") {
        let (base, db) = url
            .rsplit_once('/')
            .filter(|(base, _)| base.contains("://") && !base.ends_with('/'))
            .map(|(b, d)| (b.to_string(), d.to_string()))
            .unwrap_or((url.trim_end_matches('/').to_string(), "postgres".to_string()));
        let cluster = TestCluster {
            base_url: base,
            admin_db: if db.is_empty() { "postgres".into() } else { db },
            next: AtomicU64::new(0),
        };
        cluster.prepare_template();
        return Ok(cluster);
    }
    let bin = bin_dir().ok_or("no Postgres server binaries (install Debian's `postgresql`, or set BUGSTACK_PG_BIN or BUGSTACK_TEST_POSTGRES_URL)")?;
    let dir = tempfile::Builder::new()
        .prefix("bugstack-pg-")
        .tempdir()
        .map_err(|e| format!("cannot create a directory for the cluster: {e}"))?
        .keep();
    let started = start_in(&bin, &dir);
    if started.is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    started
}

/// Starts a cluster in `dir` with the binaries in `bin`.
fn start_in(bin: &Path, dir: &Path) -> Result<TestCluster, String> {
    let as_root = is_root();
    if as_root {
        run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir))?;
    }
    let data = dir.join("data");
    let user = "bugstack";
    run(server_command(&bin.join("initdb"), as_root)
        .args([
            "-A",
            "trust",
            "-U",
            user,
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
            "-D",
        ])
        .arg(&data))?;
    let port = free_port()?;
    let options = format!(
        "-p {port} -k {} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
        dir.display()
    );
    run(server_command(&bin.join("pg_ctl"), as_root)
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(dir.join("log"))
        .args(["-w", "start"]))?;
    watch(bin, dir, &data, as_root);
    let cluster = TestCluster {
        base_url: format!("postgres://{user}@127.0.0.1:{port}"),
        admin_db: "postgres".into(),
        next: AtomicU64::new(0),
    };
    cluster.prepare_template();
    Ok(cluster)
}

/// Whether this process runs as root (then the server runs as `postgres`).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program`, run as the `postgres` user when we are root.
fn server_command(program: &Path, as_root: bool) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A loopback port nothing listens on right now.
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// Starts a watcher that stops the cluster and removes `dir` once this
/// process has exited (a static is never dropped, so the test process
/// cannot do it itself).
fn watch(bin: &Path, dir: &Path, data: &Path, as_root: bool) {
    let stop = format!(
        "{}{} -D '{}' -m immediate stop",
        if as_root { "runuser -u postgres -- " } else { "" },
        bin.join("pg_ctl").display(),
        data.display()
    );
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = dir.display()
    );
    let spawned = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        eprintln!(
            "bugstack test cluster: cannot start its watcher ({e}); stop it with pg_ctl -D {}",
            data.display()
        );
    }
}
