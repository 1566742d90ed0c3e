//! The command line: help, init, read commands, exit codes, token handling.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bugstack::core::{Location, Timestamp};
use bugstack::store::{IncidentStore, RunPullRequest, SqliteStore};
use common::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_explains_every_command_with_examples() {
    let out = bugstack(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for cmd in ["init", "serve", "worker", "incidents", "show", "fix", "prs", "demo"] {
        assert!(help.contains(cmd), "{cmd} missing from --help");
        let sub = bugstack(&[cmd, "--help"]);
        assert!(sub.status.success(), "{cmd} --help");
        let sub = text(&sub.stdout);
        assert!(sub.contains("Example"), "{cmd} --help has no examples:\n{sub}");
    }
    assert!(help.contains("Exit codes"));
    let serve = text(&bugstack(&["serve", "--help"]).stdout);
    assert!(serve.contains("BUGSTACK_DATA") && serve.contains("BUGSTACK_TOKEN"));
    assert!(!serve.contains("test-job-runner"), "the test double stays hidden");
}

/// A release build (no `test-support` feature) has no test double at all.
#[cfg(not(feature = "test-support"))]
#[test]
fn a_release_build_refuses_the_test_job_runner_flag() {
    let dir = tempdir();
    let data = data_path(&dir);
    let out = serve_refusing(&data, &["--test-job-runner", "sleep-ms=1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--test-job-runner"), "{}", text(&out.stderr));
}

#[test]
fn init_writes_a_policy_the_fix_engine_accepts_and_never_overwrites_silently() {
    let dir = tempdir();
    let d = dir.path().to_str().unwrap();
    let out = bugstack(&["init", "--dir", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(dir.path().join("bugstack.toml")).unwrap();
    assert!(written.contains("auto_merge = false") && written.contains('#'));
    let policy = bugstack::fix::Policy::from_toml_str(&written).unwrap();
    assert!(!policy.auto_merge);
    let again = bugstack(&["init", "--dir", d]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("--force"));
    assert!(bugstack(&["init", "--dir", d, "--force"]).status.success());
}

/// A small committed crate in `dir/calc` with a latent divide-by-zero
/// (line 3) and a policy whose check would fail loudly if it ever ran; with
/// `remote`, pushed to a bare `dir/calc.git` added as `origin`.
fn calc_repo(dir: &Path, remote: bool) -> PathBuf {
    let files = [
        (
            "src/lib.rs",
            "/// Average of `total` over `parts`.\npub fn average(total: u64, parts: u64) -> u64 {\n    total / parts\n}\n",
        ),
        (
            "bugstack.toml",
            "retry_limit = 1\n\n[[checks]]\nname = \"never\"\ncommand = \"false\"\n",
        ),
    ];
    let root = committed_crate(dir, "calc", &files, "calc");
    if remote {
        push_to_bare(dir, "calc.git", &root);
    }
    root
}

/// The incident's only job is still queued with no attempt consumed.
fn assert_job_untouched(data: &Path) {
    let d = show_json(data, 1);
    let job = &d["jobs"][0];
    assert_eq!(
        (job["state"].as_str(), job["attempts"].as_u64(), d["status"].as_str()),
        (Some("queued"), Some(0), Some("open")),
        "{d}"
    );
    assert_eq!(d["runs"], serde_json::json!([]));
}

#[test]
fn fix_commands_check_their_input() {
    let dir = tempdir();
    let d = data_path(&dir);
    let out = bugstack(&["serve", "--auto-fix", "--data", d.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--auto-fix needs the repository"));

    let store = SqliteStore::open(&d).unwrap();
    let out = fix("9", dir.path(), &d, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    store.ingest(&[event("nofix", None)], Timestamp::now()).unwrap();

    // A directory that is not a git repository: refused before the job is
    // claimed, with a hint, by `fix` and by `serve --auto-fix` alike.
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let out = fix("1", &plain, &d, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: --repo ") && err.contains("not a git repository"),
        "{err}"
    );
    assert!(err.contains("hint: bugstack fixes committed code"), "{err}");
    assert_job_untouched(&d);
    let out = serve_refusing(&d, &["--auto-fix", "--repo", plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not a git repository"),
        "{}",
        text(&out.stderr)
    );

    // A repository without a remote for the local forge: a clear error, and
    // the incident's job is left untouched.
    let repo = calc_repo(dir.path(), false);
    let out = fix("1", &repo, &d, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot set up the forge"),
        "{}",
        text(&out.stderr)
    );
    assert_job_untouched(&d);
}

/// The offline template generator has no fix for a panic it does not
/// recognise: the run still completes (exit 0, docs/cli.md), records a
/// `no-fix` run, opens no pull request, changes no branch, and the incident
/// is `open` again — so it can be fixed again later.
#[test]
fn fix_without_a_candidate_records_no_fix_and_reopens_the_incident() {
    let dir = tempdir();
    let repo = calc_repo(dir.path(), true);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let data = data_path(&dir);
    let mut e = event("flux", Some(&head));
    e.message = "the flux capacitor is out of jigawatts".into();
    e.location = Some(Location {
        file: "src/lib.rs".into(),
        line: 3,
        column: Some(5),
    });
    SqliteStore::open(&data)
        .unwrap()
        .ingest(&[e], Timestamp::now())
        .unwrap();

    let out = fix("1", &repo, &data, &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("decision: NoFix: "), "{stdout}");
    assert!(stdout.contains("incident status: open"), "{stdout}");
    assert!(
        stdout.contains("full report: bugstack show 1 --json (the run with \"id\": 1 in \"runs\")"),
        "{stdout}"
    );
    assert!(!stdout.contains("pull request"), "{stdout}");
    assert!(stderr.contains("attempt 2: patch rejected: "), "{stderr}");
    assert!(
        !stderr.contains("check never"),
        "no candidate, nothing validated: {stderr}"
    );

    let d = show_json(&data, 1);
    assert_eq!(d["status"], "open", "{d}");
    assert_eq!(
        (d["jobs"][0]["state"].as_str(), d["jobs"][0]["attempts"].as_u64()),
        (Some("done"), Some(1))
    );
    let run = &d["runs"][0];
    assert_eq!(run["outcome"], "no-fix");
    assert_eq!(run["pr_number"], serde_json::Value::Null);
    assert_eq!(run["report"]["decision"]["kind"], "no_fix");
    assert_eq!(
        run["report"]["attempts"].as_array().unwrap().len(),
        2,
        "1 + retry_limit"
    );
    assert_eq!(d["pull_requests"], serde_json::json!([]));
    let remote = dir.path().join("calc.git");
    assert_eq!(git(&remote, &["branch", "--format=%(refname:short)"]), "main");
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");

    // Open again: another run is accepted, as a new job, and says the same.
    let out = fix("1", &repo, &data, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["decision"]["kind"], "no_fix");
    let d = show_json(&data, 1);
    assert_eq!(
        (
            d["status"].as_str(),
            d["jobs"].as_array().unwrap().len(),
            d["runs"].as_array().unwrap().len()
        ),
        (Some("open"), 2, 2),
        "{d}"
    );
}

#[test]
fn read_commands_report_missing_store_and_unknown_ids() {
    let dir = tempdir();
    let data = data_path(&dir);
    let d = data.to_str().unwrap();
    let out = bugstack(&["incidents", "--data", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no bugstack store in"));
    assert!(!data.exists(), "a read command must not create a store");
    SqliteStore::open(&data).unwrap();
    let out = bugstack(&["show", "999", "--data", d]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.contains("no incident with id 999") && err.contains("hint:"),
        "{err}"
    );
    let out = bugstack(&["show", "abc", "--data", d]);
    assert_eq!(out.status.code(), Some(2), "clap usage error");
}

#[test]
fn incidents_show_and_prs_read_the_store() {
    let dir = tempdir();
    let data = data_path(&dir);
    {
        let store = SqliteStore::open(&data).unwrap();
        let mut hostile = event("hostile", Some("2.0"));
        hostile.message = "boom \u{1b}[2J\u{1b}]0;pwned\u{7} end".into();
        store.ingest(&[hostile.clone(), hostile], Timestamp::now()).unwrap();
        let pr = RunPullRequest {
            title: "Fix: boom".into(),
            body: "Root cause: ...".into(),
            branch: "bugstack/fix-abc".into(),
            decision: "open-for-review".into(),
            ..Default::default()
        };
        propose_next(&store, pr, serde_json::json!({"decision": "open-for-review"}));
    }
    // BUGSTACK_DATA works like --data.
    let out = Command::new(BIN)
        .args(["incidents"])
        .env("BUGSTACK_DATA", &data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let listing = text(&out.stdout);
    assert!(
        listing.contains("fix-proposed") && listing.contains("boom"),
        "{listing}"
    );
    assert!(
        !listing.contains('\u{1b}') && !listing.contains('\u{7}'),
        "terminal escapes are neutralized"
    );

    let list = incidents_json(&data);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["count"], 2);
    assert_eq!(list[0]["status"], "fix-proposed");
    assert_eq!(list[0]["releases"], serde_json::json!(["2.0"]));

    let show = bugstack(&["show", "1", "--data", data.to_str().unwrap()]);
    let show = text(&show.stdout);
    assert!(
        show.contains("status       fix-proposed") && show.contains("PR #1"),
        "{show}"
    );
    assert!(!show.contains('\u{1b}'));
    let detail = show_json(&data, 1);
    assert_eq!(detail["runs"][0]["outcome"], "proposed");
    assert_eq!(detail["representative"]["release"], "2.0");

    let prs = bugstack(&["prs", "--json", "--data", data.to_str().unwrap()]);
    let prs: serde_json::Value = serde_json::from_slice(&prs.stdout).unwrap();
    assert_eq!(prs[0]["number"], 1);
    assert_eq!(prs[0]["state"], "open");
    assert_eq!(prs[0]["branch"], "bugstack/fix-abc");
    let prs = text(&bugstack(&["prs", "--data", data.to_str().unwrap()]).stdout);
    assert!(prs.contains("#1") && prs.contains("Fix: boom"), "{prs}");
}

#[test]
fn serve_generates_a_token_once_and_stops_cleanly_on_sigterm() {
    let dir = tempdir();
    let data = data_path(&dir);
    let server = Server::start(&data, &[]);
    let out = server.stdout_text();
    let token = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("BUGSTACK_TOKEN="))
        .expect("token printed on first start")
        .to_string();
    assert_eq!(token.len(), 64);
    let file = data.join("token");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let send = |server: &Server, tok: &str| {
        events_request(&client(), server, tok, "gzip", gz_batch(vec![event("tok", None)]))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(send(&server, &token), 202);
    assert_eq!(send(&server, TOKEN), 401);
    // A dashboard token too, printed once, stored owner-only; it reads, the
    // ingest token does not.
    let dash = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("BUGSTACK_DASHBOARD_TOKEN="))
        .expect("dashboard token printed on first start")
        .to_string();
    assert_ne!(dash, token);
    let dash_file = data.join("dashboard-token");
    assert_eq!(std::fs::read_to_string(&dash_file).unwrap(), dash);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dash_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(out.contains(&format!("dashboard on http://{}/", server.addr)), "{out}");
    let read = |tok: &str| {
        client()
            .get(server.url("/v1/incidents"))
            .bearer_auth(tok)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!((read(&dash), read(&token)), (200, 403));
    server.kill9();

    let mut server = Server::start(&data, &[]);
    let out = server.stdout_text();
    assert!(!out.contains("BUGSTACK_TOKEN="), "printed only once: {out}");
    assert!(!out.contains("BUGSTACK_DASHBOARD_TOKEN="), "printed only once: {out}");
    assert!(out.contains("using the token stored in"), "{out}");
    assert_eq!(send(&server, &token), 202);

    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    wait_until(Duration::from_secs(5), "the stop line", || {
        server.stdout_text().contains("bugstack: stopped")
    });
    let list = incidents_json(&data);
    assert_eq!(list[0]["count"], 2);
}

#[test]
fn serve_checks_the_repository_policy_on_start() {
    let dir = tempdir();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("bugstack.toml"), "auto_merge = false\nautomerge = true\n").unwrap();
    let out = bugstack(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        data_path(&dir).to_str().unwrap(),
        "--repo",
        repo.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("automerge") && err.contains("hint:"), "{err}");
}
