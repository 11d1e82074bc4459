//! Point-in-time sources on real filesystems (loop devices, created and destroyed here):
//! btrfs (a subvolume, a plain directory of the top level, nested subvolumes), reflink on
//! xfs, direct reads on ext4; the open-files policies; parents across runs; and that
//! nothing is ever left behind (after a crash: snapshot_crashes.rs).

mod common;

use std::fs;

use common::leftovers::{assert_nothing_left, btrfs_leftovers};
use common::{age_past_racy_margin, assert_same_tree, restored_path, sh, Env, LoopFs, Rng};

#[test]
fn btrfs_subvolume_plain_directory_and_nested_subvolumes() {
    let env = Env::new();
    let Some(fs) = LoopFs::new("btrfs", env.dir.path(), 512) else {
        return;
    };
    sh(&format!(
        "btrfs subvolume create {}",
        fs.path("vol").display()
    ));
    fs::create_dir_all(fs.path("vol/data")).expect("mkdir");
    fs::write(fs.path("vol/data/a"), "in the subvolume").expect("write");
    sh(&format!(
        "btrfs subvolume create {}",
        fs.path("vol/data/nested").display()
    ));
    fs::write(fs.path("vol/data/nested/n"), "in a nested subvolume").expect("write");
    sh(&format!(
        "btrfs subvolume create {}",
        fs.path("vol/data/nested/deeper").display()
    ));
    fs::write(fs.path("vol/data/nested/deeper/d"), "two levels down").expect("write");
    fs::create_dir_all(fs.path("plain/dir")).expect("mkdir");
    fs::write(fs.path("plain/dir/p"), Rng(4).bytes(300_000)).expect("write");
    age_past_racy_margin();
    env.init();

    let plan = env.ok(&[
        "sources",
        fs.path("vol/data").to_str().expect("utf8"),
        fs.path("plain").to_str().expect("utf8"),
    ]);
    assert_eq!(plan.matches("\tbtrfs\t").count(), 2, "{plan}");

    let unix_ms = || {
        let since = std::time::UNIX_EPOCH.elapsed().expect("clock");
        u64::try_from(since.as_millis()).expect("ms")
    };
    let started = unix_ms();
    let (code, first) = env.backup_json(&[&fs.path("vol/data"), &fs.path("plain")], &[]);
    assert_eq!(code, Some(0), "{first}");
    let sources = first["consistency"]["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 2);
    for s in sources {
        assert_eq!(s["method"], "btrfs");
        assert_eq!(s["level"], "volume-snapshot");
        assert!(s["snapshot_ms"].as_u64().is_some(), "{s}");
        // The moment its snapshot was asked for: within the run, not when reading began.
        let taken = s["taken_at_unix_ms"].as_u64().expect("taken_at_unix_ms");
        assert!((started..=unix_ms()).contains(&taken), "{s}");
    }
    let show = env.ok(&["show", "latest"]);
    assert_eq!(show.matches("      view taken: 20").count(), 2, "{show}");
    assert!(
        first["consistency"]["snapshot_set_spread_ms"]
            .as_u64()
            .is_some(),
        "{first}"
    );
    assert_eq!(btrfs_leftovers(&fs), "", "snapshots left behind");
    // The release waited until the kernel dropped the deleted snapshots, not only
    // their paths.
    let deleted = sh(&format!("btrfs subvolume list -d {}", fs.mount.display()));
    assert_eq!(deleted.trim(), "", "deleted snapshots not yet dropped");
    assert_nothing_left(&fs, &env);

    // Stored under the original paths, nested subvolumes included.
    let target = env.restore_latest("restore");
    assert_same_tree(
        &fs.path("vol/data"),
        &restored_path(&target, &fs.path("vol/data")),
    );
    assert_same_tree(
        &fs.path("plain"),
        &restored_path(&target, &fs.path("plain")),
    );

    // Parents across runs: nothing changed, nothing read.
    let (_, second) = env.backup_json(&[&fs.path("vol/data"), &fs.path("plain")], &[]);
    assert_eq!(second["bytes_read"], 0, "{second}");
    assert_eq!(second["files_changed"], 0, "{second}");
    assert_nothing_left(&fs, &env);

    // The same subvolume mounted on its own (`subvol=vol`): the nested subvolumes are
    // listed from the top of the filesystem and must map onto this mount's paths.
    let device = sh(&format!("findmnt -n -o SOURCE {}", fs.mount.display()));
    let vol = env.path("vol-mount");
    fs::create_dir_all(&vol).expect("mkdir");
    sh(&format!(
        "mount -o subvol=vol {} {}",
        device.trim(),
        vol.display()
    ));
    let (code, third) = env.backup_json(&[&vol.join("data")], &[]);
    let restored = env.restore_latest("restore-vol");
    sh(&format!("umount {}", vol.display()));
    assert_eq!(code, Some(0), "{third}");
    assert_eq!(
        third["consistency"]["sources"][0]["method"], "btrfs",
        "{third}"
    );
    assert_same_tree(
        &fs.path("vol/data"),
        &restored_path(&restored, &vol.join("data")),
    );
    assert_eq!(btrfs_leftovers(&fs), "", "snapshots left behind");
}

/// A nested subvolume that the filesystem lists but that lies behind another mount is not
/// what its path names now: here `other` (with its own nested `sub`) is bind-mounted over
/// `data/hidden`, so `data/hidden/sub` is a subvolume root, but `other/sub`, not the
/// listed one. The provider walks the source instead of trusting the listing, and the
/// walk still finds the nested subvolume in plain view.
#[test]
fn btrfs_walks_when_a_listed_subvolume_lies_behind_another_mount() {
    let env = Env::new();
    let Some(fs) = LoopFs::new("btrfs", env.dir.path(), 512) else {
        return;
    };
    let data = fs.path("data");
    fs::create_dir_all(data.join("hidden")).expect("mkdir");
    for sub in ["data/seen", "data/hidden/sub", "other", "other/sub"] {
        sh(&format!(
            "btrfs subvolume create {}",
            fs.path(sub).display()
        ));
        fs::write(fs.path(sub).join("f"), sub).expect("write");
    }
    let hidden = data.join("hidden");
    sh(&format!(
        "mount --bind {} {}",
        fs.path("other").display(),
        hidden.display()
    ));
    env.init();
    let (code, summary) = env.backup_json(&[&data], &[]);
    sh(&format!("umount {}", hidden.display()));
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(btrfs_leftovers(&fs), "", "snapshots left behind");
    let restored = restored_path(&env.restore_latest("restore"), &data);
    assert_eq!(
        fs::read_to_string(restored.join("seen/f")).expect("the nested subvolume in view"),
        "data/seen"
    );
    // Neither the listed subvolume nor the one the path names was snapshotted: in the
    // snapshot, `hidden/sub` is an empty directory.
    assert!(
        !restored.join("hidden/sub/f").exists(),
        "a subvolume behind the bind mount was snapshotted from the listing"
    );
}

#[test]
fn reflink_on_xfs_is_file_atomic_and_keeps_parents_and_hardlinks() {
    let env = Env::new();
    let Some(fs) = LoopFs::new("xfs", env.dir.path(), 512) else {
        return;
    };
    let src = fs.path("data");
    fs::create_dir_all(src.join("sub/empty")).expect("mkdir");
    fs::write(src.join("sub/big"), Rng(8).bytes(3_000_000)).expect("write");
    fs::write(src.join("a"), "hello").expect("write");
    fs::hard_link(src.join("a"), src.join("a-hardlink")).expect("link");
    std::os::unix::fs::symlink("a", src.join("link")).expect("symlink");
    common::chmod(&src.join("a"), 0o640);
    common::chmod(&src.join("sub"), 0o750);
    common::set_xattr(&src.join("sub/big"), "user.kept", b"through the clone");
    // A clone of a file larger than 8 MiB is given its time; one before 1970 with a
    // fraction failed the file, which the backup left out.
    fs::write(src.join("sub/from-1969"), Rng(9).bytes(9_000_000)).expect("write");
    common::sh(&format!(
        "touch -d '1969-07-20 20:17:40.123456789 UTC' {}",
        src.join("sub/from-1969").display()
    ));
    age_past_racy_margin();
    env.init();
    assert!(env
        .ok(&["sources", src.to_str().expect("utf8")])
        .contains("\treflink\t"));
    let (code, first) = env.backup_json(&[&src], &[]);
    assert_eq!(code, Some(0), "{first}");
    assert_eq!(
        first["consistency"]["sources"][0]["level"], "file-atomic",
        "{first}"
    );
    assert_nothing_left(&fs, &env);
    let target = env.restore_latest("restore");
    assert_same_tree(&src, &restored_path(&target, &src));
    let (_, second) = env.backup_json(&[&src], &[]);
    assert_eq!(second["bytes_read"], 0, "{second}");
    assert_eq!(
        second["files_changed"], 0,
        "clones must keep the live files' identity: {second}"
    );
}

/// Reflink clones are made file by file as the source is read, unless applications are
/// held still around the snapshot: an `after_snapshot` command that changes a file (as
/// restarting a database does) must not reach the backup, so the whole tree is cloned
/// inside the window. Without such a command, hooks see the live tree named (there is no
/// tree of clones), and the backup holds the source whole, at the level `file-atomic`.
/// (Files written all through a backup: `torture::reflink_clones_keep_every_file_...`.)
#[test]
fn reflink_clones_the_whole_tree_at_once_only_when_applications_are_held_still() {
    let env = Env::new();
    let Some(fs) = LoopFs::new("xfs", env.dir.path(), 512) else {
        return;
    };
    let src = fs.path("data");
    fs::create_dir_all(src.join("sub")).expect("mkdir");
    fs::write(src.join("sub/state"), "before the restart").expect("write");
    fs::write(src.join("big"), Rng(3).bytes(12_000_000)).expect("write");
    env.init();
    let seen = env.path("seen");
    let job = |hooks: &str| {
        let config = env.job_file(&format!(
            "[jobs.t]\nsources = [\"{}\"]\nsnapshot = \"reflink\"\n\n[jobs.t.hooks]\n{hooks}\n",
            src.display()
        ));
        let out = env
            .umbra_with_config(&config)
            .args(["run", "t"])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Held still: the hook sees the clone tree and changes the live file after it.
    job(&format!(
        "after_snapshot = [\"printf %s \\\"$UMBRA_SNAPSHOT_PATHS\\\" > {seen}; echo restarted > {state}\"]",
        seen = seen.display(),
        state = src.join("sub/state").display()
    ));
    let paths = fs::read_to_string(&seen).expect("hook ran");
    assert!(paths.contains("/.umbra-staging/umbra-"), "{paths}");
    let target = env.restore_latest("r1");
    assert_eq!(
        fs::read_to_string(restored_path(&target, &src).join("sub/state")).expect("read"),
        "before the restart"
    );
    assert_nothing_left(&fs, &env);
    // Nothing held still: clones are made as files are read; the hook that runs after
    // the backup has nothing to change any more.
    fs::write(
        src.join("sub/state"),
        "a longer state, written before the run",
    )
    .expect("write");
    job(&format!(
        "after = [\"printf %s \\\"$UMBRA_SNAPSHOT_PATHS\\\" > {seen}\"]",
        seen = seen.display()
    ));
    let paths = fs::read_to_string(&seen).expect("hook ran");
    assert_eq!(paths, format!("{}={}", src.display(), src.display()));
    let target = env.restore_latest("r2");
    assert_same_tree(&src, &restored_path(&target, &src));
    let list: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "snapshots"])).expect("json");
    let last = list
        .as_array()
        .and_then(|l| l.last())
        .expect("a snapshot")
        .to_string();
    assert!(
        last.contains("\"file-atomic\"") && !last.contains("changed-while-read"),
        "{last}"
    );
    assert_nothing_left(&fs, &env);
}

