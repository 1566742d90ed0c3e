//! Capture overhead on the calling thread, side by side with the `sentry`
//! crate (no-op transport, `attach_stacktrace = true`), in one run.
//!
//! ```sh
//! cargo bench -p bugstack-sdk --bench capture -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! Times are CPU time of the calling thread (`cpu-time`'s `ThreadTime`),
//! the cost the host pays, unaffected by the worker or other processes
//! competing for the cores; throughput is wall time.
//!
//! bugstack's captures are timed in chunks; between chunks (untimed) the
//! bench waits for the worker to empty the queue, so every timed capture
//! takes the full path (nothing is dropped for a full queue — checked at the
//! end). The summary prints each ratio to its peer, from criterion's medians.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;
use criterion::Criterion;

mod criterion_results;
#[path = "../tests/common/errors.rs"]
mod errors;

use criterion_results::{median_ns, output_dir};

use errors::{DbError, SaveError};

/// Captures per timed chunk (the queue holds more than this).
const CHUNK: u64 = 2048;
const QUEUE: usize = 8192;

fn wait_drained() {
    let end = Instant::now() + Duration::from_secs(60);
    while bugstack_sdk::stats().queued > 0 && Instant::now() < end {
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// CPU time of the calling thread for `iters` calls of `f`, in chunks,
/// letting the worker drain the queue between them (untimed).
fn chunked(iters: u64, f: impl Fn()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let start = ThreadTime::now();
        for _ in 0..n {
            f();
        }
        total += start.elapsed();
        left -= n;
        wait_drained();
    }
    total
}

/// CPU time of the calling thread for `iters` calls of `f`.
fn cpu(iters: u64, f: impl Fn()) -> Duration {
    let start = ThreadTime::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

/// CPU time the capturing threads spent, summed, and the captures they made,
/// per thread count (read by the summary).
static THREAD_CPU: std::sync::Mutex<[(Duration, u64); 2]> = std::sync::Mutex::new([(Duration::ZERO, 0); 2]);

/// Wall time for `iters` captures spread over `threads` threads: from the
/// first thread's start to the last one's end, as the threads themselves
/// read the clock (the coordinating thread may not be scheduled promptly on
/// a busy machine). Each thread's CPU time is added to [`THREAD_CPU`].
fn threaded(iters: u64, threads: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let per = n.div_ceil(threads);
        let barrier = Arc::new(Barrier::new(threads as usize));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let b = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let err = SaveError(DbError);
                    b.wait();
                    let (start, cpu) = (Instant::now(), ThreadTime::now());
                    for _ in 0..per {
                        bugstack_sdk::capture_error(black_box(&err));
                    }
                    (start, Instant::now(), cpu.elapsed())
                })
            })
            .collect();
        let spans: Vec<_> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
        if let (Some(first), Some(last)) = (spans.iter().map(|s| s.0).min(), spans.iter().map(|s| s.1).max()) {
            total += last.duration_since(first);
        }
        if let Ok(mut acc) = THREAD_CPU.lock() {
            let slot = &mut acc[usize::from(threads > 1)];
            slot.0 += spans.iter().map(|s| s.2).sum::<Duration>();
            slot.1 += per * threads;
        }
        left -= n;
        wait_drained();
    }
    total
}

fn start_collector() -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind loopback");
    let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(req.as_reader(), &mut sink);
            let _ = req.respond(tiny_http::Response::empty(202));
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn bugstack_options(endpoint: &str) -> bugstack_sdk::Options {
    bugstack_sdk::Options::new()
        .endpoint(endpoint)
        .token("bench")
        .queue_capacity(QUEUE)
}

struct NoopTransport;
impl sentry::Transport for NoopTransport {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        black_box(envelope);
    }
}

fn sentry_options() -> sentry::ClientOptions {
    let mut o = sentry::ClientOptions::default();
    o.dsn = "https://public@example.invalid/1".parse().ok();
    o.attach_stacktrace = true;
    o.transport = Some(Arc::new(Arc::new(NoopTransport)));
    o
}

fn noop_hook() {
    std::panic::set_hook(Box::new(|info| {
        black_box(info);
    }));
}

