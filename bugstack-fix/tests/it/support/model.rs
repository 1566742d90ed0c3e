//! The model and LLM generator tests' helpers: a scripted HTTP server on
//! 127.0.0.1 that records every request and answers from a script, the
//! buggy library every generator test fixes, and a hand-built `FixContext`
//! for it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bugstack_core::{Breadcrumb, Level, Timestamp};
use bugstack_fix::{ChatMessage, ChatRequest, FixContext, Incident, Snippet, SnippetKind};
use serde_json::{json, Value};

use super::{context_at, request_panic_event, target_frame};

/// A short chat request a model answers with the word "pong" (the live
/// and conformance tests' plain request).
pub(crate) fn ping() -> ChatRequest {
    ChatRequest {
        system: "Answer with one word.".into(),
        messages: vec![ChatMessage::user("Reply with the word pong.")],
        max_tokens: 16,
        temperature: Some(0.0),
    }
}

/// One request the server received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Value,
}

impl Recorded {
    /// The user message's text (OpenAI or Anthropic body).
    pub(crate) fn user_text(&self) -> String {
        self.messages_text("user")
    }

    /// The system prompt (OpenAI system message or Anthropic `system`).
    pub(crate) fn system_text(&self) -> String {
        match self.body["system"].as_str() {
            Some(s) => s.to_string(),
            None => self.messages_text("system"),
        }
    }

    /// The text of every message of `role`, concatenated.
    fn messages_text(&self, role: &str) -> String {
        self.body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == role)
            .filter_map(|m| m["content"].as_str())
            .collect()
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub(crate) struct Scripted {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
    pub(crate) delay: Option<std::time::Duration>,
}

impl Scripted {
    /// `status` with `body` as JSON.
    pub(crate) fn json(status: u16, body: Value) -> Self {
        Scripted {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay: None,
        }
    }

    /// `status` with `body` as is, no content type.
    pub(crate) fn raw(status: u16, body: &str) -> Self {
        Scripted {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: None,
        }
    }

    /// This answer, sent after `delay`.
    pub(crate) fn delayed(mut self, delay: std::time::Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// This answer with one more header.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// An OpenAI chat completion answering `content`.
pub(crate) fn openai_answer(content: &str, finish_reason: &str) -> Scripted {
    Scripted::json(
        200,
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "scripted-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
        }),
    )
}

/// An Anthropic message answering `content`.
pub(crate) fn anthropic_answer(content: &str, stop_reason: &str) -> Scripted {
    Scripted::json(
        200,
        json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "scripted-claude",
            "content": [{"type": "text", "text": content}],
            "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": 100, "output_tokens": 50}
        }),
    )
}

/// An Anthropic API error: `status` with the error envelope naming `kind`
/// (`overloaded_error`, `authentication_error`, ...) and `message`.
pub(crate) fn anthropic_error(status: u16, kind: &str, message: &str) -> Scripted {
    Scripted::json(
        status,
        json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

#[derive(Default)]
struct State {
    script: Mutex<VecDeque<Scripted>>,
    received: Mutex<Vec<Recorded>>,
}

/// The server. Dropping it stops it.
pub(crate) struct Server {
    pub(crate) url: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Starts a server answering with `script`, in order; once the script
    /// is used up it answers 418 (not retried), so a test sees the overrun.
    pub(crate) async fn start(script: Vec<Scripted>) -> Server {
        let state = Arc::new(State {
            script: Mutex::new(script.into()),
            received: Mutex::new(Vec::new()),
        });
        let s = state.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let s = s.clone();
            async move { handle(&s, method, uri, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Server { url, state, task }
    }

    /// Requests received so far.
    pub(crate) fn received(&self) -> Vec<Recorded> {
        self.state.received.lock().unwrap().clone()
    }

    /// Scripted answers not used yet.
    pub(crate) fn remaining(&self) -> usize {
        self.state.script.lock().unwrap().len()
    }
}

async fn handle(state: &State, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.received.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
        body,
    });
    let Some(next) = state.script.lock().unwrap().pop_front() else {
        return (StatusCode::IM_A_TEAPOT, "script exhausted").into_response();
    };
    if let Some(d) = next.delay {
        tokio::time::sleep(d).await;
    }
    let mut resp = (StatusCode::from_u16(next.status).unwrap(), next.body).into_response();
    for (k, v) in next.headers {
        resp.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_str(&v).unwrap(),
        );
    }
    resp
}

/// The buggy library every generator test fixes.
pub(crate) const LIB_RS: &str = "\
pub struct Cart {
    pub items: Vec<u32>,
}

impl Cart {
    pub fn first_price(&self) -> u32 {
        self.items[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_price_of_one() {
        assert_eq!(Cart { items: vec![3] }.first_price(), 3);
    }
}
";

/// A good fix of `LIB_RS`, with its regression test (a git diff).
pub(crate) const GOOD_DIFF: &str = "\
diff --git a/src/lib.rs b/src/lib.rs
index 1234567..89abcde 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -5,6 +5,6 @@ pub struct Cart {
 impl Cart {
     pub fn first_price(&self) -> u32 {
-        self.items[0]
+        self.items.first().copied().unwrap_or(0)
     }
 }
 
@@ -16,4 +16,9 @@ mod tests {
     fn first_price_of_one() {
         assert_eq!(Cart { items: vec![3] }.first_price(), 3);
     }
+
+    #[test]
+    fn first_price_of_empty_cart_is_zero() {
+        assert_eq!(Cart { items: vec![] }.first_price(), 0);
+    }
 }
";

/// A well-formed reply carrying `diff`.
pub(crate) fn reply_with(diff: &str) -> String {
    format!(
        "Here is the fix.\n\n<root_cause>`first_price` indexes element 0 of a possibly empty vector.</root_cause>\n\
<explanation>Use `first()` and fall back to 0 for an empty cart.</explanation>\n\
<test_path>src/lib.rs</test_path>\n<test_name>tests::first_price_of_empty_cart_is_zero</test_name>\n\
<confidence>0.85</confidence>\n<diff>\n```diff\n{diff}```\n</diff>\n"
    )
}

/// A context for `LIB_RS` whose event says `message`.
pub(crate) fn context(message: &str) -> FixContext {
    let mut event = request_panic_event(message, "core::panic", "GET", "/cart/{id}/first");
    event.breadcrumbs = vec![Breadcrumb {
        timestamp: Timestamp::now(),
        level: Level::Info,
        category: Some("shop::http".into()),
        message: "loading cart 42".into(),
    }];
    event.tags.insert("region".into(), "eu-1".into());
    event.release = Some("v1.2.3".into());
    FixContext {
        snippets: vec![Snippet {
            kind: SnippetKind::FailingFunction,
            path: "src/lib.rs".into(),
            start_line: 5,
            end_line: 9,
            item: Some("Cart::first_price".into()),
            reason: "panicked here".into(),
            text: LIB_RS.lines().skip(4).take(5).collect::<Vec<_>>().join("\n") + "\n",
        }],
        token_budget: 6000,
        tokens_used: 40,
        ..context_at(
            Incident::from_event("1", event),
            "/nonexistent/repo",
            "0123456789abcdef0123456789abcdef01234567",
            target_frame("src/lib.rs", 7, Some(9), Some("shop::Cart::first_price")),
            LIB_RS,
        )
    }
}
