//! The VSS provider against the fake service: one set across volumes, every documented
//! failure, and release on every path, with nothing left behind.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use umbra_core::{ConsistencyLevel, Event, Method, Monitor, ProgressKind, Task};

use super::api::{hresult as hr, ComponentFiles, Guid, WriterFiles, WriterStatus};
use super::fake::{FakeVss, Machine};
use super::Vss;
use crate::mounts::Mount;
use crate::planner::SourceChoice;
use crate::provider::{Provider, SourceInfo, Support};
use crate::registry::Registry;
use crate::set::SnapshotSet;

#[derive(Default)]
struct Notices(Mutex<Vec<String>>);

impl Monitor for Notices {
    fn start_task(&self, kind: ProgressKind, title: &str) -> Box<dyn Task> {
        umbra_core::NullMonitor.start_task(kind, title)
    }
    fn event(&self, event: Event) {
        if let Event::Notice { message } | Event::Warning { message } = event {
            self.0.lock().expect("notices").push(message);
        }
    }
}

fn provider(machine: &Arc<Mutex<Machine>>) -> Arc<Vss> {
    let m = Arc::clone(machine);
    Arc::new(Vss::with_retries(
        Box::new(move || FakeVss::open(&m)),
        3,
        Duration::from_millis(20),
    ))
}

fn info(path: &str, fs: &str, elevated: bool) -> SourceInfo {
    let root = format!("{}\\", &path[..2]);
    SourceInfo {
        path: PathBuf::from(path),
        real_path: PathBuf::from(path),
        mount: Mount {
            mount_point: PathBuf::from(&root),
            root: PathBuf::from("\\"),
            fs_type: fs.into(),
            source: root,
            device: (0, 0),
            options: vec!["rw".into()],
        },
        root: elevated,
        capture_at_once: false,
    }
}

fn choices(vss: &Arc<Vss>, paths: &[&str]) -> Vec<SourceChoice> {
    paths
        .iter()
        .map(|p| SourceChoice {
            info: info(p, "NTFS", true),
            method: Method::Vss,
            provider: Arc::clone(vss) as Arc<dyn Provider>,
            reason: "NTFS".into(),
        })
        .collect()
}

struct Scene {
    machine: Arc<Mutex<Machine>>,
    vss: Arc<Vss>,
    registry: Registry,
    notices: Arc<Notices>,
    _dir: tempfile::TempDir,
}

fn scene(volumes: &[&str]) -> Scene {
    let machine = Machine::with_volumes(volumes);
    let dir = tempfile::tempdir().expect("tempdir");
    Scene {
        vss: provider(&machine),
        machine,
        registry: Registry::at(dir.path().join("artifacts")),
        notices: Arc::new(Notices::default()),
        _dir: dir,
    }
}

impl Scene {
    fn take(&self, paths: &[&str]) -> umbra_core::Result<SnapshotSet> {
        SnapshotSet::take(
            &choices(&self.vss, paths),
            self.registry.clone(),
            Arc::clone(&self.notices) as Arc<dyn Monitor>,
        )
    }

    fn calls(&self, name: &str) -> usize {
        let m = self.machine.lock().expect("machine");
        m.calls
            .iter()
            .filter(|c| c.ends_with(&format!(":{name}")))
            .count()
    }

    /// Nothing is left: no shadow copy, no set in progress, no record.
    fn assert_clean(&self) {
        let m = self.machine.lock().expect("machine");
        assert!(m.sets.is_empty(), "sets left: {:?}", m.sets);
        assert!(m.shadows.values().all(|n| *n == 0), "{:?}", m.shadows);
        assert_eq!(m.in_progress, None);
        let (records, _) = self.registry.records().expect("records");
        assert!(records.is_empty(), "records left: {records:?}");
    }
}

