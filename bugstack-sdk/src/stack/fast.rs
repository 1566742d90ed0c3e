//! The fast walker: DWARF CFI unwinding with `framehop` from the calling
//! function's registers, unwind rules cached per thread.
//!
//! Soundness rests on three small `unsafe` blocks, each bounded:
//! - reading `rip`, `rsp` and `rbp` with inline assembly (no memory access);
//! - asking the C library for the calling thread's stack bounds
//!   (`pthread_getattr_np`, once per thread);
//! - reading 8-byte words of the stack, only inside
//!   `[current stack pointer, top of this thread's stack)`: memory that is
//!   mapped and readable for as long as the walk runs. A wrong unwind rule
//!   can therefore yield a wrong address, never a fault; and any address
//!   outside the modules read by [`prepare`] ends the fast walk, so the
//!   caller falls back to the system unwinder.

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::sync::OnceLock;

use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{FrameAddress, Module, Unwinder};

/// The unwinder over the modules loaded when [`prepare`] ran.
struct Fast {
    unwinder: UnwinderX86_64<Vec<u8>>,
    /// The modules' code ranges, sorted by start.
    code: Vec<Range<u64>>,
}

impl Fast {
    fn knows(&self, address: u64) -> bool {
        let i = self.code.partition_point(|r| r.start <= address);
        i > 0 && self.code.get(i - 1).is_some_and(|r| r.contains(&address))
    }
}

static FAST: OnceLock<Fast> = OnceLock::new();

thread_local! {
    /// Unwind rules by address, for this thread's walks.
    static CACHE: RefCell<Option<Box<CacheX86_64>>> = const { RefCell::new(None) };
    /// This thread's stack (`start..end`); `0..0` before it is looked up,
    /// `1..1` when it cannot be.
    static STACK: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// Reads the unwind tables of the loaded modules (once per process).
pub(super) fn prepare() {
    FAST.get_or_init(|| {
        let mut unwinder = UnwinderX86_64::new();
        let mut code = Vec::new();
        for m in super::modules::load() {
            code.push(m.code.clone());
            unwinder.add_module(Module::new(m.path, m.code, m.bias, m.sections));
        }
        code.sort_by_key(|r| r.start);
        Fast { unwinder, code }
    });
}

/// Walks the calling thread's stack into `buf`, skipping frames whose stack
/// pointer is at or below `own_frame`. `None` when the fast walker is not
/// ready or meets something it does not know: the caller then walks with
/// the system unwinder.
#[inline(never)] // its own frame, below the caller's `own_frame`
pub(super) fn walk(buf: &mut [usize], own_frame: usize) -> Option<usize> {
    let fast = FAST.get()?;
    let stack = thread_stack()?;
    let (pc, sp, bp) = registers();
    let sp_now = usize::try_from(sp).ok()?;
    if !stack.contains(&sp_now) {
        // An alternate signal stack or a coroutine's stack: not ours to read.
        return None;
    }
    let mut read_stack = |address: u64| -> Result<u64, ()> {
        let a = usize::try_from(address).map_err(|_| ())?;
        if a < sp_now || a.checked_add(8).is_none_or(|end| end > stack.end) || a % 8 != 0 {
            return Err(());
        }
        // SAFETY: `a..a + 8` is 8-aligned and inside this thread's stack, at
        // or above the stack pointer of this function, whose frame is live
        // for the whole walk: mapped, readable memory. A volatile read of
        // plain bytes (return addresses, saved registers) has no validity
        // requirement beyond that.
        #[allow(unsafe_code)]
        let word = unsafe { std::ptr::read_volatile(a as *const u64) };
        Ok(word)
    };
    CACHE
        .try_with(|cell| {
            // A walk re-entered on this thread (from the panic hook, should
            // the unwinder panic mid-walk) finds the cache borrowed: fall back.
            let mut slot = cell.try_borrow_mut().ok()?;
            let cache = slot.get_or_insert_with(|| Box::new(CacheX86_64::new()));
            let mut regs = UnwindRegsX86_64::new(pc, sp, bp);
            let mut address = FrameAddress::InstructionPointer(pc);
            let mut n = 0;
            let mut last_sp = sp;
            // Every step must move up the stack; the bound also stops a
            // walk that would loop.
            for _ in 0..buf.len() + 64 {
                match fast.unwinder.unwind_frame(address, &mut regs, cache, &mut read_stack) {
                    Ok(Some(ret)) => {
                        if regs.sp() <= last_sp || !fast.knows(ret.wrapping_sub(1)) {
                            return None;
                        }
                        last_sp = regs.sp();
                        address = FrameAddress::from_return_address(ret)?;
                        if n == 0 && usize::try_from(regs.sp()).ok()? <= own_frame {
                            continue;
                        }
                        let slot = buf.get_mut(n)?;
                        *slot = usize::try_from(ret).ok()?;
                        n += 1;
                        if n == buf.len() {
                            return Some(n);
                        }
                    }
                    Ok(None) => return Some(n),
                    Err(_) => return None,
                }
            }
            None
        })
        .ok()
        .flatten()
}

/// Drops this thread's rule cache (after a panic inside a walk).
pub(super) fn reset_thread() {
    let _ = CACHE.try_with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            *slot = None;
        }
    });
}

/// `rip`, `rsp` and `rbp` where this is inlined.
#[inline(always)]
#[allow(unsafe_code)]
fn registers() -> (u64, u64, u64) {
    let (pc, sp, bp): (u64, u64, u64);
    // SAFETY: copies three registers into general-purpose registers; no
    // memory access, no stack adjustment, flags untouched.
    unsafe {
        std::arch::asm!(
            "lea {pc}, [rip]",
            "mov {sp}, rsp",
            "mov {bp}, rbp",
            pc = out(reg) pc,
            sp = out(reg) sp,
            bp = out(reg) bp,
            options(nomem, nostack, preserves_flags),
        );
    }
    (pc, sp, bp)
}

/// The calling thread's stack, looked up once per thread.
fn thread_stack() -> Option<Range<usize>> {
    let (start, end) = STACK
        .try_with(|s| {
            if s.get() == (0, 0) {
                s.set(lookup_thread_stack().unwrap_or((1, 1)));
            }
            s.get()
        })
        .ok()?;
    (start < end).then_some(start..end)
}

#[allow(unsafe_code)]
fn lookup_thread_stack() -> Option<(usize, usize)> {
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `pthread_getattr_np` initializes `attr` for the calling thread
    // when it returns 0 (only then is it read, and then destroyed once).
    // `pthread_attr_getstack` writes the stack's lowest address and size
    // into the two out-pointers, which point to live locals.
    unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let mut base: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let r = libc::pthread_attr_getstack(attr.as_ptr(), &mut base, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        if r != 0 || base.is_null() {
            return None;
        }
        let start = base as usize;
        Some((start, start.checked_add(size)?))
    }
}
