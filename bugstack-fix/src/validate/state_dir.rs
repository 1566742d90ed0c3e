//! Where validation keeps its shared target directories and worktrees: a
//! private directory (0700, owned by this user, never a symbolic link), not
//! predictable names in a shared `/tmp` that another user could create
//! first. Entries unused for longer than a maximum age are removed.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::{Error, Result};

/// The default: `$XDG_CACHE_HOME/bugstack/validate`, else
/// `~/.cache/bugstack/validate`, else `<temp>/bugstack-<user>/validate`.
pub(crate) fn default_state_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute() && p.parent().is_some())
                .map(|h| h.join(".cache"))
        });
    match cache {
        Some(c) => c.join("bugstack").join("validate"),
        None => {
            let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
            let user: String = user.chars().filter(|c| c.is_ascii_alphanumeric()).take(32).collect();
            std::env::temp_dir().join(format!("bugstack-{user}")).join("validate")
        }
    }
}

/// Creates `dir` (and its parents) owner-only, or checks that an existing
/// one is a real directory owned by this user, and tightens it to 0700.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<()> {
    let bad = |why: String| Error::Validate(format!("{}: {why}; refusing to use it", dir.display()));
    if let Some(parent) = dir.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(format!("creating {}", dir.display()), e)),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    if !meta.file_type().is_dir() {
        return Err(bad("not a directory (a symbolic link?)".into()));
    }
    if let Ok(me) = std::fs::metadata("/proc/self") {
        if meta.uid() != me.uid() {
            return Err(bad(format!("owned by uid {}, not by this user", meta.uid())));
        }
    }
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(format!("making {} private", dir.display()), e))?;
    }
    Ok(())
}

/// Removes the entries of `dir` named `target-*` or `worktrees-*` whose
/// last use is older than `max_age` (best effort: errors are skipped). The
/// last use of a target directory is its lock file's time.
pub(crate) fn age_out(dir: &Path, max_age: Duration, now: SystemTime) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("target-") || name.starts_with("worktrees-")) {
            continue;
        }
        let path = entry.path();
        let lock = path.join(super::TARGET_LOCK_FILE);
        let used = std::fs::metadata(&lock)
            .or_else(|_| std::fs::symlink_metadata(&path))
            .and_then(|m| m.modified());
        let stale = used.is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > max_age));
        if stale && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dirs_are_0700_and_symlinks_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/validate");
        ensure_private_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure_private_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let err = ensure_private_dir(&link).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
    }

    #[test]
    fn only_stale_validation_entries_age_out() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["target-old", "worktrees-old", "keep-me"] {
            std::fs::create_dir(tmp.path().join(name)).unwrap();
        }
        let later = SystemTime::now() + Duration::from_secs(3600);
        assert_eq!(age_out(tmp.path(), Duration::from_secs(7200), later), 0);
        assert_eq!(age_out(tmp.path(), Duration::from_secs(60), later), 2);
        assert!(tmp.path().join("keep-me").exists());
        assert!(!tmp.path().join("target-old").exists());
    }
}
