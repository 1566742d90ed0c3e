//! A collector down across a process restart loses nothing: one process
//! captures and exits (its batches go to the spool), the next one sends them.
//! Also: with synchronous panic persistence (the `panic = "abort"` path), a
//! panic that kills the process before the worker runs is still delivered.
//!
//! The "processes" are this test binary re-executed with `BUGSTACK_CHILD` set,
//! running only the `child` test below.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bugstack_core::EventKind;
use bugstack_sdk::{Level, Options};
use common::Collector;

fn child_options() -> Options {
    let endpoint = std::env::var("CHILD_ENDPOINT").unwrap();
    let spool = std::env::var("CHILD_SPOOL").unwrap();
    Options::new()
        .endpoint(endpoint)
        .token("tok-spool")
        .spool_dir(spool)
        .request_timeout(Duration::from_millis(500))
        // Generous: under a loaded machine the worker may still be loading
        // debug info when the guard drops.
        .flush_timeout(Duration::from_secs(10))
}

/// Entry point of the child processes; does nothing in a normal test run.
#[test]
fn child() {
    let Ok(role) = std::env::var("BUGSTACK_CHILD") else {
        return;
    };
    match role.as_str() {
        "capture" => {
            // A release with its dependency list: the announcement rides
            // the first batch, which is spooled with it.
            static DEPS: std::sync::OnceLock<Vec<bugstack_sdk::Dependency>> = std::sync::OnceLock::new();
            let deps = DEPS.get_or_init(|| vec![bugstack_sdk::Dependency::new("serde", "1.0.210")]);
            let guard = bugstack_sdk::init(child_options().release("shop@2.0.0").dependencies(deps.as_slice()));
            assert!(guard.is_enabled());
            for i in 0..10 {
                bugstack_sdk::capture_error(&std::io::Error::other(format!("write {i} failed")));
                bugstack_sdk::capture_message("queue backed up", Level::Warning);
            }
            let _ = std::thread::spawn(|| panic!("worker thread died")).join();
            // Dropping the guard flushes: delivery fails, batches are spooled.
        }
        "abort" => {
            // A previous hook that aborts, as `panic = "abort"` would right
            // after the hooks: the worker never gets to run.
            std::panic::set_hook(Box::new(|_| std::process::abort()));
            let guard = bugstack_sdk::init(child_options().persist_panics_synchronously(true));
            assert!(guard.is_enabled());
            panic!("fatal in abort mode");
        }
        "default-options" => {
            // What `Options::default()` gives a service, with the process
            // environment replaced by these variables (no spool configured).
            let endpoint = std::env::var("CHILD_ENDPOINT").unwrap();
            let state = std::env::var("CHILD_STATE_HOME").unwrap();
            let guard = bugstack_sdk::init(
                Options::from_lookup(|k| match k {
                    "BUGSTACK_ENDPOINT" => Some(endpoint.clone()),
                    "BUGSTACK_TOKEN" => Some("tok-spool".into()),
                    "BUGSTACK_SERVICE" => Some("checkout".into()),
                    "XDG_STATE_HOME" => Some(state.clone()),
                    _ => None,
                })
                .request_timeout(Duration::from_millis(500))
                .flush_timeout(Duration::from_secs(10)),
            );
            assert!(guard.is_enabled());
            for i in 0..5 {
                bugstack_sdk::capture_error(&std::io::Error::other(format!("charge {i} failed")));
            }
        }
        "replay" => {
            let guard = bugstack_sdk::init(child_options());
            assert!(bugstack_sdk::flush(Duration::from_secs(20)), "spool replayed");
            drop(guard);
        }
        other => panic!("unknown child role {other}"),
    }
}

fn run_child(role: &str, endpoint: &str, spool: &Path) -> std::process::ExitStatus {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env("BUGSTACK_CHILD", role)
        .env("CHILD_ENDPOINT", endpoint)
        .env("CHILD_SPOOL", spool)
        .env("CHILD_STATE_HOME", spool)
        .status()
        .unwrap()
}

fn temp_spool(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bugstack-restart-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn spooled_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0)
}

/// An address where nothing listens (connection refused).
fn dead_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn collector_down_across_a_restart_loses_nothing() {
    let spool = temp_spool("restart");
    assert!(run_child("capture", &dead_endpoint(), &spool).success());
    assert!(spooled_files(&spool) >= 1, "undelivered batches are on disk");

    let collector = Collector::start("tok-spool");
    assert!(run_child("replay", &collector.endpoint, &spool).success());
    let events = collector.events();
    let count = |k: EventKind| events.iter().filter(|e| e.kind == k).map(|e| e.count).sum::<u64>();
    assert_eq!(count(EventKind::Error), 10);
    assert_eq!(count(EventKind::Message), 10);
    assert_eq!(count(EventKind::Panic), 1);
    assert!(events.iter().any(|e| e.message == "worker thread died"));
    // The release announcement was spooled with its batches (each batch
    // carries it until one is accepted; the collector's upsert makes repeats
    // harmless) and delivered by the next process, which announces no
    // release of its own.
    let announced: Vec<_> = collector.batches().into_iter().filter_map(|b| b.release).collect();
    assert!(!announced.is_empty(), "the announcement survived the restart");
    for a in &announced {
        assert_eq!(a.name, "shop@2.0.0");
        assert_eq!(
            a.dependencies.as_deref(),
            Some(&[bugstack_sdk::Dependency::new("serde", "1.0.210")][..])
        );
    }
    assert_eq!(spooled_files(&spool), 0, "delivered files are removed");
    let _ = std::fs::remove_dir_all(&spool);
}

#[test]
fn default_options_spool_to_the_state_directory_and_lose_nothing() {
    let state = temp_spool("default");
    assert!(run_child("default-options", &dead_endpoint(), &state).success());
    let spool = state.join("bugstack").join("checkout");
    assert!(
        spooled_files(&spool) >= 1,
        "undelivered batches are in {}",
        spool.display()
    );

    let collector = Collector::start("tok-spool");
    assert!(run_child("replay", &collector.endpoint, &spool).success());
    let errors: u64 = collector
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::Error)
        .map(|e| e.count)
        .sum();
    assert_eq!(errors, 5);
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn panic_persisted_synchronously_survives_an_abort() {
    let spool = temp_spool("abort");
    let status = run_child("abort", &dead_endpoint(), &spool);
    assert!(!status.success(), "the child aborted");
    assert_eq!(spooled_files(&spool), 1, "the panic reached the disk before the abort");

    let collector = Collector::start("tok-spool");
    assert!(run_child("replay", &collector.endpoint, &spool).success());
    let events = collector.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!((e.kind, e.message.as_str()), (EventKind::Panic, "fatal in abort mode"));
    assert!(
        e.frames
            .iter()
            .any(|f| f.in_app && f.function.as_deref().is_some_and(|n| n.contains("child"))),
        "symbols were resolved before the abort: {:#?}",
        e.frames
    );
    let _ = std::fs::remove_dir_all(&spool);
}
