//! The parts of `bugstack.toml` that govern an incident's life around the
//! fix rather than the fix itself: `[triggers]` (which incidents get a fix
//! job), `[verify]` (how long a live release containing the fix must stay
//! silent) and `[releases]` (release names mapped to git refs). See
//! `docs/policy.md`.

use std::collections::BTreeMap;
use std::time::Duration;

use bugstack_core::{Event, EventKind, Level};
use serde::{Deserialize, Serialize};

/// Default cap on fix jobs queued at once (`[triggers] max_queued_jobs`).
pub const DEFAULT_MAX_QUEUED_JOBS: usize = 20;

/// Default verification window (`[verify] window`): 30 minutes.
pub const DEFAULT_VERIFY_WINDOW: &str = "30m";

/// `[triggers]`: which incidents get a fix job. Everything is recorded and
/// counted; only an incident whose first event passes these gets a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Triggers {
    /// The least level that gets a fix job (`error`: errors and fatal
    /// panics; warnings and below are recorded, never fixed).
    pub level: Level,
    /// The event kinds that get a fix job (panics and errors; not
    /// `message` or `tracing`).
    pub kinds: Vec<EventKind>,
    /// Occurrences an incident needs before it gets a fix job (1: at once).
    pub min_count: u64,
    /// Environments whose events never get a fix job (e.g. `["dev"]`).
    pub skip_environments: Vec<String>,
    /// Most fix jobs queued at once; beyond it incidents wait and are
    /// queued as jobs finish, the most frequent first.
    pub max_queued_jobs: usize,
}

impl Default for Triggers {
    fn default() -> Self {
        Triggers {
            level: Level::Error,
            kinds: vec![EventKind::Panic, EventKind::Error],
            min_count: 1,
            skip_environments: Vec::new(),
            max_queued_jobs: DEFAULT_MAX_QUEUED_JOBS,
        }
    }
}

impl Triggers {
    /// Whether an incident whose first event is `event` is of a kind, level
    /// and environment that gets a fix job (the count is checked apart:
    /// [`Triggers::count_reached`]).
    pub fn wants_fix(&self, event: &Event) -> bool {
        self.wants(event.kind, event.level, event.environment.as_deref())
    }

    /// [`Triggers::wants_fix`] from the parts of an event.
    pub fn wants(&self, kind: EventKind, level: Level, environment: Option<&str>) -> bool {
        level >= self.level
            && self.kinds.contains(&kind)
            && !environment.is_some_and(|env| self.skip_environments.iter().any(|s| s == env))
    }

    /// Whether `count` occurrences are enough for a fix job.
    pub fn count_reached(&self, count: u64) -> bool {
        count >= self.min_count
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.kinds.is_empty() {
            return Err("triggers.kinds is empty: no incident would ever get a fix job (list at least one kind, e.g. [\"panic\"])".into());
        }
        if self.max_queued_jobs == 0 {
            return Err("triggers.max_queued_jobs must be at least 1".into());
        }
        Ok(())
    }
}

/// `[verify]`: when a fixed incident becomes `verified`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerifyConfig {
    /// How long a live release containing the fix must stay silent
    /// (`"30m"`, `"90s"`, `"2h"`, `"1h30m"`).
    pub window: String,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            window: DEFAULT_VERIFY_WINDOW.to_string(),
        }
    }
}

impl VerifyConfig {
    /// The window as a duration (checked when the policy is read; the
    /// default window if it does not parse).
    pub fn window(&self) -> Duration {
        parse_duration(&self.window).unwrap_or(Duration::from_secs(30 * 60))
    }
}

/// Parses a duration written as numbers with units, `ms`, `s`, `m`, `h` or
/// `d`: `"30m"`, `"90s"`, `"1h30m"`, `"500ms"`. A bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("{text:?} is not a duration (write e.g. \"30m\", \"90s\", \"2h\", \"1h30m\", \"500ms\")");
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total_ms: u64 = 0;
    let mut number = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit_ms = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total_ms = n
            .checked_mul(unit_ms)
            .and_then(|v| total_ms.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_millis(total_ms))
}

/// `[releases]`: release names mapped to git refs, e.g.
/// `"shop@{version}" = "v{version}"`. A `{name}` in the pattern matches
/// one or more characters (no `/` or whitespace); the same `{name}` in the
/// target is replaced by what it matched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReleasePatterns(pub BTreeMap<String, String>);

/// A piece of a release pattern.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Literal(&'a str),
    Var(&'a str),
}

