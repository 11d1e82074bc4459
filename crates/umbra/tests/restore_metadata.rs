//! Restore gives back every entry's metadata as the snapshot has it: times to the
//! nanosecond (before 1970 too), and what setting an owner would otherwise clear (setuid,
//! file capabilities) or what rides in extended attributes (ACLs).

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::Env;

/// Times before 1970 with a fraction of a second: `utimensat` takes whole seconds rounded
/// down and positive nanoseconds; restore gave it negative ones and failed the file ("times:
/// Invalid argument"), leaving it with the time of the restore.
#[test]
fn times_before_1970_come_back_to_the_nanosecond() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(src.join("dir")).expect("mkdir");
    fs::write(src.join("moon"), "1969").expect("write");
    fs::write(src.join("just-before"), "x").expect("write");
    fs::write(src.join("far"), "y").expect("write");
    fs::write(src.join("later"), "z").expect("write");
    std::os::unix::fs::symlink("moon", src.join("link")).expect("symlink");
    let times = [
        ("moon", "1969-07-20 20:17:40.123456789 UTC"),
        ("just-before", "1969-12-31 23:59:59.75 UTC"),
        ("far", "1901-12-14 00:00:00.5 UTC"),
        ("later", "2100-01-01 00:00:00.000000001 UTC"),
        ("link", "1960-01-01 00:00:00.25 UTC"),
        ("dir", "1950-06-01 12:00:00.999999999 UTC"),
    ];
    for (name, when) in times {
        common::touch_date(&src.join(name), when);
    }
    let mtime_ns = |p: &Path| {
        let m = fs::symlink_metadata(p).expect("lstat");
        i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec())
    };
    env.backup_json(&[&src], &[]);
    let restored = common::restored_path(&env.restore_latest("t"), &src);
    for (name, when) in times {
        assert_eq!(
            mtime_ns(&restored.join(name)),
            mtime_ns(&src.join(name)),
            "{name}, modified {when}"
        );
    }
    // Restoring again over it finds the files right by their times.
    let out = env.ok(&[
        "restore",
        "latest",
        "--target",
        &env.path("t").to_string_lossy(),
        "--overwrite",
        "if-changed",
    ]);
    assert!(out.contains("4 files already right"), "{out}");
}

/// Setting a file's owner clears its setuid bit and its capabilities, so they must be set
/// after it; ACLs are extended attributes that also move the group bits.
#[test]
fn acls_capabilities_and_setuid_come_back_after_the_owner() {
    if !common::require(common::is_root(), "root, to set owners and capabilities") {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(src.join("inbox")).expect("mkdir");
    fs::write(src.join("tool"), "#!/bin/true\n").expect("write");
    fs::write(src.join("shared"), "for uid 1001 too").expect("write");
    common::sh(&format!("chown 65534:65534 {}", src.join("tool").display()));
    common::chmod(&src.join("tool"), 0o4755);
    // cap_net_raw+ep, as `setcap` writes it (version 2).
    let cap = [
        1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    common::set_xattr(&src.join("tool"), "security.capability", &cap);
    // user::rw-, user:1001:rw-, group::r--, mask::rw-, other::r--
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (1u16, 6u16, u32::MAX),
        (2, 6, 1001),
        (4, 4, u32::MAX),
        (0x10, 6, u32::MAX),
        (0x20, 4, u32::MAX),
    ] {
        acl.extend(tag.to_le_bytes());
        acl.extend(perm.to_le_bytes());
        acl.extend(id.to_le_bytes());
    }
    common::set_xattr(&src.join("shared"), "system.posix_acl_access", &acl);
    common::set_xattr(&src.join("inbox"), "system.posix_acl_default", &acl);
    assert_eq!(
        common::mode_owner_mtime(&src.join("tool")).0,
        0o4755,
        "setcap keeps setuid"
    );
    env.backup_json(&[&src], &[]);
    let restored = common::restored_path(&env.restore_latest("t"), &src);
    common::assert_same_tree(&src, &restored);
    for (path, name) in [
        ("tool", "security.capability"),
        ("shared", "system.posix_acl_access"),
        ("inbox", "system.posix_acl_default"),
    ] {
        let want = common::get_xattr(&src.join(path), name);
        assert!(want.is_some(), "{path} has {name} in the source");
        assert_eq!(
            common::get_xattr(&restored.join(path), name),
            want,
            "{path}: {name}"
        );
    }
    assert_eq!(
        common::mode_owner_mtime(&restored.join("tool")),
        (
            0o4755,
            65534,
            65534,
            common::mode_owner_mtime(&src.join("tool")).3
        )
    );
    assert_eq!(
        common::mode_owner_mtime(&restored.join("shared")).0,
        0o664,
        "the ACL's mask as group bits"
    );
}
