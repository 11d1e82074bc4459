//! A tar stream of a snapshot's directory, as restic's `dump` writes one: POSIX pax
//! headers (full-precision times, long names, extended attributes as `SCHILY.xattr.*`)
//! before USTAR headers, for regular files, directories and symlinks.
//!
//! Why by hand: the format is a few fixed-width fields, and the `tar` crate would be the
//! only user of its dependencies in the tree.

use std::io::Write;

use rustic_core::repofile::{Node, NodeType};

const BLOCK: usize = 512;

/// Writes tar entries to `out`; [`TarWriter::finish`] writes the end-of-archive marker.
pub(crate) struct TarWriter<W: Write> {
    out: W,
    /// Entries written, for the pax headers' names.
    entries: u64,
}

impl<W: Write> TarWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { out, entries: 0 }
    }

    fn pad(&mut self, written: u64) -> std::io::Result<()> {
        let rest = (BLOCK as u64 - written % BLOCK as u64) % BLOCK as u64;
        self.out.write_all(&vec![0; rest as usize])
    }
}

impl<W: Write> crate::browse::ArchiveWriter for TarWriter<W> {
    /// Writes the header of `node` under `name` (relative, `/`-separated, without a
    /// trailing `/`); for a regular file, `content` must then write exactly
    /// `node.meta.size` bytes. Types restic's dump leaves out (devices, fifos, sockets)
    /// are skipped.
    fn entry(
        &mut self,
        name: &str,
        node: &Node,
        content: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let (typeflag, name, link, size) = match &node.node_type {
            NodeType::File => (b'0', name.to_string(), String::new(), node.meta.size),
            NodeType::Dir => (b'5', format!("{name}/"), String::new(), 0),
            NodeType::Symlink { .. } => (
                b'2',
                name.to_string(),
                node.node_type.to_link().to_string_lossy().into_owned(),
                0,
            ),
            _ => return Ok(()),
        };
        let meta = &node.meta;
        let user = meta.user.clone().unwrap_or_default();
        let group = meta.group.clone().unwrap_or_default();
        let (uid, gid) = (
            u64::from(meta.uid.unwrap_or(0)),
            u64::from(meta.gid.unwrap_or(0)),
        );
        let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
        for (key, t) in [
            ("mtime", meta.mtime),
            ("atime", meta.atime),
            ("ctime", meta.ctime),
        ] {
            if let Some(t) = t {
                pax.push((key.to_string(), pax_time(t).into_bytes()));
            }
        }
        if !fits(&name, 100) {
            pax.push(("path".into(), name.clone().into_bytes()));
        }
        if !fits(&link, 100) {
            pax.push(("linkpath".into(), link.clone().into_bytes()));
        }
        if !fits(&user, 32) {
            pax.push(("uname".into(), user.clone().into_bytes()));
        }
        if !fits(&group, 32) {
            pax.push(("gname".into(), group.clone().into_bytes()));
        }
        for (key, v) in [("uid", uid), ("gid", gid)] {
            if v > 0o777_7777 {
                pax.push((key.into(), v.to_string().into_bytes()));
            }
        }
        if size > 0o777_7777_7777 {
            pax.push(("size".into(), size.to_string().into_bytes()));
        }
        for x in &meta.extended_attributes {
            let value = x.value.clone().unwrap_or_default();
            pax.push((format!("SCHILY.xattr.{}", x.name), value));
        }
        pax.sort();
        if !pax.is_empty() {
            let mut records = Vec::new();
            for (key, value) in &pax {
                records.extend(pax_record(key, value));
            }
            self.entries += 1;
            let pax_name = format!("PaxHeaders.0/{}", self.entries);
            let header = Header {
                name: &pax_name,
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: records.len() as u64,
                mtime: 0,
                typeflag: b'x',
                link: "",
                user: "",
                group: "",
            };
            self.out.write_all(&header.block())?;
            self.out.write_all(&records)?;
            self.pad(records.len() as u64)?;
        }
        let mode = meta.mode.unwrap_or(0);
        let header = Header {
            name: &truncated(&name, 100),
            mode: u64::from(unix_mode(mode)),
            uid: uid.min(0o777_7777),
            gid: gid.min(0o777_7777),
            size: size.min(0o777_7777_7777),
            mtime: meta
                .mtime
                .map_or(0, |t| t.as_second().max(0).unsigned_abs()),
            typeflag,
            link: &truncated(&link, 100),
            user: &truncated(&user, 32),
            group: &truncated(&group, 32),
        };
        self.out.write_all(&header.block())?;
        if typeflag == b'0' {
            content(&mut self.out)?;
            self.pad(size)?;
        }
        Ok(())
    }

