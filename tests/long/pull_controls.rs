//! A person's controls over fix pull requests on the local forge, through
//! the real binary on a real crate with a bare remote: `bugstack fix
//! --dry-run` delivers nothing, `bugstack close` reopens the incident and the
//! closed patch is never proposed again, `bugstack merge` merges in the
//! remote and fixes the incident at the merge commit; unknown and finished
//! pull requests are refused with the documented exit codes.

use crate::common;

use std::path::Path;

use bugstack::store::{ForgeStore, IncidentStore, SqliteStore};
use common::inventory::*;
use common::*;
use serde_json::Value;

fn cli(args: &[&str]) -> (Option<i32>, String, String) {
    let out = bugstack(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_ok(args: &[&str]) -> Value {
    let (code, out, err) = cli(args);
    assert_eq!(code, Some(0), "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn dry_run_close_and_merge_drive_the_local_forge_and_a_closed_patch_is_not_proposed_again() {
    let dir = tempdir();
    let data = data_path(&dir);
    let (root, remote) = repo_with_panics(dir.path(), &data, 3);
    let (root_s, data_s) = (s(&root), s(&data));

    // Dry run: a validated fix in the report, nothing delivered.
    let report = json_ok(&["fix", "1", "--repo", root_s, "--data", data_s, "--dry-run", "--json"]);
    let first_diff = report["fix"]["diff"].as_str().expect("a fix").to_string();
    assert!(report["deployment"].is_null(), "{report}");
    assert!(json_ok(&["prs", "--json", "--data", data_s])
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(show_json(&data, 1)["status"], "open");
    assert!(
        !git(&remote, &["branch", "--list"]).contains("bugstack/"),
        "nothing pushed"
    );

    // The real run proposes the same patch as pull request #1.
    let report = json_ok(&["fix", "1", "--repo", root_s, "--data", data_s, "--json"]);
    assert_eq!(report["fix"]["diff"].as_str(), Some(first_diff.as_str()));
    assert_eq!(report["deployment"]["pull_request"]["number"], 1);

    // Unknown: exit 3. Closing #1: the incident reopens.
    let (code, _, err) = cli(&["close", "9", "--data", data_s]);
    assert_eq!(code, Some(3), "{err}");
    let closed = json_ok(&[
        "close",
        "1",
        "--data",
        data_s,
        "--actor",
        "alice",
        "--reason",
        "wrong fix",
        "--json",
    ]);
    assert_eq!(
        (
            closed["state"].as_str(),
            closed["incident_status"].as_str(),
            closed["actor"].as_str()
        ),
        (Some("closed"), Some("open"), Some("alice")),
        "{closed}"
    );
    assert_eq!(closed["reason"], "wrong fix");
    let (code, _, err) = cli(&["close", "1", "--data", data_s]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("already closed"), "{err}");
    {
        let store = SqliteStore::open(&data).unwrap();
        assert_eq!(store.rejected_patches(1).unwrap().len(), 1);
        let pr = store
            .pull_requests()
            .unwrap()
            .into_iter()
            .find(|p| p.number == 1)
            .unwrap();
        assert_eq!(pr.state, bugstack::store::PullRequestState::Closed);
    }

    // The next run never proposes the closed patch again.
    let report = json_ok(&["fix", "1", "--repo", root_s, "--data", data_s, "--json"]);
    let attempts = report["attempts"].as_array().unwrap();
    assert!(
        attempts
            .iter()
            .any(|a| a["rejected"].as_str().is_some_and(|r| r.contains("closed unmerged"))),
        "{report}"
    );
    assert_ne!(report["fix"]["diff"].as_str(), Some(first_diff.as_str()), "{report}");
    let Some(second) = report["deployment"]["pull_request"]["number"].as_i64() else {
        // The templates had no other strategy: no fix, said so.
        assert_eq!(report["decision"]["kind"], "no_fix", "{report}");
        return;
    };

    // Merge it: in the remote, the incident fixed at the merge commit.
    let merged = json_ok(&[
        "merge",
        &second.to_string(),
        "--repo",
        root_s,
        "--data",
        data_s,
        "--reason",
        "reviewed",
        "--json",
    ]);
    let tip = git(&remote, &["rev-parse", "main"]);
    assert_eq!(merged["merge_commit"].as_str(), Some(tip.as_str()), "{merged}");
    assert_eq!(merged["incident_status"], "fixed");
    assert_eq!(show_json(&data, 1)["fixed_in_release"].as_str(), Some(tip.as_str()));
    let (code, _, err) = cli(&["merge", &second.to_string(), "--repo", root_s, "--data", data_s]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("already merged"), "{err}");
}
