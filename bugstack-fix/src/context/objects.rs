//! Reading a repository's files at one commit through git objects, never the
//! work tree (which may be dirty or checked out at another revision).
//!
//! One `git cat-file --batch` process serves every blob read of a context
//! build, so reading a file costs a pipe round trip, not a process spawn.
//! Everything here is synchronous: the context builder runs on a blocking
//! thread (see [`super::RustContextBuilder`]).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use crate::{git, Error, Result};

/// Checks that `root` is inside a git work tree with at least one commit.
pub(crate) fn check_repository(root: &Path) -> Result<()> {
    if !root.is_dir() {
        return Err(Error::Repo(format!("{} is not a directory", root.display())));
    }
    git::run_blocking(root, &["rev-parse", "--git-dir"])
        .map_err(|_| Error::Repo(format!("{} is not a git repository", root.display())))?;
    Ok(())
}

/// Whether `rev` is safe to hand to git as a revision: no option injection,
/// no revision-syntax operators beyond plain names (event data is untrusted).
pub(crate) fn plain_revision(rev: &str) -> bool {
    !rev.is_empty()
        && rev.len() <= 200
        && !rev.starts_with('-')
        && !rev.contains("..")
        && rev
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '+' | '-' | '@'))
}

/// The top level of the work tree containing `root`, when it is not `root`
/// itself (compared after resolving symlinks).
pub(crate) fn toplevel(root: &Path) -> Option<PathBuf> {
    let out = git::run_blocking(root, &["rev-parse", "--show-toplevel"]).ok()?;
    let top = PathBuf::from(String::from_utf8_lossy(&out).trim());
    let same = match (top.canonicalize(), root.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => true,
    };
    (!same).then_some(top)
}

/// The full commit id `rev` names, if any.
pub(crate) fn resolve_commit(root: &Path, rev: &str) -> Option<String> {
    let spec = format!("{rev}^{{commit}}");
    let out = git::run_blocking(root, &["rev-parse", "--verify", "--quiet", "--end-of-options", &spec]).ok()?;
    let id = String::from_utf8_lossy(&out).trim().to_string();
    (!id.is_empty()).then_some(id)
}

/// The commit a release name stands for: a tag (`refs/tags/<name>`) or a
/// commit id (full or abbreviated, at least 7 hex digits, one commit only).
/// Never a branch or a remote-tracking ref: an event's release must not
/// pick a moving line of history.
pub(crate) fn resolve_release(root: &Path, name: &str) -> Option<String> {
    if !plain_revision(name) {
        return None;
    }
    if let Some(c) = resolve_commit(root, &format!("refs/tags/{name}")) {
        return Some(c);
    }
    let hex = name.len() >= 7 && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex {
        return None;
    }
    let out = git::run_blocking(root, &["rev-parse", "--disambiguate", &name.to_ascii_lowercase()]).ok()?;
    let text = String::from_utf8_lossy(&out);
    let commits: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|id| {
            git::run_blocking(root, &["cat-file", "-t", id])
                .map(|t| String::from_utf8_lossy(&t).trim() == "commit")
                .unwrap_or(false)
        })
        .collect();
    match commits.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

/// Every file tracked at `commit`, relative to the repository's top level.
pub(crate) fn list_files(root: &Path, commit: &str) -> Result<Vec<String>> {
    let out = git::run_blocking(root, &["ls-tree", "-r", "-z", "--name-only", "--full-tree", commit])?;
    Ok(out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .filter_map(|p| std::str::from_utf8(p).ok())
        .filter(|p| !p.contains('\n'))
        .map(str::to_string)
        .collect())
}

/// Reads blobs at one commit through a single `git cat-file --batch`
/// process, caching what it read.
pub(crate) struct BlobReader {
    root: PathBuf,
    commit: String,
    child: Option<(Child, ChildStdin, BufReader<ChildStdout>)>,
    cache: HashMap<String, Option<String>>,
}

impl BlobReader {
    /// A reader for files at `commit` of the repository at `root` (the process
    /// starts on first read).
    pub(crate) fn new(root: &Path, commit: &str) -> Self {
        BlobReader {
            root: root.to_path_buf(),
            commit: commit.to_string(),
            child: None,
            cache: HashMap::new(),
        }
    }

    fn start(&mut self) -> Result<&mut (Child, ChildStdin, BufReader<ChildStdout>)> {
        if self.child.is_none() {
            let mut child = git::command(&self.root)
                .args(["cat-file", "--batch"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| Error::io("running git cat-file --batch", e))?;
            let stdin = child
                .stdin
                .take()
                .ok_or_else(|| Error::Repo("git cat-file: no stdin".into()))?;
            let stdout = child
                .stdout
                .take()
                .ok_or_else(|| Error::Repo("git cat-file: no stdout".into()))?;
            self.child = Some((child, stdin, BufReader::new(stdout)));
        }
        self.child
            .as_mut()
            .ok_or_else(|| Error::Repo("git cat-file did not start".into()))
    }

    /// The text of `path` at the commit; `Ok(None)` when it does not exist
    /// there or is not UTF-8 text.
    pub(crate) fn read(&mut self, path: &str) -> Result<Option<String>> {
        if let Some(hit) = self.cache.get(path) {
            return Ok(hit.clone());
        }
        let text = if path.contains('\n') { None } else { self.fetch(path)? };
        self.cache.insert(path.to_string(), text.clone());
        Ok(text)
    }

    fn fetch(&mut self, path: &str) -> Result<Option<String>> {
        let request = format!("{}:{}\n", self.commit, path);
        let (_, stdin, stdout) = self.start()?;
        let broken = |e: std::io::Error| Error::io("talking to git cat-file --batch", e);
        stdin.write_all(request.as_bytes()).map_err(broken)?;
        stdin.flush().map_err(broken)?;
        let mut header = String::new();
        stdout.read_line(&mut header).map_err(broken)?;
        let fields: Vec<&str> = header.split_whitespace().collect();
        match fields.as_slice() {
            [_, "missing"] | [_, "ambiguous"] => Ok(None),
            [_, kind, size] => {
                let size: usize = size
                    .parse()
                    .map_err(|_| Error::Repo(format!("git cat-file: bad header {header:?}")))?;
                let mut body = vec![0; size + 1];
                stdout.read_exact(&mut body).map_err(broken)?;
                body.truncate(size);
                if *kind != "blob" {
                    return Ok(None);
                }
                Ok(String::from_utf8(body).ok())
            }
            _ => Err(Error::Repo(format!(
                "git cat-file: unexpected answer {header:?} for {path}"
            ))),
        }
    }
}

impl Drop for BlobReader {
    fn drop(&mut self) {
        if let Some((mut child, stdin, _)) = self.child.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}
