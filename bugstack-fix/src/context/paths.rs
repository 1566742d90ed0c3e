//! Mapping the source paths recorded in stack frames to files tracked in the
//! repository.
//!
//! rustc records paths as it was given them: relative to the workspace root
//! for workspace members (`crates/x/src/lib.rs`, `src/lib.rs`), absolute for
//! path dependencies and for builds run elsewhere (`/home/ci/build/shop/src/cart.rs`),
//! and inside `~/.cargo/registry` or `/rustc/<hash>/library` for dependencies
//! and the standard library. A path maps to the tracked file sharing the
//! longest run of trailing components with it; ties go to the file whose
//! directories name the frame's crate, then to the shorter path.

use std::collections::{HashMap, HashSet};

/// Whether `path` points into the cargo registry, a git dependency checkout
/// or the standard library: such frames are context, never fix targets.
pub(crate) fn is_external(path: &str) -> bool {
    let p = path.replace('\\', "/");
    p.contains("/.cargo/registry/")
        || p.contains("/.cargo/git/checkouts/")
        || p.starts_with("/rustc/")
        || p.contains("/rustlib/src/rust/library/")
        || p.contains("/.rustup/toolchains/")
        || p.starts_with("library/std/")
        || p.starts_with("library/core/")
        || p.starts_with("library/alloc/")
        || p.starts_with('<')
}

/// Splits a recorded path into normal components: `\` as `/`, no `.`, `..`
/// applied where it can be (leading ones dropped).
fn components(path: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split(['/', '\\']) {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// How well a tracked file matches a recorded path: shared trailing
/// components, names the crate, is matched whole, shorter.
type Score = (usize, bool, bool, std::cmp::Reverse<usize>);

fn crate_dir_names(name: &str) -> [String; 2] {
    [name.replace('_', "-"), name.replace('-', "_")]
}

/// The tracked files of a commit, indexed by file name for suffix matching.
pub(crate) struct FileIndex {
    files: Vec<String>,
    set: HashSet<String>,
    by_name: HashMap<String, Vec<usize>>,
}

impl FileIndex {
    /// Indexes `files` (paths relative to the repository root).
    pub(crate) fn new(files: Vec<String>) -> Self {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            let name = f.rsplit('/').next().unwrap_or(f);
            by_name.entry(name.to_string()).or_default().push(i);
        }
        let set = files.iter().cloned().collect();
        FileIndex { files, set, by_name }
    }

    /// Every tracked path.
    pub(crate) fn files(&self) -> &[String] {
        &self.files
    }

    /// Whether `path` is tracked.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.set.contains(path)
    }

    /// The tracked file a frame's recorded `path` points to, if any.
    /// `crate_name` (the first segment of the frame's function path) breaks
    /// ties between crates that have files of the same relative path.
    pub(crate) fn map(&self, path: &str, crate_name: Option<&str>) -> Option<String> {
        if is_external(path) {
            return None;
        }
        let comps = components(path);
        let name = comps.last()?;
        let relative = !path.starts_with('/') && !path.contains(":\\") && !path.contains(":/");
        if relative {
            let joined = comps.join("/");
            if self.set.contains(&joined) {
                return Some(joined);
            }
        }
        let crate_dirs = crate_name.map(crate_dir_names);
        let mut best: Option<(Score, &String)> = None;
        for &i in self.by_name.get(*name)? {
            let cand = &self.files[i];
            let cand_comps: Vec<&str> = cand.split('/').collect();
            let shared = comps
                .iter()
                .rev()
                .zip(cand_comps.iter().rev())
                .take_while(|(a, b)| a == b)
                .count();
            let whole = shared == cand_comps.len();
            // One shared component (the file name) is only evidence enough
            // when it is the whole tracked path (`build.rs` at the root).
            if shared < 2 && !whole {
                continue;
            }
            let names_crate = crate_dirs.as_ref().is_some_and(|dirs| {
                cand_comps[..cand_comps.len() - 1]
                    .iter()
                    .any(|c| dirs.iter().any(|d| d == c))
            });
            let score = (shared, names_crate, whole, std::cmp::Reverse(cand.len()));
            let better = match &best {
                None => true,
                Some((s, c)) => score > *s || (score == *s && cand < *c),
            };
            if better {
                best = Some((score, cand));
            }
        }
        best.map(|(_, c)| c.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> FileIndex {
        FileIndex::new(
            [
                "Cargo.toml",
                "build.rs",
                "src/lib.rs",
                "src/cart.rs",
                "crates/shop/src/lib.rs",
                "crates/shop/src/cart.rs",
                "crates/billing/src/lib.rs",
                "shared/util/src/lib.rs",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        )
    }

    #[test]
    fn maps_relative_absolute_and_excludes_registry() {
        let ix = index();
        assert_eq!(ix.map("src/cart.rs", None).as_deref(), Some("src/cart.rs"));
        assert_eq!(
            ix.map("crates/shop/src/cart.rs", None).as_deref(),
            Some("crates/shop/src/cart.rs")
        );
        assert_eq!(
            ix.map("/home/ci/build/crates/shop/src/cart.rs", None).as_deref(),
            Some("crates/shop/src/cart.rs")
        );
        assert_eq!(
            ix.map("/home/ci/build/billing/src/lib.rs", Some("billing")).as_deref(),
            Some("crates/billing/src/lib.rs")
        );
        assert_eq!(ix.map("/x/src/lib.rs", None).as_deref(), Some("src/lib.rs"));
        assert_eq!(
            ix.map("/home/ci/build/crates/shop/../../shared/util/src/lib.rs", None)
                .as_deref(),
            Some("shared/util/src/lib.rs")
        );
        assert_eq!(ix.map("C:\\build\\src\\cart.rs", None).as_deref(), Some("src/cart.rs"));
        assert_eq!(
            ix.map(
                "/home/u/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde-1.0.0/src/lib.rs",
                None
            ),
            None
        );
        assert_eq!(
            ix.map(
                "/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/option.rs",
                None
            ),
            None
        );
        assert_eq!(ix.map("/elsewhere/other.rs", None), None);
        assert_eq!(ix.map("/elsewhere/tests/lib.rs", None), None);
        assert_eq!(ix.map("/elsewhere/build.rs", None).as_deref(), Some("build.rs"));
    }
}
