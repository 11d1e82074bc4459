//! The arguments of each command, as clap parses them (see the module above).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `--open-files`: what to do about files in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum OpenFilesArg {
    /// The best snapshot method available; read directly (with change detection) if none.
    #[default]
    Auto,
    /// Fail before reading anything if a source cannot be snapshotted.
    Required,
    /// Read directly, with change detection.
    Off,
}

/// `--snapshot`: insist on one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SnapshotArg {
    Btrfs,
    Lvm,
    Zfs,
    Reflink,
    /// Volume Shadow Copy (Windows).
    Vss,
    Direct,
}

/// How sources are frozen while they are read.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// What to do about files in use.
    #[arg(long, value_enum, default_value_t = OpenFilesArg::Auto)]
    pub open_files: OpenFilesArg,
    /// Use this snapshot method for every source (fails if it cannot be used).
    #[arg(long, value_enum, value_name = "METHOD")]
    pub snapshot: Option<SnapshotArg>,
    /// Copy-on-write area of classic LVM snapshots: N%ORIGIN or N%FREE (of the volume group).
    #[arg(long, value_name = "SIZE", default_value = "20%ORIGIN", value_parser = parse_lvm_size)]
    pub lvm_snapshot_size: String,
}

fn parse_lvm_size(s: &str) -> Result<String, String> {
    umbra_snapshot::lvm::parse_cow_size(s)
}

