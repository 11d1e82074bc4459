//! What a backup reads, and reports, against a kept base (issues #18 and #22): the
//! replaced base's cost in the summary, and a volume snapshot's files read without
//! leaving their pages in the cache, long runs of changed chunks around it in 1 MiB blocks;
//! and the two sources of a snapshot's extent maps (its btrfs tree, `FIEMAP`) agreeing.
//!
//! The tests need root (loop filesystems); in CI they run.

mod common;

use std::fs;
use std::os::unix::fs::FileExt;

use common::{btrfs_source, json_u64 as u, Rng};

const MIB: u64 = 1 << 20;

/// The summary says what the base it replaces held of its own: the bytes rewritten or
/// removed since it was taken, and nothing for the files left alone, among them 2,000
/// small enough to live inside btrfs's metadata (whose map vouches for nothing, so that
/// mapping them counted every one) and one whose time was set, whose extents are still
/// the base's.
#[test]
fn a_replaced_base_is_said_to_hold_what_changed_since_it() {
    let Some((env, _lfs, src)) = btrfs_source("db.sqlite", 12, 21) else {
        return;
    };
    let mut rng = Rng(22);
    let tiny = src.join("tiny");
    fs::create_dir_all(&tiny).expect("mkdir");
    for i in 0..2000 {
        fs::write(tiny.join(format!("{i}.conf")), rng.bytes(1000)).expect("write");
    }
    for (name, mib) in [("rewritten", 3), ("removed", 2), ("touched", 1)] {
        fs::write(src.join(name), rng.bytes(mib << 20)).expect("write");
    }
    let backup = || {
        let path = src.to_str().expect("utf-8");
        env.ok(&["backup", "--snapshot", "btrfs", path])
    };
    let first = backup();
    assert!(first.contains("kept the snapshot of"), "{first}");
    fs::write(src.join("rewritten"), rng.bytes(3 << 20)).expect("write");
    fs::remove_file(src.join("removed")).expect("rm");
    fs::File::options()
        .write(true)
        .open(src.join("touched"))
        .and_then(|f| f.set_modified(std::time::SystemTime::UNIX_EPOCH))
        .expect("set the time");
    let second = backup();
    assert!(
        second.contains("the base it replaces held 5.0 MiB of its own"),
        "3 MiB rewritten and 2 MiB removed: {second}"
    );
}

