//! Helpers for the end-to-end tests: run the real `bugstack` binary.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bugstack::core::{encode_batch, Batch, Event, EventKind, Level, Timestamp};
use bugstack::store::{FixOutcome, IncidentStore, RunPullRequest, SqliteStore};

pub mod inventory;

pub const BIN: &str = env!("CARGO_BIN_EXE_bugstack");
pub const TOKEN: &str = "test-token-0123456789";
/// The dashboard token `start_with_token` gives the server: the one that reads.
pub const DASHBOARD_TOKEN: &str = "test-dashboard-token-9876543210";

/// Spawns `cmd` (stdout piped), keeps its stdout lines and waits until
/// `ready` finds a value in one of them; panics with `what` and the lines
/// so far when none comes within 30 s (the child is killed).
fn spawn_until_ready<T: Send + 'static>(
    cmd: &mut Command,
    what: &str,
    ready: impl Fn(&str) -> Option<T> + Send + 'static,
) -> (Child, Arc<Mutex<Vec<String>>>, T) {
    let mut child = cmd.spawn().expect("spawn bugstack");
    let stdout = child.stdout.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(value) = ready(&line) {
                let _ = tx.send(value);
            }
            sink.lock().unwrap().push(line);
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(value) => (child, lines, value),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}; stdout: {:?}", lines.lock().unwrap());
        }
    }
}

/// `bugstack ARGS --data DATA EXTRA` for [`spawn_until_ready`]: without the
/// environment variables `unset` (the test says what it means), stdout
/// piped, stderr the test's.
fn data_command(args: &[&str], data: &Path, extra: &[&str], unset: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .arg("--data")
        .arg(data)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for var in unset {
        cmd.env_remove(var);
    }
    cmd
}

/// A running `bugstack serve`.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub stdout: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `bugstack serve --listen 127.0.0.1:0 --data DIR` plus `extra`
    /// and waits for the bound address on stdout.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        let unset = ["BUGSTACK_TOKEN", "BUGSTACK_DASHBOARD_TOKEN", "BUGSTACK_DATA"];
        let mut cmd = data_command(&["serve", "--listen", "127.0.0.1:0"], data, extra, &unset);
        let (child, stdout, addr) = spawn_until_ready(&mut cmd, "serve did not print its address", |line| {
            line.strip_prefix("bugstack: listening on http://").map(str::to_string)
        });
        Server { child, addr, stdout }
    }

    /// Starts with the test token and the test dashboard token.
    pub fn start_with_token(data: &Path, extra: &[&str]) -> Server {
        let mut args = vec!["--token", TOKEN, "--dashboard-token", DASHBOARD_TOKEN];
        args.extend_from_slice(extra);
        Server::start(data, &args)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// A running `bugstack worker`.
pub struct Worker {
    pub child: Child,
    pub stdout: Arc<Mutex<Vec<String>>>,
}

impl Worker {
    /// Starts `bugstack worker --data DIR` plus `extra` and waits until it
    /// says it is ready.
    pub fn start(data: &Path, extra: &[&str]) -> Worker {
        let unset = ["BUGSTACK_DATA", "BUGSTACK_STORE", "BUGSTACK_REPO"];
        let mut cmd = data_command(&["worker"], data, extra, &unset);
        let (child, stdout, ()) = spawn_until_ready(&mut cmd, "worker did not get ready", |line| {
            line.starts_with("bugstack: worker ready").then_some(())
        });
        Worker { child, stdout }
    }

    /// SIGTERM, then waits for the exit; whether it exited successfully.
    /// After a graceful exit, also waits (10 s at most) until the reader of
    /// its stdout has its last line, `bugstack: stopped`: on a busy machine
    /// the reader thread may lag behind the exit.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let ok = self.child.wait().unwrap().success();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while ok && std::time::Instant::now() < deadline {
            if self
                .stdout
                .lock()
                .unwrap()
                .last()
                .is_some_and(|l| l == "bugstack: stopped")
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        ok
    }
}

