//! Running one check: a command in its own process group, with a timeout that
//! kills the whole group, and output captured into a bounded buffer.
//!
//! The command's stdout and stderr are read incrementally as they arrive and
//! kept in a [`BoundedOutput`] (head and tail, the middle dropped and
//! counted), so a check that prints gigabytes costs a few kilobytes of memory.
//! When the command ends — by exiting or by being killed at its timeout —
//! every process left in its group (background jobs, test binaries it
//! spawned) is killed too, and a dropped (cancelled) run kills its group as
//! well.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::diagnostics::{DiagnosticTally, Shown};
use super::libtest::TestTally;
use crate::validate::CheckStatus;
use crate::{Error, Result};

/// Longest line handed to a parser; a longer one is cut there.
const MAX_LINE: usize = 64 * 1024;

/// How long output readers may keep going after the command ended (a
/// process that escaped the group could hold the pipes open forever).
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CommandLine {
    /// A shell command, run as `sh -c <command>`.
    Shell(String),
    /// A program and its arguments, run without a shell (for arguments that
    /// come from generated data, such as a test name).
    Argv(Vec<String>),
}

impl CommandLine {
    /// The same command with its stderr sent to its stdout, so the two
    /// arrive in the order they were written (cargo reports which test
    /// binary runs on stderr, libtest its tests on stdout).
    pub(crate) fn merged_output(&self) -> CommandLine {
        match self {
            CommandLine::Shell(s) => CommandLine::Shell(format!("exec 2>&1\n{s}")),
            CommandLine::Argv(argv) => {
                let mut a: Vec<String> = ["sh", "-c", "exec 2>&1; exec \"$@\"", "sh"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                a.extend(argv.iter().cloned());
                CommandLine::Argv(a)
            }
        }
    }

    /// The command as a person would type it.
    pub(crate) fn display(&self) -> String {
        match self {
            CommandLine::Shell(s) => s.clone(),
            CommandLine::Argv(a) => a.join(" "),
        }
    }
}

/// How to run a command.
#[derive(Debug, Clone)]
pub(crate) struct RunSpec<'a> {
    /// The command.
    pub command: &'a CommandLine,
    /// Working directory.
    pub dir: &'a Path,
    /// Killed with its process group after this long.
    pub timeout: Duration,
    /// Variables set for the command.
    pub env: &'a [(OsString, OsString)],
    /// Variables removed from the command's environment (secrets).
    pub env_remove: &'a [String],
    /// Most bytes of output kept (head and tail).
    pub max_output: usize,
    /// What to read from the output, line by line, as it streams.
    pub parse: Parse,
}

/// What [`run_command`] reads from a command's output as it streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Parse {
    /// Nothing: the output is only kept (bounded).
    #[default]
    Raw,
    /// libtest's per-test lines ([`TestTally`]).
    Tests,
    /// cargo's JSON messages ([`DiagnosticTally`]); they are shown as their
    /// rendered text.
    Diagnostics,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandRun {
    /// Passed, failed or timed out.
    pub status: CheckStatus,
    /// Exit code, when the process exited normally.
    pub exit_code: Option<i32>,
    /// Wall time.
    pub duration_ms: u64,
    /// Combined stdout and stderr, bounded (head and tail kept).
    pub output: String,
    /// Every test result, with [`Parse::Tests`].
    pub tests: Option<TestTally>,
    /// Every compiler error, with [`Parse::Diagnostics`].
    pub diagnostics: Option<DiagnosticTally>,
}

impl CommandRun {
    /// A run that did not happen, with `status` and why.
    pub(crate) fn not_run(status: CheckStatus, output: impl Into<String>) -> CommandRun {
        CommandRun {
            status,
            exit_code: None,
            duration_ms: 0,
            output: output.into(),
            tests: None,
            diagnostics: None,
        }
    }
}

