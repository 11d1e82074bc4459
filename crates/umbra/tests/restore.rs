//! Restore you can stake production on: the source folder's own metadata, restoring
//! twice, symlinks planted in the target, overwrite modes and --delete, damaged packs,
//! and broken pipes. Each test failed before umbra had its own restorer.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{files_under, Env, Rng};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_source_folder_and_its_parents_keep_their_metadata_for_umbra_and_restic() {
    if !common::require(common::is_root(), "root, to give a folder another owner")
        || !common::require(common::have("restic"), "the restic binary")
    {
        return;
    }
    let env = Env::new();
    env.init();
    let a = env.path("srv/a");
    let src = a.join("src");
    fs::create_dir_all(src.join("sub")).expect("mkdir");
    fs::write(src.join("sub/f"), "data").expect("write");
    common::sh(&format!("chown nobody:nogroup {}", src.display()));
    common::chmod(&src, 0o700);
    common::chmod(&a, 0o750);
    common::touch_date(&src, "2015-03-04 05:06:07");
    common::touch_date(&a, "2016-01-02 03:04:05");
    let want_src = common::mode_owner_mtime(&src);
    let want_a = common::mode_owner_mtime(&a);
    env.backup_json(&[&src], &[]);

    let target = env.restore_latest("by-umbra");
    assert_eq!(
        common::mode_owner_mtime(&common::restored_path(&target, &src)),
        want_src
    );
    assert_eq!(
        common::mode_owner_mtime(&common::restored_path(&target, &a)),
        want_a
    );

    let by_restic = common::restic_restore_latest(&env, "by-restic");
    assert_eq!(
        common::mode_owner_mtime(&common::restored_path(&by_restic, &src)),
        want_src
    );
    assert_eq!(
        common::mode_owner_mtime(&common::restored_path(&by_restic, &a)),
        want_a
    );
}

#[test]
fn restoring_twice_into_the_same_target_keeps_hardlinks() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("a"), "shared content").expect("write");
    fs::hard_link(src.join("a"), src.join("b")).expect("link");
    fs::write(src.join("c"), Rng(3).bytes(100_000)).expect("write");
    env.backup_json(&[&src], &[]);
    let target = env.restore_latest("t");
    let again = env.restore_latest("t");
    assert_eq!(target, again);
    common::assert_same_tree(&src, &common::restored_path(&target, &src));
    let r = common::restored_path(&target, &src);
    assert_eq!(
        fs::metadata(r.join("a")).expect("a").ino(),
        fs::metadata(r.join("b")).expect("b").ino()
    );
}

#[test]
fn restore_never_writes_through_symlinks_in_the_target() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(src.join("dir")).expect("mkdir");
    fs::write(src.join("b"), "from the snapshot").expect("write");
    fs::write(src.join("dir/c"), "c from the snapshot").expect("write");
    env.backup_json(&[&src], &[]);

    let outside = env.path("outside");
    fs::create_dir_all(&outside).expect("mkdir");
    fs::write(outside.join("victim"), "precious").expect("write");
    let target = env.path("t");
    let r = common::restored_path(&target, &src);
    fs::create_dir_all(&r).expect("mkdir");
    std::os::unix::fs::symlink(outside.join("victim"), r.join("b")).expect("symlink");
    std::os::unix::fs::symlink(&outside, r.join("dir")).expect("symlink");
    // And a file hard-linked to something outside.
    fs::write(outside.join("linked"), "outside data").expect("write");
    let _ = fs::remove_file(r.join("c2"));

    env.restore_latest("t");
    assert_eq!(
        fs::read_to_string(outside.join("victim")).expect("read"),
        "precious"
    );
    assert!(!outside.join("c").exists(), "restore wrote into /outside");
    assert_eq!(
        fs::read_dir(&outside).expect("ls").count(),
        2,
        "nothing new outside"
    );
    common::assert_same_tree(&src, &r);
}

#[test]
fn a_hardlink_to_a_file_outside_the_target_is_replaced_not_written() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("f"), "new content").expect("write");
    env.backup_json(&[&src], &[]);
    let outside = env.path("outside");
    fs::write(&outside, "outside content").expect("write");
    let r = common::restored_path(&env.path("t"), &src);
    fs::create_dir_all(&r).expect("mkdir");
    fs::hard_link(&outside, r.join("f")).expect("link");
    env.restore_latest("t");
    assert_eq!(
        fs::read_to_string(&outside).expect("read"),
        "outside content"
    );
    assert_eq!(
        fs::read_to_string(r.join("f")).expect("read"),
        "new content"
    );
}

