//! Proof that restored files hold what was backed up: a drill's file check.
//!
//! Each sampled file of a restored tree is cut at the lengths of the blobs its snapshot
//! node lists, and each piece must hash (SHA-256) to that blob's id: the blob id *is* the
//! hash of its plain content, so this checks the restored bytes against the snapshot
//! itself, independently of the chunker that cut them and of the restore code that wrote
//! them. Where the live file still has the size and modification time the snapshot
//! recorded, it should also hold the same bytes; when it does not, the source or the
//! backup changed silently (bit rot, a writer that restored mtime), and the drill says so.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use rustic_core::repofile::NodeType;
use rustic_core::LsOptions;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use umbra_core::Result;

use crate::browse::node_at;
use crate::error::{from_rustic, rustic};
use crate::repo::Repo;

/// What the file check found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileCheck {
    /// Regular files in the snapshot.
    pub files_in_snapshot: u64,
    /// Files whose restored bytes were hashed against the snapshot.
    pub checked: u64,
    pub bytes_checked: u64,
    /// Restored files whose bytes do not hash to the snapshot's blobs (or are missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restore_mismatch: Vec<String>,
    /// Of the checked files, those whose live copy had the recorded size and mtime.
    pub live_compared: u64,
    /// Live files with the recorded size and mtime but other bytes: possible corruption of
    /// the source or of the backup.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live_differs: Vec<String>,
}

impl FileCheck {
    #[must_use]
    pub fn ok(&self) -> bool {
        self.restore_mismatch.is_empty() && self.live_differs.is_empty()
    }
}

/// Which files: `None` for every file.
fn chosen(total: usize, sample: Option<usize>, seed: &str) -> Vec<bool> {
    let Some(n) = sample.filter(|n| *n < total) else {
        return vec![true; total];
    };
    // A sample spread over the whole tree, different for each snapshot: rank each index
    // by a hash of (snapshot id, index) and take the n lowest.
    let mut ranked: Vec<(u64, usize)> = (0..total)
        .map(|i| {
            let h = Sha256::digest(format!("{seed}/{i}").as_bytes());
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[..8]);
            (u64::from_le_bytes(b), i)
        })
        .collect();
    ranked.sort_unstable();
    let mut pick = vec![false; total];
    for (_, i) in ranked.into_iter().take(n) {
        pick[i] = true;
    }
    pick
}

fn sha256_of(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().to_vec())
}

impl Repo {
    /// Checks files of snapshot `spec` restored (with their full paths) under `restored`:
    /// `sample` of them, or every one with `None`. `live_root` is where the sources live
    /// (`/`), for the comparison with the live files.
    pub fn verify_restored(
        self,
        spec: &str,
        restored: &Path,
        live_root: &Path,
        sample: Option<usize>,
    ) -> Result<FileCheck> {
        let snap = self.find(spec)?;
        let Repo { inner, .. } = self;
        let repo = inner
            .to_indexed()
            .map_err(rustic("cannot read the repository's index"))?;
        let root = node_at(&repo, &snap, "")?;
        let mut files = Vec::new();
        for item in repo
            .ls(&root, &LsOptions::default())
            .map_err(rustic("cannot read the snapshot's tree"))?
        {
            let (path, node) =
                item.map_err(|e| from_rustic("cannot read the snapshot's tree", e))?;
            if node.node_type == NodeType::File {
                files.push((path, node));
            }
        }
        let pick = chosen(files.len(), sample, &snap.id.to_hex());
        let mut check = FileCheck {
            files_in_snapshot: files.len() as u64,
            ..FileCheck::default()
        };
        for ((path, node), take) in files.iter().zip(pick) {
            if !take {
                continue;
            }
            check.checked += 1;
            let shown = format!("/{}", path.display());
            let restored_file: PathBuf = restored.join(path);
            let matches = (|| -> std::io::Result<bool> {
                let mut r = BufReader::with_capacity(1 << 20, File::open(&restored_file)?);
                let mut buf = Vec::new();
                for id in node.content.iter().flatten() {
                    let Ok(entry) = repo.get_index_entry(id) else {
                        return Ok(false);
                    };
                    buf.resize(entry.data_length() as usize, 0);
                    r.read_exact(&mut buf)?;
                    check.bytes_checked += buf.len() as u64;
                    let hex: String = Sha256::digest(&buf)
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    if hex != id.to_hex().as_str() {
                        return Ok(false);
                    }
                }
                // Nothing after the last blob.
                Ok(r.read(&mut [0u8; 1])? == 0)
            })()
            .unwrap_or(false);
            if !matches {
                check.restore_mismatch.push(shown);
                continue;
            }
            let live = live_root.join(path);
            let Ok(meta) = std::fs::symlink_metadata(&live) else {
                continue;
            };
            let live_mtime = meta
                .modified()
                .ok()
                .and_then(|t| jiff::Timestamp::try_from(t).ok());
            if !meta.is_file() || meta.len() != node.meta.size || live_mtime != node.meta.mtime {
                continue;
            }
            check.live_compared += 1;
            if let (Ok(a), Ok(b)) = (sha256_of(&live), sha256_of(&restored_file)) {
                if a != b {
                    check.live_differs.push(shown);
                }
            }
        }
        Ok(check)
    }
}
