//! Group commit: batches decoded by concurrent requests are written by one
//! thread, which commits everything waiting in a single transaction.
//!
//! With `synchronous=FULL` every commit costs an fsync (milliseconds), so
//! committing each batch alone caps the collector at a few hundred batches a
//! second whatever their size. Here a request hands its decoded batch to the
//! committer and waits; the committer takes the first waiting batch plus all
//! others already queued (up to a bound), stores them with
//! [`IncidentStore::ingest_with_quotas`] — one transaction, one fsync — and only
//! then answers each request, so every `202` still means "on disk".

use std::sync::mpsc;
use std::sync::Arc;

use bugstack_core::{Event, ReleaseAnnouncement, Timestamp};
use tokio::sync::oneshot;

use crate::store::{IncidentQuota, IncidentStore, IngestBatch, IngestSummary};
use crate::{Error, Result};

/// Most events committed in one group.
pub const MAX_GROUP_EVENTS: usize = 20_000;

struct Pending {
    batch: IngestBatch,
    reply: oneshot::Sender<Result<IngestSummary, String>>,
}

/// A handle to the committer thread (cheap to clone). The thread stops when
/// the last handle is dropped, after answering everything queued.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer").finish_non_exhaustive()
    }
}

impl Committer {
    /// Starts the committer thread over `store`.
    pub fn start(store: Arc<dyn IncidentStore>) -> Result<Self> {
        let (queue, rx) = mpsc::channel::<Pending>();
        std::thread::Builder::new()
            .name("bugstack-committer".into())
            .spawn(move || run(store.as_ref(), &rx))
            .map_err(|e| Error::io("cannot start the committer thread", e))?;
        Ok(Committer { queue })
    }

    /// Stores `events` (and the sender's `release` announcement, when it
    /// sent one) as one batch under the sender's `quota`, grouped with
    /// whatever else is waiting, and returns once it is durable. `Err`
    /// carries the store's error message; nothing of the batch is stored then.
    pub async fn commit(
        &self,
        events: Vec<Event>,
        quota: Option<IncidentQuota>,
        release: Option<ReleaseAnnouncement>,
    ) -> Result<IngestSummary, String> {
        self.commit_batch(IngestBatch {
            events,
            quota,
            release,
            batch_id: None,
            project: None,
        })
        .await
    }

    /// Stores `batch` as [`Committer::commit`] does, with its idempotency
    /// key when it has one (a batch stored before under the same key and
    /// sender is not stored again: [`IngestSummary::duplicate`]).
    pub async fn commit_batch(&self, batch: IngestBatch) -> Result<IngestSummary, String> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { batch, reply })
            .map_err(|_| "the committer has stopped".to_string())?;
        answer.await.map_err(|_| "the committer has stopped".to_string())?
    }
}

fn run(store: &dyn IncidentStore, rx: &mpsc::Receiver<Pending>) {
    while let Ok(first) = rx.recv() {
        let mut size = first.batch.events.len();
        let mut group = vec![first];
        while size < MAX_GROUP_EVENTS {
            match rx.try_recv() {
                Ok(p) => {
                    size += p.batch.events.len();
                    group.push(p);
                }
                Err(_) => break,
            }
        }
        let batches: Vec<IngestBatch> = group.iter_mut().map(|p| std::mem::take(&mut p.batch)).collect();
        match store.ingest_with_quotas(&batches, Timestamp::now()) {
            Ok(summaries) => {
                for (p, s) in group.into_iter().zip(summaries) {
                    // The request may have gone away; its batch is stored anyway.
                    let _ = p.reply.send(Ok(s));
                }
            }
            Err(e) => {
                eprintln!("bugstack: could not store {} batch(es): {e}", group.len());
                let msg = e.to_string();
                for p in group {
                    let _ = p.reply.send(Err(msg.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bugstack_core::{EventKind, Level};

    use super::*;
    use crate::store::SqliteStore;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_batches_are_all_committed_and_answered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let committer = Committer::start(store.clone()).unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let c = committer.clone();
                tokio::spawn(async move {
                    let e = Event::new(
                        EventKind::Error,
                        Level::Error,
                        format!("bug {}", i % 3),
                        Timestamp::now(),
                    );
                    c.commit(vec![e; 10], None, None).await
                })
            })
            .collect();
        for t in tasks {
            let s = t.await.unwrap().unwrap();
            assert_eq!((s.events, s.occurrences), (10, 10));
        }
        let totals = store.totals().unwrap();
        assert_eq!((totals.batches, totals.occurrences), (50, 500));
        assert!(totals.batches > 0);
    }
}
