//! The command line, as clap parses it. Nothing here runs: [`crate::settings`] turns
//! these flags into validated settings, and [`crate::commands`] acts on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod args;
pub use args::*;

/// `umbra --version`: umbra's version, its repository engine and its storage backends.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (engine: rustic_core 0.13.0 with umbra's patches, see vendor/PATCHES.md; \
     repository format: restic v1 and v2; backends: local, rest, rclone, s3, sftp)"
);

/// umbra backs up files that are in use, consistently, into a restic-compatible repository.
#[derive(Debug, Parser)]
#[command(name = "umbra", version = VERSION, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Repository location: a directory, `s3:https://host/bucket/prefix`,
    /// `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path`
    /// (docs/STORAGE.md). Default: the job file's repository, then
    /// RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository.
    #[arg(
        short = 'r',
        long = "repo",
        env = "UMBRA_REPOSITORY",
        global = true,
        value_name = "REPO"
    )]
    pub repo: Option<String>,
    /// The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml
    /// for others). Its [repository] is used when -r is not given.
    #[arg(
        short = 'c',
        long = "config",
        env = "UMBRA_CONFIG",
        global = true,
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// A remote repository's option, as restic's `-o`: `s3.timeout=30s` (how long one
    /// request may take), `s3.retry=5` (how often a failed request is tried again),
    /// `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and
    /// `sftp.` take timeout and retry (sftp also connections).
    #[arg(short = 'o', long = "option", global = true, value_name = "KEY=VALUE")]
    pub options: Vec<String>,
    /// File holding the repository password.
    #[arg(long, env = "UMBRA_PASSWORD_FILE", global = true, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Command that prints the repository password (run with `sh -c`).
    #[arg(
        long,
        env = "UMBRA_PASSWORD_COMMAND",
        global = true,
        value_name = "COMMAND"
    )]
    pub password_command: Option<String>,
    /// The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra).
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Use no local cache (every file is read from the repository).
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Limit uploads to the repository to this many KiB/s (restic's flag; every kind of
    /// repository, all of the command's transfers together).
    #[arg(long, global = true, value_name = "KiB/s", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit_upload: Option<u64>,
    /// Limit downloads from the repository to this many KiB/s (restic's flag).
    #[arg(long, global = true, value_name = "KiB/s", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit_download: Option<u64>,
    /// Remove the caches of repositories not opened for 30 days (restic's flag).
    #[arg(long, global = true, conflicts_with = "no_cache")]
    pub cleanup_cache: bool,
    /// Print machine-readable JSON lines instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail (repeat for even more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Do not lock the repository, for a repository on read-only media. Only for the
    /// commands that only read: snapshots, show, ls, find, dump, mount, diff, restore,
    /// check.
    #[arg(long, global = true)]
    pub no_lock: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new repository.
    Init(InitArgs),
    /// Back up files and directories.
    Backup(Box<BackupArgs>),
    /// List snapshots.
    Snapshots(SnapshotsArgs),
    /// Show one snapshot in full, with its consistency record.
    Show {
        /// Snapshot id, prefix, or `latest`.
        snapshot: String,
    },
    /// List the files of a snapshot.
    Ls {
        /// Snapshot id, prefix, or `latest`.
        snapshot: String,
        /// Only list below this path.
        path: Option<String>,
        /// Long listing, as restic's `ls -l`: mode, uid, gid, size, time, path.
        #[arg(short = 'l', long = "long")]
        long: bool,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Restore a snapshot into a directory.
    Restore(RestoreArgs),
    /// Find files and directories by name in snapshots.
    Find(FindArgs),
    /// Mount the repository's snapshots as a read-only filesystem (restic's layout:
    /// ids/, snapshots/, hosts/, tags/). Runs until `umount DIR` or Ctrl-C.
    Mount {
        /// An existing, empty directory.
        mountpoint: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Print a repository file or blob: config, index ID, snapshot ID, key ID, pack ID,
    /// blob ID, tree ID (restic's `cat`).
    Cat {
        /// config, index, snapshot, key, pack, blob or tree.
        what: String,
        /// The id, or a unique prefix of it (not for config).
        id: Option<String>,
    },
    /// Write one file of a snapshot to standard output, or a directory as a tar archive
    /// (restic's `dump`).
    Dump {
        /// Snapshot id, prefix, or `latest`.
        snapshot: String,
        /// The path in the snapshot (as `ls` shows it); `/` for the whole snapshot.
        path: String,
        /// The archive format for a directory: `tar` (restic's default) or `zip`.
        #[arg(long, default_value = "tar", value_name = "FORMAT")]
        archive: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Show what changed between two snapshots (`ID` or `ID:PATH` each), in restic's
    /// letters: + added, - removed, M content modified (M? when nothing else changed:
    /// probably bitrot), T type changed, U metadata only (with --metadata).
    Diff {
        first: String,
        second: String,
        /// Also list entries whose metadata alone changed (mode, owner, times, inode).
        #[arg(long)]
        metadata: bool,
    },
    /// Verify the repository's integrity.
    Check {
        /// Also read and verify every data pack (slow: reads the whole repository).
        #[arg(long, conflicts_with = "read_data_subset")]
        read_data: bool,
        /// Read and verify only part of the packs: `n/t` (the n-th of t groups; run 1/t
        /// to t/t on successive days to cover everything), `x%`, or a size (`500MiB`).
        #[arg(long, value_name = "SUBSET")]
        read_data_subset: Option<String>,
        /// Also report blobs that no snapshot uses (errors) and blobs stored more than
        /// once (warnings); `prune` removes both.
        #[arg(long)]
        check_unused: bool,
    },
    /// Copy snapshots from another repository into this one (a second copy).
    Copy(CopyArgs),
    /// What the snapshots hold and what the repository stores (restic's `stats`).
    Stats {
        /// Snapshots (id, prefix, `latest`); every snapshot when none is named.
        snapshots: Vec<String>,
        /// `restore-size` (default): entries and the size a restore writes;
        /// `files-by-contents`: entries counted once per distinct content;
        /// `blobs-per-file`: each path's distinct blobs and their size; `raw-data`: the
        /// distinct blobs referenced and their stored size.
        #[arg(long, default_value = "restore-size", value_name = "MODE")]
        mode: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Add, remove or set the tags of snapshots (every snapshot when none is named).
    Tag {
        /// Snapshots (id, prefix, `latest`).
        snapshots: Vec<String>,
        /// Add this tag (repeatable; `a,b` adds both).
        #[arg(long, value_name = "TAG")]
        add: Vec<String>,
        /// Remove this tag (repeatable).
        #[arg(long, value_name = "TAG")]
        remove: Vec<String>,
        /// Replace all tags with these (repeatable; `--set ''` removes every tag).
        #[arg(long, value_name = "TAG", conflicts_with_all = ["add", "remove"])]
        set: Vec<String>,
    },
    /// Remove snapshots according to a retention policy.
    Forget(ForgetArgs),
    /// Remove data that no snapshot references.
    Prune,
    /// Repair a damaged repository (restic's `repair`).
    Repair {
        #[command(subcommand)]
        command: RepairCommand,
    },
    /// Manage the repository's keys (passwords).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Show which snapshot method each path would get, and why.
    Sources(SourcesArgs),
    /// Release snapshots, mounts and clone trees that crashed runs left behind.
    Cleanup,
    /// Run jobs from the job file: their commands, snapshot, backup and retention.
    Run(RunArgs),
    /// List the jobs of the job file, each with its schedule and last result.
    Jobs {
        /// Check instead that every scheduled job's last success is recent enough (its
        /// `max_age`, else twice its schedule's interval), as a Nagios/Icinga plugin:
        /// `OK`, `WARNING` (the last run failed) or `CRITICAL` (overdue, or never
        /// succeeded) first, exit 0, 1 or 2 (3 when the job file cannot be read).
        #[arg(long)]
        check: bool,
    },
    /// Prove that a job's backup restores: restore its newest snapshot (or --snapshot)
    /// into a private scratch directory, start and check what it holds (SQLite,
    /// PostgreSQL, MariaDB), check a sample of files against the snapshot, run the job's
    /// `[drill] command`, and record the result. See docs/DRILL.md.
    Drill {
        /// The job whose backup to prove.
        job: String,
        /// The snapshot to drill (id, prefix, `latest`); default: the job's newest.
        #[arg(long, value_name = "ID")]
        snapshot: Option<String>,
    },
    /// Print the Prometheus metrics of every job (what `[metrics] textfile` holds).
    Metrics,
    /// Test the notification targets of a job.
    Notify {
        #[command(subcommand)]
        command: NotifyCommand,
    },
    /// Show the past runs of a job (or of all jobs).
    History {
        /// Only this job.
        job: Option<String>,
        /// Show at most this many runs (the newest).
        #[arg(short = 'n', long, default_value_t = 20)]
        last: usize,
    },
    /// Work with the job file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Install, remove or list systemd timers for the scheduled jobs.
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Run scheduled jobs when they are due, for systems without systemd.
    Daemon {
        /// Exit after this many runs (for tests and one-shot use).
        #[arg(long, value_name = "N")]
        max_runs: Option<u64>,
        /// Serve the web console from the same process (its options as `umbra serve`'s).
        #[arg(long)]
        web: bool,
        #[command(flatten)]
        web_args: WebArgs,
    },
    /// Serve the local web console: every job's sources, consistency, freeze window and
    /// downtime; snapshots to browse, download and restore; run now (docs/WEB.md).
    Serve(WebArgs),
    /// Write shell completions and man pages, generated from this command line (restic's
    /// `generate`). `umbra generate --completions-dir contrib/completions --man-dir
    /// contrib/man` refreshes the copies kept in the source tree.
    Generate {
        /// Write `umbra.bash`, `_umbra` (zsh) and `umbra.fish` into this directory.
        #[arg(long, value_name = "DIR")]
        completions_dir: Option<PathBuf>,
        /// Write one man page per command (`umbra.1`, `umbra-backup.1`, ...) here.
        #[arg(long, value_name = "DIR")]
        man_dir: Option<PathBuf>,
    },
    /// Remove stale locks left by crashed processes.
    Unlock {
        /// Remove every lock, also those of running processes.
        #[arg(long)]
        remove_all: bool,
    },
}
