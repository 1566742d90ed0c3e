//! The SDK's own diagnostics: rate-limited lines on stderr when
//! `Options::debug` is on. Callers pass reasons (status codes, I/O errors),
//! never tokens or event contents.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

/// At most this many lines per window.
const BURST: u64 = 10;
/// Window length in seconds.
const WINDOW_SECS: u64 = 10;

#[derive(Debug, Default)]
pub(crate) struct DebugLog {
    enabled: bool,
    window: AtomicU64,
    in_window: AtomicU64,
    suppressed: AtomicU64,
}

impl DebugLog {
    pub(crate) fn new(enabled: bool) -> Self {
        DebugLog {
            enabled,
            ..Default::default()
        }
    }

    /// Logs `msg` when enabled and within the rate limit.
    pub(crate) fn log(&self, msg: impl FnOnce() -> String) {
        if !self.enabled {
            return;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            / WINDOW_SECS;
        if self.window.swap(now, Relaxed) != now {
            self.in_window.store(0, Relaxed);
            let n = self.suppressed.swap(0, Relaxed);
            if n > 0 {
                eprintln!("[bugstack] {n} more messages suppressed");
            }
        }
        if self.in_window.fetch_add(1, Relaxed) < BURST {
            eprintln!("[bugstack] {}", msg());
        } else {
            self.suppressed.fetch_add(1, Relaxed);
        }
    }
}
