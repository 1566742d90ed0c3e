//! The one background worker thread: resolves, scrubs, aggregates, batches
//! and delivers; spools what cannot be delivered and replays it later.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bugstack_core::{Added, Aggregator, AggregatorConfig, Event, ReleaseAnnouncement, Timestamp};
use crossbeam_channel::{select, Receiver, Sender, TryRecvError};
use reqwest::Url;

use crate::capture::RawEvent;
use crate::diag::DebugLog;
use crate::prepare::{Prepared, Preparer};
use crate::repeats::Repeats;
use crate::spool::Spool;
use crate::stats::Counters;
use crate::symbolize::Resolver;
use crate::transport::{backoff, Sent, Transport};

thread_local! {
    static SDK_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is the SDK's worker (whose panics the hook
/// must not capture, or a bug there could feed itself).
pub(crate) fn on_sdk_thread() -> bool {
    SDK_THREAD.try_with(Cell::get).unwrap_or(false)
}

/// Messages from the API to the worker.
pub(crate) enum Control {
    /// Deliver everything queued, aggregated and spooled before `deadline`;
    /// answer whether everything was delivered.
    Flush { deadline: Instant, reply: Sender<bool> },
    /// Stop after the current message.
    Shutdown,
}

/// How often an idle worker looks at the event queue. Capturing threads do
/// not wake the worker for each event — a wake is a syscall on the host's
/// thread — so an event waits at most this long (its aggregation window is
/// seconds anyway), unless the queue is half full.
const IDLE_POLL: Duration = Duration::from_millis(50);
/// How often a worker that just received events looks again.
const BUSY_POLL: Duration = Duration::from_millis(1);
/// Most events taken from the queue in one turn.
const DRAIN_MAX: usize = 4096;

/// Everything the worker needs, moved onto its thread.
pub(crate) struct WorkerConfig {
    pub(crate) events: Receiver<Box<RawEvent>>,
    pub(crate) control: Receiver<Control>,
    /// Capturing threads' "the queue is half full" (capacity 1).
    pub(crate) wake: Receiver<()>,
    pub(crate) done: Sender<()>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) preparer: Arc<Preparer>,
    pub(crate) spool: Option<Arc<Spool>>,
    pub(crate) log: Arc<DebugLog>,
    pub(crate) url: Url,
    pub(crate) token: Option<String>,
    pub(crate) request_timeout: Duration,
    pub(crate) aggregation: AggregatorConfig,
    pub(crate) max_batch_events: usize,
    pub(crate) max_pending_events: u64,
    /// This process's release announcement: carried by every batch sent
    /// (and spooled) until one is accepted — at start, in a batch of its
    /// own — then never again. `None` when no release is configured.
    pub(crate) announcement: Option<ReleaseAnnouncement>,
}

/// Undelivered batches: on disk when there is a spool, else (or when the
/// disk fails) in a bounded memory buffer.
struct Outbox {
    /// Each batch with its id.
    memory: VecDeque<(String, Vec<Event>)>,
    memory_occurrences: u64,
    max_memory: u64,
    spool: Option<Arc<Spool>>,
}

fn occurrences(events: &[Event]) -> u64 {
    events.iter().map(|e| e.count.max(1)).sum()
}

struct Worker {
    cfg: WorkerConfig,
    transport: Transport,
    resolver: Resolver,
    aggregator: Aggregator,
    /// Occurrences already in this window's groups (see [`Repeats`]).
    repeats: Repeats,
    ready: Vec<Event>,
    outbox: Outbox,
    failures: u32,
    next_attempt: Instant,
    /// The release announcement not yet accepted by the collector.
    announcement: Option<ReleaseAnnouncement>,
}

/// Runs the worker until shutdown or until every sender is gone.
pub(crate) fn run(cfg: WorkerConfig) {
    let _ = SDK_THREAD.try_with(|c| c.set(true));
    let (transport, err) = Transport::new(cfg.url.clone(), cfg.token.clone(), cfg.request_timeout);
    if let Some(e) = err {
        cfg.log.log(|| e);
    }
    let done = cfg.done.clone();
    let announcement = cfg.announcement.clone();
    let mut w = Worker {
        announcement,
        aggregator: Aggregator::new(cfg.aggregation),
        outbox: Outbox {
            memory: VecDeque::new(),
            memory_occurrences: 0,
            max_memory: cfg.max_pending_events,
            spool: cfg.spool.clone(),
        },
        cfg,
        transport,
        resolver: Resolver::default(),
        repeats: Repeats::new(),
        ready: Vec::new(),
        failures: 0,
        next_attempt: Instant::now(),
    };
    w.update_spooled();
    // Read the unwind tables for the fast stack walk, and load debug info,
    // now, on this thread, so the first real event is not delayed by it
    // (the calling threads never pay for either).
    crate::stack::prepare();
    let _ = w.resolver.resolve(&crate::stack::walk());
    loop {
        let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.step()));
        match step {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => w.cfg.log.log(|| "internal error in the worker; continuing".to_string()),
        }
    }
    let _ = done.try_send(());
}

