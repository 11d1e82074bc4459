#!/usr/bin/env bash
# What a backup costs the running application (issue #18): a PostgreSQL cluster (pgbench)
# and a MariaDB ledger, each beside mixed files on a btrfs loop filesystem, under load
# throughout; restic 0.14 and umbra back up the same directory, in turn, in the same run.
# For each case: TPS in the 15 s before the backup and during it, the backup window, its
# CPU seconds, and transactions lost = (TPS before - TPS during) x window; then TPS in the
# 10 s after the backup and what was lost there, for work a backup leaves running after it
# ends (writeback, btrfs freeing a deleted snapshot's extents), which the window does not
# see. Results to bench/results/app-cost-<date>.md (and the raw JSON lines beside it).
#
# Cases, each an initial backup into a fresh repository, the mixed files' page cache
# dropped first (not the database's: its TPS before would be a warm-up), after a checkpoint:
#   nothing                     no backup, 20 s: the noise of TPS during against TPS before
#   restic                      restic 0.14, reading the live files
#   restic nice                 the same under `nice -n 19 ionice -c3`
#   umbra (default: low)        umbra from a btrfs snapshot, priority low (the default)
#   umbra --priority normal     the same at umbra's own priority
#
# Not part of CI. Needs root (loop devices), btrfs-progs, restic, PostgreSQL, MariaDB.
#   BENCH_PG_SCALE   pgbench scale         default 30 (0 skips PostgreSQL)
#   BENCH_FILES      gen.py scale of the mixed files beside the database  default 0.3 (~600 MB)
#   BENCH_CLIENTS    load clients          default 4
#   BENCH_ROUNDS     rounds of all cases   default 1
#   BENCH_PARTS      "pg mariadb", or one  default both
#   BENCH_INCREMENTAL=1  each case measures its repository's second backup: the case runs once
#                    unmeasured right after the round's repositories are made (while the load
#                    runs), then is measured as above; umbra keeps its base (`--keep-base
#                    auto`, its default) and restic leaves the base out (`--exclude`). What a
#                    night's backup costs once the first is done. Default 0: initial backups
#   BENCH_CASES      a file of cases instead of the list above, one `NAME=COMMAND` a line, in
#                    which @D@ is the directory to back up, @U@ umbra, and @W@/r-@N@-1 to
#                    -4 and @W@/u-@N@-1 to -4 are fresh restic and umbra repositories
#                    (for experiments: `umbra old=/tmp/old/umbra -r @W@/u-@N@-3 backup -q
#                    --keep-base never @D@`; see cases() for why --keep-base never;
#                    bench/pg_waits.py wrapped around a case says where the database's
#                    time went meanwhile, bench/kernel-time.sh what the kernel's threads
#                    took)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
scale="${BENCH_PG_SCALE:-30}"
files="${BENCH_FILES:-0.3}"
clients="${BENCH_CLIENTS:-4}"
rounds="${BENCH_ROUNDS:-1}"
parts="${BENCH_PARTS:-pg mariadb}"
incremental="${BENCH_INCREMENTAL:-0}"
case "$incremental" in 0|1) ;; *) echo "app-cost.sh: BENCH_INCREMENTAL=$incremental: write 1 (second backups) or 0 (initial backups)" >&2; exit 2;; esac
if [ -n "${BENCH_CASES:-}" ]; then  # checked before anything is set up
  [ -r "$BENCH_CASES" ] || { echo "app-cost.sh: BENCH_CASES=$BENCH_CASES cannot be read; name a file of NAME=COMMAND lines" >&2; exit 2; }
  if bad=$(grep -nv -e '^[^=][^=]*=.' -e '^[[:space:]]*$' "$BENCH_CASES"); then
    printf 'app-cost.sh: %s: these lines are not NAME=COMMAND:\n%s\n' "$BENCH_CASES" "$bad" >&2; exit 2
  fi
