//! A zip archive of a snapshot's directory, as restic 0.14's `dump --archive zip` writes
//! one: entries stored uncompressed, each file's CRC and sizes in a data descriptor after
//! it (the output is a pipe: nothing can be written back), Unix modes in the external
//! attributes, the modification time in DOS form and as Info-ZIP's extended timestamp.
//!
//! Archives past the classic format's limits (4 GiB, 65,535 entries) would need zip64;
//! they are refused before anything is written, with tar named as the way.

use std::io::Write;

use rustic_core::repofile::{Node, NodeType};

/// The classic format's limit on sizes and offsets.
pub(crate) const LIMIT: u64 = u32::MAX as u64;
/// The classic format's limit on entries.
pub(crate) const MAX_ENTRIES: usize = u16::MAX as usize;

const VERSION: u16 = 20;
/// Made by: Unix (3), version 2.0.
const MADE_BY: u16 = (3 << 8) | VERSION;
const FLAG_DESCRIPTOR: u16 = 1 << 3;
const FLAG_UTF8: u16 = 1 << 11;

/// One entry as the central directory needs it.
struct Central {
    name: Vec<u8>,
    flags: u16,
    time: u16,
    date: u16,
    crc: u32,
    size: u32,
    external: u32,
    offset: u32,
    mtime: u32,
}

/// Writes zip entries to `out`; [`ZipWriter::finish`] writes the central directory.
pub(crate) struct ZipWriter<W: Write> {
    out: Counting<W>,
    entries: Vec<Central>,
}

impl<W: Write> ZipWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self {
            out: Counting { out, written: 0 },
            entries: Vec::new(),
        }
    }
}

impl<W: Write> crate::browse::ArchiveWriter for ZipWriter<W> {
    /// Writes `node` under `name` (relative, `/`-separated); for a regular file,
    /// `content` writes its bytes. Types restic's dump leaves out are skipped.
    fn entry(
        &mut self,
        name: &str,
        node: &Node,
        content: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let perm = node.meta.mode.unwrap_or(0) & 0o777;
        let (name, unix_type, is_dir) = match &node.node_type {
            NodeType::File => (name.to_string(), 0o100_000, false),
            NodeType::Dir => (format!("{name}/"), 0o040_000, true),
            NodeType::Symlink { .. } => (name.to_string(), 0o120_000, false),
            _ => return Ok(()),
        };
        let offset = u32::try_from(self.out.written).map_err(|_| too_large())?;
        let mtime = node.meta.mtime.map_or(0, |t| {
            u32::try_from(t.as_second().max(0)).unwrap_or(u32::MAX)
        });
        let (time, date) = dos_time(node.meta.mtime);
        let mut flags = if is_dir { 0 } else { FLAG_DESCRIPTOR };
        if !name.is_ascii() {
            flags |= FLAG_UTF8;
        }
        let mut external = (unix_type | perm) << 16;
        if is_dir {
            external |= 0x10; // MS-DOS directory
        }
        // Local header: CRC and sizes follow the data.
        let mut h = Vec::with_capacity(30 + name.len() + 9);
        h.extend(0x0403_4b50u32.to_le_bytes());
        h.extend(VERSION.to_le_bytes());
        h.extend(flags.to_le_bytes());
        h.extend(0u16.to_le_bytes()); // stored
        h.extend(time.to_le_bytes());
        h.extend(date.to_le_bytes());
        h.extend([0u8; 12]); // CRC, compressed and uncompressed size
        h.extend(
            u16::try_from(name.len())
                .map_err(|_| too_large())?
                .to_le_bytes(),
        );
        h.extend(9u16.to_le_bytes());
        h.extend(name.as_bytes());
        h.extend(extended_time(mtime));
        self.out.write_all(&h)?;
        let (crc, size) = if is_dir {
            (0, 0)
        } else {
            let start = self.out.written;
            let mut crc = Crc::default();
            {
                let mut tee = Tee {
                    out: &mut self.out,
                    crc: &mut crc,
                };
                match &node.node_type {
                    NodeType::Symlink { .. } => {
                        tee.write_all(node.node_type.to_link().to_string_lossy().as_bytes())?
                    }
                    _ => content(&mut tee)?,
                }
            }
            let size = u32::try_from(self.out.written - start).map_err(|_| too_large())?;
            let crc = crc.finish();
            let mut d = Vec::with_capacity(16);
            d.extend(0x0807_4b50u32.to_le_bytes());
            d.extend(crc.to_le_bytes());
            d.extend(size.to_le_bytes());
            d.extend(size.to_le_bytes());
            self.out.write_all(&d)?;
            (crc, size)
        };
        self.entries.push(Central {
            name: name.into_bytes(),
            flags,
            time,
            date,
            crc,
            size,
            external,
            offset,
            mtime,
        });
        Ok(())
    }