#[derive(Debug, Args)]
pub struct SourcesArgs {
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub snapshot: SnapshotArgs,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Files and directories to back up (with --stdin-from-command: the command and its
    /// arguments).
    #[arg(
        value_name = "PATH",
        required_unless_present_any = ["stdin", "files_from", "files_from_verbatim", "files_from_raw"],
        conflicts_with = "stdin"
    )]
    pub paths: Vec<PathBuf>,
    /// Read what to back up from FILE: one pattern per line, `#` starts a comment, globs
    /// (`*`, `?`, `[...]`) expanded as restic does; repeatable; `-` reads standard input.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stdin", "stdin_from_command"])]
    pub files_from: Vec<PathBuf>,
    /// Read paths from FILE, one per line, taken exactly as written (no globs); repeatable.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stdin", "stdin_from_command"])]
    pub files_from_verbatim: Vec<PathBuf>,
    /// Read at most N files at once (restic's `--read-concurrency`; default: one per
    /// core). 1 or 2 suits a spinning disk, where parallel reads mean seeks.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub read_concurrency: Option<u32>,
    /// Hold an application still while the snapshot is taken, as a job's
    /// `[[jobs.NAME.quiesce]]` does: `sqlite:/srv/app/app.db` (`sqlite` alone: every
    /// database under the paths), `postgres:'host=/run/postgresql user=postgres'`,
    /// `mysql:/run/mysqld/mysqld.sock`, `freeze:UNIT`. Repeatable; frozen in this order.
    #[arg(long, value_name = "TYPE:VALUE", conflicts_with_all = ["stdin", "stdin_from_command"])]
    pub quiesce: Vec<String>,
    /// The priority of reading and storing: `low` (the default: nice 19 and the idle I/O
    /// class, as `nice -n 19 ionice -c3`, with one CPU left free while other work uses
    /// it, so that running applications keep their speed) or `normal`. The snapshot and a freeze always run at
    /// umbra's own priority.
    #[arg(long, value_name = "PRIORITY", default_value = "low", value_parser = ["low", "normal"])]
    pub priority: String,
    /// Read the sources at most this fast, in MB/s (all readers together; 0.5 works).
    #[arg(long, value_name = "MB/s")]
    pub limit_read: Option<f64>,
    /// How the stored blobs are compressed (restic's `--compression`): `auto` (the
    /// repository's setting, zstd level 3 unless changed), `off`, `fastest` (level 1),
    /// `max` (level 11) or a zstd level from 1 to 22.
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub compression: String,
    /// Read paths separated by NUL bytes from FILE (`find -print0`); repeatable.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stdin", "stdin_from_command"])]
    pub files_from_raw: Vec<PathBuf>,
    /// Back up standard input as one file, `/NAME` (see --stdin-filename).
    #[arg(long, conflicts_with = "stdin_from_command")]
    pub stdin: bool,
    /// Back up the output of the command given as the arguments (after `--`); the backup
    /// fails, and saves no snapshot, if the command does not end with 0.
    #[arg(long)]
    pub stdin_from_command: bool,
    /// The file name for --stdin and --stdin-from-command.
    #[arg(long, value_name = "NAME", default_value = "stdin")]
    pub stdin_filename: String,
    #[command(flatten)]
    pub snapshot: SnapshotArgs,
    /// Only show what would be done for each source, and why.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// How often a file that changed while it was read is read again (files up to 8 MiB).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub change_retries: u32,
    /// Leave out paths matching this glob (repeatable).
    #[arg(short = 'e', long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Read exclude globs from this file, one per line (repeatable).
    #[arg(long, value_name = "FILE")]
    pub exclude_file: Vec<PathBuf>,
    /// Like --exclude, ignoring case (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub iexclude: Vec<String>,
    /// Leave out directories that hold a file of this name (repeatable).
    #[arg(long, value_name = "FILENAME")]
    pub exclude_if_present: Vec<String>,
    /// Leave out files larger than this (`500K`, `2M`, `1G`).
    #[arg(long, value_name = "SIZE")]
    pub exclude_larger_than: Option<String>,
    /// Leave out directories that hold a CACHEDIR.TAG file.
    #[arg(long)]
    pub exclude_caches: bool,
    /// How files are cut into chunks: `auto` (fixed-size chunks for large databases and VM
    /// images, restic's content-defined chunks otherwise), `content`, `fixed`, `fixed:SIZE`.
    #[arg(long, value_name = "POLICY", default_value = "auto")]
    pub chunking: String,
    /// Keep a btrfs or reflink snapshot as the base of the next backup, which then reads
    /// only the changed extents of large files: `auto` (where large databases or VM images
    /// are), `always`, `never` (and release an existing base).
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub keep_base: String,
    /// Compare with this snapshot instead of the newest of the same host and paths.
    #[arg(long, value_name = "SNAPSHOT", conflicts_with = "force")]
    pub parent: Option<String>,
    /// The snapshot's time instead of now: `YYYY-MM-DD HH:MM:SS`, local time.
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// Store each file's access time (otherwise its modification time stands in).
    #[arg(long)]
    pub with_atime: bool,
    /// Do not cross filesystem boundaries.
    #[arg(short = 'x', long)]
    pub one_file_system: bool,
    /// Add a tag to the snapshot (repeatable).
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Record this host name instead of the machine's.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Read every file, ignoring the previous snapshot.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum RepairCommand {
    /// Rebuild the index from the packs the repository has: drop packs that are gone,
    /// add packs nothing indexes. Then a backup stores lost data again.
    Index {
        /// Read every pack's header, not only those the index does not name.
        #[arg(long)]
        read_all_packs: bool,
        /// Say what would change; change nothing.
        #[arg(short = 'n', long)]
        dry_run: bool,
    },
    /// Rewrite the snapshots that refer to data the index no longer has (run
    /// `umbra repair index` first): damaged files get the suffix `.repaired`, unreadable
    /// directories become empty, new snapshots are tagged `repaired`.
    Snapshots {
        /// Remove the original snapshots once repaired copies are written.
        #[arg(long)]
        forget: bool,
        /// Say what would change; change nothing.
        #[arg(short = 'n', long)]
        dry_run: bool,
    },
}

