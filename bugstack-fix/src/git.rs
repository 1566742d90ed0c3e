//! A small typed wrapper over the `git` command line.
//!
//! Every call runs `git -C <root> ...` with a fixed, minimal environment
//! (no pager, no prompts, no user config hooks that ask questions) and turns a
//! non-zero exit into [`Error::Git`] carrying git's stderr.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::{Error, Result};

/// A git repository (or worktree) on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Git {
    root: PathBuf,
}

impl Git {
    /// A handle on the repository at `root` (not checked until first use).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Git { root: root.into() }
    }

    /// The repository's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.root)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_PAGER", "cat")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs git with `args` and returns its stdout as bytes.
    pub async fn run_bytes(&self, args: &[&str]) -> Result<Vec<u8>> {
        let out = self
            .command(args)
            .output()
            .await
            .map_err(|e| Error::io(format!("running git {}", args.join(" ")), e))?;
        if !out.status.success() {
            return Err(Error::Git {
                command: args.join(" "),
                dir: self.root.clone(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out.stdout)
    }

    /// Runs git with `args` and returns its stdout as text, trailing
    /// whitespace trimmed.
    pub async fn run(&self, args: &[&str]) -> Result<String> {
        let out = self.run_bytes(args).await?;
        Ok(String::from_utf8_lossy(&out).trim_end().to_string())
    }

    /// Runs git with `args`, feeding `stdin` to it.
    pub async fn run_with_input(&self, args: &[&str], stdin: &[u8]) -> Result<String> {
        use tokio::io::AsyncWriteExt;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io(format!("running git {}", args.join(" ")), e))?;
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin)
                .await
                .map_err(|e| Error::io("writing to git's stdin", e))?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| Error::io(format!("waiting for git {}", args.join(" ")), e))?;
        if !out.status.success() {
            return Err(Error::Git {
                command: args.join(" "),
                dir: self.root.clone(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }

    /// The full commit id `rev` names (`rev^{commit}`).
    pub async fn resolve_commit(&self, rev: &str) -> Result<String> {
        self.run(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
            .await
            .map_err(|_| Error::Repo(format!("no commit named {rev:?} in {}", self.root.display())))
    }

    /// The top-level directory of the work tree containing `root`.
    pub async fn toplevel(&self) -> Result<PathBuf> {
        self.run(&["rev-parse", "--show-toplevel"]).await.map(PathBuf::from)
    }

    /// The text of `path` (relative to the repository root) at commit `rev`.
    pub async fn read_file(&self, rev: &str, path: &str) -> Result<String> {
        let bytes = self.run_bytes(&["show", &format!("{rev}:{path}")]).await?;
        String::from_utf8(bytes).map_err(|_| Error::Repo(format!("{path} at {rev} is not UTF-8 text")))
    }

    /// Every file path tracked at commit `rev`.
    pub async fn list_files(&self, rev: &str) -> Result<Vec<String>> {
        let out = self.run(&["ls-tree", "-r", "--name-only", "--full-tree", rev]).await?;
        Ok(out.lines().map(str::to_string).collect())
    }
}
