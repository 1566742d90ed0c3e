//! The store methods both backends answer the same way: each is one call of
//! a shared function of `crate::store` (`reads`, `flow`, `ingest`,
//! `releases`, ...) in the backend's read or write transaction
//! (`self.read`, `self.write`), which both backends' connections run
//! through [`Sql`](super::sql::Sql). A backend's `impl IncidentStore`
//! invokes [`shared_store_methods!`] and writes only the methods where it
//! differs; its `forge` module invokes [`shared_pull_request_store!`] and
//! [`shared_forge_store!`]. Names the macros use unqualified (types,
//! `Result`) resolve where they are invoked.

/// Expands to the [`IncidentStore`](super::IncidentStore) methods shared by
/// the SQLite and Postgres backends (see the module docs).
macro_rules! shared_store_methods {
    () => {
        fn set_triggers(&self, triggers: Triggers) {
            Self::set_triggers(self, triggers);
        }

        fn set_max_queued_jobs(&self, cap: usize) {
            Self::set_max_queued_jobs(self, cap);
        }

        fn set_project_triggers(&self, project: i64, triggers: Triggers) {
            self.triggers.set_project(project, triggers);
        }

        fn add_project(&self, project: &NewProject, now: Timestamp) -> Result<ProjectRecord> {
            self.write(|tx| crate::store::project_rows::add(tx, project, now))
        }

        fn projects(&self) -> Result<Vec<ProjectRecord>> {
            self.read(|tx| crate::store::project_rows::list(tx))
        }

        fn project_by_token_hash(&self, token_hash: &str) -> Result<Option<ProjectRecord>> {
            self.read(|tx| crate::store::project_rows::by_token_hash(tx, token_hash))
        }

        fn ingest(&self, events: &[Event], received_at: Timestamp) -> Result<IngestSummary> {
            let triggers = self.triggers.for_project(DEFAULT_PROJECT_ID);
            self.write(|tx| crate::store::ingest::ingest_in(tx, DEFAULT_PROJECT_ID, events, received_at, &triggers, None))
        }

        fn ingest_batches(&self, batches: &[Vec<Event>], received_at: Timestamp) -> Result<Vec<IngestSummary>> {
            let triggers = self.triggers.for_project(DEFAULT_PROJECT_ID);
            self.write(|tx| {
                batches
                    .iter()
                    .map(|events| crate::store::ingest::ingest_in(tx, DEFAULT_PROJECT_ID, events, received_at, &triggers, None))
                    .collect()
            })
        }

        fn ingest_with_quotas(&self, batches: &[IngestBatch], received_at: Timestamp) -> Result<Vec<IngestSummary>> {
            self.write(|tx| {
                if batches.iter().any(|b| b.batch_id.is_some()) {
                    crate::store::batches::forget_old(tx, received_at)?;
                }
                batches
                    .iter()
                    .map(|b| {
                        if let Some(id) = &b.batch_id {
                            let source = b.quota.as_ref().map_or("", |q| q.source.as_str());
                            if !crate::store::batches::remember(tx, source, id, received_at)? {
                                return Ok(IngestSummary {
                                    duplicate: true,
                                    ..IngestSummary::default()
                                });
                            }
                        }
                        if let Some(r) = &b.release {
                            crate::store::releases::record_seen(
                                tx,
                                b.project.unwrap_or(DEFAULT_PROJECT_ID),
                                &r.name,
                                received_at,
                                r.dependencies.as_deref(),
                            )?;
                        }
                        let project = b.project.unwrap_or(DEFAULT_PROJECT_ID);
                        let triggers = self.triggers.for_project(project);
                        crate::store::ingest::ingest_in(tx, project, &b.events, received_at, &triggers, b.quota.as_ref())
                    })
                    .collect()
            })
        }

        fn incidents(&self) -> Result<Vec<IncidentRecord>> {
            self.read(|tx| crate::store::reads::incidents(tx))
        }

        fn incidents_page(
            &self,
            project: Option<i64>,
            limit: usize,
            after: Option<IncidentCursor>,
        ) -> Result<Vec<IncidentRecord>> {
            self.read(|tx| crate::store::reads::incidents_page(tx, project, limit, after))
        }

        fn incident(&self, id: i64) -> Result<IncidentRecord> {
            self.read(|tx| crate::store::reads::incident(tx, id))
        }

        fn transition(&self, id: i64, to: Status, cause: &Cause) -> Result<IncidentRecord> {
            if to == Status::Fixed {
                return Err(Error::Config(
                    "an incident becomes fixed when its pull request merges, or by hand with `bugstack resolve ID --release R` (it needs the fixing release)".into(),
                ));
            }
            let now = Timestamp::now();
            self.write(|tx| crate::store::flow::transition(tx, id, to, now, cause))
        }

        fn retry(&self, id: i64, cause: &Cause, now: Timestamp) -> Result<FixJob> {
            self.write(|tx| crate::store::flow::retry(tx, id, now, cause))
        }

        fn resolve(&self, id: i64, release: &str, cause: &Cause, now: Timestamp) -> Result<IncidentRecord> {
            self.write(|tx| crate::store::flow::resolve(tx, id, release, now, cause))
        }

        fn timeline(&self, id: i64) -> Result<Vec<TimelineEntry>> {
            self.read(|tx| {
                crate::store::reads::incident(tx, id)?;
                crate::store::reads::timeline(tx, id)
            })
        }

        fn project_releases_to_check(
            &self,
            project: Option<i64>,
            limit: usize,
            recheck_unknown_after: Duration,
            now: Timestamp,
        ) -> Result<Vec<ReleaseCheck>> {
            self.read(|tx| crate::store::release_checks::releases_to_check(tx, project, limit, recheck_unknown_after, now))
        }

        fn record_fix_commit(&self, id: i64, commit: &str) -> Result<()> {
            self.write(|tx| crate::store::flow::record_fix_commit(tx, id, commit))
        }

        fn record_release_verdict(&self, incident: i64, verdict: &ReleaseVerdictRecord) -> Result<bool> {
            let cap = self.triggers.cap();
            self.write(|tx| crate::store::flow::record_release_verdict(tx, incident, verdict, cap))
        }

        fn verify_fixed(&self, window: Duration, now: Timestamp) -> Result<Vec<i64>> {
            // Nothing due most of the time: found in a read first, without
            // taking the writer (this runs every poll of `serve`'s release checks).
            if self
                .read(|tx| crate::store::release_checks::due_for_verification(tx, window, now))?
                .is_empty()
            {
                return Ok(Vec::new());
            }
            self.write(|tx| crate::store::flow::verify_fixed(tx, window, now))
        }

        fn add_release_with_fix(&self, id: i64, release: &str) -> Result<()> {
            self.write(|tx| crate::store::flow::add_release_with_fix(tx, id, release))
        }

        fn claim_project_job(
            &self,
            projects: Option<&[i64]>,
            owner: &str,
            lease: Duration,
            now: Timestamp,
        ) -> Result<Option<ClaimedJob>> {
            let cap = self.triggers.cap();
            self.write(|tx| crate::store::flow::claim_next(tx, projects, owner, lease, now, cap))
        }

        fn claim_incident_job(&self, incident: i64, owner: &str, lease: Duration, now: Timestamp) -> Result<ClaimedJob> {
            self.write(|tx| crate::store::flow::claim_incident(tx, incident, owner, lease, now))
        }

        fn renew_lease(&self, job: i64, owner: &str, lease: Duration, now: Timestamp) -> Result<()> {
            self.write(|tx| crate::store::flow::renew(tx, job, owner, lease, now))
        }

        fn complete_job(&self, job: i64, owner: &str, outcome: &FixOutcome, now: Timestamp) -> Result<FixRun> {
            self.write(|tx| crate::store::flow::complete(tx, job, owner, outcome, now))
        }

        fn fail_job(&self, job: i64, owner: &str, error: &str, retry_after: Duration, now: Timestamp) -> Result<JobState> {
            self.write(|tx| crate::store::flow::fail(tx, job, owner, error, retry_after, now))
        }

        fn release_job(&self, job: i64, owner: &str, now: Timestamp) -> Result<()> {
            self.write(|tx| crate::store::flow::release(tx, job, owner, now))
        }

        fn jobs(&self) -> Result<Vec<FixJob>> {
            self.read(|tx| crate::store::reads::jobs(tx, None))
        }

        fn runs(&self, incident: i64) -> Result<Vec<FixRun>> {
            self.read(|tx| crate::store::reads::runs(tx, incident))
        }

        fn pull_requests(&self) -> Result<Vec<PullRequestRecord>> {
            self.read(|tx| crate::store::reads::pull_requests(tx, None))
        }

        fn merge_pull_request(
            &self,
            number: i64,
            release: &str,
            cause: &Cause,
            now: Timestamp,
        ) -> Result<PullRequestRecord> {
            self.write(|tx| crate::store::flow::set_pull_request_state(tx, number, PullRequestState::Merged, Some(release), cause, now))
        }

        fn close_pull_request(&self, number: i64, cause: &Cause, now: Timestamp) -> Result<PullRequestRecord> {
            self.write(|tx| crate::store::flow::set_pull_request_state(tx, number, PullRequestState::Closed, None, cause, now))
        }

        fn totals(&self) -> Result<Totals> {
            self.read(|tx| crate::store::reads::totals(tx))
        }

        fn record_release_seen(&self, name: &str, at: Timestamp, dependencies: Option<&[Dependency]>) -> Result<()> {
            self.write(|tx| crate::store::releases::record_seen(tx, DEFAULT_PROJECT_ID, name, at, dependencies))
        }

        fn release(&self, name: &str) -> Result<Option<ReleaseRecord>> {
            self.read(|tx| crate::store::releases::release(tx, DEFAULT_PROJECT_ID, name))
        }

        fn releases(&self) -> Result<Vec<ReleaseRecord>> {
            self.read(|tx| crate::store::releases::releases(tx))
        }

        fn search_incidents(&self, filter: &IncidentFilter) -> Result<IncidentSearch> {
            self.read(|tx| crate::store::hours::search(tx, filter))
        }

        fn histogram(&self, id: i64, since: Timestamp) -> Result<Vec<HourCount>> {
            self.read(|tx| {
                crate::store::reads::incident(tx, id)?;
                crate::store::hours::histogram(tx, id, since)
            })
        }
    };
}

