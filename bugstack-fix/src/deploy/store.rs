//! Where the local forge keeps its pull requests: the [`PullRequestStore`]
//! trait and a JSON-file implementation ([`JsonPullRequestStore`]). The
//! collector provides an SQLite implementation of the same trait.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bugstack_core::Timestamp;
use serde::{Deserialize, Serialize};

use super::forge::{NewPullRequest, PullRequest};
use crate::{Error, PullRequestState, Result};

/// Storage for local pull requests. Implementations must be safe to share
/// between tasks; numbers are assigned by the store, starting at 1.
pub trait PullRequestStore: Send + Sync {
    /// Records a new open pull request and returns it with its number.
    /// `url_for` makes its address from the assigned number.
    fn create(&self, new: &NewPullRequest, url_for: &dyn Fn(u64) -> String) -> Result<PullRequest>;

    /// Pull request `number`.
    fn get(&self, number: u64) -> Result<Option<PullRequest>>;

    /// The open pull request whose head is `branch`.
    fn find_open(&self, branch: &str) -> Result<Option<PullRequest>>;

    /// Applies `change` to pull request `number` and saves it (the
    /// `updated_at` stamp is set by the store); the updated record.
    fn update(&self, number: u64, change: &mut dyn FnMut(&mut PullRequest)) -> Result<PullRequest>;

    /// Every pull request, by number.
    fn list(&self) -> Result<Vec<PullRequest>>;
}

/// The JSON file's layout.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PullsFile {
    version: u32,
    next_number: u64,
    pulls: Vec<PullRequest>,
}

const PULLS_FILE_VERSION: u32 = 1;

/// Pull requests in `<dir>/pulls.json`. Every change rewrites the file
/// atomically (temporary file + rename), under a mutex, so concurrent use
/// within one process is safe. A file that cannot be read is an error and is
/// never overwritten.
#[derive(Debug)]
pub struct JsonPullRequestStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl JsonPullRequestStore {
    /// The store in `dir` (created when missing).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let store = JsonPullRequestStore {
            path: dir.join("pulls.json"),
            lock: Mutex::new(()),
        };
        store.load()?;
        Ok(store)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> Result<PullsFile> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(PullsFile {
                    version: PULLS_FILE_VERSION,
                    next_number: 1,
                    pulls: Vec::new(),
                })
            }
            Err(e) => return Err(Error::io(format!("reading {}", self.path.display()), e)),
        };
        let file: PullsFile = serde_json::from_str(&text).map_err(|e| {
            Error::Deploy(format!(
                "{} is not a valid pull request store ({e}); it was left untouched",
                self.path.display()
            ))
        })?;
        if file.version != PULLS_FILE_VERSION {
            return Err(Error::Deploy(format!(
                "{} has version {}, this bugstack reads version {PULLS_FILE_VERSION}",
                self.path.display(),
                file.version
            )));
        }
        Ok(file)
    }

    fn save(&self, file: &PullsFile) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let text = serde_json::to_string_pretty(file)
            .map_err(|e| Error::Deploy(format!("cannot serialize pull requests: {e}")))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| Error::io(format!("creating a temporary file in {}", dir.display()), e))?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| Error::io(format!("writing {}", tmp.path().display()), e))?;
        tmp.persist(&self.path)
            .map_err(|e| Error::io(format!("replacing {}", self.path.display()), e.error))?;
        Ok(())
    }

    fn with_file<T>(&self, f: impl FnOnce(&mut PullsFile) -> Result<(T, bool)>) -> Result<T> {
        let _guard = self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut file = self.load()?;
        let (out, changed) = f(&mut file)?;
        if changed {
            self.save(&file)?;
        }
        Ok(out)
    }
}

impl PullRequestStore for JsonPullRequestStore {
    fn create(&self, new: &NewPullRequest, url_for: &dyn Fn(u64) -> String) -> Result<PullRequest> {
        self.with_file(|file| {
            let number = file.next_number.max(1);
            file.next_number = number + 1;
            let now = Timestamp::now();
            let pr = PullRequest {
                number,
                url: url_for(number),
                title: new.title.clone(),
                body: new.body.clone(),
                branch: new.branch.clone(),
                base: new.base.clone(),
                head_sha: new.head_sha.clone(),
                state: PullRequestState::Open,
                decision: new.decision.clone(),
                labels: Vec::new(),
                comments: Vec::new(),
                merge_commit: None,
                created_at: now,
                updated_at: now,
            };
            file.pulls.push(pr.clone());
            Ok((pr, true))
        })
    }

    fn get(&self, number: u64) -> Result<Option<PullRequest>> {
        self.with_file(|file| Ok((file.pulls.iter().find(|p| p.number == number).cloned(), false)))
    }

    fn find_open(&self, branch: &str) -> Result<Option<PullRequest>> {
        self.with_file(|file| {
            let pr = file
                .pulls
                .iter()
                .rev()
                .find(|p| p.branch == branch && p.state == PullRequestState::Open)
                .cloned();
            Ok((pr, false))
        })
    }

    fn update(&self, number: u64, change: &mut dyn FnMut(&mut PullRequest)) -> Result<PullRequest> {
        self.with_file(|file| {
            let pr = file
                .pulls
                .iter_mut()
                .find(|p| p.number == number)
                .ok_or_else(|| Error::Deploy(format!("no local pull request #{number}")))?;
            change(pr);
            pr.number = number;
            pr.updated_at = Timestamp::now();
            Ok((pr.clone(), true))
        })
    }

    fn list(&self) -> Result<Vec<PullRequest>> {
        self.with_file(|file| Ok((file.pulls.clone(), false)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_pr(branch: &str) -> NewPullRequest {
        NewPullRequest {
            title: "t".into(),
            body: "b".into(),
            branch: branch.into(),
            base: "main".into(),
            head_sha: "abc".into(),
            decision: None,
        }
    }

    #[test]
    fn numbers_persist_and_open_prs_are_found_by_branch() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonPullRequestStore::open(dir.path()).unwrap();
        let a = store
            .create(&new_pr("bugstack/fix-a"), &|n| format!("local#{n}"))
            .unwrap();
        let b = store
            .create(&new_pr("bugstack/fix-b"), &|n| format!("local#{n}"))
            .unwrap();
        assert_eq!((a.number, b.number, b.url.as_str()), (1, 2, "local#2"));
        store.update(1, &mut |p| p.state = PullRequestState::Merged).unwrap();
        let reopened = JsonPullRequestStore::open(dir.path()).unwrap();
        assert_eq!(reopened.find_open("bugstack/fix-a").unwrap(), None);
        assert_eq!(reopened.find_open("bugstack/fix-b").unwrap().unwrap().number, 2);
        assert_eq!(reopened.create(&new_pr("x"), &|n| n.to_string()).unwrap().number, 3);
        assert!(reopened.update(9, &mut |_| {}).is_err());
    }

    #[test]
    fn concurrent_creates_get_distinct_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(JsonPullRequestStore::open(dir.path()).unwrap());
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || {
                    store
                        .create(&new_pr(&format!("bugstack/fix-{i}")), &|n| n.to_string())
                        .unwrap()
                        .number
                })
            })
            .collect();
        let mut numbers: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
        assert_eq!(store.list().unwrap().len(), 8);
    }

    #[test]
    fn a_corrupt_file_is_an_error_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pulls.json"), "{not json").unwrap();
        let err = JsonPullRequestStore::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("pulls.json"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("pulls.json")).unwrap(),
            "{not json"
        );
    }
}
