#!/usr/bin/env bash
# Files that change in place (issue #22): a large file with 1% of its 4 KiB blocks
# rewritten between two backups, on btrfs, XFS and ext4, and a PostgreSQL cluster under
# pgbench's updates; restic 0.14 and umbra on the same files in the same run. Reports each
# tool's second backup: wall time, bytes read from the device (the process's block input,
# page cache dropped first) and repository growth, and the ratios, to
# bench/results/in-place-<date>.md.
#
# umbra reads from a btrfs snapshot (btrfs), reflink clones (XFS) or the live file (ext4);
# its first backup keeps the snapshot as the base of the second. restic reads the live file.
#
# Not part of CI. Needs root (loop devices), btrfs-progs, xfsprogs, restic, PostgreSQL.
#   BENCH_SIZE_MB   the file's size      default 1024
#   BENCH_PG_SCALE  pgbench scale        default 10 (0 skips PostgreSQL)
#   BENCH_PARTS     "file pg", or one of them    default both
#   BENCH_LOOP      direct | buffered            default direct
#
# The loop devices do direct I/O by default: a buffered loop device serves reads through
# the host's page cache one request at a time, which makes scattered reads far slower per
# byte than sequential ones (measured here: 91 MiB of scattered 64 KiB reads of a 1 GiB
# file in 0.65 s buffered, 0.13 s direct; the whole file sequentially 1.73 s and 1.14 s),
# unlike a real disk. BENCH_LOOP=buffered measures that case too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
size_mb="${BENCH_SIZE_MB:-1024}"
scale="${BENCH_PG_SCALE:-10}"
parts="${BENCH_PARTS:-file pg}"
loop_mode="${BENCH_LOOP:-direct}"
work="$(mktemp -d /tmp/umbra-bench-inplace.XXXXXX)"
chmod 755 "$work"
out="$here/results/in-place-$(date -u +%Y-%m-%d)${BENCH_PARTS:+-${parts// /-}}${BENCH_PG_SCALE:+-scale$scale}${BENCH_LOOP:+-$loop_mode}.md"
mkdir -p "$here/results"
(cd "$root" && cargo build --release -p umbra --locked)
umbra="$root/target/release/umbra"
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort | tail -1)"
export UMBRA_STATE_DIR="$work/state" UMBRA_CACHE_DIR="$work/ucache" RESTIC_CACHE_DIR="$work/rcache"
export UMBRA_PASSWORD=bench RESTIC_PASSWORD=bench

mounts=()
loops=()
cleanup() {
  [ -n "$pgbin" ] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
  "$umbra" cleanup >/dev/null 2>&1 || true
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

loopfs() { # loopfs TYPE DIR SIZE_MB
  truncate -s "${3}M" "$2.img"
  case "$1" in
    btrfs) mkfs.btrfs -q -f "$2.img" >/dev/null ;;
    xfs) mkfs.xfs -q -f "$2.img" ;;
    ext4) mkfs.ext4 -q -F "$2.img" ;;
  esac
  mkdir -p "$2"
  if [ "$loop_mode" = direct ]; then
    local dev; dev=$(losetup --direct-io=on -f --show "$2.img"); loops+=("$dev")
    mount "$dev" "$2"
  else
    mount -o loop "$2.img" "$2"
  fi
  mounts+=("$2")
}

# run_measured OUTFILE CMD...: runs CMD from a dropped page cache, its stdout to OUTFILE;
# prints "wall_seconds MiB_read" (MiB read from block devices by CMD and its children).
run_measured() {
  local o="$1"; shift
  sync; echo 3 > /proc/sys/vm/drop_caches
  python3 - "$o" "$@" <<'EOF'
import resource, subprocess, sys, time
with open(sys.argv[1], "w") as out:
    t = time.time()
    subprocess.run(sys.argv[2:], stdout=out, check=True)
    wall = time.time() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.2f} {r.ru_inblock * 512 / 1048576:.0f}")
EOF
}

