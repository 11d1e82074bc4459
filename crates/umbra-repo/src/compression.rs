//! How the blobs a backup writes are compressed: restic's `--compression`.
//!
//! Compression is a setting of the run, not of the repository: restic's format records in
//! each blob whether and how long it is compressed, and any zstd level reads back the same.
//! So a backup can choose its level by what it can spare: `fastest` (level 1) stored 1-3%
//! more than `auto` (level 3) on the app-cost bench's data for 0-12% fewer CPU seconds,
//! `max` 2% less for three times the CPU (docs/BENCHMARKS.md, "the compression level").
//! The default stays `auto` at every priority: beside a busy database, level 1 did not
//! leave the database more of its speed.

use std::fmt;
use std::str::FromStr;

use umbra_core::{ErrorKind, Result, UmbraError};

use crate::error::from_rustic_at;
use crate::repo::Repo;

/// zstd's levels that umbra writes: 1 (fastest) to 22. zstd's negative "fast" levels are
/// left out: on the bench's data level -1 took as much CPU as level 1 for a larger
/// repository.
const LEVELS: std::ops::RangeInclusive<i32> = 1..=22;

/// restic's `max`: its Go zstd library's best level, which that library rates as zstd's 11.
const MAX_LEVEL: i32 = 11;

/// A backup's compression, as `--compression` and a job's `compression` key name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// What the repository's config file says (restic's default, zstd level 3, unless the
    /// repository was set otherwise); none in a version 1 repository.
    #[default]
    Auto,
    /// Blobs stored uncompressed.
    Off,
    /// zstd level 1: the fewest CPU seconds per byte that still compresses.
    Fastest,
    /// zstd level 11 (restic's `max`).
    Max,
    /// A zstd level from 1 to 22.
    Level(i32),
}

impl Compression {
    /// The zstd level to write with: `None` keeps the repository's own setting (`auto`),
    /// `Some(None)` stores uncompressed, `Some(Some(level))` compresses at `level`.
    #[must_use]
    pub fn zstd_level(self) -> Option<Option<i32>> {
        match self {
            Self::Auto => None,
            Self::Off => Some(None),
            Self::Fastest => Some(Some(1)),
            Self::Max => Some(Some(MAX_LEVEL)),
            Self::Level(level) => Some(Some(level)),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Off => f.write_str("off"),
            Self::Fastest => f.write_str("fastest"),
            Self::Max => f.write_str("max"),
            Self::Level(level) => write!(f, "{level}"),
        }
    }
}

impl FromStr for Compression {
    type Err = UmbraError;

    fn from_str(text: &str) -> Result<Self> {
        let bad = |why: String| {
            UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{text}` is not a compression: {why}"),
            )
            .with_hint(
                "Write `auto` (the repository's setting, zstd level 3 unless changed), `off`, \
                 `fastest` (level 1), `max` (level 11) or a zstd level from 1 to 22.",
            )
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "off" => Ok(Self::Off),
            "fastest" => Ok(Self::Fastest),
            "max" => Ok(Self::Max),
            number => match number.parse::<i32>() {
                Ok(level) if LEVELS.contains(&level) => Ok(Self::Level(level)),
                Ok(level) => Err(bad(format!("zstd level {level} is outside 1 to 22"))),
                Err(_) => Err(bad("not a name or a level".to_string())),
            },
        }
    }
}

impl Repo {
    /// Makes the blobs this open repository writes from now on compressed as `compression`
    /// says; the repository's config file is not changed.
    ///
    /// # Errors
    /// A level (anything but `auto` and `off`) asked of a version 1 repository, which can
    /// only hold uncompressed blobs.
    pub fn set_compression(&mut self, compression: Compression) -> Result<()> {
        let Some(level) = compression.zstd_level() else {
            return Ok(());
        };
        let location = self.location.to_string();
        self.inner.set_compression(level).map_err(|e| {
            from_rustic_at(
                &format!("cannot write with compression `{compression}`"),
                e,
                Some(&location),
            )
            .with_hint(
                "A version 1 repository stores blobs uncompressed: back up with \
                 `--compression auto` or `off`, or into a repository `umbra init` made.",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_levels_parse_and_print_back() {
        for text in ["auto", "off", "fastest", "max", "1", "3", "22"] {
            let c: Compression = text.parse().expect(text);
            assert_eq!(c.to_string(), text);
        }
        assert_eq!("MAX".parse::<Compression>().ok(), Some(Compression::Max));
        assert_eq!(Compression::Fastest.zstd_level(), Some(Some(1)));
        assert_eq!(Compression::Off.zstd_level(), Some(None));
        assert_eq!(Compression::Auto.zstd_level(), None);
    }

    #[test]
    fn a_bad_compression_names_itself_and_what_to_write() {
        for (text, why) in [
            ("0", "outside 1 to 22"),
            ("23", "outside 1 to 22"),
            ("-1", "outside 1 to 22"),
            ("best", "not a name or a level"),
        ] {
            let e = text.parse::<Compression>().expect_err(text);
            assert!(
                e.message().contains(&format!("`{text}`")),
                "{}",
                e.message()
            );
            assert!(e.message().contains(why), "{}", e.message());
            assert!(e.hint().contains("fastest"), "{}", e.hint());
        }
    }
}
