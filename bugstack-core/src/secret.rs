//! [`Secret`]: a token or API key that never shows in logs.

use std::fmt;
use std::str::FromStr;

/// A secret value (forge token, model API key, collector token). Its `Debug`
/// and `Display` output is `[redacted]`, so it cannot reach a log, an error
/// message or a report by accident; [`Secret::expose`] is the one way to the
/// value, for the request header or comparison that needs it.
///
/// ```
/// use bugstack_core::Secret;
///
/// let key = Secret::new("sk-live-123");
/// assert_eq!(format!("{key} {key:?}"), "[redacted] Secret([redacted])");
/// assert_eq!(key.expose(), "sk-live-123");
/// assert_eq!(Secret::non_empty("  \n"), None);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value as it is.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// `value` without surrounding whitespace (a trailing newline from a
    /// secrets file or an environment variable), or `None` when nothing is
    /// left.
    pub fn non_empty(value: &str) -> Option<Self> {
        let value = value.trim();
        (!value.is_empty()).then(|| Secret(value.to_string()))
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Parses any string as it is (for command-line arguments).
impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret::new(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_is_never_formatted() {
        let s: Secret = "hunter2".parse().unwrap();
        for shown in [format!("{s}"), format!("{s:?}"), format!("{:?}", Some(&s))] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(Secret::non_empty(" k \n"), Some(Secret::new("k")));
        assert_eq!(Secret::non_empty(""), None);
    }
}
