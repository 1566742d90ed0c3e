//! Tests calling the failing function.

use super::rank::SnippetCandidate;
use super::resolve::{Scope, Session};
use super::syntax::{self, DefKind, FnInfo};
use super::{Snippet, SnippetKind};
use crate::Result;

const MAX_TESTS: usize = 6;
const MAX_TEST_FILES: usize = 64;

fn test_candidate(path: &str, text: &str, g: &FnInfo<'_>, why: String) -> SnippetCandidate {
    SnippetCandidate {
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
pub(super) fn test_snippets(
    s: &mut Session,
    scope: &Scope,
    path: &str,
    ast: &syn::File,
    f: &FnInfo<'_>,
    fns: &[FnInfo<'_>],
    cands: &mut Vec<SnippetCandidate>,
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
