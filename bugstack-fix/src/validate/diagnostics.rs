//! Compiler errors of a `cargo build|check|clippy --message-format=json`
//! run, read from cargo's JSON messages as they stream by.
//!
//! Each `compiler-message` is shown to people (and the retry prompt) as its
//! `rendered` text, and its errors are keyed without line numbers (level,
//! lint or error code, message, primary file), so an error the base already
//! had still matches after the patch moved it. A candidate is blamed for the
//! errors the base does not have.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Most distinct diagnostics kept.
const MAX_DIAGNOSTICS: usize = 10_000;

/// Errors of one run, counted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DiagnosticTally {
    /// Error count by key.
    pub errors: BTreeMap<String, u32>,
    /// JSON messages read.
    pub messages: u64,
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
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

#[derive(Deserialize)]
struct Span {
    file_name: String,
    is_primary: bool,
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
                *self.errors.entry(key).or_default() += 1;
            }
        }
        match d.rendered {
            Some(r) => Shown::Text(r),
            None => Shown::Nothing,
        }
    }
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
}
