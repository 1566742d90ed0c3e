//! Commit messages in the repository's own style.
//!
//! [`CommitStyle::detect`] reads recent commit subjects and measures three
//! habits: a prefix (conventional commits `fix(scope): ...`, or an area
//! prefix `cart: ...`), capitalisation of the first word after it, and a
//! trailing period. [`fix_commit_message`] writes the fix commit that way,
//! with a body holding the root cause and a `Bugstack-Incident:` trailer.
//!
//! Event text is untrusted: everything taken from it is flattened to one
//! line, stripped of control characters and cut to length.

use bugstack_core::text::{ellipsize, one_line};
use serde::{Deserialize, Serialize};

use crate::{FixContext, Patch};

/// The trailer naming the incident a fix commit belongs to.
pub(crate) const INCIDENT_TRAILER: &str = "Bugstack-Incident";

/// The trailer carrying the incident's fingerprint.
pub(crate) const FINGERPRINT_TRAILER: &str = "Bugstack-Fingerprint";

/// Longest subject written (git's customary limit).
pub(crate) const MAX_SUBJECT_CHARS: usize = 72;

const CONVENTIONAL_TYPES: &[&str] = &[
    "feat", "fix", "chore", "docs", "doc", "refactor", "test", "tests", "perf", "build", "ci", "style", "revert",
];

/// How subjects start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum SubjectPrefix {
    /// No prefix: `Fix panic in cart`.
    None,
    /// Conventional commits: `fix: ...`, or `fix(scope): ...` when most
    /// prefixed subjects carry a scope.
    Conventional {
        /// Whether to add a `(scope)`.
        scoped: bool,
    },
    /// An area prefix: `cart: fix panic ...`.
    Area,
}

/// The habits of a repository's commit subjects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CommitStyle {
    /// How subjects start.
    pub prefix: SubjectPrefix,
    /// Whether the first word (after any prefix) is capitalised.
    pub capitalised: bool,
    /// Whether subjects end with a period.
    pub trailing_period: bool,
}

impl Default for CommitStyle {
    /// The style used for a repository without history: `fix: avoid ...`.
    fn default() -> Self {
        CommitStyle {
            prefix: SubjectPrefix::Conventional { scoped: false },
            capitalised: false,
            trailing_period: false,
        }
    }
}

fn conventional_prefix(subject: &str) -> Option<(&str, Option<&str>, &str)> {
    let (head, rest) = subject.split_once(": ")?;
    let head = head.strip_suffix('!').unwrap_or(head);
    let (ty, scope) = match head.split_once('(') {
        Some((ty, scope)) => (ty, Some(scope.strip_suffix(')')?)),
        None => (head, None),
    };
    CONVENTIONAL_TYPES
        .contains(&ty.to_ascii_lowercase().as_str())
        .then_some((ty, scope, rest))
}

fn area_prefix(subject: &str) -> Option<&str> {
    let (head, rest) = subject.split_once(": ")?;
    let ok = !head.is_empty()
        && head.len() <= 30
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | ',' | ' ' | '*'))
        && !head.contains("  ");
    ok.then_some(rest)
}

impl CommitStyle {
    /// Measures the style of `subjects` (most recent first). Each habit is
    /// adopted when at least half of the subjects show it; no subjects give
    /// [`CommitStyle::default`].
    pub(crate) fn detect<S: AsRef<str>>(subjects: &[S]) -> CommitStyle {
        let subjects: Vec<&str> = subjects
            .iter()
            .map(|s| s.as_ref().trim())
            .filter(|s| !s.is_empty() && !s.starts_with("Merge ") && !s.starts_with("Revert \""))
            .collect();
        if subjects.is_empty() {
            return CommitStyle::default();
        }
        let half = |n: usize| n * 2 >= subjects.len();
        let conventional: Vec<_> = subjects.iter().filter_map(|s| conventional_prefix(s)).collect();
        let (prefix, rests): (SubjectPrefix, Vec<&str>) = if half(conventional.len()) {
            let scoped = conventional.iter().filter(|(_, scope, _)| scope.is_some()).count();
            (
                SubjectPrefix::Conventional {
                    scoped: scoped * 2 >= conventional.len(),
                },
                conventional.iter().map(|(_, _, rest)| *rest).collect(),
            )
        } else {
            let areas: Vec<&str> = subjects.iter().filter_map(|s| area_prefix(s)).collect();
            if half(areas.len()) {
                (SubjectPrefix::Area, areas)
            } else {
                (SubjectPrefix::None, subjects.clone())
            }
        };
        let capitalised = rests
            .iter()
            .filter(|r| r.chars().next().is_some_and(char::is_uppercase))
            .count();
        let period = subjects
            .iter()
            .filter(|s| s.ends_with('.') && !s.ends_with("..."))
            .count();
        CommitStyle {
            prefix,
            capitalised: capitalised * 2 > rests.len(),
            trailing_period: period * 2 > subjects.len(),
        }
    }

