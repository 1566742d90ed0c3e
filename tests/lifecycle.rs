//! Closing the loop through the running collector: a fixed incident seen
//! again in a release that contains the fix is reopened as `regressed` with a
//! new fix job; occurrences from older releases are only counted.

mod common;

use std::time::Duration;

use bugstack::core::Timestamp;
use bugstack::store::{FixOutcome, IncidentStore, RunPullRequest, SqliteStore};
use common::*;
use serde_json::Value;

#[test]
fn a_fixed_incident_regresses_only_in_a_release_with_the_fix() {
    let (_dir, data, server) = serve_fresh();
    let c = client();
    let r = post(&c, &server, gz_batch(vec![event("checkout", Some("1.0")); 3]));
    assert_eq!(r.status().as_u16(), 202);
    let ack: Value = r.json().unwrap();
    let id = ack["new_incidents"][0].as_i64().unwrap();

    // The fix pipeline's part, played through the store API: a run proposes a
    // pull request, and it merges in release 1.1.
    {
        let store = SqliteStore::open(&data).unwrap();
        let job = store
            .claim_job("pipeline", Duration::from_secs(60), Timestamp::now())
            .unwrap()
            .unwrap();
        assert_eq!(job.incident.id, id);
        let outcome = FixOutcome::Proposed {
            pr: RunPullRequest {
                title: "Fix checkout".into(),
                body: "...".into(),
                branch: "bugstack/fix-checkout".into(),
                decision: "review".into(),
                ..Default::default()
            },
            report: serde_json::json!({}),
        };
        store
            .complete_job(job.job.id, "pipeline", &outcome, Timestamp::now())
            .unwrap();
        let pr = store.pull_requests().unwrap()[0].number;
        store
            .merge_pull_request(
                pr,
                "1.1",
                &bugstack::store::Cause::new("tester", "test"),
                Timestamp::now(),
            )
            .unwrap();
    }
    assert_eq!(show_json(&data, id)["status"], "fixed");

    // Old deployments still running 1.0: counted, still fixed.
    let ack: Value = post(&c, &server, gz_batch(vec![event("checkout", Some("1.0"))]))
        .json()
        .unwrap();
    assert_eq!(ack["regressed"], serde_json::json!([]));
    let d = show_json(&data, id);
    assert_eq!((d["status"].as_str(), d["count"].as_u64()), (Some("fixed"), Some(4)));

    // The release with the fix: regressed, and one new fix job.
    let ack: Value = post(&c, &server, gz_batch(vec![event("checkout", Some("1.1")); 2]))
        .json()
        .unwrap();
    assert_eq!(ack["regressed"], serde_json::json!([id]));
    let d = show_json(&data, id);
    assert_eq!(d["status"], "regressed");
    assert_eq!(d["fixed_in_release"], "1.1");
    assert_eq!(d["releases"], serde_json::json!(["1.0", "1.1"]));
    let jobs = d["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        (jobs[0]["state"].as_str(), jobs[1]["state"].as_str()),
        (Some("done"), Some("queued"))
    );
    // More occurrences do not queue more jobs.
    post(&c, &server, gz_batch(vec![event("checkout", Some("1.1"))]));
    assert_eq!(show_json(&data, id)["jobs"].as_array().unwrap().len(), 2);
}
