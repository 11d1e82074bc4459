#!/usr/bin/env bash
# The freeze windows of umbra's quiescers under load, beside the alternatives.
#
# For PostgreSQL (pgbench load) and MariaDB (a ledger of transfers), each on its own btrfs
# loop device: N backups with the quiescer, and from each snapshot's consistency record
# the freeze window; then p50 and p99. Beside them, for the same database: the downtime of
# the stop/snapshot/start pattern (a job whose `before` stops the server and whose
# `after_snapshot` starts it), and the duration of pg_dump / mysqldump. SQLite: the
# online-backup copy under a writer. Writes bench/results/quiesce-<date>.md.
#
# Not part of CI. Needs root (loop devices), postgresql, mariadb-server, sqlite3, python3.
#   BENCH_RUNS    backups per quiescer            default 20
#   BENCH_PG_SCALE pgbench scale                   default 10
#   BENCH_PARTS   which databases                  default "pg mysql sqlite"
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
runs="${BENCH_RUNS:-20}"
scale="${BENCH_PG_SCALE:-10}"
parts="${BENCH_PARTS:-pg mysql sqlite}"
work="$(mktemp -d /tmp/umbra-bench-quiesce.XXXXXX)"
chmod 755 "$work"
out="$here/results/quiesce-$(date -u +%Y-%m-%d)${BENCH_PARTS:+-${parts// /-}}.md"
mkdir -p "$here/results"
(cd "$root" && cargo build --release -p umbra --locked)
umbra="$root/target/release/umbra"
pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort | tail -1)"
export UMBRA_STATE_DIR="$work/state" UMBRA_CACHE_DIR="$work/cache"
echo "bench password" > "$work/password"; chmod 600 "$work/password"

pids=()
mounts=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
  mariadb --socket="$work/run/my.sock" -uroot -e SHUTDOWN >/dev/null 2>&1 || true
  sleep 2
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

loopfs() { # loopfs DIR SIZE_MB
  truncate -s "${2}M" "$1.img"; mkfs.btrfs -q -f "$1.img" >/dev/null
  mkdir -p "$1"; mount -o loop "$1.img" "$1"; mounts+=("$1")
}

# percentile FILE P: the P-th percentile (nearest rank) of the numbers in FILE
percentile() { sort -g "$1" | awk -v p="$2" '{v[NR]=$1} END {i=int((p/100)*NR+0.999999); if(i<1)i=1; printf "%.1f", v[i]}'; }

# window_ms CONFIG: one run of job db; prints the freeze window of its first quiescer (ms)
window_ms() {
  "$umbra" -c "$1" run db >/dev/null
  "$umbra" -c "$1" --json show latest | python3 -c 'import json,sys; print(json.load(sys.stdin)["consistency"]["quiesced"][0]["freeze_us"]/1000)'
}

# downtime_s CONFIG: one run of job db; prints the run's downtime (s)
downtime_s() {
  "$umbra" -c "$1" run db >/dev/null
  "$umbra" -c "$1" --json history db | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["downtime_seconds"])'
}

seconds() { # seconds CMD...: its wall time in ms (its stdout is discarded; a failure stops the bench)
  local t0; t0=$(date +%s.%N)
  "$@" >/dev/null 2>"$work/cmd.err" || { cat "$work/cmd.err" >&2; exit 1; }
  printf "%.0f" "$(echo "($(date +%s.%N) - $t0) * 1000" | bc)"
}

repo_config() { # repo_config NAME: the [repository] table for a fresh repository NAME
  "$umbra" -r "$work/$1" --password-file "$work/password" init >/dev/null
  printf '[repository]\npath = "%s"\npassword_file = "%s"\n\n' "$work/$1" "$work/password"
}

{
echo "# Quiescer freeze windows, $(date -u +%Y-%m-%d)"
echo
echo "$(nproc) cores; btrfs on loop devices; $runs backups each; umbra $(git -C "$root" rev-parse --short HEAD)."
echo
echo "| database, load | method | p50 | p99 | runs |"
echo "| --- | --- | --- | --- | --- |"
} > "$out"

# --- PostgreSQL -------------------------------------------------------------------------
mkdir -p "$work/run"
if [[ " $parts " == *" pg "* ]]; then
loopfs "$work/pg" 3000
mkdir -p "$work/pg/data" "$work/run"; chown postgres "$work/pg/data" "$work/run"
runuser -u postgres -- "$pgbin/initdb" -A trust -U postgres -D "$work/pg/data" >/dev/null
pgopts="-p 25432 -k $work/run -c listen_addresses=''"
touch "$work/pg.log"; chown postgres "$work/pg.log"
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg.log" -o "$pgopts" -w start >/dev/null
runuser -u postgres -- "$pgbin/pgbench" -i -q -s "$scale" -h "$work/run" -p 25432 postgres >/dev/null 2>&1
setsid runuser -u postgres -- sh -c "while :; do $pgbin/pgbench -n -c 4 -T 5 -h $work/run -p 25432 postgres >/dev/null 2>&1; sleep 0.05; done" &
pids+=($!)
sleep 3
{ repo_config pgrepo; printf '[jobs.db]\nsources = ["%s"]\n\n[[jobs.db.quiesce]]\ntype = "postgres"\nconnection = "host=%s port=25432 user=postgres dbname=postgres"\n' "$work/pg/data" "$work/run"; } > "$work/pgq.toml"
: > "$work/pgq.ms"
for _ in $(seq "$runs"); do window_ms "$work/pgq.toml" >> "$work/pgq.ms"; done
echo "| PostgreSQL, pgbench -c 4 (scale $scale) | quiescer: snapshot..pg_backup_stop (backup started before the window) | $(percentile "$work/pgq.ms" 50) ms | $(percentile "$work/pgq.ms" 99) ms | $runs |" >> "$out"
{ repo_config pgrepo2; printf '[jobs.db]\nsources = ["%s"]\n\n[jobs.db.hooks]\nbefore = [["runuser", "-u", "postgres", "--", "%s/pg_ctl", "-D", "%s", "-m", "fast", "-w", "stop"]]\nafter_snapshot = [["runuser", "-u", "postgres", "--", "%s/pg_ctl", "-D", "%s", "-l", "%s", "-o", "%s", "-w", "start"]]\n' \
  "$work/pg/data" "$pgbin" "$work/pg/data" "$pgbin" "$work/pg/data" "$work/pg.log" "$pgopts"; } > "$work/pgss.toml"
