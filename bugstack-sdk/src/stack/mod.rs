//! Walking the calling thread's stack: return addresses only, nothing
//! resolved, no lock shared with other threads.
//!
//! Two walkers, tried in order:
//!
//! - **`fast`** (Linux x86_64, feature `fast-unwind`, on by default): DWARF
//!   CFI unwinding with `framehop`, the unwind rule of every address cached
//!   per thread, stack reads bounded to the calling thread's own stack. A
//!   frame costs a cache lookup instead of an unwind-table search (≈ 15×
//!   cheaper than the system unwinder). It needs the unwind tables of the
//!   loaded modules, which the worker reads from the module files once, on
//!   its own thread ([`prepare`]); until then, and whenever it meets
//!   anything it does not know (an address outside the modules it loaded,
//!   a stack it does not own, an unwind error), the walk falls back to:
//! - **`system`**: the system unwinder (`_Unwind_Backtrace`) through
//!   `backtrace`, lock-free on Unix (see `system`'s docs).
//!
//! This module is where the crate's `unsafe` code lives; every block says
//! why it is sound. Compared with `backtrace::Backtrace::new_unresolved`,
//! both walkers record only each frame's return address into a fixed
//! buffer (one exact allocation at the end): `new_unresolved` also asks the
//! unwinder for every frame's enclosing function *twice* (two more
//! unwind-table searches per frame).

#[cfg(all(feature = "fast-unwind", target_os = "linux", target_arch = "x86_64"))]
mod fast;
#[cfg(all(feature = "fast-unwind", target_os = "linux", target_arch = "x86_64"))]
mod modules;
mod system;

/// Most frames walked. A deeper stack (runaway recursion) is cut here: the
/// innermost frames, where the error arose, are the ones kept.
pub(crate) const MAX_WALK: usize = 256;

/// Return addresses of the calling thread's stack, innermost first,
/// starting with this function's caller (the SDK's frames above the host's
/// are trimmed by the worker when it resolves symbols).
#[inline(never)]
pub(crate) fn walk() -> Box<[usize]> {
    let mut buf = [0usize; MAX_WALK];
    // The walker's own frames (this one and the ones it calls) are the ones
    // whose stack pointer is at or below this frame's locals; every caller's
    // is above them. Skipping them costs one comparison a frame, unlike
    // matching function addresses, which needs an unwind-table search per
    // frame.
    let own_frame = std::ptr::addr_of!(buf) as usize;
    let n = fast_walk(&mut buf, own_frame).unwrap_or_else(|| system::walk(&mut buf, own_frame));
    buf.get(..n).unwrap_or_default().into()
}

/// Readies the fast walker: reads the unwind tables of the loaded modules.
/// Costs milliseconds; call it off the host's threads (the worker does, at
/// start). Until it has run, walks use the system unwinder.
pub(crate) fn prepare() {
    #[cfg(all(feature = "fast-unwind", target_os = "linux", target_arch = "x86_64"))]
    fast::prepare();
}

/// The fast walk, never unwinding into the host: a panic inside it (a bug
/// in the unwinder on unexpected unwind data) falls back to the system
/// walk and resets this thread's rule cache. (A walk re-entered from the
/// panic hook while that panic is raised finds the cache borrowed and uses
/// the system walk.)
#[cfg(all(feature = "fast-unwind", target_os = "linux", target_arch = "x86_64"))]
fn fast_walk(buf: &mut [usize], own_frame: usize) -> Option<usize> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fast::walk(buf, own_frame))).unwrap_or_else(|_| {
        fast::reset_thread();
        None
    })
}

#[cfg(not(all(feature = "fast-unwind", target_os = "linux", target_arch = "x86_64")))]
fn fast_walk(_buf: &mut [usize], _own_frame: usize) -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn recurse(depth: usize) -> Box<[usize]> {
        if depth == 0 {
            walk()
        } else {
            let r = recurse(depth - 1);
            std::hint::black_box(r)
        }
    }

    #[test]
    fn walk_records_this_stack_and_resolves_to_its_functions() {
        let ips = recurse(3);
        assert!(ips.len() >= 5, "{} frames", ips.len());
        let mut names = Vec::new();
        for &ip in ips.iter() {
            backtrace::resolve(ip as *mut std::ffi::c_void, |s| {
                if let Some(n) = s.name() {
                    names.push(format!("{n:#}"));
                }
            });
        }
        assert!(
            names[0].contains("stack::tests::recurse"),
            "the walker's frames are skipped: {names:?}"
        );
        assert!(
            names.iter().filter(|n| n.contains("stack::tests::recurse")).count() >= 3,
            "{names:?}"
        );
        assert!(names.iter().any(|n| n.contains("walk_records_this_stack")), "{names:?}");
    }

    #[test]
    fn runaway_recursion_is_cut_at_the_limit() {
        let ips = recurse(MAX_WALK + 50);
        assert_eq!(ips.len(), MAX_WALK);
    }

    #[cfg(all(feature = "fast-unwind", target_os = "linux", target_arch = "x86_64"))]
    mod fast_vs_system {
        use super::super::*;

        /// Both walkers from the same frame: (fast, system).
        #[inline(never)]
        fn walk_both() -> (Option<Vec<usize>>, Vec<usize>) {
            let mut buf = [0usize; MAX_WALK];
            let own_frame = std::ptr::addr_of!(buf) as usize;
            let fast = fast_walk(&mut buf, own_frame).map(|n| buf[..n].to_vec());
            let n = system::walk(&mut buf, own_frame);
            (fast, buf[..n].to_vec())
        }

        #[inline(never)]
        fn recurse_both(depth: usize) -> (Option<Vec<usize>>, Vec<usize>) {
            if depth == 0 {
                walk_both()
            } else {
                std::hint::black_box(recurse_both(depth - 1))
            }
        }

        #[test]
        fn fast_walk_agrees_with_the_system_unwinder_on_every_thread_kind() {
            prepare();
            let check = |what: &str, (fast, system): (Option<Vec<usize>>, Vec<usize>)| {
                let fast = fast.unwrap_or_else(|| panic!("{what}: the fast walker fell back"));
                assert!(system.len() >= 3, "{what}: {system:x?}");
                assert_eq!(fast, system, "{what}: fast vs system");
            };
            check("test thread", recurse_both(4));
            check("deep", recurse_both(100));
            let small = std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(|| recurse_both(20))
                .expect("spawn");
            check("64 KiB stack", small.join().expect("join"));
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .expect("runtime");
            let in_task = rt.block_on(async { tokio::spawn(async { recurse_both(3) }).await.expect("task") });
            check("tokio task", in_task);
            // Cut at the limit like the system walk.
            let (fast, system) = recurse_both(MAX_WALK + 10);
            assert_eq!(fast.map(|f| f.len()), Some(MAX_WALK));
            assert_eq!(system.len(), MAX_WALK);
        }
    }

    #[test]
    fn threads_walk_concurrently() {
        let handles: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..500).map(|_| recurse(8).len()).min().unwrap_or(0)))
            .collect();
        for h in handles {
            assert!(h.join().expect("walker thread") >= 9);
        }
    }
}
