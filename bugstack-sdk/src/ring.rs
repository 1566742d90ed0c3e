//! A bounded ring of breadcrumbs, and the calling thread's ring. A leaf of
//! the crate's module graph: [`breadcrumbs`](crate::breadcrumbs) records
//! into rings, the request scope swaps them.

use std::cell::RefCell;
use std::collections::VecDeque;

use bugstack_core::{Breadcrumb, Level, Timestamp};

/// Longest breadcrumb message kept, in bytes.
const MAX_MESSAGE: usize = 512;
/// Longest category kept, in bytes.
const MAX_CATEGORY: usize = 128;

thread_local! {
    static THREAD_RING: RefCell<Ring> = const { RefCell::new(Ring::new()) };
}

/// One scope's breadcrumbs, oldest first, at most the configured capacity.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    crumbs: VecDeque<Breadcrumb>,
}

impl Ring {
    /// An empty ring (allocates on the first breadcrumb).
    pub(crate) const fn new() -> Self {
        Ring {
            crumbs: VecDeque::new(),
        }
    }

    pub(crate) fn push(&mut self, cap: usize, level: Level, category: Option<&str>, message: &str) {
        let category = category.map(|c| bugstack_core::text::truncate(c, MAX_CATEGORY));
        let message = bugstack_core::text::truncate(message, MAX_MESSAGE);
        // Past capacity, the oldest breadcrumb's buffers are reused.
        let mut crumb = if self.crumbs.len() >= cap {
            while self.crumbs.len() > cap {
                self.crumbs.pop_front();
            }
            self.crumbs.pop_front()
        } else {
            None
        };
        match &mut crumb {
            Some(c) => {
                c.timestamp = Timestamp::now();
                c.level = level;
                c.message.clear();
                c.message.push_str(message);
                match (&mut c.category, category) {
                    (Some(old), Some(new)) => {
                        old.clear();
                        old.push_str(new);
                    }
                    (slot, new) => *slot = new.map(str::to_string),
                }
            }
            None => {
                crumb = Some(Breadcrumb {
                    timestamp: Timestamp::now(),
                    level,
                    category: category.map(str::to_string),
                    message: message.to_string(),
                })
            }
        }
        self.crumbs.extend(crumb);
    }

    pub(crate) fn snapshot(&self) -> Vec<Breadcrumb> {
        self.crumbs.iter().cloned().collect()
    }
}

/// Runs `f` on this thread's ring; `None` during thread teardown or
/// re-entrance.
pub(crate) fn with_thread_ring<R>(f: impl FnOnce(&mut Ring) -> R) -> Option<R> {
    THREAD_RING
        .try_with(|ring| ring.try_borrow_mut().ok().map(|mut ring| f(&mut ring)))
        .ok()
        .flatten()
}

/// Swaps the thread's ring with `ring` (for [`with_request`](crate::with_request)'s scope).
pub(crate) fn swap_thread_ring(ring: &mut Ring) {
    let _ = THREAD_RING.try_with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            std::mem::swap(&mut *r, ring);
        }
    });
}