fn restore_with(env: &Env, target: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "restore",
        "latest",
        "--target",
        target.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    env.run(&args)
}

#[test]
fn overwrite_modes_and_delete_do_what_restic_documents() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    for name in ["old", "new", "same"] {
        fs::write(src.join(name), format!("{name} from the snapshot")).expect("write");
    }
    common::touch_date(&src.join("old"), "2020-01-01");
    common::touch_date(&src.join("new"), "2030-01-01");
    env.backup_json(&[&src], &[]);
    let target = env.path("t");
    let r = common::restored_path(&target, &src);
    let prepare = || {
        let _ = fs::remove_dir_all(&target);
        fs::create_dir_all(&r).expect("mkdir");
        for name in ["old", "new"] {
            fs::write(r.join(name), "local edit").expect("write");
            common::touch_date(&r.join(name), "2025-01-01");
        }
        fs::write(r.join("extra"), "only local").expect("write");
    };
    let read = |name: &str| fs::read_to_string(r.join(name)).unwrap_or_default();

    prepare();
    let out = restore_with(&env, &target, &["--overwrite", "never"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        (read("old").as_str(), read("new").as_str()),
        ("local edit", "local edit")
    );
    assert_eq!(
        read("same"),
        "same from the snapshot",
        "missing files are restored"
    );

    prepare();
    let out = restore_with(&env, &target, &["--overwrite", "if-newer"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read("old"), "local edit", "the local file is newer");
    assert_eq!(read("new"), "new from the snapshot");

    prepare();
    let out = restore_with(&env, &target, &["--dry-run", "--delete"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read("old"), "local edit", "a dry run changes nothing");
    assert!(r.join("extra").exists());

    prepare();
    let out = restore_with(&env, &target, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        read("old"),
        "old from the snapshot",
        "always is the default"
    );
    assert!(
        r.join("extra").exists(),
        "extra files stay without --delete"
    );

    let out = restore_with(&env, &target, &["--delete"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !r.join("extra").exists(),
        "--delete removes what the snapshot lacks"
    );
    common::assert_same_tree(&src, &r);

    let out = restore_with(&env, &target, &["--overwrite", "sometimes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("always, if-changed, if-newer, never"));
}

/// A repository with many small files and one large one, and the pack holding most of
/// the large file's data.
fn repo_with_big_file() -> (Env, PathBuf, PathBuf) {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    let mut rng = Rng(11);
    for i in 0..200 {
        fs::write(src.join(format!("small-{i:03}")), rng.bytes(3000)).expect("write");
    }
    // The small files first, so that the large file's data is in packs of its own.
    env.backup_json(&[&src], &[]);
    let before = files_under(&env.repo().join("data"));
    fs::write(src.join("big"), rng.bytes(6_000_000)).expect("write");
    env.backup_json(&[&src], &[]);
    let pack = files_under(&env.repo().join("data"))
        .into_iter()
        .filter(|p| !before.contains(p))
        .max_by_key(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a pack");
    (env, src, pack)
}

/// Restores a damaged repository: exit 1, `big` named, everything else restored exactly,
/// nothing zero-filled at a real name.
fn assert_damaged_restore(env: &Env, src: &Path) {
    let target = env.path("t");
    let out = restore_with(env, &target, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let r = common::restored_path(&target, src);
    assert!(
        err.contains(&r.join("big").display().to_string()),
        "names the file: {err}"
    );
    assert!(!r.join("big").exists(), "no damaged file at its real name");
    for i in 0..200 {
        let name = format!("small-{i:03}");
        assert!(
            fs::read(r.join(&name)).ok() == fs::read(src.join(&name)).ok(),
            "{name} was not restored: {err}"
        );
    }
    assert!(
        files_under(&target)
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".umbra-restore")),
        "temporary files left"
    );
}

fn flip(path: &Path, at: usize, n: usize) {
    let mut data = fs::read(path).expect("read");
    for b in &mut data[at..at + n] {
        *b ^= 0x55;
    }
    fs::write(path, data).expect("write");
}

#[test]
fn a_damaged_data_pack_restores_everything_else_and_names_the_file() {
    let (env, src, pack) = repo_with_big_file();
    let len = fs::metadata(&pack).expect("meta").len() as usize;
    flip(&pack, len / 2, 16);
    assert_damaged_restore(&env, &src);
    let r = common::restored_path(&env.path("t"), &src);
    let partial = fs::read(r.join("big.umbra-damaged")).expect("partial kept");
    assert_eq!(partial.len(), 6_000_000);
    let lost = partial
        .iter()
        .zip(fs::read(src.join("big")).expect("source"))
        .filter(|(a, b)| **a != *b)
        .count();
    assert!(
        lost > 0 && lost < 6_000_000,
        "the partial copy holds what could be read"
    );

    // The next backup runs; it cannot know that a pack's bytes changed, so check still
    // reports the damage (nothing hides it) until the pack is repaired by hand.
    let out = env.run(&["backup", src.to_str().expect("utf8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&["check", "--read-data"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // restic, on the same damage, restores no more complete files than umbra.
    if common::require(common::have("restic"), "the restic binary") {
        let by_restic = env.path("by-restic");
        let out = common::restic(
            &env,
            &[
                "restore",
                "latest",
                "--target",
                by_restic.to_str().expect("utf8"),
            ],
        );
        assert!(!out.status.success(), "restic saw no damage");
        assert!(
            stderr(&out).contains("big"),
            "restic names the same file: {}",
            stderr(&out)
        );
        let by_restic = common::restored_path(&env.path("by-restic"), &src);
        let good = (0..200)
            .filter(|i| {
                let name = format!("small-{i:03}");
                fs::read(by_restic.join(&name)).ok() == fs::read(src.join(&name)).ok()
            })
            .count();
        let by_umbra = 200; // assert_damaged_restore checked every small file
        assert!(
            by_umbra >= good,
            "restic restored {good} small files, umbra {by_umbra}"
        );
    }
}

#[test]
fn a_truncated_data_pack_restores_everything_else() {
    let (env, src, pack) = repo_with_big_file();
    let len = fs::metadata(&pack).expect("meta").len();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(&pack)
        .expect("open");
    f.set_len(len / 3).expect("truncate");
    assert_damaged_restore(&env, &src);
}

#[test]
fn a_deleted_data_pack_restores_everything_else() {
    let (env, src, pack) = repo_with_big_file();
    fs::remove_file(&pack).expect("rm");
    assert_damaged_restore(&env, &src);
}

#[test]
fn a_closed_pipe_ends_listings_quietly() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    for i in 0..5000 {
        fs::write(src.join(format!("f{i}")), "x").expect("write");
    }
    env.backup_json(&[&src], &[]);
    for cmd in [
        "ls latest | head -1",
        "--json show latest | head -c 10",
        "--json ls latest | head -1",
    ] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; \"{}\" {cmd} >/dev/null",
                env!("CARGO_BIN_EXE_umbra")
            ))
            .env("UMBRA_REPOSITORY", env.repo())
            .env("UMBRA_PASSWORD_FILE", env.path("password"))
            .env("UMBRA_CACHE_DIR", env.path("cache"))
            .output()
            .expect("bash");
        let err = stderr(&out);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{cmd}: {err}"
        );
        assert!(out.status.success(), "{cmd}: {:?} {err}", out.status.code());
    }
    // The lock was released: an exclusive command runs at once.
    env.ok(&["prune"]);
}

#[test]
fn a_restore_that_stops_early_leaves_no_temporary_files() {
    if !common::require(common::is_root(), "root, to make a directory immutable")
        || !common::require(common::have("chattr"), "chattr (e2fsprogs)")
    {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(src.join("zzz")).expect("mkdir");
    fs::write(src.join("a"), "first in path order").expect("write");
    fs::write(src.join("zzz/x"), "cannot be written").expect("write");
    env.backup_json(&[&src], &[]);
    // The target holds `zzz` already, immutable: nothing can be created in it, so the
    // restore stops after it made the temporary file for `a`.
    let target = env.path("t");
    let r = common::restored_path(&target, &src);
    fs::create_dir_all(r.join("zzz")).expect("mkdir");
    common::sh(&format!("chattr +i {}", r.join("zzz").display()));
    let out = restore_with(&env, &target, &[]);
    common::sh(&format!("chattr -i {}", r.join("zzz").display()));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("zzz"),
        "names the place: {}",
        stderr(&out)
    );
    let left: Vec<_> = files_under(&target)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".umbra-restore"))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}
