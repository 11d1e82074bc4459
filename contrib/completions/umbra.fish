# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_umbra_global_optspecs
    string join \n r/repo= c/config= o/option= password-file= password-command= cache-dir= no-cache limit-upload= limit-download= cleanup-cache json q/quiet v/verbose no-lock h/help V/version
end

function __fish_umbra_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_umbra_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_umbra_using_subcommand
    set -l cmd (__fish_umbra_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c umbra -n "__fish_umbra_needs_command" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_needs_command" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_needs_command" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_needs_command" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_needs_command" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_needs_command" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_needs_command" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_needs_command" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_needs_command" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_needs_command" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_needs_command" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_needs_command" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_needs_command" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_needs_command" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_needs_command" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_needs_command" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "init" -d 'Create a new repository'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "backup" -d 'Back up files and directories'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "snapshots" -d 'List snapshots'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "show" -d 'Show one snapshot in full, with its consistency record'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "ls" -d 'List the files of a snapshot'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "restore" -d 'Restore a snapshot into a directory'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "find" -d 'Find files and directories by name in snapshots'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "mount" -d 'Mount the repository\'s snapshots as a read-only filesystem (restic\'s layout: ids/, snapshots/, hosts/, tags/). Runs until `umount DIR` or Ctrl-C'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "cat" -d 'Print a repository file or blob: config, index ID, snapshot ID, key ID, pack ID, blob ID, tree ID (restic\'s `cat`)'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "dump" -d 'Write one file of a snapshot to standard output, or a directory as a tar archive (restic\'s `dump`)'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "diff" -d 'Show what changed between two snapshots (`ID` or `ID:PATH` each), in restic\'s letters: + added, - removed, M content modified (M? when nothing else changed: probably bitrot), T type changed, U metadata only (with --metadata)'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "check" -d 'Verify the repository\'s integrity'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "copy" -d 'Copy snapshots from another repository into this one (a second copy)'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "stats" -d 'What the snapshots hold and what the repository stores (restic\'s `stats`)'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "tag" -d 'Add, remove or set the tags of snapshots (every snapshot when none is named)'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "forget" -d 'Remove snapshots according to a retention policy'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "prune" -d 'Remove data that no snapshot references'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "repair" -d 'Repair a damaged repository (restic\'s `repair`)'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "key" -d 'Manage the repository\'s keys (passwords)'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "sources" -d 'Show which snapshot method each path would get, and why'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "cleanup" -d 'Release snapshots, mounts and clone trees that crashed runs left behind'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "run" -d 'Run jobs from the job file: their commands, snapshot, backup and retention'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "jobs" -d 'List the jobs of the job file, each with its schedule and last result'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "drill" -d 'Prove that a job\'s backup restores: restore its newest snapshot (or --snapshot) into a private scratch directory, start and check what it holds (SQLite, PostgreSQL, MariaDB), check a sample of files against the snapshot, run the job\'s `[drill] command`, and record the result. See docs/DRILL.md'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "metrics" -d 'Print the Prometheus metrics of every job (what `[metrics] textfile` holds)'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "notify" -d 'Test the notification targets of a job'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "history" -d 'Show the past runs of a job (or of all jobs)'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "config" -d 'Work with the job file'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "schedule" -d 'Install, remove or list systemd timers for the scheduled jobs'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "daemon" -d 'Run scheduled jobs when they are due, for systems without systemd'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "serve" -d 'Serve the local web console: every job\'s sources, consistency, freeze window and downtime; snapshots to browse, download and restore; run now (docs/WEB.md)'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "generate" -d 'Write shell completions and man pages, generated from this command line (restic\'s `generate`). `umbra generate --completions-dir contrib/completions --man-dir contrib/man` refreshes the copies kept in the source tree'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "unlock" -d 'Remove stale locks left by crashed processes'
complete -c umbra -n "__fish_umbra_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand init" -l from-repo -d 'The repository whose parameters to take' -r
complete -c umbra -n "__fish_umbra_using_subcommand init" -l from-password-file -d 'File holding the password of --from-repo' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand init" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand init" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand init" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand init" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand init" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand init" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand init" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand init" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand init" -l copy-chunker-params -d 'Take the chunker parameters (and compression) of this repository, so that `copy` between the two deduplicates (restic\'s `init --copy-chunker-params`)'
complete -c umbra -n "__fish_umbra_using_subcommand init" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand init" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand init" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand init" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand init" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand init" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand init" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand init" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l files-from -d 'Read what to back up from FILE: one pattern per line, `#` starts a comment, globs (`*`, `?`, `[...]`) expanded as restic does; repeatable; `-` reads standard input' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l files-from-verbatim -d 'Read paths from FILE, one per line, taken exactly as written (no globs); repeatable' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l read-concurrency -d 'Read at most N files at once (restic\'s `--read-concurrency`; default: one per core). 1 or 2 suits a spinning disk, where parallel reads mean seeks' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l quiesce -d 'Hold an application still while the snapshot is taken, as a job\'s `[[jobs.NAME.quiesce]]` does: `sqlite:/srv/app/app.db` (`sqlite` alone: every database under the paths), `postgres:\'host=/run/postgresql user=postgres\'`, `mysql:/run/mysqld/mysqld.sock`, `freeze:UNIT`. Repeatable; frozen in this order' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l priority -d 'The priority of reading and storing: `low` (the default: nice 19 and the idle I/O class, as `nice -n 19 ionice -c3`, with one CPU left free while other work uses it, so that running applications keep their speed) or `normal`. The snapshot and a freeze always run at umbra\'s own priority' -r -f -a "low\t''
normal\t''"
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l limit-read -d 'Read the sources at most this fast, in MB/s (all readers together; 0.5 works)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l compression -d 'How the stored blobs are compressed (restic\'s `--compression`): `auto` (the repository\'s setting, zstd level 3 unless changed), `off`, `fastest` (level 1), `max` (level 11) or a zstd level from 1 to 22' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l files-from-raw -d 'Read paths separated by NUL bytes from FILE (`find -print0`); repeatable' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l stdin-filename -d 'The file name for --stdin and --stdin-from-command' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l open-files -d 'What to do about files in use' -r -f -a "auto\t'The best snapshot method available; read directly (with change detection) if none'
required\t'Fail before reading anything if a source cannot be snapshotted'
off\t'Read directly, with change detection'"
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l snapshot -d 'Use this snapshot method for every source (fails if it cannot be used)' -r -f -a "btrfs\t''
lvm\t''
zfs\t''
reflink\t''
vss\t'Volume Shadow Copy (Windows)'
direct\t''"
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l lvm-snapshot-size -d 'Copy-on-write area of classic LVM snapshots: N%ORIGIN or N%FREE (of the volume group)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l change-retries -d 'How often a file that changed while it was read is read again (files up to 8 MiB)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -s e -l exclude -d 'Leave out paths matching this glob (repeatable)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l exclude-file -d 'Read exclude globs from this file, one per line (repeatable)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l iexclude -d 'Like --exclude, ignoring case (repeatable)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l exclude-if-present -d 'Leave out directories that hold a file of this name (repeatable)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l exclude-larger-than -d 'Leave out files larger than this (`500K`, `2M`, `1G`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l chunking -d 'How files are cut into chunks: `auto` (fixed-size chunks for large databases and VM images, restic\'s content-defined chunks otherwise), `content`, `fixed`, `fixed:SIZE`' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l keep-base -d 'Keep a btrfs or reflink snapshot as the base of the next backup, which then reads only the changed extents of large files: `auto` (where large databases or VM images are), `always`, `never` (and release an existing base)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l parent -d 'Compare with this snapshot instead of the newest of the same host and paths' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l time -d 'The snapshot\'s time instead of now: `YYYY-MM-DD HH:MM:SS`, local time' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l tag -d 'Add a tag to the snapshot (repeatable)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l host -d 'Record this host name instead of the machine\'s' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand backup" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l stdin -d 'Back up standard input as one file, `/NAME` (see --stdin-filename)'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l stdin-from-command -d 'Back up the output of the command given as the arguments (after `--`); the backup fails, and saves no snapshot, if the command does not end with 0'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -s n -l dry-run -d 'Only show what would be done for each source, and why'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l exclude-caches -d 'Leave out directories that hold a CACHEDIR.TAG file'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l with-atime -d 'Store each file\'s access time (otherwise its modification time stands in)'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -s x -l one-file-system -d 'Do not cross filesystem boundaries'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l force -d 'Read every file, ignoring the previous snapshot'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c umbra -n "__fish_umbra_using_subcommand backup" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l host -d 'Only snapshots of this host (repeatable: any of them)' -r
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l tag -d 'Only snapshots with these tags (`a,b`: both; repeatable: any of the lists)' -r
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l path -d 'Only snapshots that include this path (repeatable: all of them)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l latest -d 'Only the newest N snapshots of each host and set of paths (restic\'s `--latest`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -s g -l group-by -d 'Group the list by `host`, `paths` and/or `tags` (comma-separated, restic\'s `--group-by`); with --json, restic\'s `[{group_key, snapshots}]`' -r
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l compact -d 'A narrower table: ID, time, host, consistency and tags, no paths (restic\'s `--compact`; its `-c` is umbra\'s --config)'
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand snapshots" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand show" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand show" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand show" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand show" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand show" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand show" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand show" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand show" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand show" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand show" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand show" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand show" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand show" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand show" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand show" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand show" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l host -d 'Only snapshots of this host (repeatable: any of them)' -r
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l tag -d 'Only snapshots with these tags (`a,b`: both; repeatable: any of the lists)' -r
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l path -d 'Only snapshots that include this path (repeatable: all of them)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand ls" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand ls" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand ls" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand ls" -s l -l long -d 'Long listing, as restic\'s `ls -l`: mode, uid, gid, size, time, path'
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand ls" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand ls" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand ls" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand ls" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand ls" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l host -d 'Only snapshots of this host (repeatable: any of them)' -r
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l tag -d 'Only snapshots with these tags (`a,b`: both; repeatable: any of the lists)' -r
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l path -d 'Only snapshots that include this path (repeatable: all of them)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand restore" -s t -l target -d 'Directory to restore into' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand restore" -s i -l include -d 'Restore only paths matching this glob (repeatable)' -r
complete -c umbra -n "__fish_umbra_using_subcommand restore" -s e -l exclude -d 'Do not restore paths matching this glob (repeatable)' -r
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l overwrite -d 'What to do with files that already exist in the target: `always` (replace what differs; the default), `if-changed` (trust size and mtime), `if-newer` (only when the snapshot\'s file is newer), `never`' -r
complete -c umbra -n "__fish_umbra_using_subcommand restore" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand restore" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand restore" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l delete -d 'Remove files and directories the snapshot does not have from the restored directories of the target'
complete -c umbra -n "__fish_umbra_using_subcommand restore" -s n -l dry-run -d 'Say what would be restored, replaced and deleted; change nothing'
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l skip-space-check -d 'Restore even if the target\'s free space looks too small (the check counts runs of zeros as holes, but cannot know what the target\'s filesystem compresses or shares)'
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand restore" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand restore" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand restore" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand restore" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand restore" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand find" -s s -l snapshot -d 'Only in this snapshot (repeatable); every snapshot when not given' -r
complete -c umbra -n "__fish_umbra_using_subcommand find" -s O -l oldest -d 'Only entries modified at or after this local time (`2024-05-06`, `2024-05-06 07:08[:09]`, `06.05.2024 ...`, as restic takes it)' -r
complete -c umbra -n "__fish_umbra_using_subcommand find" -s N -l newest -d 'Only entries modified at or before this local time (formats as --oldest)' -r
complete -c umbra -n "__fish_umbra_using_subcommand find" -l host -d 'Only snapshots of this host (repeatable: any of them)' -r
complete -c umbra -n "__fish_umbra_using_subcommand find" -l tag -d 'Only snapshots with these tags (`a,b`: both; repeatable: any of the lists)' -r
complete -c umbra -n "__fish_umbra_using_subcommand find" -l path -d 'Only snapshots that include this path (repeatable: all of them)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand find" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand find" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand find" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand find" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand find" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand find" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand find" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand find" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand find" -s i -l ignore-case -d 'Match the patterns regardless of case'
complete -c umbra -n "__fish_umbra_using_subcommand find" -s l -l long -d 'Long listing: mode, owner, size and time, as `ls -l`'
complete -c umbra -n "__fish_umbra_using_subcommand find" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand find" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand find" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand find" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand find" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand find" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand find" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand find" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l host -d 'Only snapshots of this host (repeatable: any of them)' -r
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l tag -d 'Only snapshots with these tags (`a,b`: both; repeatable: any of the lists)' -r
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l path -d 'Only snapshots that include this path (repeatable: all of them)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand mount" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand mount" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand mount" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand mount" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand mount" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand mount" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand mount" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand mount" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand cat" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand cat" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand cat" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand cat" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand cat" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand cat" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand cat" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand cat" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand cat" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand cat" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand cat" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand cat" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand cat" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand cat" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand cat" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand cat" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l archive -d 'The archive format for a directory: `tar` (restic\'s default) or `zip`' -r
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l host -d 'Only snapshots of this host (repeatable: any of them)' -r
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l tag -d 'Only snapshots with these tags (`a,b`: both; repeatable: any of the lists)' -r
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l path -d 'Only snapshots that include this path (repeatable: all of them)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand dump" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand dump" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand dump" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand dump" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand dump" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand dump" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand dump" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand dump" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand diff" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand diff" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand diff" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand diff" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand diff" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand diff" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand diff" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand diff" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand diff" -l metadata -d 'Also list entries whose metadata alone changed (mode, owner, times, inode)'
complete -c umbra -n "__fish_umbra_using_subcommand diff" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand diff" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand diff" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand diff" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand diff" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand diff" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand diff" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand diff" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand check" -l read-data-subset -d 'Read and verify only part of the packs: `n/t` (the n-th of t groups; run 1/t to t/t on successive days to cover everything), `x%`, or a size (`500MiB`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand check" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand check" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand check" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand check" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand check" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand check" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand check" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand check" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand check" -l read-data -d 'Also read and verify every data pack (slow: reads the whole repository)'
complete -c umbra -n "__fish_umbra_using_subcommand check" -l check-unused -d 'Also report blobs that no snapshot uses (errors) and blobs stored more than once (warnings); `prune` removes both'
complete -c umbra -n "__fish_umbra_using_subcommand check" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand check" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand check" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand check" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand check" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand check" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand check" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand check" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand copy" -l from-repo -d 'The repository to copy from; -r/--repo names the one to copy into, as in restic' -r
complete -c umbra -n "__fish_umbra_using_subcommand copy" -l from-password-file -d 'File holding the password of the repository copied from' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand copy" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand copy" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand copy" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand copy" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand copy" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand copy" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand copy" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand copy" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand copy" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand copy" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand copy" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand copy" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand copy" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand copy" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand copy" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand copy" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l mode -d '`restore-size` (default): entries and the size a restore writes; `files-by-contents`: entries counted once per distinct content; `blobs-per-file`: each path\'s distinct blobs and their size; `raw-data`: the distinct blobs referenced and their stored size' -r
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l host -d 'Only snapshots of this host (repeatable: any of them)' -r
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l tag -d 'Only snapshots with these tags (`a,b`: both; repeatable: any of the lists)' -r
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l path -d 'Only snapshots that include this path (repeatable: all of them)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand stats" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand stats" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand stats" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand stats" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand stats" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand stats" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand stats" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand stats" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l add -d 'Add this tag (repeatable; `a,b` adds both)' -r
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l remove -d 'Remove this tag (repeatable)' -r
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l set -d 'Replace all tags with these (repeatable; `--set \'\'` removes every tag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand tag" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand tag" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand tag" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand tag" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand tag" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand tag" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand tag" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand tag" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l host -d 'Only snapshots of this host (repeatable: any of them)' -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l tag -d 'Only snapshots with these tags (`a,b`: both; repeatable: any of the lists)' -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l path -d 'Only snapshots that include this path (repeatable: all of them)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l keep-last -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l keep-hourly -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l keep-daily -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l keep-weekly -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l keep-monthly -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l keep-yearly -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l keep-within -d 'Keep snapshots newer than this duration before the latest (e.g. 1y6m, 7d, 2d12h)' -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand forget" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l prune -d 'Also prune: remove the data only the forgotten snapshots used'
complete -c umbra -n "__fish_umbra_using_subcommand forget" -s n -l dry-run -d 'Only show what would be removed'
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand forget" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand forget" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand forget" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand forget" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand forget" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand prune" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand prune" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand prune" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand prune" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand prune" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand prune" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand prune" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand prune" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand prune" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand prune" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand prune" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand prune" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand prune" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand prune" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand prune" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand prune" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -f -a "index" -d 'Rebuild the index from the packs the repository has: drop packs that are gone, add packs nothing indexes. Then a backup stores lost data again'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -f -a "snapshots" -d 'Rewrite the snapshots that refer to data the index no longer has (run `umbra repair index` first): damaged files get the suffix `.repaired`, unreadable directories become empty, new snapshots are tagged `repaired`'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and not __fish_seen_subcommand_from index snapshots help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -l read-all-packs -d 'Read every pack\'s header, not only those the index does not name'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -s n -l dry-run -d 'Say what would change; change nothing'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from index" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -l forget -d 'Remove the original snapshots once repaired copies are written'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -s n -l dry-run -d 'Say what would change; change nothing'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from snapshots" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from help" -f -a "index" -d 'Rebuild the index from the packs the repository has: drop packs that are gone, add packs nothing indexes. Then a backup stores lost data again'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from help" -f -a "snapshots" -d 'Rewrite the snapshots that refer to data the index no longer has (run `umbra repair index` first): damaged files get the suffix `.repaired`, unreadable directories become empty, new snapshots are tagged `repaired`'
complete -c umbra -n "__fish_umbra_using_subcommand repair; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -f -a "add" -d 'Add a key; its password comes from --new-password-file or a prompt'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -f -a "list" -d 'List the keys'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -f -a "remove" -d 'Remove a key by id (prefix)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and not __fish_seen_subcommand_from add list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -l new-password-file -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a key; its password comes from --new-password-file or a prompt'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the keys'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a key by id (prefix)'
complete -c umbra -n "__fish_umbra_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l open-files -d 'What to do about files in use' -r -f -a "auto\t'The best snapshot method available; read directly (with change detection) if none'
required\t'Fail before reading anything if a source cannot be snapshotted'
off\t'Read directly, with change detection'"
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l snapshot -d 'Use this snapshot method for every source (fails if it cannot be used)' -r -f -a "btrfs\t''
lvm\t''
zfs\t''
reflink\t''
vss\t'Volume Shadow Copy (Windows)'
direct\t''"
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l lvm-snapshot-size -d 'Copy-on-write area of classic LVM snapshots: N%ORIGIN or N%FREE (of the volume group)' -r
complete -c umbra -n "__fish_umbra_using_subcommand sources" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand sources" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand sources" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand sources" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand sources" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand sources" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand sources" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c umbra -n "__fish_umbra_using_subcommand sources" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand cleanup" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand run" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand run" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand run" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand run" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand run" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand run" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand run" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand run" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand run" -l all -d 'Run every job of the job file, in name order'
complete -c umbra -n "__fish_umbra_using_subcommand run" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand run" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand run" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand run" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand run" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand run" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand run" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand run" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -l check -d 'Check instead that every scheduled job\'s last success is recent enough (its `max_age`, else twice its schedule\'s interval), as a Nagios/Icinga plugin: `OK`, `WARNING` (the last run failed) or `CRITICAL` (overdue, or never succeeded) first, exit 0, 1 or 2 (3 when the job file cannot be read)'
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand jobs" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand drill" -l snapshot -d 'The snapshot to drill (id, prefix, `latest`); default: the job\'s newest' -r
complete -c umbra -n "__fish_umbra_using_subcommand drill" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand drill" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand drill" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand drill" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand drill" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand drill" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand drill" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand drill" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand drill" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand drill" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand drill" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand drill" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand drill" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand drill" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand drill" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand drill" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand metrics" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -f -a "test" -d 'Send one test event to each target of JOB and print what each answered (healthchecks gets it at `/log`, which changes no check\'s state)'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and not __fish_seen_subcommand_from test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from help" -f -a "test" -d 'Send one test event to each target of JOB and print what each answered (healthchecks gets it at `/log`, which changes no check\'s state)'
complete -c umbra -n "__fish_umbra_using_subcommand notify; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand history" -s n -l last -d 'Show at most this many runs (the newest)' -r
complete -c umbra -n "__fish_umbra_using_subcommand history" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand history" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand history" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand history" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand history" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand history" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand history" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand history" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand history" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand history" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand history" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand history" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand history" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand history" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand history" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand history" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "check" -d 'Validate the job file without running anything: syntax, keys, types, schedules, and that the paths it names exist'
complete -c umbra -n "__fish_umbra_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Validate the job file without running anything: syntax, keys, types, schedules, and that the paths it names exist'
complete -c umbra -n "__fish_umbra_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -f -a "install" -d 'Write a systemd service and timer for each scheduled job, and enable the timers'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -f -a "remove" -d 'Disable and remove the units umbra wrote (all of them, or those of the named jobs)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -f -a "list" -d 'List the scheduled jobs, their next run, and whether their timers are installed'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and not __fish_seen_subcommand_from install remove list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -l unit-dir -d 'Write the units here instead of the systemd directory, and enable nothing' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l unit-dir -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -l unit-dir -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "install" -d 'Write a systemd service and timer for each scheduled job, and enable the timers'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Disable and remove the units umbra wrote (all of them, or those of the named jobs)'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the scheduled jobs, their next run, and whether their timers are installed'
complete -c umbra -n "__fish_umbra_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l max-runs -d 'Exit after this many runs (for tests and one-shot use)' -r
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l listen -d 'Where the console listens. Anything but a loopback address needs TLS (--tls-cert, --tls-key) or --insecure-http' -r
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l tls-cert -d 'The TLS certificate chain (PEM): the console serves HTTPS' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l tls-key -d 'The certificate\'s private key (PEM)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l host-name -d 'Another host name the console answers to (for a reverse proxy or DNS name); requests naming any other host are refused. Repeatable' -r
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l web -d 'Serve the web console from the same process (its options as `umbra serve`\'s)'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l insecure-http -d 'Serve plain HTTP on a non-loopback address (the token crosses the network in the clear; a warning says so)'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l print-url -d 'Print the login link (with the access token) and exit'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l read-only-token -d 'Also accept a read-only token (created beside the access token): it can see and download, not run, restore or change anything'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l allow-edit -d 'Let the console change the job file: each source\'s open-files setting and the `before` and `after_snapshot` commands (checked as `config check` checks them; comments kept; the previous file kept as FILE.previous)'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l metrics-public -d 'Serve /metrics without a token (for a Prometheus server on the same host)'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand daemon" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l listen -d 'Where the console listens. Anything but a loopback address needs TLS (--tls-cert, --tls-key) or --insecure-http' -r
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l tls-cert -d 'The TLS certificate chain (PEM): the console serves HTTPS' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l tls-key -d 'The certificate\'s private key (PEM)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l host-name -d 'Another host name the console answers to (for a reverse proxy or DNS name); requests naming any other host are refused. Repeatable' -r
complete -c umbra -n "__fish_umbra_using_subcommand serve" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand serve" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand serve" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l insecure-http -d 'Serve plain HTTP on a non-loopback address (the token crosses the network in the clear; a warning says so)'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l print-url -d 'Print the login link (with the access token) and exit'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l read-only-token -d 'Also accept a read-only token (created beside the access token): it can see and download, not run, restore or change anything'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l allow-edit -d 'Let the console change the job file: each source\'s open-files setting and the `before` and `after_snapshot` commands (checked as `config check` checks them; comments kept; the previous file kept as FILE.previous)'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l metrics-public -d 'Serve /metrics without a token (for a Prometheus server on the same host)'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand serve" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand generate" -l completions-dir -d 'Write `umbra.bash`, `_umbra` (zsh) and `umbra.fish` into this directory' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand generate" -l man-dir -d 'Write one man page per command (`umbra.1`, `umbra-backup.1`, ...) here' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand generate" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand generate" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand generate" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand generate" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand generate" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand generate" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand generate" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand generate" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand generate" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand generate" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand generate" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand generate" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand generate" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand generate" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand generate" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand generate" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -s r -l repo -d 'Repository location: a directory, `s3:https://host/bucket/prefix`, `sftp:user@host:/path`, `rest:https://host:port/path` or `rclone:remote:path` (docs/STORAGE.md). Default: the job file\'s repository, then RESTIC_REPOSITORY (or RESTIC_REPOSITORY_FILE), then the per-user default repository' -r
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -s c -l config -d 'The job file (default: /etc/umbra/umbra.toml for root, ~/.config/umbra/umbra.toml for others). Its [repository] is used when -r is not given' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -s o -l option -d 'A remote repository\'s option, as restic\'s `-o`: `s3.timeout=30s` (how long one request may take), `s3.retry=5` (how often a failed request is tried again), `s3.connections=N`, `s3.region=R`, `s3.storage-class=C`; `rest.`, `rclone.` and `sftp.` take timeout and retry (sftp also connections)' -r
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -l password-file -d 'File holding the repository password' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -l password-command -d 'Command that prints the repository password (run with `sh -c`)' -r
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -l cache-dir -d 'The local cache directory (default: UMBRA_CACHE_DIR, else ~/.cache/umbra)' -r -F
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -l limit-upload -d 'Limit uploads to the repository to this many KiB/s (restic\'s flag; every kind of repository, all of the command\'s transfers together)' -r
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -l limit-download -d 'Limit downloads from the repository to this many KiB/s (restic\'s flag)' -r
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -l remove-all -d 'Remove every lock, also those of running processes'
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -l no-cache -d 'Use no local cache (every file is read from the repository)'
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -l cleanup-cache -d 'Remove the caches of repositories not opened for 30 days (restic\'s flag)'
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -l json -d 'Print machine-readable JSON lines instead of text'
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -s q -l quiet -d 'Print only errors'
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -s v -l verbose -d 'Print more detail (repeat for even more)'
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -l no-lock -d 'Do not lock the repository, for a repository on read-only media. Only for the commands that only read: snapshots, show, ls, find, dump, mount, diff, restore, check'
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -s h -l help -d 'Print help'
complete -c umbra -n "__fish_umbra_using_subcommand unlock" -s V -l version -d 'Print version'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "init" -d 'Create a new repository'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "backup" -d 'Back up files and directories'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "snapshots" -d 'List snapshots'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "show" -d 'Show one snapshot in full, with its consistency record'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "ls" -d 'List the files of a snapshot'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "restore" -d 'Restore a snapshot into a directory'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "find" -d 'Find files and directories by name in snapshots'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "mount" -d 'Mount the repository\'s snapshots as a read-only filesystem (restic\'s layout: ids/, snapshots/, hosts/, tags/). Runs until `umount DIR` or Ctrl-C'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "cat" -d 'Print a repository file or blob: config, index ID, snapshot ID, key ID, pack ID, blob ID, tree ID (restic\'s `cat`)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "dump" -d 'Write one file of a snapshot to standard output, or a directory as a tar archive (restic\'s `dump`)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "diff" -d 'Show what changed between two snapshots (`ID` or `ID:PATH` each), in restic\'s letters: + added, - removed, M content modified (M? when nothing else changed: probably bitrot), T type changed, U metadata only (with --metadata)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "check" -d 'Verify the repository\'s integrity'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "copy" -d 'Copy snapshots from another repository into this one (a second copy)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "stats" -d 'What the snapshots hold and what the repository stores (restic\'s `stats`)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "tag" -d 'Add, remove or set the tags of snapshots (every snapshot when none is named)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "forget" -d 'Remove snapshots according to a retention policy'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "prune" -d 'Remove data that no snapshot references'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "repair" -d 'Repair a damaged repository (restic\'s `repair`)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "key" -d 'Manage the repository\'s keys (passwords)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "sources" -d 'Show which snapshot method each path would get, and why'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "cleanup" -d 'Release snapshots, mounts and clone trees that crashed runs left behind'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "run" -d 'Run jobs from the job file: their commands, snapshot, backup and retention'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "jobs" -d 'List the jobs of the job file, each with its schedule and last result'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "drill" -d 'Prove that a job\'s backup restores: restore its newest snapshot (or --snapshot) into a private scratch directory, start and check what it holds (SQLite, PostgreSQL, MariaDB), check a sample of files against the snapshot, run the job\'s `[drill] command`, and record the result. See docs/DRILL.md'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "metrics" -d 'Print the Prometheus metrics of every job (what `[metrics] textfile` holds)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "notify" -d 'Test the notification targets of a job'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "history" -d 'Show the past runs of a job (or of all jobs)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "config" -d 'Work with the job file'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "schedule" -d 'Install, remove or list systemd timers for the scheduled jobs'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "daemon" -d 'Run scheduled jobs when they are due, for systems without systemd'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "serve" -d 'Serve the local web console: every job\'s sources, consistency, freeze window and downtime; snapshots to browse, download and restore; run now (docs/WEB.md)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "generate" -d 'Write shell completions and man pages, generated from this command line (restic\'s `generate`). `umbra generate --completions-dir contrib/completions --man-dir contrib/man` refreshes the copies kept in the source tree'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "unlock" -d 'Remove stale locks left by crashed processes'
complete -c umbra -n "__fish_umbra_using_subcommand help; and not __fish_seen_subcommand_from init backup snapshots show ls restore find mount cat dump diff check copy stats tag forget prune repair key sources cleanup run jobs drill metrics notify history config schedule daemon serve generate unlock help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and __fish_seen_subcommand_from repair" -f -a "index" -d 'Rebuild the index from the packs the repository has: drop packs that are gone, add packs nothing indexes. Then a backup stores lost data again'
complete -c umbra -n "__fish_umbra_using_subcommand help; and __fish_seen_subcommand_from repair" -f -a "snapshots" -d 'Rewrite the snapshots that refer to data the index no longer has (run `umbra repair index` first): damaged files get the suffix `.repaired`, unreadable directories become empty, new snapshots are tagged `repaired`'
complete -c umbra -n "__fish_umbra_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "add" -d 'Add a key; its password comes from --new-password-file or a prompt'
complete -c umbra -n "__fish_umbra_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "list" -d 'List the keys'
complete -c umbra -n "__fish_umbra_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "remove" -d 'Remove a key by id (prefix)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and __fish_seen_subcommand_from notify" -f -a "test" -d 'Send one test event to each target of JOB and print what each answered (healthchecks gets it at `/log`, which changes no check\'s state)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Validate the job file without running anything: syntax, keys, types, schedules, and that the paths it names exist'
complete -c umbra -n "__fish_umbra_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "install" -d 'Write a systemd service and timer for each scheduled job, and enable the timers'
complete -c umbra -n "__fish_umbra_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "remove" -d 'Disable and remove the units umbra wrote (all of them, or those of the named jobs)'
complete -c umbra -n "__fish_umbra_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "list" -d 'List the scheduled jobs, their next run, and whether their timers are installed'
