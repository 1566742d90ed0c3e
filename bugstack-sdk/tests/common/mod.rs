//! A loopback collector for the SDK's tests: a real HTTP server (tiny_http)
//! that checks authentication and encoding, decodes batches with
//! `bugstack_core::decode_batch`, and can fail, hang or rate-limit on demand.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod errors;

use bugstack_core::{decode_batch, Batch, ContentEncoding, DecodeLimits, Event};

/// How the collector answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 202 for valid batches.
    Accept,
    /// 500 for everything (the batch is not kept).
    Fail500,
    /// Reads the request and never answers.
    Hang,
    /// 429 with `Retry-After: {0}`.
    TooMany(u32),
    /// 413 for batches of more than this many events, else like `Accept`.
    MaxEvents(usize),
    /// Keeps valid batches like `Accept` but answers 500, as if the 202 was
    /// lost on the way back.
    StoreThen500,
}

pub struct Collector {
    pub endpoint: String,
    pub token: String,
    server: Arc<tiny_http::Server>,
    state: Arc<State>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct State {
    batches: Mutex<Vec<Batch>>,
    bodies: Mutex<Vec<String>>,
    mode: Mutex<Option<Mode>>,
    requests: AtomicUsize,
    unauthorized: AtomicUsize,
    bad_encoding: AtomicUsize,
    hung: Mutex<Vec<tiny_http::Request>>,
    arrivals: Mutex<Vec<Instant>>,
}

impl Collector {
    /// SDK options that deliver to this collector with its token.
    pub fn options(&self) -> bugstack_sdk::Options {
        bugstack_sdk::Options::new().endpoint(&self.endpoint).token(&self.token)
    }

    pub fn start(token: &str) -> Collector {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind loopback"));
        let port = server.server_addr().to_ip().expect("ip addr").port();
        let state = Arc::new(State::default());
        *state.mode.lock().unwrap() = Some(Mode::Accept);
        let (s, st, tok) = (Arc::clone(&server), Arc::clone(&state), token.to_string());
        let thread = std::thread::spawn(move || {
            for req in s.incoming_requests() {
                handle(req, &st, &tok);
            }
        });
        Collector {
            endpoint: format!("http://127.0.0.1:{port}"),
            token: token.to_string(),
            server,
            state,
            thread: Some(thread),
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = Some(mode);
    }

    /// Answers every hung request with 500 (so the SDK retries them).
    pub fn release_hung(&self) {
        for req in self.state.hung.lock().unwrap().drain(..) {
            let _ = req.respond(tiny_http::Response::empty(500));
        }
    }

    pub fn requests(&self) -> usize {
        self.state.requests.load(SeqCst)
    }

    pub fn unauthorized(&self) -> usize {
        self.state.unauthorized.load(SeqCst)
    }

    pub fn bad_encoding(&self) -> usize {
        self.state.bad_encoding.load(SeqCst)
    }

    pub fn hung(&self) -> usize {
        self.state.hung.lock().unwrap().len()
    }

    pub fn batches(&self) -> Vec<Batch> {
        self.state.batches.lock().unwrap().clone()
    }

    /// Decompressed JSON bodies of accepted batches.
    pub fn bodies(&self) -> Vec<String> {
        self.state.bodies.lock().unwrap().clone()
    }

    pub fn events(&self) -> Vec<Event> {
        self.batches().into_iter().flat_map(|b| b.events).collect()
    }

    /// Total occurrences accepted.
    pub fn occurrences(&self) -> u64 {
        self.batches().iter().map(|b| b.occurrences()).sum()
    }

    /// Waits (bounded) until `pred` holds.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&Collector) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if pred(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        pred(self)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.release_hung();
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header<'a>(req: &'a tiny_http::Request, name: &str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn handle(mut req: tiny_http::Request, st: &State, token: &str) {
    st.requests.fetch_add(1, SeqCst);
    st.arrivals.lock().unwrap().push(Instant::now());
    let mode = st.mode.lock().unwrap().unwrap_or(Mode::Accept);
    if req.url() != "/v1/events" || *req.method() != tiny_http::Method::Post {
        let _ = req.respond(tiny_http::Response::from_string("not found").with_status_code(404));
        return;
    }
    if header(&req, "authorization") != Some(&format!("Bearer {token}")) {
        st.unauthorized.fetch_add(1, SeqCst);
        let _ = req.respond(tiny_http::Response::from_string("bad token").with_status_code(401));
        return;
    }
    let Ok(encoding) = ContentEncoding::from_header(header(&req, "content-encoding")) else {
        st.bad_encoding.fetch_add(1, SeqCst);
        let _ = req.respond(tiny_http::Response::empty(415));
        return;
    };
    if encoding != ContentEncoding::Gzip || header(&req, "content-type") != Some("application/json") {
        st.bad_encoding.fetch_add(1, SeqCst);
    }
    let mut body = Vec::new();
    let _ = std::io::Read::read_to_end(req.as_reader(), &mut body);
    match mode {
        Mode::Hang => {
            st.hung.lock().unwrap().push(req);
            return;
        }
        Mode::Fail500 => {
            let _ = req.respond(tiny_http::Response::from_string("down").with_status_code(500));
            return;
        }
        Mode::TooMany(secs) => {
            let h = tiny_http::Header::from_bytes("Retry-After", secs.to_string()).unwrap();
            let _ = req.respond(tiny_http::Response::empty(429).with_header(h));
            return;
        }
        Mode::Accept | Mode::MaxEvents(_) | Mode::StoreThen500 => {}
    }
    match decode_batch(&body, encoding, &DecodeLimits::default()) {
        Ok(batch) if matches!(mode, Mode::MaxEvents(n) if batch.events.len() > n) => {
            let _ = req.respond(tiny_http::Response::from_string("too many events").with_status_code(413));
        }
        Ok(batch) => {
            let json = bugstack_core::wire::gunzip_limited(&body, 64 << 20).unwrap();
            st.bodies.lock().unwrap().push(String::from_utf8(json).unwrap());
            st.batches.lock().unwrap().push(batch);
            let status = if mode == Mode::StoreThen500 { 500 } else { 202 };
            let _ = req.respond(tiny_http::Response::from_string("{}").with_status_code(status));
        }
        Err(e) => {
            let _ = req.respond(tiny_http::Response::from_string(e.to_string()).with_status_code(400));
        }
    }
}
