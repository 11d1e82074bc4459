//! Test fixtures written in restic's repository format, for the project's own tests: not
//! used by umbra itself.
//!
//! restic wrote tree and data blobs into one pack until 0.8.0. Repositories like that are
//! still around, and umbra must read, check and prune them. Rather than depend on a copy of
//! restic's old test repositories, a test can make one: [`mix_packs`] rewrites a local
//! repository so that all its blobs sit in one mixed pack, exactly as an old restic would
//! have stored them (each encrypted blob copied as it is, a new encrypted header, a new
//! index), and removes the packs and index files it replaces.
//!
//! restic's edge cases of a damaged index get fixtures of their own too:
//! [`remove_index`] leaves a repository with no index at all, and [`drop_from_index`]
//! one whose index lacks a blob a snapshot uses while the pack still holds it.
//!
//! Not a fixture but a window for one test: [`extent_backing`] shows what umbra's two
//! sources of extent maps say backs a file, so that a test can check that they agree.

use std::path::Path;

use rustic_core::repofile::{BlobType, IndexBlob, IndexFile, IndexPack, PackId};
use rustic_core::{Credentials, Repository};
use sha2::{Digest, Sha256};
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::crypto::FileCrypto;
use crate::error::rustic;

fn io<'a>(what: &'a str, path: &'a Path) -> impl Fn(std::io::Error) -> UmbraError + 'a {
    move |e| UmbraError::io(what, path, e)
}

/// Writes `bytes` as the repository file `dir/NAME`, NAME being their SHA-256 (with the
/// two-digit subfolder for packs); returns the name.
fn write_named(root: &Path, kind: &str, bytes: &[u8]) -> Result<String> {
    let name = hex::encode(Sha256::digest(bytes));
    let dir = if kind == "data" {
        root.join(kind).join(&name[..2])
    } else {
        root.join(kind)
    };
    std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
    let path = dir.join(&name);
    std::fs::write(&path, bytes).map_err(io("cannot write", &path))?;
    Ok(name)
}

/// Opens the local repository at `root` without a cache.
fn open(root: &Path, password: &str) -> Result<Repository<rustic_core::OpenStatus>> {
    let backends = crate::repo::RepoLocation::local(root.to_path_buf()).backends()?;
    Repository::new(
        &rustic_core::RepositoryOptions::default().no_cache(true),
        &backends,
    )
    .map_err(rustic("cannot open the repository's storage"))?
    .open(&Credentials::password(password))
    .map_err(rustic("cannot open the repository"))
}

/// Removes every index file of the repository at `root` (restic's `repo-index-missing`).
/// Returns how many there were.
pub fn remove_index(root: &Path) -> Result<usize> {
    let dir = root.join("index");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).map_err(io("cannot read", &dir))? {
        let path = entry.map_err(io("cannot read", &dir))?.path();
        std::fs::remove_file(&path).map_err(io("cannot remove", &path))?;
        n += 1;
    }
    Ok(n)
}

/// Which kind of blob [`drop_from_index`] drops.
#[derive(Debug, Clone, Copy)]
pub enum BlobKind {
    Data,
    Tree,
}

/// Rewrites the index of the repository at `root` without the first blob of kind `kind`
/// (the blob stays in its pack): restic's `repo-index-missing-blob`. Returns the blob's id.
pub fn drop_from_index(root: &Path, password: &str, kind: BlobKind) -> Result<String> {
    let tpe = match kind {
        BlobKind::Data => BlobType::Data,
        BlobKind::Tree => BlobType::Tree,
    };
    let repo = open(root, password)?;
    let crypto = FileCrypto::new(&repo.key())?;
    let mut dropped = None;
    let mut rewritten = Vec::new();
    for item in repo
        .stream_files::<IndexFile>()
        .map_err(rustic("cannot read the index"))?
    {
        let (id, mut index) = item.map_err(rustic("cannot read an index file"))?;
        if dropped.is_none() {
            for pack in &mut index.packs {
                if let Some(at) = pack.blobs.iter().position(|b| b.tpe == tpe) {
                    dropped = Some(pack.blobs.remove(at).id.to_hex().as_str().to_string());
                    rewritten.push((id.to_hex().as_str().to_string(), index));
                    break;
                }
            }
        }
    }
    let Some(dropped) = dropped else {
        return Err(UmbraError::new(
            ErrorKind::InvalidInput,
            format!("the index holds no {tpe:?} blob; back up something first"),
        ));
    };
    for (old, index) in rewritten {
        let json = serde_json::to_vec(&index)
            .map_err(|e| UmbraError::new(ErrorKind::Internal, e.to_string()))?;
        write_named(root, "index", &crypto.encrypt(&json))?;
        let path = root.join("index").join(old);
        std::fs::remove_file(&path).map_err(io("cannot remove", &path))?;
    }
    Ok(dropped)
}

