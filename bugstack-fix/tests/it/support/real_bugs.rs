//! The real-bug study set: panics from published crates, kept outside this
//! repository (`../shared/real-bugs` next to the workspace, see its
//! `README.md`; never copied in).

use std::path::{Path, PathBuf};

/// Overrides where the study set is.
pub(crate) const DIR_ENV: &str = "BUGSTACK_REAL_BUGS";

/// The study set's directory (`$BUGSTACK_REAL_BUGS`, else `../shared/real-bugs`
/// beside the workspace, found from this crate's manifest directory), when
/// its `cases.json` is there. When it is not, the calling test should
/// return: this prints why it is skipped, and fails instead under `CI=true`,
/// where a pass must not come from skipping.
pub(crate) fn dir() -> Option<PathBuf> {
    let dir = std::env::var_os(DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/real-bugs"));
    let cases = dir.join("cases.json");
    if cases.is_file() {
        return Some(dir);
    }
    let why = format!(
        "the real-bug study set is absent ({} not found; set {DIR_ENV} to its directory)",
        cases.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
    println!("SKIPPED: {why}");
    None
}

/// The cases of `cases.json` in `dir`.
pub(crate) fn cases(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("cases.json")).expect("cases.json is readable");
    serde_json::from_str(&text).expect("cases.json parses")
}