    /// A subject in this style: `summary` (lower-case first word, no period)
    /// with the prefix for `scope`, cut to [`MAX_SUBJECT_CHARS`].
    pub(crate) fn subject(&self, scope: Option<&str>, summary: &str) -> String {
        let summary = one_line(summary);
        let mut text = if self.capitalised {
            capitalise(&summary)
        } else {
            summary
        };
        if self.trailing_period {
            text.push('.');
        }
        let prefix = match (&self.prefix, scope) {
            (SubjectPrefix::None, _) => String::new(),
            (SubjectPrefix::Conventional { scoped: true }, Some(s)) => format!("fix({s}): "),
            (SubjectPrefix::Conventional { .. }, _) => "fix: ".into(),
            (SubjectPrefix::Area, Some(s)) => format!("{s}: "),
            (SubjectPrefix::Area, None) => String::new(),
        };
        let budget = MAX_SUBJECT_CHARS.saturating_sub(prefix.chars().count());
        format!("{prefix}{}", ellipsize(&text, budget))
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A scope for the subject from the fixed file: its stem, or for
/// `lib.rs`/`main.rs`/`mod.rs` the enclosing directory (skipping `src`).
pub(crate) fn scope_for(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let (file, dirs) = parts.split_last()?;
    let stem = file.rsplit_once('.').map_or(*file, |(s, _)| s);
    let name = if matches!(stem, "lib" | "main" | "mod") {
        dirs.iter().rev().copied().find(|d| *d != "src")?
    } else {
        stem
    };
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    (!clean.is_empty()).then_some(clean)
}

/// What the fix does, in a few words: `avoid panic in cart::total`.
fn summary(ctx: &FixContext, patch: &Patch) -> String {
    let what = match patch.class.as_deref() {
        Some(class) => format!("avoid {class} panic"),
        None => "avoid panic".to_string(),
    };
    match ctx.target() {
        Some(frame) => match frame.function.as_deref() {
            Some(function) => {
                let short: Vec<&str> = function.rsplit("::").take(2).collect();
                let short: Vec<&str> = short.into_iter().rev().collect();
                format!("{what} in {}", one_line(&short.join("::")))
            }
            None => format!("{what} at {}:{}", one_line(&frame.path), frame.line),
        },
        None => what,
    }
}

/// The fix commit's message: a subject in `style`, a body with the root
/// cause and the change, and trailers naming the incident.
pub(crate) fn fix_commit_message(style: &CommitStyle, ctx: &FixContext, patch: &Patch) -> String {
    let scope = ctx
        .target()
        .map(|f| f.path.as_str())
        .or_else(|| patch.files.first().map(String::as_str))
        .and_then(scope_for);
    let subject = style.subject(scope.as_deref(), &summary(ctx, patch));
    let incident = &ctx.incident;
    let mut body = String::new();
    body.push_str(&format!(
        "The service reported {} occurrence(s) of: {}\n",
        incident.count,
        ellipsize(&one_line(&incident.title()), 200)
    ));
    if let Some(frame) = ctx.target() {
        body.push_str(&format!("at {}:{}.\n", one_line(&frame.path), frame.line));
    }
    if !patch.root_cause.trim().is_empty() {
        body.push_str(&format!("\nRoot cause: {}\n", patch.root_cause.trim()));
    }
    if !patch.explanation.trim().is_empty() {
        body.push_str(&format!("\nFix: {}\n", patch.explanation.trim()));
    }
    format!(
        "{subject}\n\n{body}\n{INCIDENT_TRAILER}: {}\n{FINGERPRINT_TRAILER}: {}\n",
        one_line(&incident.id),
        incident.fingerprint.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_scoped_conventional_commits() {
        let style = CommitStyle::detect(&[
            "fix(cart): handle empty carts",
            "feat(api): add /orders",
            "chore: bump deps",
            "fix(db): retry on busy",
            "Merge branch 'x'",
        ]);
        assert_eq!(style.prefix, SubjectPrefix::Conventional { scoped: true });
        assert!(!style.capitalised && !style.trailing_period);
        assert_eq!(
            style.subject(Some("cart"), "avoid panic in Cart::total"),
            "fix(cart): avoid panic in Cart::total"
        );
    }

    #[test]
    fn detects_plain_capitalised_subjects() {
        let style = CommitStyle::detect(&["Add order endpoint", "Handle empty carts", "Bump deps.", "Fix typo"]);
        assert_eq!(style.prefix, SubjectPrefix::None);
        assert!(style.capitalised && !style.trailing_period);
        assert_eq!(style.subject(Some("cart"), "avoid panic"), "Avoid panic");
        let dotted = CommitStyle::detect(&["Add x.", "Fix y.", "Tidy z"]);
        assert!(dotted.trailing_period);
        assert_eq!(dotted.subject(None, "avoid panic"), "Avoid panic.");
    }

    #[test]
    fn detects_area_prefixes_and_defaults() {
        let style = CommitStyle::detect(&["fix: handle empty", "net/http: fix leak", "docs: typo"]);
        assert_eq!(style.prefix, SubjectPrefix::Conventional { scoped: false });
        let style = CommitStyle::detect(&["cart: handle empty", "net/http: fix leak", "db: Retry"]);
        assert_eq!(style.prefix, SubjectPrefix::Area);
        assert_eq!(style.subject(Some("cart"), "avoid panic"), "cart: avoid panic");
        assert_eq!(CommitStyle::detect::<&str>(&[]), CommitStyle::default());
    }

    #[test]
    fn subjects_are_one_line_and_bounded() {
        let style = CommitStyle::default();
        let s = style.subject(None, &format!("evil\nline\u{7}{}", "x".repeat(200)));
        assert!(!s.contains('\n') && !s.contains('\u{7}'), "{s}");
        assert!(s.chars().count() <= MAX_SUBJECT_CHARS, "{s}");
        assert!(s.ends_with('…'));
    }

    #[test]
    fn scopes_come_from_paths() {
        assert_eq!(scope_for("src/cart.rs").as_deref(), Some("cart"));
        assert_eq!(scope_for("crates/orders/src/lib.rs").as_deref(), Some("orders"));
        assert_eq!(scope_for("src/api/mod.rs").as_deref(), Some("api"));
        assert_eq!(scope_for("src/lib.rs"), None);
    }
}
