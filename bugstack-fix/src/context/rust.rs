//! [`RustContextBuilder`]: the built-in [`ContextBuilder`] for Rust
//! repositories.
//!
//! 1. **Revision.** [`RepoRef::revision`] when set; else the event's release
//!    when it names a revision (`<release>`, `v<release>`, `<crate>-v<release>`,
//!    `<crate>-<release>`, a commit id prefix); else `HEAD`, with a warning.
//!    Every file is read from git objects at that commit, never from the
//!    work tree.
//! 2. **Frames.** The panic location and the frames whose source path maps to
//!    a tracked file (see [`super::paths`]), innermost first, repeats
//!    dropped. Registry and standard-library frames are never targets.
//! 3. **Snippets**, found with `syn`: the failing function (for a method, its
//!    text starts with the enclosing `impl`/`trait` header and a
//!    `// ...` line standing for the lines in between), the functions of
//!    the outer frames, the functions, types and constants the failing
//!    function names (resolved through `use` and the module tree), the
//!    file's `use` block, the tests that call the function, the crate's
//!    `Cargo.toml`. A file that does not parse gives a line window and a
//!    warning instead.
//! 4. **Ranking** and the token budget: see [`super::rank`].

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::rc::Rc;

use async_trait::async_trait;
use bugstack_core::Event;

use super::objects;
use super::paths::FileIndex;
use super::rank::{rank_and_cut, Candidate};
use super::resolve::{Found, Parsed, Scope, Session};
use super::syntax::{self, DefKind, FnInfo, Uses};
use super::{ContextBuilder, FixContext, RepoFrame, RepoRef, Snippet, SnippetKind};
use crate::{Error, Incident, Result};

/// Default token budget of [`RustContextBuilder`].
pub const DEFAULT_TOKEN_BUDGET: usize = 6000;
/// Default number of full files kept in [`FixContext::files`].
pub const DEFAULT_MAX_FILES: usize = 4;

const MAX_CALLERS: usize = 8;
const MAX_PATHS: usize = 96;
const MAX_METHOD_CALLEES: usize = 12;
const MAX_TESTS: usize = 6;
const MAX_TEST_FILES: usize = 64;
const TARGET_WINDOW: u32 = 20;
const CALLER_WINDOW: u32 = 6;

/// Builds a [`FixContext`] for Rust code with `syn`, reading the repository
/// through git at the event's release.
#[derive(Debug, Clone)]
pub struct RustContextBuilder {
    token_budget: usize,
    max_files: usize,
}

impl Default for RustContextBuilder {
    fn default() -> Self {
        RustContextBuilder {
            token_budget: DEFAULT_TOKEN_BUDGET,
            max_files: DEFAULT_MAX_FILES,
        }
    }
}

#[async_trait]
impl ContextBuilder for RustContextBuilder {
    async fn build(&self, incident: &Incident, repo: &RepoRef) -> Result<FixContext> {
        let this = self.clone();
        let incident = incident.clone();
        let repo = repo.clone();
        tokio::task::spawn_blocking(move || {
            let ctx = this.build_blocking(&incident, &repo);
            // Spans of the files parsed on this (pooled) thread are no longer
            // needed: release them so the span table does not grow forever.
            proc_macro2::extra::invalidate_current_thread_spans();
            ctx
        })
        .await
        .map_err(|e| Error::Context(format!("the context task failed: {e}")))?
    }
}

impl RustContextBuilder {
    /// A builder with the default budget ([`DEFAULT_TOKEN_BUDGET`] tokens,
    /// [`DEFAULT_MAX_FILES`] full files).
    pub fn new() -> Self {
        Self::default()
    }

    /// Cuts snippets to `tokens` (estimated with [`super::estimate_tokens`]).
    pub fn with_token_budget(mut self, tokens: usize) -> Self {
        self.token_budget = tokens;
        self
    }

