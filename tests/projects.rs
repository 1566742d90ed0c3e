//! Projects through the real binary: two projects and the default one on
//! one `bugstack serve`, each with its own token, policy and incidents.
//! A project's token writes only into its project and reads nothing; the
//! dashboard token reads one project with `?project=`; `project list` and
//! `--project` on the read commands and controls; each project's
//! `[triggers]` apply to its incidents only.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// A git repository `name` under `dir` with `policy` as its bugstack.toml.
fn repo(dir: &Path, name: &str, policy: &str) -> PathBuf {
    committed_crate(
        dir,
        name,
        &[("src/lib.rs", "pub fn f() {}\n"), ("bugstack.toml", policy)],
        "init",
    )
}

/// `bugstack project add NAME --repo REPO [extra] --json --data DATA`: the
/// project and its token.
fn add_project(data: &Path, name: &str, repo: &Path, extra: &[&str]) -> (Value, String) {
    let mut args = vec!["project", "add", name, "--repo", repo.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--data", data.to_str().unwrap()]);
    let out = bugstack(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64, "256 random bits");
    (v["project"].clone(), token)
}

fn post_with(server: &Server, token: &str, events: Vec<bugstack::core::Event>) -> reqwest::blocking::Response {
    events_request(&client(), server, token, "gzip", gz_batch(events))
        .header("content-type", "application/json")
        .send()
        .unwrap()
}

fn get(server: &Server, path: &str, token: &str) -> reqwest::blocking::Response {
    client().get(server.url(path)).bearer_auth(token).send().unwrap()
}

/// `bugstack ARGS --data DATA`.
fn run(data: &Path, args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--data", data.to_str().unwrap()]);
    bugstack(&all)
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn two_projects_on_one_serve_keep_incidents_tokens_and_policies_apart() {
    let dir = tempdir();
    let data = data_path(&dir);
    // shop's policy wants three occurrences before a fix job; billing's queues at once.
    let shop_repo = repo(dir.path(), "shop", "[triggers]\nmin_count = 3\n");
    let billing_repo = repo(dir.path(), "billing", "");
    let (shop, shop_token) = add_project(&data, "shop", &shop_repo, &[]);
    let (billing, billing_token) = add_project(&data, "billing", &billing_repo, &["--forge", "github:acme/billing"]);
    assert_eq!(shop["name"], "shop");
    assert_eq!(billing["forge"], "github:acme/billing");
    assert_ne!(shop_token, billing_token);
    // Only the tokens' hashes are stored.
    let db = std::fs::read(data.join("bugstack.db")).unwrap();
    for t in [&shop_token, &billing_token] {
        assert!(
            !db.windows(t.len()).any(|w| w == t.as_bytes()),
            "a token is stored in clear"
        );
    }
    // Names are unique, and checked.
    let again = run(
        &data,
        &["project", "add", "shop", "--repo", shop_repo.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad = run(
        &data,
        &["project", "add", "Bad Name", "--repo", shop_repo.to_str().unwrap()],
    );
    assert_eq!(bad.status.code(), Some(2));

    let server = Server::start_with_token(&data, &[]);
    // The same bug in the default project (serve's token), shop and billing.
    for token in [TOKEN, shop_token.as_str(), billing_token.as_str()] {
        let r = post_with(&server, token, vec![event("boom", Some("1.0"))]);
        assert_eq!(r.status().as_u16(), 202);
        let body: Value = r.json().unwrap();
        assert_eq!(
            body["new_incidents"].as_array().unwrap().len(),
            1,
            "one incident per project"
        );
    }
    assert_eq!(
        post_with(&server, &shop_token, vec![event("only-shop", None)])
            .status()
            .as_u16(),
        202
    );
    // An unknown token writes nothing.
    assert_eq!(
        post_with(&server, "not-a-token", vec![event("x", None)])
            .status()
            .as_u16(),
        401
    );

    // Reads: an ingest token reads nothing, not even its own project's.
    for token in [TOKEN, shop_token.as_str(), billing_token.as_str()] {
        assert_eq!(get(&server, "/v1/incidents", token).status().as_u16(), 403);
        assert_eq!(get(&server, "/v1/incidents?project=shop", token).status().as_u16(), 403);
    }
    let list = |project: &str| -> Vec<Value> {
        let r = get(&server, &format!("/v1/incidents?project={project}"), DASHBOARD_TOKEN);
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = r.json().unwrap();
        v["incidents"].as_array().unwrap().clone()
    };
    let shop_list = list("shop");
    assert_eq!(shop_list.len(), 2);
    assert!(shop_list.iter().all(|i| i["project"] == shop["id"]));
    let billing_list = list("billing");
    assert_eq!(billing_list.len(), 1);
    assert_eq!(billing_list[0]["project"], billing["id"]);
    assert_eq!(list("default").len(), 1);
    let all: Value = get(&server, "/v1/incidents", DASHBOARD_TOKEN).json().unwrap();
    assert_eq!(all["incidents"].as_array().unwrap().len(), 4);
    assert_eq!(
        get(&server, "/v1/incidents?project=nope", DASHBOARD_TOKEN)
            .status()
            .as_u16(),
        404
    );
    let billing_id = billing_list[0]["id"].as_i64().unwrap();
    let in_shop = get(
        &server,
        &format!("/v1/incidents/{billing_id}?project=shop"),
        DASHBOARD_TOKEN,
    );
    assert_eq!(in_shop.status().as_u16(), 404);
    let in_billing = get(
        &server,
        &format!("/v1/incidents/{billing_id}?project=billing"),
        DASHBOARD_TOKEN,
    );
    assert_eq!(in_billing.status().as_u16(), 200);

    // The dashboard lists one project with `?project=`.
    let page = |q: &str| get(&server, &format!("/?{q}"), DASHBOARD_TOKEN);
    let shop_page = page("project=shop").text().unwrap();
    assert!(shop_page.contains("only-shop") && shop_page.contains("every project"));
    assert!(!page("project=billing").text().unwrap().contains("only-shop"));
    assert!(page("").text().unwrap().contains("only-shop"));
    assert_eq!(page("project=nope").status().as_u16(), 404);

    // `project list` shows all three, never a token.
    let out = run(&data, &["project", "list", "--json"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!text.contains(&shop_token) && !text.contains(&billing_token));
    let projects = json_of(&out);
    let names: Vec<&str> = projects
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "billing", "shop"]);
    let counts: Vec<u64> = projects
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["incidents"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 1, 2]);
    let table = run(&data, &["project", "list"]);
    assert!(table.status.success());
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("shop") && table.contains("github:acme/billing"),
        "{table}"
    );

    // `--project` filters the read commands; without it, the default project (and a note).
    let shop_incidents = json_of(&run(&data, &["incidents", "--project", "shop", "--json"]));
    assert_eq!(shop_incidents.as_array().unwrap().len(), 2);
    let default_out = run(&data, &["incidents", "--json"]);
    let default_incidents = json_of(&default_out);
    assert_eq!(default_incidents.as_array().unwrap().len(), 1);
    assert_eq!(default_incidents[0]["project"], 1);
    assert!(String::from_utf8_lossy(&default_out.stderr).contains("pass --project NAME"));
    let shown = run(&data, &["show", &billing_id.to_string(), "--project", "shop"]);
    assert_eq!(shown.status.code(), Some(3));
    let err = String::from_utf8_lossy(&shown.stderr);
    assert!(
        err.contains("belongs to project \"billing\"") && err.contains("--project billing"),
        "{err}"
    );
    assert_eq!(run(&data, &["show", &billing_id.to_string()]).status.code(), Some(3));
    let detail = json_of(&run(
        &data,
        &["show", &billing_id.to_string(), "--project", "billing", "--json"],
    ));
    assert_eq!(detail["project"], billing["id"]);
    assert_eq!(run(&data, &["incidents", "--project", "nope"]).status.code(), Some(3));
    let prs = json_of(&run(&data, &["prs", "--project", "shop", "--json"]));
    assert!(prs.as_array().unwrap().is_empty());

    // Each project's policy: billing's boom has its fix job at once, shop's waits for 3.
    let jobs = |id: i64, project: &str| -> usize {
        let d = json_of(&run(&data, &["show", &id.to_string(), "--project", project, "--json"]));
        d["jobs"].as_array().unwrap().len()
    };
    let shop_boom = shop_list
        .iter()
        .find(|i| i["title"].as_str().unwrap().contains("boom"))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(jobs(billing_id, "billing"), 1);
    assert_eq!(jobs(shop_boom, "shop"), 0, "shop's min_count is 3");
    let r = post_with(
        &server,
        &shop_token,
        vec![event("boom", Some("1.0")), event("boom", Some("1.0"))],
    );
    assert_eq!(r.status().as_u16(), 202);
    assert_eq!(
        jobs(shop_boom, "shop"),
        1,
        "the third occurrence reaches shop's min_count"
    );

    // Controls are scoped too.
    let wrong = run(&data, &["ignore", &shop_boom.to_string(), "--project", "billing"]);
    assert_eq!(wrong.status.code(), Some(3));
    let ignored = json_of(&run(
        &data,
        &["ignore", &shop_boom.to_string(), "--project", "shop", "--json"],
    ));
    assert_eq!(ignored["incident"]["status"], "ignored");
    assert!(server.stdout_text().contains("projects with their repositories here"));
}

/// The same on one Postgres database shared by two collectors: a project
/// added from any machine is accepted by every collector, and its token
/// still writes only into it.
#[test]
fn projects_on_postgres_are_shared_by_every_collector() {
    let Some(db) = bugstack::store::postgres::testing::fresh_database("projects_on_postgres") else {
        return;
    };
    let dir = tempdir();
    let shop_repo = repo(dir.path(), "shop", "");
    let out = bugstack(&[
        "project",
        "add",
        "shop",
        "--repo",
        shop_repo.to_str().unwrap(),
        "--json",
        "--store",
        &db.url,
    ]);
    let added = json_of(&out);
    let shop_token = added["token"].as_str().unwrap().to_string();
    let (d1, d2) = (tempdir(), tempdir());
    let one = Server::start_with_token(&data_path(&d1), &["--store", &db.url]);
    let two = Server::start_with_token(&data_path(&d2), &["--store", &db.url]);
    assert_eq!(post_with(&one, TOKEN, vec![event("boom", None)]).status().as_u16(), 202);
    assert_eq!(
        post_with(&two, &shop_token, vec![event("boom", None)])
            .status()
            .as_u16(),
        202
    );
    assert_eq!(
        post_with(&one, &shop_token, vec![event("boom", None)])
            .status()
            .as_u16(),
        202
    );
    assert_eq!(get(&two, "/v1/incidents", &shop_token).status().as_u16(), 403);
    let read = |project: &str| -> Vec<Value> {
        let out = bugstack(&["incidents", "--project", project, "--json", "--store", &db.url]);
        json_of(&out).as_array().unwrap().clone()
    };
    let shop = read("shop");
    assert_eq!(shop.len(), 1);
    assert_eq!(shop[0]["count"], 2, "both collectors counted into shop's incident");
    let default = read("default");
    assert_eq!(default.len(), 1);
    assert_eq!(default[0]["count"], 1);
    assert_ne!(shop[0]["id"], default[0]["id"]);
    assert_eq!(shop[0]["fingerprint"], default[0]["fingerprint"]);
}
