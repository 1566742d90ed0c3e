//! Compiler-guided repair: a candidate that does not build, mended with the
//! compiler's own suggestions.
//!
//! Validation runs `cargo build|check|clippy` with `--message-format=json`
//! and keeps, for each compiler error the candidate brought, the edits
//! rustc suggests ([`CompilerSuggestion`]). [`repair`] applies the ones
//! that are safe to apply without a person:
//!
//! - every `MachineApplicable` suggestion;
//! - for E0689 ("can't call method on ambiguous numeric type"), rustc's
//!   type annotation (`: i32`, `5_i32`), with the type the function itself
//!   gives the binding when it says one ([`super::int_type`]) — rustc only
//!   guesses `i32`;
//! - a missing import (`use path::Item;`) when rustc offers exactly one.
//!
//! Only files the candidate already changes are edited, every edit must
//! land on char boundaries without overlapping another, and the result is a
//! new candidate (same generator, the repair told in its explanation) that
//! goes through the policy and the checks like any other. The pipeline
//! offers it as the next attempt.

use std::collections::BTreeMap;

use syn::spanned::Spanned;
use syn::visit::Visit;

use super::int_type;
use crate::patch::{FileEdit, Patch};
use crate::{CompilerSuggestion, FixContext, Validation};

/// A repaired candidate for `patch`, which failed `validation` with
/// compiler errors, when the compiler suggested edits that can be applied
/// safely (see the module docs); `None` otherwise.
pub(crate) fn repair(ctx: &FixContext, patch: &Patch, validation: &Validation) -> Option<Patch> {
    let suggestions: Vec<&CompilerSuggestion> = validation
        .checks
        .iter()
        .filter(|c| c.blames_fix())
        .filter_map(|c| c.verdict.as_ref())
        .flat_map(|v| v.suggestions.iter())
        .filter(|s| applicable(s))
        .collect();
    if suggestions.is_empty() {
        return None;
    }
    // Files the candidate adds (a regression test) start empty.
    let mut base = ctx.files.clone();
    for path in &patch.files {
        base.entry(path.clone()).or_default();
    }
    let after = patch.apply_to(&base).ok()?;
    let mut by_file: BTreeMap<&str, Vec<Fix>> = BTreeMap::new();
    for s in suggestions {
        let Some(path) = patch.files.iter().find(|p| same_file(p, &s.file)) else {
            continue;
        };
        let Some(text) = after.get(path) else { continue };
        if s.byte_start > s.byte_end
            || s.byte_end > text.len()
            || !text.is_char_boundary(s.byte_start)
            || !text.is_char_boundary(s.byte_end)
        {
            continue;
        }
        // The edit must land on the text the compiler read (the worktree
        // may differ from the context's files when the base moved).
        let line_start = text[..s.byte_start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[s.byte_start..].find('\n').map_or(text.len(), |i| s.byte_start + i);
        let line = text[line_start..line_end].trim_end_matches('\r');
        if s.source_line
            .as_deref()
            .is_some_and(|l| l.trim_end_matches('\r') != line)
        {
            continue;
        }
        let replacement = typed_replacement(text, s).unwrap_or_else(|| s.replacement.clone());
        let fixes = by_file.entry(path.as_str()).or_default();
        let fix = Fix {
            start: s.byte_start,
            end: s.byte_end,
            text: replacement,
            why: describe(s),
        };
        if !fixes.contains(&fix) {
            fixes.push(fix);
        }
    }
    let mut edits = Vec::new();
    let mut applied = Vec::new();
    for (path, mut fixes) in by_file {
        let Some(text) = after.get(path) else { continue };
        fixes.sort_by_key(|f| (f.start, f.end));
        // An overlap means two ideas for one place: apply neither.
        let overlaps = fixes
            .windows(2)
            .any(|w| w[1].start < w[0].end || w[1].start == w[0].start);
        if overlaps {
            continue;
        }
        let mut repaired = text.clone();
        for f in fixes.iter().rev() {
            repaired.replace_range(f.start..f.end, &f.text);
        }
        if !crate::rust_file::still_parses(text, &repaired) {
            continue;
        }
        applied.extend(fixes.into_iter().map(|f| f.why));
        let before = base.get(path)?.clone();
        edits.push(FileEdit {
            path: path.to_string(),
            before,
            after: repaired,
        });
    }
    // Files the repair did not touch keep the candidate's change.
    for path in &patch.files {
        if edits.iter().any(|e| &e.path == path) {
            continue;
        }
        // A file the candidate adds (a regression test) starts empty.
        edits.push(FileEdit {
            path: path.clone(),
            before: base.get(path)?.clone(),
            after: after.get(path)?.clone(),
        });
    }
    if applied.is_empty() {
        return None;
    }
    let mut repaired = Patch::from_edits(&edits).ok()?;
    if repaired.diff == patch.diff {
        return None;
    }
    repaired.generator = patch.generator.clone();
    repaired.class = patch.class.clone();
    repaired.root_cause = patch.root_cause.clone();
    repaired.candidates = patch.candidates.clone();
    repaired.regression_test = patch.regression_test.clone();
    repaired.model_confidence = patch.model_confidence;
    repaired.explanation = format!(
        "{} Compiler-guided repair: the candidate did not build, so rustc's suggestion(s) were applied: {}.",
        patch.explanation.trim_end(),
        applied.join("; ")
    );
    Some(repaired)
}

/// One edit to make.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fix {
    start: usize,
    end: usize,
    text: String,
    why: String,
}

