//! The README's first command, end to end: `bugstack demo` with the real
//! binary (copies examples/shop, builds and runs it, sends traffic, fixes,
//! merges, rebuilds, replays). Slow on a cold target directory (~1 min on 2
//! cores); warm ~15 s.

mod common;

use std::process::Command;

#[test]
fn the_demo_runs_the_whole_loop() {
    let reports = tempfile::tempdir().unwrap();
    let out = Command::new(common::BIN)
        .args([
            "demo",
            "--failing-requests",
            "200",
            "--healthy-requests",
            "30",
            "--report-dir",
        ])
        .arg(reports.path())
        .env_remove("BUGSTACK_TOKEN")
        .env_remove("BUGSTACK_DATA")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

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
    assert!(
        stdout.contains("timeline:") && stdout.trim_end().ends_with("demo: OK"),
        "{stdout}"
    );
    // The report survives the cleanup.
    let files: Vec<_> = std::fs::read_dir(reports.path().join("reports")).unwrap().collect();
    assert_eq!(files.len(), 2, "json + md");
}