rewrite_one_percent() { # rewrite_one_percent FILE SEED
  python3 - "$1" "$2" <<'EOF'
import os, random, sys
random.seed(int(sys.argv[2]))
fd = os.open(sys.argv[1], os.O_WRONLY)
blocks = os.fstat(fd).st_size // 4096
for b in random.sample(range(blocks), blocks // 100):
    os.pwrite(fd, random.randbytes(4096), b * 4096)
os.fsync(fd); os.close(fd)
EOF
}

ratio() { echo "scale=2; $1 / $2" | bc; }
pct() { echo "scale=0; 100 * $1 / $2" | bc; }

{
  echo "# Files that change in place, $(date -u +%Y-%m-%d)"
  echo
  echo "$(nproc) cores; loop filesystems ($loop_mode I/O); a ${size_mb} MiB file of random data, 1% of its 4 KiB blocks rewritten in place between two backups; page cache dropped before each backup; $(restic version | cut -d' ' -f1-2) and umbra $(git -C "$root" rev-parse --short HEAD) on the same file, in the same run."
  echo
  echo "| filesystem | tool (umbra reads from) | first backup | second backup | read by the second | repository growth | growth, % of the file |"
  echo "|---|---|---|---|---|---|---|"
} > "$out"
summary=()

bench_file() { # bench_file FS METHOD
  local fs="$1" method="$2" mnt="$work/$1"
  loopfs "$fs" "$mnt" $((size_mb * 3 + 512))
  mkdir -p "$mnt/data"
  head -c "$((size_mb << 20))" /dev/urandom > "$mnt/data/vm.img"
  sync
  restic -r "$work/restic-$fs" init -q >/dev/null
  "$umbra" -r "$work/umbra-$fs" init -q
  local rf uf rs us
  rf=$(run_measured "$work/o" restic -r "$work/restic-$fs" backup -q "$mnt/data")
  uf=$(run_measured "$work/o" "$umbra" -r "$work/umbra-$fs" backup -q --snapshot "$method" "$mnt/data")
  rewrite_one_percent "$mnt/data/vm.img" 22
  local rb ub ra ua
  rb=$(du -sb "$work/restic-$fs" | cut -f1); ub=$(du -sb "$work/umbra-$fs" | cut -f1)
  rs=$(run_measured "$work/o" restic -r "$work/restic-$fs" backup -q "$mnt/data")
  us=$(run_measured "$work/o" "$umbra" -r "$work/umbra-$fs" --json backup --snapshot "$method" "$mnt/data")
  ra=$(du -sb "$work/restic-$fs" | cut -f1); ua=$(du -sb "$work/umbra-$fs" | cut -f1)
  local file=$((size_mb << 20))
  echo "| $fs | restic | ${rf% *} s | ${rs% *} s | ${rs#* } MiB | $(((ra - rb) >> 20)) MiB | $(pct $((ra - rb)) $file)% |" >> "$out"
  echo "| $fs | umbra ($method) | ${uf% *} s | ${us% *} s | ${us#* } MiB | $(((ua - ub) >> 20)) MiB | $(pct $((ua - ub)) $file)% |" >> "$out"
  summary+=("| $fs | $(ratio "${us% *}" "${rs% *}")x | $(pct "${us#* }" "$size_mb")% | $(pct $((ua - ub)) $file)% (restic $(pct $((ra - rb)) $file)%) |")
  "$umbra" cleanup >/dev/null
  umount "$mnt"
}

if [[ " $parts " == *" file "* ]]; then
bench_file btrfs btrfs
bench_file xfs reflink
bench_file ext4 direct
{
  echo
  echo "| filesystem | umbra's second backup, time vs restic's | read, % of the file | growth, % of the file |"
  echo "|---|---|---|---|"
  printf '%s\n' "${summary[@]}"
} >> "$out"
fi

# --- PostgreSQL under pgbench -------------------------------------------------------------
if [[ " $parts " == *" pg "* ]] && [ "$scale" != 0 ] && [ -n "$pgbin" ]; then
  loopfs btrfs "$work/pg" 4000
  mkdir -p "$work/pg/data" "$work/run"; chown postgres "$work/pg/data" "$work/run"
  runuser -u postgres -- "$pgbin/initdb" -A trust -U postgres -D "$work/pg/data" >/dev/null
  touch "$work/pg.log"; chown postgres "$work/pg.log"
  pgopts="-p 25433 -k $work/run -c listen_addresses=''"
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg.log" -o "$pgopts" -w start >/dev/null
  runuser -u postgres -- "$pgbin/pgbench" -i -q -s "$scale" -h "$work/run" -p 25433 postgres >/dev/null 2>&1
  psql() { runuser -u postgres -- "$pgbin/psql" -h "$work/run" -p 25433 -U postgres -Atc "$1" postgres; }
  psql CHECKPOINT >/dev/null
  table=$(psql "select pg_relation_filepath('pgbench_accounts')")
  table_bytes=$(stat -c %s "$work/pg/data/$table")
  cluster_bytes=$(du -sb "$work/pg/data" | cut -f1)
  restic -r "$work/restic-pg" init -q >/dev/null
  "$umbra" -r "$work/umbra-pg" init -q
  run_measured "$work/o" restic -r "$work/restic-pg" backup -q "$work/pg/data" >/dev/null
  run_measured "$work/o" "$umbra" -r "$work/umbra-pg" backup -q --snapshot btrfs "$work/pg/data" >/dev/null
  # The table file alone, too.
  restic -r "$work/restic-tbl" init -q >/dev/null
  "$umbra" -r "$work/umbra-tbl" init -q
  run_measured "$work/o" restic -r "$work/restic-tbl" backup -q "$work/pg/data/$table" >/dev/null
  run_measured "$work/o" "$umbra" -r "$work/umbra-tbl" backup -q --snapshot btrfs "$work/pg/data/$table" >/dev/null
  # About 1% of the table's pages get an update: one per transaction, 4 clients.
  pages=$((table_bytes / 8192)); per_client=$((pages / 400))
  runuser -u postgres -- "$pgbin/pgbench" -n -c 4 -t "$per_client" -h "$work/run" -p 25433 postgres > "$work/pgbench.out" 2>&1
  psql CHECKPOINT >/dev/null
  rb=$(du -sb "$work/restic-pg" | cut -f1); ub=$(du -sb "$work/umbra-pg" | cut -f1)
  rs=$(run_measured "$work/ro" restic -r "$work/restic-pg" --json backup "$work/pg/data")
  us=$(run_measured "$work/uo" "$umbra" -r "$work/umbra-pg" --json backup --snapshot btrfs "$work/pg/data")
  ra=$(du -sb "$work/restic-pg" | cut -f1); ua=$(du -sb "$work/umbra-pg" | cut -f1)
  tb_r=$(run_measured "$work/tro" restic -r "$work/restic-tbl" --json backup "$work/pg/data/$table")
  tb_u=$(run_measured "$work/tuo" "$umbra" -r "$work/umbra-tbl" --json backup --snapshot btrfs "$work/pg/data/$table")
  tb_radd=$(grep '"message_type":"summary"' "$work/tro" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data_added"])')
  tb_uadd=$(grep '"message_type":"summary"' "$work/tuo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_added"])')
  radd=$(grep '"message_type":"summary"' "$work/ro" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data_added"])')
  uadd=$(grep '"message_type":"summary"' "$work/uo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_added"])')
  {
    echo
    echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'), on a btrfs loop filesystem ($loop_mode I/O), pgbench scale $scale (pgbench_accounts: $((table_bytes >> 20)) MiB; cluster: $((cluster_bytes >> 20)) MiB); between the backups, \`pgbench -c 4 -t $per_client\` ($((4 * per_client)) transactions: about 1% of the table's pages get an update), then CHECKPOINT; the cluster's data directory backed up (restic live, umbra from a btrfs snapshot). \"Added\" is before compression (pgbench's rows compress well, so the repository grows less):"
    echo
    echo "| tool | second backup | read | added (uncompressed) | added, % of the table | repository growth |"
    echo "|---|---|---|---|---|---|"
    echo "| restic | ${rs% *} s | ${rs#* } MiB | $((radd >> 20)) MiB | $(pct "$radd" "$table_bytes")% | $(((ra - rb) >> 20)) MiB |"
    echo "| umbra | ${us% *} s ($(ratio "${us% *}" "${rs% *}")x) | ${us#* } MiB | $((uadd >> 20)) MiB | $(pct "$uadd" "$table_bytes")% | $(((ua - ub) >> 20)) MiB |"
    echo
    echo "The table file (pgbench_accounts) alone, backed up the same way into repositories of its own, same run:"
    echo
    echo "| tool | second backup | read, % of the table | added (uncompressed), % of the table |"
    echo "|---|---|---|---|"
    echo "| restic | ${tb_r% *} s | ${tb_r#* } MiB, $(pct $((${tb_r#* } << 20)) "$table_bytes")% | $((tb_radd >> 20)) MiB, $(pct "$tb_radd" "$table_bytes")% |"
    echo "| umbra | ${tb_u% *} s ($(ratio "${tb_u% *}" "${tb_r% *}")x) | ${tb_u#* } MiB, $(pct $((${tb_u#* } << 20)) "$table_bytes")% | $((tb_uadd >> 20)) MiB, $(pct "$tb_uadd" "$table_bytes")% |"
  } >> "$out"
fi
echo "wrote $out"
cat "$out"