/// Whether a suggestion may be applied without a person (module docs).
fn applicable(s: &CompilerSuggestion) -> bool {
    match s.applicability.as_str() {
        "MachineApplicable" => true,
        "MaybeIncorrect" if s.code.as_deref() == Some("E0689") => s.alternatives == 1,
        "MaybeIncorrect" => {
            s.alternatives == 1
                && s.message.starts_with("consider importing")
                && s.replacement.trim_start().starts_with("use ")
        }
        _ => false,
    }
}

/// Whether cargo's `file` (relative to the workspace root, or absolute) is
/// the repository path `path`.
fn same_file(path: &str, file: &str) -> bool {
    let file = file.replace('\\', "/");
    let file = file.trim_start_matches("./");
    file == path || file.ends_with(&format!("/{path}")) || path.ends_with(&format!("/{file}"))
}

fn describe(s: &CompilerSuggestion) -> String {
    let code = s.code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default();
    format!("{code}{} → `{}`", s.message, s.replacement.trim())
}

/// For E0689's `: i32` on a binding, the binding's type from the function
/// (`: u64` when the function returns it as a `u64`), when it says one.
fn typed_replacement(text: &str, s: &CompilerSuggestion) -> Option<String> {
    if s.code.as_deref() != Some("E0689") || !s.replacement.trim_start().starts_with(':') {
        return None;
    }
    let name: String = text[..s.byte_start]
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if name.is_empty() {
        return None;
    }
    let file = crate::rust_file::parse_file(text).ok()?;
    let at = line_column(text, s.byte_start);
    let mut finder = EnclosingFn { at, found: None };
    finder.visit_file(&file);
    let (sig, body) = finder.found?;
    int_type::infer(sig, body, &name).map(|t| format!(": {t}"))
}

/// 1-based line and 0-based char column of a byte offset (proc-macro2's
/// convention).
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
    (line, col)
}

/// The innermost function whose span holds a position.
struct EnclosingFn<'ast> {
    at: (usize, usize),
    found: Option<(&'ast syn::Signature, &'ast syn::Block)>,
}

impl EnclosingFn<'_> {
    fn holds(&self, span: proc_macro2::Span) -> bool {
        let (s, e) = (span.start(), span.end());
        (s.line, s.column) <= self.at && self.at <= (e.line, e.column)
    }
}

