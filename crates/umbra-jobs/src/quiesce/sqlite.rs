//! The `sqlite` quiescer.
//!
//! A SQLite database on a volume snapshot (btrfs, LVM, ZFS) is captured with its `-wal`
//! and with every other file of the volume at one instant. To make that instant a
//! committed state of every database (not one with a write transaction half done), the
//! quiescer takes each database's write lock (`BEGIN IMMEDIATE`) inside the freeze window
//! and lets go at the thaw: the snapshot then holds committed databases together with
//! every other file, and the source is application-consistent. Writers wait for the
//! window (milliseconds); readers never do.
//!
//! Without a volume snapshot (direct reads, or reflink clones, which are per file), the
//! file and its `-wal` would be read at different moments. So before the freeze, each
//! database is copied through SQLite's online backup API into the run's staging area. The
//! copy is consistent in itself, but taken at another instant than the rest of the
//! source: it does not raise the source's level, and the record names it. The copy is
//! made in
//! WAL mode in one step (a reader never blocks a writer), otherwise a few pages per step,
//! so that a writer is never blocked for longer than one step (see [`copy_online`]). The copy is stored at the database's path;
//! the live `-wal`, `-shm` and `-journal` are left out (replaying a later WAL onto the
//! copy would corrupt it). The copy keeps the database's journal mode.
//!
//! Databases are the ones listed (`databases = [...]`) or, by default, every file under
//! the covered paths that starts with SQLite's header.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use umbra_core::{ErrorKind, Result, Substitute, UmbraError};

use super::{Context, Quiescer};

/// Pages copied per step of the backup API.
const PAGES_PER_STEP: std::ffi::c_int = 64;
/// The pause between steps, which lets writers in.
const PAUSE: Duration = Duration::from_millis(1);
/// How long a rollback-journal database is copied step by step before the rest goes in
/// one step.
const STEPPED_FOR: Duration = Duration::from_secs(30);
const HEADER: &[u8; 16] = b"SQLite format 3\0";

pub struct SqliteQuiescer {
    pub name: String,
    pub covers: Vec<PathBuf>,
    /// Listed in the job; empty means: find them under `covers`.
    pub databases: Vec<PathBuf>,
    details: BTreeMap<String, String>,
    substitutes: Vec<Substitute>,
    omit: Vec<PathBuf>,
    /// Databases on a volume snapshot: write-locked for the freeze window.
    lock_in_window: Vec<PathBuf>,
    /// The open transactions holding those locks while frozen.
    held: Vec<Connection>,
}

impl SqliteQuiescer {
    #[must_use]
    pub fn new(name: String, covers: Vec<PathBuf>, databases: Vec<PathBuf>) -> Self {
        Self {
            name,
            covers,
            databases,
            details: BTreeMap::new(),
            substitutes: Vec::new(),
            omit: Vec::new(),
            lock_in_window: Vec::new(),
            held: Vec::new(),
        }
    }
}

/// Whether `path` starts with SQLite's header.
fn is_sqlite(path: &Path) -> bool {
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == HEADER)
}

/// Every SQLite database below `dir` (not following symlinks, not entering umbra's own
/// snapshot and staging directories).
fn find(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() && !name.starts_with(".umbra-") {
            find(&e.path(), out);
        } else if ft.is_file()
            && !["-wal", "-shm", "-journal"]
                .iter()
                .any(|s| name.ends_with(s))
            && is_sqlite(&e.path())
        {
            out.push(e.path());
        }
    }
}

fn sqlite_error(db: &Path, what: &str, e: rusqlite::Error) -> UmbraError {
    UmbraError::new(
        ErrorKind::JobFailed,
        format!("cannot {what} the SQLite database {}: {e}", db.display()),
    )
    .with_hint("Check that the file is a SQLite database this user can read, and that the disk holding umbra's state directory has room for a copy.")
}

/// How a copy was made, for the record.
struct Copied {
    pages: i32,
    how: String,
}