: > "$work/pgss.s"
for _ in $(seq "$runs"); do echo "$(downtime_s "$work/pgss.toml") * 1000" | bc >> "$work/pgss.s"; done
echo "| PostgreSQL, same load | stop/snapshot/start (downtime after the stop) | $(percentile "$work/pgss.s" 50) ms | $(percentile "$work/pgss.s" 99) ms | $runs |" >> "$out"
dump=$(seconds runuser -u postgres -- "$pgbin/pg_dump" -h "$work/run" -p 25432 -Fc postgres)
echo "| PostgreSQL, same load | pg_dump -Fc (whole duration) | $dump ms | - | 1 |" >> "$out"

fi

# --- MariaDB ----------------------------------------------------------------------------
if [[ " $parts " == *" mysql "* ]]; then
loopfs "$work/my" 1500
mkdir -p "$work/my/data"; chown mysql "$work/my/data" "$work/run"
mariadb-install-db --no-defaults --user=mysql --auth-root-authentication-method=normal --skip-test-db --datadir="$work/my/data" >/dev/null 2>&1
mariadbd --no-defaults --user=mysql --datadir="$work/my/data" --socket="$work/run/my.sock" --skip-networking \
  --server-id=1 --log-bin=binlog --log-error="$work/my.err" --pid-file="$work/run/my.pid" &
pids+=($!)
for _ in $(seq 100); do mariadb --socket="$work/run/my.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
mariadb --socket="$work/run/my.sock" -uroot -e "CREATE DATABASE bank; USE bank; CREATE TABLE bank.acct (id INT PRIMARY KEY, bal INT) ENGINE=InnoDB; CREATE TABLE bank.moves (a INT, b INT) ENGINE=InnoDB; INSERT INTO bank.acct SELECT seq, 100 FROM seq_0_to_999;"
tx="SET @a = FLOOR(RAND() * 1000), @b = FLOOR(RAND() * 1000); START TRANSACTION; UPDATE acct SET bal = bal - 1 WHERE id = @a; UPDATE acct SET bal = bal + 1 WHERE id = @b; INSERT INTO moves VALUES (@a, @b); COMMIT;"
for _ in 1 2 3 4; do setsid sh -c "yes '$tx' | mariadb --socket=$work/run/my.sock -uroot bank >/dev/null 2>&1" & pids+=($!); done
sleep 3
{ repo_config myrepo; printf '[jobs.db]\nsources = ["%s"]\n\n[[jobs.db.quiesce]]\ntype = "mysql"\nsocket = "%s"\nuser = "root"\n' "$work/my/data" "$work/run/my.sock"; } > "$work/myq.toml"
: > "$work/myq.ms"
for _ in $(seq "$runs"); do window_ms "$work/myq.toml" >> "$work/myq.ms"; done
echo "| MariaDB $(mariadbd --version | grep -o '10\.[0-9]*\.[0-9]*'), 4 transfer clients | quiescer: BACKUP STAGE BLOCK_DDL..END | $(percentile "$work/myq.ms" 50) ms | $(percentile "$work/myq.ms" 99) ms | $runs |" >> "$out"
dump=$(seconds mariadb-dump --socket="$work/run/my.sock" -uroot --single-transaction --all-databases)
echo "| MariaDB, same load | mariadb-dump --single-transaction (whole duration) | $dump ms | - | 1 |" >> "$out"

fi

# --- SQLite -----------------------------------------------------------------------------
if [[ " $parts " == *" sqlite "* ]]; then
mkdir -p "$work/lite"
python3 - "$work/lite/app.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
db.executemany("INSERT INTO t(v) VALUES (randomblob(1000))", [()] * 50000); db.commit()
EOF
setsid python3 -c "
import sqlite3, sys
db = sqlite3.connect('$work/lite/app.db', timeout=30, isolation_level=None)
while True:
    db.execute('BEGIN IMMEDIATE'); db.execute('UPDATE t SET v = randomblob(1000) WHERE id = abs(random()) % 50000 + 1'); db.execute('COMMIT')
" & pids+=($!)
sleep 1
{ repo_config literepo; printf '[jobs.db]\nsources = ["%s"]\n\n[[jobs.db.quiesce]]\ntype = "sqlite"\n' "$work/lite"; } > "$work/lite.toml"
: > "$work/lite.ms"
for _ in $(seq "$runs"); do
  "$umbra" -c "$work/lite.toml" run db >/dev/null
  "$umbra" -c "$work/lite.toml" --json show latest | python3 -c 'import json,sys; d=json.load(sys.stdin)["consistency"]["quiesced"][0]["details"]; print([v for v in d.values()][0].split(" in ")[1].split()[0])' >> "$work/lite.ms"
done
echo "| SQLite, 50 MB, one writer (ext4/tmp, no snapshot) | online backup copy, WAL mode: one read transaction, the writer not blocked (copy time) | $(percentile "$work/lite.ms" 50) ms | $(percentile "$work/lite.ms" 99) ms | $runs |" >> "$out"

fi

echo "wrote $out"
cat "$out"
