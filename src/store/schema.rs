//! Versioned schema migrations, tracked in SQLite's `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`. Each runs in
//! its own transaction together with the version bump, so a crash mid-upgrade
//! leaves the previous version intact. Migrations are append-only: never edit
//! one that has shipped, add a new one.
//!
//! They run with foreign-key enforcement off (SQLite's documented way to
//! rebuild a table), and each is checked with `PRAGMA foreign_key_check`
//! before it commits; the store turns enforcement on afterwards.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::{Error, Result};

/// The migrations, oldest first.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: incidents, samples, releases, jobs, runs, pull requests, totals.
    r#"
    CREATE TABLE incidents (
        id               INTEGER PRIMARY KEY,
        fingerprint      TEXT    NOT NULL UNIQUE,
        title            TEXT    NOT NULL,
        kind             TEXT    NOT NULL,
        level            TEXT    NOT NULL,
        status           TEXT    NOT NULL,
        count            INTEGER NOT NULL,
        first_seen       INTEGER NOT NULL,
        last_seen        INTEGER NOT NULL,
        fixed_in_release TEXT,
        representative   TEXT    NOT NULL,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
    );
    CREATE INDEX incidents_last_seen ON incidents(last_seen);

    CREATE TABLE incident_releases (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        release     TEXT    NOT NULL,
        count       INTEGER NOT NULL,
        first_seen  INTEGER NOT NULL,
        last_seen   INTEGER NOT NULL,
        seq         INTEGER NOT NULL,
        PRIMARY KEY (incident_id, release)
    ) WITHOUT ROWID;

    CREATE TABLE releases_with_fix (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        release     TEXT    NOT NULL,
        PRIMARY KEY (incident_id, release)
    ) WITHOUT ROWID;

    CREATE TABLE event_samples (
        id          INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        received_at INTEGER NOT NULL,
        event       TEXT    NOT NULL
    );
    CREATE INDEX event_samples_incident ON event_samples(incident_id, id);

    CREATE TABLE fix_jobs (
        id               INTEGER PRIMARY KEY,
        incident_id      INTEGER NOT NULL REFERENCES incidents(id),
        state            TEXT    NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,
        max_attempts     INTEGER NOT NULL,
        lease_owner      TEXT,
        lease_expires_at INTEGER,
        not_before       INTEGER NOT NULL,
        last_error       TEXT,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
    );
    -- At most one live (queued or running) job per incident.
    CREATE UNIQUE INDEX fix_jobs_one_live ON fix_jobs(incident_id) WHERE state IN ('queued', 'running');
    CREATE INDEX fix_jobs_runnable ON fix_jobs(state, not_before);

    CREATE TABLE pull_requests (
        number      INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        title       TEXT    NOT NULL,
        body        TEXT    NOT NULL,
        branch      TEXT    NOT NULL,
        state       TEXT    NOT NULL,
        decision    TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );

    CREATE TABLE fix_runs (
        id          INTEGER PRIMARY KEY,
        job_id      INTEGER NOT NULL REFERENCES fix_jobs(id),
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        attempt     INTEGER NOT NULL,
        worker      TEXT    NOT NULL,
        outcome     TEXT    NOT NULL,
        report      TEXT    NOT NULL,
        finished_at INTEGER NOT NULL,
        pr_number   INTEGER REFERENCES pull_requests(number)
    );
    CREATE INDEX fix_runs_incident ON fix_runs(incident_id, id);

    CREATE TABLE ingest_totals (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        batches     INTEGER NOT NULL,
        events      INTEGER NOT NULL,
        occurrences INTEGER NOT NULL
    );
    INSERT INTO ingest_totals (id, batches, events, occurrences) VALUES (1, 0, 0, 0);
    "#,
    // 2: pull requests as the local forge keeps them (bugstack_fix's
    // PullRequestStore): the forge opens them mid-run, before the run links
    // them to their incident, so incident_id becomes nullable; plus url, base,
    // head sha and the forge's own record (decision, labels, comments, merge
    // commit) as JSON. SQLite cannot relax NOT NULL in place: rebuild.
    r#"
    CREATE TABLE pull_requests_new (
        number      INTEGER PRIMARY KEY,
        incident_id INTEGER REFERENCES incidents(id),
        title       TEXT    NOT NULL,
        body        TEXT    NOT NULL,
        branch      TEXT    NOT NULL,
        state       TEXT    NOT NULL,
        decision    TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        url         TEXT    NOT NULL DEFAULT '',
        base        TEXT    NOT NULL DEFAULT '',
        head_sha    TEXT    NOT NULL DEFAULT '',
        forge       TEXT    NOT NULL DEFAULT '{}'
    );
    INSERT INTO pull_requests_new (number, incident_id, title, body, branch, state, decision, created_at, updated_at)
        SELECT number, incident_id, title, body, branch, state, decision, created_at, updated_at FROM pull_requests;
    DROP TABLE pull_requests;
    ALTER TABLE pull_requests_new RENAME TO pull_requests;
    CREATE INDEX pull_requests_branch ON pull_requests(branch, state);
    "#,
    // 3: the next release's `seq` of an incident is `MAX(seq) + 1`; without
    // this index every new release scanned all of the incident's releases
    // (quadratic ingest in the number of distinct releases).
    r#"
    CREATE INDEX incident_releases_seq ON incident_releases(incident_id, seq);
    "#,
    // 4: the fix-job queue is capped; an incident that wants a fix while the
    // queue is full waits with `fix_wanted = 1` and is queued, most frequent
    // first, when there is room.
    r#"
    ALTER TABLE incidents ADD COLUMN fix_wanted INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX incidents_fix_wanted ON incidents(count) WHERE fix_wanted = 1;
    "#,
    // 5: new incidents per hour are capped per sender: `source` names the
    // token whose batch created the incident (NULL: stored locally, or the
    // sender's quota-overflow incident).
    r#"
    ALTER TABLE incidents ADD COLUMN source TEXT;
    CREATE INDEX incidents_source_created ON incidents(source, created_at) WHERE source IS NOT NULL;
    "#,
    // 6: releases announced live by SDKs (one announcement per process
    // start): when each was first and last seen live, and its resolved
    // dependency list (JSON `[{"name", "version"}]`, NULL when never sent).
    r#"
    CREATE TABLE releases (
        name          TEXT    PRIMARY KEY,
        first_live_at INTEGER NOT NULL,
        last_live_at  INTEGER NOT NULL,
        dependencies  TEXT
    );
    "#,
    // 7: the lifecycle after the merge. Every status change is recorded
    // with who and why (`incident_timeline`); a fixed incident keeps its fix
    // commit and when it was fixed; each release it is seen in (or that is
    // live) is classified once against the fix by git ancestry
    // (`release_verdicts`, cleared when the incident is fixed again).
    r#"
    CREATE TABLE incident_timeline (
        id          INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        at          INTEGER NOT NULL,
        from_status TEXT,
        to_status   TEXT    NOT NULL,
        actor       TEXT    NOT NULL,
        reason      TEXT    NOT NULL
    );
    CREATE INDEX incident_timeline_incident ON incident_timeline(incident_id, id);
    ALTER TABLE incidents ADD COLUMN fix_commit TEXT;
    ALTER TABLE incidents ADD COLUMN fixed_at INTEGER;
    CREATE TABLE release_verdicts (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        release     TEXT    NOT NULL,
        verdict     TEXT    NOT NULL,
        commit_sha  TEXT,
        note        TEXT    NOT NULL,
        checked_at  INTEGER NOT NULL,
        PRIMARY KEY (incident_id, release)
    ) WITHOUT ROWID;
    CREATE INDEX incidents_fixed ON incidents(id) WHERE status IN ('fixed', 'verified');
    "#,
    // 8: pull requests synced from a remote forge: its own number for the
    // pull request (GitHub's, not the store's), the ETag of its last answer
    // (conditional polling) and the hash of the proposed patch; a pull
    // request closed unmerged rejects its patch for the incident, so the same
    // patch is never proposed again.
    r#"
    ALTER TABLE pull_requests ADD COLUMN forge_number INTEGER;
    ALTER TABLE pull_requests ADD COLUMN etag TEXT;
    ALTER TABLE pull_requests ADD COLUMN patch_hash TEXT;
    CREATE INDEX pull_requests_forge_number ON pull_requests(forge_number) WHERE forge_number IS NOT NULL;
    CREATE TABLE rejected_patches (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        patch_hash  TEXT    NOT NULL,
        pr_number   INTEGER REFERENCES pull_requests(number),
        rejected_at INTEGER NOT NULL,
        PRIMARY KEY (incident_id, patch_hash)
    ) WITHOUT ROWID;
    "#,
    // 9: occurrences per incident per hour (the dashboard's sparklines and
    // `GET /v1/incidents/{id}/histogram`), kept for `HISTOGRAM_RETENTION_HOURS`:
    // ingest adds to the hour's row and drops the incident's rows past the
    // retention in the same transaction.
    r#"
    CREATE TABLE incident_hours (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        hour        INTEGER NOT NULL,
        count       INTEGER NOT NULL,
        PRIMARY KEY (incident_id, hour)
    ) WITHOUT ROWID;
    "#,
    // 10: exactly-once counting: the ids of the batches each sender (the
    // token's `source`, '' for local ingest) sent, kept for the batch-key
    // window, so a retried batch is stored once.
    r#"
    CREATE TABLE batch_keys (
        source      TEXT    NOT NULL,
        batch_id    TEXT    NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (source, batch_id)
    ) WITHOUT ROWID;
    CREATE INDEX batch_keys_received ON batch_keys(received_at);
    "#,
    // 11: projects. One bugstack serves many services: a project has its
    // own ingest token (only its SHA-256 is stored), repository and forge;
    // every incident belongs to one (a fix job to its incident's), and
    // fingerprints group per project. Project 1 is the default project (the
    // one `serve --repo` serves with its own token, never stored): existing
    // incidents join it. The fingerprint is unique per project now, which
    // SQLite cannot change in place: rebuild `incidents` (same columns plus
    // `project_id`, same ids, its indexes again). Releases announced live
    // become a project's too (rebuilt with `project_id` in their key).
    r#"
    CREATE TABLE projects (
        id         INTEGER PRIMARY KEY,
        name       TEXT    NOT NULL UNIQUE,
        token_hash TEXT    UNIQUE,
        repo       TEXT,
        forge      TEXT,
        created_at INTEGER NOT NULL
    );
    INSERT INTO projects (id, name, token_hash, repo, forge, created_at) VALUES (1, 'default', NULL, NULL, NULL, 0);

    CREATE TABLE incidents_new (
        id               INTEGER PRIMARY KEY,
        project_id       INTEGER NOT NULL REFERENCES projects(id),
        fingerprint      TEXT    NOT NULL,
        title            TEXT    NOT NULL,
        kind             TEXT    NOT NULL,
        level            TEXT    NOT NULL,
        status           TEXT    NOT NULL,
        count            INTEGER NOT NULL,
        first_seen       INTEGER NOT NULL,
        last_seen        INTEGER NOT NULL,
        fixed_in_release TEXT,
        representative   TEXT    NOT NULL,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        fix_wanted       INTEGER NOT NULL DEFAULT 0,
        source           TEXT,
        fix_commit       TEXT,
        fixed_at         INTEGER,
        UNIQUE (project_id, fingerprint)
    );
    INSERT INTO incidents_new (id, project_id, fingerprint, title, kind, level, status, count, first_seen,
            last_seen, fixed_in_release, representative, created_at, updated_at, fix_wanted, source,
            fix_commit, fixed_at)
        SELECT id, 1, fingerprint, title, kind, level, status, count, first_seen, last_seen,
            fixed_in_release, representative, created_at, updated_at, fix_wanted, source, fix_commit, fixed_at
        FROM incidents;
    DROP TABLE incidents;
    ALTER TABLE incidents_new RENAME TO incidents;
    CREATE INDEX incidents_last_seen ON incidents(last_seen);
    CREATE INDEX incidents_project_last_seen ON incidents(project_id, last_seen);
    CREATE INDEX incidents_fix_wanted ON incidents(count) WHERE fix_wanted = 1;
    CREATE INDEX incidents_source_created ON incidents(source, created_at) WHERE source IS NOT NULL;
    CREATE INDEX incidents_fixed ON incidents(id) WHERE status IN ('fixed', 'verified');

    -- Releases announced live are a project's: the same name in two
    -- projects is two releases.
    CREATE TABLE releases_new (
        project_id    INTEGER NOT NULL REFERENCES projects(id),
        name          TEXT    NOT NULL,
        first_live_at INTEGER NOT NULL,
        last_live_at  INTEGER NOT NULL,
        dependencies  TEXT,
        PRIMARY KEY (project_id, name)
    );
    INSERT INTO releases_new (project_id, name, first_live_at, last_live_at, dependencies)
        SELECT 1, name, first_live_at, last_live_at, dependencies FROM releases;
    DROP TABLE releases;
    ALTER TABLE releases_new RENAME TO releases;
    "#,
];

/// The schema version this build writes.
pub(crate) fn latest_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Brings the database up to [`latest_version`], refusing a newer one.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let latest = latest_version();
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > latest {
            return Err(Error::SchemaTooNew {
                path: path.to_path_buf(),
                found: version,
                supported: latest,
            });
        }
        let Some(sql) = usize::try_from(version).ok().and_then(|v| MIGRATIONS.get(v)) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        let broken: Option<String> = tx.query_row("PRAGMA foreign_key_check", [], |r| r.get(0)).optional()?;
        if let Some(table) = broken {
            return Err(Error::Config(format!(
                "schema migration {} would leave a dangling reference in table {table}; the store was not changed",
                version + 1
            )));
        }
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}