fi
# What the cases need, checked before the build: a missing tool would otherwise stop the
# run minutes in, or skip a database part without a word.
missing=()
command -v mkfs.btrfs >/dev/null || missing+=(btrfs-progs)
command -v restic >/dev/null || missing+=(restic)
if [[ " $parts " == *" pg "* ]] && [ "$scale" != 0 ] && ! ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [[ " $parts " == *" mariadb "* ]] && ! command -v mariadbd >/dev/null; then
  missing+=(mariadb-server mariadb-client)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "app-cost.sh: not installed: ${missing[*]}; install them (apt-get install ${missing[*]}), or leave a database out with BENCH_PARTS" >&2; exit 2
fi
work="$(mktemp -d /tmp/umbra-bench-appcost.XXXXXX)"
chmod 755 "$work"
mkdir -p "$here/results"
out="$here/results/app-cost-$(date -u +%Y-%m-%d).md"
(cd "$root" && cargo build --release -p umbra --locked)
umbra="$root/target/release/umbra"
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort | tail -1)"
export UMBRA_STATE_DIR="$work/state" UMBRA_CACHE_DIR="$work/ucache" RESTIC_CACHE_DIR="$work/rcache"
export UMBRA_PASSWORD=bench RESTIC_PASSWORD=bench

mounts=()
loops=()
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -- -"$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  [ -n "$pgbin" ] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/fs/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -S "$work/run/my.sock" ] && mariadb --socket="$work/run/my.sock" -uroot -e SHUTDOWN 2>/dev/null || true
  sleep 1
  "$umbra" cleanup >/dev/null 2>&1 || true
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

truncate -s 6000M "$work/fs.img"
mkfs.btrfs -q -f "$work/fs.img" >/dev/null
dev=$(losetup --direct-io=on -f --show "$work/fs.img"); loops+=("$dev")
mkdir -p "$work/fs"; mount "$dev" "$work/fs"; mounts+=("$work/fs")
mkdir -p "$work/run"; chmod 777 "$work/run"  # both servers put their sockets here
python3 "$here/gen.py" "$work/fs/files" "$files" >/dev/null

cases() { # cases DIR NAME: the case list for app_cost.py, backing up DIR (repositories made first)
  local d="$1" n="$2"
  if [ -n "${BENCH_CASES:-}" ]; then
    sed -e '/^[[:space:]]*$/d' -e "s|@D@|$d|g" -e "s|@W@|$work|g" -e "s|@N@|$n|g" -e "s|@U@|$umbra|g" "$BENCH_CASES"
    return
  fi
  # Initial backups: --keep-base never, since a base snapshot kept by one case would lie in
  # the tree (under .umbra-snapshots/) that the next case backs up, and restic would read it
  # too. Second backups: umbra keeps its base (its default, what a night's backup reads
  # against) and restic is told to leave the bases out.
  local keep="--keep-base never" skip=""
  if [ "$incremental" = 1 ]; then keep=""; skip="--exclude $d/.umbra-snapshots"; fi
  echo "nothing=sleep 20"
  echo "restic=restic -r $work/r-$n-1 backup -q $skip $d"
  echo "restic nice=nice -n 19 ionice -c3 restic -r $work/r-$n-2 backup -q $skip $d"
  echo "umbra (default: low)=$umbra -r $work/u-$n-1 backup -q $keep $d"
  echo "umbra --priority normal=$umbra -r $work/u-$n-2 backup -q $keep --priority normal $d"
}

first_backups() { # first_backups DIR NAME: each case's first backup, unmeasured (BENCH_INCREMENTAL)
  local line cmd
  "$umbra" cleanup >/dev/null 2>&1 || true  # the previous round's bases
  while IFS= read -r line; do
    cmd="${line#*=}"
    case "$cmd" in sleep*) continue ;; esac
    bash -c "$cmd" >/dev/null 2>"$work/first.err" \
      || { echo "app-cost.sh: the first backup of case '${line%%=*}' failed:" >&2; cat "$work/first.err" >&2; exit 1; }
  done < <(cases "$1" "$2")
}