/// The output kept so far and what was read from it.
#[derive(Debug)]
struct Collected {
    out: BoundedOutput,
    tests: Option<TestTally>,
    diagnostics: Option<DiagnosticTally>,
}

impl Collected {
    fn new(max: usize, parse: Parse) -> Self {
        Collected {
            out: BoundedOutput::new(max),
            tests: (parse == Parse::Tests).then(TestTally::default),
            diagnostics: (parse == Parse::Diagnostics).then(DiagnosticTally::default),
        }
    }

    fn parses(&self) -> bool {
        self.tests.is_some() || self.diagnostics.is_some()
    }

    /// One whole line (with its newline, when it had one).
    fn line(&mut self, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let bare = text.trim_end_matches('\n');
        if let Some(t) = &mut self.tests {
            t.line(bare);
        }
        if let Some(d) = &mut self.diagnostics {
            match d.line(bare) {
                Shown::Line => {}
                Shown::Nothing => return,
                Shown::Text(rendered) => {
                    self.out.push(rendered.as_bytes());
                    if !rendered.ends_with('\n') {
                        self.out.push(b"\n");
                    }
                    return;
                }
            }
        }
        self.out.push(raw);
    }
}

/// A byte buffer that keeps the first `head_cap` bytes and the last
/// `tail_cap` bytes written to it, and counts what it dropped in between.
#[derive(Debug)]
pub(crate) struct BoundedOutput {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_cap: usize,
    tail_cap: usize,
    dropped: u64,
}

impl BoundedOutput {
    /// A buffer holding at most `max_bytes` (a third head, the rest tail:
    /// errors and test summaries are usually at the end).
    pub(crate) fn new(max_bytes: usize) -> Self {
        let head_cap = max_bytes / 3;
        BoundedOutput {
            head: Vec::new(),
            tail: VecDeque::new(),
            head_cap,
            tail_cap: max_bytes - head_cap,
            dropped: 0,
        }
    }

    /// Appends bytes.
    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < self.head_cap {
            let n = (self.head_cap - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        if bytes.len() >= self.tail_cap {
            self.dropped += (self.tail.len() + bytes.len() - self.tail_cap) as u64;
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - self.tail_cap..]);
            return;
        }
        let overflow = (self.tail.len() + bytes.len()).saturating_sub(self.tail_cap);
        self.tail.drain(..overflow);
        self.dropped += overflow as u64;
        self.tail.extend(bytes);
    }

    /// Bytes held right now (never more than the budget).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// Bytes dropped from the middle.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The kept text (lossy UTF-8), with a marker where bytes were dropped.
    pub(crate) fn text(&self) -> String {
        let head = String::from_utf8_lossy(&self.head);
        let (a, b) = self.tail.as_slices();
        let mut tail_bytes = Vec::with_capacity(a.len() + b.len());
        tail_bytes.extend_from_slice(a);
        tail_bytes.extend_from_slice(b);
        let tail = String::from_utf8_lossy(&tail_bytes);
        if self.dropped == 0 {
            format!("{head}{tail}")
        } else {
            format!("{head}\n[... {} bytes of output dropped ...]\n{tail}", self.dropped)
        }
    }
}

/// Kills a process group when dropped, unless disarmed: a cancelled run
/// leaves nothing behind.
struct GroupKiller {
    pgid: Option<i32>,
}

