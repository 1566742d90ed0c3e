//! The README's first command, end to end: `bugstack demo` with the real
//! binary (copies examples/shop, builds and runs it, sends traffic, fixes,
//! merges, rebuilds, replays). Slow on a cold target directory (~1 min on 2
//! cores); warm ~15 s.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};

#[test]
fn the_demo_runs_the_whole_loop() {
    let reports = tempfile::tempdir().unwrap();
    let mut child = Command::new(common::BIN)
        .args([
            "demo",
            "--failing-requests",
            "200",
            "--healthy-requests",
            "30",
            "--keep",
            "--report-dir",
        ])
        .arg(reports.path())
        .env_remove("BUGSTACK_TOKEN")
        .env_remove("BUGSTACK_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // `--keep` keeps serving the dashboard after the demo: read up to that
    // line (or the end, when the demo failed).
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in reader.by_ref() {
        let line = line.unwrap();
        let serving = line.starts_with("serving the dashboard until Ctrl-C");
        lines.push(line);
        if serving {
            break;
        }
    }
    // Keep reading what it prints while it serves and as it stops.
    let rest = std::thread::spawn(move || reader.map_while(Result::ok).collect::<Vec<_>>());
    let stdout = lines.join("\n");
    // `--keep` keeps the work dir (repository, remote, store) for the checks
    // below; it is removed when this guard drops.
    let kept = Kept(
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("kept "))
            .map(std::path::PathBuf::from),
    );
    let serving = Serving(child);
    assert!(
        stdout.contains("serving the dashboard until Ctrl-C"),
        "demo failed\nstdout:\n{stdout}"
    );

    // The dashboard is up, behind its token, showing the fixed incident.
    let token = stdout
        .lines()
        .find_map(|l| l.split("(token ").nth(1)?.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no dashboard token:\n{stdout}"));
    let url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("dashboard: ")?.split_whitespace().next())
        .unwrap_or_else(|| panic!("no dashboard address:\n{stdout}"));
    let client = common::client();
    let page = client
        .get(format!("{url}incidents/1"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().unwrap();
    assert!(
        html.contains("attempt to divide by zero") && html.contains("fixed"),
        "{html}"
    );
    let anonymous = client.get(url).send().unwrap();
    assert!(anonymous.url().path().starts_with("/signin"), "{}", anonymous.url());
    // Ctrl-C (here SIGTERM) stops it cleanly.
    let status = serving.stop();
    let rest = rest.join().unwrap();
    assert!(status.success(), "{status:?}: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");

    // One incident, counting every failing request.
    let line = stdout
        .lines()
        .find(|l| l.contains("incident 1: attempt to divide by zero — count "))
        .unwrap_or_else(|| panic!("no incident line:\n{stdout}"));
    let count: u64 = line
        .split("count ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line:?}"));
    let failed: u64 = stdout
        .lines()
        .find_map(|l| l.split("; ").nth(1)?.split(" of 200").next()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no failed count:\n{stdout}"));
    assert!(
        failed >= 200 && count >= failed,
        "{failed} failed, incident count {count}"
    );
    assert!(stdout.contains("decision AutoMerge"), "{stdout}");
    assert!(stdout.contains("pull request #1 merged into main"), "{stdout}");
    assert!(stdout.contains("incident 1 is fixed in "), "{stdout}");
    assert!(stdout.contains("(empty cart) → 200 "), "{stdout}");
    assert!(stdout.contains("incident 1: status fixed"), "{stdout}");
    let last: Vec<&str> = stdout.trim_end().lines().rev().take(4).collect();
    assert!(
        stdout.contains("timeline:") && last[3] == "demo: OK" && last[2].starts_with("kept "),
        "{stdout}"
    );
    // The pull request lives in the demo's store, linked to the incident,
    // like any `bugstack fix` run's; no separate forge records.
    assert!(stdout.contains("(in the store, `bugstack prs`: merged)"), "{stdout}");
    let work = kept.0.as_deref().unwrap_or_else(|| panic!("no kept line:\n{stdout}"));
    let data = work.join("data");
    let prs = common::bugstack(&["prs", "--json", "--data", data.to_str().unwrap()]);
    assert!(prs.status.success(), "{}", String::from_utf8_lossy(&prs.stderr));
    let prs: serde_json::Value = serde_json::from_slice(&prs.stdout).unwrap();
    assert_eq!(prs.as_array().map(Vec::len), Some(1), "{prs}");
    assert_eq!(
        (
            prs[0]["number"].as_i64(),
            prs[0]["incident_id"].as_i64(),
            prs[0]["state"].as_str()
        ),
        (Some(1), Some(1), Some("merged")),
        "{prs}"
    );
    assert!(!data.join("forge").exists(), "no pulls.json beside the store");
    // The report survives the cleanup.
    let files: Vec<_> = std::fs::read_dir(reports.path().join("reports")).unwrap().collect();
    assert_eq!(files.len(), 2, "json + md");
}

/// Removes the demo's kept work directory.
struct Kept(Option<std::path::PathBuf>);

impl Drop for Kept {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The demo still serving its dashboard; killed if the test fails first.
struct Serving(Child);

impl Serving {
    /// Sends SIGTERM (what Ctrl-C does) and waits for the exit.
    fn stop(mut self) -> ExitStatus {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        self.0.wait().unwrap()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