/// Re-runs this test binary as SDK client process `name`: only the test
/// `test`, told its role by `role=name` in its environment, sending to
/// `http://{addr}` with the test token; stdout and stderr piped.
pub fn spawn_sdk_client(test: &str, role: &str, name: &str, addr: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(role, name)
        .env("BUGSTACK_ENDPOINT", format!("http://{addr}"))
        .env("BUGSTACK_TOKEN", TOKEN)
        .env_remove("BUGSTACK_RELEASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// SDK client `name`'s load: `capture(name, kind)` `total` times from 4
/// threads, each taking the `kinds` in turn; returns when all are done.
pub fn capture_from_four_threads(name: &str, total: usize, kinds: &'static [&'static str], capture: fn(&str, &str)) {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let name = name.to_string();
            std::thread::spawn(move || {
                for i in 0..total / 4 {
                    capture(&name, kinds[(t + i) % kinds.len()]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Flushes the SDK (asserting it finished within `timeout`) and prints
/// client `name`'s counters as the `SDK_STATS` line [`sdk_stats`] reads.
pub fn flush_and_print_sdk_stats(name: &str, timeout: Duration) {
    assert!(bugstack::sdk::flush(timeout), "flush timed out");
    let s = bugstack::sdk::stats();
    println!(
        "SDK_STATS {name} captured={} sent={} spooled={} rejected={} dropped={} failed_requests={}",
        s.captured,
        s.sent,
        s.spooled,
        s.rejected,
        s.dropped_queue_full + s.dropped_filtered + s.dropped_spool_full,
        s.failed_requests
    );
}

/// The `SDK_STATS {name} ...` line SDK client `name` printed (from
/// `SDK_STATS` on), after checking that the client exited successfully.
pub fn sdk_stats(name: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client {name}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.find(&format!("SDK_STATS {name} ")).map(|at| l[at..].to_string()))
        .unwrap_or_else(|| panic!("client {name} printed no stats: {stdout}"))
}

/// The number `key=value` of a line of `key=value` fields.
pub fn kv(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} missing in {line}"))
}

/// `kill9` and `stdout_text` for a running child (a type with `child` and
/// `stdout` fields), killed when dropped.
macro_rules! running_child {
    ($t:ty) => {
        impl $t {
            /// `kill -9`.
            pub fn kill9(mut self) {
                self.child.kill().unwrap();
                self.child.wait().unwrap();
            }

            /// Its stdout so far.
            pub fn stdout_text(&self) -> String {
                self.stdout.lock().unwrap().join("\n")
            }
        }

        impl Drop for $t {
            fn drop(&mut self) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    };
}

running_child!(Server);
running_child!(Worker);

/// Claims `store`'s next fix job as worker `w` and completes it with `pr`
/// proposed and `report`; returns (incident id, pull request number).
pub fn propose_next(store: &SqliteStore, pr: RunPullRequest, report: serde_json::Value) -> (i64, i64) {
    let job = store
        .claim_job("w", Duration::from_secs(60), Timestamp::now())
        .unwrap()
        .unwrap();
    let outcome = FixOutcome::Proposed { pr, report };
    let run = store.complete_job(job.job.id, "w", &outcome, Timestamp::now()).unwrap();
    (job.incident.id, run.pr_number.unwrap())
}

/// The test job runner's log lines in `data` (`start ...` / `finish ...`).
pub fn runner_log(data: &Path) -> Vec<String> {
    std::fs::read_to_string(data.join("test-runner.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// An event whose group is `group` (via fingerprint parts).
pub fn event(group: &str, release: Option<&str>) -> Event {
    let mut e = Event::new(
        EventKind::Panic,
        Level::Fatal,
        format!("attempt to divide by zero in {group}"),
        Timestamp::now(),
    );
    e.fingerprint_parts = vec![group.to_string()];
    e.release = release.map(str::to_string);
    e
}

pub fn gz_batch(events: Vec<Event>) -> Vec<u8> {
    encode_batch(&Batch::new(Timestamp::now(), events)).unwrap()
}

/// POSTs a gzip'd body with the test token.
pub fn post(client: &reqwest::blocking::Client, server: &Server, body: Vec<u8>) -> reqwest::blocking::Response {
    events_request(client, server, TOKEN, "gzip", body)
        .header("content-type", "application/json")
        .send()
        .unwrap()
}

/// `POST /v1/events` of `body` in `encoding` with bearer `token`, not sent
/// yet.
pub fn events_request(
    client: &reqwest::blocking::Client,
    server: &Server,
    token: &str,
    encoding: &str,
    body: Vec<u8>,
) -> reqwest::blocking::RequestBuilder {
    client
        .post(server.url("/v1/events"))
        .bearer_auth(token)
        .header("content-encoding", encoding)
        .body(body)
}

/// Runs the binary with `args` (no BUGSTACK_* from the environment).
pub fn bugstack(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("BUGSTACK_TOKEN")
        .env_remove("BUGSTACK_DATA")
        .output()
        .unwrap()
}

/// `bugstack fix ID --repo REPO --data DATA` plus `extra`.
pub fn fix(id: &str, repo: &Path, data: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "fix",
        id,
        "--repo",
        repo.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    bugstack(&args)
}

/// `bugstack serve --listen 127.0.0.1:0 --data DATA` plus `extra`, for the
/// flags it refuses: the run's output once it has exited.
pub fn serve_refusing(data: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--data", data.to_str().unwrap()];
    args.extend_from_slice(extra);
    bugstack(&args)
}

/// An incident's timeline (from `show --json`) as (from, to, actor) steps.
pub fn timeline_steps(detail: &serde_json::Value) -> Vec<(Option<&str>, &str, &str)> {
    detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["from"].as_str(),
                t["to"].as_str().unwrap(),
                t["actor"].as_str().unwrap(),
            )
        })
        .collect()
}

/// A crate `dir/name` (a workspace of its own) of `files` (`(path, text)`
/// besides its `Cargo.toml`), committed on `main` with `message`; its root.
pub fn committed_crate(dir: &Path, name: &str, files: &[(&str, &str)], message: &str) -> PathBuf {
    let root = dir.join(name);
    let manifest = format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    for (path, text) in [("Cargo.toml", manifest.as_str())].iter().chain(files) {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "."]);
    git(&root, &["commit", "-q", "-m", message]);
    root
}

/// A bare repository `dir/name` on `main`, added to `root` as `origin` and
/// pushed to; its path.
pub fn push_to_bare(dir: &Path, name: &str, root: &Path) -> PathBuf {
    git(dir, &["init", "-q", "--bare", "-b", "main", name]);
    let remote = dir.join(name);
    git(root, &["remote", "add", "origin", remote.to_str().unwrap()]);
    git(root, &["push", "-q", "origin", "main"]);
    remote
}

/// Runs `git -C dir args` with a fixed identity; its trimmed stdout (panics
/// when git fails).
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `bugstack incidents --json --data DIR`, parsed.
pub fn incidents_json(data: &Path) -> Vec<serde_json::Value> {
    let out = bugstack(&["incidents", "--json", "--data", data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `bugstack show ID --json --data DIR`, parsed.
pub fn show_json(data: &Path, id: i64) -> serde_json::Value {
    let out = bugstack(&["show", &id.to_string(), "--json", "--data", data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits until `f` holds, panicking with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A server (with the test token) on a new data directory: the directory
/// (keep it alive), the data path and the server.
pub fn serve_fresh() -> (tempfile::TempDir, PathBuf, Server) {
    let dir = tempdir();
    let data = data_path(&dir);
    let server = Server::start_with_token(&data, &[]);
    (dir, data, server)
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn data_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data")
}