    /// The central directory and its end record.
    fn finish(&mut self) -> std::io::Result<()> {
        let start = u32::try_from(self.out.written).map_err(|_| too_large())?;
        let count = u16::try_from(self.entries.len()).map_err(|_| too_large())?;
        for e in &self.entries {
            let mut c = Vec::with_capacity(46 + e.name.len() + 9);
            c.extend(0x0201_4b50u32.to_le_bytes());
            c.extend(MADE_BY.to_le_bytes());
            c.extend(VERSION.to_le_bytes());
            c.extend(e.flags.to_le_bytes());
            c.extend(0u16.to_le_bytes());
            c.extend(e.time.to_le_bytes());
            c.extend(e.date.to_le_bytes());
            c.extend(e.crc.to_le_bytes());
            c.extend(e.size.to_le_bytes());
            c.extend(e.size.to_le_bytes());
            c.extend(
                u16::try_from(e.name.len())
                    .map_err(|_| too_large())?
                    .to_le_bytes(),
            );
            c.extend(9u16.to_le_bytes());
            c.extend([0u8; 6]); // comment length, disk, internal attributes
            c.extend(e.external.to_le_bytes());
            c.extend(e.offset.to_le_bytes());
            c.extend(&e.name);
            c.extend(extended_time(e.mtime));
            self.out.write_all(&c)?;
        }
        let size = u32::try_from(self.out.written).map_err(|_| too_large())? - start;
        let mut end = Vec::with_capacity(22);
        end.extend(0x0605_4b50u32.to_le_bytes());
        end.extend([0u8; 4]); // disk numbers
        end.extend(count.to_le_bytes());
        end.extend(count.to_le_bytes());
        end.extend(size.to_le_bytes());
        end.extend(start.to_le_bytes());
        end.extend(0u16.to_le_bytes());
        self.out.write_all(&end)?;
        self.out.flush()
    }
}

fn too_large() -> std::io::Error {
    std::io::Error::other("the archive outgrew the zip format's 4 GiB")
}

/// Info-ZIP's extended timestamp (0x5455): the modification time in Unix seconds.
fn extended_time(mtime: u32) -> [u8; 9] {
    let mut f = [0u8; 9];
    f[0..2].copy_from_slice(&0x5455u16.to_le_bytes());
    f[2..4].copy_from_slice(&5u16.to_le_bytes());
    f[4] = 1;
    f[5..9].copy_from_slice(&mtime.to_le_bytes());
    f
}

/// DOS time and date in local time (2-second steps; 1980 at the earliest).
fn dos_time(t: Option<jiff::Timestamp>) -> (u16, u16) {
    let Some(t) = t else {
        return (0, (1 << 5) | 1);
    };
    let dt = t.to_zoned(jiff::tz::TimeZone::system()).datetime();
    if dt.year() < 1980 {
        return (0, (1 << 5) | 1);
    }
    let time = (u16::try_from(dt.hour()).unwrap_or(0) << 11)
        | (u16::try_from(dt.minute()).unwrap_or(0) << 5)
        | u16::try_from(dt.second() / 2).unwrap_or(0);
    let date = (u16::try_from(dt.year() - 1980).unwrap_or(0) << 9)
        | (u16::try_from(dt.month()).unwrap_or(1) << 5)
        | u16::try_from(dt.day()).unwrap_or(1);
    (time, date)
}

/// Counts what goes through, for the offsets of the central directory.
struct Counting<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Writes through, computing the CRC of what it wrote.
struct Tee<'a, W: Write> {
    out: &'a mut Counting<W>,
    crc: &'a mut Crc,
}

impl<W: Write> Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// CRC-32 (IEEE 802.3), as zip uses it.
struct Crc {
    table: [u32; 256],
    value: u32,
}

impl Default for Crc {
    fn default() -> Self {
        let mut table = [0u32; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        Self {
            table,
            value: 0xFFFF_FFFF,
        }
    }
}

impl Crc {
    fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.value =
                self.table[((self.value ^ u32::from(b)) & 0xFF) as usize] ^ (self.value >> 8);
        }
    }

    fn finish(&self) -> u32 {
        self.value ^ 0xFFFF_FFFF
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_ieee() {
        let mut c = Crc::default();
        c.update(b"123456789");
        assert_eq!(c.finish(), 0xCBF4_3926);
    }
}
