//! From a key path (`jobs.db.sources[0].path`) to the line of the job file that holds it.
//!
//! serde tells us *which* key was wrong; the spanned TOML tree tells us *where* it is. Every
//! config error goes through [`Locator::error`], so each one reads
//! `FILE:LINE: KEY: what is wrong; what was expected`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use umbra_core::{ErrorKind, UmbraError};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A key path, shown as `jobs.db.sources[0].path`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    #[must_use]
    pub fn key(&self, k: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Key(k.to_string()));
        Self(v)
    }

    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Index(i));
        Self(v)
    }

    /// Parses serde_path_to_error's rendering (`jobs.db.sources[0].path`).
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let mut segs = Vec::new();
        for part in text.split('.') {
            let (name, rest) = part.split_once('[').unwrap_or((part, ""));
            if !name.is_empty() && name != "?" {
                segs.push(Seg::Key(name.to_string()));
            }
            for idx in rest.split('[') {
                if let Ok(i) = idx.trim_end_matches(']').parse() {
                    segs.push(Seg::Index(i));
                }
            }
        }
        Self(segs)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            match s {
                Seg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// Where a value came from: file, line and key. Displayed as `FILE:LINE: KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
    pub key: String,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: a value from the command line (an ad-hoc backup), named by its flag.
        if self.line == 0 {
            return write!(f, "{}", self.key);
        }
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.key)
    }
}

/// The job file's text and spanned tree.
pub struct Locator<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub root: Option<&'a DeTable<'a>>,
}

/// 1-based line of a byte offset.
#[must_use]
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn find<'t>(table: &'t DeTable<'t>, key: &str) -> Option<(Range<usize>, &'t DeValue<'t>)> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(k, v)| (k.span(), v.get_ref()))
}

impl Locator<'_> {
    /// The span of the deepest part of `path` that exists in the file.
    fn span(&self, path: &KeyPath) -> Option<Range<usize>> {
        let mut table = self.root?;
        let mut value: Option<&DeValue<'_>> = None;
        let mut best = None;
        for seg in &path.0 {
            match (seg, value) {
                (Seg::Key(k), None) | (Seg::Key(k), Some(DeValue::Table(_))) => {
                    if let Some(DeValue::Table(t)) = value {
                        table = t;
                    }
                    let (span, v) = find(table, k)?;
                    best = Some(span);
                    value = Some(v);
                }
                (Seg::Index(i), Some(DeValue::Array(items))) => {
                    let item = items.get(*i)?;
                    best = Some(item.span());
                    value = Some(item.get_ref());
                }
                _ => break,
            }
        }
        best
    }

    /// Where `path` is, or the nearest enclosing key that is written in the file.
    #[must_use]
    pub fn origin(&self, path: &KeyPath) -> Origin {
        let mut probe = path.clone();
        let line = loop {
            if let Some(span) = self.span(&probe) {
                break line_of(self.text, span.start);
            }
            if probe.0.pop().is_none() {
                break 1;
            }
        };
        Origin {
            file: self.file.to_path_buf(),
            line,
            key: path.to_string(),
        }
    }

    /// A config error at `path`.
    #[must_use]
    pub fn error(&self, path: &KeyPath, problem: impl fmt::Display) -> UmbraError {
        config_error(&self.origin(path), problem)
    }
}

/// A config error at a known origin.
#[must_use]
pub fn config_error(origin: &Origin, problem: impl fmt::Display) -> UmbraError {
    UmbraError::new(ErrorKind::Config, format!("{origin}: {problem}"))
}

/// serde's type words, in the job file's terms.
#[must_use]
pub fn plain_words(message: &str) -> String {
    message
        .replace("u32", "a whole number")
        .replace("u64", "a whole number")
        .replace("a sequence", "an array")
        .replace("a map", "a table")
        .replace("struct RawRepository", "a table")
        .replace("struct KeepPolicy", "a table")
        .replace("struct RawHooks", "a table")
        .replace("struct RawJob", "a table")
        .replace("string or map", "a string or a table")
        .replace("unknown field", "unknown key")
        .replace("missing field", "missing key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_round_trip() {
        let p = KeyPath::parse("jobs.db.sources[1].path");
        assert_eq!(p.to_string(), "jobs.db.sources[1].path");
        assert_eq!(KeyPath::parse("jobs.db.hooks.before[0][2]").0.len(), 6);
    }

    #[test]
    fn keys_are_found_on_their_line() {
        let text =
            "[repository]\npath = \"/r\"\n\n[jobs.db]\nsources = [\"/a\", { path = \"/b\" }]\n";
        let root = DeTable::parse(text).expect("valid toml");
        let loc = Locator {
            file: Path::new("u.toml"),
            text,
            root: Some(root.get_ref()),
        };
        let o = loc.origin(&KeyPath::parse("jobs.db.sources[1].path"));
        assert_eq!(o.line, 5);
        assert_eq!(loc.origin(&KeyPath::parse("repository.path")).line, 2);
        assert_eq!(loc.origin(&KeyPath::parse("jobs.db.nothing")).line, 4);
    }
}