/// Moves every blob of the repository at `root` (a local directory) into one pack that
/// holds tree and data blobs together, with one index file naming it. Returns the new
/// pack's id.
pub fn mix_packs(root: &Path, password: &str) -> Result<String> {
    let repo = open(root, password)?;
    let crypto = FileCrypto::new(&repo.key())?;
    let mut old_indexes = Vec::new();
    let mut old_packs = Vec::new();
    let mut blobs: Vec<(IndexBlob, PackId)> = Vec::new();
    for item in repo
        .stream_files::<IndexFile>()
        .map_err(rustic("cannot read the index"))?
    {
        let (id, index) = item.map_err(rustic("cannot read an index file"))?;
        old_indexes.push(id.to_hex().as_str().to_string());
        for pack in index.packs {
            old_packs.push(pack.id);
            blobs.extend(pack.blobs.into_iter().map(|b| (b, pack.id)));
        }
    }
    if !blobs.iter().any(|(b, _)| b.tpe == BlobType::Tree)
        || !blobs.iter().any(|(b, _)| b.tpe == BlobType::Data)
    {
        return Err(UmbraError::new(
            ErrorKind::InvalidInput,
            "a mixed pack needs tree and data blobs; back up something first",
        ));
    }

    // The blobs, as stored (encrypted, perhaps compressed), one after the other.
    let mut pack = Vec::new();
    let mut header = Vec::new();
    let mut new_blobs = Vec::new();
    for (blob, pack_id) in &blobs {
        let hex = pack_id.to_hex();
        let path = root
            .join("data")
            .join(&hex.as_str()[..2])
            .join(hex.as_str());
        let data = std::fs::read(&path).map_err(io("cannot read", &path))?;
        let start = blob.location.offset as usize;
        let end = start + blob.location.length as usize;
        let stored = data.get(start..end).ok_or_else(|| {
            UmbraError::new(ErrorKind::RepositoryDamaged, "a blob lies outside its pack")
        })?;
        let mut location = blob.location;
        location.offset = u32::try_from(pack.len()).unwrap_or(u32::MAX);
        pack.extend_from_slice(stored);
        // restic's header entry: type (0 data, 1 tree; 2 and 3 compressed), length,
        // uncompressed length when compressed, id.
        let compressed = location.uncompressed_length.is_some();
        let tree = blob.tpe == BlobType::Tree;
        header.push(u8::from(tree) + if compressed { 2 } else { 0 });
        header.extend_from_slice(&location.length.to_le_bytes());
        if let Some(n) = location.uncompressed_length {
            header.extend_from_slice(&n.get().to_le_bytes());
        }
        let mut id = [0u8; 32];
        hex::decode_to_slice(blob.id.to_hex().as_str(), &mut id)
            .map_err(|e| UmbraError::new(ErrorKind::Internal, e.to_string()))?;
        header.extend_from_slice(&id);
        new_blobs.push(IndexBlob {
            id: blob.id,
            tpe: blob.tpe,
            location,
        });
    }
    let sealed = crypto.encrypt(&header);
    pack.extend_from_slice(&sealed);
    pack.extend_from_slice(&u32::try_from(sealed.len()).unwrap_or(0).to_le_bytes());
    let pack_name = write_named(root, "data", &pack)?;

    let mut index = IndexFile::default();
    let id = pack_name
        .parse::<rustic_core::Id>()
        .map_err(|e| UmbraError::new(ErrorKind::Internal, e.to_string()))?;
    index.packs.push(IndexPack {
        id: PackId::from(id),
        blobs: new_blobs,
        ..IndexPack::default()
    });
    let json = serde_json::to_vec(&index)
        .map_err(|e| UmbraError::new(ErrorKind::Internal, e.to_string()))?;
    write_named(root, "index", &crypto.encrypt(&json))?;

    for name in old_indexes {
        let path = root.join("index").join(name);
        std::fs::remove_file(&path).map_err(io("cannot remove", &path))?;
    }
    for id in old_packs {
        let hex = id.to_hex();
        let path = root
            .join("data")
            .join(&hex.as_str()[..2])
            .join(hex.as_str());
        let _ = std::fs::remove_file(&path);
    }
    Ok(pack_name)
}

/// What backs the bytes of the file at `path`, by each of umbra's two sources of extent
/// maps: the btrfs subvolume tree's answer (`None` unless the file is in a read-only
/// subvolume and the tree can be read) and `FIEMAP`'s (`None` where it is not answered),
/// one line per run of bytes backed alike (`0..8192 at 22020096`, `8192..12288 hole`,
/// `12288..16384 unvouched`, `... unwritten`).
#[must_use]
pub fn extent_backing(path: &Path) -> (Option<Vec<String>>, Option<Vec<String>>) {
    crate::extents::backing_by_each_source(path)
}