/// Implements [`ForgeStore`](super::ForgeStore) for backend type `$store`,
/// over [`super::forge_sync`] in its read or write transaction.
macro_rules! shared_forge_store {
    ($store:ty) => {
        impl crate::store::ForgeStore for $store {
            fn into_incident_store(self: std::sync::Arc<Self>) -> std::sync::Arc<dyn crate::store::IncidentStore> {
                self
            }

            fn into_pull_request_store(
                self: std::sync::Arc<Self>,
            ) -> std::sync::Arc<dyn bugstack_fix::PullRequestStore> {
                self
            }

            fn forge_pull_requests(&self) -> Result<Vec<ForgePullRequest>> {
                self.read(|tx| crate::store::forge_sync::forge_pull_requests(tx))
            }

            fn pull_request_by_forge_number(&self, forge_number: i64) -> Result<Option<i64>> {
                self.read(|tx| crate::store::forge_sync::pull_request_by_forge_number(tx, forge_number))
            }

            fn forge_number_of(&self, number: i64) -> Result<Option<i64>> {
                self.read(|tx| crate::store::forge_sync::forge_number_of(tx, number))
            }

            fn set_pull_request_etag(&self, number: i64, etag: &str) -> Result<()> {
                self.write(|tx| crate::store::forge_sync::set_pull_request_etag(tx, number, etag))
            }

            fn rejected_patches(&self, incident: i64) -> Result<std::collections::BTreeSet<String>> {
                self.read(|tx| crate::store::forge_sync::rejected_patches(tx, incident))
            }

            fn apply_forge_change(
                &self,
                number: i64,
                change: &ForgeChange,
                cause: &Cause,
                now: Timestamp,
            ) -> Result<ForgeSync> {
                self.write(|tx| {
                    let raw = crate::store::reads::pull_request(tx, number, false)?
                        .ok_or(crate::Error::PullRequestNotFound(number))?;
                    let want = match change {
                        ForgeChange::Merged { .. } => PullRequestState::Merged,
                        ForgeChange::Closed => PullRequestState::Closed,
                    };
                    if crate::store::types::parse_pull_request_state(&raw.state)? == want {
                        return Ok(ForgeSync::Unchanged(raw.into_record()?));
                    }
                    let record = match change {
                        ForgeChange::Merged { commit } => {
                            crate::store::flow::set_pull_request_state(
                                tx,
                                number,
                                PullRequestState::Merged,
                                Some(commit),
                                cause,
                                now,
                            )?;
                            crate::store::forge_sync::record_merge_commit(tx, number, commit)?;
                            crate::store::reads::pull_request(tx, number, false)?
                                .ok_or(crate::Error::PullRequestNotFound(number))?
                                .into_record()?
                        }
                        ForgeChange::Closed => crate::store::flow::set_pull_request_state(
                            tx,
                            number,
                            PullRequestState::Closed,
                            None,
                            cause,
                            now,
                        )?,
                    };
                    Ok(ForgeSync::Applied(record))
                })
            }
        }
    };
}

