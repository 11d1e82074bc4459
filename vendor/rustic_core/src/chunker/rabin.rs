use std::io::{self, Read};

use std::sync::Arc;

use rand::{RngExt, rng};
use rustic_cdc::{Polynom, Polynom64};

use super::cut::Tables;

use crate::error::{ErrorKind, RusticError, RusticResult};

pub(super) mod constants {
    /// The size of a kilobyte.
    pub(super) const KB: usize = 1024;
    /// Random polynomial maximum tries.
    pub(super) const RAND_POLY_MAX_TRIES: i32 = 1_000_000;
}

pub(crate) fn check_rabin_params(
    chunk_size: usize,
    chunk_min_size: usize,
    chunk_max_size: usize,
) -> RusticResult<()> {
    if (chunk_size & (chunk_size - 1)) != 0 {
        return Err(RusticError::new(
            ErrorKind::Unsupported,
            "Chunk size must be a power of 2 for the rabin chunker. chunk size = {chunk_size}.",
        )
        .attach_context("chunk_size", chunk_size.to_string()));
    }
    if chunk_min_size > chunk_size {
        return Err(RusticError::new(
            ErrorKind::Unsupported,
            "Chunk min size must be smaller or equal than the chunk size.",
        ));
    }
    if chunk_max_size < chunk_size {
        return Err(RusticError::new(
            ErrorKind::Unsupported,
            "Chunk max size must be larger or equal than the chunk size.",
        ));
    }
    Ok(())
}

/// `ChunkIter` is an iterator that chunks data.
///
/// umbra patch 25: the bytes are read in blocks straight into the chunk, and the cut is
/// found by [`Tables::first_cut`] (four lanes at a time) instead of one byte pushed and
/// hashed at a time. The cuts are restic's; see `cut.rs`.
pub(crate) struct ChunkIter<R: Read + Send> {
    /// The bytes read past the last cut: the start of the next chunk.
    carry: Vec<u8>,

    /// The reader.
    reader: R,

    /// The split mask used to determine if a chunk is a chunk boundary.
    split_mask: u64,

    /// The Rabin fingerprint's tables.
    tables: Arc<Tables>,

    /// The size hint is used to optimize memory allocation; this should be an upper bound on the size.
    size_hint: usize,

    /// The minimum size of a chunk.
    min_size: usize,

    /// The maximum size of a chunk.
    max_size: usize,

    /// The expected size of a chunk (the mask's): with `min_size`, sizes the allocation.
    chunk_size: usize,

    /// If the iterator is finished.
    finished: bool,
}

impl<R: Read + Send> ChunkIter<R> {
    /// Creates a new `ChunkIter`.
    ///
    /// # Arguments
    ///
    /// * `tables` - The Rabin fingerprint's tables for the repository's polynomial.
    /// * `reader` - The reader to read from.
    /// * `size_hint` - The size hint is used to optimize memory allocation; this should be an upper bound on the size.
    pub(crate) fn new(
        tables: Arc<Tables>,
        chunk_size: usize,
        chunk_min_size: usize,
        chunk_max_size: usize,
        reader: R,
        size_hint: usize,
    ) -> RusticResult<Self> {
        check_rabin_params(chunk_size, chunk_min_size, chunk_max_size)?;
        let split_mask: u64 = (chunk_size as u64).wrapping_sub(1);
        Ok(Self {
            carry: Vec::new(),
            reader,
            split_mask,
            tables,
            size_hint, // size hint is used to optimize memory allocation; this should be an upper bound on the size
            min_size: chunk_min_size,
            max_size: chunk_max_size,
            chunk_size,
            finished: false,
        })
    }

    /// Reads up to `want` more bytes onto the end of `chunk`; how many came (0 at the end).
    fn read_more(&mut self, chunk: &mut Vec<u8>, want: usize) -> io::Result<usize> {
        (&mut self.reader).take(want as u64).read_to_end(chunk)
    }

    /// The next chunk, or `None` at the end.
    fn next_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        // Room for most chunks at once: growing a chunk copies it.
        let room = self
            .size_hint
            .min(self.min_size.saturating_add(2 * self.chunk_size))
            .max(self.carry.len());
        let mut chunk = Vec::with_capacity(room);
        chunk.append(&mut self.carry);
        if chunk.len() < self.min_size {
            let want = self.min_size - chunk.len();
            _ = self.read_more(&mut chunk, want)?;
        }
        if chunk.len() < self.min_size {
            self.finished = true;
            return Ok((!chunk.is_empty()).then_some(chunk));
        }
        // The next position that may be a cut: a chunk ending there.
        let mut at = self.min_size;
        let cut = loop {
            let end = chunk.len().min(self.max_size);
            if at <= end {
                if let Some(cut) = self.tables.first_cut(&chunk, at, end + 1, self.split_mask) {
                    break cut;
                }
                at = end + 1;
            }
            if chunk.len() >= self.max_size {
                break self.max_size;
            }
            let want = READ_STEP.min(self.max_size - chunk.len());
            if self.read_more(&mut chunk, want)? == 0 {
                self.finished = true;
                break chunk.len();
            }
        };
        self.carry.extend_from_slice(&chunk[cut..]);
        chunk.truncate(cut);
        self.size_hint = self.size_hint.saturating_sub(chunk.len()); // size_hint can be too small!
        Ok(Some(chunk))
    }
}

