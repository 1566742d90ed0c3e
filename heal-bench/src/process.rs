//! Running commands with a timeout, output captured to files (no pipe can
//! fill up), the whole process group killed on timeout.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Exit code 0.
    Passed,
    /// A non-zero exit code or a signal.
    Failed,
    /// Killed after its timeout (a hang, for a reproducer).
    TimedOut,
}

/// A finished command.
#[derive(Debug, Clone)]
pub struct Run {
    /// How it ended.
    pub status: Status,
    /// stdout and stderr, interleaved as written.
    pub output: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Run {
    /// The last `lines` lines of the output.
    pub fn tail(&self, lines: usize) -> String {
        let all: Vec<&str> = self.output.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Environment variables removed from every command: an outer cargo's or
/// git's settings must not leak into the cases' builds.
const CLEARED_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_MANIFEST_DIR",
    "CARGO_PKG_NAME",
    "RUST_TEST_THREADS",
    "BUGSTACK_ENDPOINT",
    "BUGSTACK_TOKEN",
    "BUGSTACK_RELEASE",
    "BUGSTACK_DATA",
    "BUGSTACK_REPO",
];

/// A `sh -c COMMAND` in `dir`, with `env` set on top of the cleaned
/// environment.
pub fn shell(dir: &Path, command: &str, env: &[(&str, &str)]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(command).current_dir(dir);
    for key in CLEARED_ENV {
        c.env_remove(key);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Runs `command`, killing its process group after `timeout`.
pub fn run(mut command: Command, label: &str, timeout: Duration) -> Result<Run> {
    let log = tempfile_path(label);
    let file = std::fs::File::create(&log).map_err(Error::io(&log))?;
    let err = file.try_clone().map_err(Error::io(&log))?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .process_group(0);
    let start = Instant::now();
    let mut child = command.spawn().map_err(|source| Error::Spawn {
        command: label.to_string(),
        source,
    })?;
    let status = loop {
        match child.try_wait().map_err(Error::io(&log))? {
            Some(s) if s.success() => break Status::Passed,
            Some(_) => break Status::Failed,
            None if start.elapsed() >= timeout => {
                kill_group(child.id());
                let _ = child.wait();
                break Status::TimedOut;
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let elapsed = start.elapsed();
    let bytes = std::fs::read(&log).map_err(Error::io(&log))?;
    let _ = std::fs::remove_file(&log);
    Ok(Run {
        status,
        output: String::from_utf8_lossy(&bytes).into_owned(),
        elapsed,
    })
}

/// Runs `command` and fails unless it exits 0; returns its output.
pub fn run_ok(command: Command, label: &str, timeout: Duration) -> Result<String> {
    let r = run(command, label, timeout)?;
    if r.status == Status::Passed {
        Ok(r.output)
    } else {
        Err(Error::Command {
            command: label.to_string(),
            detail: format!("{:?}\n{}", r.status, r.tail(30)),
        })
    }
}

/// `git ARGS` in `dir` with a fixed identity; fails unless it exits 0.
pub fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let mut c = Command::new("git");
    c.args(["-c", "user.name=heal-bench", "-c", "user.email=heal-bench@localhost"])
        .args(["-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir);
    for key in CLEARED_ENV {
        c.env_remove(key);
    }
    let label = format!("git {}", args.join(" "));
    Ok(run_ok(c, &label, Duration::from_secs(120))?.trim().to_string())
}

/// Sends SIGKILL to the process group `pgid` (the child was started as its
/// leader).
pub fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Sends SIGTERM to the process `pid`.
pub fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn tempfile_path(label: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let stem: String = label
        .chars()
        .take(24)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    std::env::temp_dir().join(format!("heal-bench-{}-{n}-{stem}.log", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_past_its_timeout_is_killed_and_reported_timed_out() {
        let c = shell(Path::new("."), "echo started; sleep 30", &[]);
        let r = run(c, "sleep", Duration::from_millis(500)).unwrap();
        assert_eq!(r.status, Status::TimedOut);
        assert!(r.output.contains("started"));
        assert!(r.elapsed < Duration::from_secs(10));
    }

    #[test]
    fn exit_codes_are_told_apart() {
        let ok = run(shell(Path::new("."), "true", &[]), "t", Duration::from_secs(10)).unwrap();
        let bad = run(shell(Path::new("."), "exit 3", &[]), "f", Duration::from_secs(10)).unwrap();
        assert_eq!((ok.status, bad.status), (Status::Passed, Status::Failed));
    }
}
