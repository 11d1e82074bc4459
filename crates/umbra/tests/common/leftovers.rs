//! What a snapshot may leave behind, looked for on the filesystem and in umbra's state: the
//! snapshot tests and the crash tests both end by asking for nothing.

use std::fs;

use super::{mounts_below, sh, Env, LoopFs};

/// umbra's btrfs subvolumes still listed on `fs`, one per line.
pub fn btrfs_leftovers(fs: &LoopFs) -> String {
    let list = sh(&format!("btrfs subvolume list {}", fs.mount.display()));
    list.lines()
        .filter(|l| l.contains("umbra-"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// No mount, snapshot, clone tree or registry record of umbra is left on `fs` or in `env`.
pub fn assert_nothing_left(fs: &LoopFs, env: &Env) {
    assert_eq!(
        mounts_below(&fs.mount),
        Vec::<String>::new(),
        "mounts left behind"
    );
    assert!(
        !fs.path(".umbra-snapshots").exists()
            || fs::read_dir(fs.path(".umbra-snapshots"))
                .expect("dir")
                .count()
                == 0
    );
    assert!(
        !fs.path(".umbra-staging").exists(),
        "clone tree left behind"
    );
    let records = fs::read_dir(env.path("state/artifacts"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(
        records,
        0,
        "registry records left behind: {}",
        sh(&format!(
            "ls -la {0}; cat {0}/*",
            env.path("state/artifacts").display()
        ))
    );
}