#[test]
fn one_set_spans_every_volume_and_each_source_reads_its_shadow_copy() {
    let s = scene(&["C:\\", "D:\\"]);
    let set = s
        .take(&["C:\\data", "C:\\srv\\db", "D:\\mail"])
        .expect("take");
    assert_eq!(s.calls("StartSnapshotSet"), 1);
    assert_eq!(s.calls("DoSnapshotSet"), 1);
    assert_eq!(s.calls("AddToSnapshotSet"), 2, "each volume once");
    {
        let m = s.machine.lock().expect("machine");
        assert_eq!(m.sets.len(), 1);
        let volumes = m.sets.values().next().expect("set");
        assert_eq!(volumes, &vec!["C:\\".to_string(), "D:\\".to_string()]);
    }
    let read: Vec<String> = set
        .sources
        .iter()
        .map(|p| p.read_from.to_string_lossy().into_owned())
        .collect();
    assert!(read[0].starts_with("\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy"));
    assert!(read[0].ends_with("\\data"), "{read:?}");
    assert!(read[1].ends_with("\\srv\\db"), "{read:?}");
    assert!(read[2].ends_with("\\mail"), "{read:?}");
    let device = |p: &str| p.split('\\').nth(5).map(str::to_string);
    assert_eq!(device(&read[0]), device(&read[1]), "one copy of C:");
    assert_ne!(device(&read[0]), device(&read[2]), "D: has its own copy");
    for p in &set.sources {
        assert_eq!(p.method, Method::Vss);
        assert_eq!(p.expected, ConsistencyLevel::VolumeSnapshot);
        assert_eq!(
            p.path.to_string_lossy().chars().nth(1),
            Some(':'),
            "stored under the original path"
        );
    }
    let (records, _) = s.registry.records().expect("records");
    assert_eq!(records.len(), 1, "the set is on record once");
    set.release().expect("release");
    assert_eq!(s.calls("BackupComplete"), 1);
    s.assert_clean();
}

#[test]
fn a_set_made_in_one_run_is_taken_fresh_in_the_next() {
    let s = scene(&["C:\\"]);
    s.take(&["C:\\a"])
        .expect("first")
        .release()
        .expect("release");
    s.take(&["C:\\a"])
        .expect("second")
        .release()
        .expect("release");
    assert_eq!(s.calls("StartSnapshotSet"), 2);
    s.assert_clean();
}

#[test]
fn another_set_in_progress_is_waited_for_then_named() {
    let s = scene(&["C:\\"]);
    s.machine.lock().expect("machine").in_progress = Some(999);
    let err = s.take(&["C:\\data"]).err().expect("refused");
    assert!(
        err.message().contains("another shadow copy"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("0x80042316"), "{}", err.message());
    assert_eq!(s.calls("StartSnapshotSet"), 3, "tried three times");
    s.machine.lock().expect("machine").in_progress = None;
    s.assert_clean();

    // The other backup ends while umbra waits: the second try succeeds.
    s.machine.lock().expect("machine").in_progress = Some(999);
    let m = Arc::clone(&s.machine);
    let other = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        m.lock().expect("machine").in_progress = None;
    });
    std::thread::sleep(Duration::from_millis(15));
    let set = s.take(&["C:\\data"]).expect("taken after waiting");
    other.join().expect("thread");
    set.release().expect("release");
    s.assert_clean();
}

#[test]
fn a_volume_at_its_shadow_copy_limit_is_named_with_what_to_do() {
    let s = scene(&["C:\\", "D:\\"]);
    s.machine
        .lock()
        .expect("machine")
        .shadows
        .insert("D:\\".into(), 64);
    let err = s.take(&["C:\\data", "D:\\mail"]).err().expect("refused");
    assert!(
        err.message().contains("as many shadow copies"),
        "{}",
        err.message()
    );
    assert!(err.hint().contains("vssadmin delete shadows"));
    assert!(
        err.message().contains(r"volume (D:\)"),
        "names the full volume: {}",
        err.message()
    );
    s.machine
        .lock()
        .expect("machine")
        .shadows
        .insert("D:\\".into(), 0);
    s.assert_clean();
    assert_eq!(s.calls("AbortBackup"), 1);
}

