//! The panic hook: records the panic on the panicking thread (message,
//! location, thread, unresolved frames, request context) and then runs the
//! previously installed hook, which keeps working as before.

use std::any::Any;
use std::sync::Once;

use bugstack_core::{EventKind, Level, Location};

use crate::capture::{RawEvent, RawFrames};

static INSTALL: Once = Once::new();

/// Installs the hook once per process, chaining the hook found in place.
/// Later `init`s reuse it: it always reports to the current client.
pub(crate) fn install() {
    if std::thread::panicking() {
        // `take_hook` may not be called from a panicking thread.
        return;
    }
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !crate::worker::on_sdk_thread() {
                let location = info.location().map(|l| Location {
                    file: l.file().to_string(),
                    line: l.line(),
                    column: Some(l.column()),
                });
                on_panic(payload_message(info.payload()), location);
            }
            previous(info);
        }));
    });
}

/// The panic message (`&str` and `String` payloads; others have none).
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}

/// Records one panic. Must not panic: a panic inside a panic hook aborts.
fn on_panic(message: &str, location: Option<Location>) {
    crate::client::record_panic(|| {
        let mut raw = RawEvent::new(
            EventKind::Panic,
            Level::Fatal,
            message.to_string(),
            RawFrames::Unresolved(crate::stack::walk()),
        );
        raw.location = location;
        raw
    });
}