measure() { # measure NAME COUNT_COMMAND RESET_COMMAND DIR
  local name="$1" counter="$2" reset="$3" dir="$4" r
  for r in $(seq 1 "$rounds"); do
    rm -rf "$work"/r-"$name"-* "$work"/u-"$name"-*
    for i in 1 2 3 4; do
      restic -r "$work/r-$name-$i" init -q >/dev/null
      "$umbra" -r "$work/u-$name-$i" init -q
    done
    [ "$incremental" = 1 ] && first_backups "$dir" "$name"
    # Odd rounds in the listed order, even rounds reversed: what runs later backs up a
    # load that has run longer.
    if [ $((r % 2)) = 1 ]; then mapfile -t list < <(cases "$dir" "$name")
    else mapfile -t list < <(cases "$dir" "$name" | tac); fi
    python3 "$here/app_cost.py" "$counter" 15 "$reset" "python3 $here/evict.py $work/fs/files" -- "${list[@]}" | sed "s/^{/{\"load\": \"$name\", \"round\": $r, /" >> "$out.jsonl"
  done
}

: > "$out.jsonl"
# --- PostgreSQL under pgbench ---------------------------------------------------------------
if [[ " $parts " == *" pg "* ]] && [ "$scale" != 0 ] && [ -n "$pgbin" ]; then
  mkdir -p "$work/fs/pg"; chown postgres "$work/fs/pg"
  runuser -u postgres -- "$pgbin/initdb" -A trust -U postgres -D "$work/fs/pg" >/dev/null
  touch "$work/pg.log"; chown postgres "$work/pg.log"
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/fs/pg" -l "$work/pg.log" \
    -o "-p 25434 -k $work/run -c listen_addresses=''" -w start >/dev/null
  runuser -u postgres -- "$pgbin/pgbench" -i -q -s "$scale" -h "$work/run" -p 25434 postgres >/dev/null 2>&1
  setsid runuser -u postgres -- "$pgbin/pgbench" -n -c "$clients" -T 100000 -h "$work/run" -p 25434 postgres >/dev/null 2>&1 &
  pids+=("$!")
  pgsql="runuser -u postgres -- $pgbin/psql -h $work/run -p 25434 -Atc"
  measure pg "$pgsql \"select xact_commit from pg_stat_database where datname = 'postgres'\" postgres" \
    "$pgsql 'truncate pgbench_history' postgres >/dev/null && $pgsql 'checkpoint' postgres >/dev/null" "$work/fs"
  kill -- -"${pids[-1]}" 2>/dev/null || true
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/fs/pg" -m fast -w stop >/dev/null
  rm -rf "$work/fs/pg"
fi
# --- MariaDB under a ledger load of its own -----------------------------------------------
if [[ " $parts " == *" mariadb "* ]] && command -v mariadbd >/dev/null; then
  mkdir -p "$work/fs/mysql"; chown mysql:mysql "$work/fs/mysql"
  mariadb-install-db --no-defaults --user=mysql --auth-root-authentication-method=normal \
    --skip-test-db --datadir="$work/fs/mysql" >/dev/null 2>&1
  setsid mariadbd --no-defaults --user=mysql --datadir="$work/fs/mysql" --socket="$work/run/my.sock" \
    --log-error="$work/my.err" --skip-networking --innodb-buffer-pool-size=256M >/dev/null 2>&1 &
  pids+=("$!")
  for _ in $(seq 60); do mariadb --socket="$work/run/my.sock" -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 1; done
  setup="CREATE DATABASE bank; CREATE TABLE bank.acct (id INT PRIMARY KEY, bal INT NOT NULL) ENGINE=InnoDB;
    CREATE TABLE bank.moves (n BIGINT AUTO_INCREMENT PRIMARY KEY, a INT, b INT, pad CHAR(200)) ENGINE=InnoDB;"
  for i in $(seq 0 999); do setup="$setup INSERT INTO bank.acct VALUES ($i, 1000);"; done
  mariadb --socket="$work/run/my.sock" -uroot -e "$setup"
  tx="SET @a = FLOOR(RAND() * 1000), @b = FLOOR(RAND() * 1000); START TRANSACTION;
      UPDATE acct SET bal = bal - 1 WHERE id = @a; UPDATE acct SET bal = bal + 1 WHERE id = @b;
      INSERT INTO moves (a, b, pad) VALUES (@a, @b, REPEAT('x', 200)); COMMIT;"
  printf '%s\n' "$tx" | tr '\n' ' ' > "$work/tx.sql"
  for _ in $(seq "$clients"); do
    setsid sh -c 'yes "$(cat "$0")" | mariadb --socket="$1" -uroot bank >/dev/null 2>&1' \
      "$work/tx.sql" "$work/run/my.sock" &
    pids+=("$!")
  done
  sleep 2
  [ "$(mariadb --socket="$work/run/my.sock" -uroot -N -e 'select count(*) from bank.moves')" -gt 0 ] \
    || { echo "the ledger load does not commit" >&2; exit 1; }
  my="mariadb --socket=$work/run/my.sock -uroot -N -e"
  measure mariadb "$my \"show global status like 'Com_commit'\" | cut -f2" \
    "$my 'truncate table bank.moves'" "$work/fs"
