//! Owner-only permissions for the data directory and the database files.
//!
//! Events can carry what the scrubbers missed, and the directory holds the
//! collector's token: on Unix the data directory is `0700` and the database
//! files (`bugstack.db` and its `-wal` / `-shm`) are `0600`, set when they are
//! created and tightened when they are found looser. SQLite creates the WAL
//! and shared-memory files with the database file's mode, so creating that
//! file `0600` first covers them too. Elsewhere nothing is changed.

use std::path::Path;

use crate::{Error, Result};

/// Mode of the data directory.
const DIR_MODE: u32 = 0o700;

/// Mode of the database files.
const FILE_MODE: u32 = 0o600;

/// Suffixes of the files SQLite keeps next to the database.
const COMPANIONS: &[&str] = &["-wal", "-shm", "-journal"];

/// Creates `dir` (and its parents) if needed; the directory itself gets
/// [`DIR_MODE`], or is tightened to it.
pub(super) fn prepare_dir(dir: &Path) -> Result<()> {
    let cannot = |e| Error::io(format!("cannot create data directory {}", dir.display()), e);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !dir.is_dir() {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(cannot)?;
            }
            match std::fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(cannot(e)),
            }
        }
        tighten(dir, DIR_MODE)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).map_err(cannot)
    }
}

/// Creates the database file `path` with [`FILE_MODE`] if it is missing, and
/// tightens it and its companions (`-wal`, `-shm`, `-journal`) if looser.
pub(super) fn prepare_db_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(path);
        match created {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io(format!("cannot create {}", path.display()), e)),
        }
        tighten(path, FILE_MODE)?;
        for suffix in COMPANIONS {
            let mut companion = path.as_os_str().to_owned();
            companion.push(suffix);
            let companion = std::path::PathBuf::from(companion);
            if companion.exists() {
                tighten(&companion, FILE_MODE)?;
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = (path, COMPANIONS);
        Ok(())
    }
}

/// Removes every permission bit of `path` outside `mode`.
#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let current = meta.permissions().mode() & 0o7777;
    if current & !mode != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(current & mode))
            .map_err(|e| Error::io(format!("cannot restrict the permissions of {}", path.display()), e))?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use crate::store::{IncidentStore, SqliteStore, DB_FILE};

    fn mode(p: &std::path::Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_data_directory_and_its_database_are_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("nested").join("data");
        let s = SqliteStore::open(&dir).unwrap();
        s.ingest(&[], bugstack_core::Timestamp::now()).unwrap();
        assert_eq!(mode(&dir), 0o700);
        for name in [DB_FILE, "bugstack.db-wal", "bugstack.db-shm"] {
            assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
        }
    }

    #[test]
    fn loose_permissions_are_tightened_on_open() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        drop(SqliteStore::open(&dir).unwrap());
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        for name in [DB_FILE, "bugstack.db-wal", "bugstack.db-shm"] {
            let p = dir.join(name);
            if p.exists() {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
        }
        let s = SqliteStore::open(&dir).unwrap();
        s.ingest(&[], bugstack_core::Timestamp::now()).unwrap();
        assert_eq!(mode(&dir), 0o700);
        for name in [DB_FILE, "bugstack.db-wal", "bugstack.db-shm"] {
            assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
        }
    }
}