    /// Keeps at most `files` full files in [`FixContext::files`].
    pub fn with_max_files(mut self, files: usize) -> Self {
        self.max_files = files;
        self
    }

    /// The token budget.
    pub fn token_budget(&self) -> usize {
        self.token_budget
    }

    /// Builds the context on the calling thread (runs `git`, blocks). The
    /// async [`ContextBuilder::build`] runs this on a blocking thread.
    pub fn build_blocking(&self, incident: &Incident, repo: &RepoRef) -> Result<FixContext> {
        let root = repo.root.as_path();
        objects::check_repository(root)?;
        let mut warnings = Vec::new();
        let commit = resolve_revision(root, incident, repo, &mut warnings)?;
        let index = FileIndex::new(objects::list_files(root, &commit)?);
        let frames = map_frames(&index, &incident.event);
        if frames.is_empty() {
            return Err(Error::Context(no_frame_message(&incident.event, &commit)));
        }
        let mut session = Session::new(root, &commit, index);
        let mut cands = Vec::new();
        let target_fn = target_snippets(&mut session, &frames[0], &mut cands, &mut warnings)?;
        caller_snippets(&mut session, &frames, target_fn.as_ref(), &mut cands, &mut warnings)?;
        if let Some(krate) = session.crate_of(&frames[0].path)? {
            if let Some(text) = session.text(&krate.manifest)? {
                cands.push(Candidate {
                    snippet: Snippet {
                        kind: SnippetKind::Manifest,
                        path: krate.manifest.clone(),
                        start_line: 1,
                        end_line: syntax::line_count(&text).max(1),
                        item: krate.name.clone(),
                        reason: "manifest of the failing crate".into(),
                        text,
                    },
                    distance: 0,
                    item_start: None,
                });
            }
        }
        let mut files = BTreeMap::new();
        for f in &frames {
            if files.len() >= self.max_files {
                break;
            }
            if !files.contains_key(&f.path) {
                if let Some(text) = session.text(&f.path)? {
                    files.insert(f.path.clone(), text);
                }
            }
        }
        let budget = self.token_budget;
        let target_text = session.text(&frames[0].path)?;
        fit_failing_function(&mut cands, target_text.as_deref(), budget, &frames[0], &mut warnings);
        let ranked = rank_and_cut(cands, budget);
        if ranked.omitted > 0 {
            warnings.push(format!(
                "{} snippet(s) left out to stay within the {budget}-token budget",
                ranked.omitted
            ));
        }
        // Paths are relative to the top level of the work tree; when `root`
        // is a directory inside it, the context names the top level.
        let repo_root = objects::toplevel(root).unwrap_or_else(|| repo.root.clone());
        let base = match &repo.base {
            Some(b) if objects::plain_revision(b) => Some(
                objects::resolve_commit(root, b)
                    .ok_or_else(|| Error::Repo(format!("base {} is unknown in {}", quote(b), root.display())))?,
            ),
            Some(b) => return Err(Error::Repo(format!("{} is not a plain git revision name", quote(b)))),
            None => None,
        }
        .filter(|b| *b != commit);
        Ok(FixContext {
            incident: incident.clone(),
            repo_root,
            revision: commit,
            base,
            frames,
            snippets: ranked.snippets,
            files,
            token_budget: budget,
            tokens_used: ranked.tokens,
            warnings,
        })
    }
}

fn no_frame_message(event: &Event, commit: &str) -> String {
    let total = event.frames.len() + usize::from(event.location.is_some());
    format!(
        "none of the event's {total} source location(s) maps to a file of the repository at {}; \
         registry and standard-library frames are never fix targets (is this the service's repository?)",
        &commit[..commit.len().min(12)]
    )
}