impl<'ast> Visit<'ast> for EnclosingFn<'ast> {
    fn visit_item_fn(&mut self, i: &'ast syn::ItemFn) {
        if self.holds(i.span()) {
            self.found = Some((&i.sig, &i.block));
            syn::visit::visit_item_fn(self, i);
        }
    }
    fn visit_impl_item_fn(&mut self, i: &'ast syn::ImplItemFn) {
        if self.holds(i.span()) {
            self.found = Some((&i.sig, &i.block));
            syn::visit::visit_impl_item_fn(self, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggestion(
        code: &str,
        applicability: &str,
        message: &str,
        start: usize,
        end: usize,
        text: &str,
    ) -> CompilerSuggestion {
        CompilerSuggestion {
            code: Some(code.into()),
            error: "error".into(),
            message: message.into(),
            file: "src/lib.rs".into(),
            byte_start: start,
            byte_end: end,
            replacement: text.into(),
            applicability: applicability.into(),
            alternatives: 1,
            source_line: None,
        }
    }

    /// rustc's E0689 suggestion `: i32` after `let mut acc` in `text`.
    fn type_the_acc_binding(text: &str) -> CompilerSuggestion {
        let at = text.find("let mut acc").unwrap() + "let mut acc".len();
        let message = "you must specify a type for this binding, like `i32`";
        suggestion("E0689", "MaybeIncorrect", message, at, at, ": i32")
    }

    #[test]
    fn only_safe_suggestions_apply() {
        assert!(applicable(&suggestion("E0308", "MachineApplicable", "x", 0, 0, "y")));
        assert!(applicable(&suggestion(
            "E0689",
            "MaybeIncorrect",
            "you must specify a type",
            0,
            0,
            ": i32"
        )));
        assert!(applicable(&suggestion(
            "E0433",
            "MaybeIncorrect",
            "consider importing this struct",
            0,
            0,
            "use std::collections::HashMap;\n"
        )));
        assert!(!applicable(&suggestion(
            "E0308",
            "MaybeIncorrect",
            "try this",
            0,
            0,
            "y"
        )));
        assert!(!applicable(&suggestion("E0308", "HasPlaceholders", "x", 0, 0, "y")));
        let mut two = suggestion(
            "E0433",
            "MaybeIncorrect",
            "consider importing one of these",
            0,
            0,
            "use a::B;\n",
        );
        two.alternatives = 2;
        assert!(!applicable(&two));
    }

    #[test]
    fn paths_match_by_suffix() {
        assert!(same_file("src/lib.rs", "src/lib.rs"));
        assert!(same_file("crates/a/src/lib.rs", "src/lib.rs"));
        assert!(same_file("src/lib.rs", "/tmp/wt/src/lib.rs"));
        assert!(!same_file("src/lib.rs", "src/main.rs"));
    }

    fn ctx(files: &[(&str, &str)]) -> FixContext {
        let event: bugstack_core::Event = serde_json::from_value(serde_json::json!({
            "event_id": "e1", "timestamp": "2024-01-01T00:00:00Z", "kind": "panic", "level": "fatal",
            "message": "attempt to multiply with overflow"
        }))
        .expect("a minimal event parses");
        FixContext {
            files: files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect(),
            ..FixContext::new(crate::Incident::from_event("1", event), "/repo", "0".repeat(40))
        }
    }

    fn failed_build(suggestions: Vec<CompilerSuggestion>) -> Validation {
        Validation {
            checks: vec![crate::CheckResult {
                name: "build".into(),
                command: "cargo build --message-format=json".into(),
                status: crate::CheckStatus::Failed,
                base_status: Some(crate::CheckStatus::Passed),
                exit_code: Some(101),
                duration_ms: 1,
                output: "error[E0689]".into(),
                verdict: Some(crate::Verdict {
                    judged_by: "diagnostics".into(),
                    blamed: true,
                    reason: "the command failed with the fix and passed on the base".into(),
                    tests: None,
                    new_errors: Vec::new(),
                    suggestions,
                }),
            }],
            regression: None,
            sandbox: None,
        }
    }

    #[test]
    fn a_candidate_is_repaired_and_keeps_its_other_files() {
        let before = "pub fn grow(n: u32) -> String {\n    let mut acc = 1;\n    for _ in 0..n {\n        acc = acc * 10;\n    }\n    acc.to_string()\n}\n";
        let after = before.replace("acc * 10", "acc.saturating_mul(10)");
        let test = "#[test]\nfn grows() {}\n";
        let patch = Patch::from_edits(&[
            FileEdit {
                path: "src/lib.rs".into(),
                before: before.into(),
                after: after.clone(),
            },
            FileEdit {
                path: "tests/regression.rs".into(),
                before: String::new(),
                after: test.into(),
            },
        ])
        .unwrap();
        let mut s = type_the_acc_binding(&after);
        s.source_line = Some("    let mut acc = 1;".into());
        let c = ctx(&[("src/lib.rs", before)]);
        let repaired = repair(&c, &patch, &failed_build(vec![s.clone()])).expect("repaired");
        let mut with_new = c.files.clone();
        with_new.insert("tests/regression.rs".into(), String::new());
        let files = repaired.apply_to(&with_new).unwrap();
        assert!(
            files["src/lib.rs"].contains("let mut acc: i32 = 1;"),
            "{}",
            repaired.diff
        );
        assert_eq!(files["tests/regression.rs"], test);
        assert!(
            repaired.explanation.contains("Compiler-guided repair"),
            "{}",
            repaired.explanation
        );
        // A suggestion for a line the candidate does not have is not applied.
        s.source_line = Some("    let mut other = 1;".into());
        assert!(repair(&c, &patch, &failed_build(vec![s])).is_none());
        // Nothing to apply: no repair.
        assert!(repair(&c, &patch, &failed_build(Vec::new())).is_none());
    }

    #[test]
    fn e0689_binding_takes_the_functions_type() {
        let text = "fn total(n: u64) -> u64 {\n    let mut acc = 1;\n    acc = acc.saturating_mul(n);\n    acc\n}\n";
        let s = type_the_acc_binding(text);
        assert_eq!(typed_replacement(text, &s).as_deref(), Some(": u64"));
    }
}
