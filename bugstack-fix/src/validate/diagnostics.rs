//! Compiler errors of a `cargo build|check|clippy --message-format=json`
//! run, read from cargo's JSON messages as they stream by.
//!
//! Each `compiler-message` is shown to people (and the retry prompt) as its
//! `rendered` text, and its errors are keyed without line numbers (level,
//! lint or error code, message, primary file), so an error the base already
//! had still matches after the patch moved it. A candidate is blamed for the
//! errors the base does not have.
//!
//! The compiler's suggested edits for each error (`children[].spans[]`
//! with a `suggested_replacement`) are kept too, keyed like the error, so
//! compiler-guided repair can apply them to a candidate that does not
//! build ([`CompilerSuggestion`]).

use std::collections::BTreeMap;

use bugstack_core::omit_empty;
use serde::{Deserialize, Serialize};

/// Most distinct diagnostics kept.
const MAX_DIAGNOSTICS: usize = 10_000;

/// Most suggestions kept per run.
const MAX_SUGGESTIONS: usize = 200;

/// Longest suggested replacement kept (bytes).
const MAX_REPLACEMENT: usize = 1_000;

/// An edit the compiler suggests for one of its errors: replace
/// `byte_start..byte_end` of `file` (as cargo names it, relative to the
/// workspace root) with `replacement`.
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompilerSuggestion {
    /// The error's code (`E0689`), when it has one.
    pub code: Option<String>,
    /// The error's message.
    pub error: String,
    /// The suggestion's own message (`consider importing this struct`).
    pub message: String,
    /// The file the edit applies to.
    pub file: String,
    /// Start of the replaced bytes.
    pub byte_start: usize,
    /// End of the replaced bytes (equal to the start for an insertion).
    pub byte_end: usize,
    /// The text to put there.
    pub replacement: String,
    /// rustc's applicability (`MachineApplicable`, `MaybeIncorrect`,
    /// `HasPlaceholders`, `Unspecified`).
    pub applicability: String,
    /// How many suggestions the compiler offered for the same error (more
    /// than one: alternatives, e.g. two items to import).
    pub alternatives: usize,
    /// The source line the edit starts on, as the compiler read it (to
    /// check the edit lands on the same text it was suggested for).
    pub source_line: Option<String>,
}

/// Errors of one run, counted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DiagnosticTally {
    /// Error count by key.
    pub errors: BTreeMap<String, u32>,
    /// JSON messages read.
    pub messages: u64,
    /// The compiler's suggested edits, each with the key of its error.
    pub suggestions: Vec<(String, CompilerSuggestion)>,
}

/// What a line of output becomes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Shown {
    /// Keep the line as it is (not a cargo JSON message).
    Line,
    /// Show this text instead (a diagnostic's rendered form).
    Text(String),
    /// Show nothing (an artifact or build-script message).
    Nothing,
}

