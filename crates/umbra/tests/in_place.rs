//! Databases and VM images that change in place (issue #22): fixed-size chunks for them,
//! reading only what changed when a kept base snapshot can vouch for the rest, and
//! sparse images that restore sparse onto a filesystem smaller than their apparent size.
//!
//! The tests that need root (loop filesystems, tmpfs) say so; in CI they run.

mod common;

use std::fs;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use common::{age_past_racy_margin, btrfs_source, json_u64 as u, Env, LoopFs, Rng, Tmpfs};

const MIB: u64 = 1 << 20;

/// Rewrites 1% of the 4 KiB blocks of `path` in place, with new random data.
fn rewrite_one_percent(path: &Path, rng: &mut Rng) {
    let f = fs::OpenOptions::new().write(true).open(path).expect("open");
    let blocks = f.metadata().expect("stat").len() / 4096;
    for _ in 0..blocks / 100 {
        let at = rng.below(blocks) * 4096;
        f.write_all_at(&rng.bytes(4096), at).expect("write");
    }
    f.sync_all().expect("sync");
}

/// The content list (blob ids) of the file at `path` in snapshot `id`, walked through
/// `umbra cat snapshot` and `umbra cat tree`.
fn content_of(env: &Env, id: &str, path: &Path) -> Vec<String> {
    let snap: serde_json::Value =
        serde_json::from_str(&env.ok(&["cat", "snapshot", id])).expect("snapshot json");
    let mut tree = snap["tree"].as_str().expect("tree id").to_string();
    let names: Vec<String> = path
        .components()
        .skip(1)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for (i, name) in names.iter().enumerate() {
        let nodes: serde_json::Value =
            serde_json::from_str(&env.ok(&["cat", "tree", &tree])).expect("tree json");
        let node = nodes["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .find(|n| n["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not in the snapshot's tree"))
            .clone();
        if i + 1 == names.len() {
            return node["content"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
        }
        tree = node["subtree"].as_str().expect("subtree").to_string();
    }
    Vec::new()
}

/// The id of the newest snapshot.
fn latest(env: &Env) -> String {
    let list: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "snapshots"])).expect("snapshots json");
    list.as_array()
        .and_then(|a| a.last())
        .and_then(|s| s["id"].as_str())
        .expect("a snapshot")
        .to_string()
}

#[test]
fn auto_cuts_images_in_fixed_chunks_and_a_scattered_rewrite_stores_little() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    let mut rng = Rng(22);
    // Known by its name (and by nothing else: random data).
    fs::write(src.join("disk.img"), rng.bytes(16 << 20)).expect("write");
    // Known only by being rewritten in place.
    fs::write(src.join("table.bin"), rng.bytes(16 << 20)).expect("write");
    // An ordinary file, rewritten whole under a new inode: stays content-defined.
    fs::write(src.join("notes.txt"), rng.bytes(9 << 20)).expect("write");
    env.backup_json(&[&src], &[]);
    let first = |name: &str| content_of(&env, &latest(&env), &src.join(name)).len();
    assert_eq!(first("disk.img"), 256, "64 KiB chunks for a disk image");
    assert!(
        first("table.bin") < 40,
        "content-defined chunks before any in-place write"
    );

    rewrite_one_percent(&src.join("disk.img"), &mut rng);
    rewrite_one_percent(&src.join("table.bin"), &mut rng);
    let (_, second) = env.backup_json(&[&src], &[]);
    assert_eq!(
        first("table.bin"),
        256,
        "rewritten in place: now fixed-size chunks"
    );
    // disk.img: about 15% of 16 MiB; table.bin: stored once more, whole.
    assert!(u(&second, "bytes_added") < 16 * MIB + 4 * MIB, "{second}");

    for _ in 0..2 {
        rewrite_one_percent(&src.join("disk.img"), &mut rng);
        rewrite_one_percent(&src.join("table.bin"), &mut rng);
        let (_, next) = env.backup_json(&[&src], &[]);
        let added = u(&next, "bytes_added");
        // The goal: at most 20% of what changed in place (restic: 97%).
        assert!(added <= 32 * MIB / 5, "added {added} of 32 MiB: {next}");
        assert!(
            added >= 32 * MIB / 20,
            "a 1% rewrite must store something: {next}"
        );
    }
    assert_eq!(first("table.bin"), 256, "the choice is stable");

    let replaced = src.join("notes.new");
    let mut data = fs::read(src.join("notes.txt")).expect("read");
    data[4 << 20] ^= 1;
    fs::write(&replaced, &data).expect("write");
    fs::rename(&replaced, src.join("notes.txt")).expect("rename");
    env.backup_json(&[&src], &[]);
    assert!(
        first("notes.txt") < 30,
        "an ordinary file keeps restic's chunking"
    );

    let target = env.restore_latest("restored");
    for name in ["disk.img", "table.bin", "notes.txt"] {
        let restored = common::restored_path(&target, &src.join(name));
        assert!(
            fs::read(&restored).expect("read") == fs::read(src.join(name)).expect("read"),
            "{name} restores byte for byte"
        );
    }
    if common::require(common::have("restic"), "the restic binary (see .ci/run)") {
        let check = common::restic(&env, &["check", "--read-data"]);
        assert!(
            check.status.success(),
            "restic reads fixed-size chunks: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let out = common::restic_restore_latest(&env, "by-restic");
        let restored = common::restored_path(&out, &src.join("disk.img"));
        assert!(fs::read(restored).expect("read") == fs::read(src.join("disk.img")).expect("read"));
    }
}

