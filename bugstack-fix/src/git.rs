//! The one way bugstack runs `git`.
//!
//! Every git process — blocking or async, in this crate or in the `bugstack`
//! binary — is built by [`command`]: `git -C <dir>` with a fixed, minimal
//! environment (no pager, no prompts, `LC_ALL=C`, stdin closed) and without
//! the variables that point git at another repository
//! ([`REPOSITORY_ENV`]: `GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`,
//! `GIT_OBJECT_DIRECTORY`). A parent git exports those to its hooks and
//! aliases; inherited, they would make every command act on that repository
//! instead of `<dir>`. A caller that means one of them (a temporary index,
//! say) sets it on the command after building it, and its value wins.
//!
//! [`Git`] runs commands in one repository asynchronously and turns a
//! non-zero exit into [`Error::Git`] carrying git's stderr;
//! [`Git::output`] leaves the exit status to the caller.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::{Error, Result};

/// Environment variables that select a repository, index or object store.
/// [`command`] removes them from the inherited environment.
pub const REPOSITORY_ENV: [&str; 4] = ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"];

/// `git -C dir` with bugstack's environment (see the module docs), ready for
/// arguments. Stdin is closed; stdout and stderr are the caller's choice.
/// For an async process, convert it with `tokio::process::Command::from`.
pub fn command(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .env("LC_ALL", "C")
        .stdin(Stdio::null());
    for var in REPOSITORY_ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs git with `args` in `dir` on the calling thread and returns its
/// stdout, or an [`Error::Git`] with its stderr.
pub fn run_blocking(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = command(dir)
        .args(args)
        .output()
        .map_err(|e| Error::io(format!("running git {}", args.join(" ")), e))?;
    checked(dir, args, out).map(|out| out.stdout)
}

/// `out` when git exited with 0, else an [`Error::Git`] with its stderr.
fn checked(dir: &Path, args: &[&str], out: std::process::Output) -> Result<std::process::Output> {
    if out.status.success() {
        return Ok(out);
    }
    Err(Error::Git {
        command: args.join(" "),
        dir: dir.to_path_buf(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// What a git process did, whatever its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitOutput {
    /// Whether it exited with 0.
    pub success: bool,
    /// Its exit code, when it exited (not killed by a signal).
    pub code: Option<i32>,
    /// Stdout, trailing whitespace trimmed.
    pub stdout: String,
    /// Stderr, trimmed.
    pub stderr: String,
}

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

    /// Runs git with `args` and extra environment `envs` (applied after
    /// bugstack's, so they win), feeding it `stdin` when given.
    async fn spawn(
        &self,
        args: &[&str],
        envs: &[(&str, OsString)],
        stdin: Option<&[u8]>,
    ) -> Result<std::process::Output> {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::from(command(&self.root));
        cmd.args(args)
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let what = || format!("running git {}", args.join(" "));
        let mut child = cmd.spawn().map_err(|e| Error::io(what(), e))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input)
                .await
                .map_err(|e| Error::io("writing to git's stdin", e))?;
        }
        child.wait_with_output().await.map_err(|e| Error::io(what(), e))
    }

    /// Runs git with `args`, extra environment `envs` and optional `stdin`;
    /// never fails on a non-zero exit (the caller decides).
    pub async fn output(&self, args: &[&str], envs: &[(&str, OsString)], stdin: Option<&[u8]>) -> Result<GitOutput> {
        let out = self.spawn(args, envs, stdin).await?;
        Ok(GitOutput {
            success: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).trim_end().to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }

    /// Like [`Git::output`], but a non-zero exit is an [`Error::Git`]; its
    /// stdout, trailing whitespace trimmed.
    pub async fn run_with(&self, args: &[&str], envs: &[(&str, OsString)], stdin: Option<&[u8]>) -> Result<String> {
        let out = self.output(args, envs, stdin).await?;
        if !out.success {
            return Err(Error::Git {
                command: args.join(" "),
                dir: self.root.clone(),
                stderr: out.stderr,
            });
        }
        Ok(out.stdout)
    }

    /// Runs git with `args` and returns its stdout as bytes.
    pub async fn run_bytes(&self, args: &[&str]) -> Result<Vec<u8>> {
        let out = self.spawn(args, &[], None).await?;
        checked(&self.root, args, out).map(|out| out.stdout)
    }

    /// Runs git with `args` and returns its stdout as text, trailing
    /// whitespace trimmed.
    pub async fn run(&self, args: &[&str]) -> Result<String> {
        self.run_with(args, &[], None).await
    }

    /// Runs git with `args`, feeding `stdin` to it.
    pub async fn run_with_input(&self, args: &[&str], stdin: &[u8]) -> Result<String> {
        self.run_with(args, &[], Some(stdin)).await
    }

    /// The full commit id `rev` names (`rev^{commit}`).
    pub async fn resolve_commit(&self, rev: &str) -> Result<String> {
        self.run(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
            .await
            .map_err(|_| Error::Repo(format!("no commit named {rev:?} in {}", self.root.display())))
    }

    /// The commit the local branch `branch` points at, when it exists.
    pub async fn branch_tip(&self, branch: &str) -> Result<Option<String>> {
        let spec = format!("refs/heads/{branch}^{{commit}}");
        let out = self
            .output(&["rev-parse", "--verify", "--quiet", &spec], &[], None)
            .await?;
        Ok(out.success.then_some(out.stdout))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Set (by [`inherited_git_dir_does_not_leak`]) in the environment of
    /// this test binary re-run as a child, with a bogus `GIT_DIR`.
    const PROBE_REPO: &str = "BUGSTACK_GIT_PROBE_REPO";

    #[test]
    fn repository_variables_are_removed_unless_set_explicitly() {
        let mut cmd = command(Path::new("."));
        let removed = |cmd: &std::process::Command, var: &str| cmd.get_envs().any(|(k, v)| k == var && v.is_none());
        for var in REPOSITORY_ENV {
            assert!(removed(&cmd, var), "{var} is not removed");
        }
        cmd.env("GIT_INDEX_FILE", "/tmp/index");
        assert!(!removed(&cmd, "GIT_INDEX_FILE"));
        assert!(cmd
            .get_envs()
            .any(|(k, v)| k == "GIT_INDEX_FILE" && v == Some("/tmp/index".as_ref())));
    }

    /// Runs this test binary again, as a child whose environment has a
    /// `GIT_DIR` pointing nowhere (as a git hook's would point at another
    /// repository): git run through [`command`] still finds `dir`'s
    /// repository. (The variable is not set in this process, where other
    /// tests run git concurrently.)
    #[test]
    fn inherited_git_dir_does_not_leak() {
        let dir = tempfile::tempdir().unwrap();
        run_blocking(dir.path(), &["init", "-q"]).unwrap();
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "git::tests::probe_with_inherited_git_dir",
                "--include-ignored",
            ])
            .env("GIT_DIR", dir.path().join("no-such-repository"))
            .env(PROBE_REPO, dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("1 passed"), "the probe did not run: {stdout}");
    }

    /// The child half of [`inherited_git_dir_does_not_leak`].
    #[test]
    #[ignore = "run by inherited_git_dir_does_not_leak, in a child process"]
    fn probe_with_inherited_git_dir() {
        let Some(repo) = std::env::var_os(PROBE_REPO) else {
            return;
        };
        assert!(std::env::var_os("GIT_DIR").is_some(), "the parent sets GIT_DIR");
        let repo = PathBuf::from(repo);
        let git_dir = run_blocking(&repo, &["rev-parse", "--absolute-git-dir"]).unwrap();
        let git_dir = PathBuf::from(String::from_utf8_lossy(&git_dir).trim());
        assert_eq!(
            git_dir.canonicalize().unwrap(),
            repo.join(".git").canonicalize().unwrap()
        );
    }
}
