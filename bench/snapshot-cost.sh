#!/usr/bin/env bash
# What reading from a snapshot costs: the same data on one loop filesystem, backed up
# read live (`--snapshot direct`), from a btrfs snapshot, and from reflink clones; each
# into a fresh repository, BENCH_RUNS times interleaved. BENCH_FS=xfs measures reflink
# clones on XFS instead of btrfs (no btrfs snapshot there). Writes throughput and the
# ratio to the live read to bench/results/snapshot-cost-<fs>-<date>.md.
#
# A snapshot's files are other inodes than the live ones, so the page cache warmed by a
# live read does not serve them: with BENCH_COLD=1 (the default) every backup starts from
# a dropped page cache, so that each method reads from the device.
#
# Not part of CI. Needs root (loop devices), btrfs-progs or xfsprogs, GNU time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
fs="${BENCH_FS:-btrfs}"
work="${BENCH_WORK:-$here/work}/snapshot-cost-$fs"
runs="${BENCH_RUNS:-3}"
cold="${BENCH_COLD:-1}"
mkdir -p "$work" "$here/results"
(cd "$root" && cargo build --release -p umbra --locked)
umbra="$root/target/release/umbra"
export UMBRA_PASSWORD=bench UMBRA_CACHE_DIR="$work/cache"
mnt="$work/mnt"
cleanup() { umount "$mnt" 2>/dev/null || true; }
trap cleanup EXIT
if ! mountpoint -q "$mnt"; then
  truncate -s 3G "$work/fs.img"
  case "$fs" in
    btrfs) mkfs.btrfs -q -f "$work/fs.img" >/dev/null ;;
    xfs) mkfs.xfs -q -f -m reflink=1 "$work/fs.img" ;;
    *) echo "BENCH_FS must be btrfs or xfs" >&2; exit 2 ;;
  esac
  mkdir -p "$mnt"; mount -o loop "$work/fs.img" "$mnt"
fi
if [ "$fs" = btrfs ]; then
  btrfs subvolume create "$mnt/data" >/dev/null 2>&1 || true
  methods="direct btrfs reflink"
else
  mkdir -p "$mnt/data"
  methods="direct reflink"
fi
if [ ! -e "$mnt/data/.done" ]; then
  python3 "$here/gen.py" "$mnt/data" 0.4 >/dev/null
  touch "$mnt/data/.done"
fi
sync
bytes=$(du -sb "$mnt/data" | cut -f1)
out="$here/results/snapshot-cost-$fs-$(date -u +%Y-%m-%d).md"
{
  echo "# Reading from a snapshot ($(date -u +%Y-%m-%d))"
  echo
  echo "$(nproc) cores; $fs on a loop device; $((bytes >> 20)) MiB (bench/gen.py at scale 0.4); initial backups into fresh repositories, $([ "$cold" = 1 ] && echo "page cache dropped before each" || echo "warm cache"), $runs runs each, interleaved; umbra $(git -C "$root" rev-parse --short HEAD)."
  echo
  echo "| method | wall (runs) | median MB/s | vs live |"
  echo "|---|---|---|---|"
} > "$out"
declare -A walls
for i in $(seq "$runs"); do
  for m in $methods; do
    rm -rf "$work/repo" "$work/cache"
    "$umbra" -r "$work/repo" init -q
    [ "$cold" = 1 ] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
    /usr/bin/time -f "%e" -o "$work/t" "$umbra" -r "$work/repo" backup -q --keep-base never --snapshot "$m" "$mnt/data" >/dev/null
    walls[$m]="${walls[$m]:-} $(cat "$work/t")"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
live=$(echo "${walls[direct]}" | median)
for m in $methods; do
  med=$(echo "${walls[$m]}" | median)
  echo "| $m | ${walls[$m]} s | $(echo "scale=1; $bytes/1000000/$med" | bc) | $(echo "scale=2; $live/$med" | bc)x |" >> "$out"
done
cat "$out"
