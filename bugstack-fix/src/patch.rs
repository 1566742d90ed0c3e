//! Patches: a unified diff plus what a reviewer and the scorer need to know
//! about it.
//!
//! Diffs use git's format (`diff --git a/p b/p`, `--- a/p`, `+++ b/p`,
//! `@@ -l,n +l,n @@` hunks), so `git apply` takes them as they are.
//! [`apply_diff`] applies one strictly in memory (context must match), which
//! is how a generator proves a diff applies before it leaves the generator.

use std::collections::BTreeMap;

use bugstack_core::omit_empty;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A regression test that comes with a patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegressionTest {
    /// File the test lives in (part of the diff).
    pub path: String,
    /// Test name as `cargo test` filters it (e.g. `cart::tests::empty_cart`).
    pub name: String,
    /// Cargo features the test needs (`--features`): the ones gating the
    /// API it calls. The test file says so itself (`#![cfg(feature = ..)]`),
    /// so the crate's own checks without them skip it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// A candidate fix.
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Patch {
    /// The unified diff (git format).
    pub diff: String,
    /// Repository-relative paths the diff touches.
    #[serialize_always]
    pub files: Vec<String>,
    /// Lines added.
    pub lines_added: u32,
    /// Lines removed.
    pub lines_removed: u32,
    /// Which generator produced it (`template`, `llm:gpt-4o-mini`, ...).
    pub generator: String,
    /// The panic class the generator recognised (`unwrap-none`,
    /// `index-oob`, ...), when it did.
    pub class: Option<String>,
    /// Root cause in plain words.
    pub root_cause: String,
    /// What the change does, in plain words.
    pub explanation: String,
    /// A regression test added by the patch, when there is one.
    pub regression_test: Option<RegressionTest>,
    /// The model's own confidence (0..=1), when it gave one.
    pub model_confidence: Option<f64>,
    /// Every candidate the generator had for this site, best first, with
    /// the one this patch is marked [`Candidate::chosen`] (empty when the
    /// generator does not rank; the template generator does).
    pub candidates: Vec<Candidate>,
    /// The existing error the fix returns when none names the panic's
    /// words (`Error::BacktrackLimitExceeded` for a slice out of range):
    /// reused because it is the nearest, so callers may be told the wrong
    /// cause. Such a fix is proposed for review, never auto-merged.
    pub borrowed_error: Option<String>,
    /// The value the fix makes up where the code panicked, when it gives
    /// one the code never chose (`` `0` `` from a guard in a function
    /// returning `usize`, a saturated bound, the type's default, a moved
    /// cut): the panic is gone, but whether callers should get that value
    /// is a maintainer's call. Such a fix is proposed for review, never
    /// auto-merged. `None` when the fix returns the function's own error
    /// or `None`, or gives up the code's own way.
    pub invented_value: Option<String>,
}

/// One candidate fix a generator considered for the site, in its ranking.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Candidate {
    /// 1-based rank (1 = the generator's first choice).
    pub rank: u32,
    /// The strategy's short name (`checked-error`, `guard-return`, ...).
    pub strategy: String,
    /// What it does, in one sentence.
    pub summary: String,
    /// Whether this is the patch it is listed in.
    pub chosen: bool,
    /// Why it was or was not chosen (`first untried`, `tried in attempt 1:
    /// failed its checks`).
    pub note: String,
}

/// Method calls whose added use gives a value the code did not compute: a
/// fallback or a saturated bound.
const FALLBACK_CALLS: [&str; 6] = [
    ".unwrap_or(",
    ".unwrap_or_default()",
    ".unwrap_or_else(",
    ".map_or(",
    ".map_or_else(",
    ".saturating_",
];

impl Patch {
    /// The first added source line that writes a fallback value or a
    /// saturated bound (`.unwrap_or(..)`, `.unwrap_or_default()`,
    /// `.map_or(..)`, `saturating_*`, ...), read from the diff, for a fix
    /// whose generator does not say what it makes up (a model's patch; see
    /// [`Patch::invented_value`]). Files under a `tests/` directory are left
    /// out, and so is every added line `is_test(path, line)` says is test
    /// code (`line` is 1-based in the patched file); a line already in the
    /// file is not added.
    pub fn fallback_in_diff(&self, is_test: impl Fn(&str, usize) -> bool) -> Option<String> {
        let files = parse_diff(&self.diff).ok()?;
        for f in files
            .iter()
            .filter(|f| !f.path().split('/').any(|part| part == "tests"))
        {
            for (at, added) in f.hunks.iter().flat_map(Hunk::added_lines) {
                let code = added.split("//").next().unwrap_or_default().trim();
                if FALLBACK_CALLS.iter().any(|c| code.contains(c)) && !is_test(f.path(), at) {
                    return Some(format!(
                        "a fallback value (`{}`)",
                        bugstack_core::text::ellipsize(code, 80).replace('`', "'")
                    ));
                }
            }
        }
        None
    }

