//! Which project an ingest token belongs to.
//!
//! `serve`'s own token (`--token` / `BUGSTACK_TOKEN`) is the default
//! project's. Any other token is hashed ([`hash_token`]) and looked up in
//! the store's projects (`bugstack project add` stored only the hash); a
//! token found once is remembered by its hash, so a sender's later batches
//! cost no look-up. Projects are never removed, so a remembered token stays
//! right; an unknown token is looked up each time (and answered `401`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::store::{hash_token, IncidentStore, DEFAULT_PROJECT_ID};
use crate::{Error, Result};

/// Most token hashes remembered (beyond, a found token is looked up again
/// next time: still right, only slower).
pub const MAX_REMEMBERED_TOKENS: usize = 10_000;

/// Who sent a request: the project its token belongs to and the token's
/// quota name ([`super::token_id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The project the token belongs to.
    pub project: i64,
    /// The token's stable, non-secret name (its quota and batch keys).
    pub source: String,
}

/// The project tokens found so far, by hash (cheap to clone: shared).
#[derive(Debug, Clone, Default)]
pub struct ProjectTokens {
    known: Arc<Mutex<HashMap<String, i64>>>,
}

impl ProjectTokens {
    /// The sender presenting `token`, when it is a project's token:
    /// `default_token` is the default project's, any other is looked up by
    /// its hash in `store` (blocking: off the async workers). `Ok(None)`:
    /// no project has this token.
    pub async fn sender(
        &self,
        store: &Arc<dyn IncidentStore>,
        default_token: &str,
        token: &str,
    ) -> Result<Option<Sender>> {
        let source = super::token_id(token);
        if super::token_matches(&format!("Bearer {token}"), default_token) {
            return Ok(Some(Sender {
                project: DEFAULT_PROJECT_ID,
                source,
            }));
        }
        let hash = hash_token(token);
        if let Some(&project) = self.lock().get(&hash) {
            return Ok(Some(Sender { project, source }));
        }
        let store = store.clone();
        let lookup = hash.clone();
        let found = tokio::task::spawn_blocking(move || store.project_by_token_hash(&lookup))
            .await
            .map_err(|e| Error::Task(e.to_string()))??;
        let Some(project) = found else {
            return Ok(None);
        };
        let mut known = self.lock();
        if known.len() < MAX_REMEMBERED_TOKENS {
            known.insert(hash, project.id);
        }
        Ok(Some(Sender {
            project: project.id,
            source,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}
