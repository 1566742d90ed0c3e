//! The template generator tests' helpers: hand-built contexts, and running
//! commands in copies of fixture crates and reading the panic they print.

use std::path::Path;
use std::process::{Command, Output};

use bugstack_fix::{FixContext, Incident};

use super::{context_at, panic_event, target_frame};

/// A context whose target frame is `path:line:column`, holding `text` as
/// that file's content and `message` as the panic message.
pub(crate) fn context(path: &str, text: &str, line: u32, column: Option<u32>, message: &str) -> FixContext {
    FixContext {
        token_budget: 4000,
        ..context_at(
            Incident::from_event("1", panic_event(message)),
            ".",
            "0".repeat(40),
            target_frame(path, line, column, None),
            text,
        )
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

/// Runs `cmd` in `dir`, building into `target`, without colours or
/// backtraces; its output.
pub(crate) fn run_in(cmd: &mut Command, dir: &Path, target: &Path) -> Output {
    cmd.current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_TERM_COLOR", "never")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the command runs")
}

/// A command's standard output followed by its standard error.
pub(crate) fn output_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