impl Worker {
    /// One turn of the loop; false to stop.
    fn step(&mut self) -> bool {
        // Take what is queued. The worker never blocks on the event queue:
        // a receiver blocked there would make every `try_send` on the
        // capturing threads wake it with a syscall.
        let Some(taken) = self.take_queued(DRAIN_MAX) else {
            self.persist_all();
            return false;
        };
        let poll = if taken > 0 { BUSY_POLL } else { IDLE_POLL };
        let wait = self.next_wake().min(poll);
        let keep_going = select! {
            recv(self.cfg.control) -> msg => match msg {
                Ok(Control::Flush { deadline, reply }) => {
                    let ok = self.flush(deadline);
                    let _ = reply.try_send(ok);
                    true
                }
                Ok(Control::Shutdown) | Err(_) => {
                    self.persist_all();
                    false
                }
            },
            recv(self.cfg.wake) -> _ => true,
            default(wait) => true,
        };
        if keep_going {
            self.tick();
        }
        keep_going
    }

    /// Ingests up to `max` queued occurrences; how many, or `None` when
    /// every sender is gone (the SDK was dropped).
    fn take_queued(&mut self, max: usize) -> Option<usize> {
        let mut taken = 0;
        while taken < max {
            match self.cfg.events.try_recv() {
                Ok(raw) => {
                    self.ingest(*raw);
                    taken += 1;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return None,
            }
        }
        Some(taken)
    }

    /// At shutdown: everything still queued or aggregated goes to the outbox
    /// (the spool, when there is one) without touching the network.
    fn persist_all(&mut self) {
        let _ = self.take_queued(usize::MAX);
        let drained = self.drain_groups();
        self.ready.extend(drained);
        let ready = std::mem::take(&mut self.ready);
        for chunk in ready.chunks(self.cfg.max_batch_events.max(1)) {
            // Never sent: a new batch with a new id.
            self.push_outbox(chunk, &crate::batch_id::new());
        }
        if ready.is_empty() {
            // Nothing else to spool: the announcement alone, so the next
            // start delivers it (a duplicate of a later one is harmless).
            if let (Some(spool), Some(a)) = (&self.outbox.spool, &self.announcement) {
                if let Err(e) = spool.write(&[], Some(a)) {
                    self.cfg
                        .log
                        .log(|| format!("could not spool the release announcement: {e}"));
                }
            }
        }
        self.update_spooled();
        if self.outbox.spool.is_none() && self.outbox.memory_occurrences > 0 {
            let n = self.outbox.memory_occurrences;
            self.cfg
                .log
                .log(|| format!("{n} undelivered occurrences lost at shutdown (no spool directory)"));
        }
    }

    fn next_wake(&self) -> Duration {
        let mut wait = Duration::from_secs(1);
        if let Some(end) = self.aggregator.window_end() {
            wait = wait.min(end.saturating_since(Timestamp::now()));
        }
        if self.has_pending() {
            wait = wait.min(self.next_attempt.saturating_duration_since(Instant::now()));
        }
        wait.max(Duration::from_millis(1))
    }

    /// Whether anything waits for delivery (the spool count includes files
    /// written by the panic hook on other threads).
    fn has_pending(&self) -> bool {
        !self.outbox.memory.is_empty() || self.cfg.counters.spooled.load(Relaxed) > 0
    }

    fn ingest(&mut self, raw: RawEvent) {
        // A repeat of an occurrence already in this window's groups is
        // folded into its group as is (no `before_send` to run).
        let key = self.cfg.preparer.before_send.is_none().then(|| self.repeats.key(&raw));
        if let Some(fp) = key.and_then(|k| self.repeats.get(k)) {
            if self.aggregator.add_repeat(fp, raw.timestamp) {
                return;
            }
        }
        match self.cfg.preparer.prepare(raw, &mut self.resolver, true) {
            Prepared::Filtered => Counters::add(&self.cfg.counters.dropped_filtered, 1),
            Prepared::Keep(mut event) => {
                let fp = bugstack_core::fingerprint(&event);
                event.fingerprint = Some(fp.clone());
                match self.aggregator.add(*event) {
                    Added::Overflow(event) => {
                        // Past the group cap: sent on its own, never dropped.
                        self.ready.push(*event);
                    }
                    Added::NewGroup | Added::Merged => {
                        if let Some(k) = key {
                            self.repeats.remember(k, fp);
                        }
                    }
                }
            }
        }
        if self.ready.len() >= self.cfg.max_batch_events {
            let ready = std::mem::take(&mut self.ready);
            self.deliver(ready, None);
        }
    }

    /// The window's groups, handed over for delivery: repeats of them can no
    /// longer be folded in.
    fn drain_groups(&mut self) -> Vec<Event> {
        self.repeats.forget_all();
        self.aggregator.drain()
    }

    fn tick(&mut self) {
        if self.aggregator.is_due(Timestamp::now()) {
            let drained = self.drain_groups();
            self.ready.extend(drained);
            let ready = std::mem::take(&mut self.ready);
            self.deliver(ready, None);
        }
        if self.has_pending() && Instant::now() >= self.next_attempt {
            self.replay(None);
        }
        if self.announcement.is_some() && Instant::now() >= self.next_attempt {
            self.announce(None);
        }
    }

    /// Sends the release announcement in a batch of its own, if it is still
    /// pending; false when the attempt must be retried.
    fn announce(&mut self, deadline: Option<Instant>) -> bool {
        if self.announcement.is_none() {
            return true;
        }
        !matches!(
            self.send(&[], &crate::batch_id::new(), None, deadline),
            Sent::Retry { .. }
        )
    }

    /// True when everything captured so far was delivered (or rejected for
    /// good by the collector); false when something is still pending, or
    /// was dropped to keep the spool bounded during this flush.
    fn flush(&mut self, deadline: Instant) -> bool {
        let dropped_before = self.cfg.counters.dropped_spool_full.load(Relaxed);
        let delivered = self.flush_inner(deadline);
        delivered && self.cfg.counters.dropped_spool_full.load(Relaxed) == dropped_before
    }

    fn flush_inner(&mut self, deadline: Instant) -> bool {
        let _ = self.take_queued(usize::MAX);
        let drained = self.drain_groups();
        self.ready.extend(drained);
        let ready = std::mem::take(&mut self.ready);
        self.deliver(ready, Some(deadline));
        loop {
            if self.replay(Some(deadline)) && self.announce(Some(deadline)) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || self.next_attempt >= deadline {
                return false;
            }
            std::thread::sleep(self.next_attempt.saturating_duration_since(now));
        }
    }

    fn timeout(deadline: Option<Instant>) -> Option<Duration> {
        deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Sends one batch with id `id`; on a retryable failure schedules the
    /// next attempt. A batch the collector finds too large (413) is split in
    /// halves (ids derived from `id`) and sent again, so only a single
    /// oversize event is ever rejected. The batch carries `spooled` (a
    /// spooled batch's announcement), else this process's pending
    /// announcement, which is done with once the batch is accepted (or
    /// rejected for good with it).
    fn send(
        &mut self,
        events: &[Event],
        id: &str,
        spooled: Option<&ReleaseAnnouncement>,
        deadline: Option<Instant>,
    ) -> Sent {
        let stats = self.cfg.counters.snapshot().to_client_stats();
        let timeout = Self::timeout(deadline).map(|t| t.min(self.cfg.request_timeout));
        if timeout.is_some_and(|t| t.is_zero()) {
            return Sent::Retry {
                retry_after: None,
                reason: "flush deadline reached".into(),
            };
        }
        let own = if spooled.is_none() {
            self.announcement.take()
        } else {
            None
        };
        let outcome = self
            .transport
            .send(events, id, spooled.or(own.as_ref()), stats, timeout);
        let n = occurrences(events);
        if matches!(outcome, Sent::Retry { .. } | Sent::Rejected { too_large: true, .. }) {
            self.announcement = self.announcement.take().or(own);
        }
        match &outcome {
            Sent::Ok => {
                Counters::add(&self.cfg.counters.sent, n);
                self.failures = 0;
                self.next_attempt = Instant::now();
            }
            Sent::Retry { retry_after, reason } => {
                Counters::add(&self.cfg.counters.failed_requests, 1);
                self.failures = self.failures.saturating_add(1);
                let delay = retry_after.unwrap_or_else(|| backoff(self.failures));
                self.next_attempt = Instant::now() + delay;
                let failures = self.failures;
                self.cfg
                    .log
                    .log(|| format!("delivery failed ({reason}); attempt {failures}, retrying in {delay:?}"));
            }
            Sent::Rejected { too_large: true, .. } if events.len() > 1 => {
                let (a, b) = events.split_at(events.len() / 2);
                return match self.send(a, &crate::batch_id::part(id, 0), spooled, deadline) {
                    retry @ Sent::Retry { .. } => retry,
                    _ => self.send(b, &crate::batch_id::part(id, 1), spooled, deadline),
                };
            }
            Sent::Rejected { reason, .. } => {
                Counters::add(&self.cfg.counters.rejected, n);
                self.cfg
                    .log
                    .log(|| format!("collector rejected a batch of {n} occurrences for good: {reason}"));
            }
        }
        outcome
    }

    /// Delivers fresh events in batches; what fails goes to the outbox.
    fn deliver(&mut self, events: Vec<Event>, deadline: Option<Instant>) {
        for chunk in events.chunks(self.cfg.max_batch_events.max(1)) {
            let backing_off = deadline.is_none() && self.failures > 0 && Instant::now() < self.next_attempt;
            // The id goes with the chunk wherever it waits: a retry of a
            // batch that was in fact stored is counted once.
            let id = crate::batch_id::new();
            if backing_off {
                self.push_outbox(chunk, &id);
                continue;
            }
            if let Sent::Retry { .. } = self.send(chunk, &id, None, deadline) {
                self.push_outbox(chunk, &id);
            }
        }
        self.update_spooled();
    }

    fn push_outbox(&mut self, events: &[Event], id: &str) {
        if let Some(spool) = &self.outbox.spool {
            // The pending announcement goes along, so it survives a restart.
            match spool.write_with_id(events, self.announcement.as_ref(), id) {
                Ok(w) => {
                    Counters::add(&self.cfg.counters.dropped_spool_full, w.dropped);
                    return;
                }
                Err(e) => self
                    .cfg
                    .log
                    .log(|| format!("could not spool a batch, keeping it in memory: {e}")),
            }
        }
        let n = occurrences(events);
        self.outbox.memory.push_back((id.to_string(), events.to_vec()));
        self.outbox.memory_occurrences += n;
        while self.outbox.memory_occurrences > self.outbox.max_memory && self.outbox.memory.len() > 1 {
            if let Some((_, old)) = self.outbox.memory.pop_front() {
                let m = occurrences(&old);
                self.outbox.memory_occurrences -= m;
                Counters::add(&self.cfg.counters.dropped_spool_full, m);
            }
        }
    }

    /// Sends the outbox, oldest first, until it is empty (true) or an attempt
    /// fails (false).
    fn replay(&mut self, deadline: Option<Instant>) -> bool {
        let done = self.replay_inner(deadline);
        self.update_spooled();
        done
    }

    fn replay_inner(&mut self, deadline: Option<Instant>) -> bool {
        while let Some((id, batch)) = self.outbox.memory.front().cloned() {
            match self.send(&batch, &id, None, deadline) {
                Sent::Retry { .. } => return false,
                Sent::Ok | Sent::Rejected { .. } => {
                    self.outbox.memory.pop_front();
                    self.outbox.memory_occurrences -= occurrences(&batch);
                }
            }
        }
        let Some(spool) = self.outbox.spool.clone() else {
            return true;
        };
        loop {
            let Some(file) = spool.list().into_iter().next() else {
                return true;
            };
            let batch = match spool.read(&file) {
                Ok(batch) => batch,
                Err(e) => {
                    // Set aside by `read`: never listed again, so no spin.
                    Counters::add(&self.cfg.counters.spool_quarantined, file.occurrences);
                    self.cfg
                        .log
                        .log(|| format!("set aside an unreadable spooled batch: {e}"));
                    continue;
                }
            };
            let id = batch.batch_id.clone().unwrap_or_else(crate::batch_id::new);
            if batch.events.is_empty() && batch.release.is_some() {
                // A spooled announcement alone.
                if let Sent::Retry { .. } = self.send(&[], &id, batch.release.as_ref(), deadline) {
                    return false;
                }
            }
            let chunks: Vec<&[Event]> = batch.events.chunks(self.cfg.max_batch_events.max(1)).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                // One chunk keeps the batch's id; chunks get ids derived from
                // it, the same on every replay.
                let chunk_id = if chunks.len() == 1 {
                    id.clone()
                } else {
                    crate::batch_id::part(&id, i)
                };
                if let Sent::Retry { .. } = self.send(chunk, &chunk_id, batch.release.as_ref(), deadline) {
                    // Chunks sent before this one may go again on the next
                    // attempt: a duplicate beats a loss.
                    return false;
                }
            }
            spool.remove(&file);
        }
    }

    fn update_spooled(&self) {
        let disk = self.outbox.spool.as_ref().map_or(0, |s| s.occurrences());
        self.cfg
            .counters
            .spooled
            .store(disk + self.outbox.memory_occurrences, Relaxed);
    }
}
