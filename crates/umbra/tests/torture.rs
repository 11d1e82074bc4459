//! Live-writer torture test: a workload writes continuously, keeping invariants that hold
//! at every instant and span files; umbra backs up while it writes; the restored data is
//! checked against the invariants.
//!
//! Workload (in a directory `w`). Like a real database, it orders its writes with
//! fdatasync: a volume snapshot is crash-consistent, and after a crash only what was
//! synced is ordered (unsynced writes may be missing, in any order).
//! - `log.txt` and `seq`: records are appended to the log and synced, *then* `seq` is set
//!   to the last one and synced. At every instant the log holds records 0..=seq, whole.
//!   (Spans two files.)
//! - `pages.db`: a 4 KiB header and 4095 pages of 4 KiB (16 MiB, so it is streamed, not
//!   re-read). Generation g rewrites pages 1..N in order, in place, syncs, then writes the
//!   header and syncs. At every instant: header says h, pages 1..k say h+1 and pages
//!   k+1..N say h; no page is torn.
//! - `bank.sqlite` (+ WAL): 100 accounts; transactions move money between them. The sum is
//!   constant and `PRAGMA integrity_check` passes. (Spans the database and its WAL.)
//!
//! Required: btrfs 5 of 5 trials consistent; reflink: each file consistent on its own;
//! ext4 direct: the page file is reported as changed-while-read, not stored silently.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use common::{restored_path, Env, LoopFs};

const PAGE: usize = 4096;
const PAGES: u64 = 4096;
const ACCOUNTS: u64 = 100;

struct Workload {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    sqlite: Option<Child>,
}

fn page(generation: u64, index: u64) -> Vec<u8> {
    let mut p = vec![(generation % 251) as u8; PAGE];
    p[..8].copy_from_slice(&generation.to_le_bytes());
    p[8..16].copy_from_slice(&index.to_le_bytes());
    p
}