#[test]
fn ext4_reads_directly_and_required_refuses_before_writing_anything() {
    let env = Env::new();
    let Some(fs) = LoopFs::new("ext4", env.dir.path(), 64) else {
        return;
    };
    let src = fs.path("data");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "x").expect("write");
    env.init();
    let plan = env.ok(&["sources", src.to_str().expect("utf8")]);
    assert!(
        plan.contains("\tdirect\t") && plan.contains("ext4 offers no snapshots"),
        "{plan}"
    );

    let out = env.run(&[
        "backup",
        "--open-files",
        "required",
        src.to_str().expect("utf8"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no snapshot can be taken of") && err.contains("ext4"),
        "{err}"
    );
    assert!(err.contains("Nothing was read or written"), "{err}");
    // The test runs as root: the hint does not tell root to run as root.
    assert!(!err.contains("Run as root"), "{err}");
    assert_eq!(
        fs::read_dir(env.repo().join("snapshots"))
            .expect("dir")
            .count(),
        0
    );

    let out = env.run(&["backup", "--snapshot", "btrfs", src.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot use --snapshot btrfs") && err.contains("not btrfs"),
        "{err}"
    );
    assert!(err.contains("Alternatives:"), "{err}");

    let (code, s) = env.backup_json(&[&src], &[]);
    assert_eq!(code, Some(0));
    assert_eq!(s["consistency"]["sources"][0]["method"], "direct");
    assert_eq!(s["consistency"]["sources"][0]["level"], "direct-unchanged");
    let (_, off) = env.backup_json(&[&src], &["--open-files", "off"]);
    assert_eq!(off["consistency"]["sources"][0]["method"], "direct");
}

#[test]
fn dry_run_says_what_would_be_done_and_does_nothing() {
    let env = Env::new();
    let Some(fs) = LoopFs::new("btrfs", env.dir.path(), 256) else {
        return;
    };
    fs::create_dir_all(fs.path("d")).expect("mkdir");
    env.init();
    let out = env.ok(&["backup", "--dry-run", fs.path("d").to_str().expect("utf8")]);
    assert!(out.contains("\tbtrfs\t"), "{out}");
    assert_eq!(
        fs::read_dir(env.repo().join("snapshots"))
            .expect("dir")
            .count(),
        0
    );
    assert_eq!(btrfs_leftovers(&fs), "");
}

/// Runs umbra as `nobody` (see [`Env::umbra_unprivileged`]).
fn as_nobody(env: &Env, args: &[&str]) -> std::process::Output {
    env.umbra_unprivileged().args(args).output().expect("umbra")
}

#[test]
fn without_root_btrfs_is_refused_by_name_and_reflink_works() {
    if !common::require(common::have("setpriv"), "setpriv (util-linux)") {
        return;
    }
    let env = Env::new();
    let Some(fs) = LoopFs::new("btrfs", env.dir.path(), 256) else {
        return;
    };
    let src = fs.path("mine");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "a user's file").expect("write");
    common::chmod(&src, 0o777);
    common::chmod(&src.join("f"), 0o644);
    common::chmod(&fs.mount, 0o777);
    env.open_up_for_nobody();
    let init = as_nobody(&env, &["init"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );

    let out = as_nobody(
        &env,
        &["backup", "--snapshot", "btrfs", src.to_str().expect("utf8")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot use --snapshot btrfs") && err.contains("needs root"),
        "{err}"
    );
    assert!(
        err.contains("running umbra as root") && err.contains("--snapshot reflink"),
        "{err}"
    );

    // Automatic choice: btrfs is out of reach, reflink is not.
    let plan =
        String::from_utf8_lossy(&as_nobody(&env, &["sources", src.to_str().expect("utf8")]).stdout)
            .into_owned();
    assert!(plan.contains("\treflink\t"), "{plan}");
    let out = as_nobody(&env, &["--json", "backup", src.to_str().expect("utf8")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"file-atomic\""), "{stdout}");
    assert!(
        !fs.path(".umbra-staging").exists(),
        "clone tree left behind"
    );
}

/// `stats` and `ls -l` on a repository umbra wrote (hard links counted once in the restore
/// size, as restic counts them; a symlink shown with its target): what restic 0.14 says.
#[test]
fn stats_and_ls_long_of_an_umbra_repository_agree_with_restic() {
    if !common::require(common::have("restic"), "the restic binary") {
        return;
    }
    let env = common::Env::new();
    env.init();
    let src = env.path("src");
    std::fs::create_dir_all(src.join("d")).expect("mkdir");
    let mut rng = common::Rng(9);
    for i in 0..20 {
        std::fs::write(src.join(format!("d/f{i}")), rng.bytes(10_000 * (i + 1))).expect("write");
    }
    std::fs::hard_link(src.join("d/f3"), src.join("hardlink")).expect("link");
    std::os::unix::fs::symlink("d/f1", src.join("symlink")).expect("symlink");
    env.backup_json(&[&src], &[]);
    std::fs::write(src.join("d/new"), "new").expect("write");
    env.backup_json(&[&src], &[]);
    for mode in [
        "restore-size",
        "files-by-contents",
        "blobs-per-file",
        "raw-data",
    ] {
        let ours: serde_json::Value =
            serde_json::from_str(&env.ok(&["--json", "stats", "--mode", mode])).expect("json");
        let out = common::restic(&env, &["stats", "--json", "--mode", mode]);
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        for field in ["total_size", "total_file_count", "snapshots_count"] {
            assert_eq!(ours[field], theirs[field], "{mode} {field}");
        }
        if mode == "raw-data" || mode == "blobs-per-file" {
            assert_eq!(
                ours["total_blob_count"], theirs["total_blob_count"],
                "{mode}"
            );
        }
    }
    // `ls -l` as restic prints it, symlink targets included.
    let ours = env.ok(&["ls", "-l", "latest"]);
    let theirs = common::restic(&env, &["ls", "-l", "latest"]);
    let theirs = String::from_utf8_lossy(&theirs.stdout);
    assert_eq!(
        ours.lines().collect::<Vec<_>>(),
        theirs.lines().skip(1).collect::<Vec<_>>()
    );
    assert!(ours.contains(" -> d/f1"), "{ours}");
    let out = env.run(&["stats", "--mode", "debug"]);
    assert_eq!(out.status.code(), Some(1), "an unknown mode is refused");
}
