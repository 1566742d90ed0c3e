//! `bugstack fix` on a small fixture repository with an ingested incident:
//! the real binary, real git, real cargo checks in a worktree, a strict
//! policy (no auto-merge) → a pull request left for review.

mod common;

use std::path::Path;
use std::process::Command;

use bugstack::core::{Event, EventKind, Frame, Level, Location, Timestamp};
use bugstack::store::{IncidentStore, SqliteStore};
use common::*;

const LIB: &str = "//! A calculator.

/// Average of `total` over `parts`.
pub fn average(total: u64, parts: u64) -> u64 {
    total / parts
}

#[cfg(test)]
mod tests {
    #[test]
    fn average_of_ten_over_two() {
        assert_eq!(super::average(10, 2), 5);
    }
}
";

const POLICY: &str = r#"auto_merge = false
retry_limit = 1

[[checks]]
name = "test"
command = "cargo test"
timeout_secs = 300

[forge]
kind = "local"
remote = "origin"
base_branch = "main"
"#;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A committed crate with a latent divide-by-zero, pushed to a bare `origin`.
fn fixture(base: &Path) -> (std::path::PathBuf, String) {
    let repo = base.join("calc");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(
        repo.join("Cargo.toml"),
        "[package]\nname = \"calc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(repo.join("src/lib.rs"), LIB).unwrap();
    std::fs::write(repo.join("bugstack.toml"), POLICY).unwrap();
    std::fs::write(repo.join(".gitignore"), "/target\n").unwrap();
    git(&repo, &["init", "-q", "--initial-branch=main"]);
    git(&repo, &["add", "--all"]);
    git(&repo, &["commit", "-q", "-m", "calc"]);
    git(base, &["init", "-q", "--bare", "--initial-branch=main", "calc.git"]);
    git(
        &repo,
        &["remote", "add", "origin", base.join("calc.git").to_str().unwrap()],
    );
    git(&repo, &["push", "-q", "origin", "main"]);
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    (repo, commit)
}

fn panic_event(release: &str) -> Event {
    let mut e = Event::new(
        EventKind::Panic,
        Level::Fatal,
        "attempt to divide by zero",
        Timestamp::now(),
    );
    e.location = Some(Location {
        file: "src/lib.rs".into(),
        line: 5,
        column: Some(5),
    });
    e.frames = vec![Frame {
        function: Some("calc::average".into()),
        module: Some("calc".into()),
        file: Some("src/lib.rs".into()),
        line: Some(5),
        column: Some(5),
        in_app: true,
        ..Frame::default()
    }];
    e.release = Some(release.into());
    e
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("BUGSTACK_TOKEN")
        .env_remove("BUGSTACK_DATA")
        .env_remove("BUGSTACK_REPO")
        .output()
        .unwrap()
}

#[test]
fn fix_opens_a_pull_request_for_review_under_a_strict_policy() {
    let dir = tempdir();
    let (repo, commit) = fixture(dir.path());
    let data = dir.path().join("data");
    let store = SqliteStore::open(&data).unwrap();
    store.ingest(&vec![panic_event(&commit); 40], Timestamp::now()).unwrap();
    drop(store);

    let (r, d) = (repo.to_str().unwrap(), data.to_str().unwrap());
    let out = run(&["fix", "1", "--repo", r, "--data", d, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("bugstack: fix: attempt 1: check test"),
        "progress on stderr: {stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["decision"]["kind"], "review", "{report}");
    assert_eq!(report["deployment"]["merged"], false);
    assert_eq!(report["deployment"]["pull_request"]["state"], "open");
    let branch = report["deployment"]["branch"].as_str().unwrap();
    // The branch is on the remote, main is untouched.
    let remote = dir.path().join("calc.git");
    assert_eq!(git(&remote, &["rev-parse", "main"]), commit);
    assert!(!git(&remote, &["rev-parse", branch]).is_empty());
    // The store follows: fix-proposed; the report is on disk in both forms.
    let shown = show_json(&data, 1);
    assert_eq!(shown["status"], "fix-proposed", "{shown}");
    let reports: Vec<_> = std::fs::read_dir(data.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        reports.iter().any(|p| p.extension().is_some_and(|e| e == "json")),
        "{reports:?}"
    );
    assert!(
        reports.iter().any(|p| p.extension().is_some_and(|e| e == "md")),
        "{reports:?}"
    );
    // A second run is refused: the incident is no longer open.
    let again = run(&["fix", "1", "--repo", r, "--data", d]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is fix-proposed"));
}

#[test]
fn fix_rejects_unknown_incidents_and_non_git_repositories() {
    let dir = tempdir();
    let (repo, commit) = fixture(dir.path());
    let data = dir.path().join("data");
    SqliteStore::open(&data)
        .unwrap()
        .ingest(&[panic_event(&commit)], Timestamp::now())
        .unwrap();
    let d = data.to_str().unwrap();

    let out = run(&["fix", "99", "--repo", repo.to_str().unwrap(), "--data", d]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: no incident with id 99"), "{err}");
    assert!(err.contains("hint:"), "{err}");

    let plain = dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let out = run(&["fix", "1", "--repo", plain.to_str().unwrap(), "--data", d]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: --repo") && err.contains("not a git repository"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    // Nothing changed in the store.
    assert_eq!(show_json(&data, 1)["status"], "open");
}

#[test]
fn serve_auto_fix_runs_the_pipeline_on_a_new_incident() {
    let dir = tempdir();
    let (repo, commit) = fixture(dir.path());
    let data = dir.path().join("data");
    let server = Server::start_with_token(&data, &["--auto-fix", "--repo", repo.to_str().unwrap()]);
    let res = post(&client(), &server, gz_batch(vec![panic_event(&commit); 25]));
    assert!(res.status().is_success(), "{}", res.status());
    wait_until(std::time::Duration::from_secs(120), "the fix job", || {
        show_json(&data, 1)["status"] == "fix-proposed"
    });
    let shown = show_json(&data, 1);
    let runs = shown["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{shown}");
    assert_eq!(runs[0]["outcome"], "proposed");
    assert_eq!(runs[0]["report"]["decision"]["kind"], "review");
    assert_eq!(shown["pull_requests"][0]["state"], "open");
    assert!(
        server.stdout_text().contains("fix report for incident 1"),
        "{}",
        server.stdout_text()
    );
}

#[test]
fn fix_without_a_candidate_exits_4_and_reopens_the_incident() {
    let dir = tempdir();
    let (repo, commit) = fixture(dir.path());
    let data = dir.path().join("data");
    let mut e = panic_event(&commit);
    e.message = "the flux capacitor is out of jigawatts".into();
    SqliteStore::open(&data)
        .unwrap()
        .ingest(&[e], Timestamp::now())
        .unwrap();
    let out = run(&[
        "fix",
        "1",
        "--repo",
        repo.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("error: no fix: incident 1:") && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(show_json(&data, 1)["status"], "open");
    assert!(String::from_utf8_lossy(&out.stdout).contains("decision    NoFix"));
}
