//! A bounded ring of recent breadcrumbs (lower-level events recorded before
//! an error), attached to the next captured events.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

use bugstack_core::{Breadcrumb, Level, Timestamp};

static RING: Mutex<VecDeque<Breadcrumb>> = Mutex::new(VecDeque::new());
static CAPACITY: AtomicUsize = AtomicUsize::new(32);
/// Whether the ring has ever held a breadcrumb: captures skip the ring (and
/// its mutex) entirely until then.
static USED: AtomicBool = AtomicBool::new(false);
/// Longest breadcrumb message kept, in bytes.
const MAX_MESSAGE: usize = 512;

pub(crate) fn set_capacity(n: usize) {
    CAPACITY.store(n, Relaxed);
}

/// Records a breadcrumb (the oldest one goes when the ring is full). Messages
/// longer than 512 bytes are cut. Scrubbing happens later, on the worker.
///
/// ```
/// bugstack_sdk::add_breadcrumb(bugstack_sdk::Level::Info, Some("db"), "connection pool at 90%");
/// ```
pub fn add_breadcrumb(level: Level, category: Option<&str>, message: &str) {
    let cap = CAPACITY.load(Relaxed);
    if cap == 0 {
        return;
    }
    let crumb = Breadcrumb {
        timestamp: Timestamp::now(),
        level,
        category: category.map(str::to_string),
        message: bugstack_core::text::truncate(message, MAX_MESSAGE).to_string(),
    };
    let mut ring = match RING.lock() {
        Ok(r) => r,
        Err(poisoned) => poisoned.into_inner(),
    };
    USED.store(true, Relaxed);
    while ring.len() >= cap {
        ring.pop_front();
    }
    ring.push_back(crumb);
}

/// A copy of the ring, oldest first. Never blocks: when another thread holds
/// the ring at this instant, the event goes without breadcrumbs.
pub(crate) fn snapshot() -> Vec<Breadcrumb> {
    if !USED.load(Relaxed) {
        return Vec::new();
    }
    match RING.try_lock() {
        Ok(ring) if !ring.is_empty() => ring.iter().cloned().collect(),
        _ => Vec::new(),
    }
}
