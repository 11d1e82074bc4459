//! `check` finds damage: a corrupted pack file and a corrupted index file.
//! (After conserve's tests/damage.rs: make a good repository, damage one file, check.)

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Env, Rng};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn flip_byte(path: &Path, at: usize) {
    let mut data = fs::read(path).expect("read");
    let i = at.min(data.len() - 1);
    data[i] ^= 0x55;
    fs::write(path, data).expect("write");
}

fn good_repo() -> Env {
    let env = Env::new();
    env.init();
    let src = env.path("src");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("big"), Rng(5).bytes(3_000_000)).expect("write");
    fs::write(src.join("small"), "small file").expect("write");
    env.backup_json(&[&src], &[]);
    env.ok(&["check", "--read-data"]);
    env
}

#[test]
fn check_read_data_detects_a_damaged_pack() {
    let env = good_repo();
    // Damage the biggest pack (the one holding file data), in the middle.
    let pack = files_under(&env.repo().join("data"))
        .into_iter()
        .max_by_key(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a pack");
    let len = fs::metadata(&pack).expect("meta").len() as usize;
    flip_byte(&pack, len / 2);
    let out = env.run(&["check", "--read-data"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("check found") && err.contains("error(s)"),
        "{err}"
    );
    assert!(
        err.contains(&pack.file_name().expect("name").to_string_lossy()[..8]),
        "names the pack: {err}"
    );
}

#[test]
fn check_detects_a_damaged_index() {
    let env = good_repo();
    let index = files_under(&env.repo().join("index"))
        .pop()
        .expect("an index file");
    flip_byte(&index, 40);
    let out = env.run(&["check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "damage in the index must fail check: {err}"
    );
    assert!(
        err.starts_with("error") || err.contains("\\nerror") || err.contains("error:"),
        "{err}"
    );
}

#[test]
fn a_repository_whose_files_were_deleted_fails_check() {
    let env = good_repo();
    let pack = files_under(&env.repo().join("data")).pop().expect("a pack");
    fs::remove_file(&pack).expect("rm");
    let out = env.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
