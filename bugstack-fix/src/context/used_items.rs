//! Definitions of the functions, types and constants the failing function
//! names, resolved through `use` and the module tree.

use std::collections::HashSet;
use std::rc::Rc;

use super::rank::SnippetCandidate;
use super::resolve::{Found, Parsed, Scope, Session};
use super::snippets::fn_snippet;
use super::syntax::{self, DefKind, FnInfo, Uses};
use super::{Snippet, SnippetKind};
use crate::Result;

const MAX_PATHS: usize = 96;
const MAX_METHOD_CALLEES: usize = 12;

/// Definitions of the functions, types and constants `f` names.
pub(super) fn used_items(
    s: &mut Session,
    scope: &Scope,
    parsed: &Rc<Parsed>,
    f: &FnInfo<'_>,
    fns: &[FnInfo<'_>],
    cands: &mut Vec<SnippetCandidate>,
) -> Result<()> {
    let uses = Uses::of(f);
    let mut items = UsedItems {
        s,
        scope,
        f,
        cands,
        emitted: HashSet::from([(scope.id.file.clone(), f.start)]),
        type_files: Vec::new(),
    };
    for path in uses.paths.iter().take(MAX_PATHS) {
        items.path(path)?;
    }
    // Method calls: methods of the same type first, then of the types the
    // function names.
    let mut count = 0;
    for m in &uses.methods {
        if count >= MAX_METHOD_CALLEES {
            break;
        }
        if items.method_call(m, &parsed.text, fns)? {
            count += 1;
        }
    }
    Ok(())
}

/// Gathers the snippets of what the failing function `f` names.
struct UsedItems<'u, 'ast> {
    s: &'u mut Session,
    scope: &'u Scope,
    f: &'u FnInfo<'ast>,
    cands: &'u mut Vec<SnippetCandidate>,
    /// `(file, line)` of every item given a snippet (the failing function's
    /// own start included).
    emitted: HashSet<(String, u32)>,
    /// `(name, file)` of the types the function names.
    type_files: Vec<(String, String)>,
}

impl UsedItems<'_, '_> {
    /// The definition `path` names: a method of a type, or an item.
    fn path(&mut self, path: &[String]) -> Result<()> {
        let mut path = path.to_vec();
        // `Self::x` in a method means `<SelfTy>::x`.
        if path[0] == "Self" {
            match &self.f.self_ty {
                Some(t) => path[0] = t.clone(),
                None => return Ok(()),
            }
        }
        let Some(found) = self.s.resolve(self.scope, &path)? else {
            return Ok(());
        };
        if found.kind == DefKind::Type {
            self.type_files.push((found.name.clone(), found.file.clone()));
        }
        let who = &self.f.qualified;
        if let Some(assoc) = &found.assoc {
            if let Some(c) = method_snippet(self.s, &found.file, &found.name, assoc, who)? {
                self.push_new(c);
                return Ok(());
            }
        }
        if !self.emitted.insert((found.file.clone(), found.start)) {
            return Ok(());
        }
        if let Some(c) = item_snippet(self.s, &found, who)? {
            self.cands.push(c);
        }
        Ok(())
    }

    /// A snippet for the method `.m()` the function calls, from the
    /// function's file (`text`, its functions `fns`) or a file of a type it
    /// names; whether one was added.
    fn method_call(&mut self, m: &str, text: &str, fns: &[FnInfo<'_>]) -> Result<bool> {
        let (f, file) = (self.f, &self.scope.id.file);
        // Only methods of a type the function is about (its `Self`, or a
        // type it names): `.len()` on a `&str` is not `Name::len`.
        let local = fns
            .iter()
            .filter(|g| g.ident == m && !g.is_test && g.start != f.start)
            .filter(|g| {
                g.self_ty.as_ref().is_some_and(|t| {
                    Some(t) == f.self_ty.as_ref() || self.type_files.iter().any(|(n, p)| n == t && p == file)
                })
            })
            .min_by_key(|g| g.self_ty != f.self_ty);
        if let Some(g) = local {
            if !self.emitted.insert((file.clone(), g.start)) {
                return Ok(false);
            }
            self.cands.push(callee_snippet(file, text, g, &f.qualified));
            return Ok(true);
        }
        let mut hit = None;
        for (ty, ty_file) in &self.type_files {
            if let Some(c) = method_snippet(self.s, ty_file, ty, m, &f.qualified)? {
                hit = Some(c);
                break;
            }
        }
        Ok(hit.is_some_and(|c| self.push_new(c)))
    }

    /// Adds `c` unless a snippet starting at the same line of the same file
    /// was added; whether it was.
    fn push_new(&mut self, c: SnippetCandidate) -> bool {
        let new = self.emitted.insert((c.snippet.path.clone(), c.snippet.start_line));
        if new {
            self.cands.push(c);
        }
        new
    }
}

/// The method `name` of type `ty` defined in `file`, as a callee snippet.
fn method_snippet(s: &mut Session, file: &str, ty: &str, name: &str, who: &str) -> Result<Option<SnippetCandidate>> {
    let Some(parsed) = s.parse(file)? else { return Ok(None) };
    let Some(ast) = parsed.ast.as_ref() else {
        return Ok(None);
    };
    let fns = syntax::functions(ast);
    Ok(fns
        .iter()
        .find(|g| g.ident == name && g.self_ty.as_deref() == Some(ty))
        .map(|g| callee_snippet(file, &parsed.text, g, who)))
}

/// The function `g` of `file` (whose text is `text`), called by `who`.
fn callee_snippet(file: &str, text: &str, g: &FnInfo<'_>, who: &str) -> SnippetCandidate {
    SnippetCandidate {
        snippet: fn_snippet(SnippetKind::Callee, file, text, g, format!("called by {who}")),
        distance: 1,
        item_start: Some(g.start),
    }
}

fn item_snippet(s: &mut Session, found: &Found, who: &str) -> Result<Option<SnippetCandidate>> {
    let (kind, reason, distance) = match found.kind {
        DefKind::Fn => (SnippetKind::Callee, format!("called by {who}"), 1),
        DefKind::Type => (SnippetKind::Type, format!("named by {who}"), 0),
        DefKind::Const => (SnippetKind::Constant, format!("named by {who}"), 0),
        DefKind::FileMod | DefKind::InlineMod => return Ok(None),
    };
    let Some(text) = s.text(&found.file)? else {
        return Ok(None);
    };
    Ok(Some(SnippetCandidate {
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