#[test]
fn a_volume_vss_refuses_fails_before_anything_is_read() {
    let s = scene(&["C:\\"]);
    s.machine
        .lock()
        .expect("machine")
        .volumes
        .insert("E:\\".into(), false);
    let err = s.take(&["C:\\data", "E:\\media"]).err().expect("refused");
    assert!(
        err.message().contains("does not support shadow copies"),
        "{}",
        err.message()
    );
    assert!(err.hint().contains("--open-files off"));
    assert!(err.message().contains(r"(E:\)"), "{}", err.message());
    s.assert_clean();
}

#[test]
fn the_ten_second_hold_running_out_leaves_nothing() {
    let s = scene(&["C:\\"]);
    s.machine.lock().expect("machine").hold_writes_ms = 12_000;
    let err = s.take(&["C:\\data"]).err().expect("refused");
    assert!(
        err.message().contains("10-second limit"),
        "{}",
        err.message()
    );
    s.assert_clean();
}

#[test]
fn a_failed_writer_is_named_and_its_files_are_crash_consistent() {
    let s = scene(&["C:\\"]);
    {
        let mut m = s.machine.lock().expect("machine");
        m.writers = vec![
            writer(1, "System Writer", 1, 0),
            writer(2, "SqlServerWriter", 9, 0x8004_23F4),
        ];
        m.writer_files = vec![sql_files(2, r"C:\data\sql")];
    }
    let set = s.take(&["C:\\data\\sql"]).expect("taken");
    assert_eq!(
        set.sources[0].expected,
        ConsistencyLevel::VolumeSnapshot,
        "the writer of its files failed: as a crash left them"
    );
    let notices = s.notices.0.lock().expect("notices").clone();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("SqlServerWriter"));
    assert!(notices[0].contains("failed at freeze"));
    assert!(notices[0].contains("0x800423F4"));
    // Both writers are in the snapshot's record; the failed one says so.
    let quiesced = set.plan().quiesced;
    assert_eq!(quiesced.len(), 2);
    assert!(quiesced.iter().all(|q| q.kind == "vss-writer"));
    assert_eq!(quiesced[1].covers, vec![PathBuf::from(r"C:\data\sql")]);
    assert_eq!(
        quiesced[0].details.get("state").map(String::as_str),
        Some("stable")
    );
    assert!(!quiesced[0].details.contains_key("failed"));
    assert_eq!(
        quiesced[1].details.get("failed").map(String::as_str),
        Some("failed at freeze (0x800423F4)")
    );
    set.release().expect("release");
    s.assert_clean();
}

fn writer(n: u128, name: &str, state: u32, failure: u32) -> WriterStatus {
    WriterStatus {
        instance: Guid(n),
        name: name.into(),
        state,
        failure,
    }
}

fn sql_files(n: u128, dir: &str) -> WriterFiles {
    WriterFiles {
        instance: Guid(n),
        name: "SqlServerWriter".into(),
        files: vec![ComponentFiles {
            path: dir.into(),
            filespec: "*".into(),
            recursive: true,
        }],
    }
}

#[test]
fn sources_a_stable_writer_manages_whole_are_app_consistent_and_only_those() {
    let s = scene(&["C:\\"]);
    {
        let mut m = s.machine.lock().expect("machine");
        m.writers = vec![writer(2, "SqlServerWriter", 1, 0)];
        // A path with a variable, as writers report them; a pattern that is not all files.
        std::env::set_var("UMBRA_TEST_SQLROOT", r"C:\Program Files\SQL");
        let mut files = sql_files(2, r"%UMBRA_TEST_SQLROOT%\DATA");
        files.files.push(ComponentFiles {
            path: r"C:\logs".into(),
            filespec: "*.ldf".into(),
            recursive: false,
        });
        m.writer_files = vec![files];
    }
    let set = s
        .take(&[
            r"C:\Program Files\SQL\data\sales",
            r"C:\logs",
            r"C:\Users\app",
        ])
        .expect("taken");
    let levels: Vec<ConsistencyLevel> = set.sources.iter().map(|p| p.expected).collect();
    assert_eq!(
        levels,
        vec![
            ConsistencyLevel::AppConsistent,
            ConsistencyLevel::VolumeSnapshot,
            ConsistencyLevel::VolumeSnapshot
        ],
        "inside the writer's folder (any case); a folder it manages only *.ldf of; one it does not manage"
    );
    assert!(s.notices.0.lock().expect("notices").is_empty());
    set.release().expect("release");
    s.assert_clean();
}

