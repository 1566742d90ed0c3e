//! A fix job interrupted by `kill -9` of the collector is claimed again after
//! restart (once its lease expires) and completed exactly once.
//!
//! Uses the hidden `serve --test-job-runner sleep-ms=N` test double (feature
//! `test-support`, required by this test target; see
//! `bugstack::jobs::SleepRunner`): it logs start/finish lines and records
//! "no fix"; the claim/lease/complete mechanics are the real ones.

mod common;

use std::time::Duration;

use common::*;

fn log_lines(data: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(data.join("test-runner.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_job_interrupted_by_a_crash_completes_exactly_once_after_restart() {
    let dir = tempdir();
    let data = data_path(&dir);
    let server = Server::start_with_token(&data, &["--test-job-runner", "sleep-ms=60000", "--job-lease-secs", "2"]);
    let r = post(&client(), &server, gz_batch(vec![event("crashy", Some("1.0"))]));
    assert_eq!(r.status().as_u16(), 202);
    wait_until(Duration::from_secs(20), "the job to start", || {
        log_lines(&data).iter().any(|l| l.starts_with("start "))
    });
    let incident = incidents_json(&data)[0].clone();
    assert_eq!(incident["status"], "fixing");
    server.kill9();

    let detail = show_json(&data, 1);
    assert_eq!(
        detail["jobs"][0]["state"], "running",
        "the dead worker's lease is still recorded"
    );
    assert_eq!(detail["runs"].as_array().unwrap().len(), 0);

    // Restart: once the lease expires the job is claimed again and finishes.
    let server = Server::start_with_token(&data, &["--test-job-runner", "sleep-ms=200", "--job-lease-secs", "2"]);
    wait_until(Duration::from_secs(30), "the job to finish", || {
        show_json(&data, 1)["jobs"][0]["state"] == "done"
    });
    // Give a would-be duplicate time to show up, then check it did not.
    std::thread::sleep(Duration::from_secs(3));
    drop(server);

    let lines = log_lines(&data);
    let starts = lines.iter().filter(|l| l.starts_with("start ")).count();
    let finishes: Vec<&String> = lines.iter().filter(|l| l.starts_with("finish ")).collect();
    assert_eq!(starts, 2, "{lines:?}");
    assert_eq!(finishes.len(), 1, "{lines:?}");
    assert!(finishes[0].contains("attempt=2"), "{lines:?}");

    let detail = show_json(&data, 1);
    let job = &detail["jobs"][0];
    assert_eq!(
        (job["state"].as_str(), job["attempts"].as_u64()),
        (Some("done"), Some(2))
    );
    let runs = detail["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "completed exactly once: {runs:?}");
    assert_eq!(runs[0]["outcome"], "no-fix");
    assert_eq!(runs[0]["attempt"], 2);
    assert_eq!(runs[0]["report"]["runner"], "test-sleep");
    assert_eq!(detail["status"], "open", "no fix found: back to open");
}

/// A graceful stop (SIGTERM) hands a running job back to the queue at once:
/// the next start runs it without waiting for the lease, and the interrupted
/// attempt is not counted.
#[test]
fn sigterm_hands_a_running_job_back_without_waiting_for_its_lease() {
    let dir = tempdir();
    let data = data_path(&dir);
    let mut server = Server::start_with_token(&data, &["--test-job-runner", "sleep-ms=60000"]);
    let r = post(&client(), &server, gz_batch(vec![event("graceful", None)]));
    assert_eq!(r.status().as_u16(), 202);
    wait_until(Duration::from_secs(20), "the job to start", || {
        log_lines(&data).iter().any(|l| l.starts_with("start "))
    });
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(server.child.wait().unwrap().success());
    let job = &show_json(&data, 1)["jobs"][0];
    assert_eq!(
        (job["state"].as_str(), job["attempts"].as_u64()),
        (Some("queued"), Some(0))
    );

    // The default lease is 60 s; the job must not wait for it.
    let _server = Server::start_with_token(&data, &["--test-job-runner", "sleep-ms=10"]);
    wait_until(Duration::from_secs(15), "the job to finish", || {
        show_json(&data, 1)["jobs"][0]["state"] == "done"
    });
    let runs = show_json(&data, 1)["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["attempt"], 1);
}
