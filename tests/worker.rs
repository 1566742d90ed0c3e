//! `bugstack worker`: fix jobs run beside a collector that only collects.
//! Two workers share the queue; a worker `kill -9`ed mid-job has its job
//! taken over by the other once the lease expires, and every job completes
//! exactly once; SIGTERM hands a running job back at once; a worker without
//! a repository or a store refuses to start.
//!
//! On the SQLite store (one `serve` and its workers on one machine); the
//! Postgres shape is `tests/serve_postgres.rs`. Uses the hidden
//! `--test-job-runner sleep-ms=N` test double (feature `test-support`): it
//! logs start/finish lines to `DATA/test-runner.log` and records "no fix";
//! the claim/lease/complete mechanics are the real ones.

mod common;

use std::time::Duration;

use common::*;

fn starts(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|l| l.starts_with("start ")).collect()
}

fn finishes(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|l| l.starts_with("finish ")).collect()
}

/// `key=value` of a runner log line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("{key} missing in {line}"))
}

#[test]
fn workers_share_the_queue_and_take_over_a_dead_workers_job_once() {
    const INCIDENTS: usize = 4;
    let dir = tempdir();
    let data = data_path(&dir);
    // The collector only collects: its fix jobs are queued, not run.
    let server = Server::start_with_token(&data, &[]);
    assert!(server.stdout_text().contains("but not run"), "{}", server.stdout_text());
    let events = (0..INCIDENTS)
        .map(|i| event(&format!("worker-{i}"), Some("1.0")))
        .collect();
    assert_eq!(post(&client(), &server, gz_batch(events)).status().as_u16(), 202);

    // The first worker takes one job and hangs in it.
    let stuck = Worker::start(
        &data,
        &[
            "--test-job-runner",
            "sleep-ms=600000",
            "--job-lease-secs",
            "2",
            "--jobs",
            "1",
            "--poll-ms",
            "50",
        ],
    );
    assert!(
        stuck.stdout_text().contains("fix jobs: test-sleep runner, 1 at a time"),
        "{}",
        stuck.stdout_text()
    );
    wait_until(Duration::from_secs(20), "the first worker to start a job", || {
        !starts(&runner_log(&data)).is_empty()
    });
    let taken = field(starts(&runner_log(&data))[0], "job").to_string();
    stuck.kill9();

    // The second worker runs the rest at once and the dead worker's job
    // once its lease has expired.
    let worker = Worker::start(
        &data,
        &[
            "--test-job-runner",
            "sleep-ms=50",
            "--job-lease-secs",
            "2",
            "--poll-ms",
            "50",
        ],
    );
    wait_until(Duration::from_secs(30), "every job to finish", || {
        let jobs = show_all_jobs(&data);
        jobs.len() == INCIDENTS && jobs.iter().all(|j| j["state"] == "done")
    });
    // A would-be duplicate has time to show up.
    std::thread::sleep(Duration::from_secs(3));
    let out = worker.stdout_text();
    drop(worker);
    drop(server);

    let lines = runner_log(&data);
    let finished = finishes(&lines);
    assert_eq!(finished.len(), INCIDENTS, "each job finished once: {lines:?}");
    let mut jobs: Vec<&str> = finished.iter().map(|l| field(l, "job")).collect();
    jobs.sort_unstable();
    jobs.dedup();
    assert_eq!(jobs.len(), INCIDENTS, "{lines:?}");
    assert_eq!(
        starts(&lines).len(),
        INCIDENTS + 1,
        "the taken-over job started twice: {lines:?}"
    );
    let retaken = finished.iter().find(|l| field(l, "job") == taken).unwrap();
    assert_eq!(field(retaken, "attempt"), "2", "{lines:?}");
    for i in incidents_json(&data) {
        let detail = show_json(&data, i["id"].as_i64().unwrap());
        let runs = detail["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1, "one run per incident: {runs:?}");
        assert_eq!(runs[0]["outcome"], "no-fix");
        assert_eq!(detail["status"], "open");
    }
    assert!(out.contains(&format!("fix job {taken} for incident")), "{out}");
    assert!(out.contains("no-fix (run "), "progress is printed: {out}");
}

/// Every incident's jobs, from `bugstack show --json`.
fn show_all_jobs(data: &std::path::Path) -> Vec<serde_json::Value> {
    incidents_json(data)
        .iter()
        .flat_map(|i| {
            show_json(data, i["id"].as_i64().unwrap())["jobs"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn sigterm_hands_the_workers_running_job_back_at_once() {
    let dir = tempdir();
    let data = data_path(&dir);
    let server = Server::start_with_token(&data, &[]);
    assert_eq!(
        post(&client(), &server, gz_batch(vec![event("graceful-worker", None)]))
            .status()
            .as_u16(),
        202
    );
    let worker = Worker::start(&data, &["--test-job-runner", "sleep-ms=600000", "--poll-ms", "50"]);
    wait_until(Duration::from_secs(20), "the job to start", || {
        !starts(&runner_log(&data)).is_empty()
    });
    let stdout = worker.stdout.clone();
    assert!(worker.terminate(), "a graceful stop exits 0");
    let out = stdout.lock().unwrap().join("\n");
    assert!(out.contains("interrupted by shutdown, back in the queue"), "{out}");
    assert!(out.ends_with("bugstack: stopped"), "{out}");
    let job = &show_json(&data, 1)["jobs"][0];
    assert_eq!(
        (job["state"].as_str(), job["attempts"].as_u64()),
        (Some("queued"), Some(0)),
        "back in the queue, the attempt not counted"
    );
    // The default lease is 60 s: the next worker must not wait for it.
    let _worker = Worker::start(&data, &["--test-job-runner", "sleep-ms=10", "--poll-ms", "50"]);
    wait_until(Duration::from_secs(15), "the job to finish", || {
        show_json(&data, 1)["jobs"][0]["state"] == "done"
    });
    assert_eq!(show_json(&data, 1)["runs"][0]["attempt"], 1);
    drop(server);
}

#[test]
fn a_worker_needs_a_repository_and_an_existing_store() {
    let dir = tempdir();
    let data = data_path(&dir);
    let d = data.to_str().unwrap();
    let out = bugstack(&["worker", "--data", d]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs the repository to fix: pass --repo PATH"), "{err}");

    let out = bugstack(&["worker", "--data", d, "--test-job-runner", "sleep-ms=1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no bugstack store in"), "{err}");
    assert!(!data.join("bugstack.db").exists(), "a worker never creates a store");

    let out = bugstack(&[
        "worker",
        "--data",
        d,
        "--store",
        "mysql://db/x",
        "--test-job-runner",
        "sleep-ms=1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("takes a Postgres URL"));

    let help = String::from_utf8_lossy(&bugstack(&["worker", "--help"]).stdout).into_owned();
    for words in ["SKIP LOCKED", "--job-lease-secs", "SIGTERM", "BUGSTACK_STORE", "--repo"] {
        assert!(help.contains(words), "worker --help does not explain {words}:\n{help}");
    }
    assert!(!help.contains("test-job-runner"), "the test double stays hidden");
}
