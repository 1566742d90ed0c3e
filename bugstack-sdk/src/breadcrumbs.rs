//! Bounded rings of recent breadcrumbs (lower-level events recorded before
//! an error), attached to the events captured in the same scope.
//!
//! A breadcrumb belongs to the request or thread that recorded it: inside
//! the [`tower`](crate::tower) layer's scope it goes to that request's ring
//! (a tokio task-local, like the request context), inside
//! [`with_request`](crate::with_request) to that call's ring, and otherwise
//! to the recording thread's ring (a thread-local). Nothing is shared
//! between threads, so recording takes no lock; an error captured in one
//! request never carries another's breadcrumbs.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use bugstack_core::{Breadcrumb, Level};

use crate::ring::{with_thread_ring, Ring};

static CAPACITY: AtomicUsize = AtomicUsize::new(32);
/// Whether any breadcrumb was ever recorded: captures skip the rings
/// entirely until then.
static USED: AtomicBool = AtomicBool::new(false);
pub(crate) fn set_capacity(n: usize) {
    CAPACITY.store(n, Relaxed);
}

/// Runs `f` on the ring of the current scope: the request's (task-local)
/// when there is one, else the thread's. `None` during thread teardown or
/// re-entrance.
fn with_ring<R>(f: impl FnOnce(&mut Ring) -> R) -> Option<R> {
    let mut f = Some(f);
    #[cfg(feature = "tower")]
    {
        let in_task = crate::request_context::with_task_ring(|ring| f.take().map(|f| f(ring)));
        if let Some(r) = in_task {
            return r;
        }
    }
    with_thread_ring(|ring| f.take().map(|f| f(ring))).flatten()
}

/// Records a breadcrumb in the current request's ring (the `tower` layer's
/// or [`with_request`](crate::with_request)'s scope), else in this thread's
/// (the oldest one goes when the ring is full, `Options::max_breadcrumbs`).
/// Messages longer than 512 bytes are cut. Takes no lock. Scrubbing happens
/// later, on the worker.
///
/// ```
/// bugstack_sdk::add_breadcrumb(bugstack_sdk::Level::Info, Some("db"), "connection pool at 90%");
/// ```
pub fn add_breadcrumb(level: Level, category: Option<&str>, message: &str) {
    let cap = CAPACITY.load(Relaxed);
    if cap == 0 {
        return;
    }
    if !USED.load(Relaxed) {
        USED.store(true, Relaxed);
    }
    with_ring(|ring| ring.push(cap, level, category, message));
}

/// A copy of the current scope's ring, oldest first.
pub(crate) fn snapshot() -> Vec<Breadcrumb> {
    if !USED.load(Relaxed) {
        return Vec::new();
    }
    with_ring(|ring| ring.snapshot()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages() -> Vec<String> {
        snapshot().into_iter().map(|b| b.message).collect()
    }

    #[test]
    fn each_thread_keeps_its_own_bounded_ring() {
        add_breadcrumb(Level::Info, Some("main"), "on the test thread");
        let other = std::thread::spawn(|| {
            let before = messages();
            for i in 0..100 {
                add_breadcrumb(Level::Info, Some("cat"), &format!("other {i}"));
            }
            (before, messages())
        })
        .join()
        .unwrap();
        assert!(other.0.is_empty(), "a new thread starts empty: {:?}", other.0);
        let cap = CAPACITY.load(Relaxed);
        assert_eq!(other.1.len(), cap, "bounded");
        assert_eq!(other.1.last().map(String::as_str), Some("other 99"));
        assert_eq!(other.1[0], format!("other {}", 100 - cap));
        let mine = messages();
        assert!(mine.contains(&"on the test thread".to_string()));
        assert!(!mine.iter().any(|m| m.starts_with("other")), "{mine:?}");
    }

    #[test]
    fn a_request_scope_has_its_own_ring() {
        add_breadcrumb(Level::Info, None, "before the request");
        let inside = crate::with_request(Default::default(), || {
            add_breadcrumb(Level::Warning, None, "in the request");
            messages()
        });
        assert_eq!(inside, ["in the request"]);
        let after = messages();
        assert!(after.contains(&"before the request".to_string()), "{after:?}");
        assert!(!after.contains(&"in the request".to_string()), "{after:?}");
    }
}