/// Quotes untrusted text for a warning: debug-escaped, cut to 80 chars.
fn quote(s: &str) -> String {
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

/// The crate a demangled function path starts with (`shop` for
/// `<shop::Cart as core::fmt::Display>::fmt` or `shop::cart::total`).
fn function_crate(function: &str) -> Option<&str> {
    let f = function.trim_start_matches('<');
    let c = f.split("::").next()?;
    (!c.is_empty() && c.chars().all(|ch| ch.is_alphanumeric() || ch == '_')).then_some(c)
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

fn resolve_revision(root: &Path, incident: &Incident, repo: &RepoRef, warnings: &mut Vec<String>) -> Result<String> {
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

/// The event's locations that map to repository files, innermost first.
fn map_frames(index: &FileIndex, event: &Event) -> Vec<RepoFrame> {
    let mut out: Vec<RepoFrame> = Vec::new();
    let mut seen = HashSet::new();
    for (i, f) in event.frames.iter().enumerate() {
        let (Some(file), Some(line)) = (f.file.as_deref(), f.line) else {
            continue;
        };
        let Some(path) = index.map(file, f.function.as_deref().and_then(function_crate)) else {
            continue;
        };
        if seen.insert((path.clone(), line)) {
            out.push(RepoFrame {
                frame_index: Some(i),
                path,
                line,
                column: f.column,
                function: f.function.clone(),
            });
        }
    }
    if let Some(loc) = &event.location {
        let hint = event
            .frames
            .iter()
            .find(|f| f.file.as_deref() == Some(loc.file.as_str()))
            .or_else(|| event.frames.iter().find(|f| f.in_app && f.function.is_some()))
            .and_then(|f| f.function.as_deref())
            .and_then(function_crate);
        // A relative location (`src/lib.rs`) that is not a tracked path but
        // a suffix of several is the file a frame already mapped to, if any.
        let normalized = loc.file.replace('\\', "/");
        let normalized = normalized.trim_start_matches("./");
        let relative = !normalized.starts_with('/') && !normalized.contains(':');
        let suffix = format!("/{normalized}");
        let from_frames = out
            .iter()
            .find(|f| relative && !index.contains(normalized) && f.path.ends_with(&suffix))
            .map(|f| f.path.clone());
        if let Some(path) = from_frames.or_else(|| index.map(&loc.file, hint)) {
            match out.iter().position(|f| f.path == path && f.line == loc.line) {
                Some(i) => {
                    let mut f = out.remove(i);
                    f.column = f.column.or(loc.column);
                    out.insert(0, f);
                }
                None => {
                    let function = out.iter().find(|f| f.path == path).and_then(|f| f.function.clone());
                    out.insert(
                        0,
                        RepoFrame {
                            frame_index: None,
                            path,
                            line: loc.line,
                            column: loc.column,
                            function,
                        },
                    );
                }
            }
        }
    }
    out
}

fn window(text: &str, line: u32, radius: u32) -> (u32, u32, String) {
    let last = syntax::line_count(text).max(1);
    let start = line.saturating_sub(radius).max(1).min(last);
    let end = line.saturating_add(radius).min(last).max(start);
    (start, end, syntax::line_range(text, start, end))
}

/// Where the failing function is, for callers to skip it.
struct TargetFn {
    path: String,
    start: u32,
}

fn parse_warning(path: &str, parsed: &Parsed) -> String {
    format!(
        "{path} does not parse as Rust ({}); using a line window",
        parsed.error.as_deref().unwrap_or("unknown error")
    )
}

fn fn_text(text: &str, f: &FnInfo<'_>) -> (u32, String) {
    let body = syntax::line_range(text, f.start, f.end);
    match f.header {
        Some((hs, he)) if he < f.start => {
            let mut t = syntax::line_range(text, hs, he);
            if f.start > he + 1 {
                t.push_str("    // ...\n");
            }
            t.push_str(&body);
            (hs, t)
        }
        _ => (f.start, body),
    }
}

/// A line window around the target, standing in for the failing function
/// when the file does not parse or the line is outside any function.
fn window_candidate(text: &str, target: &RepoFrame, reason: String) -> Candidate {
    let (start, end, text) = window(text, target.line, TARGET_WINDOW);
    Candidate {
        snippet: Snippet {
            kind: SnippetKind::FailingFunction,
            path: target.path.clone(),
            start_line: start,
            end_line: end,
            item: None,
            reason,
            text,
        },
        distance: 0,
        item_start: None,
    }
}

/// The failing function and everything gathered around it.
fn target_snippets(
    s: &mut Session,
    target: &RepoFrame,
    cands: &mut Vec<Candidate>,
    warnings: &mut Vec<String>,
) -> Result<Option<TargetFn>> {
    let Some(parsed) = s.parse_any(&target.path)? else {
        warnings.push(format!("{} is not UTF-8 text; no snippet for it", target.path));
        return Ok(None);
    };
    let at = format!("{}:{}", target.path, target.line);
    let Some(ast) = parsed.ast.as_ref() else {
        warnings.push(parse_warning(&target.path, &parsed));
        cands.push(window_candidate(
            &parsed.text,
            target,
            format!("lines around {at} (file does not parse)"),
        ));
        return Ok(None);
    };
    let fns = syntax::functions(ast);
    let Some(f) = syntax::enclosing_fn(&fns, target.line) else {
        warnings.push(format!("{at} is not inside a function; using a line window"));
        cands.push(window_candidate(&parsed.text, target, format!("lines around {at}")));
        return Ok(None);
    };
    let (start, text) = fn_text(&parsed.text, f);
    cands.push(Candidate {
        snippet: Snippet {
            kind: SnippetKind::FailingFunction,
            path: target.path.clone(),
            start_line: start,
            end_line: f.end,
            item: Some(f.qualified.clone()),
            reason: format!("the error arose at {at}"),
            text,
        },
        distance: 0,
        item_start: Some(f.start),
    });

    // Imports of the file (and of the inline module the function is in), one
    // snippet per block of `use` lines.
    let mut use_lines = syntax::use_lines(&ast.items);
    if !f.module.is_empty() {
        if let Some(items) = syntax::module_items(ast, &f.module) {
            use_lines.extend(syntax::use_lines(items));
        }
    }
    for (first, last) in use_blocks(&use_lines) {
        cands.push(Candidate {
            snippet: Snippet {
                kind: SnippetKind::Imports,
                path: target.path.clone(),
                start_line: first,
                end_line: last,
                item: None,
                reason: format!("imports of {}", target.path),
                text: syntax::line_range(&parsed.text, first, last),
            },
            distance: 0,
            item_start: None,
        });
    }

    let (root, mut module) = s.root_and_module(&target.path)?;
    module.extend(f.module.iter().cloned());
    let scope = Scope {
        root,
        path: module,
        id: super::resolve::ModId {
            file: target.path.clone(),
            inline: f.module.clone(),
        },
    };
    used_items(s, &scope, &parsed, f, &fns, cands)?;
    test_snippets(s, &scope, &target.path, ast, f, &fns, cands)?;
    Ok(Some(TargetFn {
        path: target.path.clone(),
        start: f.start,
    }))
}

/// Groups `use` item line ranges into blocks: items at most one line apart
/// (a blank line) share a block.
fn use_blocks(lines: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut sorted = lines.to_vec();
    sorted.sort_unstable();
    let mut blocks: Vec<(u32, u32)> = Vec::new();
    for (a, b) in sorted {
        match blocks.last_mut() {
            Some(last) if a <= last.1 + 2 => last.1 = last.1.max(b),
            _ => blocks.push((a, b)),
        }
    }
    blocks
}

/// Definitions of the functions, types and constants `f` names.
fn used_items(
    s: &mut Session,
    scope: &Scope,
    parsed: &Rc<Parsed>,
    f: &FnInfo<'_>,
    fns: &[FnInfo<'_>],
    cands: &mut Vec<Candidate>,
) -> Result<()> {
    let uses = Uses::of(f);
    let mut emitted: HashSet<(String, u32)> = HashSet::new();
    emitted.insert((scope.id.file.clone(), f.start));
    let mut type_files: Vec<(String, String)> = Vec::new();
    let who = &f.qualified;
    for path in uses.paths.iter().take(MAX_PATHS) {
        let mut path = path.clone();
        // `Self::x` in a method means `<SelfTy>::x`.
        if path[0] == "Self" {
            match &f.self_ty {
                Some(t) => path[0] = t.clone(),
                None => continue,
            }
        }
        let Some(found) = s.resolve(scope, &path)? else {
            continue;
        };
        if found.kind == DefKind::Type {
            type_files.push((found.name.clone(), found.file.clone()));
        }
        if let Some(assoc) = &found.assoc {
            if let Some(c) = method_snippet(s, &found.file, &found.name, assoc, who)? {
                if emitted.insert((c.snippet.path.clone(), c.snippet.start_line)) {
                    cands.push(c);
                }
                continue;
            }
        }
        if !emitted.insert((found.file.clone(), found.start)) {
            continue;
        }
        if let Some(c) = item_snippet(s, &found, who)? {
            cands.push(c);
        }
    }
    // Method calls: methods of the same type first, then of the types the
    // function names, then any method of that name in the file.
    let mut count = 0;
    for m in &uses.methods {
        if count >= MAX_METHOD_CALLEES {
            break;
        }
        // Only methods of a type the function is about (its `Self`, or a
        // type it names): `.len()` on a `&str` is not `Name::len`.
        let local = fns
            .iter()
            .filter(|g| g.ident == *m && !g.is_test && g.start != f.start)
            .filter(|g| {
                g.self_ty.as_ref().is_some_and(|t| {
                    Some(t) == f.self_ty.as_ref() || type_files.iter().any(|(n, p)| n == t && *p == scope.id.file)
                })
            })
            .min_by_key(|g| g.self_ty != f.self_ty);
        if let Some(g) = local {
            if emitted.insert((scope.id.file.clone(), g.start)) {
                let (start, text) = fn_text(&parsed.text, g);
                cands.push(Candidate {
                    snippet: Snippet {
                        kind: SnippetKind::Callee,
                        path: scope.id.file.clone(),
                        start_line: start,
                        end_line: g.end,
                        item: Some(g.qualified.clone()),
                        reason: format!("called by {who}"),
                        text,
                    },
                    distance: 1,
                    item_start: Some(g.start),
                });
                count += 1;
            }
            continue;
        }
        for (ty, file) in &type_files {
            if let Some(c) = method_snippet(s, file, ty, m, who)? {
                if emitted.insert((c.snippet.path.clone(), c.snippet.start_line)) {
                    cands.push(c);
                    count += 1;
                }
                break;
            }
        }
    }
    Ok(())
}

/// The method `name` of type `ty` defined in `file`, as a callee snippet.
fn method_snippet(s: &mut Session, file: &str, ty: &str, name: &str, who: &str) -> Result<Option<Candidate>> {
    let Some(parsed) = s.parse(file)? else { return Ok(None) };
    let Some(ast) = parsed.ast.as_ref() else {
        return Ok(None);
    };
    let fns = syntax::functions(ast);
    let Some(g) = fns.iter().find(|g| g.ident == name && g.self_ty.as_deref() == Some(ty)) else {
        return Ok(None);
    };
    let (start, text) = fn_text(&parsed.text, g);
    Ok(Some(Candidate {
        snippet: Snippet {
            kind: SnippetKind::Callee,
            path: file.to_string(),
            start_line: start,
            end_line: g.end,
            item: Some(g.qualified.clone()),
            reason: format!("called by {who}"),
            text,
        },
        distance: 1,
        item_start: Some(g.start),
    }))
}

fn item_snippet(s: &mut Session, found: &Found, who: &str) -> Result<Option<Candidate>> {
    let (kind, reason, distance) = match found.kind {
        DefKind::Fn => (SnippetKind::Callee, format!("called by {who}"), 1),
        DefKind::Type => (SnippetKind::Type, format!("named by {who}"), 0),
        DefKind::Const => (SnippetKind::Constant, format!("named by {who}"), 0),
        DefKind::FileMod | DefKind::InlineMod => return Ok(None),
    };
    let Some(text) = s.text(&found.file)? else {
        return Ok(None);
    };
    Ok(Some(Candidate {
        snippet: Snippet {
            kind,
            path: found.file.clone(),
            start_line: found.start,
            end_line: found.end,
            item: Some(found.name.clone()),
            reason,
            text: syntax::line_range(&text, found.start, found.end),
        },
        distance,
        item_start: None,
    }))
}

fn test_candidate(path: &str, text: &str, g: &FnInfo<'_>, why: String) -> Candidate {
    Candidate {
        snippet: Snippet {
            kind: SnippetKind::Test,
            path: path.to_string(),
            start_line: g.start,
            end_line: g.end,
            item: Some(g.qualified.clone()),
            reason: why,
            text: syntax::line_range(text, g.start, g.end),
        },
        distance: 0,
        item_start: None,
    }
}

/// Tests calling the failing function: in its file (its `mod tests`), in a
/// `mod tests;` file of its module, and in the crate's `tests/*.rs`.
fn test_snippets(
    s: &mut Session,
    scope: &Scope,
    path: &str,
    ast: &syn::File,
    f: &FnInfo<'_>,
    fns: &[FnInfo<'_>],
    cands: &mut Vec<Candidate>,
) -> Result<()> {
    let name = f.ident.as_str();
    let mut found = 0;
    let Some(text) = s.text(path)? else { return Ok(()) };
    for g in fns.iter().filter(|g| g.is_test && g.start != f.start) {
        if found < MAX_TESTS && g.block.is_some_and(|b| syntax::calls_name(b, name)) {
            cands.push(test_candidate(path, &text, g, format!("unit test calling {name}")));
            found += 1;
        }
    }
    // `mod tests;` in the failing module's own file.
    let mut files: Vec<(String, &'static str)> = Vec::new();
    if let Some(items) = syntax::module_items(ast, &f.module) {
        if let Some(def) = syntax::find_def(items, "tests") {
            if def.kind == DefKind::FileMod {
                if let Some(child) = s.scope(&scope.root, &[scope.path.clone(), vec!["tests".into()]].concat())? {
                    files.push((child.id.file, "unit test calling"));
                }
            }
        }
    }
    if let Some(krate) = s.crate_of(path)? {
        let prefix = if krate.dir.is_empty() {
            "tests/".to_string()
        } else {
            format!("{}/tests/", krate.dir)
        };
        let integration: Vec<String> = s
            .index
            .files()
            .iter()
            .filter(|p| p.starts_with(&prefix) && p.ends_with(".rs") && !p[prefix.len()..].contains("fixtures/"))
            .take(MAX_TEST_FILES)
            .cloned()
            .collect();
        files.extend(integration.into_iter().map(|p| (p, "integration test calling")));
    }
    for (file, why) in files {
        if found >= MAX_TESTS {
            break;
        }
        let Some(text) = s.text(&file)? else { continue };
        if !text.contains(name) {
            continue;
        }
        let Some(parsed) = s.parse(&file)? else { continue };
        let Some(tast) = parsed.ast.as_ref() else { continue };
        for g in syntax::functions(tast).iter().filter(|g| g.is_test) {
            if found < MAX_TESTS && g.block.is_some_and(|b| syntax::calls_name(b, name)) {
                cands.push(test_candidate(&file, &parsed.text, g, format!("{why} {name}")));
                found += 1;
            }
        }
    }
    Ok(())
}

/// The functions of the outer in-repo frames.
fn caller_snippets(
    s: &mut Session,
    frames: &[RepoFrame],
    target: Option<&TargetFn>,
    cands: &mut Vec<Candidate>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let mut seen: HashSet<(String, u32)> = HashSet::new();
    if let Some(t) = target {
        seen.insert((t.path.clone(), t.start));
    }
    let mut warned: HashSet<String> = HashSet::new();
    for (distance, frame) in frames.iter().enumerate().skip(1).take(MAX_CALLERS) {
        let Some(parsed) = s.parse_any(&frame.path)? else {
            continue;
        };
        let at = format!("{}:{}", frame.path, frame.line);
        let (snippet, item_start) = match parsed.ast.as_ref() {
            Some(ast) => {
                let fns = syntax::functions(ast);
                match syntax::enclosing_fn(&fns, frame.line) {
                    Some(g) => {
                        if !seen.insert((frame.path.clone(), g.start)) {
                            continue;
                        }
                        let (start, text) = fn_text(&parsed.text, g);
                        let snippet = Snippet {
                            kind: SnippetKind::Caller,
                            path: frame.path.clone(),
                            start_line: start,
                            end_line: g.end,
                            item: Some(g.qualified.clone()),
                            reason: format!("caller {distance} frame(s) up, at {at}"),
                            text,
                        };
                        (snippet, Some(g.start))
                    }
                    None => continue,
                }
            }
            None => {
                if frame.path != frames[0].path && warned.insert(frame.path.clone()) {
                    warnings.push(parse_warning(&frame.path, &parsed));
                }
                let (start, end, text) = window(&parsed.text, frame.line, CALLER_WINDOW);
                let snippet = Snippet {
                    kind: SnippetKind::Caller,
                    path: frame.path.clone(),
                    start_line: start,
                    end_line: end,
                    item: None,
                    reason: format!("lines around {at} (file does not parse)"),
                    text,
                };
                (snippet, None)
            }
        };
        cands.push(Candidate {
            snippet,
            distance,
            item_start,
        });
    }
    Ok(())
}

/// When the failing function alone exceeds the budget, replaces it by the
/// lines of the file around the target line (within the function) that fit.
fn fit_failing_function(
    cands: &mut [Candidate],
    file: Option<&str>,
    budget: usize,
    target: &RepoFrame,
    warnings: &mut Vec<String>,
) {
    let (Some(c), Some(file)) = (
        cands
            .iter_mut()
            .find(|c| c.snippet.kind == SnippetKind::FailingFunction),
        file,
    ) else {
        return;
    };
    if super::estimate_tokens(&c.snippet.text) <= budget {
        return;
    }
    let lines: Vec<&str> = file.split_inclusive('\n').collect();
    let first = c.item_start.unwrap_or(c.snippet.start_line).max(c.snippet.start_line) as usize;
    let last = c.snippet.end_line as usize;
    let centre = (target.line as usize).clamp(first.max(1), last.min(lines.len()).max(1));
    let Some(centre_line) = lines.get(centre - 1) else {
        return;
    };
    let mut used = super::estimate_tokens(centre_line);
    if used > budget {
        return; // Not even the target line fits: the ranking leaves it out.
    }
    let (mut lo, mut hi) = (centre, centre);
    loop {
        let mut grew = false;
        if lo > first && used + super::estimate_tokens(lines[lo - 2]) <= budget {
            lo -= 1;
            used += super::estimate_tokens(lines[lo - 1]);
            grew = true;
        }
        if hi < last.min(lines.len()) && used + super::estimate_tokens(lines[hi]) <= budget {
            hi += 1;
            used += super::estimate_tokens(lines[hi - 1]);
            grew = true;
        }
        if !grew {
            break;
        }
    }
    warnings.push(format!(
        "the failing function does not fit the {budget}-token budget; kept lines {lo}-{hi} around {}:{}",
        target.path, target.line
    ));
    c.snippet.start_line = lo as u32;
    c.snippet.end_line = hi as u32;
    c.snippet.text = lines[lo - 1..hi].concat();
}
