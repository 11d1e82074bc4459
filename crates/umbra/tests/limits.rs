//! `--limit-upload` and `--limit-download` (restic's global flags, KiB/s; issue #14) on a
//! local repository, where restic's own backends would not be throttled by any option:
//! what a backup writes and a restore reads is paced to the limit.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::{Env, Rng};

#[test]
fn uploads_and_downloads_keep_to_their_limits() {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    // 3 MiB that neither deduplicates nor compresses.
    let mut rng = Rng(7);
    fs::write(src.join("random"), rng.bytes(3 << 20)).expect("write");
    let t = Instant::now();
    let out = env.run(&[
        "--limit-upload",
        "1024",
        "backup",
        "-q",
        src.to_str().expect("utf8"),
    ]);
    let up = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 3 MiB of packs (and a little more for trees, index and snapshot) at 1 MiB/s.
    assert!(
        up >= Duration::from_millis(2700),
        "the upload took only {up:?}"
    );
    let target = env.path("restored");
    let t = Instant::now();
    let out = env.run(&[
        "--no-cache",
        "--limit-download",
        "1024",
        "restore",
        "latest",
        "--target",
        target.to_str().expect("utf8"),
    ]);
    let down = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        down >= Duration::from_millis(2700),
        "the download took only {down:?}"
    );
    common::assert_same_tree(&src, &common::restored_path(&target, &src));
    let out = env.run(&["--limit-upload", "0", "snapshots"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--limit-upload"));
    eprintln!("3 MiB at 1024 KiB/s: backup {up:?}, restore {down:?}");
}