fi

python3 - "$out.jsonl" "$scale" "$files" "$clients" "$incremental" > "$out" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
scale, files, clients, incremental = sys.argv[2:6]
which = ("the second backup of the whole filesystem into a repository that holds a first one "
         "made at the round's start (umbra keeping its base, restic excluding it)"
         if incremental == "1" else
         "an initial backup of the whole filesystem into a fresh repository")
print(f"# What a backup costs the running application ({len(rows)} backups)\n")
print(f"btrfs loop filesystem (direct I/O), 2 cores; pgbench scale {scale} or the MariaDB ledger, "
      f"{clients} load clients throughout, beside gen.py's sets at scale {files}; each case "
      f"{which} after a checkpoint, the "
      "mixed files' page cache dropped (not the database's), TPS before over 15 s after 5 s "
      "of settling.\n")
def f(v, d=0):
    return "-" if v is None else f"{v:,.{d}f}"
for load in ("pg", "mariadb"):
    mine = [r for r in rows if r["load"] == load]
    if not mine:
        continue
    print(f"\n## {'PostgreSQL (pgbench)' if load == 'pg' else 'MariaDB (ledger)'}\n")
    print("| case | round | TPS before | TPS during | ratio | window s | CPU s | transactions lost "
          "| TPS in the 10 s after | lost after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in mine:
        print(f"| {r['case']} | {r['round']} | {f(r['tps_before'])} | {f(r['tps_during'])} | "
              f"{f(r['ratio'], 2)} | {f(r['window_s'], 1)} | {f(r['cpu_s'], 1)} | {f(r['lost'])} "
              f"| {f(r.get('tps_after'))} | {f(r.get('lost_after'))} |")
    def values(case, key):
        return [r[key] for r in mine if r["case"] == case and r[key] is not None]
    def med(case, key):
        v = values(case, key)
        return statistics.median(v) if v else None
    # Per round, each case over restic in the same round: the machine's speed moves from one
    # round to the next (restic's own window by 1.5x in one run), so only ratios within a
    # round compare; their median and range over the rounds (a round in which restic lost
    # no transactions gives no ratio of losses).
    restic = {r["round"]: r for r in mine if r["case"] == "restic"}
    def ratios(case, key):
        out = []
        for r in mine:
            base = restic.get(r["round"])
            if r["case"] == case and base and r[key] is not None and base[key]:
                out.append(r[key] / base[key])
        return out
    def spread(v, unit=""):
        if not v:
            return "-"
        return f"{statistics.median(v):.2f}{unit} ({min(v):.2f}-{max(v):.2f})"
    for r in mine:  # what the backup cost, in its window and in the 10 s after it
        if r["lost"] is not None and r.get("lost_after") is not None:
            r["lost_with_after"] = r["lost"] + r["lost_after"]
        else:
            r["lost_with_after"] = None
    print("\nAgainst restic, round by round (transactions lost and window over restic's in "
          "the same round, TPS kept the case's own; median and range over rounds; \"with the "
          "10 s after\" adds what was lost in the 10 s after each backup to both):\n")
    for case in sorted({r["case"] for r in mine} - {"nothing", "restic"}):
        print(f"- {case}: transactions lost {spread(ratios(case, 'lost'), 'x')}, "
              f"with the 10 s after {spread(ratios(case, 'lost_with_after'), 'x')}, "
              f"window {spread(ratios(case, 'window_s'), 'x')}, "
              f"TPS kept {spread(values(case, 'ratio'))}, "
              f"CPU s {f(med(case, 'cpu_s'), 1)} (restic {f(med('restic', 'cpu_s'), 1)})")
EOF
cat "$out"
