//! The comparison of extent maps, and mapping in parts.

use super::*;

fn ext(logical: u64, physical: u64, length: u64) -> Extent {
    Extent {
        logical,
        physical,
        length,
        unwritten: false,
        vouched: true,
    }
}

#[test]
fn shared_extents_are_the_same_and_rewritten_ones_are_not() {
    // The base: one extent. The new file: the middle 4 KiB moved (copy-on-write).
    let base = [ext(0, 1 << 20, 64 << 10)];
    let new = [
        ext(0, 1 << 20, 8 << 10),
        ext(8 << 10, 9 << 20, 4 << 10),
        ext(12 << 10, (1 << 20) + (12 << 10), 52 << 10),
    ];
    assert_eq!(
        same_ranges(&base, &new, 64 << 10),
        vec![0..(8 << 10), (12 << 10)..(64 << 10)]
    );
}

#[test]
fn holes_in_both_are_the_same_and_encoded_extents_are_never() {
    let mut compressed = ext(0, 1 << 20, 4096);
    compressed.vouched = false;
    let base = [compressed, ext(8192, 5 << 20, 4096)];
    let new = [compressed, ext(8192, 5 << 20, 4096)];
    // [0,4096): unvouched; [4096,8192): a hole in both; [8192,12288): shared.
    assert_eq!(same_ranges(&base, &new, 16384), vec![4096..16384]);
    // A hole against data is a change.
    assert_eq!(
        same_ranges(&base, &[compressed], 16384),
        vec![4096..8192, 12288..16384]
    );
}

#[test]
fn the_same_address_at_another_offset_is_a_change() {
    let base = [ext(0, 1 << 20, 4096), ext(4096, 2 << 20, 4096)];
    let new = [ext(0, 2 << 20, 4096), ext(4096, 1 << 20, 4096)];
    assert!(same_ranges(&base, &new, 8192).is_empty());
}

/// A random extent map over `[0, 64)`: extents of 1-8 bytes with gaps, from a few
/// physical places, some unwritten or unvouched.
fn random_map(seed: &mut u64) -> Vec<Extent> {
    let mut next = || {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    };
    let mut map = Vec::new();
    let mut at = 0;
    while at < 64 {
        at += next() % 3;
        let length = 1 + next() % 8;
        let mut e = ext(at, 1000 * (next() % 3) + at + next() % 2, length);
        e.unwritten = next() % 5 == 0;
        e.vouched = next() % 7 != 0;
        map.push(e);
        at += length;
    }
    map
}

#[test]
fn the_sweep_agrees_with_a_byte_by_byte_comparison() {
    fn at(map: &[Extent], x: u64) -> Option<(Option<(u64, bool)>,)> {
        match map
            .iter()
            .find(|e| e.logical <= x && x < e.logical + e.length)
        {
            None => Some((None,)),
            Some(e) if e.vouched => Some((Some((e.physical + x - e.logical, e.unwritten)),)),
            Some(_) => None,
        }
    }
    let mut seed = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        let (a, b) = (random_map(&mut seed), random_map(&mut seed));
        let len = 40 + seed % 40;
        let mut want: Vec<Range<u64>> = Vec::new();
        for x in 0..len {
            if at(&a, x).is_some() && at(&a, x) == at(&b, x) {
                match want.last_mut() {
                    Some(r) if r.end == x => r.end = x + 1,
                    _ => want.push(x..x + 1),
                }
            }
        }
        assert_eq!(same_ranges(&a, &b, len), want, "{a:?}\n{b:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_file_mapped_in_parts_has_the_map_it_has_whole() {
    use std::os::unix::fs::FileExt;
    // 32 MiB with data every other 64 KiB and a hole between: 256 extents at least,
    // some of them across the parts' boundaries once merged by the filesystem.
    let dir = std::env::temp_dir().join(format!("umbra-extents-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("f");
    let file = File::create(&path).expect("create");
    file.set_len(32 << 20).expect("len");
    for k in 0..256u64 {
        let len = if k % 7 == 0 { 192 << 10 } else { 64 << 10 };
        file.write_all_at(&vec![k as u8 | 1; len], k * (128 << 10))
            .expect("write");
    }
    file.sync_all().expect("sync");
    let file = File::open(&path).expect("open");
    let whole = extents_in(&file, 0..u64::MAX);
    let _ = std::fs::remove_dir_all(&dir);
    let Some(whole) = whole else {
        eprintln!("SKIPPED: {} does not answer FIEMAP", dir.display());
        return;
    };
    assert!(whole.len() > 8, "{} extents", whole.len());
    let parts = extents(&file).expect("map in parts");
    let differ: Vec<_> = whole
        .iter()
        .zip(&parts)
        .filter(|(a, b)| a != b)
        .take(3)
        .collect();
    assert!(
        differ.is_empty() && whole.len() == parts.len(),
        "{} extents whole, {} in parts; first differences: {differ:?}",
        whole.len(),
        parts.len()
    );
}
