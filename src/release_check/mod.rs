//! After the merge: the serve process's background work that classifies
//! the releases a fixed incident is seen in against its fix, by git
//! ancestry, and raises regressions.
//!
//! Ingest stays fast and never runs git: it only records occurrences (and
//! regresses at once on a release already known to contain the fix, by
//! name). This task then, every `poll`:
//! 1. asks the store for releases of `fixed` / `verified` incidents not yet
//!    classified ([`IncidentStore::releases_to_check`]) — none most of the
//!    time, and then it does nothing else;
//! 2. fetches the repository's remote once ([`ReleaseResolver::fetch`]);
//! 3. resolves each release to a commit ([`ReleaseResolver::resolve`]:
//!    commit id, tag, `[releases]` pattern), and the fix's release to the
//!    fix commit when the merge did not record it;
//! 4. records the verdict ([`IncidentStore::record_release_verdict`]): a
//!    release whose commit has the fix commit as an ancestor makes the
//!    incident `regressed` with a new fix job (and joins its releases with
//!    the fix, so later occurrences regress at ingest); an older release is
//!    counted and leaves it `fixed`; an unknown one is noted (shown by
//!    `bugstack show`) and checked again after `recheck_unknown_after`.
//!
//! 5. verifies ([`IncidentStore::verify_fixed`]): a `fixed` incident with a
//!    live release (announced by an SDK) containing its fix that sent no
//!    occurrence for `verify_window` becomes `verified`.
//!
//! Live releases announced since the fix are classified too (step 1), so
//! a release the incident was never seen in can verify it.
//! Each verdict is cached in the store per incident and release, so a
//! release is classified once per fix.

mod resolve;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bugstack_core::Timestamp;
use tokio::sync::{watch, Notify};

pub use resolve::{is_plain_ref_name, ReleaseResolver, Resolution};

use crate::store::{IncidentStore, ReleaseCheck, ReleaseVerdict, ReleaseVerdictRecord};
use crate::terminal::sanitize;
use crate::{Error, Result};

/// How the release checks run.
#[derive(Debug, Clone)]
pub struct ReleaseCheckConfig {
    /// Most releases classified in one pass.
    pub batch: usize,
    /// Time between passes.
    pub poll: Duration,
    /// When an `unknown` release is looked up again.
    pub recheck_unknown_after: Duration,
    /// How long a live release containing the fix must stay silent for
    /// the incident to be verified (`[verify] window`).
    pub verify_window: Duration,
}