    /// Added + removed lines.
    pub fn changed_lines(&self) -> u32 {
        self.lines_added + self.lines_removed
    }

    /// A patch from a ready diff: files and line counts are read from it.
    pub fn from_diff(diff: impl Into<String>) -> Result<Patch> {
        let diff = diff.into();
        let parsed = parse_diff(&diff)?;
        let mut p = Patch {
            files: parsed.iter().map(|f| f.path().to_string()).collect(),
            ..Patch::default()
        };
        for f in &parsed {
            for h in &f.hunks {
                for l in &h.lines {
                    match l {
                        HunkLine::Add(_) => p.lines_added += 1,
                        HunkLine::Remove(_) => p.lines_removed += 1,
                        HunkLine::Context(_) => {}
                    }
                }
            }
        }
        p.diff = diff;
        Ok(p)
    }

    /// A patch from whole-file edits: the diff is computed (3 lines of
    /// context).
    pub fn from_edits(edits: &[FileEdit]) -> Result<Patch> {
        let mut diff = String::new();
        for e in edits {
            diff.push_str(&unified_diff(&e.path, &e.before, &e.after));
        }
        Patch::from_diff(diff)
    }

    /// The hash of this patch's normalised diff ([`patch_hash`]): the same
    /// change proposed twice has the same hash.
    pub fn normalized_hash(&self) -> String {
        patch_hash(&self.diff)
    }

    /// This patch's diff applied to `files` (path → text); the touched files'
    /// new text. Fails when a file is missing or a hunk's context does not
    /// match.
    pub fn apply_to(&self, files: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
        apply_diff(&self.diff, files)
    }
}

/// The hash (SHA-256, lowercase hex) of a diff after normalisation, so the
/// same change hashes the same however it was rendered: line endings become
/// `\n`, trailing whitespace and blank lines go, `index` lines (blob ids)
/// are dropped, and hunk headers lose their line numbers (`@@`), so the
/// change is recognised after the file moved under it.
pub fn patch_hash(diff: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for line in diff.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with("index ") {
            continue;
        }
        let line = if line.starts_with("@@") { "@@" } else { line };
        h.update(line.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One file's text before and after an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdit {
    /// Repository-relative path.
    pub path: String,
    /// Text before.
    pub before: String,
    /// Text after.
    pub after: String,
}

/// A git-format unified diff of one file (empty when the texts are equal).
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    let diff = similar::TextDiff::from_lines(before, after);
    let body = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    format!("diff --git a/{path} b/{path}\n{body}")
}

/// A line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HunkLine {
    /// Unchanged (` `), text without the marker and newline.
    Context(String),
    /// Removed (`-`).
    Remove(String),
    /// Added (`+`).
    Add(String),
}

/// One `@@` hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hunk {
    /// 1-based first line in the old file (0 for an empty old file).
    pub old_start: usize,
    /// 1-based first line in the new file, as the header says (the old
    /// start when the header gives none).
    pub new_start: usize,
    /// The hunk's lines.
    pub lines: Vec<HunkLine>,
    /// Whether the new side ends without a newline at end of file.
    pub new_missing_newline: bool,
}

/// Which side of a hunk: the file before the change, or after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Context and removed lines.
    Old,
    /// Context and added lines.
    New,
}

impl Hunk {
    /// The hunk's lines as they stand on `side`.
    pub(crate) fn side(&self, side: Side) -> Vec<&str> {
        self.lines
            .iter()
            .filter_map(|l| match (l, side) {
                (HunkLine::Context(s), _) | (HunkLine::Remove(s), Side::Old) | (HunkLine::Add(s), Side::New) => {
                    Some(s.as_str())
                }
                _ => None,
            })
            .collect()
    }

    /// The lines the hunk adds, each with its 1-based line in the new file.
    pub(crate) fn added_lines(&self) -> impl Iterator<Item = (usize, &str)> {
        let mut line = self.new_start;
        self.lines.iter().filter_map(move |l| match l {
            HunkLine::Context(_) => {
                line += 1;
                None
            }
            HunkLine::Remove(_) => None,
            HunkLine::Add(text) => {
                line += 1;
                Some((line - 1, text.as_str()))
            }
        })
    }
}

