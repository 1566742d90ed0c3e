//! Shared helpers for the template generator tests: hand-built contexts.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use bugstack_core::{Event, EventKind, Level, Timestamp};
use bugstack_fix::{FixContext, Incident, RepoFrame};

/// A context whose target frame is `path:line:column`, holding `text` as
/// that file's content and `message` as the panic message.
pub(crate) fn context(path: &str, text: &str, line: u32, column: Option<u32>, message: &str) -> FixContext {
    let event = Event::new(EventKind::Panic, Level::Fatal, message, Timestamp::now());
    FixContext {
        incident: Incident::from_event("1", event),
        repo_root: PathBuf::from("."),
        revision: "0".repeat(40),
        frames: vec![RepoFrame {
            frame_index: Some(0),
            path: path.into(),
            line,
            column,
            function: None,
        }],
        snippets: Vec::new(),
        files: BTreeMap::from([(path.to_string(), text.to_string())]),
        token_budget: 4000,
        tokens_used: 0,
        warnings: Vec::new(),
    }
}

/// Parses `panicked at src/lib.rs:12:5:\n<message>` out of test output:
/// (path, line, column, message).
pub(crate) fn parse_panic(stderr: &str) -> Option<(String, u32, u32, String)> {
    let at = stderr.find("panicked at ")?;
    let rest = &stderr[at + "panicked at ".len()..];
    let (loc, after) = rest.split_once(":\n")?;
    let mut parts = loc.rsplitn(3, ':');
    let column = parts.next()?.trim().parse().ok()?;
    let line = parts.next()?.trim().parse().ok()?;
    let path = parts.next()?.trim().to_string();
    let message = after.lines().next()?.to_string();
    Some((path, line, column, message))
}
