//! umbra patch 25: finding restic's cut points four positions at a time.
//!
//! restic cuts a chunk where the Rabin fingerprint of the 64 bytes before a position has
//! its low bits zero. That fingerprint depends on those 64 bytes only (the out table
//! removes the byte leaving the window exactly), so the fingerprints of distant
//! positions can be computed independently. The serial loop (one multiply-free table
//! step per byte, each waiting on the one before) is bound by that chain's latency; four
//! lanes over four stretches of the data keep the core busy instead. The cuts are the
//! same as restic's: the first position at least `min` bytes into the chunk whose
//! window's fingerprint matches the mask, or `max`.

use rustic_cdc::{Polynom, Polynom64, Rabin64};

/// The Rabin window: 64 bytes, as in restic.
const WINDOW: usize = 64;

/// Positions per lane in one pass of four lanes.
const LANE: usize = 4096;

/// The tables of the Rabin fingerprint of one polynomial (restic's `tables`).
#[derive(Debug)]
pub(crate) struct Tables {
    /// `out[b]`: the fingerprint of `b` followed by 63 zero bytes, XORed out when `b`
    /// leaves the window.
    out: [Polynom64; 256],
    /// `reduce[t]`: reduces the 8 bits above the polynomial's degree, `t`, in one XOR.
    reduce: [Polynom64; 256],
    /// The polynomial's degree minus 8: where those 8 bits start.
    shift: u32,
}

impl Tables {
    /// Computes both tables for `poly` (tens of microseconds; cache them).
    pub(crate) fn new(poly: Polynom64) -> Self {
        Self {
            out: Rabin64::calculate_out_table(WINDOW, &poly),
            reduce: Rabin64::calculate_mod_table(&poly),
            shift: u32::try_from(poly.degree() - 8).unwrap_or(0),
        }
    }

    /// The fingerprint with byte `b` appended.
    #[inline(always)]
    fn append(&self, hash: Polynom64, b: u8) -> Polynom64 {
        ((hash << 8) | Polynom64::from(b)) ^ self.reduce[((hash >> self.shift) & 255) as usize]
    }

    /// The fingerprint of the window moved on by one byte: `leaving` out, `b` in.
    #[inline(always)]
    fn slide(&self, hash: Polynom64, leaving: u8, b: u8) -> Polynom64 {
        self.append(hash ^ self.out[usize::from(leaving)], b)
    }

    /// The fingerprint of the window ending before `at`: `data[at - 64..at]`, where bytes
    /// before the start of `data` count as zeros (which add nothing to a fingerprint).
    fn window_before(&self, data: &[u8], at: usize) -> Polynom64 {
        data[at.saturating_sub(WINDOW)..at]
            .iter()
            .fold(0, |hash, &b| self.append(hash, b))
    }

    /// The first position `at` in `from..to` whose window (`data[at - 64..at]`) has a
    /// fingerprint with no bit of `mask` set. Needs `to <= data.len() + 1`.
    pub(crate) fn first_cut(
        &self,
        data: &[u8],
        from: usize,
        to: usize,
        mask: Polynom64,
    ) -> Option<usize> {
        let mut at = from;
        while at >= WINDOW && at + 4 * LANE <= to {
            if let Some(cut) = self.four_lanes(data, at, mask) {
                return Some(cut);
            }
            at += 4 * LANE;
        }
        if at >= to {
            return None;
        }
        let mut hash = self.window_before(data, at);
        loop {
            if hash & mask == 0 {
                return Some(at);
            }
            at += 1;
            if at >= to {
                return None;
            }
            let leaving = if at > WINDOW {
                data[at - 1 - WINDOW]
            } else {
                0
            };
            hash = self.slide(hash, leaving, data[at - 1]);
        }
    }

    /// [`Self::first_cut`] over the `4 * LANE` positions from `start` (at least 64), in
    /// four interleaved lanes of `LANE` positions each. Needs `start + 4 * LANE <=
    /// data.len() + 1`.
    fn four_lanes(&self, data: &[u8], start: usize, mask: Polynom64) -> Option<usize> {
        let lane_start = |k: usize| start + k * LANE;
        let mut hash = [0; 4];
        let mut entering: [&[u8; LANE - 1]; 4] = [&[0; LANE - 1]; 4];
        let mut leaving: [&[u8; LANE - 1]; 4] = [&[0; LANE - 1]; 4];
        let mut first = [usize::MAX; 4];
        for k in 0..4 {
            let s = lane_start(k);
            hash[k] = self.window_before(data, s);
            if hash[k] & mask == 0 {
                first[k] = s;
            }
            // The bytes that enter and leave the window on the way from the lane's first
            // position to its last.
            entering[k] = lane(&data[s..s + LANE - 1]);
            leaving[k] = lane(&data[s - WINDOW..s - WINDOW + LANE - 1]);
        }
        for i in 0..LANE - 1 {
            let mut hit = false;
            for k in 0..4 {
                hash[k] = self.slide(hash[k], leaving[k][i], entering[k][i]);
                hit |= hash[k] & mask == 0;
            }
            if hit {
                for k in 0..4 {
                    if hash[k] & mask == 0 && first[k] == usize::MAX {
                        first[k] = lane_start(k) + i + 1;
                    }
                }
            }
        }
        first.into_iter().find(|&at| at != usize::MAX)
    }
}

/// A slice of `LANE - 1` bytes as the array it is (its length is fixed by how it was cut,
/// so that the lanes' loop has no bounds to check).
fn lane(bytes: &[u8]) -> &[u8; LANE - 1] {
    bytes.try_into().expect("a slice of LANE - 1 bytes")
}
