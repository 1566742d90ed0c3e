//! The loaded modules (executable and shared libraries) and their unwind
//! tables, read from `/proc/self/maps` and the module files: no `unsafe`, no
//! reads of process memory.

use std::fs::File;
use std::ops::Range;

use framehop::ExplicitModuleSectionInfo;
use object::read::ReadCache;
use object::{Object, ObjectSection, ObjectSegment};

use crate::maps::Mapping;

/// One executable mapping of a module file and the unwind data for it.
pub(super) struct LoadedModule {
    /// The module file's path.
    pub(super) path: String,
    /// Where its code is mapped.
    pub(super) code: Range<u64>,
    /// Load bias: runtime address minus the address in the file.
    pub(super) bias: u64,
    /// The sections framehop unwinds with.
    pub(super) sections: ExplicitModuleSectionInfo<Vec<u8>>,
}

/// Reads the unwind sections of the file of every executable mapping. Mappings whose
/// file cannot be read or parsed, or has no `.eh_frame`, are left out (the
/// fast walker then does not know their addresses and falls back).
pub(super) fn load() -> Vec<LoadedModule> {
    crate::maps::current()
        .into_iter()
        .filter(|m| m.executable && m.is_file())
        .filter_map(|m| load_one(&m))
        .collect()
}

fn load_one(m: &Mapping) -> Option<LoadedModule> {
    let file = File::open(&m.path).ok()?;
    // `ReadCache` reads only the headers and the sections asked for, not the
    // whole file (a service's binary with debug info can be large).
    let cache = ReadCache::new(file);
    let obj = object::File::parse(&cache).ok()?;
    let bias = load_bias(&obj, m)?;
    let range = |name: &str| {
        let s = obj.section_by_name(name)?;
        Some(s.address()..s.address().checked_add(s.size())?)
    };
    let data = |name: &str| Some(obj.section_by_name(name)?.data().ok()?.to_vec());
    Some(LoadedModule {
        path: m.path.clone(),
        code: m.range.clone(),
        bias,
        sections: ExplicitModuleSectionInfo {
            base_svma: 0,
            text_svma: range(".text"),
            got_svma: range(".got"),
            eh_frame_svma: Some(range(".eh_frame")?),
            eh_frame: Some(data(".eh_frame")?),
            eh_frame_hdr_svma: range(".eh_frame_hdr"),
            eh_frame_hdr: data(".eh_frame_hdr"),
            ..Default::default()
        },
    })
}

/// Runtime address minus file address, from the segment that holds the
/// mapping's file offset. A segment is mapped from its page-aligned file
/// offset, so the mapping's offset may sit just below the segment's own, and
/// inside the file range of the segment before it: the segment starting
/// last at or before the offset is the one mapped.
fn load_bias<'d, R: object::ReadRef<'d>>(obj: &object::File<'d, R>, m: &Mapping) -> Option<u64> {
    const PAGE: u64 = 4096;
    let seg = obj
        .segments()
        .filter(|seg| {
            let (file_start, file_size) = seg.file_range();
            file_start & !(PAGE - 1) <= m.offset && file_start.checked_add(file_size).is_some_and(|end| m.offset < end)
        })
        .max_by_key(|seg| seg.file_range().0)?;
    // runtime(m.offset) = m.range.start; the file address of m.offset is
    // the segment's address - (the segment's file offset - m.offset).
    let (file_start, _) = seg.file_range();
    Some(
        m.range
            .start
            .wrapping_sub(seg.address().wrapping_add(m.offset).wrapping_sub(file_start)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_this_process_with_the_bias_of_its_code() {
        let modules = load();
        let this = modules
            .iter()
            .find(|m| {
                m.code
                    .contains(&(loads_this_process_with_the_bias_of_its_code as *const () as usize as u64))
            })
            .expect("the test binary is among the modules");
        // The function's file address is inside `.text` once the bias is taken off.
        let f = loads_this_process_with_the_bias_of_its_code as *const () as usize as u64;
        let text = this.sections.text_svma.clone().expect(".text");
        assert!(
            text.contains(&(f - this.bias)),
            "{:#x} - {:#x} not in {text:x?}",
            f,
            this.bias
        );
        assert!(modules.iter().any(|m| m.path.contains("libc")), "libc is loaded");
    }
}
