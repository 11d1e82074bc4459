//! What the restore target holds or refuses: restoring again into a tree whose directories
//! are read-only (as the snapshot has them), and a target that refuses some entries, which
//! are named while everything else is restored. Both stopped the whole restore at the first
//! such file, before anything was written.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::Env;

/// Runs umbra as an unprivileged user (`nobody` under root; see
/// [`Env::umbra_unprivileged`]).
fn as_user(env: &Env, args: &[&str]) -> Output {
    env.umbra_unprivileged().args(args).output().expect("umbra")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A repository made by the unprivileged user, holding one snapshot of `src/` with `a/f`,
/// `ro/f`, `ro/sub/g`, `z/f` and `ro/link`, a hard link of `a/f` (`ro` read-only, mode
/// 0500, and so is `ro/sub`); returns `src`.
fn user_repository_with_a_read_only_dir(env: &Env) -> PathBuf {
    env.open_up_for_nobody();
    let src = env.path("src");
    for dir in ["a", "ro/sub", "z"] {
        fs::create_dir_all(src.join(dir)).expect("mkdir");
    }
    for file in ["a/f", "ro/f", "ro/sub/g", "z/f"] {
        fs::write(src.join(file), file).expect("write");
    }
    fs::hard_link(src.join("a/f"), src.join("ro/link")).expect("link");
    if common::is_root() {
        common::sh(&format!("chown -R 65534:65534 {}", src.display()));
    }
    common::chmod(&src.join("ro/sub"), 0o500);
    common::chmod(&src.join("ro"), 0o500);
    let out = as_user(env, &["init"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = as_user(env, &["backup", src.to_str().expect("utf8")]);
    assert!(out.status.success(), "{}", text(&out));
    src
}

/// Restores the latest snapshot into `target` as the unprivileged user.
fn restore(env: &Env, target: &Path) -> Output {
    as_user(
        env,
        &[
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf8"),
        ],
    )
}

/// Writes "changed" over each of `files` (as root would; a user makes the directory
/// writable for a moment).
fn change(restored: &Path, files: &[&str]) {
    for file in files {
        let path = restored.join(file);
        let dir = path.parent().expect("parent").to_path_buf();
        let mode = fs::metadata(&dir).expect("stat").mode() & 0o7777;
        common::chmod(&dir, mode | 0o200);
        fs::write(&path, "changed").expect("write");
        common::chmod(&dir, mode);
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    common::sh(&format!(
        "find {} -name '*.umbra-restore' -o -name '*.umbra-damaged'",
        dir.display()
    ))
    .lines()
    .map(str::to_string)
    .collect()
}

/// The snapshot of [`user_repository_with_a_read_only_dir`] restored once by the user into
/// `t`: the target and where `src` landed in it.
fn restored_once(env: &Env) -> (PathBuf, PathBuf) {
    let src = user_repository_with_a_read_only_dir(env);
    let target = env.path("t");
    fs::create_dir_all(&target).expect("mkdir");
    common::chmod(&target, 0o777);
    let out = restore(env, &target);
    assert!(out.status.success(), "{}", text(&out));
    let restored = common::restored_path(&target, &src);
    (target, restored)
}

#[test]
fn a_read_only_directory_of_ones_own_is_restored_into_again() {
    if common::is_root() && !common::require(common::have("setpriv"), "setpriv (util-linux)") {
        return;
    }
    let env = Env::new();
    let (target, restored) = restored_once(&env);
    change(&restored, &["a/f", "ro/f", "ro/sub/g"]);

    let out = restore(&env, &target);
    assert!(out.status.success(), "{}", text(&out));
    for file in ["a/f", "ro/f", "ro/sub/g", "z/f"] {
        assert_eq!(fs::read_to_string(restored.join(file)).expect("read"), file);
    }
    let ino = |file: &str| fs::metadata(restored.join(file)).expect("stat").ino();
    assert_eq!(ino("ro/link"), ino("a/f"), "the hard link made again in ro");
    for dir in ["ro", "ro/sub"] {
        let mode = fs::metadata(restored.join(dir)).expect("stat").mode() & 0o7777;
        assert_eq!(mode, 0o500, "{dir} keeps the snapshot's mode");
    }
    assert_eq!(leftovers(&target), Vec::<String>::new());
}

#[test]
fn entries_the_target_refuses_are_named_and_everything_else_is_restored() {
    if !common::require(
        common::is_root(),
        "root, to give the target a directory of another's",
    ) || !common::require(common::have("setpriv"), "setpriv (util-linux)")
    {
        return;
    }
    let env = Env::new();
    let (target, restored) = restored_once(&env);
    change(&restored, &["a/f", "ro/f", "ro/sub/g", "z/f"]);
    // `ro` now belongs to root, and the user may not write in it or what is below it.
    common::sh(&format!("chown -R 0:0 {}", restored.join("ro").display()));
    common::chmod(&restored.join("ro"), 0o755);

    let out = restore(&env, &target);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    for file in ["ro/f", "ro/sub/g"] {
        assert!(
            said.contains(&format!("not restored: {}", restored.join(file).display())),
            "{file} is named: {said}"
        );
        assert_eq!(
            fs::read_to_string(restored.join(file)).expect("read"),
            "changed"
        );
    }
    assert!(
        said.contains(", 0 other entries"),
        "the link is not counted: {said}"
    );
    let link = restored.join("ro/link");
    assert!(
        said.contains(&format!("not restored: {}: a hardlink to", link.display())),
        "{said}"
    );
    assert!(
        said.contains("could not be restored, the target refused them"),
        "{said}"
    );
    assert!(
        said.contains("Make the target writable where it refused"),
        "{said}"
    );
    for file in ["a/f", "z/f"] {
        assert_eq!(fs::read_to_string(restored.join(file)).expect("read"), file);
    }
    assert_eq!(leftovers(&target), Vec::<String>::new());
}
