//! `/proc/self/maps`: which file is mapped where (Linux).

use std::ops::Range;

/// One line of a `/proc/<pid>/maps` text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "fast-unwind"), allow(dead_code))] // the fast walker reads all of it
pub(crate) struct Mapping {
    /// Where it is mapped.
    pub(crate) range: Range<u64>,
    /// Whether it is mapped executable (`x` in its permissions).
    pub(crate) executable: bool,
    /// The file offset mapped at `range.start`.
    pub(crate) offset: u64,
    /// The mapped file's path, or a pseudo-name (`[vdso]`, `[stack]`) or
    /// nothing for anonymous memory. A file deleted since it was mapped ends
    /// in ` (deleted)`.
    pub(crate) path: String,
}

#[cfg_attr(not(feature = "fast-unwind"), allow(dead_code))]
impl Mapping {
    /// Whether it maps a file that still exists under `path`.
    pub(crate) fn is_file(&self) -> bool {
        self.path.starts_with('/') && !self.path.ends_with(" (deleted)")
    }
}

/// The well-formed lines of a `/proc/<pid>/maps` text (others are skipped).
pub(crate) fn parse(maps: &str) -> Vec<Mapping> {
    maps.lines().filter_map(parse_line).collect()
}

/// The current process's mappings (empty when `/proc` is unreadable).
pub(crate) fn current() -> Vec<Mapping> {
    std::fs::read_to_string("/proc/self/maps")
        .map(|m| parse(&m))
        .unwrap_or_default()
}

fn parse_line(line: &str) -> Option<Mapping> {
    let mut fields = line.split_whitespace();
    let range = fields.next()?;
    let perms = fields.next()?;
    let offset = fields.next()?;
    let _dev = fields.next()?;
    let _inode = fields.next()?;
    // The path is the rest of the line (it may contain spaces).
    let path = fields.collect::<Vec<_>>().join(" ");
    let (start, end) = range.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let end = u64::from_str_radix(end, 16).ok()?;
    (start < end).then(|| Mapping {
        range: start..end,
        executable: perms.contains('x'),
        offset: u64::from_str_radix(offset, 16).unwrap_or(0),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_files_pseudo_names_and_anonymous_memory() {
        let maps = "\
55d0c0a00000-55d0c0a1b000 r--p 00000000 08:01 123 /srv/shop/bin/shop
55d0c0a1b000-55d0c0a79000 r-xp 0001a000 08:01 123 /srv/shop/bin/shop
7f00aa000000-7f00aa021000 rw-p 00000000 00:00 0
7f00ab200000-7f00ab201000 r-xp 00000000 08:01 789 /opt/my plugins/libp.so
7f00ab300000-7f00ab301000 r-xp 00000000 08:01 790 /tmp/gone.so (deleted)
7ffc1e5f2000-7ffc1e5f4000 r-xp 00000000 00:00 0 [vdso]
garbage line
";
        let m = parse(maps);
        assert_eq!(m.len(), 6, "{m:?}");
        assert_eq!(m[1].range, 0x55d0c0a1b000..0x55d0c0a79000);
        assert_eq!((m[1].offset, m[1].executable), (0x1a000, true));
        assert!(!m[0].executable);
        assert_eq!(m[2].path, "");
        assert_eq!(m[3].path, "/opt/my plugins/libp.so");
        let files: Vec<_> = m.iter().filter(|m| m.is_file()).map(|m| m.path.as_str()).collect();
        assert_eq!(
            files,
            ["/srv/shop/bin/shop", "/srv/shop/bin/shop", "/opt/my plugins/libp.so"]
        );
    }

    #[test]
    fn this_process_maps_its_executable() {
        let exe = std::fs::read_link("/proc/self/exe").expect("exe");
        assert!(current()
            .iter()
            .any(|m| m.executable && std::path::Path::new(&m.path) == exe));
    }
}
