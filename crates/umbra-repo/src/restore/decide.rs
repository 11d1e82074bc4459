//! Deciding what each entry of the snapshot needs in the target, by the overwrite policy:
//! directories, symlinks and special files are made here at once (they carry no content);
//! a file is written, kept (its content already matches, blob by blob), linked, or left.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use rustic_core::repofile::{Node, NodeType};
use rustic_core::{IndexedFullStatus, Repository};

use super::contents::{ContentPlan, FileJob};
use super::target::{DirState, Existing, Target};
use super::{hardlink_key, Action, Overwrite};

type Indexed = Repository<IndexedFullStatus>;

pub(super) enum Planned {
    Do(Action),
    /// Something of another type stands where a directory belongs, and stays.
    Blocked,
}

/// Decides (and for directories, symlinks and special files, does) what one entry needs.
#[allow(clippy::too_many_arguments)]
pub(super) fn plan_entry(
    repo: &Indexed,
    target: &mut Target,
    overwrite: Overwrite,
    index: usize,
    rel: &Path,
    node: &Node,
    canonical: &mut HashMap<(u64, u64), usize>,
) -> std::io::Result<Planned> {
    if !target.prepare_parents(rel)? {
        return Ok(Planned::Blocked);
    }
    let existing = target.existing(rel)?;
    let replace_allowed = overwrite != Overwrite::Never;
    let exists = !matches!(existing, Existing::Nothing);
    match &node.node_type {
        NodeType::Dir => Ok(match target.ensure_dir(rel)? {
            DirState::Blocked => Planned::Blocked,
            DirState::Existing | DirState::Created => Planned::Do(Action::Dir),
        }),
        NodeType::File => {
            if let Some(key) = hardlink_key(node) {
                if let Some(&canon) = canonical.get(&key) {
                    return Ok(if exists && !replace_allowed {
                        Planned::Do(Action::Skip)
                    } else {
                        Planned::Do(Action::Link(canon))
                    });
                }
                canonical.insert(key, index);
            }
            let decision = match &existing {
                Existing::Nothing => Action::Write(0),
                _ if !replace_allowed => Action::Skip,
                Existing::Dir => {
                    target.remove(rel)?;
                    Action::Write(0)
                }
                Existing::Other(_) => Action::Write(0),
                Existing::File(m) => decide_file(repo, target, overwrite, rel, node, m),
            };
            Ok(Planned::Do(decision))
        }
        NodeType::Symlink { .. } => {
            if let Existing::Other(m) = &existing {
                let same = m.file_type().is_symlink()
                    && std::fs::read_link(target.full(rel))
                        .is_ok_and(|t| t == node.node_type.to_link());
                if same {
                    return Ok(Planned::Do(Action::Made));
                }
            }
            if exists && !replace_allowed {
                return Ok(Planned::Do(Action::Skip));
            }
            target.remove(rel)?;
            target.symlink(rel, node)?;
            Ok(Planned::Do(Action::Made))
        }
        _ => {
            if exists && !replace_allowed {
                return Ok(Planned::Do(Action::Skip));
            }
            target.remove(rel)?;
            target.special(rel, node)?;
            Ok(Planned::Do(Action::Made))
        }
    }
}

/// For an existing regular file: keep it, replace it, or leave it, by the policy.
fn decide_file(
    repo: &Indexed,
    target: &Target,
    overwrite: Overwrite,
    rel: &Path,
    node: &Node,
    existing: &std::fs::Metadata,
) -> Action {
    use crate::platform::MetadataExt;
    let mtime = jiff::Timestamp::new(
        existing.mtime(),
        i32::try_from(existing.mtime_nsec()).unwrap_or(0),
    )
    .ok();
    // A file with other names may be linked from outside the target: never keep (and so
    // never chmod or chown) it in place; replace this name.
    let shared = existing.nlink() > 1;
    let same_size = existing.len() == node.meta.size;
    match overwrite {
        Overwrite::Never => Action::Skip,
        Overwrite::IfNewer => {
            if node.meta.mtime > mtime {
                Action::Write(0)
            } else {
                Action::Skip
            }
        }
        Overwrite::IfChanged if same_size && !shared && mtime == node.meta.mtime => Action::Keep,
        Overwrite::IfChanged | Overwrite::Always => {
            if same_size && !shared && content_matches(repo, target, rel, node) {
                Action::Keep
            } else {
                Action::Write(0)
            }
        }
    }
}

/// Reads an existing file and compares it, blob by blob, with the snapshot's content.
fn content_matches(repo: &Indexed, target: &Target, rel: &Path, node: &Node) -> bool {
    use sha2::Digest;
    let Ok(file) = target.open_existing(rel) else {
        return false;
    };
    let mut file = std::io::BufReader::with_capacity(1 << 20, file);
    for id in node.content.iter().flatten() {
        let Ok(entry) = repo.get_index_entry(id) else {
            return false;
        };
        let len = entry
            .location
            .uncompressed_length
            .map_or(entry.location.length.saturating_sub(32), |n| n.get());
        let mut buf = vec![0; len as usize];
        if file.read_exact(&mut buf).is_err() {
            return false;
        }
        if hex::encode(sha2::Sha256::digest(&buf)) != id.to_hex().as_str() {
            return false;
        }
    }
    let mut rest = [0u8; 1];
    matches!(file.read(&mut rest), Ok(0))
}

/// Adds the blobs of a file to the content plan; a blob missing from the index damages the
/// file from there on (the offsets of what follows are unknown).
pub(super) fn plan_content(
    repo: &Indexed,
    node: &Node,
    job_index: usize,
    job: &FileJob,
    content: &mut ContentPlan,
) {
    let mut offset = 0u64;
    for id in node.content.iter().flatten() {
        let Ok(entry) = repo.get_index_entry(id) else {
            job.damage(
                node.meta.size.saturating_sub(offset),
                &format!(
                    "blob {} is in no index (its pack is lost; `umbra repair index` and \
                     `umbra check` tell more)",
                    &id.to_hex().as_str()[..8]
                ),
            );
            return;
        };
        let loc = entry.location;
        let uncompressed = loc.uncompressed_length.map(std::num::NonZeroU32::get);
        let mut raw = [0u8; 32];
        if hex::decode_to_slice(id.to_hex().as_str(), &mut raw).is_err() {
            return;
        }
        content.add(
            entry.pack,
            loc.offset,
            loc.length,
            uncompressed,
            raw,
            job_index,
            offset,
        );
        offset += u64::from(uncompressed.unwrap_or(loc.length.saturating_sub(32)));
    }
}
