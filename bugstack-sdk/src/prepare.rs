//! Preparing an occurrence for delivery: turning a [`RawEvent`] into a wire
//! [`Event`] on the worker thread (symbols, in-app marking, service and
//! runtime info, scrubbing, `before_send`).

use std::sync::Arc;

use bugstack_core::{Event, Runtime, Scrubber, ServiceInfo};

use crate::capture::{RawEvent, RawFrames};
use crate::options::BeforeSend;
use crate::symbolize::{finish_frames, parse_std_backtrace, InApp, Resolver};

/// What the worker (and the synchronous panic path) needs to prepare events.
pub(crate) struct Preparer {
    pub(crate) release: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) service: Option<ServiceInfo>,
    pub(crate) runtime: Runtime,
    pub(crate) in_app: InApp,
    pub(crate) scrubber: Scrubber,
    pub(crate) before_send: Option<BeforeSend>,
    pub(crate) max_frames: usize,
}

/// The toolchain and platform, recorded at build time (`build.rs`) and run time.
pub(crate) fn runtime_info() -> Runtime {
    fn some(s: &str) -> Option<String> {
        (!s.is_empty()).then(|| s.to_string())
    }
    Runtime {
        rustc_version: some(env!("BUGSTACK_BUILD_RUSTC_VERSION")),
        target: some(env!("BUGSTACK_BUILD_TARGET")),
        os: Some(std::env::consts::OS.to_string()),
        arch: Some(std::env::consts::ARCH.to_string()),
    }
}

/// A prepared occurrence, or what `before_send` did with it.
pub(crate) enum Prepared {
    /// Keep this event.
    Keep(Box<Event>),
    /// `before_send` dropped it.
    Filtered,
}

impl Preparer {
    /// Builds, scrubs and filters one event. `run_before_send` is false on
    /// the panic-hook path, where a panicking hook would abort the process.
    pub(crate) fn prepare(&self, raw: RawEvent, resolver: &mut Resolver, run_before_send: bool) -> Prepared {
        let frames = match &raw.frames {
            RawFrames::Unresolved(bt) => resolver.resolve(bt),
            RawFrames::StdDebug(s) => parse_std_backtrace(s),
        };
        let mut event = Event::new(raw.kind, raw.level, raw.message, raw.timestamp);
        event.event_id = Some(format!("{:032x}", fastrand::u128(..)));
        event.chain = raw.chain;
        event.location = raw.location;
        event.frames = finish_frames(frames, &self.in_app, self.max_frames);
        event.thread = Some(Arc::unwrap_or_clone(raw.thread));
        event.release = self.release.clone();
        event.environment = self.environment.clone();
        event.runtime = Some(self.runtime.clone());
        event.service = self.service.clone();
        event.request = raw.request.map(|r| r.context());
        event.tags = raw.tags;
        event.breadcrumbs = raw.breadcrumbs;
        self.scrubber.scrub_event(&mut event);
        if !run_before_send {
            return Prepared::Keep(Box::new(event));
        }
        let Some(hook) = &self.before_send else {
            return Prepared::Keep(Box::new(event));
        };
        let backup = event.clone();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(event))) {
            Ok(Some(mut e)) => {
                // The hook may have added text: scrub again.
                self.scrubber.scrub_event(&mut e);
                Prepared::Keep(Box::new(e))
            }
            Ok(None) => Prepared::Filtered,
            Err(_) => Prepared::Keep(Box::new(backup)),
        }
    }
}
