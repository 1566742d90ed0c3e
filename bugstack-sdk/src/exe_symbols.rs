//! Symbol resolution for addresses inside the main executable (Linux), with
//! `addr2line` over `/proc/self/exe`, so that the worker's resolution never
//! takes the `backtrace` crate's process-wide lock — the lock that the
//! calling threads take to walk their stacks. Addresses outside the
//! executable (shared libraries such as libc) fall back to `backtrace`.
//!
//! The load bias comes from `/proc/self/maps` (where the file's offset 0 is
//! mapped) and the ELF program headers (the address that offset 0 was linked at).

use std::path::Path;

/// A resolved symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExeSym {
    pub(crate) function: Option<String>,
    pub(crate) file: Option<String>,
    pub(crate) line: Option<u32>,
    pub(crate) column: Option<u32>,
}

/// Debug info of the running executable and where it is mapped.
pub(crate) struct ExeSymbols {
    loader: addr2line::Loader,
    bias: u64,
    ranges: Vec<(u64, u64)>,
}

impl ExeSymbols {
    /// Loads the running executable's debug info; `None` when that is not
    /// possible (not Linux, no `/proc`, not ELF64 little-endian, ...).
    pub(crate) fn open() -> Option<Self> {
        let exe = std::fs::read_link("/proc/self/exe").ok()?;
        let (ranges, base) = exe_mappings(crate::maps::current(), &exe)?;
        let linked_at = first_load_vaddr(&exe)?;
        let loader = addr2line::Loader::new(&exe).ok()?;
        Some(ExeSymbols {
            loader,
            bias: base.wrapping_sub(linked_at),
            ranges,
        })
    }

    /// Symbols for a return address `ip` (innermost inlined frame first), or
    /// `None` when `ip` is outside the executable.
    pub(crate) fn resolve(&self, ip: u64) -> Option<Vec<ExeSym>> {
        if !self.ranges.iter().any(|&(s, e)| ip >= s && ip < e) {
            return None;
        }
        // A return address points after the call: look up the call itself.
        let probe = ip.wrapping_sub(self.bias).wrapping_sub(1);
        let mut out = Vec::new();
        if let Ok(mut frames) = self.loader.find_frames(probe) {
            while let Ok(Some(f)) = frames.next() {
                let function = f
                    .function
                    .as_ref()
                    .and_then(|n| n.demangle().ok())
                    .map(|n| n.into_owned());
                let (file, line, column) = match f.location {
                    Some(l) => (l.file.map(str::to_string), l.line, l.column),
                    None => (None, None, None),
                };
                out.push(ExeSym {
                    function,
                    file,
                    line,
                    column,
                });
            }
        }
        if out.iter().all(|s| s.function.is_none()) {
            // Line tables without function names (`debug = "line-tables-only"`
            // keeps no inlining): the symbol table names the function, and
            // the line tables still say where in it the call is.
            if let Some(name) = self.loader.find_symbol(probe) {
                let function = addr2line::demangle_auto(name.into(), None).into_owned();
                match out.last_mut() {
                    Some(outermost) => outermost.function = Some(function),
                    None => out.push(ExeSym {
                        function: Some(function),
                        file: None,
                        line: None,
                        column: None,
                    }),
                }
            }
        }
        Some(out)
    }
}

/// The address ranges where `exe` is mapped, and the start of the mapping of
/// its file offset 0.
fn exe_mappings(maps: Vec<crate::maps::Mapping>, exe: &Path) -> Option<(Vec<(u64, u64)>, u64)> {
    let mine: Vec<_> = maps.into_iter().filter(|m| Path::new(&m.path) == exe).collect();
    let base = mine.iter().filter(|m| m.offset == 0).map(|m| m.range.start).min()?;
    Some((mine.iter().map(|m| (m.range.start, m.range.end)).collect(), base))
}

/// The virtual address of the `PT_LOAD` segment at file offset 0 (ELF64 LE),
/// rounded down to its page.
fn first_load_vaddr(exe: &Path) -> Option<u64> {
    use std::io::Read;
    let mut head = vec![0u8; 64 * 1024];
    let mut f = std::fs::File::open(exe).ok()?;
    let n = f.read(&mut head).ok()?;
    head.truncate(n);
    parse_first_load_vaddr(&head)
}

