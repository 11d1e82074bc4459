//! Managing the repository's keys (passwords).

use rustic_core::repofile::{KeyFile, KeyId};
use serde::Serialize;
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::error::rustic;
use crate::repo::Repo;

/// One key of the repository.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub id: String,
    /// True for the key that opened this session.
    pub current: bool,
    pub hostname: Option<String>,
    pub username: Option<String>,
    pub created: Option<String>,
}

impl Repo {
    /// Adds a key for `password`; returns its id.
    pub fn add_key(&self, password: &str) -> Result<String> {
        let id = self
            .inner
            .add_key(password, &crate::nodes::key_options())
            .map_err(rustic("cannot add the key"))?;
        Ok(id.to_hex().to_string())
    }

    pub fn keys(&self) -> Result<Vec<KeyInfo>> {
        let current = self.key_id;
        let ids: Vec<KeyId> = self
            .inner
            .list::<KeyId>()
            .map_err(rustic("cannot list the keys"))?
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let file: KeyFile = self
                .inner
                .get_file(&id)
                .map_err(rustic("cannot read a key file"))?;
            out.push(KeyInfo {
                id: id.to_hex().to_string(),
                current: Some(id) == current,
                hostname: file.hostname,
                username: file.username,
                created: file.created.map(|t| t.timestamp().to_string()),
            });
        }
        out.sort_by(|a, b| a.created.cmp(&b.created));
        Ok(out)
    }

    /// Removes the key whose id starts with `prefix`. The key in use cannot be removed.
    pub fn remove_key(&self, prefix: &str) -> Result<String> {
        let keys = self.keys()?;
        let matching: Vec<&KeyInfo> = keys.iter().filter(|k| k.id.starts_with(prefix)).collect();
        let key = match matching.as_slice() {
            [one] => *one,
            [] => {
                return Err(UmbraError::new(
                    ErrorKind::NotFound,
                    format!("no key matches `{prefix}`"),
                )
                .with_hint("List the keys with `umbra key list`."))
            }
            _ => {
                return Err(UmbraError::new(
                    ErrorKind::InvalidInput,
                    format!("`{prefix}` matches {} keys", matching.len()),
                )
                .with_hint("Give more digits of the key id."))
            }
        };
        if key.current {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                "refusing to remove the key that opened the repository",
            )
            .with_hint("Open the repository with another key's password to remove this one."));
        }
        let id: KeyId = key
            .id
            .parse()
            .map_err(|_| UmbraError::new(ErrorKind::Internal, "a key id did not parse"))?;
        self.inner
            .delete_key(&id)
            .map_err(rustic("cannot remove the key"))?;
        Ok(key.id.clone())
    }
}
