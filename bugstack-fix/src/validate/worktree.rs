//! Isolated, detached git worktrees that always go away.
//!
//! A [`Worktree`] is created with `git worktree add --detach` in a directory
//! outside the user's working tree, with hooks disabled (a repository's
//! `post-checkout` hook must not run on our behalf). It is removed with
//! `git worktree remove --force` and `git worktree prune` by
//! [`Worktree::remove`], or — when a check panics, the validation future is
//! dropped, or an error returns early — by its `Drop`.
//!
//! Worktrees are placed in numbered *slots* under a work root
//! (`slot-0`, `slot-1`, …): a validation claims the first free slot, so
//! consecutive attempts build at the same absolute path and the shared
//! target directory's incremental caches stay valid. A slot is held with an
//! advisory lock, so a slot left behind by a crashed process is recognised
//! and reclaimed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use nix::fcntl::{Flock, FlockArg};

use crate::git::Git;
use crate::patch::{parse_diff, HunkLine};
use crate::policy::is_inside_repository;
use crate::validate::regression::file_sections;
use crate::{Error, Result};

/// Slots tried before falling back to a unique directory name.
const SLOTS: usize = 8;

/// Git options that keep repository hooks from running in our worktrees.
const NO_HOOKS: [&str; 2] = ["-c", "core.hooksPath=/dev/null"];

/// A detached worktree of a repository, removed on [`Worktree::remove`] or
/// drop.
#[derive(Debug)]
pub struct Worktree {
    repo: PathBuf,
    path: PathBuf,
    removed: bool,
    /// Held while the slot is in use (released last, after removal).
    _slot_lock: Option<Flock<File>>,
}

impl Worktree {
    /// Checks out `commit` of the repository at `repo` into a free slot
    /// under `work_root`, detached.
    pub async fn create(repo: &Path, work_root: &Path, commit: &str) -> Result<Worktree> {
        std::fs::create_dir_all(work_root)
            .map_err(|e| Error::io(format!("creating worktree root {}", work_root.display()), e))?;
        let (path, slot_lock) = claim_slot(repo, work_root)?;
        // From here on the guard owns the directory, so every exit cleans up.
        let guard = Worktree {
            repo: repo.to_path_buf(),
            path,
            removed: false,
            _slot_lock: slot_lock,
        };
        let path_str = guard.path.to_string_lossy().into_owned();
        let mut args: Vec<&str> = NO_HOOKS.to_vec();
        args.extend(["worktree", "add", "--detach", "--quiet", &path_str, commit]);
        Git::new(repo).run(&args).await?;
        Ok(guard)
    }

    /// The worktree's root directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies a git-format diff with `git apply`; `Err(message)` with git's
    /// explanation when it does not apply. A file section that only adds
    /// lines to a file that does not exist (`--- a/new.rs`, `@@ -0,0 …`, as
    /// plain diff tools write a created file) is applied as a file creation.
    pub async fn apply(&self, diff: &str) -> std::result::Result<(), String> {
        let diff = mark_created_files(diff, &self.path);
        let mut args: Vec<&str> = NO_HOOKS.to_vec();
        args.extend(["apply", "--whitespace=nowarn", "-"]);
        match Git::new(&self.path).run_with_input(&args, diff.as_bytes()).await {
            Ok(_) => Ok(()),
            Err(Error::Git { stderr, .. }) => Err(stderr),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Removes the worktree (and prunes git's record of it).
    pub async fn remove(mut self) -> Result<()> {
        self.removed = true;
        let path_str = self.path.to_string_lossy().into_owned();
        let removed = Git::new(&self.repo)
            .run(&["worktree", "remove", "--force", "--force", &path_str])
            .await;
        let leftover = self.path.exists() && std::fs::remove_dir_all(&self.path).is_err();
        let _ = Git::new(&self.repo).run(&["worktree", "prune"]).await;
        match removed {
            Err(e) if leftover => Err(e),
            _ => Ok(()),
        }
    }

    fn remove_blocking(&self) {
        let git = |args: &[&str]| {
            let _ = crate::git::command(&self.repo)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        let path_str = self.path.to_string_lossy().into_owned();
        git(&["worktree", "remove", "--force", "--force", &path_str]);
        if self.path.exists() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
        git(&["worktree", "prune"]);
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        if !self.removed {
            self.removed = true;
            self.remove_blocking();
        }
    }
}

/// Rewrites sections that create a file without saying so (old path given,
/// every hunk `-0,0` and only additions, file absent under `root`) into git's
/// creation form (`--- /dev/null`, `new file mode`).
fn mark_created_files(diff: &str, root: &Path) -> String {
    file_sections(diff)
        .into_iter()
        .map(|section| {
            let Ok(files) = parse_diff(&section) else {
                return section;
            };
            let Some(f) = files.first() else { return section };
            let creates = f.old_path.is_some()
                && f.new_path.is_some()
                && f.hunks
                    .iter()
                    .all(|h| h.old_start == 0 && h.lines.iter().all(|l| matches!(l, HunkLine::Add(_))));
            if !creates || !is_inside_repository(f.path()) || root.join(f.path()).exists() {
                return section;
            }
            let mut out = String::with_capacity(section.len() + 32);
            let mut header_done = false;
            for line in section.split_inclusive('\n') {
                if !header_done && line.starts_with("--- ") {
                    out.push_str("--- /dev/null\n");
                    header_done = true;
                    continue;
                }
                out.push_str(line);
                if !header_done && line.starts_with("diff --git ") && !section.contains("\nnew file mode ") {
                    out.push_str("new file mode 100644\n");
                }
            }
            out
        })
        .collect()
}

/// Claims the first free slot under `root`: a slot is free when no live
/// process holds its lock file (`slot-N.lock`, an advisory `flock` released
/// by the kernel when its holder dies). A slot directory left behind by a
/// crashed process is removed (and unregistered from `repo`) before reuse.
/// When every slot is busy, a uniquely named directory is used instead.
fn claim_slot(repo: &Path, root: &Path) -> Result<(PathBuf, Option<Flock<File>>)> {
    for i in 0..SLOTS {
        let lock_path = root.join(format!("slot-{i}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(format!("opening {}", lock_path.display()), e))?;
        let Ok(lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else {
            continue;
        };
        let p = root.join(format!("slot-{i}"));
        if p.exists() {
            // A crashed run's leftover (nobody holds its lock): dropping a
            // guard for it removes it.
            drop(Worktree {
                repo: repo.to_path_buf(),
                path: p.clone(),
                removed: false,
                _slot_lock: None,
            });
        }
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok((p, Some(lock))),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format!("creating {}", p.display()), e)),
        }
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let p = root.join(format!("wt-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&p).map_err(|e| Error::io(format!("creating {}", p.display()), e))?;
    Ok((p, None))
}
