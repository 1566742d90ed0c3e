//! After the merge, through the real binary: regressions found by git
//! ancestry (a later commit pushed from another clone, tags, `[releases]`
//! patterns), older and unknown releases, triggers (a warning queues no
//! job), the people's controls recorded in the timeline, and verification.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bugstack::core::{encode_batch, Batch, Event, EventKind, Level, ReleaseAnnouncement, Timestamp};
use bugstack::store::{IncidentStore, SqliteStore};
use common::inventory::*;
use common::*;
use serde_json::Value;

/// Runs `bugstack ARGS --data DATA` with `USER=tester`.
fn cli(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("BUGSTACK_TOKEN")
        .env_remove("BUGSTACK_DATA")
        .env("USER", "tester")
        .output()
        .unwrap()
}

/// `cli` that must succeed, its stdout as JSON.
fn cli_json(data: &Path, args: &[&str]) -> Value {
    let out = cli(data, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A batch carrying `events` and, when given, the sender's release announcement.
fn batch_with(events: Vec<Event>, announce: Option<&str>) -> Vec<u8> {
    let mut b = Batch::new(Timestamp::now(), events);
    b.release = announce.map(|r| ReleaseAnnouncement::new(r, Timestamp::now()));
    encode_batch(&b).unwrap()
}

/// Posts `events` and returns the acknowledgement.
fn send(server: &Server, events: Vec<Event>) -> Value {
    let r = post(&client(), server, gz_batch(events));
    assert_eq!(r.status().as_u16(), 202);
    r.json().unwrap()
}

/// Another clone of `remote` (as CI/CD would have), in `dir/name`.
fn other_clone(dir: &Path, remote: &Path, name: &str) -> PathBuf {
    git(dir, &["clone", "-q", remote.to_str().unwrap(), name]);
    dir.join(name)
}

/// Commits a new file in `clone` and pushes main; the new commit.
fn commit_and_push(clone: &Path, file: &str, text: &str) -> String {
    std::fs::write(clone.join(file), text).unwrap();
    git(clone, &["add", file]);
    git(clone, &["commit", "-q", "-m", &format!("Add {file}")]);
    git(clone, &["push", "-q", "origin", "main"]);
    git(clone, &["rev-parse", "HEAD"])
}

fn status(data: &Path, id: i64) -> String {
    show_json(data, id)["status"].as_str().unwrap().to_string()
}

fn verdict(d: &Value, release: &str) -> Option<String> {
    d["release_checks"]
        .as_array()?
        .iter()
        .find(|v| v["release"] == release)
        .map(|v| v["verdict"].as_str().unwrap_or_default().to_string())
}

const WAIT: Duration = Duration::from_secs(60);

/// The fix merges through the real pipeline (local forge, auto-merge); a
/// later commit of main, pushed from another clone and never fetched by
/// bugstack's clone, sends the same panic: `regressed`, with a new fix
/// job. The release from before the fix is counted and leaves it `fixed`.
#[test]
fn a_descendant_commit_pushed_elsewhere_regresses_and_an_older_release_stays_fixed() {
    let dir = tempdir();
    let (root, remote, before_fix) = repo_with_policy(dir.path(), &auto_merge_policy());
    let data = data_path(&dir);
    SqliteStore::open(&data)
        .unwrap()
        .ingest(&[panic_event(&before_fix)], Timestamp::now())
        .unwrap();
    let out = fix("1", &root, &data, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let d = show_json(&data, 1);
    assert_eq!(d["status"], "fixed", "{d}");
    let fix = git(&remote, &["rev-parse", "main"]);
    assert_eq!(d["fix_commit"], fix.as_str(), "the merge commit is the fix commit");

    let other = other_clone(dir.path(), &remote, "ci");
    let later = commit_and_push(&other, "CHANGELOG.md", "# Changes\n");
    assert!(
        std::process::Command::new("git")
            .args(["-C", root.to_str().unwrap(), "cat-file", "-e", &later])
            .output()
            .map(|o| !o.status.success())
            .unwrap(),
        "bugstack's clone does not have the later commit before it fetches"
    );

    let server = Server::start_with_token(&data, &["--repo", root.to_str().unwrap()]);
    // Old deployments still running the release from before the fix.
    let ack = send(&server, vec![panic_event(&before_fix)]);
    assert_eq!(ack["regressed"], serde_json::json!([]));
    wait_until(WAIT, "the old release to be classified", || {
        verdict(&show_json(&data, 1), &before_fix).is_some()
    });
    let d = show_json(&data, 1);
    assert_eq!(verdict(&d, &before_fix).as_deref(), Some("older"), "{d}");
    assert_eq!((d["status"].as_str(), d["count"].as_u64()), (Some("fixed"), Some(2)));
    assert_eq!(d["jobs"].as_array().unwrap().len(), 1);

    // The later commit (named by its abbreviated id) contains the fix.
    send(&server, vec![panic_event(&later[..10])]);
    wait_until(WAIT, "the regression", || status(&data, 1) == "regressed");
    let d = show_json(&data, 1);
    assert_eq!(verdict(&d, &later[..10]).as_deref(), Some("contains-fix"), "{d}");
    let jobs = d["jobs"].as_array().unwrap();
    assert_eq!(
        (jobs.len(), jobs[1]["state"].as_str()),
        (2, Some("queued")),
        "a new fix job: {d}"
    );
    // The timeline tells the whole story, with who and why.
    let steps = timeline_steps(&d);
    assert_eq!(
        steps.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(),
        vec![
            (None, "open"),
            (Some("open"), "fixing"),
            (Some("fixing"), "fix-proposed"),
            (Some("fix-proposed"), "fixed"),
            (Some("fixed"), "regressed"),
        ],
        "{d}"
    );
    let last = d["timeline"].as_array().unwrap().last().unwrap();
    assert_eq!(last["actor"], "bugstack");
    assert!(last["reason"].as_str().unwrap().contains("contains the fix"), "{last}");
    assert!(d["timeline"][3]["reason"].as_str().unwrap().contains("merged"), "{d}");
    // More occurrences from it queue no more jobs.
    send(&server, vec![panic_event(&later)]);
    assert_eq!(show_json(&data, 1)["jobs"].as_array().unwrap().len(), 2);
}

/// A repository whose fix was made by hand in another clone: the initial
/// commit tagged `ledger@0.1.0`, the fix tagged `v0.2.0`, a later commit
/// tagged `ledger@0.3.0` and `v0.4.0`; bugstack.toml maps
/// `shop@{version}` to `v{version}`. Returns (root, fix commit).
fn tagged_repo(dir: &Path) -> (PathBuf, String) {
    let policy = format!("{POLICY}\n[releases]\n\"shop@{{version}}\" = \"v{{version}}\"\n");
    let (root, remote, _) = repo_with_policy(dir, &policy);
    git(&root, &["tag", "ledger@0.1.0"]);
    git(&root, &["push", "-q", "origin", "ledger@0.1.0"]);
    let other = other_clone(dir, &remote, "dev");
    let fix = commit_and_push(&other, "FIX.md", "fixed by hand\n");
    git(&other, &["tag", "v0.2.0"]);
    commit_and_push(&other, "LATER.md", "later\n");
    git(&other, &["tag", "ledger@0.3.0"]);
    git(&other, &["tag", "v0.4.0"]);
    git(&other, &["push", "-q", "--tags", "origin"]);
    (root, fix)
}

/// Releases named by tags and by a `[releases]` pattern resolve (after a
/// fetch) and regress; an older tag leaves the incident fixed; an unknown
/// release is counted with a note in `show`. A warning queues no job.
#[test]
fn tag_and_pattern_named_releases_resolve_and_unknown_ones_are_noted() {
    let dir = tempdir();
    let (root, fix) = tagged_repo(dir.path());
    let data = data_path(&dir);
    let server = Server::start_with_token(&data, &["--repo", root.to_str().unwrap()]);
    let mut warning = Event::new(EventKind::Message, Level::Warning, "disk 91% full", Timestamp::now());
    warning.fingerprint_parts = vec!["disk".into()];
    let mut warned_error = Event::new(EventKind::Error, Level::Warning, "retrying upstream", Timestamp::now());
    warned_error.fingerprint_parts = vec!["retry".into()];
    let ack = send(
        &server,
        vec![
            event("g1", Some("ledger@0.1.0")),
            event("g2", Some("ledger@0.1.0")),
            event("g3", Some("ledger@0.1.0")),
            warning,
            warned_error,
        ],
    );
    assert_eq!(ack["new_incidents"], serde_json::json!([1, 2, 3, 4, 5]));
    for id in [1, 2, 3] {
        assert_eq!(show_json(&data, id)["jobs"].as_array().map(Vec::len), Some(1));
    }
    // Warnings are recorded and counted, never fixed.
    for id in [4, 5] {
        let d = show_json(&data, id);
        assert_eq!(d["jobs"], serde_json::json!([]), "{d}");
        assert!(
            d["timeline"][0]["reason"].as_str().unwrap().contains("no fix job"),
            "{d}"
        );
    }

    // Fixed by hand, named three ways: a tag, an abbreviated commit, a pattern.
    for (id, release) in [("1", "v0.2.0"), ("2", &fix[..8]), ("3", "shop@0.2.0")] {
        let out = cli_json(&data, &["resolve", id, "--release", release, "--json"]);
        assert_eq!(out["incident"]["status"], "fixed", "{out}");
    }
    wait_until(WAIT, "the fix commits to resolve", || {
        (1..=3).all(|id| show_json(&data, id)["fix_commit"] == fix.as_str())
    });

    send(
        &server,
        vec![
            event("g1", Some("ledger@0.3.0")),
            event("g2", Some("shop@0.4.0")),
            event("g3", Some("ledger@0.1.0")),
            event("g3", Some("nightly-unknown")),
        ],
    );
    wait_until(WAIT, "tag and pattern releases to regress", || {
        status(&data, 1) == "regressed" && status(&data, 2) == "regressed"
    });
    wait_until(WAIT, "the older and unknown releases to be classified", || {
        show_json(&data, 3)["release_checks"].as_array().map(Vec::len) == Some(2)
    });
    let d = show_json(&data, 3);
    assert_eq!(d["status"], "fixed", "{d}");
    assert_eq!(verdict(&d, "ledger@0.1.0").as_deref(), Some("older"));
    assert_eq!(verdict(&d, "nightly-unknown").as_deref(), Some("unknown"));
    let shown = cli(&data, &["show", "3"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("nightly-unknown: unknown"), "{text}");
    assert!(text.contains("ledger@0.1.0: older"), "{text}");
    assert_eq!(
        verdict(&show_json(&data, 2), "shop@0.4.0").as_deref(),
        Some("contains-fix")
    );
}

/// ignore, reopen, retry and resolve from the CLI: each recorded in the
/// timeline with who and why, with clear errors (exit 3: no such incident;
/// exit 1: a change the lifecycle does not allow).
#[test]
fn the_controls_work_and_are_recorded_in_the_timeline() {
    let dir = tempdir();
    let data = data_path(&dir);
    SqliteStore::open(&data)
        .unwrap()
        .ingest(&[event("checkout", Some("1.0"))], Timestamp::now())
        .unwrap();

    let out = cli_json(
        &data,
        &["ignore", "1", "--reason", "vendor outage", "--actor", "alice", "--json"],
    );
    assert_eq!(out["incident"]["status"], "ignored");
    assert_eq!(
        (
            out["change"]["from"].as_str(),
            out["change"]["actor"].as_str(),
            out["change"]["reason"].as_str()
        ),
        (Some("open"), Some("alice"), Some("vendor outage"))
    );
    assert_eq!(show_json(&data, 1)["jobs"][0]["state"], "cancelled");

    let again = cli(&data, &["ignore", "1"]);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("cannot go from ignored to ignored"), "{err}");
    assert_eq!(cli(&data, &["ignore", "99"]).status.code(), Some(3));

    let out = cli_json(&data, &["reopen", "1", "--json"]);
    assert_eq!(out["incident"]["status"], "open");
    assert_eq!(out["change"]["actor"], "tester", "$USER by default");
    let d = show_json(&data, 1);
    assert_eq!(d["jobs"][1]["state"], "queued");

    let out = cli_json(&data, &["retry", "1", "--reason", "model key fixed", "--json"]);
    assert_eq!(out["job"]["id"], d["jobs"][1]["id"], "the queued job, runnable now");
    assert_eq!(out["change"]["reason"], "model key fixed");

    let out = cli_json(
        &data,
        &["resolve", "1", "--release", "1.1", "--reason", "fixed in #12", "--json"],
    );
    assert_eq!(out["incident"]["status"], "fixed");
    assert_eq!(out["incident"]["fixed_in_release"], "1.1");
    let refused = cli(&data, &["retry", "1"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only an open or regressed incident"));
    let refused = cli(&data, &["resolve", "1", "--release", "1.2"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot go from fixed to fixed"));

    let d = show_json(&data, 1);
    let steps = timeline_steps(&d);
    assert_eq!(
        steps,
        vec![
            (None, "open", "bugstack"),
            (Some("open"), "ignored", "alice"),
            (Some("ignored"), "open", "tester"),
            (Some("open"), "open", "tester"),
            (Some("open"), "fixed", "tester"),
        ],
        "{d}"
    );
    let shown = cli(&data, &["show", "1"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("timeline:") && text.contains("by alice: vendor outage"),
        "{text}"
    );
    assert!(text.contains("open → fixed") && text.contains("fixed in #12"), "{text}");
}

/// Verification with a short window: a live release containing the fix
/// that stays silent makes the incident `verified` (by bugstack); one that
/// sends the fingerprint makes it `regressed`, and so does the fingerprint
/// coming back from the release that verified it.
#[test]
fn a_silent_live_release_verifies_and_a_noisy_one_regresses() {
    let dir = tempdir();
    let (root, _fix) = tagged_repo(dir.path());
    let data = data_path(&dir);
    let server = Server::start_with_token(&data, &["--repo", root.to_str().unwrap(), "--verify-window", "2s"]);
    send(
        &server,
        vec![
            event("quiet", Some("ledger@0.1.0")),
            event("noisy", Some("ledger@0.1.0")),
        ],
    );
    for id in ["1", "2"] {
        cli_json(&data, &["resolve", id, "--release", "v0.2.0", "--json"]);
    }
    // A process of the later release starts and announces itself.
    let r = post(&client(), &server, batch_with(Vec::new(), Some("ledger@0.3.0")));
    assert_eq!(r.status().as_u16(), 202);
    send(&server, vec![event("noisy", Some("ledger@0.3.0"))]);

    wait_until(WAIT, "verification", || status(&data, 1) == "verified");
    wait_until(WAIT, "the noisy release to regress", || status(&data, 2) == "regressed");
    let d = show_json(&data, 1);
    let last = d["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["from"].as_str(), last["actor"].as_str()),
        (Some("fixed"), Some("bugstack"))
    );
    assert!(last["reason"].as_str().unwrap().contains("ledger@0.3.0"), "{last}");
    assert_eq!(status(&data, 2), "regressed");
    assert_eq!(show_json(&data, 2)["jobs"].as_array().unwrap().len(), 2);

    // The verified fingerprint comes back from that release: regressed at once.
    let ack = send(&server, vec![event("quiet", Some("ledger@0.3.0"))]);
    assert_eq!(ack["regressed"], serde_json::json!([1]));
    assert_eq!(status(&data, 1), "regressed");
}
