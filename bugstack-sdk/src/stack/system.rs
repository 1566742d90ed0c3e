//! The system unwinder (`_Unwind_Backtrace` on Unix) through `backtrace`.
//!
//! `backtrace::trace` holds a process-wide lock for the whole walk; its
//! lock-free twin, `trace_unsynchronized`, is `unsafe` with one contract:
//! the caller provides the synchronization the lock would. That lock exists
//! for unwinders that are not thread-safe (dbghelp on Windows). On the Unix
//! targets where `backtrace` walks with `_Unwind_Backtrace` (libgcc or LLVM
//! libunwind), the unwinder is thread-safe — it is the one every Rust panic
//! and C++ exception runs through, concurrently on any number of threads,
//! with no lock — so the walk needs none and capturing threads never wait
//! for each other. Elsewhere the locked `backtrace::trace` is used.

/// Walks with the system unwinder into `buf`; returns the number of frames
/// recorded. Frames whose stack pointer is at or below `own_frame` (the
/// walker's own) are skipped.
#[inline(never)] // its own frame, below the caller's `own_frame`
pub(super) fn walk(buf: &mut [usize], own_frame: usize) -> usize {
    let mut n = 0;
    let mut record = |frame: &backtrace::Frame| {
        // No allocation, no panic: the closure runs inside the unwinder,
        // which cannot unwind through it.
        let sp = frame.sp() as usize;
        if n == 0 && sp != 0 && sp <= own_frame {
            return true;
        }
        let ip = frame.ip() as usize;
        if ip == 0 {
            // The end-of-stack marker some unwinders report.
            return false;
        }
        match buf.get_mut(n) {
            Some(slot) => {
                *slot = ip;
                n += 1;
                n < buf.len()
            }
            None => false,
        }
    };
    trace(&mut record);
    n
}

#[cfg(all(
    unix,
    not(miri),
    not(target_os = "emscripten"),
    not(all(target_os = "ios", target_arch = "arm"))
))]
#[allow(unsafe_code)]
fn trace(record: &mut dyn FnMut(&backtrace::Frame) -> bool) {
    // SAFETY: `trace_unsynchronized` requires only that the caller
    // synchronizes the walk as `backtrace::trace` would. On these targets
    // `backtrace` walks with `_Unwind_Backtrace`, which is thread-safe (see
    // the module docs), and `record` neither panics nor re-enters the
    // unwinder.
    unsafe { backtrace::trace_unsynchronized(record) }
}

#[cfg(not(all(
    unix,
    not(miri),
    not(target_os = "emscripten"),
    not(all(target_os = "ios", target_arch = "arm"))
)))]
fn trace(record: &mut dyn FnMut(&backtrace::Frame) -> bool) {
    backtrace::trace(record)
}