impl Workload {
    fn start(dir: &Path, with_sqlite: bool) -> Self {
        fs::create_dir_all(dir).expect("mkdir");
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();

        // Append log + sequence file.
        let (d, s) = (dir.to_path_buf(), Arc::clone(&stop));
        threads.push(std::thread::spawn(move || {
            let mut log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(d.join("log.txt"))
                .expect("log");
            let seq = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(d.join("seq"))
                .expect("seq");
            let mut i: u64 = 0;
            while !s.load(Ordering::Relaxed) {
                for _ in 0..64 {
                    log.write_all(format!("record {i:012} {}\n", "x".repeat(40)).as_bytes())
                        .expect("append");
                    i += 1;
                }
                log.sync_data().expect("sync log");
                seq.write_all_at(format!("{:020}\n", i - 1).as_bytes(), 0)
                    .expect("seq");
                seq.sync_data().expect("sync seq");
            }
        }));

        // In-place page file, header last.
        let (d, s) = (dir.to_path_buf(), Arc::clone(&stop));
        let pages = fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(d.join("pages.db"))
            .expect("pages");
        for p in 0..PAGES {
            pages
                .write_all_at(&page(0, p), p * PAGE as u64)
                .expect("init");
        }
        threads.push(std::thread::spawn(move || {
            let mut g: u64 = 1;
            while !s.load(Ordering::Relaxed) {
                for p in 1..PAGES {
                    pages
                        .write_all_at(&page(g, p), p * PAGE as u64)
                        .expect("page");
                }
                pages.sync_data().expect("sync pages");
                pages.write_all_at(&page(g, 0), 0).expect("header");
                pages.sync_data().expect("sync header");
                g += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
        }));

        // SQLite in WAL mode, moving money between accounts.
        let sqlite = with_sqlite.then(|| {
            let mut child = Command::new("sqlite3")
                .arg(dir.join("bank.sqlite"))
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("sqlite3");
            let mut stdin = child.stdin.take().expect("stdin");
            let mut setup = String::from("PRAGMA journal_mode=WAL;\nCREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER NOT NULL);\nBEGIN;\n");
            for id in 0..ACCOUNTS {
                setup.push_str(&format!("INSERT INTO acct VALUES({id}, 1000);\n"));
            }
            setup.push_str("COMMIT;\n");
            stdin.write_all(setup.as_bytes()).expect("setup");
            let s = Arc::clone(&stop);
            threads.push(std::thread::spawn(move || {
                let mut rng = common::Rng(99);
                while !s.load(Ordering::Relaxed) {
                    let (a, b, k) = (rng.below(ACCOUNTS), rng.below(ACCOUNTS), rng.below(50));
                    let tx = format!("BEGIN; UPDATE acct SET bal=bal-{k} WHERE id={a}; UPDATE acct SET bal=bal+{k} WHERE id={b}; COMMIT;\n");
                    if stdin.write_all(tx.as_bytes()).is_err() {
                        break;
                    }
                }
                // Dropping stdin ends sqlite3.
            }));
            child
        });
        // Let every writer get going.
        std::thread::sleep(Duration::from_millis(400));
        Self {
            stop,
            threads,
            sqlite,
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(mut c) = self.sqlite.take() {
            let _ = c.wait();
        }
    }
}

/// Checks the log: whole, numbered records; returns how many.
fn check_log(dir: &Path) -> Result<u64, String> {
    let text = fs::read_to_string(dir.join("log.txt")).map_err(|e| e.to_string())?;
    let mut n = 0;
    for line in text.lines() {
        let want = format!("record {n:012} {}", "x".repeat(40));
        if line != want {
            return Err(format!("log line {n} is torn or out of order: {line:?}"));
        }
        n += 1;
    }
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the log ends in a partial record".into());
    }
    Ok(n)
}

/// Checks the page file: untorn pages, header last.
fn check_pages(dir: &Path) -> Result<(), String> {
    let data = fs::read(dir.join("pages.db")).map_err(|e| e.to_string())?;
    if data.len() != PAGE * PAGES as usize {
        return Err(format!("page file has {} bytes", data.len()));
    }
    let gen_of = |p: usize| -> Result<u64, String> {
        let page = &data[p * PAGE..(p + 1) * PAGE];
        let g = u64::from_le_bytes(page[..8].try_into().map_err(|_| "short")?);
        if page[16..].iter().any(|b| *b != (g % 251) as u8)
            || u64::from_le_bytes(page[8..16].try_into().map_err(|_| "short")?) != p as u64
        {
            return Err(format!("page {p} is torn"));
        }
        Ok(g)
    };
    let h = gen_of(0)?;
    let mut newer = true;
    for p in 1..PAGES as usize {
        let g = gen_of(p)?;
        if g == h + 1 && newer {
            continue;
        }
        newer = false;
        if g != h {
            return Err(format!("header says generation {h}, page {p} has {g}"));
        }
    }
    Ok(())
}

fn check_bank(dir: &Path) -> Result<(), String> {
    let out = Command::new("sqlite3")
        .arg(dir.join("bank.sqlite"))
        .arg("PRAGMA integrity_check; SELECT count(*), sum(bal) FROM acct;")
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let want = format!("ok\n{ACCOUNTS}|{}\n", ACCOUNTS * 1000);
    if text != want {
        return Err(format!(
            "database: {text:?} {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn backup_restore(env: &Env, src: &Path, trial: usize) -> (serde_json::Value, PathBuf) {
    let (code, summary) = env.backup_json(&[src], &[]);
    let target = env.restore_latest(&format!("restore-{trial}"));
    assert!(code == Some(0) || code == Some(3), "{summary}");
    (summary, restored_path(&target, src))
}

fn prerequisites() -> bool {
    common::require(
        common::have("sqlite3"),
        "the sqlite3 command (apt-get install sqlite3)",
    )
}

#[test]
fn btrfs_snapshots_are_consistent_across_files_in_5_of_5_trials() {
    if !prerequisites() {
        return;
    }
    let env = Env::new();
    let Some(fs) = LoopFs::new("btrfs", env.dir.path(), 1024) else {
        return;
    };
    env.init();
    for trial in 0..5 {
        let src = fs.path(&format!("w{trial}"));
        let work = Workload::start(&src, true);
        let (summary, restored) = backup_restore(&env, &src, trial);
        work.stop();
        assert_eq!(
            summary["consistency"]["sources"][0]["level"], "volume-snapshot",
            "{summary}"
        );
        let records = check_log(&restored).unwrap_or_else(|e| panic!("trial {trial}: {e}"));
        // The workload synced seq many times before the backup began: it must hold a value.
        let seq: u64 = fs::read_to_string(restored.join("seq"))
            .expect("seq")
            .trim()
            .parse()
            .unwrap_or_else(|e| {
                panic!("trial {trial}: seq was synced but is not in the snapshot: {e}")
            });
        assert!(
            records > seq,
            "trial {trial}: seq says {seq} but the log holds only {records} records"
        );
        check_pages(&restored).unwrap_or_else(|e| panic!("trial {trial}: {e}"));
        check_bank(&restored).unwrap_or_else(|e| panic!("trial {trial}: {e}"));
    }
}

#[test]
fn reflink_clones_keep_every_file_consistent_on_its_own() {
    if !prerequisites() {
        return;
    }
    let env = Env::new();
    let Some(fs) = LoopFs::new("xfs", env.dir.path(), 1024) else {
        return;
    };
    env.init();
    for trial in 0..3 {
        let src = fs.path(&format!("w{trial}"));
        let work = Workload::start(&src, false);
        let (summary, restored) = backup_restore(&env, &src, trial);
        work.stop();
        assert_eq!(
            summary["consistency"]["sources"][0]["level"], "file-atomic",
            "{summary}"
        );
        check_log(&restored).unwrap_or_else(|e| panic!("trial {trial}: {e}"));
        check_pages(&restored).unwrap_or_else(|e| panic!("trial {trial}: {e}"));
    }
}

/// The reflink method reads a small file that nobody has open for writing under a read
/// lease instead of cloning it. A file held open for writing gets no lease and is cloned; a
/// file a writer keeps opening, rewriting whole and closing breaks leases as it opens, and
/// is then cloned. Either way every file is stored as it was at one instant (a 64 KiB
/// `pwrite` of one byte value is never stored half done), and the writer is not held up
/// for longer than a read.
#[test]
fn reflink_reads_files_without_writers_under_a_lease_and_clones_the_rest() {
    let env = Env::new();
    let Some(fs) = LoopFs::new("xfs", env.dir.path(), 512) else {
        return;
    };
    env.init();
    let src = fs.path("src");
    fs::create_dir_all(src.join("quiet")).expect("mkdir");
    for i in 0..200 {
        fs::write(src.join(format!("quiet/{i}")), common::Rng(i).bytes(3000)).expect("write");
    }
    const SIZE: usize = 64 << 10;
    let stop = Arc::new(AtomicBool::new(false));
    let rewrites = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // held.bin: one descriptor open for writing throughout.
    let held = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(src.join("held.bin"))
        .expect("held");
    held.write_all_at(&[0u8; SIZE], 0).expect("write");
    // reopened.bin: opened, rewritten whole in one write, closed, again and again.
    fs::write(src.join("reopened.bin"), [0u8; SIZE]).expect("write");
    let mut threads = Vec::new();
    for (name, keep_open) in [("held.bin", Some(held)), ("reopened.bin", None)] {
        let (path, s, n) = (src.join(name), Arc::clone(&stop), Arc::clone(&rewrites));
        threads.push(std::thread::spawn(move || {
            let mut g: u8 = 1;
            while !s.load(Ordering::Relaxed) {
                let file = match &keep_open {
                    Some(f) => f.try_clone().expect("dup"),
                    None => fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .expect("reopen"),
                };
                file.write_all_at(&[g; SIZE], 0).expect("rewrite");
                g = g.wrapping_add(1).max(1);
                n.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(100));
    let out = env.run(&[
        "-v",
        "backup",
        "--snapshot",
        "reflink",
        src.to_str().expect("utf8"),
    ]);
    let before_stop = rewrites.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(200));
    let progressed = rewrites.load(Ordering::Relaxed) - before_stop;
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("writer");
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(progressed > 0, "the writers stopped: {text}");
    // "clones made as files were read: C small file(s) cloned, L read under a read lease"
    let counts: Vec<u64> = text
        .lines()
        .find(|l| l.contains("read under a read lease"))
        .unwrap_or_else(|| panic!("no lease count in: {text}"))
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let (cloned, leased) = (counts[0], counts[1]);
    assert!(leased >= 200, "the quiet files were not leased: {text}");
    assert!(
        cloned >= 1,
        "the file held open for writing was not cloned: {text}"
    );
    assert_eq!(cloned + leased, 202, "{text}");

    let restored = restored_path(&env.restore_latest("restored"), &src);
    for name in ["held.bin", "reopened.bin"] {
        let data = fs::read(restored.join(name)).expect("restored");
        assert_eq!(data.len(), SIZE, "{name}");
        assert!(
            data.iter().all(|b| *b == data[0]),
            "{name} was stored half rewritten"
        );
    }
    for i in 0..200 {
        assert_eq!(
            fs::read(restored.join(format!("quiet/{i}"))).expect("restored"),
            common::Rng(i).bytes(3000)
        );
    }
}

#[test]
fn direct_reads_on_ext4_report_the_page_file_as_changed_while_read() {
    if !prerequisites() {
        return;
    }
    let env = Env::new();
    let Some(fs) = LoopFs::new("ext4", env.dir.path(), 256) else {
        return;
    };
    env.init();
    let src = fs.path("w");
    let work = Workload::start(&src, false);
    let (code, summary) = env.backup_json(&[&src], &[]);
    work.stop();
    assert_eq!(code, Some(3), "changed files give exit code 3: {summary}");
    let source = &summary["consistency"]["sources"][0];
    assert_eq!(source["method"], "direct");
    assert_eq!(source["level"], "changed-while-read", "{summary}");
    let changed: Vec<&str> = source["changed_while_read"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        changed.contains(&src.join("pages.db").to_str().expect("utf8")),
        "the in-place page file must be reported: {changed:?}"
    );
    let show = env.ok(&["show", "latest"]);
    assert!(
        show.contains("changed while read:") && show.contains("pages.db"),
        "{show}"
    );
}

/// A write in place during a direct read, in the same tick of the filesystem's clock as
/// the write before the read, moves none of the file's times: the comparison after the
/// read cannot see it. ext4 with 128-byte inodes stamps whole seconds, so the race is made
/// on purpose: a 12 MiB file (streamed) is written at the start of a second, the backup
/// reads it at 40 MB/s, and the whole file is written again once the backup has read
/// 4 MiB, or 0.7 s into the second if it has not begun by then. What is stored must be one
/// of the two contents, or the file must be reported as changed while read. (Read at once,
/// umbra stored 4 MiB of the old content and 8 MiB of the new and called the source
/// `direct-unchanged`; it now waits for the file's second to pass before reading it.)
#[test]
fn a_write_in_the_tick_of_the_write_before_a_direct_read_is_not_missed() {
    const LEN: usize = 12 << 20;
    let env = Env::new();
    let Some(fs) = LoopFs::made_with("ext4", env.dir.path(), 64, &["-I", "128"]) else {
        return;
    };
    env.init();
    let src = fs.path("w");
    fs::create_dir_all(&src).expect("mkdir");
    let file = src.join("pages.db");
    for trial in 0..5 {
        let second_began = common::start_of_a_second();
        fs::write(&file, vec![b'A'; LEN]).expect("write");
        let before = common::change_stamp(&file);
        let child = env
            .umbra()
            .args(["--json", "backup", "--limit-read", "40"])
            .arg(&src)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run umbra");
        let io = format!("/proc/{}/io", child.id());
        let read_so_far = || {
            fs::read_to_string(&io)
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("rchar: ").map(str::to_owned))
                })
                .and_then(|n| n.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        while read_so_far() < 4 << 20 && second_began.elapsed() < Duration::from_millis(700) {
            std::thread::sleep(Duration::from_millis(2));
        }
        fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .and_then(|f| f.write_all_at(&vec![b'B'; LEN], 0))
            .expect("write in place");
        let in_the_same_second = common::change_stamp(&file) == before;
        let out = child.wait_with_output().expect("umbra");
        let summary = common::summary_of(&out);
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{summary} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if !in_the_same_second {
            eprintln!("trial {trial}: the write left the second; again");
            continue;
        }
        let source = &summary["consistency"]["sources"][0];
        let reported = source["changed_while_read"]
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p.as_str() == file.to_str()));
        let target = env.restore_latest(&format!("restore-{trial}"));
        let stored = fs::read(restored_path(&target, &src).join("pages.db")).expect("restored");
        let whole = stored == vec![b'A'; LEN] || stored == vec![b'B'; LEN];
        let old = stored.iter().filter(|b| **b == b'A').count();
        assert!(
            whole || reported,
            "{old} of {LEN} bytes old, the rest new, and not reported: {summary}"
        );
        eprintln!(
            "measured: stored {} ({old} bytes old), level {}, reported {reported}",
            if whole { "whole" } else { "torn" },
            source["level"]
        );
        return;
    }
    panic!("the write never fell within the second of the write before it");
}
