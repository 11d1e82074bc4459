#!/usr/bin/env bash
# Does restore memory grow with the data? umbra and restic restore the same snapshot of
# 0.5, 1 and 2 GB (mixed: 1,000 files of 4-1,000 KiB plus 8 MiB files, random bytes, so
# no deduplication flatters either), one repository written by umbra, warm cache. Writes
# wall time and peak RSS per size to bench/results/restore-scaling-<date>.md.
#
# Not part of CI. Needs restic, GNU time. BENCH_WORK (default bench/work), BENCH_SIZES_MB
# (default "512 1024 2048"), BENCH_RUNS (default 3; medians, tools alternating; `sync`
# before each restore so that neither pays for the other's writeback).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
work="${BENCH_WORK:-$here/work}/restore-scaling"
sizes="${BENCH_SIZES_MB:-512 1024 2048}"
runs="${BENCH_RUNS:-3}"
mkdir -p "$work" "$here/results"
(cd "$root" && cargo build --release -p umbra --locked)
umbra="$root/target/release/umbra"
export UMBRA_PASSWORD=bench RESTIC_PASSWORD=bench UMBRA_CACHE_DIR="$work/cache" RESTIC_CACHE_DIR="$work/cache-restic"
out="$here/results/restore-scaling-$(date -u +%Y-%m-%d).md"
{
  echo "# Restore memory as the data grows ($(date -u +%Y-%m-%d))"
  echo
  echo "$(nproc) cores; umbra $(git -C "$root" rev-parse --short HEAD); $(restic version | head -1); warm cache."
  echo
  echo "| data | umbra wall (median) | restic wall (median) | wall ratio | umbra peak RSS | restic peak RSS | RSS ratio |"
  echo "|---|---|---|---|---|---|---|"
} > "$out"
for mb in $sizes; do
  data="$work/data-$mb"
  if [ ! -d "$data" ]; then
    mkdir -p "$data"
    python3 - "$data" "$mb" <<'PY'
import os, random, sys
dest, mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(mb)
total, i = 0, 0
while total < mb << 20:
    size = rng.choice([rng.randint(4, 1000) << 10, 8 << 20])
    d = os.path.join(dest, f"d{i % 37}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}"), "wb") as f:
        f.write(os.urandom(size))
    total += size
    i += 1
PY
  fi
  repo="$work/repo-$mb"
  rm -rf "$repo" "$work/cache" "$work/cache-restic"
  "$umbra" -r "$repo" init -q
  "$umbra" -r "$repo" backup -q "$data" >/dev/null
  measure() {  # measure CMD... -> "wall rss_kib"
    local t="$work/time"; rm -rf "$work/target"; sync
    /usr/bin/time -f "%e %M" -o "$t" "$@" >/dev/null 2>&1 || { echo "$1 failed" >&2; exit 1; }
    cat "$t"
  }
  median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  uws=(); urs=(); rws=(); rrs=()
  for _ in $(seq "$runs"); do
    read -r w r < <(measure "$umbra" -r "$repo" restore latest --target "$work/target"); uws+=("$w"); urs+=("$r")
    read -r w r < <(measure restic -r "$repo" restore latest --target "$work/target"); rws+=("$w"); rrs+=("$r")
  done
  uw=$(printf '%s\n' "${uws[@]}" | median); ur=$(printf '%s\n' "${urs[@]}" | median)
  rw=$(printf '%s\n' "${rws[@]}" | median); rr=$(printf '%s\n' "${rrs[@]}" | median)
  echo "| $mb MB | $uw s | $rw s | $(echo "scale=2; $uw/$rw" | bc) | $((ur/1024)) MiB | $((rr/1024)) MiB | $(echo "scale=2; $ur/$rr" | bc) |" >> "$out"
  rm -rf "$work/target"
done
cat "$out"