/// Expands to the local forge's
/// [`PullRequestStore`](bugstack_fix::PullRequestStore) for backend type
/// `$store`: reads over [`super::forge`] in its read transaction, writes
/// through the shared write paths of [`super::flow`] in its write
/// transaction, store errors reported as the forge's.
macro_rules! shared_pull_request_store {
    ($store:ty) => {
        impl bugstack_fix::PullRequestStore for $store {
            fn create(
                &self,
                new: &bugstack_fix::NewPullRequest,
                url_for: &dyn Fn(u64) -> String,
            ) -> bugstack_fix::Result<bugstack_fix::PullRequest> {
                self.write(|tx| crate::store::flow::create_pull_request(tx, new, url_for))
                    .map_err(crate::store::convert::forge_error)
            }

            fn get(&self, number: u64) -> bugstack_fix::Result<Option<bugstack_fix::PullRequest>> {
                self.read(|tx| crate::store::forge::get(tx, number))
                    .map_err(crate::store::convert::forge_error)
            }

            fn find_open(&self, branch: &str) -> bugstack_fix::Result<Option<bugstack_fix::PullRequest>> {
                self.read(|tx| crate::store::forge::find_open(tx, branch))
                    .map_err(crate::store::convert::forge_error)
            }

            fn update(
                &self,
                number: u64,
                change: &mut dyn FnMut(&mut bugstack_fix::PullRequest),
            ) -> bugstack_fix::Result<bugstack_fix::PullRequest> {
                self.write(|tx| crate::store::flow::update_pull_request(tx, number, &mut *change))
                    .map_err(crate::store::convert::forge_error)
            }

            fn list(&self) -> bugstack_fix::Result<Vec<bugstack_fix::PullRequest>> {
                self.read(|tx| crate::store::forge::list(tx))
                    .map_err(crate::store::convert::forge_error)
            }
        }
    };
}
