//! The disk spool: batches that could not be delivered, kept as files until
//! they are (in this process or after a restart).
//!
//! Each file holds one batch — `{"events": [...], "release": {...}}`, the
//! release announcement present when the batch carried the process's (see
//! `docs/wire-format.md`); a plain JSON array of events, as older versions
//! wrote, is read too — and is named
//! `{millis:013}-{pid}-{seq:08}-n{occurrences}.json`, so the oldest sort
//! first and a file's occurrences are known without reading it. Files are
//! written to a `.tmp` name and renamed into place, so a crash mid-write
//! never leaves a half file under a real name. The total size is bounded:
//! the oldest files are deleted (and their occurrences counted) to make room.
//! The directory is created `0700` and the files `0600` (Unix): events hold
//! request data. An entry that cannot be read (a directory under a batch's
//! name, no permission, invalid JSON) is set aside — renamed, else removed,
//! else skipped for the rest of the process — and never retried.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use bugstack_core::{Event, ReleaseAnnouncement, Timestamp};
use serde::{Deserialize, Serialize};

use crate::Error;

/// One spooled batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpoolFile {
    pub(crate) path: PathBuf,
    pub(crate) occurrences: u64,
    pub(crate) bytes: u64,
}

/// A spooled batch: its events and the release announcement it carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct SpooledBatch {
    pub(crate) events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) release: Option<ReleaseAnnouncement>,
    /// The batch's id (files of older versions have none: [`Spool::read`]
    /// names them by their file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) batch_id: Option<String>,
}

/// What a spool file may hold: the current object, or an older version's
/// bare array of events.
#[derive(Deserialize)]
#[serde(untagged)]
enum OnDisk {
    Batch {
        events: Vec<Event>,
        #[serde(default)]
        release: Option<ReleaseAnnouncement>,
        #[serde(default)]
        batch_id: Option<String>,
    },
    Events(Vec<Event>),
}

impl From<OnDisk> for SpooledBatch {
    fn from(d: OnDisk) -> Self {
        match d {
            OnDisk::Batch {
                events,
                release,
                batch_id,
            } => SpooledBatch {
                events,
                release,
                batch_id,
            },
            OnDisk::Events(events) => SpooledBatch {
                events,
                release: None,
                batch_id: None,
            },
        }
    }
}

/// What a write did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Written {
    /// Occurrences deleted (oldest files, or the new batch itself when it
    /// alone is over the bound) to keep the spool bounded.
    pub(crate) dropped: u64,
    /// Whether the new batch was stored.
    pub(crate) stored: bool,
}

/// A bounded directory of undelivered batches.
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    seq: AtomicU64,
    /// Unreadable entries that could be neither renamed nor removed: left
    /// out of [`Spool::list`]. Only the worker (and the synchronous panic
    /// path) touch the spool, never a capture.
    skipped: Mutex<HashSet<PathBuf>>,
}

/// Creates `dir` (and missing parents) `0700`, and makes `dir` itself `0700`.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        let mode = fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// Creates `path` for writing, `0600`, failing if it exists.
fn create_private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Spool {
        path: path.to_path_buf(),
        source,
    }
}

