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

use crate::validate::CheckStatus;
use crate::{Error, Result};

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

async fn pump<R: AsyncRead + Unpin>(mut reader: R, buf: Arc<Mutex<BoundedOutput>>) {
    let mut chunk = vec![0u8; 8192];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Ok(mut b) = buf.lock() {
                    b.push(&chunk[..n]);
                }
            }
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
    let buf = Arc::new(Mutex::new(BoundedOutput::new(spec.max_output)));
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
    let mut output = buf.lock().map(|b| b.text()).unwrap_or_default();
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