fn parse_first_load_vaddr(h: &[u8]) -> Option<u64> {
    let u16_at = |o: usize| h.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| h.get(o..o + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
    let u64_at = |o: usize| h.get(o..o + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
    // "\x7fELF", ELFCLASS64, little-endian.
    if h.get(0..4)? != b"\x7fELF" || *h.get(4)? != 2 || *h.get(5)? != 1 {
        return None;
    }
    let phoff = usize::try_from(u64_at(32)?).ok()?;
    let phentsize = usize::from(u16_at(54)?);
    let phnum = usize::from(u16_at(56)?);
    for i in 0..phnum {
        let p = phoff + i * phentsize;
        const PT_LOAD: u32 = 1;
        if u32_at(p)? == PT_LOAD && u64_at(p + 8)? == 0 {
            let vaddr = u64_at(p + 16)?;
            return Some(vaddr & !0xfff);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of this function resolves to its file and line, whatever
    /// the debug info holds besides line tables (the workspace's test
    /// profile is `debug = "line-tables-only"`, where the function's name
    /// comes from the symbol table).
    #[test]
    #[inline(never)]
    fn a_frame_keeps_its_file_and_line() {
        let exe = ExeSymbols::open().expect("debug info of the test binary");
        let bt = backtrace::Backtrace::new();
        let here = bt
            .frames()
            .iter()
            .find(|f| {
                f.symbols().iter().any(|s| {
                    s.name()
                        .is_some_and(|n| format!("{n:#}").ends_with("a_frame_keeps_its_file_and_line"))
                })
            })
            .expect("this function on the stack");
        let syms = exe.resolve(here.ip() as u64).expect("inside the executable");
        let outer = syms.last().expect("a symbol");
        assert!(
            outer
                .function
                .as_deref()
                .is_some_and(|f| f.ends_with("a_frame_keeps_its_file_and_line")),
            "{:?}",
            outer.function
        );
        assert!(
            syms.iter()
                .any(|s| s.file.as_deref().is_some_and(|f| f.ends_with("exe_symbols.rs")) && s.line.is_some()),
            "file and line kept: {:?}",
            syms.iter().map(|s| (&s.function, &s.file, s.line)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn agrees_with_backtrace_on_this_stack() {
        let exe = ExeSymbols::open().expect("debug info of the test binary");
        let bt = backtrace::Backtrace::new();
        let mut compared = 0;
        for frame in bt.frames() {
            let Some(ours) = exe.resolve(frame.ip() as u64) else {
                continue;
            };
            let theirs: Vec<String> = frame
                .symbols()
                .iter()
                .filter_map(|s| s.name().map(|n| format!("{n:#}")))
                .collect();
            let ours: Vec<String> = ours.into_iter().filter_map(|s| s.function).collect();
            if !theirs.is_empty() {
                assert_eq!(ours, theirs, "same symbols for {:?}", frame.ip());
                compared += 1;
            }
        }
        assert!(compared >= 3, "compared {compared} frames");
    }

    #[test]
    fn elf_header_parsing() {
        assert_eq!(parse_first_load_vaddr(b"not an elf"), None);
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        assert!(first_load_vaddr(&exe).is_some());
    }

    #[test]
    fn maps_parsing() {
        let maps = "55d0a0000000-55d0a0010000 r--p 00000000 08:01 123 /srv/app\n\
                    55d0a0010000-55d0a0020000 r-xp 00010000 08:01 123 /srv/app\n\
                    7f0000000000-7f0000001000 r-xp 00000000 08:01 456 /usr/lib/libc.so.6\n";
        let (ranges, base) = exe_mappings(crate::maps::parse(maps), Path::new("/srv/app")).unwrap();
        assert_eq!(ranges.len(), 2);
        assert_eq!(base, 0x55d0a0000000);
        assert!(exe_mappings(crate::maps::parse(maps), Path::new("/other")).is_none());
    }
}