impl Spool {
    /// Opens (creating it if needed) a spool directory and checks that it is writable.
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> Result<Self, Error> {
        create_private_dir(dir).map_err(|e| io_err(dir, e))?;
        let probe = dir.join(format!(".probe-{}-{}.tmp", std::process::id(), fastrand::u64(..)));
        let written = create_private_file(&probe).and_then(|mut f| f.write_all(b"ok"));
        let _ = fs::remove_file(&probe);
        written.map_err(|e| io_err(dir, e))?;
        Ok(Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            seq: AtomicU64::new(0),
            skipped: Mutex::new(HashSet::new()),
        })
    }

    /// The spooled batches, oldest first. Unreadable entries are skipped.
    pub(crate) fn list(&self) -> Vec<SpoolFile> {
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let skipped = match self.skipped.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut files: Vec<SpoolFile> = rd
            .filter_map(Result::ok)
            .filter(|entry| !skipped.contains(&entry.path()))
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let occurrences = parse_name(&name)?;
                let bytes = entry.metadata().ok()?.len();
                Some(SpoolFile {
                    path: entry.path(),
                    occurrences,
                    bytes,
                })
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files
    }

    /// Occurrences currently spooled.
    pub(crate) fn occurrences(&self) -> u64 {
        self.list().iter().map(|f| f.occurrences).sum()
    }

    /// Writes one batch atomically (with the release announcement it
    /// carries, if any), first deleting the oldest files as needed to stay
    /// within the size bound.
    pub(crate) fn write(&self, events: &[Event], release: Option<&ReleaseAnnouncement>) -> Result<Written, Error> {
        self.write_with_id(events, release, &crate::batch_id::new())
    }

    /// [`Spool::write`] for a batch whose id is `batch_id` (kept in the
    /// file, so a replay after a restart sends the same id).
    pub(crate) fn write_with_id(
        &self,
        events: &[Event],
        release: Option<&ReleaseAnnouncement>,
        batch_id: &str,
    ) -> Result<Written, Error> {
        let occurrences: u64 = events.iter().map(|e| e.count.max(1)).sum();
        #[derive(Serialize)]
        struct Borrowed<'a> {
            events: &'a [Event],
            #[serde(skip_serializing_if = "Option::is_none")]
            release: Option<&'a ReleaseAnnouncement>,
            batch_id: &'a str,
        }
        let body = serde_json::to_vec(&Borrowed {
            events,
            release,
            batch_id,
        })
        .map_err(|e| io_err(&self.dir, std::io::Error::other(e)))?;
        let size = body.len() as u64;
        if size > self.max_bytes {
            return Ok(Written {
                dropped: occurrences,
                stored: false,
            });
        }
        let mut dropped = 0;
        let existing = self.list();
        let mut total: u64 = existing.iter().map(|f| f.bytes).sum();
        for old in &existing {
            if total + size <= self.max_bytes {
                break;
            }
            if fs::remove_file(&old.path).is_ok() {
                dropped += old.occurrences;
                total = total.saturating_sub(old.bytes);
            }
        }
        let name = format!(
            "{:013}-{}-{:08}-n{}.json",
            Timestamp::now().as_millis(),
            std::process::id(),
            self.seq.fetch_add(1, Relaxed),
            occurrences
        );
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut f = create_private_file(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(&path, e));
        }
        Ok(Written { dropped, stored: true })
    }

    /// Reads a spooled batch. An entry that cannot be read or parsed is
    /// set aside ([`Spool::quarantine`]; never retried) and reported as an
    /// error: its occurrences are lost.
    pub(crate) fn read(&self, file: &SpoolFile) -> Result<SpooledBatch, Error> {
        let parsed = fs::read(&file.path).and_then(|bytes| {
            serde_json::from_slice::<OnDisk>(&bytes)
                .map(SpooledBatch::from)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        });
        // A file of an older version has no id: its name is unique and
        // stable until it is delivered.
        let parsed = parsed.map(|mut b| {
            if b.batch_id.is_none() {
                let name = file.path.file_name().map(|n| n.to_string_lossy().into_owned());
                b.batch_id = Some(format!("spool-{}", name.unwrap_or_default()));
            }
            b
        });
        parsed.map_err(|e| {
            self.quarantine(file, &e);
            io_err(&file.path, e)
        })
    }

    /// Sets an unusable entry aside so that it is never listed again:
    /// renamed to `*.corrupt` (invalid JSON) or `*.unreadable` (kept for
    /// inspection), else removed, else skipped until the process ends.
    fn quarantine(&self, file: &SpoolFile, error: &std::io::Error) {
        let ext = if error.kind() == std::io::ErrorKind::InvalidData {
            "corrupt"
        } else {
            "unreadable"
        };
        if fs::rename(&file.path, file.path.with_extension(ext)).is_ok()
            || fs::remove_file(&file.path).is_ok()
            || fs::remove_dir_all(&file.path).is_ok()
        {
            return;
        }
        let mut skipped = match self.skipped.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        skipped.insert(file.path.clone());
    }

    /// Deletes a delivered batch.
    pub(crate) fn remove(&self, file: &SpoolFile) {
        let _ = fs::remove_file(&file.path);
    }
}