impl Default for ReleaseCheckConfig {
    fn default() -> Self {
        ReleaseCheckConfig {
            batch: 50,
            poll: Duration::from_secs(1),
            recheck_unknown_after: Duration::from_secs(300),
            verify_window: Duration::from_secs(30 * 60),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassSummary {
    /// Releases classified.
    pub checked: usize,
    /// Incidents that became `regressed`.
    pub regressed: Vec<i64>,
    /// Incidents that became `verified`.
    pub verified: Vec<i64>,
}

/// Classifies releases against fixes for one store and repository.
pub struct ReleaseChecker {
    store: Arc<dyn IncidentStore>,
    resolver: ReleaseResolver,
    config: ReleaseCheckConfig,
    /// Only this project's incidents (`None`: every project's).
    project: Option<i64>,
}

/// Runs a blocking store call off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task(format!("release check: {e}")))?
}

impl ReleaseChecker {
    /// A checker over `store`, resolving releases with `resolver`.
    pub fn new(store: Arc<dyn IncidentStore>, resolver: ReleaseResolver, config: ReleaseCheckConfig) -> Self {
        ReleaseChecker {
            store,
            resolver,
            config,
            project: None,
        }
    }

    /// The same checker, classifying only the releases of `project`'s
    /// incidents (whose repository the resolver reads).
    pub fn for_project(mut self, project: i64) -> Self {
        self.project = Some(project);
        self
    }

    /// One pass (see the module docs).
    pub async fn pass(&self, now: Timestamp) -> Result<PassSummary> {
        let store = self.store.clone();
        let (batch, recheck, project) = (self.config.batch, self.config.recheck_unknown_after, self.project);
        let checks = blocking(move || store.project_releases_to_check(project, batch, recheck, now)).await?;
        let mut summary = PassSummary::default();
        if !checks.is_empty() {
            self.classify_all(checks, &mut summary).await?;
        }
        let store = self.store.clone();
        let window = self.config.verify_window;
        summary.verified = blocking(move || store.verify_fixed(window, now)).await?;
        for id in &summary.verified {
            println!("bugstack: incident {id} verified: a live release with the fix stayed silent");
        }
        Ok(summary)
    }

    /// Classifies `checks` after one fetch.
    async fn classify_all(&self, checks: Vec<ReleaseCheck>, summary: &mut PassSummary) -> Result<()> {
        let fetch_note = self.resolver.fetch().await.err();
        let mut cache: HashMap<String, Resolution> = HashMap::new();
        for check in checks {
            let verdict = self.classify(&check, &mut cache, fetch_note.as_deref()).await?;
            let store = self.store.clone();
            let incident = check.incident_id;
            let record = verdict.clone();
            let regressed = blocking(move || store.record_release_verdict(incident, &record)).await?;
            summary.checked += 1;
            if regressed {
                println!(
                    "bugstack: incident {incident} regressed: release {} contains its fix",
                    sanitize(&verdict.release, 60)
                );
                summary.regressed.push(incident);
            }
        }
        Ok(())
    }

    /// Resolves `name`, once per pass.
    async fn resolve_cached(&self, name: &str, cache: &mut HashMap<String, Resolution>) -> Resolution {
        if let Some(r) = cache.get(name) {
            return r.clone();
        }
        let r = self.resolver.resolve(name).await;
        cache.insert(name.to_string(), r.clone());
        r
    }

    /// The fix commit of `check`'s incident: recorded, or resolved from
    /// its fixing release (and then recorded).
    async fn fix_commit(
        &self,
        check: &ReleaseCheck,
        cache: &mut HashMap<String, Resolution>,
    ) -> Result<std::result::Result<String, String>> {
        if let Some(c) = &check.fix_commit {
            return Ok(Ok(c.clone()));
        }
        let Some(fixed_in) = &check.fixed_in_release else {
            return Ok(Err("the fix's release is not recorded".into()));
        };
        match self.resolve_cached(fixed_in, cache).await {
            Resolution::Commit { commit, .. } => {
                let store = self.store.clone();
                let (id, c) = (check.incident_id, commit.clone());
                blocking(move || store.record_fix_commit(id, &c)).await?;
                Ok(Ok(commit))
            }
            Resolution::Unknown(why) => Ok(Err(format!("the fix's release {fixed_in}: {why}"))),
        }
    }

    /// The verdict on one release.
    async fn classify(
        &self,
        check: &ReleaseCheck,
        cache: &mut HashMap<String, Resolution>,
        fetch_note: Option<&str>,
    ) -> Result<ReleaseVerdictRecord> {
        let with_fetch = |note: String| match fetch_note {
            Some(f) => format!("{note} ({f})"),
            None => note,
        };
        let record = |verdict: ReleaseVerdict, note: String, commit: Option<String>| ReleaseVerdictRecord {
            release: check.release.clone(),
            verdict,
            commit,
            note,
            checked_at: Timestamp::now(),
        };
        let unknown = |note: String, commit: Option<String>| record(ReleaseVerdict::Unknown, with_fetch(note), commit);
        let fix = match self.fix_commit(check, cache).await? {
            Ok(fix) => fix,
            Err(why) => return Ok(unknown(why, None)),
        };
        let (commit, how) = match self.resolve_cached(&check.release, cache).await {
            Resolution::Commit { commit, how } => (commit, how),
            Resolution::Unknown(why) => return Ok(unknown(why, None)),
        };
        let short_fix = fix.get(..12).unwrap_or(&fix);
        Ok(match self.resolver.contains(&commit, &fix).await {
            Ok(true) => record(
                ReleaseVerdict::ContainsFix,
                format!("{how}; contains the fix commit {short_fix}"),
                Some(commit),
            ),
            Ok(false) => record(
                ReleaseVerdict::Older,
                format!("{how}; does not contain the fix commit {short_fix} (an older deployment)"),
                Some(commit),
            ),
            Err(why) => unknown(why, Some(commit)),
        })
    }
}

/// Runs [`ReleaseChecker::pass`] every `poll` until `stop` turns true,
/// waking the job loop (`jobs_wake`) when a regression queued a job. A
/// failed pass is printed and retried at the next poll.
pub async fn run_release_checks(checker: ReleaseChecker, jobs_wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    let poll = checker.config.poll;
    loop {
        match checker.pass(Timestamp::now()).await {
            Ok(s) if !s.regressed.is_empty() => jobs_wake.notify_one(),
            Ok(_) => {}
            Err(e) => eprintln!(
                "bugstack: release check failed (retried in {}s): {e}",
                poll.as_secs().max(1)
            ),
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
    }
}
