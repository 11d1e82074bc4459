//! Backing up a stream: standard input (`backup --stdin`, restic 0.14) or a command's
//! output (`backup --stdin-from-command`, restic 0.17), stored as one file.
//!
//! The file is stored as restic stores it: at `/NAME`, mode 0644, owned by the user,
//! timed now. A stream cannot change while it is read, and umbra cannot see how
//! consistent its writer made it, so the record says `stream` (docs/CONSISTENCY.md).
//! A command that fails (a non-zero exit, or killed) fails the backup and its snapshot
//! is removed again: a dump cut short must not pass for a backup.
//!
//! Why not rustic_core's `StdinSource` and `ChildStdoutSource`: their node has no mode
//! or owner (restic's has), and the child source saves the snapshot before it learns the
//! command failed.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use rustic_core::repofile::{Metadata, Node, NodeType};
use rustic_core::{BackupOptions, ReadSource, ReadSourceEntry, ReadSourceOpen, RusticResult};
use umbra_core::{
    ConsistencyLevel, ConsistencyRecord, ErrorKind, Method, Result, SourceConsistency, UmbraError,
};

use crate::backup::{attach_record, new_snapshot, BackupOutcome};
use crate::error::{from_rustic, rustic};
use crate::repo::Repo;

/// What a stream backup reads and how its snapshot is labelled.
#[derive(Debug, Clone, Default)]
pub struct StreamRequest {
    /// The file's name in the snapshot (restic's `--stdin-filename`, default `stdin`).
    pub name: String,
    /// The command whose output is the stream; standard input when `None`.
    pub command: Option<Vec<String>>,
    pub tags: Vec<String>,
    pub host: Option<String>,
    pub time: Option<jiff::Zoned>,
}

impl Repo {
    /// Backs up the stream `request` names as one file.
    pub fn backup_stream(self, request: &StreamRequest) -> Result<BackupOutcome> {
        let started = Instant::now();
        if request.name.is_empty() || request.name.contains('/') {
            return Err(UmbraError::new(
                ErrorKind::InvalidInput,
                format!("`{}` is not a file name for --stdin-filename", request.name),
            )
            .with_hint("Give a plain name, without `/`: --stdin-filename db.sql."));
        }
        let path = PathBuf::from("/").join(&request.name);
        let mut child = None;
        let reader: Box<dyn Read + Send> = match &request.command {
            None => Box::new(std::io::stdin()),
            Some(words) => {
                let (c, out) = spawn(words)?;
                child = Some(c);
                Box::new(out)
            }
        };
        let source = StreamSource {
            path: path.clone(),
            reader: Mutex::new(Some(reader)),
        };
        let snap = new_snapshot(&request.tags, request.host.as_ref(), request.time.as_ref())?;
        let mut opts = BackupOptions::default();
        // Nothing to compare with: a stream is read whole every time.
        opts.parent_opts.force = true;
        let Repo { inner, lock, .. } = self;
        let indexed = inner
            .to_indexed_ids()
            .map_err(rustic("cannot read the repository's index"))?;
        let saved = indexed.archive(&opts, &source, snap, std::slice::from_ref(&path));
        // Our end of the pipe closes first: a command whose output was not read to its
        // end (the backup failed) then gets EPIPE instead of waiting on us for ever.
        drop(source);
        // The command's end decides whether what was read is the whole stream.
        let ended = child.map(|c| finish(c, request.command.as_deref().unwrap_or_default()));
        let saved = saved.map_err(|e| from_rustic("the backup failed", e))?;
        if let Some(Err(err)) = ended {
            let _ = indexed.delete_snapshots(&[saved.id]);
            return Err(err);
        }
        let record = ConsistencyRecord {
            version: ConsistencyRecord::VERSION,
            sources: vec![SourceConsistency {
                path: path.clone(),
                method: Method::Stream,
                level: ConsistencyLevel::Stream,
                snapshot_ms: None,
                taken_at_unix_ms: None,
                changed_while_read: Vec::new(),
                unreadable: Vec::new(),
                vanished: Vec::new(),
                copies: Vec::new(),
            }],
            snapshot_set_spread_ms: None,
            quiesced: Vec::new(),
        };
        let final_snap = attach_record(&indexed, saved, &record)?;
        drop(lock);
        let outcome = BackupOutcome::of_saved(&final_snap, record, None, started);
        Ok(BackupOutcome {
            // A stream is read whole, every time.
            bytes_read: outcome.bytes_total,
            ..outcome
        })
    }
}

/// Starts `words` (a program and its arguments) with its output piped to us; its errors
/// go to ours.
fn spawn(words: &[String]) -> Result<(Child, std::process::ChildStdout)> {
    let Some((program, args)) = words.split_first() else {
        return Err(UmbraError::new(
            ErrorKind::InvalidInput,
            "--stdin-from-command needs a command",
        )
        .with_hint("Name it after `--`: umbra backup --stdin-from-command -- pg_dump mydb"));
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| {
            UmbraError::new(
                ErrorKind::InvalidInput,
                format!("cannot run `{program}`: {e}"),
            )
            .with_hint("Check the command's name and that it is on PATH.")
        })?;
    let Some(out) = child.stdout.take() else {
        return Err(UmbraError::new(
            ErrorKind::Internal,
            format!("`{program}` was started without its output"),
        ));
    };
    Ok((child, out))
}

/// Waits for the command; an exit other than 0 is the backup's failure.
fn finish(mut child: Child, words: &[String]) -> Result<()> {
    let shown = words.join(" ");
    let status = child
        .wait()
        .map_err(|e| UmbraError::new(ErrorKind::Io, format!("cannot wait for `{shown}`: {e}")))?;
    if status.success() {
        return Ok(());
    }
    Err(UmbraError::new(
        ErrorKind::SourceUnreadable,
        format!("`{shown}` failed ({status}); no snapshot was saved"),
    )
    .with_hint("Its error output is above. What it wrote is not a backup until it ends with 0."))
}

/// The stream as a source of one file.
struct StreamSource {
    path: PathBuf,
    reader: Mutex<Option<Box<dyn Read + Send>>>,
}

/// Opens the stream (once).
struct StreamOpen(Box<dyn Read + Send>);

impl ReadSourceOpen for StreamOpen {
    type Reader = Box<dyn Read + Send>;

    fn open(self) -> RusticResult<Self::Reader> {
        Ok(self.0)
    }
}

impl ReadSource for StreamSource {
    type Open = StreamOpen;
    type Iter = std::vec::IntoIter<RusticResult<ReadSourceEntry<StreamOpen>>>;

    fn size(&self) -> RusticResult<Option<u64>> {
        Ok(None)
    }

    fn entries(&self) -> Self::Iter {
        let open = self
            .reader
            .lock()
            .ok()
            .and_then(|mut r| r.take())
            .map(StreamOpen);
        let now = jiff::Timestamp::now();
        let (_, uid, gid) = crate::platform::process_ids();
        let name = self.path.file_name().unwrap_or_default();
        let node = Node::new_node(
            name,
            NodeType::File,
            Metadata {
                mode: Some(0o644),
                mtime: Some(now),
                atime: Some(now),
                ctime: Some(now),
                uid: Some(uid),
                gid: Some(gid),
                ..Metadata::default()
            },
        );
        vec![Ok(ReadSourceEntry {
            path: self.path.clone(),
            node,
            open,
        })]
        .into_iter()
    }
}
