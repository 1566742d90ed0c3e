//! Release announcements through the real collector: recorded in the store
//! (upserted per announcement), and `bugstack show` lists the versions of
//! the crates on an incident's stack from its release's dependency list.

mod common;

use bugstack::core::{Batch, Dependency, Frame, ReleaseAnnouncement, Timestamp};
use bugstack::store::{IncidentStore, SqliteStore};
use common::*;

fn announced(release: &str, deps: Option<Vec<Dependency>>, events: Vec<bugstack::core::Event>) -> Vec<u8> {
    let mut b = Batch::new(Timestamp::now(), events);
    let mut a = ReleaseAnnouncement::new(release, Timestamp::now());
    a.dependencies = deps;
    b.release = Some(a);
    bugstack::core::encode_batch(&b).unwrap()
}

#[test]
fn announced_releases_are_stored_and_show_lists_the_crates_on_the_stack() {
    let (_dir, data, server) = serve_fresh();
    let c = client();

    // The announcement alone (a service that just started, no events yet).
    let deps = vec![
        Dependency::new("serde", "1.0.228"),
        Dependency::new("tokio", "1.48.0"),
        Dependency::new("unused", "0.1.0"),
    ];
    let r = post(&c, &server, announced("shop@2", Some(deps.clone()), vec![]));
    assert_eq!(r.status(), 202);
    let store = SqliteStore::open(&data).unwrap();
    let first = store.release("shop@2").unwrap().expect("recorded");
    assert_eq!(first.dependencies.as_deref(), Some(&deps[..]));
    assert_eq!(first.first_live_at, first.last_live_at);

    // A batch with an event and an announcement without dependencies:
    // last_live_at moves, the list is kept.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let mut e = event("cart", Some("shop@2"));
    e.frames = vec![
        Frame {
            function: Some("shop::cart::total".into()),
            file: Some("src/cart.rs".into()),
            line: Some(4),
            in_app: true,
            ..Frame::default()
        },
        Frame {
            function: Some("tokio::runtime::task::harness::poll_future".into()),
            file: Some(
                "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.48.0/src/runtime/task/harness.rs"
                    .into(),
            ),
            ..Frame::default()
        },
    ];
    let r = post(&c, &server, announced("shop@2", None, vec![e]));
    assert_eq!(r.status(), 202);
    let second = store.release("shop@2").unwrap().unwrap();
    assert_eq!(second.first_live_at, first.first_live_at, "first_live_at kept");
    assert!(second.last_live_at > first.last_live_at, "last_live_at moved");
    assert_eq!(second.dependencies.as_deref(), Some(&deps[..]), "kept when not sent");
    assert_eq!(store.releases().unwrap().len(), 1);

    let id = incidents_json(&data)[0]["id"].as_i64().unwrap();
    let shown = show_json(&data, id);
    assert_eq!(shown["stack_dependencies"]["release"], "shop@2");
    assert_eq!(
        shown["stack_dependencies"]["dependencies"],
        serde_json::json!([{"name": "tokio", "version": "1.48.0"}])
    );
    let out = bugstack(&["show", &id.to_string(), "--data", data.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("crates on the stack (release shop@2)"), "{text}");
    assert!(text.contains("tokio 1.48.0"), "{text}");
    assert!(!text.contains("unused"), "{text}");
}
