//! The template generator tests' helpers: hand-built contexts, and running
//! commands in copies of fixture crates and reading the panic they print.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use bugstack_fix::{FixContext, Incident, Patch};

use super::{context_at, panic_event, target_frame};

/// The file the single-file template tests fix.
pub(crate) const PATH: &str = "src/lib.rs";

/// `src`, as the file at [`PATH`], with `p` applied.
pub(crate) fn apply(src: &str, p: &Patch) -> String {
    p.apply_to(&BTreeMap::from([(PATH.to_string(), src.to_string())]))
        .unwrap()[PATH]
        .clone()
}

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

/// Runs `cmd` in `dir`, building into `target`, without colours (and
/// without backtraces unless `cmd` asks for them); its output.
pub(crate) fn run_in(cmd: &mut Command, dir: &Path, target: &Path) -> Output {
    if !cmd.get_envs().any(|(k, _)| k == "RUST_BACKTRACE") {
        cmd.env("RUST_BACKTRACE", "0");
    }
    cmd.current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("the command runs")
}

/// The first frame of a printed backtrace (`RUST_BACKTRACE=1`) in the
/// crate's own `src/`: `(path, line, column)`. Where a panic raised inside
/// the standard library (`Duration - Duration`, ...) is fixed, as the
/// context builder picks the first in-app frame of a captured event.
pub(crate) fn first_src_frame(output: &str) -> Option<(String, u32, u32)> {
    output.lines().find_map(|l| {
        let loc = l.trim().strip_prefix("at ./")?;
        if !loc.starts_with("src/") {
            return None;
        }
        let mut parts = loc.rsplitn(3, ':');
        let column = parts.next()?.trim().parse().ok()?;
        let line = parts.next()?.trim().parse().ok()?;
        Some((parts.next()?.to_string(), line, column))
    })
}

/// A command's standard output followed by its standard error.
pub(crate) fn output_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