#[derive(Deserialize)]
struct CargoMessage {
    reason: String,
    #[serde(default)]
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct Diagnostic {
    #[serde(default)]
    rendered: Option<String>,
    level: String,
    message: String,
    #[serde(default)]
    code: Option<Code>,
    #[serde(default)]
    spans: Vec<Span>,
    #[serde(default)]
    children: Vec<Child>,
}

#[derive(Deserialize)]
struct Child {
    message: String,
    #[serde(default)]
    spans: Vec<Span>,
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

#[derive(Deserialize)]
struct Span {
    file_name: String,
    is_primary: bool,
    #[serde(default)]
    byte_start: usize,
    #[serde(default)]
    byte_end: usize,
    #[serde(default)]
    suggested_replacement: Option<String>,
    #[serde(default)]
    suggestion_applicability: Option<String>,
    #[serde(default)]
    text: Vec<SpanLine>,
}

#[derive(Deserialize)]
struct SpanLine {
    text: String,
}

impl DiagnosticTally {
    /// Reads one line of output; says what to show in its place.
    pub(crate) fn line(&mut self, line: &str) -> Shown {
        let trimmed = line.trim();
        if !trimmed.starts_with('{') || !trimmed.contains("\"reason\"") {
            return Shown::Line;
        }
        let Ok(msg) = serde_json::from_str::<CargoMessage>(trimmed) else {
            return Shown::Line;
        };
        self.messages += 1;
        if msg.reason != "compiler-message" {
            return Shown::Nothing;
        }
        let Some(d) = msg.message else {
            return Shown::Nothing;
        };
        if d.level == "error" && !d.message.starts_with("aborting due to") {
            let file = d
                .spans
                .iter()
                .find(|s| s.is_primary)
                .map(|s| s.file_name.as_str())
                .unwrap_or("-");
            let code = d.code.as_ref().map(|c| c.code.as_str()).unwrap_or("-");
            let key = format!("error[{code}] {file}: {}", d.message);
            if self.errors.contains_key(&key) || self.errors.len() < MAX_DIAGNOSTICS {
                *self.errors.entry(key.clone()).or_default() += 1;
            }
            self.keep_suggestions(&key, &d);
        }
        match d.rendered {
            Some(r) => Shown::Text(r),
            None => Shown::Nothing,
        }
    }
}

impl DiagnosticTally {
    fn keep_suggestions(&mut self, key: &str, d: &Diagnostic) {
        let offered: Vec<(&Child, &Span, &String)> = d
            .children
            .iter()
            .flat_map(|c| c.spans.iter().map(move |s| (c, s)))
            .filter_map(|(c, s)| s.suggested_replacement.as_ref().map(|r| (c, s, r)))
            .collect();
        let alternatives = offered.len();
        for (child, span, replacement) in offered {
            if self.suggestions.len() >= MAX_SUGGESTIONS || replacement.len() > MAX_REPLACEMENT {
                continue;
            }
            self.suggestions.push((
                key.to_string(),
                CompilerSuggestion {
                    code: d.code.as_ref().map(|c| c.code.clone()),
                    error: d.message.clone(),
                    message: child.message.clone(),
                    file: span.file_name.clone(),
                    byte_start: span.byte_start,
                    byte_end: span.byte_end,
                    replacement: replacement.clone(),
                    applicability: span
                        .suggestion_applicability
                        .clone()
                        .unwrap_or_else(|| "Unspecified".into()),
                    alternatives,
                    source_line: span.text.first().map(|l| l.text.clone()),
                },
            ));
        }
    }
}

/// The suggestions for the errors in `keys` (the new ones).
pub(super) fn suggestions_for(tally: &DiagnosticTally, keys: &[String]) -> Vec<CompilerSuggestion> {
    tally
        .suggestions
        .iter()
        .filter(|(k, _)| keys.contains(k))
        .map(|(_, s)| s.clone())
        .collect()
}

/// Errors the candidate has more of than the base (most 50).
pub(super) fn new_errors(base: &DiagnosticTally, cand: &DiagnosticTally) -> Vec<String> {
    cand.errors
        .iter()
        .filter(|(k, n)| base.errors.get(*k).copied().unwrap_or(0) < **n)
        .map(|(k, _)| k.clone())
        .take(50)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(file: &str, msg: &str, code: &str) -> String {
        serde_json::json!({
            "reason": "compiler-message",
            "package_id": "shop 0.1.0",
            "message": {
                "rendered": format!("error[{code}]: {msg}\n --> {file}:3:5\n"),
                "level": "error",
                "message": msg,
                "code": {"code": code, "explanation": null},
                "spans": [{"file_name": file, "is_primary": true, "line_start": 3}],
            }
        })
        .to_string()
    }

    #[test]
    fn keys_errors_and_shows_rendered_text() {
        let mut t = DiagnosticTally::default();
        assert_eq!(t.line("   Compiling shop v0.1.0"), Shown::Line);
        assert_eq!(
            t.line(r#"{"reason":"compiler-artifact","package_id":"x","target":{}}"#),
            Shown::Nothing
        );
        let shown = t.line(&error("src/lib.rs", "mismatched types", "E0308"));
        assert!(
            matches!(&shown, Shown::Text(s) if s.starts_with("error[E0308]")),
            "{shown:?}"
        );
        assert_eq!(t.errors.len(), 1);
        assert_eq!(t.messages, 2);
    }

    #[test]
    fn only_errors_the_base_lacks_are_new() {
        let mut base = DiagnosticTally::default();
        base.line(&error("src/old.rs", "cannot find value `x`", "E0425"));
        let mut cand = DiagnosticTally::default();
        cand.line(&error("src/old.rs", "cannot find value `x`", "E0425"));
        assert!(new_errors(&base, &cand).is_empty());
        cand.line(&error("src/cart.rs", "mismatched types", "E0308"));
        assert_eq!(new_errors(&base, &cand), ["error[E0308] src/cart.rs: mismatched types"]);
    }

    #[test]
    fn keeps_the_compilers_suggested_edits() {
        let line = serde_json::json!({
            "reason": "compiler-message",
            "message": {
                "rendered": "error[E0689]: can't call method",
                "level": "error",
                "message": "can't call method `saturating_mul` on ambiguous numeric type `{integer}`",
                "code": {"code": "E0689"},
                "spans": [{"file_name": "src/lib.rs", "is_primary": true, "byte_start": 80, "byte_end": 94}],
                "children": [{
                    "message": "you must specify a type for this binding, like `i32`",
                    "spans": [{"file_name": "src/lib.rs", "is_primary": true, "byte_start": 52, "byte_end": 52,
                               "suggested_replacement": ": i32", "suggestion_applicability": "MaybeIncorrect"}]
                }]
            }
        })
        .to_string();
        let mut t = DiagnosticTally::default();
        t.line(&line);
        let keys: Vec<String> = t.errors.keys().cloned().collect();
        let s = suggestions_for(&t, &keys);
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].byte_start, s[0].byte_end, s[0].replacement.as_str()),
            (52, 52, ": i32")
        );
        assert_eq!(s[0].code.as_deref(), Some("E0689"));
        assert_eq!(s[0].applicability, "MaybeIncorrect");
        assert!(suggestions_for(&t, &[]).is_empty());
    }
}