impl GroupKiller {
    fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            kill_group(pgid);
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends SIGKILL to every process of group `pgid` (no error when the group
/// is already gone).
pub(crate) fn kill_group(pgid: i32) {
    if pgid > 1 {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

async fn pump<R: AsyncRead + Unpin>(mut reader: R, buf: Arc<Mutex<Collected>>) {
    let mut chunk = vec![0u8; 8192];
    let parses = buf.lock().map(|b| b.parses()).unwrap_or(false);
    let mut partial: Vec<u8> = Vec::new();
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let Ok(mut b) = buf.lock() else { break };
                if !parses {
                    b.out.push(&chunk[..n]);
                    continue;
                }
                for piece in chunk[..n].split_inclusive(|c| *c == b'\n') {
                    partial.extend_from_slice(piece);
                    if piece.ends_with(b"\n") || partial.len() >= MAX_LINE {
                        b.line(&partial);
                        partial.clear();
                    }
                }
            }
        }
    }
    if !partial.is_empty() {
        if let Ok(mut b) = buf.lock() {
            b.line(&partial);
        }
    }
}

/// Runs a command in its own process group (see the module docs). `Err`
/// only when it cannot be started; a non-zero exit or a timeout is a result.
pub(crate) async fn run_command(spec: RunSpec<'_>) -> Result<CommandRun> {
    let mut cmd = match spec.command {
        CommandLine::Shell(s) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(s);
            c
        }
        CommandLine::Argv(argv) => {
            let Some((program, args)) = argv.split_first() else {
                return Err(Error::Validate("empty command".into()));
            };
            let mut c = Command::new(program);
            c.args(args);
            c
        }
    };
    cmd.current_dir(spec.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in spec.env_remove {
        cmd.env_remove(name);
    }
    for (k, v) in spec.env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| {
        Error::io(
            format!("starting `{}` in {}", spec.command.display(), spec.dir.display()),
            e,
        )
    })?;
    // With process_group(0) the child's pid is its group id.
    let mut killer = GroupKiller {
        pgid: child.id().and_then(|id| i32::try_from(id).ok()),
    };
    let buf = Arc::new(Mutex::new(Collected::new(spec.max_output, spec.parse)));
    let mut readers = tokio::task::JoinSet::new();
    if let Some(out) = child.stdout.take() {
        readers.spawn(pump(out, buf.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.spawn(pump(err, buf.clone()));
    }

    let waited = tokio::time::timeout(spec.timeout, child.wait()).await;
    let (status, exit_code) = match waited {
        Ok(Ok(st)) => {
            // Leftovers (background jobs) die with the command.
            killer.kill();
            let code = st.code();
            (
                if st.success() {
                    CheckStatus::Passed
                } else {
                    CheckStatus::Failed
                },
                code,
            )
        }
        Ok(Err(e)) => {
            killer.kill();
            return Err(Error::io(format!("waiting for `{}`", spec.command.display()), e));
        }
        Err(_elapsed) => {
            killer.kill();
            let _ = child.wait().await;
            (CheckStatus::TimedOut, None)
        }
    };
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let drained = tokio::time::timeout(DRAIN_GRACE, async { while readers.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        readers.abort_all();
    }
    let (mut output, tests, diagnostics) = match buf.lock() {
        Ok(mut b) => (b.out.text(), b.tests.take(), b.diagnostics.take()),
        Err(_) => (String::new(), None, None),
    };
    if status == CheckStatus::TimedOut {
        output.push_str(&format!(
            "\n[bugstack: killed with its process group after {}s timeout]\n",
            spec.timeout.as_secs_f64()
        ));
    }
    Ok(CommandRun {
        status,
        exit_code,
        duration_ms,
        output,
        tests,
        diagnostics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_output_keeps_head_and_tail() {
        let mut b = BoundedOutput::new(30);
        for i in 0..1000 {
            b.push(format!("line {i}\n").as_bytes());
            assert!(b.held() <= 30);
        }
        let t = b.text();
        assert!(t.starts_with("line 0\n"), "{t}");
        assert!(t.ends_with("line 999\n"), "{t}");
        assert!(t.contains("bytes of output dropped"), "{t}");
        assert!(b.dropped() > 0);
        let mut small = BoundedOutput::new(100);
        small.push(b"hello");
        assert_eq!(small.text(), "hello");
        let mut big = BoundedOutput::new(10);
        big.push(&[b'x'; 1000]);
        assert_eq!(big.held(), 10);
        assert_eq!(big.dropped(), 990);
    }
}