/// Copies `db` to `copy` through the online backup API.
///
/// In WAL mode a reader never blocks a writer, so the whole database is copied in one
/// step: one read transaction, a consistent copy, writers untouched. In rollback-journal
/// mode a step's read lock does block writers, so the copy goes [`PAGES_PER_STEP`] pages
/// at a time; a write between steps restarts it, and a database written faster than it
/// can be copied would never finish, so after [`STEPPED_FOR`] the rest is copied in one
/// step, and the record says for how long writers waited.
fn copy_online(db: &Path, copy: &Path) -> Result<Copied> {
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sqlite_error(db, "open", e))?;
    src.busy_timeout(Duration::from_secs(30))
        .map_err(|e| sqlite_error(db, "open", e))?;
    let wal: String = src
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(|e| sqlite_error(db, "read the journal mode of", e))?;
    let wal = wal.eq_ignore_ascii_case("wal");
    let mut dst = Connection::open(copy).map_err(|e| sqlite_error(db, "create a copy of", e))?;
    let backup = Backup::new(&src, &mut dst).map_err(|e| sqlite_error(db, "copy", e))?;
    let started = Instant::now();
    let mut final_step: Option<Duration> = None;
    loop {
        let pages = if wal || final_step.is_some() {
            -1
        } else {
            PAGES_PER_STEP
        };
        let t = Instant::now();
        let step = backup
            .step(pages)
            .map_err(|e| sqlite_error(db, "copy", e))?;
        if pages == -1 && final_step.is_some() {
            final_step = Some(t.elapsed());
        }
        if matches!(step, StepResult::Done) {
            break;
        }
        if !wal && final_step.is_none() && started.elapsed() > STEPPED_FOR {
            final_step = Some(Duration::ZERO);
            continue;
        }
        std::thread::sleep(PAUSE);
    }
    let pages = backup.progress().pagecount;
    drop(backup);
    drop(dst);
    let how = if wal {
        "WAL mode: one read transaction, writers not blocked".to_string()
    } else {
        match final_step {
            None => format!("{PAGES_PER_STEP} pages a step; writers waited at most one step"),
            Some(d) => format!(
                "written faster than stepped copying could finish: the last step blocked writers for {:.1} ms",
                d.as_secs_f64() * 1000.0
            ),
        }
    };
    Ok(Copied { pages, how })
}

impl Quiescer for SqliteQuiescer {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn covers(&self) -> &[PathBuf] {
        &self.covers
    }

    fn prepare(&mut self, ctx: &Context<'_>) -> Result<()> {
        let mut dbs = self.databases.clone();
        if dbs.is_empty() {
            for c in &self.covers {
                find(c, &mut dbs);
            }
        }
        for (i, db) in dbs.iter().enumerate() {
            let key = db.display().to_string();
            match ctx.method_of(db) {
                Some(m) if m.is_volume_snapshot() => {
                    self.details.insert(
                        key,
                        "volume snapshot taken while umbra held the write lock (BEGIN \
                         IMMEDIATE): a committed state, together with every other file of \
                         the snapshot"
                            .into(),
                    );
                    self.lock_in_window.push(db.clone());
                }
                None => {
                    return Err(UmbraError::new(
                        ErrorKind::Config,
                        format!(
                            "the SQLite database {} is not inside any source of the job",
                            db.display()
                        ),
                    ))
                }
                Some(_) => {
                    let dir = ctx.staging.join(format!("sqlite-{i}"));
                    std::fs::create_dir_all(&dir)
                        .map_err(|e| UmbraError::io("cannot create", &dir, e))?;
                    let file = db
                        .file_name()
                        .map_or_else(|| "db".into(), |n| n.to_os_string());
                    let copy = dir.join(file);
                    let started = Instant::now();
                    let copied = copy_online(db, &copy)?;
                    self.details.insert(
                        key,
                        format!(
                            "online backup copy (consistent in itself, taken before the \
                             snapshot of the other files): {} pages in {:.1} ms ({})",
                            copied.pages,
                            started.elapsed().as_secs_f64() * 1000.0,
                            copied.how
                        ),
                    );
                    self.substitutes.push(Substitute {
                        named: db.clone(),
                        staged: copy,
                    });
                    for suffix in ["-wal", "-shm", "-journal"] {
                        let mut side = db.clone().into_os_string();
                        side.push(suffix);
                        self.omit.push(PathBuf::from(side));
                    }
                }
            }
        }
        Ok(())
    }

    fn freeze(&mut self, deadline: Instant) -> Result<()> {
        for db in self.lock_in_window.clone() {
            let locked = Connection::open_with_flags(
                &db,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .and_then(|c| {
                c.busy_timeout(deadline.saturating_duration_since(Instant::now()))?;
                c.execute_batch("BEGIN IMMEDIATE")?;
                Ok(c)
            });
            match locked {
                Ok(c) => self.held.push(c),
                Err(e) => {
                    let _ = self.thaw();
                    return Err(UmbraError::new(
                        ErrorKind::JobFailed,
                        format!(
                            "cannot take the write lock of the SQLite database {} within the \
                             freeze bound: {e}",
                            db.display()
                        ),
                    )
                    .with_hint(
                        "A writer held its transaction longer than the freeze bound allows. \
                         Raise `freeze_timeout` or `quiesce_retries` in the job, or shorten \
                         the application's transactions.",
                    ));
                }
            }
        }
        Ok(())
    }

    fn thaw(&mut self) -> Result<()> {
        // Nothing was written: rolling back only lets go of the lock.
        for c in self.held.drain(..) {
            let _ = c.execute_batch("ROLLBACK");
        }
        Ok(())
    }

    fn finish(&mut self, _backup_ok: bool) -> Result<()> {
        Ok(())
    }

    fn details(&self) -> BTreeMap<String, String> {
        self.details.clone()
    }

    fn substitutes(&self) -> (Vec<Substitute>, Vec<PathBuf>) {
        (self.substitutes.clone(), self.omit.clone())
    }

    fn works_without_snapshot(&self) -> bool {
        true
    }
}