#[test]
fn a_set_left_by_a_crash_is_deleted_by_the_next_process() {
    let s = scene(&["C:\\"]);
    let set = s.take(&["C:\\data"]).expect("taken");
    std::mem::forget(set);
    let (records, _) = s.registry.records().expect("records");
    assert_eq!(records.len(), 1);
    // The next run: a new provider, with no requester from the dead one.
    let next = provider(&s.machine);
    crate::provider::release_verified(next.as_ref(), &records[0].artifact).expect("release");
    s.registry.forget(&records[0]).expect("forget");
    // Releasing again (a second sweep) finds nothing, and succeeds.
    next.release(&records[0].artifact).expect("idempotent");
    s.assert_clean();
}

#[test]
fn without_vss_the_error_says_so_and_what_to_do() {
    let s = scene(&["C:\\"]);
    s.machine.lock().expect("machine").unavailable = Some(hr::E_NOTIMPL);
    let err = s.take(&["C:\\data"]).err().expect("refused");
    assert!(err.message().contains("not available"), "{}", err.message());
    assert!(err.message().contains("0x80004001"));
    assert!(err.hint().contains("--open-files off"));
    s.assert_clean();
}

#[test]
fn where_no_requester_can_be_made_the_volume_is_not_offered() {
    let machine = Machine::with_volumes(&["C:\\"]);
    machine.lock().expect("machine").unavailable = Some(hr::REGDB_E_CLASSNOTREG);
    let vss = provider(&machine);
    let Support::No(why) = vss.supports(&info("C:\\data", "NTFS", true)) else {
        panic!("offered without VSS");
    };
    assert!(
        why.contains("not available") && why.contains("0x80040154"),
        "{why}"
    );
}

#[test]
fn calls_out_of_order_are_refused_with_bad_state() {
    let machine = Machine::with_volumes(&["C:\\"]);
    let mut api = FakeVss::open(&machine).expect("open");
    let e = api.start_snapshot_set().expect_err("bad state");
    assert_eq!(e.hresult, hr::VSS_E_BAD_STATE);
    let err = super::explain(e, None);
    assert!(err.message().contains("out of order"));
    api.initialize_for_copy_backup().expect("init");
    assert_eq!(
        api.do_snapshot_set().err().map(|e| e.hresult),
        Some(hr::VSS_E_BAD_STATE)
    );
}

#[test]
fn only_elevated_ntfs_and_refs_volumes_are_offered() {
    let vss = provider(&Machine::with_volumes(&["C:\\"]));
    assert_eq!(vss.supports(&info("C:\\data", "NTFS", true)), Support::Yes);
    assert_eq!(vss.supports(&info("C:\\data", "ReFS", true)), Support::Yes);
    let Support::No(why) = vss.supports(&info("F:\\stick", "FAT32", true)) else {
        panic!("FAT32 offered");
    };
    assert!(why.contains("FAT32"));
    let Support::No(why) = vss.supports(&info("C:\\data", "NTFS", false)) else {
        panic!("offered without elevation");
    };
    assert!(why.contains("elevated"));
    let mut share = info("C:\\x", "NTFS", true);
    share.real_path = PathBuf::from("\\\\server\\share\\x");
    let Support::No(why) = vss.supports(&share) else {
        panic!("share offered");
    };
    assert!(why.contains("network share"));
}
