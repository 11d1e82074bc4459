//! `cat`: one repository file or blob as it is, for looking into a repository by hand
//! (restic's `cat`). Everything encrypted is decrypted and authenticated; keys and packs
//! are printed as stored.

use rustic_core::repofile::BlobType;
use rustic_core::{FileType, ReadBackend};
use umbra_core::{ErrorKind, Result, UmbraError};

use crate::error::{from_rustic, rustic};
use crate::repo::Repo;

/// What to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatWhat {
    /// The repository's config, as JSON.
    Config,
    /// An index file (decrypted JSON).
    Index,
    /// A snapshot file (decrypted JSON).
    Snapshot,
    /// A key file (stored as plain JSON; the master key inside stays encrypted).
    Key,
    /// A pack file, raw.
    Pack,
    /// A blob, data or tree (decrypted and decompressed), as restic's `cat blob`.
    Blob,
    /// A tree blob (decrypted JSON).
    Tree,
}

impl CatWhat {
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "config" => Self::Config,
            "index" => Self::Index,
            "snapshot" => Self::Snapshot,
            "key" => Self::Key,
            "pack" => Self::Pack,
            "blob" => Self::Blob,
            "tree" => Self::Tree,
            other => {
                return Err(UmbraError::new(
                    ErrorKind::InvalidInput,
                    format!("cannot cat `{other}`"),
                )
                .with_hint(
                    "Use config, index ID, snapshot ID, key ID, pack ID, blob ID or tree ID.",
                ))
            }
        })
    }
}

/// Indents compact JSON as restic prints it (two spaces, `"key": value`), keeping the order
/// of the keys as stored.
#[must_use]
pub fn indent_json(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * 2));
    };
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                in_string = true;
                out.push(c);
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                // An empty object or array stays on one line.
                let next = raw[i + 1..].iter().position(|b| !b.is_ascii_whitespace());
                if next.is_some_and(|n| raw[i + 1 + n] == close) {
                    out.extend([c, close]);
                    i += 2 + next.unwrap_or(0);
                    continue;
                }
                out.push(c);
                depth += 1;
                newline(&mut out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => out.extend(b": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
        i += 1;
    }
    out.push(b'\n');
    out
}

impl Repo {
    /// The bytes of `what` with id (or id prefix) `id`; `config` takes no id.
    pub fn cat(self, what: CatWhat, id: Option<&str>) -> Result<Vec<u8>> {
        let need_id = || {
            id.filter(|i| !i.is_empty()).ok_or_else(|| {
                UmbraError::new(ErrorKind::InvalidInput, "this needs an id")
                    .with_hint("Give the id, or a unique prefix of it: `umbra cat snapshot 3a48`.")
            })
        };
        let raw = |tpe: FileType, id: &str| -> Result<Vec<u8>> {
            let backend = self.location.backends()?.repository();
            let ids = backend
                .list(tpe)
                .map_err(rustic("cannot list the repository's files"))?;
            let matching: Vec<_> = ids
                .into_iter()
                .filter(|i| i.to_hex().starts_with(id))
                .collect();
            let [found] = matching.as_slice() else {
                return Err(UmbraError::new(
                    ErrorKind::NotFound,
                    format!("{} files match `{id}`", matching.len()),
                )
                .with_hint("Give a longer prefix of the id, or check it with `umbra snapshots`."));
            };
            backend
                .read_full(tpe, found)
                .map(|b| b.to_vec())
                .map_err(rustic("cannot read the file"))
        };
        match what {
            CatWhat::Config => serde_json::to_vec(self.inner.config())
                .map(|j| indent_json(&j))
                .map_err(|e| UmbraError::new(ErrorKind::Internal, e.to_string())),
            CatWhat::Index | CatWhat::Snapshot => {
                let tpe = if what == CatWhat::Index {
                    FileType::Index
                } else {
                    FileType::Snapshot
                };
                // As restic prints them: a snapshot indented, an index as stored.
                self.inner
                    .cat_file(tpe, need_id()?)
                    .map(|b| {
                        if tpe == FileType::Snapshot {
                            indent_json(&b)
                        } else {
                            let mut v = b.to_vec();
                            v.push(b'\n');
                            v
                        }
                    })
                    .map_err(|e| from_rustic("cannot read the file", e))
            }
            CatWhat::Key => raw(FileType::Key, need_id()?).map(|k| indent_json(&k)),
            CatWhat::Pack => raw(FileType::Pack, need_id()?),
            CatWhat::Blob | CatWhat::Tree => {
                let tpe = if what == CatWhat::Blob {
                    BlobType::Data
                } else {
                    BlobType::Tree
                };
                let id = need_id()?;
                if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(UmbraError::new(
                        ErrorKind::InvalidInput,
                        format!("`{id}` is not a blob id"),
                    )
                    .with_hint("Give a blob's id in full (64 hex digits), as restic takes it."));
                }
                let Repo { inner, .. } = self;
                let repo = inner
                    .to_indexed()
                    .map_err(rustic("cannot read the repository's index"))?;
                // restic's `cat blob` finds tree blobs too.
                repo.cat_blob(tpe, id)
                    .or_else(|e| match what {
                        CatWhat::Blob => repo.cat_blob(BlobType::Tree, id),
                        _ => Err(e),
                    })
                    .map(|b| b.to_vec())
                    .map_err(|e| from_rustic(&format!("cannot read blob `{id}`"), e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::indent_json;

    #[test]
    fn json_is_indented_as_restic_prints_it() {
        let raw = br#"{"a":1,"b":[],"c":{"d":"x,\"{y}"},"e":[1,2]}"#;
        let want = "{\n  \"a\": 1,\n  \"b\": [],\n  \"c\": {\n    \"d\": \"x,\\\"{y}\"\n  },\n  \"e\": [\n    1,\n    2\n  ]\n}\n";
        assert_eq!(String::from_utf8_lossy(&indent_json(raw)), want);
    }
}
