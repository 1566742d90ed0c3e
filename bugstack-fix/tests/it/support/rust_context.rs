//! The context builder tests' events: stack frames as the SDK reports them
//! and incidents made of them.

use bugstack_core::{Frame, Location};
use bugstack_fix::Incident;

use super::panic_event;

/// A frame in `function` at `file:line:5`.
pub(crate) fn frame(function: &str, file: &str, line: u32, in_app: bool) -> Frame {
    Frame {
        function: Some(function.to_string()),
        module: function.rsplit_once("::").map(|(m, _)| m.to_string()),
        file: Some(file.to_string()),
        line: Some(line),
        column: Some(5),
        in_app,
        address: None,
    }
}

/// [`std_frames`], then the frames `app` (innermost first).
pub(crate) fn std_frames_then(app: impl IntoIterator<Item = Frame>) -> Vec<Frame> {
    let mut frames = std_frames();
    frames.extend(app);
    frames
}

/// The standard library's panic frames that top every stack.
pub(crate) fn std_frames() -> Vec<Frame> {
    vec![
        frame(
            "std::panicking::begin_panic_handler",
            "/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/std/src/panicking.rs",
            665,
            false,
        ),
        frame(
            "core::option::unwrap_failed",
            "/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/option.rs",
            2015,
            false,
        ),
    ]
}

/// A panic saying `message` at `location` (file, line; column 9), with
/// `frames`, in `release`.
pub(crate) fn incident(
    message: &str,
    location: Option<(&str, u32)>,
    frames: Vec<Frame>,
    release: Option<&str>,
) -> Incident {
    let mut event = panic_event(message);
    event.location = location.map(|(file, line)| Location {
        file: file.to_string(),
        line,
        column: Some(9),
    });
    event.frames = frames;
    event.release = release.map(str::to_string);
    Incident::from_event("1", event)
}

/// 1-based line of the first line of `text` containing `needle`.
pub(crate) fn line_of(text: &str, needle: &str) -> u32 {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in text")) as u32
        + 1
}