/// A volume snapshot's files leave the page cache once read (their pages serve nothing
/// after the backup, and would push the running applications' out): the kept base is the
/// same snapshot, so `fincore` shows what the backup left cached of it, for a file read
/// whole (small) and one streamed (large); then, read against that base, for a file of
/// which only a long run and a few pages changed: the run is read around the cache in
/// 1 MiB blocks (`strace` shows its reads), the pages buffered, the image's extent maps
/// taken from the snapshots' tree rather than with `FIEMAP`, and the file's content comes
/// back as it is.
#[test]
fn files_read_from_a_volume_snapshot_leave_the_page_cache() {
    if !common::require(common::have("fincore"), "fincore (util-linux)")
        || !common::require(common::have("strace"), "strace")
    {
        return;
    }
    let Some((env, lfs, src)) = btrfs_source("big.img", 24, 9) else {
        return;
    };
    fs::write(src.join("small"), Rng(10).bytes(1 << 20)).expect("write");
    let backup = || {
        let (code, s) = env.backup_json(&[&src], &["--snapshot", "btrfs", "--keep-base", "always"]);
        assert_eq!(code, Some(0), "{s}");
        s
    };
    let cached = |name: &str| {
        let base = fs::read_dir(lfs.mount.join(".umbra-snapshots"))
            .expect("a kept base")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .next()
            .expect("a kept base");
        let file = base.join("data").join(name);
        assert!(file.is_file(), "{}", file.display());
        let out = std::process::Command::new("fincore")
            .args(["--bytes", "--noheadings", "--output", "RES"])
            .arg(&file)
            .output()
            .expect("fincore");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u64>()
            .expect("fincore's count")
    };
    backup();
    for name in ["big.img", "small"] {
        assert_eq!(cached(name), 0, "{name}: still cached");
    }
    let image = src.join("big.img");
    let f = fs::OpenOptions::new()
        .write(true)
        .open(&image)
        .expect("open");
    let mut rng = Rng(11);
    f.write_all_at(&rng.bytes(4 << 20), 8 << 20)
        .expect("a long run");
    for at in [MIB, 3 * MIB + 4096, 20 * MIB] {
        f.write_all_at(&rng.bytes(4096), at).expect("a page");
    }
    drop(f);
    let log = env.path("trace.log");
    let out = env
        .umbra_traced("pread64,ioctl", &log)
        .args([
            "--json",
            "backup",
            "--snapshot",
            "btrfs",
            "--keep-base",
            "always",
        ])
        .arg(&src)
        .output()
        .expect("umbra under strace");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = common::summary_of(&out);
    let trace = fs::read_to_string(&log).expect("strace's log");
    for at in [8, 9, 10, 11] {
        // The end of the call's line: size, offset, bytes read (after a "resumed" too).
        let block = format!(", 1048576, {}) = 1048576", at * MIB);
        assert!(
            trace.contains(&block),
            "the run's MiB at {at} MiB is not read in one block: {trace}"
        );
    }
    // Both snapshots are read-only: the image's maps come from the subvolume's tree.
    assert!(
        trace.contains("BTRFS_IOC_TREE_SEARCH_V2") && !trace.contains("FS_IOC_FIEMAP"),
        "the maps of a read-only snapshot's file were not read from its tree: {trace}"
    );
    let read = u(&s, "bytes_read");
    assert!(
        (4 * MIB..8 * MIB).contains(&read),
        "the run and three chunks read, not the file: {s}"
    );
    assert_eq!(cached("big.img"), 0, "read against a base: still cached");
    let target = env.restore_latest("restored");
    let restored = common::restored_path(&target, &image);
    assert!(fs::read(restored).expect("read") == fs::read(&image).expect("read"));
}