#[inline(never)]
fn caught_panic() {
    let r = std::panic::catch_unwind(|| {
        if black_box(true) {
            panic!("order not found");
        }
    });
    black_box(r.is_err());
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn main() {
    let dir = output_dir();
    let mut c = Criterion::default().output_directory(&dir).configure_from_args();
    let endpoint = start_collector();

    // sentry first: its panic hook is installed once per process (over the
    // no-op hook), so its panic bench runs while that hook is in place.
    noop_hook();
    let t = Instant::now();
    let sentry_guard = sentry::init(sentry_options());
    let sentry_cold_init = t.elapsed();
    let err = SaveError(DbError);
    c.bench_function("capture_error/sentry", |b| {
        b.iter_custom(|iters| {
            cpu(iters, || {
                black_box(sentry::capture_error(black_box(&err)));
            })
        })
    });
    c.bench_function("caught_panic/sentry_hook", |b| {
        b.iter_custom(|iters| cpu(iters, caught_panic))
    });
    drop(sentry_guard);

    // The floor: capturing unresolved frames.
    c.bench_function("floor/backtrace_new_unresolved", |b| {
        b.iter_custom(|iters| {
            cpu(iters, || {
                black_box(backtrace::Backtrace::new_unresolved());
            })
        })
    });
    noop_hook();
    c.bench_function("caught_panic/noop_hook", |b| {
        b.iter_custom(|iters| cpu(iters, caught_panic))
    });

    // bugstack: its hook is installed over the no-op hook (and chains it).
    let t = Instant::now();
    let guard = bugstack_sdk::init(bugstack_options(&endpoint));
    let bugstack_cold_init = t.elapsed();
    c.bench_function("capture_error/bugstack", |b| {
        b.iter_custom(|iters| chunked(iters, || bugstack_sdk::capture_error(black_box(&err))))
    });
    c.bench_function("caught_panic/bugstack_hook", |b| {
        b.iter_custom(|iters| chunked(iters, caught_panic))
    });
    c.bench_function("throughput/bugstack_1_thread", |b| {
        b.iter_custom(|iters| threaded(iters, 1))
    });
    c.bench_function("throughput/bugstack_4_threads", |b| {
        b.iter_custom(|iters| threaded(iters, 4))
    });
    let stats = bugstack_sdk::stats();
    drop(guard);

    c.bench_function("init/bugstack", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = ThreadTime::now();
                let g = bugstack_sdk::init(bugstack_options(&endpoint).install_panic_hook(false));
                total += t.elapsed();
                drop(g);
            }
            total
        })
    });
    c.bench_function("init/sentry", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = ThreadTime::now();
                let g = sentry::init(sentry_options());
                total += t.elapsed();
                drop(g);
            }
            total
        })
    });
    noop_hook();
    c.final_summary();

    let m = |g: &str, b: &str| median_ns(&dir, &format!("{g}_{b}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.1}×", a / b),
        _ => "n/a".into(),
    };
    let show = |v: Option<f64>| v.map_or("n/a".into(), fmt_ns);
    let floor = m("floor", "backtrace_new_unresolved");
    let (ours, theirs) = (m("capture_error", "bugstack"), m("capture_error", "sentry"));
    let (noop, hook, shook) = (
        m("caught_panic", "noop_hook"),
        m("caught_panic", "bugstack_hook"),
        m("caught_panic", "sentry_hook"),
    );
    let (t1, t4) = (
        m("throughput", "bugstack_1_thread"),
        m("throughput", "bugstack_4_threads"),
    );
    let (i_ours, i_theirs) = (m("init", "bugstack"), m("init", "sentry"));
    println!("\n== bugstack vs sentry (calling-thread CPU time; medians) ==");
    println!(
        "reference: Backtrace::new_unresolved  {} (the issue's floor; our walk does less)",
        show(floor)
    );
    println!(
        "capture_error, 2-level chain + stack  bugstack {} | sentry {} | sentry/bugstack = {}",
        show(ours),
        show(theirs),
        ratio(theirs, ours)
    );
    println!(
        "caught panic                          no-op hook {} | bugstack {} ({} of no-op) | sentry {} ({} of no-op)",
        show(noop),
        show(hook),
        ratio(hook, noop),
        show(shook),
        ratio(shook, noop)
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu_per = |i: usize| {
        THREAD_CPU
            .lock()
            .ok()
            .and_then(|a| (a[i].1 > 0).then(|| a[i].0.as_nanos() as f64 / a[i].1 as f64))
    };
    println!(
        "throughput                            1 thread {} /capture | 4 threads {} /capture wall | scaling {} on {} cores (ideal {}×)",
        show(t1),
        show(t4),
        ratio(t1, t4),
        cores,
        cores.min(4)
    );
    println!(
        "CPU per capture (no lock: flat)      1 thread {} | 4 threads {} | 4 threads / 1 thread = {}",
        show(cpu_per(0)),
        show(cpu_per(1)),
        ratio(cpu_per(1), cpu_per(0))
    );
    println!(
        "init (steady)                         bugstack {} | sentry {} | sentry/bugstack = {}",
        show(i_ours),
        show(i_theirs),
        ratio(i_theirs, i_ours)
    );
    println!(
        "init (cold, first in process)         bugstack {:?} | sentry {:?}",
        bugstack_cold_init, sentry_cold_init
    );
    println!(
        "bugstack counters during the timed runs: captured {} dropped(queue full) {} sent {}",
        stats.captured, stats.dropped_queue_full, stats.sent
    );
}
