//! Bearer-token authentication.

use subtle::ConstantTimeEq;

use crate::{Error, Result};

/// Whether the `Authorization` header value carries `token` as a bearer
/// token. The comparison takes the same time wherever the first difference
/// is (only the length can be learned from timing).
pub fn token_matches(header: &str, token: &str) -> bool {
    let Some((scheme, presented)) = header.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let presented = presented.trim().as_bytes();
    bool::from(presented.ct_eq(token.as_bytes()))
}

/// The token an `Authorization` header value carries as a bearer token
/// (`None` when it is not `Bearer <token>`).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, presented) = header.trim().split_once(' ')?;
    let presented = presented.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !presented.is_empty()).then_some(presented)
}

/// A stable, non-secret name for `token` (the first 12 hex digits of its
/// SHA-256): what quotas and the overflow incident are keyed by. It cannot
/// be turned back into the token (a random token has 256 bits).
pub fn token_id(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new random token: 32 bytes from the OS, as 64 hex digits.
pub fn generate_token() -> Result<String> {
    let mut buf = [0u8; 32];
    getrandom::getrandom(&mut buf).map_err(|e| Error::Config(format!("cannot generate a token: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_match_exactly() {
        assert!(token_matches("Bearer s3cret", "s3cret"));
        assert!(token_matches("bearer  s3cret ", "s3cret"));
        assert!(!token_matches("Bearer s3cre", "s3cret"));
        assert!(!token_matches("Bearer s3cret2", "s3cret"));
        assert!(!token_matches("Basic s3cret", "s3cret"));
        assert!(!token_matches("s3cret", "s3cret"));
        assert!(!token_matches("Bearer ", "s3cret"));
    }

    #[test]
    fn bearer_tokens_are_extracted() {
        assert_eq!(bearer_token("Bearer s3cret"), Some("s3cret"));
        assert_eq!(bearer_token(" bearer  s3cret "), Some("s3cret"));
        assert_eq!(bearer_token("Basic s3cret"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("s3cret"), None);
    }

    #[test]
    fn generated_tokens_are_long_and_distinct() {
        let (a, b) = (generate_token().unwrap(), generate_token().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
