//! Projects: one bugstack serving many services.
//!
//! A project has its own ingest token (only its SHA-256 is stored), a
//! repository and, optionally, a forge that overrides the repository
//! policy's `[forge]`. Every incident belongs to one project (and a fix job
//! to its incident's project); fingerprints group per project, so the same
//! bug in two projects is two incidents.
//!
//! The **default project** ([`DEFAULT_PROJECT_ID`], named
//! [`DEFAULT_PROJECT_NAME`]) is the one a single `bugstack serve --repo …`
//! has always served: its token is `serve`'s own (`--token` /
//! `BUGSTACK_TOKEN` / the generated token file), never stored in the
//! database, and its repository is `serve --repo`. Incidents stored before
//! projects existed belong to it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use bugstack_core::Timestamp;

use crate::{Error, Result};

/// The id of the default project (see the module docs).
pub const DEFAULT_PROJECT_ID: i64 = 1;

/// The name of the default project.
pub const DEFAULT_PROJECT_NAME: &str = "default";

/// Longest project name.
pub const MAX_PROJECT_NAME_LEN: usize = 64;

/// A project as the store keeps it (its token's hash is never returned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRecord {
    /// The store's id.
    pub id: i64,
    /// Its unique name (`bugstack project list`, `--project NAME`).
    pub name: String,
    /// The repository its fixes are made in (a path on the machine that
    /// runs its fix jobs). `None` for the default project, whose repository
    /// is `serve --repo`.
    pub repo: Option<String>,
    /// Its forge, overriding the repository policy's `[forge]` kind and
    /// repository: `local` or `github:OWNER/NAME` (see
    /// [`ForgeSpec`]); `None`: the policy's.
    pub forge: Option<String>,
    /// When it was added.
    pub created_at: Timestamp,
}

impl ProjectRecord {
    /// Whether this is the default project.
    pub fn is_default(&self) -> bool {
        self.id == DEFAULT_PROJECT_ID
    }
}

/// What `bugstack project add` stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProject {
    /// Its name ([`validate_project_name`]).
    pub name: String,
    /// The SHA-256 of its ingest token ([`hash_token`]); the token itself
    /// is never stored.
    pub token_hash: String,
    /// Its repository.
    pub repo: String,
    /// Its forge ([`ForgeSpec`]'s text), if it overrides the policy's.
    pub forge: Option<String>,
}

/// The hash a project's ingest token is stored and looked up by: SHA-256,
/// as 64 lowercase hex digits. Tokens are 256 random bits
/// (`bugstack project add` generates them), so a plain hash cannot be
/// reversed or guessed; no salt is needed, and the hash can be looked up.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether two token hashes are equal, compared in constant time.
pub fn hashes_match(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Checks a project name: 1 to [`MAX_PROJECT_NAME_LEN`] characters of
/// lowercase ASCII letters, digits, `-`, `_` and `.`, starting with a letter
/// or digit (it appears in commands, URLs and logs unquoted).
pub fn validate_project_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.');
    let starts_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.len() > MAX_PROJECT_NAME_LEN || !starts_ok || !name.chars().all(ok_char) {
        return Err(Error::Config(format!(
            "project name {name:?} is not valid: use 1 to {MAX_PROJECT_NAME_LEN} lowercase letters, digits, \
             '-', '_' or '.', starting with a letter or digit (e.g. `shop-api`)"
        )));
    }
    Ok(())
}

/// A project's forge as `--forge` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgeSpec {
    /// The local forge: a branch pushed to the repository's remote, the
    /// pull request recorded by bugstack.
    Local,
    /// GitHub pull requests on `owner/name`.
    Github(String),
}

impl std::str::FromStr for ForgeSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s == "local" {
            return Ok(ForgeSpec::Local);
        }
        if let Some(repo) = s.strip_prefix("github:") {
            let valid = repo.split_once('/').is_some_and(|(owner, name)| {
                let part_ok =
                    |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                part_ok(owner) && part_ok(name)
            });
            if valid {
                return Ok(ForgeSpec::Github(repo.to_string()));
            }
        }
        Err(Error::Config(format!(
            "--forge {s:?} is not a forge: use `local` or `github:OWNER/NAME`"
        )))
    }
}

impl std::fmt::Display for ForgeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForgeSpec::Local => f.write_str("local"),
            ForgeSpec::Github(repo) => write!(f, "github:{repo}"),
        }
    }
}

impl ForgeSpec {
    /// Applies the forge to a policy's `[forge]`: its kind, and for GitHub
    /// its repository (the rest — remote, labels, token variable — stays the
    /// policy's).
    pub fn apply(&self, forge: &mut bugstack_fix::ForgeConfig) {
        match self {
            ForgeSpec::Local => forge.kind = bugstack_fix::ForgeKind::Local,
            ForgeSpec::Github(repo) => {
                forge.kind = bugstack_fix::ForgeKind::Github;
                forge.repository = Some(repo.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hashes_are_sha256_hex_and_compare_exactly() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let h = hash_token("s3cret");
        assert_ne!(h, hash_token("s3cret2"));
        assert!(hashes_match(&h, &hash_token("s3cret")));
        assert!(!hashes_match(&h, &hash_token("other")));
        assert!(!hashes_match(&h, &h[..63]));
    }

    #[test]
    fn names_are_checked() {
        for ok in ["shop", "shop-api", "a", "billing_v2", "x.y"] {
            assert!(validate_project_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Shop", "-x", "a b", "a/b", &"x".repeat(65)] {
            let e = validate_project_name(bad).unwrap_err().to_string();
            assert!(e.contains("not valid"), "{bad}: {e}");
        }
    }

    #[test]
    fn forge_specs_parse_and_print() {
        assert_eq!("local".parse::<ForgeSpec>().unwrap(), ForgeSpec::Local);
        let gh: ForgeSpec = "github:acme/shop".parse().unwrap();
        assert_eq!(gh, ForgeSpec::Github("acme/shop".into()));
        assert_eq!(gh.to_string(), "github:acme/shop");
        for bad in ["gitlab", "github:", "github:acme", "github:/x", "github:a/b c"] {
            assert!(bad.parse::<ForgeSpec>().is_err(), "{bad}");
        }
        let mut forge = bugstack_fix::ForgeConfig::default();
        gh.apply(&mut forge);
        assert_eq!(forge.kind, bugstack_fix::ForgeKind::Github);
        assert_eq!(forge.repository.as_deref(), Some("acme/shop"));
    }
}