#[test]
fn chunking_policies_are_chosen_and_checked() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("blob"), Rng(3).bytes(3 << 20)).expect("write");
    env.backup_json(&[&src], &["--chunking", "fixed:128KiB"]);
    assert_eq!(content_of(&env, &latest(&env), &src.join("blob")).len(), 24);
    // Explicit content-defined chunking for an image: restic's chunks.
    fs::write(src.join("vm.img"), Rng(4).bytes(12 << 20)).expect("write");
    env.backup_json(&[&src], &["--chunking", "content"]);
    assert!(content_of(&env, &latest(&env), &src.join("vm.img")).len() < 30);

    let out = env.run(&[
        "backup",
        "--chunking",
        "fixed:1000",
        src.to_str().expect("utf8"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`fixed:1000` is not a chunking policy"),
        "{err}"
    );
    assert_eq!(common::files_under(&env.repo().join("snapshots")).len(), 2);
    assert!(
        err.contains("fixed:64KiB"),
        "the hint shows a good value: {err}"
    );
}

/// Applies one random modification of the kinds a database or VM guest makes.
fn modify(path: &Path, rng: &mut Rng) {
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open");
    let len = f.metadata().expect("stat").len();
    let at = rng.below(len.max(1));
    match rng.below(10) {
        // Overwrite a few pages, or a byte range that crosses chunk boundaries.
        0..=4 => {
            let n = usize::try_from(1 + rng.below(40_000)).expect("n");
            f.write_all_at(&rng.bytes(n), at).expect("write");
        }
        // Extend.
        5 => {
            let n = usize::try_from(rng.below(300_000)).expect("n");
            f.write_all_at(&rng.bytes(n), len).expect("append");
        }
        // Truncate, but keep the file large.
        6 => f
            .set_len(len.saturating_sub(rng.below(200_000)).max(12 * MIB))
            .expect("truncate"),
        // Punch a hole.
        7 => {
            let n = i64::try_from(4096 * (1 + rng.below(32))).expect("n");
            // SAFETY: a valid descriptor and in-range arguments.
            let rc = unsafe {
                libc::fallocate(
                    std::os::fd::AsRawFd::as_raw_fd(&f),
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    i64::try_from(at).expect("at"),
                    n,
                )
            };
            assert_eq!(rc, 0, "punch a hole");
        }
        // Rewrite a long run (read around the page cache from a volume snapshot).
        8 => {
            let n = usize::try_from(MIB + rng.below(2 * MIB)).expect("n");
            f.write_all_at(&rng.bytes(n), at.min(len.saturating_sub(n as u64)))
                .expect("write a run");
        }
        // Rewrite data that is already there (new extents, same bytes).
        _ => {
            let mut buf = vec![0u8; usize::try_from(1 + rng.below(70_000)).expect("n")];
            let n = f.read_at(&mut buf, at).expect("read");
            f.write_all_at(&buf[..n], at).expect("rewrite");
        }
    }
}

/// On a loop filesystem: `rounds` rounds of `per_round` random modifications; after each,
/// an ordinary backup (which reads only what the kept base cannot vouch for) and a full
/// read of the same state must store the same content list.
fn base_reads_only_what_changed(fs_type: &str, snapshot: &str, rounds: u32, per_round: u32) {
    let env = Env::new();
    let Some(lfs) = LoopFs::new(fs_type, env.dir.path(), 700) else {
        return;
    };
    env.init();
    let src = lfs.path("data");
    fs::create_dir_all(&src).expect("mkdir");
    let image = src.join("guest.img");
    let mut rng = Rng(7);
    fs::write(&image, rng.bytes(24 << 20)).expect("write");
    fs::write(src.join("small.conf"), "x = 1\n").expect("write");
    let backup = |extra: &[&str]| {
        let mut args = vec!["--snapshot", snapshot];
        args.extend_from_slice(extra);
        let (code, summary) = env.backup_json(&[&src], &args);
        assert_eq!(code, Some(0), "{summary}");
        summary
    };
    backup(&[]);
    let snapshots_dir = lfs.mount.join(".umbra-snapshots");
    let staging_dir = lfs.mount.join(".umbra-staging");
    let kept = || {
        [&snapshots_dir, &staging_dir]
            .iter()
            .filter_map(|d| fs::read_dir(d).ok())
            .map(Iterator::count)
            .sum::<usize>()
    };
    assert_eq!(
        kept(),
        1,
        "the image's snapshot is kept as the next backup's base"
    );

    // The measured case: 1% of the blocks rewritten.
    rewrite_one_percent(&image, &mut rng);
    let one_percent = backup(&[]);
    let size = fs::metadata(&image).expect("stat").len();
    assert!(
        u(&one_percent, "bytes_read") <= size / 4,
        "reads at most 25% of the file: {one_percent}"
    );
    assert!(u(&one_percent, "bytes_reused") >= size / 2, "{one_percent}");
    assert!(u(&one_percent, "bytes_added") <= size / 5, "{one_percent}");

    let mut reused_any = false;
    for round in 0..rounds {
        for _ in 0..per_round {
            modify(&image, &mut rng);
        }
        let quick = backup(&[]);
        reused_any |= u(&quick, "bytes_reused") > 0;
        let quick_id = quick["snapshot_id"].as_str().expect("id").to_string();
        let full = backup(&["--force"]);
        assert_eq!(u(&full, "bytes_reused"), 0, "--force reads everything");
        let full_id = full["snapshot_id"].as_str().expect("id").to_string();
        assert_eq!(
            content_of(&env, &quick_id, &image),
            content_of(&env, &full_id, &image),
            "round {round}: what the base vouched for differs from a full read"
        );
        assert_eq!(kept(), 1, "one base at a time");
    }
    assert!(reused_any, "the base was used");
    let target = env.restore_latest("restored");
    let restored = common::restored_path(&target, &image);
    assert!(fs::read(restored).expect("read") == fs::read(&image).expect("read"));

    // `cleanup` releases the base; nothing of umbra's is left on the filesystem.
    let out = env.ok(&["cleanup"]);
    assert!(out.contains("released the base snapshot of"), "{out}");
    assert_eq!(kept(), 0, "{out}");
    assert!(common::mounts_below(&lfs.mount).is_empty());
}

#[test]
fn a_kept_btrfs_base_reads_only_what_changed_and_stores_what_a_full_read_stores() {
    // 10 rounds of 100: a thousand modifications.
    base_reads_only_what_changed("btrfs", "btrfs", 10, 100);
}

#[test]
fn a_kept_xfs_reflink_base_reads_only_what_changed_and_stores_what_a_full_read_stores() {
    base_reads_only_what_changed("xfs", "reflink", 4, 100);
}

/// The snapshots umbra keeps on `lfs` (kept bases, once a backup is over).
fn kept_snapshots(lfs: &LoopFs) -> usize {
    fs::read_dir(lfs.mount.join(".umbra-snapshots")).map_or(0, Iterator::count)
}

/// The kept bases' records in `env`'s state directory.
fn base_records(env: &Env) -> Vec<std::ffi::OsString> {
    fs::read_dir(env.path("state/bases"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default()
}

#[test]
fn keep_base_never_releases_the_base_and_reads_whole() {
    let Some((env, lfs, src)) = btrfs_source("db.sqlite", 12, 5) else {
        return;
    };
    let args = ["--snapshot", "btrfs"];
    env.backup_json(&[&src], &args);
    assert_eq!(kept_snapshots(&lfs), 1);
    rewrite_one_percent(&src.join("db.sqlite"), &mut Rng(6));
    let (_, s) = env.backup_json(&[&src], &["--snapshot", "btrfs", "--keep-base", "never"]);
    assert!(
        u(&s, "bytes_reused") > 0,
        "the old base is still used once: {s}"
    );
    assert!(
        !lfs.mount.join(".umbra-snapshots").exists(),
        "--keep-base never releases the base"
    );
    assert!(base_records(&env).is_empty());
}

#[test]
fn a_sparse_image_restores_sparse_onto_a_filesystem_smaller_than_it() {
    if !common::require(common::is_root(), "root, to mount a small tmpfs") {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    // A thin VM image: 200 MiB apparent, 4 KiB of data.
    let image = src.join("thin.img");
    let f = fs::File::create(&image).expect("create");
    f.set_len(200 * MIB).expect("size");
    f.write_all_at(&Rng(9).bytes(4096), 100 * MIB)
        .expect("write");
    drop(f);
    env.backup_json(&[&src], &[]);

    let small = Tmpfs::mount(env.path("small"), "size=64m");
    let target = small.0.join("t");
    env.ok(&[
        "restore",
        "latest",
        "--target",
        target.to_str().expect("utf8"),
    ]);
    let restored = common::restored_path(&target, &image);
    let meta = fs::metadata(&restored).expect("stat");
    assert_eq!(meta.len(), 200 * MIB, "the apparent size is the image's");
    assert!(
        meta.blocks() * 512 < 4 * MIB,
        "restored sparse: {} bytes used",
        meta.blocks() * 512
    );
    assert!(fs::read(&restored).expect("read") == fs::read(&image).expect("read"));

    // Data that does not fit: refused up front, with the way out named.
    fs::write(src.join("full.bin"), Rng(10).bytes(80 << 20)).expect("write");
    env.backup_json(&[&src], &[]);
    let second = small.0.join("t2");
    let out = env.run(&[
        "restore",
        "latest",
        "--target",
        second.to_str().expect("utf8"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("written as holes"), "{err}");
    assert!(err.contains("--skip-space-check"), "{err}");
    // --skip-space-check tries, and a full disk then stops it cleanly.
    let out = env.run(&[
        "restore",
        "latest",
        "--skip-space-check",
        "--target",
        second.to_str().expect("utf8"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no space left"), "{err}");
    let leftovers: Vec<PathBuf> = common::files_under(&small.0)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".umbra-restore"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_jobs_base_goes_with_the_job() {
    let Some((env, lfs, src)) = btrfs_source("vm.qcow2", 10, 11) else {
        return;
    };
    // The second run must find the image unchanged by its times alone.
    age_past_racy_margin();
    let config = env.path("umbra.toml");
    let job_file = |name: &str| {
        env.job_file(&format!(
            "[jobs.{name}]\nsources = [\"{}\"]\nsnapshot = \"btrfs\"\n",
            src.display()
        ));
    };
    let run = |name: &str| {
        let out = env
            .umbra_with_config(&config)
            .args(["run", name])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    job_file("images");
    let first = run("images");
    let bases = || base_records(&env);
    assert_eq!(bases().len(), 1, "the image's snapshot is kept: {first}");
    // The job is renamed: the old job's base is released before the new job runs.
    job_file("vms");
    let out = run("vms");
    assert!(
        out.contains("released the base snapshot of") && out.contains("job images"),
        "{out}"
    );
    // Nothing changed, nothing was read: no base yet for the new job (auto keeps one
    // where a large fixed-chunked file was read).
    assert!(bases().is_empty(), "{:?}", bases());
    assert!(!lfs.mount.join(".umbra-snapshots").exists());
    rewrite_one_percent(&src.join("vm.qcow2"), &mut Rng(12));
    run("vms");
    let left = bases();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].to_string_lossy().starts_with("vms-"), "{left:?}");
    assert_eq!(kept_snapshots(&lfs), 1);
}
