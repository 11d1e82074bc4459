//! `dump --archive zip` past the classic format's 65,535 entries (issue #14): zip64 end
//! records as Go's archive/zip writes them, so the archive is restic 0.14's byte for byte,
//! and `unzip` and Python's `zipfile` read every entry.

mod common;

use std::fs;

use common::{have, require, Env};

#[test]
fn a_zip_of_more_than_65535_entries_is_zip64_as_restics() {
    if !require(have("unzip"), "unzip (see .ci/run)") {
        return;
    }
    let env = Env::new();
    env.init();
    let src = env.path("many");
    for d in 0..66 {
        let dir = src.join(format!("d{d:02}"));
        fs::create_dir_all(&dir).expect("mkdir");
        for f in 0..1000 {
            fs::write(
                dir.join(format!("f{f:03}")),
                if f % 100 == 0 { "x" } else { "" },
            )
            .expect("write");
        }
    }
    env.ok(&["backup", "-q", src.to_str().expect("utf8")]);
    let path = src.to_str().expect("utf8");
    let out = env.run(&["dump", "--archive", "zip", "latest", path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let zip = env.path("many.zip");
    fs::write(&zip, &out.stdout).expect("write");
    // 66 directories and 66,000 files, past the 65,535 of the classic end record.
    let listed = std::process::Command::new("unzip")
        .arg("-Z1")
        .arg(&zip)
        .output()
        .expect("unzip");
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).lines().count(),
        66_066
    );
    let tested = std::process::Command::new("unzip")
        .arg("-tq")
        .arg(&zip)
        .output()
        .expect("unzip");
    assert!(
        tested.status.success(),
        "{}",
        String::from_utf8_lossy(&tested.stdout)
    );
    if have("python3") {
        let py = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
                 assert z.testzip() is None; print(len(z.infolist()))",
            ])
            .arg(&zip)
            .output()
            .expect("python3");
        assert_eq!(
            String::from_utf8_lossy(&py.stdout).trim(),
            "66066",
            "{}",
            String::from_utf8_lossy(&py.stderr)
        );
    }
    if require(have("restic"), "the restic binary (see .ci/run)") {
        let theirs = common::restic(&env, &["dump", "--archive", "zip", "latest", path]);
        assert!(
            theirs.status.success(),
            "{}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        assert!(
            out.stdout == theirs.stdout,
            "the zip64 archives differ from restic's"
        );
    }
}