/// One file's part of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileDiff {
    /// Old path (`None` for a created file).
    pub old_path: Option<String>,
    /// New path (`None` for a deleted file).
    pub new_path: Option<String>,
    /// Hunks in order.
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    /// The path this diff is about (new path, else old path).
    pub(crate) fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or_default()
    }
}

fn strip_prefix_path(raw: &str) -> Option<String> {
    let p = raw.split('\t').next().unwrap_or(raw).trim();
    if p == "/dev/null" {
        return None;
    }
    let p = p.strip_prefix("a/").or_else(|| p.strip_prefix("b/")).unwrap_or(p);
    Some(p.to_string())
}

fn parse_range_start(spec: &str) -> Option<usize> {
    spec.split(',').next()?.parse().ok()
}

/// Parses a unified diff (git format or plain `---`/`+++`). Rejects text
/// that has no file header or no hunk, or a hunk with a bad line.
pub(crate) fn parse_diff(diff: &str) -> Result<Vec<FileDiff>> {
    let mut files: Vec<FileDiff> = Vec::new();
    let mut lines = diff.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(old) = line.strip_prefix("--- ") {
            let Some(new) = lines.next().and_then(|l| l.strip_prefix("+++ ")) else {
                return Err(Error::PatchDoesNotApply(format!(
                    "`--- {old}` is not followed by a `+++` line"
                )));
            };
            files.push(FileDiff {
                old_path: strip_prefix_path(old),
                new_path: strip_prefix_path(new),
                hunks: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("@@ ") {
            let Some(file) = files.last_mut() else {
                return Err(Error::PatchDoesNotApply("hunk before any file header".into()));
            };
            let old_spec = rest
                .split_whitespace()
                .next()
                .and_then(|s| s.strip_prefix('-'))
                .ok_or_else(|| Error::PatchDoesNotApply(format!("bad hunk header: {line}")))?;
            let old_start = parse_range_start(old_spec)
                .ok_or_else(|| Error::PatchDoesNotApply(format!("bad hunk header: {line}")))?;
            let new_start = rest
                .split_whitespace()
                .find_map(|s| s.strip_prefix('+'))
                .and_then(parse_range_start)
                .unwrap_or(old_start);
            let mut hunk = Hunk {
                old_start,
                new_start,
                lines: Vec::new(),
                new_missing_newline: false,
            };
            while let Some(&next) = lines.peek() {
                let parsed = match next.as_bytes().first() {
                    Some(b' ') => HunkLine::Context(next[1..].to_string()),
                    Some(b'-') if !next.starts_with("--- ") => HunkLine::Remove(next[1..].to_string()),
                    Some(b'+') if !next.starts_with("+++ ") => HunkLine::Add(next[1..].to_string()),
                    Some(b'\\') => {
                        if matches!(hunk.lines.last(), Some(HunkLine::Add(_)) | Some(HunkLine::Context(_))) {
                            hunk.new_missing_newline = true;
                        }
                        lines.next();
                        continue;
                    }
                    // An empty line inside a hunk is an empty context line
                    // (some tools strip the trailing space).
                    None => HunkLine::Context(String::new()),
                    _ => break,
                };
                hunk.lines.push(parsed);
                lines.next();
            }
            if hunk.lines.is_empty() {
                return Err(Error::PatchDoesNotApply(format!("empty hunk: {line}")));
            }
            file.hunks.push(hunk);
        }
    }
    if files.is_empty() {
        return Err(Error::PatchDoesNotApply(
            "no file header (`--- a/...` / `+++ b/...`) found".into(),
        ));
    }
    if let Some(f) = files.iter().find(|f| f.hunks.is_empty()) {
        return Err(Error::PatchDoesNotApply(format!("no hunk for {}", f.path())));
    }
    Ok(files)
}

/// Applies a diff to in-memory files (path → text) and returns the new text
/// of every touched file (deleted files map to an empty string). Each hunk
/// must match exactly; it may sit at a different line than its header says.
pub(crate) fn apply_diff(diff: &str, files: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for fd in parse_diff(diff)? {
        let original = match &fd.old_path {
            None => String::new(),
            Some(p) => out
                .get(p)
                .or_else(|| files.get(p))
                .cloned()
                .ok_or_else(|| Error::PatchDoesNotApply(format!("{p}: file not found")))?,
        };
        let ends_with_newline = original.is_empty() || original.ends_with('\n');
        // Lines are matched without their endings; the result keeps the
        // file's own (`\r\n` when its first line has it), so a patched CRLF
        // file stays CRLF, as `git apply` leaves it.
        let eol = match original.split_once('\n') {
            Some((first, _)) if first.ends_with('\r') => "\r\n",
            _ => "\n",
        };
        let mut current: Vec<String> = original.lines().map(str::to_string).collect();
        let mut shift: isize = 0;
        let mut missing_newline = !ends_with_newline;
        for (i, hunk) in fd.hunks.iter().enumerate() {
            let old = hunk.side(Side::Old);
            let new = hunk.side(Side::New);
            let expected = (hunk.old_start.saturating_sub(1) as isize + shift).max(0) as usize;
            let at = find_block(&current, &old, expected).ok_or_else(|| {
                Error::PatchDoesNotApply(format!(
                    "{}: hunk {} (at line {}) does not match the file",
                    fd.path(),
                    i + 1,
                    hunk.old_start
                ))
            })?;
            let touches_end = at + old.len() == current.len();
            current.splice(at..at + old.len(), new.iter().map(|l| l.to_string()));
            shift += new.len() as isize - old.len() as isize;
            if touches_end {
                missing_newline = hunk.new_missing_newline;
            }
        }
        let mut text = current.join(eol);
        if !current.is_empty() && !missing_newline {
            text.push_str(eol);
        }
        if fd.new_path.is_none() {
            text.clear();
        }
        out.insert(fd.path().to_string(), text);
    }
    Ok(out)
}

fn find_block(haystack: &[String], needle: &[&str], expected: usize) -> Option<usize> {
    if needle.is_empty() {
        return Some(expected.min(haystack.len()));
    }
    if needle.len() > haystack.len() {
        return None;
    }
    let last = haystack.len() - needle.len();
    let matches = |at: usize| haystack[at..at + needle.len()].iter().zip(needle).all(|(a, b)| a == b);
    let expected = expected.min(last);
    (0..=last.max(expected)).find_map(|d| {
        [expected.checked_sub(d), expected.checked_add(d).filter(|&p| p <= last)]
            .into_iter()
            .flatten()
            .find(|&p| matches(p))
    })
}

#[cfg(test)]
mod tests {
    /// A model's fallback in source is found; the same call in a test
    /// file, in a comment, or on a context line is not.
    #[test]
    fn fallbacks_are_read_from_added_source_lines() {
        let patch = |diff: &str| super::Patch {
            diff: diff.into(),
            ..super::Patch::default()
        };
        let source = "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -4,3 +4,3 @@\n fn f(a: u32, b: u32) -> u32 {\n-    a / b\n+    a.checked_div(b).unwrap_or(0)\n }\n";
        assert_eq!(
            patch(source).fallback_in_diff(|_, _| false).as_deref(),
            Some("a fallback value (`a.checked_div(b).unwrap_or(0)`)")
        );
        let saturating = source.replace("checked_div(b).unwrap_or(0)", "saturating_sub(b)");
        assert!(patch(&saturating).fallback_in_diff(|_, _| false).is_some());
        let in_tests = source.replace("src/lib.rs", "tests/ratio.rs");
        assert_eq!(patch(&in_tests).fallback_in_diff(|_, _| false), None);
        let commented = source.replace(
            "a.checked_div(b).unwrap_or(0)",
            "a.checked_div(b)? // not .unwrap_or(0)",
        );
        assert_eq!(patch(&commented).fallback_in_diff(|_, _| false), None);
        // Line 5 of the patched file is the added line (the hunk starts at 4).
        let test_code = |path: &str, line: usize| path == "src/lib.rs" && line == 5;
        assert_eq!(patch(source).fallback_in_diff(test_code), None);
        let context = "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,2 +1,3 @@\n let x = y.unwrap_or(0);\n+let z = x.checked_add(1)?;\n";
        assert_eq!(patch(context).fallback_in_diff(|_, _| false), None);
    }

    #[test]
    fn patch_hashes_ignore_rendering_but_not_the_change() {
        let a = "diff --git a/src/x.rs b/src/x.rs\nindex 111..222 100644\n--- a/src/x.rs\n+++ b/src/x.rs\n\
                 @@ -1,2 +1,2 @@\n fn f() {\n-    a / b\n+    a.checked_div(b)\n";
        let moved = "diff --git a/src/x.rs b/src/x.rs\r\nindex 333..444 100644\r\n--- a/src/x.rs\r\n\
                     +++ b/src/x.rs\r\n@@ -10,2 +10,2 @@ mod m\r\n fn f() {  \r\n-    a / b\r\n+    a.checked_div(b)\r\n\r\n";
        assert_eq!(super::patch_hash(a), super::patch_hash(moved));
        assert_eq!(super::patch_hash(a).len(), 64);
        let other = a.replace("checked_div", "saturating_div");
        assert_ne!(super::patch_hash(a), super::patch_hash(&other));
    }

    use super::*;

    #[test]
    fn crlf_files_keep_their_line_endings() {
        let before = "fn a() {\r\n    1 / 0\r\n}\r\n";
        let lf_before = before.replace("\r\n", "\n");
        let lf_after = lf_before.replace("1 / 0", "0");
        // A diff written with LF endings (what a model or `unified_diff` on
        // normalized text produces) applies to the CRLF file and keeps CRLF.
        let diff = unified_diff("src/a.rs", &lf_before, &lf_after);
        let files = BTreeMap::from([("src/a.rs".to_string(), before.to_string())]);
        let out = apply_diff(&diff, &files).unwrap();
        assert_eq!(out["src/a.rs"], "fn a() {\r\n    0\r\n}\r\n");
        // A diff with CRLF endings applies the same way.
        let out = apply_diff(&diff.replace('\n', "\r\n"), &files).unwrap();
        assert_eq!(out["src/a.rs"], "fn a() {\r\n    0\r\n}\r\n");
        // LF files stay LF.
        let files = BTreeMap::from([("src/a.rs".to_string(), lf_before.clone())]);
        assert_eq!(apply_diff(&diff, &files).unwrap()["src/a.rs"], lf_after);
    }

    const BEFORE: &str = "fn a() {\n    let v = vec![1];\n    v[3]\n}\n\nfn b() {}\n";
    const AFTER: &str = "fn a() {\n    let v = vec![1];\n    v.get(3).copied().unwrap_or_default()\n}\n\nfn b() {}\n";

    fn files() -> BTreeMap<String, String> {
        BTreeMap::from([("src/lib.rs".to_string(), BEFORE.to_string())])
    }

    #[test]
    fn edits_round_trip_through_diff_and_apply() {
        let p = Patch::from_edits(&[FileEdit {
            path: "src/lib.rs".into(),
            before: BEFORE.into(),
            after: AFTER.into(),
        }])
        .unwrap();
        assert!(
            p.diff
                .starts_with("diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n"),
            "{}",
            p.diff
        );
        assert_eq!(p.files, ["src/lib.rs"]);
        assert_eq!((p.lines_added, p.lines_removed), (1, 1));
        assert_eq!(p.apply_to(&files()).unwrap()["src/lib.rs"], AFTER);
    }

    #[test]
    fn hunks_apply_at_an_offset() {
        let p = Patch::from_edits(&[FileEdit {
            path: "src/lib.rs".into(),
            before: BEFORE.into(),
            after: AFTER.into(),
        }])
        .unwrap();
        let shifted = format!("// header\n// more\n{BEFORE}");
        let out = p
            .apply_to(&BTreeMap::from([("src/lib.rs".to_string(), shifted)]))
            .unwrap();
        assert!(out["src/lib.rs"].starts_with("// header\n// more\nfn a()"));
        assert!(out["src/lib.rs"].contains("v.get(3)"));
    }

    #[test]
    fn mismatched_context_is_rejected() {
        let p = Patch::from_edits(&[FileEdit {
            path: "src/lib.rs".into(),
            before: BEFORE.into(),
            after: AFTER.into(),
        }])
        .unwrap();
        let other = BTreeMap::from([("src/lib.rs".to_string(), BEFORE.replace("v[3]", "v[4]"))]);
        let err = p.apply_to(&other).unwrap_err();
        assert!(err.to_string().contains("hunk 1"), "{err}");
        let err = p.apply_to(&BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("file not found"), "{err}");
    }

    #[test]
    fn garbage_is_not_a_diff() {
        for garbage in ["", "sure! here is the fix", "--- a/x\nnot plus", "--- a/x\n+++ b/x\n"] {
            assert!(Patch::from_diff(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn new_files_and_missing_newline() {
        let diff = "--- /dev/null\n+++ b/tests/new.rs\n@@ -0,0 +1,2 @@\n+#[test]\n+fn t() {}\n";
        let out = apply_diff(diff, &BTreeMap::new()).unwrap();
        assert_eq!(out["tests/new.rs"], "#[test]\nfn t() {}\n");
        let p = Patch::from_edits(&[FileEdit {
            path: "x".into(),
            before: "a\nb".into(),
            after: "a\nc".into(),
        }])
        .unwrap();
        let out = p
            .apply_to(&BTreeMap::from([("x".to_string(), "a\nb".to_string())]))
            .unwrap();
        assert_eq!(out["x"], "a\nc");
    }
}