/// How much is read at a time past a chunk's minimum size. What is read past a cut is
/// copied to the next chunk: half of this, on average, per chunk.
const READ_STEP: usize = 64 * constants::KB;

impl<R: Read + Send> Iterator for ChunkIter<R> {
    type Item = RusticResult<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        // Finished means the reader ended, with nothing carried past a cut.
        if self.finished {
            return None;
        }
        self.next_chunk()
            .map_err(|err| {
                RusticError::with_source(
                    ErrorKind::InputOutput,
                    "Failed to read from reader in iterator",
                    err,
                )
            })
            .transpose()
    }
}

/// [`random_poly`] returns an random irreducible polynomial of degree 53
/// (largest prime number below 64-8)
/// There are (2^53-2/53) irreducible polynomials of degree 53 in
/// `F_2[X]`, c.f. Michael O. Rabin (1981): "Fingerprinting by Random
/// Polynomials", page 4.
///
/// # Errors
///
/// * If no polynomial could be found in one million tries.
pub fn random_poly() -> RusticResult<u64> {
    for _ in 0..constants::RAND_POLY_MAX_TRIES {
        let mut poly: u64 = rng().random();

        // mask away bits above bit 53
        poly &= (1 << 54) - 1;

        // set highest and lowest bit so that the degree is 53 and the
        // polynomial is not trivially reducible
        poly |= (1 << 53) | 1;

        if poly.irreducible() {
            return Ok(poly);
        }
    }

    Err(RusticError::new(
        ErrorKind::Internal,
        "No suitable polynomial found, this should essentially never happen. Please try again.",
    )
    .ask_report())
}

/// A trait for extending polynomials.
pub(crate) trait PolynomExtend {
    /// Returns true IFF x is irreducible over `F_2`.
    fn irreducible(&self) -> bool;

    /// Returns the degree of the polynomial.
    fn gcd(self, other: Self) -> Self;

    /// Adds two polynomials.
    fn add(self, other: Self) -> Self;

    /// Multiplies two polynomials modulo another polynomial.
    fn mulmod(self, other: Self, modulo: Self) -> Self;
}

// implementation goes along the lines of
// https://github.com/restic/chunker/blob/master/polynomials.go
impl PolynomExtend for Polynom64 {
    // Irreducible returns true IFF x is irreducible over F_2. This function
    // uses Ben Or's reducibility test.
    //
    // For details see "Tests and Constructions of Irreducible Polynomials over
    // Finite Fields".
    fn irreducible(&self) -> bool {
        for i in 1..=self.degree() / 2 {
            if self.gcd(qp(i, *self)) != 1 {
                return false;
            }
        }
        true
    }

    fn gcd(self, other: Self) -> Self {
        if other == 0 {
            return self;
        }

        if self == 0 {
            return other;
        }

        if self.degree() < other.degree() {
            self.gcd(other.modulo(&self))
        } else {
            other.gcd(self.modulo(&other))
        }
    }

    fn add(self, other: Self) -> Self {
        self ^ other
    }

    fn mulmod(self, other: Self, modulo: Self) -> Self {
        if self == 0 || other == 0 {
            return 0;
        }

        let mut res: Self = 0;
        let mut a = self;
        let mut b = other;

        if b & 1 > 0 {
            res = res.add(a).modulo(&modulo);
        }

        while b != 0 {
            a = (a << 1).modulo(&modulo);
            b >>= 1;
            if b & 1 > 0 {
                res = res.add(a).modulo(&modulo);
            }
        }

        res
    }
}

