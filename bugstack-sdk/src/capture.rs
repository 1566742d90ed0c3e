//! The hot path: what the calling thread records before handing an
//! occurrence to the worker. Only cheap work happens here: the message, the
//! error chain's `Display`s, the location, *unresolved* frame addresses, the
//! thread, and the request context; then the client's one `try_send`
//! ([`client::record`](crate::client::record)).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use bugstack_core::{text, Breadcrumb, ChainLink, EventKind, Level, Location, ThreadInfo, Timestamp};

use crate::request_context::RequestSource;

/// Longest message or chain link kept, in bytes.
pub(crate) const MAX_MESSAGE: usize = 8 * 1024;
/// Most chain links kept.
const MAX_CHAIN: usize = 16;

/// Stack frames as captured.
pub(crate) enum RawFrames {
    /// Return addresses of the capturing thread's stack ([`crate::stack::walk`]).
    Unresolved(Box<[usize]>),
    /// The `Debug` rendering of a `std::backtrace::Backtrace` that an error
    /// carried (std offers no stable API to its frames).
    StdDebug(String),
}

/// One occurrence as the calling thread recorded it.
pub(crate) struct RawEvent {
    pub(crate) kind: EventKind,
    pub(crate) level: Level,
    pub(crate) message: String,
    pub(crate) chain: Vec<ChainLink>,
    pub(crate) location: Option<Location>,
    pub(crate) frames: RawFrames,
    pub(crate) thread: Arc<ThreadInfo>,
    pub(crate) timestamp: Timestamp,
    /// Built into a [`RequestContext`] on the worker, not here.
    pub(crate) request: Option<Arc<dyn RequestSource>>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) breadcrumbs: Vec<Breadcrumb>,
}

impl RawEvent {
    /// An occurrence of `kind` at `level` on the calling thread, now, with
    /// its breadcrumbs and request context; `message` is cut to [`MAX_MESSAGE`].
    pub(crate) fn new(kind: EventKind, level: Level, message: String, frames: RawFrames) -> Self {
        RawEvent {
            kind,
            level,
            message: text::truncate_owned(message, MAX_MESSAGE),
            chain: Vec::new(),
            location: None,
            frames,
            thread: current_thread(),
            timestamp: Timestamp::now(),
            request: crate::request_context::current_source(),
            tags: BTreeMap::new(),
            breadcrumbs: crate::breadcrumbs::snapshot(),
        }
    }

    /// An error occurrence: its `chain` ([`error_chain`]), the outermost
    /// link's message as the event's.
    pub(crate) fn error(chain: Vec<ChainLink>, frames: RawFrames) -> Self {
        let message = chain.first().map(|l| l.message.clone()).unwrap_or_default();
        let mut raw = RawEvent::new(EventKind::Error, Level::Error, message, frames);
        raw.chain = chain;
        raw
    }
}

/// The calling thread's name and id, built once per thread (a thread's name
/// never changes) and shared by every event it captures.
fn current_thread() -> Arc<ThreadInfo> {
    thread_local! {
        static THREAD: Arc<ThreadInfo> = Arc::new(thread_info());
    }
    // During thread teardown the cache may be gone: build it afresh.
    THREAD.try_with(Arc::clone).unwrap_or_else(|_| Arc::new(thread_info()))
}

fn thread_info() -> ThreadInfo {
    let t = std::thread::current();
    ThreadInfo {
        name: t.name().map(str::to_string),
        id: Some(format!("{:?}", t.id())),
    }
}

/// A `fmt::Write` that keeps at most `max` bytes and then stops the
/// formatter (so a huge or endless `Display` costs bounded work).
struct Bounded {
    out: String,
    max: usize,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.max.saturating_sub(self.out.len());
        if s.len() <= room {
            self.out.push_str(s);
            Ok(())
        } else {
            self.out.push_str(text::truncate(s, room));
            Err(fmt::Error)
        }
    }
}

/// `value`'s `Display`, at most `max` bytes. A `Display` impl that panics
/// yields a placeholder instead of unwinding into the host.
pub(crate) fn display_bounded(value: &dyn fmt::Display, max: usize) -> String {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut w = Bounded {
            out: String::new(),
            max,
        };
        let _ = write!(w, "{value}");
        w.out
    }));
    r.unwrap_or_else(|_| "<Display panicked>".to_string())
}

/// The leading type name of `value`'s `Debug` output (`ParseIntError { .. }`
/// → `ParseIntError`): the best available name for a `dyn Error` source,
/// whose concrete type is not known statically. Reads at most 96 bytes.
pub(crate) fn debug_type_name(value: &dyn fmt::Debug) -> Option<String> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut w = Bounded {
            out: String::new(),
            max: 96,
        };
        let _ = write!(w, "{value:?}");
        w.out
    }));
    let s = r.ok()?;
    let name: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let starts_ok = name.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    starts_ok.then_some(name)
}

/// The chain of `err`: the outermost link named after `E` when `E` is a
/// concrete type, every source named by its `Debug` output.
pub(crate) fn error_chain<E: std::error::Error + ?Sized + 'static>(err: &E) -> Vec<ChainLink> {
    let outer_name = std::any::type_name::<E>();
    let mut chain = Vec::new();
    let outer_type = if outer_name.starts_with("dyn ") || outer_name.contains("dyn core::error::Error") {
        debug_type_name(&err)
    } else {
        Some(outer_name.to_string())
    };
    chain.push(ChainLink {
        type_name: outer_type,
        message: display_bounded(&err, MAX_MESSAGE),
    });
    let mut source = err.source();
    while let Some(s) = source {
        if chain.len() >= MAX_CHAIN {
            break;
        }
        chain.push(ChainLink {
            type_name: debug_type_name(&s),
            message: display_bounded(&s, MAX_MESSAGE),
        });
        source = s.source();
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("disk full")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("could not save cart")]
    struct Outer(#[source] Inner);

    #[test]
    fn chain_is_walked_with_type_names() {
        let chain = error_chain(&Outer(Inner));
        assert_eq!(chain.len(), 2);
        assert!(chain[0].type_name.as_deref().unwrap().ends_with("Outer"));
        assert_eq!(chain[0].message, "could not save cart");
        assert_eq!(chain[1].type_name.as_deref(), Some("Inner"));
        assert_eq!(chain[1].message, "disk full");
        let boxed: Box<dyn std::error::Error> = Box::new(Outer(Inner));
        let chain = error_chain(&*boxed);
        assert_eq!(chain[0].type_name.as_deref(), Some("Outer"));
    }

    struct Endless;
    impl fmt::Display for Endless {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            loop {
                f.write_str("xxxxxxxx")?;
            }
        }
    }

    struct Panicky;
    impl fmt::Display for Panicky {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            panic!("display bug")
        }
    }

    #[test]
    fn display_is_bounded_and_panic_safe() {
        assert_eq!(display_bounded(&Endless, 20).len(), 20);
        assert_eq!(display_bounded(&Panicky, 20), "<Display panicked>");
    }
}
