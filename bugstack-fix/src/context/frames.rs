//! The event's frames mapped to files of the repository.

use std::collections::HashSet;

use bugstack_core::Event;

use super::paths::FileIndex;
use super::RepoFrame;

pub(super) fn no_frame_message(event: &Event, commit: &str) -> String {
    let total = event.frames.len() + usize::from(event.location.is_some());
    format!(
        "none of the event's {total} source location(s) maps to a file of the repository at {}; \
         registry and standard-library frames are never fix targets (is this the service's repository?)",
        &commit[..commit.len().min(12)]
    )
}

/// The crate a demangled function path starts with (`shop` for
/// `<shop::Cart as core::fmt::Display>::fmt` or `shop::cart::total`).
pub(super) fn function_crate(function: &str) -> Option<&str> {
    let f = function.trim_start_matches('<');
    let c = f.split("::").next()?;
    (!c.is_empty() && c.chars().all(|ch| ch.is_alphanumeric() || ch == '_')).then_some(c)
}

/// The event's locations that map to repository files, innermost first.
pub(super) fn map_frames(index: &FileIndex, event: &Event) -> Vec<RepoFrame> {
    let mut out: Vec<RepoFrame> = Vec::new();
    let mut seen = HashSet::new();
    for (i, f) in event.frames.iter().enumerate() {
        let (Some(file), Some(line)) = (f.file.as_deref(), f.line) else {
            continue;
        };
        let Some(path) = index.map(file, f.function.as_deref().and_then(function_crate)) else {
            continue;
        };
        if seen.insert((path.clone(), line)) {
            out.push(RepoFrame {
                frame_index: Some(i),
                path,
                line,
                column: f.column,
                function: f.function.clone(),
            });
        }
    }
    if let Some(loc) = &event.location {
        let hint = event
            .frames
            .iter()
            .find(|f| f.file.as_deref() == Some(loc.file.as_str()))
            .or_else(|| event.frames.iter().find(|f| f.in_app && f.function.is_some()))
            .and_then(|f| f.function.as_deref())
            .and_then(function_crate);
        // A relative location (`src/lib.rs`) that is not a tracked path but
        // a suffix of several is the file a frame already mapped to, if any.
        let normalized = loc.file.replace('\\', "/");
        let normalized = normalized.trim_start_matches("./");
        let relative = !normalized.starts_with('/') && !normalized.contains(':');
        let suffix = format!("/{normalized}");
        let from_frames = out
            .iter()
            .find(|f| relative && !index.contains(normalized) && f.path.ends_with(&suffix))
            .map(|f| f.path.clone());
        if let Some(path) = from_frames.or_else(|| index.map(&loc.file, hint)) {
            match out.iter().position(|f| f.path == path && f.line == loc.line) {
                Some(i) => {
                    let mut f = out.remove(i);
                    f.column = f.column.or(loc.column);
                    out.insert(0, f);
                }
                None => {
                    // A frame in the same file names the function; else the
                    // innermost frame that has no file of its own (code
                    // expanded from a macro often has none) or this one.
                    let function = out
                        .iter()
                        .find(|f| f.path == path)
                        .and_then(|f| f.function.clone())
                        .or_else(|| {
                            event
                                .frames
                                .iter()
                                .filter(|f| f.file.as_deref().is_none_or(|file| file == loc.file))
                                .filter_map(|f| f.function.as_deref())
                                .find(|name| !is_runtime_function(name))
                                .map(str::to_string)
                        });
                    out.insert(
                        0,
                        RepoFrame {
                            frame_index: None,
                            path,
                            line: loc.line,
                            column: loc.column,
                            function,
                        },
                    );
                }
            }
        }
    }
    out
}

/// The panic machinery and the standard library: never the failing
/// function.
fn is_runtime_function(name: &str) -> bool {
    let name = name.trim_start_matches('<');
    ["core::", "std::", "alloc::", "__rust", "rust_"]
        .iter()
        .any(|p| name.starts_with(p))
}
