//! Which commit to read: the explicit revision, else the event's release
//! as a tag or commit (`<release>`, `v<release>`, `<crate>-v<release>`, ...),
//! else `HEAD` with a warning.

use std::path::Path;

use bugstack_core::Event;

use super::frames::function_crate;
use super::objects;
use super::RepoRef;
use crate::{Error, Incident, Result};

/// Quotes untrusted text for a warning: debug-escaped, cut to 80 chars.
pub(super) fn quote(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    format!("{cut:?}")
}

fn crate_names(event: &Event) -> Vec<String> {
    let mut names = Vec::new();
    let mut push = |n: &str| {
        for v in [n.to_string(), n.replace('_', "-"), n.replace('-', "_")] {
            if !v.is_empty() && !names.contains(&v) {
                names.push(v);
            }
        }
    };
    if let Some(n) = event.service.as_ref().and_then(|s| s.name.as_deref()) {
        push(n);
    }
    for f in event.frames.iter().filter(|f| f.in_app).take(4) {
        if let Some(c) = f.function.as_deref().and_then(function_crate) {
            push(c);
        }
    }
    names.truncate(8);
    names
}

/// The revision names a release may be tagged as.
fn release_candidates(release: &str, crates: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    let mut versions = vec![release.to_string()];
    if let Some((name, version)) = release.rsplit_once('@') {
        versions.push(version.to_string());
        add(format!("{name}-v{version}"));
        add(format!("{name}-{version}"));
        add(format!("{name}@{version}"));
    }
    for v in &versions {
        add(v.clone());
        if !v.starts_with('v') {
            add(format!("v{v}"));
        }
        for c in crates {
            add(format!("{c}-v{v}"));
            add(format!("{c}-{v}"));
            add(format!("{c}/v{v}"));
        }
    }
    out
}

pub(super) fn resolve_revision(
    root: &Path,
    incident: &Incident,
    repo: &RepoRef,
    warnings: &mut Vec<String>,
) -> Result<String> {
    if let Some(rev) = &repo.revision {
        if !objects::plain_revision(rev) {
            return Err(Error::Repo(format!("{} is not a plain git revision name", quote(rev))));
        }
        return objects::resolve_commit(root, rev)
            .ok_or_else(|| Error::Repo(format!("revision {} is unknown in {}", quote(rev), root.display())));
    }
    match incident.release() {
        Some(release) => {
            let tried = release_candidates(release, &crate_names(&incident.event));
            for cand in &tried {
                if let Some(commit) = objects::resolve_release(root, cand) {
                    return Ok(commit);
                }
            }
            warnings.push(format!(
                "release {} names no tag or commit of the repository (tried {} names; branches are never \
                 used); context read at HEAD, which may differ from the code that failed",
                quote(release),
                tried.len()
            ));
        }
        None => warnings.push("the event names no release; context read at HEAD".to_string()),
    }
    objects::resolve_commit(root, "HEAD").ok_or_else(|| {
        Error::Repo(format!(
            "{} has no commit to read (HEAD does not resolve)",
            root.display()
        ))
    })
}