/// The occurrence count in a spool file name, or `None` for other files.
fn parse_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".json")?;
    if name.starts_with('.') {
        return None;
    }
    let (_, n) = stem.rsplit_once("-n")?;
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bugstack_core::{EventKind, Level};

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "bugstack-spool-{tag}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn events(n: usize, count: u64) -> Vec<Event> {
        (0..n)
            .map(|i| {
                let mut e = Event::new(EventKind::Error, Level::Error, format!("e{i}"), Timestamp::now());
                e.count = count;
                e
            })
            .collect()
    }

    #[test]
    fn round_trip_in_order() {
        let dir = tmpdir("rt");
        let s = Spool::open(&dir, 1 << 20).unwrap();
        s.write(&events(2, 3), None).unwrap();
        s.write(&events(1, 1), None).unwrap();
        let files = s.list();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].occurrences, 6);
        assert_eq!(s.occurrences(), 7);
        assert_eq!(s.read(&files[0]).unwrap().events.len(), 2);
        s.remove(&files[0]);
        assert_eq!(s.list().len(), 1);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_release_announcement_is_kept_and_old_bare_arrays_still_read() {
        let dir = tmpdir("release");
        let s = Spool::open(&dir, 1 << 20).unwrap();
        let a = ReleaseAnnouncement::new("shop@1", Timestamp::from_millis(3));
        s.write(&[], Some(&a)).unwrap();
        let old = serde_json::to_vec(&events(1, 2)).unwrap();
        fs::write(dir.join("9999999999999-1-00000000-n2.json"), old).unwrap();
        let files = s.list();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].occurrences, 0);
        let first = s.read(&files[0]).unwrap();
        assert_eq!((first.events.len(), first.release), (0, Some(a)));
        let second = s.read(&files[1]).unwrap();
        assert_eq!((second.events.len(), second.release), (1, None));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_spooled_batch_keeps_its_id_and_an_old_file_gets_a_stable_one() {
        let dir = tmpdir("ids");
        let s = Spool::open(&dir, 1 << 20).unwrap();
        s.write_with_id(&events(1, 1), None, "batch-7").unwrap();
        let old = serde_json::to_vec(&events(1, 2)).unwrap();
        fs::write(dir.join("9999999999999-1-00000000-n2.json"), old).unwrap();
        let files = s.list();
        assert_eq!(s.read(&files[0]).unwrap().batch_id.as_deref(), Some("batch-7"));
        let legacy = s.read(&files[1]).unwrap().batch_id;
        assert_eq!(legacy, s.read(&files[1]).unwrap().batch_id, "the same on every replay");
        assert_eq!(legacy.as_deref(), Some("spool-9999999999999-1-00000000-n2.json"));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn bounded_size_drops_oldest_and_counts() {
        let dir = tmpdir("bound");
        // A file holds the batch's events and its id (32 hex digits).
        let one = serde_json::to_vec(&serde_json::json!({ "events": events(1, 5), "batch_id": crate::batch_id::new() }))
            .unwrap()
            .len() as u64;
        let s = Spool::open(&dir, one * 3 + one / 2).unwrap();
        let mut dropped = 0;
        for _ in 0..10 {
            let w = s.write(&events(1, 5), None).unwrap();
            assert!(w.stored);
            dropped += w.dropped;
        }
        assert_eq!(s.list().len(), 3);
        assert_eq!(dropped, 7 * 5);
        let big = s.write(&events(50, 1), None).unwrap();
        assert!(!big.stored);
        assert_eq!(big.dropped, 50);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn corrupt_and_temporary_files_are_not_replayed() {
        let dir = tmpdir("corrupt");
        let s = Spool::open(&dir, 1 << 20).unwrap();
        fs::write(dir.join("0000000000001-1-00000000-n4.json"), b"{not json").unwrap();
        fs::write(dir.join(".0000000000002-1-00000001-n1.json.tmp"), b"[]").unwrap();
        let files = s.list();
        assert_eq!(files.len(), 1);
        assert!(s.read(&files[0]).is_err());
        assert!(s.list().is_empty(), "corrupt file set aside");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_entry_that_cannot_be_read_is_set_aside() {
        let dir = tmpdir("unreadable");
        let s = Spool::open(&dir, 1 << 20).unwrap();
        // A directory where a batch file is expected (`read` fails: EISDIR).
        fs::create_dir(dir.join("0000000000001-1-00000000-n4.json")).unwrap();
        s.write(&events(1, 2), None).unwrap();
        let files = s.list();
        assert_eq!(files.len(), 2);
        assert!(s.read(&files[0]).is_err());
        let files = s.list();
        assert_eq!(files.len(), 1, "set aside: {files:?}");
        assert_eq!(s.read(&files[0]).unwrap().events.len(), 1);
        assert!(dir.join("0000000000001-1-00000000-n4.unreadable").is_dir());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_entry_that_cannot_be_moved_is_skipped() {
        let dir = tmpdir("skip");
        let s = Spool::open(&dir, 1 << 20).unwrap();
        let file = SpoolFile {
            path: dir.join("0000000000001-1-00000000-n4.json"),
            occurrences: 4,
            bytes: 0,
        };
        // Nothing there: neither rename nor removal can succeed.
        s.quarantine(&file, &std::io::Error::other("gone"));
        fs::write(&file.path, b"[]").unwrap();
        assert!(s.list().is_empty(), "skipped for the rest of the process");
        let _ = fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn directory_is_private_and_files_too() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tmpdir("mode");
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let nested = dir.join("a").join("b");
        let s = Spool::open(&nested, 1 << 20).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(&dir.join("a")), 0o700, "created parents too");
        s.write(&events(1, 1), None).unwrap();
        let files = s.list();
        assert_eq!(mode(&files[0].path), 0o600);
        // An existing, wider directory is narrowed.
        Spool::open(&dir, 1 << 20).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn unwritable_directory_is_an_error() {
        let file = tmpdir("file");
        fs::write(&file, b"x").unwrap();
        let err = Spool::open(&file.join("sub"), 10).unwrap_err();
        assert!(err.to_string().contains("spool directory"), "{err}");
        let _ = fs::remove_file(&file);
    }
}