/// Splits a pattern into literals and `{name}` placeholders.
fn pieces(pattern: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Literal(&rest[..open]));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("releases: {pattern:?} has a `{{` without its `}}`"))?;
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "releases: {pattern:?}: placeholder {{{name}}} must be a name of letters, digits or _"
            ));
        }
        if matches!(out.last(), Some(Piece::Var(_))) {
            return Err(format!(
                "releases: {pattern:?}: two placeholders in a row cannot be told apart; put text between them"
            ));
        }
        out.push(Piece::Var(name));
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("releases: {pattern:?} has a `}}` without its `{{`"));
    }
    if !rest.is_empty() {
        out.push(Piece::Literal(rest));
    }
    Ok(out)
}

/// Matches `text` against `pieces`, binding placeholders (shortest match
/// first, backtracking).
fn match_pieces<'t>(pieces: &[Piece<'_>], text: &'t str, bound: &mut Vec<(String, &'t str)>) -> bool {
    match pieces.split_first() {
        None => text.is_empty(),
        Some((Piece::Literal(lit), rest)) => text.strip_prefix(lit).is_some_and(|t| match_pieces(rest, t, bound)),
        Some((Piece::Var(name), rest)) => {
            for (i, c) in text.char_indices() {
                if c == '/' || c.is_whitespace() {
                    return false;
                }
                let end = i + c.len_utf8();
                bound.push(((*name).to_string(), &text[..end]));
                if match_pieces(rest, &text[end..], bound) {
                    return true;
                }
                bound.pop();
            }
            false
        }
    }
}

impl ReleasePatterns {
    /// The git ref (tag or commit) the first matching pattern maps
    /// `release` to, if any pattern matches.
    pub fn map(&self, release: &str) -> Option<String> {
        for (pattern, target) in &self.0 {
            let Ok(pat) = pieces(pattern) else { continue };
            let mut bound = Vec::new();
            if !match_pieces(&pat, release, &mut bound) {
                continue;
            }
            let Ok(tgt) = pieces(target) else { continue };
            let mut out = String::new();
            for p in tgt {
                match p {
                    Piece::Literal(l) => out.push_str(l),
                    Piece::Var(v) => out.push_str(bound.iter().find(|(n, _)| n == v).map_or("", |(_, s)| s)),
                }
            }
            return Some(out);
        }
        None
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        for (pattern, target) in &self.0 {
            let pat = pieces(pattern)?;
            if pat.is_empty() {
                return Err("releases: an empty pattern matches nothing".into());
            }
            let tgt = pieces(target)?;
            if tgt.is_empty() {
                return Err(format!("releases: {pattern:?} maps to an empty ref"));
            }
            for p in &tgt {
                if let Piece::Var(v) = p {
                    if !pat.contains(&Piece::Var(v)) {
                        return Err(format!(
                            "releases: {target:?} uses {{{v}}}, which {pattern:?} does not define"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_refuse_garbage() {
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        for bad in ["", "m", "30x", "1h30", "-5m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn release_patterns_map_names_to_refs() {
        let p = ReleasePatterns(BTreeMap::from([
            ("shop@{version}".to_string(), "v{version}".to_string()),
            ("build-{n}-{sha}".to_string(), "{sha}".to_string()),
        ]));
        p.validate().unwrap();
        assert_eq!(p.map("shop@1.2.3").as_deref(), Some("v1.2.3"));
        assert_eq!(p.map("build-17-abc123").as_deref(), Some("abc123"));
        assert_eq!(p.map("ledger@1.2.3"), None);
        assert_eq!(p.map("shop@"), None, "a placeholder matches at least one character");
        assert_eq!(p.map("shop@a/b"), None, "no slash in a placeholder");
    }

    #[test]
    fn bad_release_patterns_are_refused() {
        for (pat, tgt) in [
            ("shop@{v", "x"),
            ("a@{v}", "{w}"),
            ("{a}{b}", "x"),
            ("x", ""),
            ("a@{v-1}", "x"),
        ] {
            let p = ReleasePatterns(BTreeMap::from([(pat.to_string(), tgt.to_string())]));
            assert!(p.validate().is_err(), "{pat} = {tgt}");
        }
    }

    #[test]
    fn triggers_default_to_panics_and_errors_at_error_level() {
        let t = Triggers::default();
        assert!(t.wants(EventKind::Panic, Level::Fatal, None));
        assert!(t.wants(EventKind::Error, Level::Error, Some("prod")));
        assert!(!t.wants(EventKind::Message, Level::Warning, None));
        assert!(!t.wants(EventKind::Error, Level::Warning, None));
        assert!(!t.wants(EventKind::Tracing, Level::Error, None));
        let t = Triggers {
            skip_environments: vec!["dev".into()],
            ..Triggers::default()
        };
        assert!(!t.wants(EventKind::Panic, Level::Fatal, Some("dev")));
    }
}
