//! Source locations as a reviewer reads them: relative to the repository,
//! never the build machine's absolute path.
//!
//! The panic location in an event is whatever path the service's binary
//! was built with (`/home/ci/build/app/src/cart.rs`,
//! `/rustc/<commit>/library/core/src/...`, a registry checkout). In the
//! pull request it is shown relative to the repository when it is one of
//! the repository's files (the context's frames name them), the toolchain's
//! or a dependency's own path when it is one of those, else from its `src/`
//! directory (or its file name).

use crate::FixContext;

/// `file` as the pull request shows it (see the module docs).
pub(crate) fn display_path(file: &str, ctx: &FixContext) -> String {
    let file = file.replace('\\', "/");
    let absolute = file.starts_with('/') || file.as_bytes().get(1) == Some(&b':');
    if !absolute {
        return file.trim_start_matches("./").to_string();
    }
    let root = ctx.repo_root.to_string_lossy().replace('\\', "/");
    let root = root.trim_end_matches('/');
    if !root.is_empty() {
        if let Some(rest) = file.strip_prefix(&format!("{root}/")) {
            return rest.to_string();
        }
    }
    if let Some(f) = ctx
        .frames
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| !p.is_empty() && file.ends_with(&format!("/{p}")))
        .max_by_key(|p| p.len())
    {
        return f.to_string();
    }
    if let Some(rest) = file.strip_prefix("/rustc/") {
        // `/rustc/<commit>/library/...`: the standard library.
        if let Some((_, lib)) = rest.split_once('/') {
            return format!("<rust>/{lib}");
        }
    }
    for marker in ["/.cargo/registry/src/", "/.cargo/git/checkouts/"] {
        if let Some((_, rest)) = file.split_once(marker) {
            // `<index or repo>/<crate-version or rev>/...`
            if let Some((_, krate)) = rest.split_once('/') {
                return format!("<dependency>/{krate}");
            }
        }
    }
    match file.rfind("/src/") {
        Some(i) => file[i + 1..].to_string(),
        None => file.rsplit('/').next().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Incident, RepoFrame};

    fn ctx(root: &str, frames: &[&str]) -> FixContext {
        let event: bugstack_core::Event = serde_json::from_value(serde_json::json!({
            "event_id": "e1", "timestamp": "2024-01-01T00:00:00Z", "kind": "panic", "level": "fatal",
            "message": "boom"
        }))
        .expect("a minimal event parses");
        FixContext {
            frames: frames
                .iter()
                .map(|p| RepoFrame {
                    frame_index: Some(0),
                    path: p.to_string(),
                    line: 1,
                    column: None,
                    function: None,
                })
                .collect(),
            ..FixContext::new(Incident::from_event("1", event), root, "0".repeat(40))
        }
    }

    #[test]
    fn locations_are_shown_relative_to_the_repository() {
        let c = ctx("/srv/checkout", &["crates/shop/src/cart.rs"]);
        assert_eq!(display_path("src/cart.rs", &c), "src/cart.rs");
        assert_eq!(display_path("/srv/checkout/src/main.rs", &c), "src/main.rs");
        assert_eq!(
            display_path("/home/ci/build/app/crates/shop/src/cart.rs", &c),
            "crates/shop/src/cart.rs"
        );
        assert_eq!(
            display_path(
                "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/num/mod.rs",
                &c
            ),
            "<rust>/library/core/src/num/mod.rs"
        );
        assert_eq!(
            display_path(
                "/home/ci/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde-1.0.1/src/de.rs",
                &c
            ),
            "<dependency>/serde-1.0.1/src/de.rs"
        );
        assert_eq!(display_path("/opt/other/x/src/util/io.rs", &c), "src/util/io.rs");
        assert_eq!(display_path("C:\\build\\app\\main.rs", &c), "main.rs");
    }
}