/// `umbra find`: restic's flags.
#[derive(Debug, Args)]
pub struct FindArgs {
    /// Glob patterns, as `restore --include` takes them (`*.sql`, `etc/**/*.conf`).
    #[arg(required = true)]
    pub patterns: Vec<String>,
    /// Only in this snapshot (repeatable); every snapshot when not given.
    #[arg(short, long = "snapshot", value_name = "ID")]
    pub snapshots: Vec<String>,
    /// Only entries modified at or after this local time (`2024-05-06`, `2024-05-06
    /// 07:08[:09]`, `06.05.2024 ...`, as restic takes it).
    #[arg(short = 'O', long, value_name = "TIME")]
    pub oldest: Option<String>,
    /// Only entries modified at or before this local time (formats as --oldest).
    #[arg(short = 'N', long, value_name = "TIME")]
    pub newest: Option<String>,
    /// Match the patterns regardless of case.
    #[arg(short = 'i', long)]
    pub ignore_case: bool,
    /// Long listing: mode, owner, size and time, as `ls -l`.
    #[arg(short = 'l', long)]
    pub long: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Snapshot id, prefix or `latest`; `ID:PATH` restores only PATH.
    pub snapshot: String,
    /// Directory to restore into.
    #[arg(short, long, value_name = "DIR")]
    pub target: PathBuf,
    /// Restore only paths matching this glob (repeatable).
    #[arg(short = 'i', long, value_name = "PATTERN")]
    pub include: Vec<String>,
    /// Do not restore paths matching this glob (repeatable).
    #[arg(short = 'e', long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// What to do with files that already exist in the target: `always` (replace what
    /// differs; the default), `if-changed` (trust size and mtime), `if-newer` (only when
    /// the snapshot's file is newer), `never`.
    #[arg(long, value_name = "MODE", default_value = "always")]
    pub overwrite: String,
    /// Remove files and directories the snapshot does not have from the restored
    /// directories of the target.
    #[arg(long)]
    pub delete: bool,
    /// Say what would be restored, replaced and deleted; change nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Restore even if the target's free space looks too small (the check counts runs of
    /// zeros as holes, but cannot know what the target's filesystem compresses or shares).
    #[arg(long)]
    pub skip_space_check: bool,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Snapshots to remove by id (or prefix, or `latest`), instead of a policy.
    #[arg(conflicts_with_all = ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly", "keep_within"])]
    pub snapshots: Vec<String>,
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<u32>,
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    #[arg(long, value_name = "N")]
    pub keep_yearly: Option<u32>,
    /// Keep snapshots newer than this duration before the latest (e.g. 1y6m, 7d, 2d12h).
    #[arg(long, value_name = "DURATION")]
    pub keep_within: Option<String>,
    /// Also prune: remove the data only the forgotten snapshots used.
    #[arg(long)]
    pub prune: bool,
    /// Only show what would be removed.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Add a key; its password comes from --new-password-file or a prompt.
    Add {
        #[arg(long, value_name = "FILE")]
        new_password_file: Option<PathBuf>,
    },
    /// List the keys.
    List,
    /// Remove a key by id (prefix).
    Remove { id: String },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The jobs to run, in this order.
    #[arg(
        value_name = "JOB",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub jobs: Vec<String>,
    /// Run every job of the job file, in name order.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send one test event to each target of JOB and print what each answered
    /// (healthchecks gets it at `/log`, which changes no check's state).
    Test {
        /// The job whose targets to test.
        job: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the job file without running anything: syntax, keys, types, schedules, and
    /// that the paths it names exist.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Write a systemd service and timer for each scheduled job, and enable the timers.
    Install {
        /// Write the units here instead of the systemd directory, and enable nothing.
        #[arg(long, value_name = "DIR")]
        unit_dir: Option<PathBuf>,
    },
    /// Disable and remove the units umbra wrote (all of them, or those of the named jobs).
    Remove {
        jobs: Vec<String>,
        #[arg(long, value_name = "DIR")]
        unit_dir: Option<PathBuf>,
    },
    /// List the scheduled jobs, their next run, and whether their timers are installed.
    List {
        #[arg(long, value_name = "DIR")]
        unit_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The repository to copy from; -r/--repo names the one to copy into, as in restic.
    #[arg(long, env = "UMBRA_FROM_REPOSITORY", value_name = "REPO")]
    pub from_repo: String,
    /// File holding the password of the repository copied from.
    #[arg(long, env = "UMBRA_FROM_PASSWORD_FILE", value_name = "FILE")]
    pub from_password_file: Option<PathBuf>,
    /// Snapshots to copy (id, prefix, `latest`); every snapshot when none is named.
    pub snapshots: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Take the chunker parameters (and compression) of this repository, so that `copy`
    /// between the two deduplicates (restic's `init --copy-chunker-params`).
    #[arg(long, requires = "from_repo")]
    pub copy_chunker_params: bool,
    /// The repository whose parameters to take.
    #[arg(
        long,
        env = "UMBRA_FROM_REPOSITORY",
        value_name = "REPO",
        requires = "copy_chunker_params"
    )]
    pub from_repo: Option<String>,
    /// File holding the password of --from-repo.
    #[arg(long, env = "UMBRA_FROM_PASSWORD_FILE", value_name = "FILE")]
    pub from_password_file: Option<PathBuf>,
}

