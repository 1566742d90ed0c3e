//! The failing function (with its imports, the items it uses and the tests
//! calling it), the callers' functions, and the budget cut of the failing
//! function when it alone is too large.

use std::collections::HashSet;

use super::rank::SnippetCandidate;
use super::resolve::{ModId, Parsed, Scope, Session};
use super::syntax::{self, FnInfo};
use super::test_snippets::test_snippets;
use super::used_items::used_items;
use super::{RepoFrame, Snippet, SnippetKind};
use crate::Result;

const MAX_CALLERS: usize = 8;
const TARGET_WINDOW: u32 = 20;
const CALLER_WINDOW: u32 = 6;

fn window(text: &str, line: u32, radius: u32) -> (u32, u32, String) {
    let last = syntax::line_count(text).max(1);
    let start = line.saturating_sub(radius).max(1).min(last);
    let end = line.saturating_add(radius).min(last).max(start);
    (start, end, syntax::line_range(text, start, end))
}

/// Where the failing function is, for callers to skip it.
pub(super) struct TargetFn {
    path: String,
    start: u32,
}

fn parse_warning(path: &str, parsed: &Parsed) -> String {
    format!(
        "{path} does not parse as Rust ({}); using a line window",
        parsed.error.as_deref().unwrap_or("unknown error")
    )
}

pub(super) fn fn_text(text: &str, f: &FnInfo<'_>) -> (u32, String) {
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

/// The function `g` of the file `path` (whose text is `text`) as a snippet
/// of `kind`: its lines, under its `impl` header when it has one.
pub(super) fn fn_snippet(kind: SnippetKind, path: &str, text: &str, g: &FnInfo<'_>, reason: String) -> Snippet {
    let (start, text) = fn_text(text, g);
    Snippet {
        kind,
        path: path.to_string(),
        start_line: start,
        end_line: g.end,
        item: Some(g.qualified.clone()),
        reason,
        text,
    }
}

/// A line window around the target, standing in for the failing function
/// when the file does not parse or the line is outside any function.
fn window_candidate(text: &str, target: &RepoFrame, reason: String) -> SnippetCandidate {
    let (start, end, text) = window(text, target.line, TARGET_WINDOW);
    SnippetCandidate {
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
pub(super) fn target_snippets(
    s: &mut Session,
    target: &RepoFrame,
    cands: &mut Vec<SnippetCandidate>,
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
    cands.push(SnippetCandidate {
        snippet: fn_snippet(
            SnippetKind::FailingFunction,
            &target.path,
            &parsed.text,
            f,
            format!("the error arose at {at}"),
        ),
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
        cands.push(SnippetCandidate {
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
        id: ModId {
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

/// The functions of the outer in-repo frames.
pub(super) fn caller_snippets(
    s: &mut Session,
    frames: &[RepoFrame],
    target: Option<&TargetFn>,
    cands: &mut Vec<SnippetCandidate>,
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
                        let snippet = fn_snippet(
                            SnippetKind::Caller,
                            &frame.path,
                            &parsed.text,
                            g,
                            format!("caller {distance} frame(s) up, at {at}"),
                        );
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
        cands.push(SnippetCandidate {
            snippet,
            distance,
            item_start,
        });
    }
    Ok(())
}

/// When the failing function alone exceeds the budget, replaces it by the
/// lines of the file around the target line (within the function) that fit.
pub(super) fn fit_failing_function(
    cands: &mut [SnippetCandidate],
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
