//! The `inventory` crate the fix-pipeline tests heal: a latent
//! divide-by-zero in a real git repository with a bare remote, the panic as
//! the SDK reports it, and a scripted OpenAI-compatible model server.

use std::path::{Path, PathBuf};

use bugstack::core::{Event, Timestamp};
use bugstack::store::{IncidentStore, SqliteStore};

use super::{committed_crate, git, push_to_bare};

/// The crate's source and its panic, shared with bugstack-fix's tests.
#[path = "../../bugstack-fix/tests/it/support/inventory.rs"]
mod shared;

pub(crate) use shared::LIB;

pub const POLICY: &str = r#"auto_merge = false
retry_limit = 1

[[checks]]
name = "build"
command = "cargo build --offline"
timeout_secs = 300

[[checks]]
name = "test"
command = "cargo test --offline"
timeout_secs = 300
"#;

/// The crate, committed and pushed to `remote.git`; returns (root, remote, release).
pub fn repo(dir: &Path) -> (PathBuf, PathBuf, String) {
    repo_with_policy(dir, POLICY)
}

/// [`POLICY`] with auto-merge on and a confidence threshold the pipeline's
/// fix of the inventory crate passes.
pub fn auto_merge_policy() -> String {
    POLICY.replace("auto_merge = false", "auto_merge = true\nconfidence_threshold = 0.5")
}

/// [`repo`] with `n` occurrences of its panic stored in `data` (see
/// [`store_panics`]); returns (root, remote).
pub fn repo_with_panics(dir: &Path, data: &Path, n: usize) -> (PathBuf, PathBuf) {
    let (root, remote, release) = repo(dir);
    store_panics(data, &release, n);
    (root, remote)
}

pub fn repo_with_policy(dir: &Path, policy: &str) -> (PathBuf, PathBuf, String) {
    repo_with(dir, LIB, policy)
}

/// The crate with `lib` as its `src/lib.rs` and `policy` as its
/// `bugstack.toml`, committed and pushed; returns (root, remote, release).
pub fn repo_with(dir: &Path, lib: &str, policy: &str) -> (PathBuf, PathBuf, String) {
    let files = [
        ("src/lib.rs", lib),
        ("bugstack.toml", policy),
        (".gitignore", "/target\nCargo.lock\n"),
    ];
    let root = committed_crate(dir, "inventory", &files, "Add restock ratio");
    let remote = push_to_bare(dir, "remote.git", &root);
    let release = git(&root, &["rev-parse", "HEAD"]);
    (root, remote, release)
}

/// Stores `n` occurrences of [`panic_event`] from `release` in the SQLite
/// store at `data` (created when missing).
pub fn store_panics(data: &Path, release: &str, n: usize) {
    let store = SqliteStore::open(data).unwrap();
    store.ingest(&vec![panic_event(release); n], Timestamp::now()).unwrap();
}

/// The panic as the SDK reports it, now.
pub fn panic_event(release: &str) -> Event {
    shared::panic_event(release, Timestamp::now())
}

/// The model's fix of `LIB`, with its regression test.
pub const MODEL_DIFF: &str = "\
diff --git a/src/lib.rs b/src/lib.rs
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -2,5 +2,5 @@
 
 /// How many times the stock on hand covers what was sold (`None` if nothing was).
 pub fn restock_ratio(on_hand: u32, sold: u32) -> Option<u32> {
-    Some(on_hand / sold)
+    on_hand.checked_div(sold)
 }
@@ -14,3 +14,8 @@ mod tests {
         assert_eq!(restock_ratio(10, 2), Some(5));
     }
+
+    #[test]
+    fn ratio_without_sales_is_none() {
+        assert_eq!(restock_ratio(10, 0), None);
+    }
 }
";

/// One request as the scripted model server received it.
pub struct ModelRequest {
    /// Request line and headers.
    pub head: String,
    /// The body.
    pub body: String,
}

/// A local OpenAI-compatible server answering every `POST
/// /v1/chat/completions` with `reply` as the assistant's message; records
/// what it received. (One request per connection: it answers
/// `Connection: close`.)
pub fn scripted_model(reply: &str) -> (String, std::sync::Arc<std::sync::Mutex<Vec<ModelRequest>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = received.clone();
    let body = serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "scripted-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
    })
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            let mut request_body = vec![0; len];
            let _ = reader.read_exact(&mut request_body);
            log.lock().unwrap().push(ModelRequest {
                head,
                body: String::from_utf8_lossy(&request_body).into_owned(),
            });
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, received)
}

/// The scripted model's answer: `diff` (with the regression test
/// `test_name` in `src/lib.rs`) in the reply format the LLM generator reads.
pub fn model_reply(diff: &str, test_name: &str) -> String {
    format!(
        "<root_cause>`restock_ratio` divides by `sold`, which is 0 for an item never sold.</root_cause>\n\
<explanation>Use `checked_div` and report a ratio of 0 when nothing was sold.</explanation>\n\
<test_path>src/lib.rs</test_path>\n<test_name>{test_name}</test_name>\n\
<confidence>0.99</confidence>\n<diff>\n```diff\n{diff}```\n</diff>\n"
    )
}

/// The policy's `[model]` table for the scripted server at `url`.
pub fn model_table(url: &str) -> String {
    format!("\n[model]\nbackend = \"openai\"\nmodel = \"scripted-model\"\nbase_url = \"{url}\"\n")
}

/// The diff (as `git diff` writes it) that turns `path` of the repository
/// at `root` into `text`; the work tree is left as it was.
pub fn diff_to(root: &Path, path: &str, text: &str) -> String {
    let file = root.join(path);
    let before = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text).unwrap();
    let diff = git(root, &["diff", "--", path]);
    std::fs::write(&file, before).unwrap();
    format!("{diff}\n")
}