/// In a read-only btrfs snapshot, umbra maps files from the subvolume's tree instead of
/// with `FIEMAP` (which walks every extent's back references). The comparison that decides
/// which bytes are not read must not depend on that: for every file, both maps back every
/// byte alike. Files rewritten at random (the last writes still in the page cache when
/// the snapshot is taken), preallocated inside and beyond their end, punched, extended,
/// cut short, compressed, inline, reflinked and partly rewritten, empty, and one large
/// enough to be mapped in parts. A file in the writable subvolume is not mapped from the
/// tree (it may hold data not yet there), also when seen through a read-only mount.
#[test]
fn a_snapshots_extent_maps_agree_between_the_tree_and_fiemap() {
    use common::{sh_ok, LoopFs, ReadOnlyView};
    let env = common::Env::new();
    let Some(lfs) = LoopFs::new("btrfs", env.dir.path(), 300) else {
        return;
    };
    let live = lfs.path("live");
    let (l, s) = (live.display(), lfs.path("snap"));
    sh_ok(&format!("btrfs -q subvolume create {l}"));
    let mut rng = Rng(31);
    let file = |name: &str| {
        fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(live.join(name))
            .expect("open")
    };
    // Rewritten at random, in many extents; the last 40 writes not synced.
    let f = file("random");
    f.write_all_at(&rng.bytes(8 << 20), 0).expect("write");
    for k in 0..300 {
        let len = 4096 * (1 + rng.below(16)) as usize;
        f.write_all_at(&rng.bytes(len), rng.below(8 << 20))
            .expect("write");
        if k % 10 == 0 && k < 260 {
            f.sync_data().expect("sync");
        }
    }
    // Large enough to be mapped in four parts: every other 64 KiB written, then rewrites.
    let f = file("large");
    for k in 0..200u64 {
        f.write_all_at(&rng.bytes(64 << 10), k * (128 << 10))
            .expect("write");
        if k % 8 == 0 {
            f.sync_data().expect("sync");
        }
    }
    for _ in 0..100 {
        f.write_all_at(&rng.bytes(4096), rng.below(25 << 20))
            .expect("write");
    }
    fs::write(live.join("punched"), rng.bytes(4 << 20)).expect("write");
    fs::write(live.join("extended"), rng.bytes(1 << 20)).expect("write");
    fs::write(live.join("cut"), rng.bytes(4 << 20)).expect("write");
    fs::write(live.join("inline"), rng.bytes(700)).expect("write");
    fs::write(live.join("small"), rng.bytes(3000)).expect("write");
    fs::write(live.join("empty"), b"").expect("write");
    file("compressed");
    sh_ok(&format!(
        "btrfs property set {l}/compressed compression zstd"
    ));
    let text = "a line that compresses well, over and over again\n".repeat(40_000);
    file("compressed")
        .write_all_at(text.as_bytes(), 0)
        .expect("write");
    file("compressed")
        .write_all_at(&rng.bytes(128 << 10), 1 << 20)
        .expect("write");
    sh_ok(&format!(
        "cd {l} && fallocate -l 4M prealloc && fallocate -n -o 4M -l 2M prealloc && \
         fallocate -p -o 1M -l 512K punched && fallocate -p -o 3M -l 4096 punched && \
         truncate -s 1572964 cut && truncate -s 5M extended && sync && \
         cp --reflink=always random reflinked"
    ));
    file("prealloc")
        .write_all_at(&rng.bytes(100 << 10), 1 << 20)
        .expect("write");
    file("extended")
        .write_all_at(&rng.bytes(8192), 4 << 20)
        .expect("write");
    for _ in 0..3 {
        file("reflinked")
            .write_all_at(&rng.bytes(12288), rng.below(8 << 20))
            .expect("write");
    }
    sh_ok(&format!(
        "btrfs -q subvolume snapshot -r {l} {}",
        s.display()
    ));

    let mut runs = 0;
    for entry in fs::read_dir(&s).expect("snapshot") {
        let path = entry.expect("entry").path();
        let (tree, fiemap) = umbra_repo::testing::extent_backing(&path);
        let tree = tree.unwrap_or_else(|| panic!("{}: no map from the tree", path.display()));
        let fiemap = fiemap.unwrap_or_else(|| panic!("{}: no FIEMAP", path.display()));
        let differ = tree.iter().zip(&fiemap).position(|(a, b)| a != b);
        assert!(
            differ.is_none() && tree.len() == fiemap.len(),
            "{}: the maps differ (tree {} runs, FIEMAP {}) from run {differ:?}:\ntree:   {:?}\nFIEMAP: {:?}",
            path.display(),
            tree.len(),
            fiemap.len(),
            &tree[differ.unwrap_or(0)..tree.len().min(differ.unwrap_or(0) + 4)],
            &fiemap[differ.unwrap_or(0)..fiemap.len().min(differ.unwrap_or(0) + 4)],
        );
        runs += tree.len();
    }
    assert!(
        runs > 400,
        "only {runs} runs of bytes: the files are not fragmented"
    );
    let (tree, fiemap) = umbra_repo::testing::extent_backing(&live.join("random"));
    assert!(
        tree.is_none() && fiemap.is_some(),
        "a writable file was mapped from the tree"
    );
    // What counts is the subvolume's flag, not the mount's: the writable subvolume seen
    // through a read-only bind mount (which refuses writes with EROFS as a read-only
    // subvolume does) may still hold data not yet in its tree; the snapshot seen so (as
    // nested snapshots are mounted into a snapshot) is still mapped from it.
    let _views = [
        ReadOnlyView::of(&live, lfs.path("live-ro")),
        ReadOnlyView::of(&s, lfs.path("snap-ro")),
    ];
    let (tree, _) = umbra_repo::testing::extent_backing(&lfs.path("live-ro/random"));
    assert!(
        tree.is_none(),
        "a writable subvolume's file was mapped from the tree through a read-only mount"
    );
    let (tree, _) = umbra_repo::testing::extent_backing(&lfs.path("snap-ro/random"));
    assert!(
        tree.is_some(),
        "a read-only snapshot's file seen through a read-only mount was not mapped from the tree"
    );
}