/// restic's snapshot filter.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// Only snapshots of this host (repeatable: any of them).
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Only snapshots with these tags (`a,b`: both; repeatable: any of the lists).
    #[arg(long = "tag", value_name = "TAGS")]
    pub tags: Vec<String>,
    /// Only snapshots that include this path (repeatable: all of them).
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// `umbra snapshots`: restic's filters, and how many of the newest to show.
#[derive(Debug, Clone, Args)]
pub struct SnapshotsArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only the newest N snapshots of each host and set of paths (restic's `--latest`).
    #[arg(long, value_name = "N")]
    pub latest: Option<usize>,
    /// Group the list by `host`, `paths` and/or `tags` (comma-separated, restic's
    /// `--group-by`); with --json, restic's `[{group_key, snapshots}]`.
    #[arg(long, short = 'g', value_name = "host,paths,tags")]
    pub group_by: Option<String>,
    /// A narrower table: ID, time, host, consistency and tags, no paths (restic's
    /// `--compact`; its `-c` is umbra's --config).
    #[arg(long)]
    pub compact: bool,
}

impl FilterArgs {
    #[must_use]
    pub fn to_filter(&self) -> umbra_repo::snapshots::SnapshotFilter {
        umbra_repo::snapshots::SnapshotFilter {
            hosts: self.hosts.clone(),
            tags: self.tags.clone(),
            paths: self.paths.clone(),
        }
    }
}

/// The web console's options (`umbra serve`, `umbra daemon --web`).
#[derive(Debug, Clone, Args)]
pub struct WebArgs {
    /// Where the console listens. Anything but a loopback address needs TLS
    /// (--tls-cert, --tls-key) or --insecure-http.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9474")]
    pub listen: std::net::SocketAddr,
    /// The TLS certificate chain (PEM): the console serves HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (the token crosses the network in the
    /// clear; a warning says so).
    #[arg(long, conflicts_with = "tls_cert")]
    pub insecure_http: bool,
    /// Print the login link (with the access token) and exit.
    #[arg(long)]
    pub print_url: bool,
    /// Also accept a read-only token (created beside the access token): it can see and
    /// download, not run, restore or change anything.
    #[arg(long)]
    pub read_only_token: bool,
    /// Let the console change the job file: each source's open-files setting and the
    /// `before` and `after_snapshot` commands (checked as `config check` checks them;
    /// comments kept; the previous file kept as FILE.previous).
    #[arg(long)]
    pub allow_edit: bool,
    /// Serve /metrics without a token (for a Prometheus server on the same host).
    #[arg(long)]
    pub metrics_public: bool,
    /// Another host name the console answers to (for a reverse proxy or DNS name);
    /// requests naming any other host are refused. Repeatable.
    #[arg(long = "host-name", value_name = "NAME")]
    pub host_names: Vec<String>,
}
