use std::io::Read;

use std::sync::Arc;

mod cut;
mod fixed_size;
pub mod rabin;

use cut::Tables;
use fixed_size::ChunkIter as FixedSizeChunkIter;
use rabin::ChunkIter as RabinChunkIter;

use crate::{
    RusticResult,
    repofile::{ConfigFile, configfile::Chunker},
};

/// umbra patch 6: the Rabin tables of a polynomial, computed once per process.
///
/// `Rabin64::new_with_polynom` computes two 256-entry tables, which took 31% of all CPU of
/// a backup of 20,000 small files (one chunker per file). restic computes them once per
/// polynomial; here they are computed once and shared by every file's chunker.
fn tables_for(poly: u64) -> Arc<Tables> {
    static TABLES: std::sync::Mutex<Option<(u64, Arc<Tables>)>> = std::sync::Mutex::new(None);
    let Ok(mut cached) = TABLES.lock() else {
        return Arc::new(Tables::new(poly));
    };
    match &*cached {
        Some((p, tables)) if *p == poly => Arc::clone(tables),
        _ => {
            let tables = Arc::new(Tables::new(poly));
            *cached = Some((poly, Arc::clone(&tables)));
            tables
        }
    }
}

/// `ChunkIter` is an iterator that chunks data.
pub(crate) enum ChunkIter<R: Read + Send> {
    Rabin(Box<RabinChunkIter<R>>),
    FixedSize(FixedSizeChunkIter<R>),
}

impl<R: Read + Send> ChunkIter<R> {
    pub(crate) fn from_config(
        config: &ConfigFile,
        reader: R,
        size_hint: usize,
    ) -> RusticResult<Self> {
        let iter = match config.chunker() {
            Chunker::Rabin => {
                let poly = config.poly()?;
                Self::Rabin(Box::new(RabinChunkIter::new(
                    tables_for(poly),
                    config.chunk_size(),
                    config.chunk_min_size(),
                    config.chunk_max_size(),
                    reader,
                    size_hint,
                )?))
            }
            Chunker::FixedSize => Self::FixedSize(FixedSizeChunkIter::new(
                config.chunk_size(),
                reader,
                size_hint,
            )),
        };
        Ok(iter)
    }
}

impl<R: Read + Send> ChunkIter<R> {
    /// umbra patch 12: fixed-size chunks whatever the repository's chunker.
    pub(crate) fn fixed(size: usize, reader: R, size_hint: usize) -> Self {
        Self::FixedSize(FixedSizeChunkIter::new(size, reader, size_hint))
    }
}

impl<R: Read + Send> Iterator for ChunkIter<R> {
    type Item = RusticResult<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Rabin(rabin) => rabin.next(),
            Self::FixedSize(fixed_size) => fixed_size.next(),
        }
    }
}
