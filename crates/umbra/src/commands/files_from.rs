//! `backup --files-from`, `--files-from-verbatim` and `--files-from-raw`, with restic
//! 0.14's meanings, so that a restic user's lists work unchanged:
//!
//! - `--files-from FILE`: one pattern per line, surrounding whitespace trimmed, empty
//!   lines and lines starting with `#` skipped; each pattern is expanded as Go's
//!   `filepath.Glob` does (`*`, `?`, `[...]` within one path component, names in lexical
//!   order, dot files matched); a pattern that matches nothing is skipped with a warning;
//! - `--files-from-verbatim FILE`: one path per line, taken as written (no globbing, no
//!   trimming); empty lines skipped;
//! - `--files-from-raw FILE`: paths separated by NUL bytes (`find -print0`), as written.
//!
//! `-` reads standard input. Paths from all three come after the command line's.

use std::io::Read;
use std::path::{Path, PathBuf};

use umbra_core::{ErrorKind, Result, UmbraError};

fn read(file: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let r = if file == Path::new("-") {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut bytes).map(|_| ()))
    };
    r.map_err(|e| {
        UmbraError::new(
            ErrorKind::InvalidInput,
            format!("cannot read the list of files {}: {e}", file.display()),
        )
        .with_hint("Check the path given to --files-from (`-` reads standard input).")
    })?;
    Ok(bytes)
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect()
}

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// One path component's pattern as a matcher (Go's `[^...]` is globset's `[!...]`).
fn matcher(pattern: &str) -> Result<globset::GlobMatcher> {
    globset::GlobBuilder::new(&pattern.replace("[^", "[!"))
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| {
            UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{pattern}` is not a valid pattern: {e}"),
            )
            .with_hint("Patterns use *, ? and [...] within one path component, as restic's.")
        })
}

/// Go's `filepath.Glob`: every existing path `pattern` matches, in lexical order.
pub fn glob(pattern: &str) -> Result<Vec<PathBuf>> {
    if !has_meta(pattern) {
        return Ok(if std::fs::symlink_metadata(pattern).is_ok() {
            vec![PathBuf::from(pattern)]
        } else {
            Vec::new()
        });
    }
    let path = Path::new(pattern);
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dirs: Vec<PathBuf> = if dir.as_os_str().is_empty() {
        vec![PathBuf::from(".")]
    } else if has_meta(&dir.to_string_lossy()) {
        glob(&dir.to_string_lossy())?
    } else {
        vec![dir.clone()]
    };
    let m = matcher(&file)?;
    let mut found = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| m.is_match(n))
            .collect();
        names.sort();
        for n in names {
            found.push(if dir.as_os_str().is_empty() {
                PathBuf::from(n)
            } else {
                d.join(n)
            });
        }
    }
    Ok(found)
}

/// The paths the three kinds of list name, in the order restic takes them; `warn` gets
/// each pattern that matched nothing.
pub fn targets(
    files_from: &[PathBuf],
    verbatim: &[PathBuf],
    raw: &[PathBuf],
    warn: &dyn Fn(String),
) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for file in files_from {
        for line in lines(&read(file)?) {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let expanded = glob(line)?;
            if expanded.is_empty() {
                warn(format!(
                    "pattern \"{line}\" does not match any files, skipping"
                ));
            }
            out.extend(expanded);
        }
    }
    for file in verbatim {
        out.extend(
            lines(&read(file)?)
                .into_iter()
                .filter(|l| !l.is_empty())
                .map(PathBuf::from),
        );
    }
    for file in raw {
        out.extend(
            read(file)?
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(path_of_bytes),
        );
    }
    Ok(out)
}

/// A path from raw bytes: as they are on Unix; as UTF-8 (lossy) on Windows, where paths
/// are UTF-16 and a file list is written in UTF-8.
fn path_of_bytes(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(windows)]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}