// qp computes the polynomial (x^(2^p)-x) mod g. This is needed for the
// reducibility test.
fn qp(p: i32, g: Polynom64) -> Polynom64 {
    // start with x
    let mut res: Polynom64 = 2;

    for _ in 0..p {
        // repeatedly square res
        res = res.mulmod(res, g);
    }

    // add x
    res.add(2).modulo(&g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hasher::hash;
    use insta::assert_ron_snapshot;
    use rand::prelude::*;
    use std::io::{Cursor, repeat};
    use std::sync::Arc;

    /// The Splitmask is used to determine if a chunk is a chunk boundary.
    const SIZE: usize = 1 << 20;
    /// The size of a megabyte.
    const MB: usize = 1024 * constants::KB;
    /// The minimum size of a chunk.
    const MIN_SIZE: usize = 512 * constants::KB;
    /// The maximum size of a chunk.
    const MAX_SIZE: usize = 8 * MB;

    fn chunker<R: Read + Send>(reader: R, size_hint: usize) -> ChunkIter<R> {
        let poly = 0x003D_A335_8B4D_C173;
        let tables = Arc::new(Tables::new(poly));
        ChunkIter::new(tables, SIZE, MIN_SIZE, MAX_SIZE, reader, size_hint).unwrap()
    }

    #[test]
    fn chunk_random() {
        const RANDOM_DATA_SIZE: usize = 32 * 1024 * 1024;
        const SEED: u64 = 23;
        let mut rng = StdRng::seed_from_u64(SEED);
        let mut data = vec![0u8; RANDOM_DATA_SIZE];
        rng.fill_bytes(&mut data);
        let mut reader = Cursor::new(data);
        let chunker = chunker(&mut reader, 0);
        let chunks: Vec<_> = chunker
            .map(|chunk| {
                let chunk = chunk.unwrap();
                (chunk.len(), hash(&chunk))
            })
            .collect();

        assert_ron_snapshot!(chunks);
    }

    /// restic's chunker (chunker.go's `reset` and `Next`), one byte at a time: the chunk
    /// lengths umbra patch 25's lanes must reproduce.
    fn restic_lengths(data: &[u8], poly: u64, mask: u64, min: usize, max: usize) -> Vec<usize> {
        use rustic_cdc::Rabin64;
        let out = Rabin64::calculate_out_table(64, &poly);
        let reduce = Rabin64::calculate_mod_table(&poly);
        let shift = poly.degree() - 8;
        let mut lengths = Vec::new();
        let mut start = 0;
        while start < data.len() {
            let mut win = [0u8; 64];
            let mut wpos = 0;
            let mut slide = |digest: u64, b: u8| {
                let leaving = win[wpos];
                win[wpos] = b;
                wpos = (wpos + 1) % 64;
                let digest = digest ^ out[leaving as usize];
                ((digest << 8) | u64::from(b)) ^ reduce[(digest >> shift) as usize]
            };
            let mut digest = slide(0, 1);
            let mut add = min - 64;
            let mut pos = start + add;
            loop {
                if pos >= data.len() {
                    lengths.push(data.len() - start);
                    start = data.len();
                    break;
                }
                digest = slide(digest, data[pos]);
                add += 1;
                pos += 1;
                if add >= min && (digest & mask == 0 || add >= max) {
                    lengths.push(add);
                    start += add;
                    break;
                }
            }
        }
        lengths
    }

    /// A reader that hands out what it has in pieces of 1 to 5,000 bytes.
    struct Ragged(Cursor<Vec<u8>>, StdRng);

    impl Read for Ragged {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.random_range(1..=5000).min(buf.len());
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn cuts_are_restics() {
        let poly = 0x003D_A335_8B4D_C173;
        let mut rng = StdRng::seed_from_u64(25);
        // Random bytes, a stretch of zeros, and low-entropy text: cuts in all of them.
        let mut data = vec![0u8; 3 << 20];
        rng.fill_bytes(&mut data[..2 << 20]);
        data.extend((0..(1 << 20)).map(|i: u32| b"abcab "[(i % 6) as usize] ^ (i % 7 == 0) as u8));
        for (mask_bits, min, max) in [
            (9, 256, 8192),
            (12, 64, 1 << 20),
            (14, 4096, 1 << 16),
            (20, 512 * 1024, 8 << 20),
        ] {
            let mask = (1u64 << mask_bits) - 1;
            let want = restic_lengths(&data, poly, mask, min, max);
            let reader = Ragged(Cursor::new(data.clone()), StdRng::seed_from_u64(mask_bits));
            let iter = ChunkIter::new(
                Arc::new(Tables::new(poly)),
                1 << mask_bits,
                min,
                max,
                reader,
                usize::MAX,
            )
            .unwrap();
            let chunks: Vec<Vec<u8>> = iter.map(Result::unwrap).collect();
            let got: Vec<usize> = chunks.iter().map(Vec::len).collect();
            assert_eq!(got, want, "mask 2^{mask_bits}, min {min}, max {max}");
            assert_eq!(chunks.concat(), data);
            assert!(want.len() > 3, "too few cuts to say anything: {want:?}");
        }
    }

    #[test]
    fn chunk_empty() {
        let empty: Vec<u8> = vec![];
        let mut reader = Cursor::new(empty);
        let chunker = chunker(&mut reader, 0);

        assert_eq!(0, chunker.into_iter().count());
    }

    #[test]
    fn chunk_empty_wrong_hint() {
        let empty: Vec<u8> = vec![];
        let mut reader = Cursor::new(empty);
        let chunker = chunker(&mut reader, 100);

        assert_eq!(0, chunker.into_iter().count());
    }

    #[test]
    fn chunk_zeros() {
        let mut reader = repeat(0u8);
        let mut chunker = chunker(&mut reader, usize::MAX);

        let chunk = chunker.next().unwrap().unwrap();
        assert_eq!(MIN_SIZE, chunk.len());
    }
}