    /// Two zero blocks end the archive.
    fn finish(&mut self) -> std::io::Result<()> {
        self.out.write_all(&[0; 2 * BLOCK])?;
        self.out.flush()
    }
}

/// The permission, set-id and sticky bits of a node's mode, as tar keeps them. A node's
/// mode is Go's `os.FileMode` (restic's own type and set-id bits) or, from other writers,
/// the Unix mode; both carry the permissions in the low 9 bits.
fn unix_mode(mode: u32) -> u32 {
    const GO_SETUID: u32 = 1 << 23;
    const GO_SETGID: u32 = 1 << 22;
    const GO_STICKY: u32 = 1 << 20;
    let mut m = mode & 0o777;
    if mode & GO_SETUID != 0 {
        m |= 0o4000;
    }
    if mode & GO_SETGID != 0 {
        m |= 0o2000;
    }
    if mode & GO_STICKY != 0 {
        m |= 0o1000;
    }
    m
}

/// Fits a USTAR field of `len` bytes as plain ASCII.
fn fits(s: &str, len: usize) -> bool {
    s.len() <= len && s.is_ascii()
}

fn truncated(s: &str, len: usize) -> String {
    s.chars().filter(char::is_ascii).take(len).collect()
}

/// `seconds.nanoseconds` without trailing zeros, as pax records times.
fn pax_time(t: jiff::Timestamp) -> String {
    let (s, ns) = (t.as_second(), t.subsec_nanosecond());
    if ns == 0 {
        return s.to_string();
    }
    let frac = format!("{:09}", ns.unsigned_abs());
    if s < 0 || ns < 0 {
        // Before 1970: pax writes the sign once, for the whole value.
        let total = i128::from(s) * 1_000_000_000 + i128::from(ns);
        let (whole, part) = (total.abs() / 1_000_000_000, total.abs() % 1_000_000_000);
        let part = format!("{part:09}");
        return format!("-{whole}.{}", part.trim_end_matches('0'));
    }
    format!("{s}.{}", frac.trim_end_matches('0'))
}

/// One pax record: `LEN key=value\n`, LEN counting itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while body + len.to_string().len() != len {
        len = body + len.to_string().len();
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

struct Header<'a> {
    name: &'a str,
    mode: u64,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: u64,
    typeflag: u8,
    link: &'a str,
    user: &'a str,
    group: &'a str,
}

impl Header<'_> {
    fn block(&self) -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        put(&mut b[0..100], self.name.as_bytes());
        octal(&mut b[100..108], self.mode);
        octal(&mut b[108..116], self.uid);
        octal(&mut b[116..124], self.gid);
        octal(&mut b[124..136], self.size);
        octal(&mut b[136..148], self.mtime);
        b[148..156].fill(b' ');
        b[156] = self.typeflag;
        put(&mut b[157..257], self.link.as_bytes());
        put(&mut b[257..263], b"ustar\0");
        put(&mut b[263..265], b"00");
        put(&mut b[265..297], self.user.as_bytes());
        put(&mut b[297..329], self.group.as_bytes());
        octal(&mut b[329..337], 0);
        octal(&mut b[337..345], 0);
        let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
        let sum = format!("{sum:06o}\0 ");
        b[148..156].copy_from_slice(sum.as_bytes());
        b
    }
}

fn put(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

/// A zero-padded octal number and a NUL, filling `field`.
fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    put(field, text.as_bytes());
    field[digits] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_count_their_own_length() {
        // "9 path=a\n" is 9 bytes long; 99 bytes of record need 3 digits.
        assert_eq!(pax_record("path", b"a"), b"9 path=a\n");
        let long = vec![b'x'; 95];
        let r = pax_record("path", &long);
        assert_eq!(r.len(), 105);
        assert!(r.starts_with(b"105 path="));
    }

    #[test]
    fn times_keep_their_fraction_without_trailing_zeros() {
        let t = jiff::Timestamp::new(1_700_000_000, 120_000_000).expect("time");
        assert_eq!(pax_time(t), "1700000000.12");
        let t = jiff::Timestamp::new(5, 0).expect("time");
        assert_eq!(pax_time(t), "5");
        let t = jiff::Timestamp::new(-2, -500_000_000).expect("time");
        assert_eq!(pax_time(t), "-2.5");
    }

    #[test]
    fn a_header_checksums_as_tar_expects() {
        let h = Header {
            name: "a",
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 1,
            mtime: 0,
            typeflag: b'0',
            link: "",
            user: "",
            group: "",
        }
        .block();
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).expect("ascii"), 8)
            .expect("octal");
        let mut blank = h;
        blank[148..156].fill(b' ');
        assert_eq!(stored, blank.iter().map(|&x| u32::from(x)).sum::<u32>());
    }
}
