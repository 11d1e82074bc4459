#!/usr/bin/env bash
# umbra's benchmark: umbra, restic and rustic on the same data, in the same run.
#
# Measures, per data set and tool: initial backup, no-change backup, and restore; for
# each, wall time, CPU time (user+sys) and peak RSS (GNU time). Writes a markdown table
# with umbra/restic and umbra/rustic ratios to bench/results/results-<date>.md.
#
# Not part of CI. Settings by environment:
#   BENCH_SCALE   data size factor (1.0 = about 2 GB)            default 1.0
#   BENCH_WORK    where data, repositories and restores go      default bench/work
#   BENCH_SETS    which data sets                               default "small large mixed many"
#                 (many: 100,000 files of 64 B-7 KiB, whatever the scale; its no-change
#                 backup only, the initial one untimed)
#   BENCH_COLD    1 = drop the page cache before each step (root) default 0
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
scale="${BENCH_SCALE:-1.0}"
work="${BENCH_WORK:-$here/work}"
sets="${BENCH_SETS:-small large mixed many}"
cold="${BENCH_COLD:-0}"
mkdir -p "$work" "$here/results"

# --- tools -----------------------------------------------------------------------------
if ! command -v restic >/dev/null || [ ! -x /usr/bin/time ] || ! command -v bc >/dev/null; then
  apt-get update -qq && apt-get install -y -qq restic time bc
fi
command -v rustic >/dev/null || cargo install rustic-rs --locked
(cd "$root" && cargo build --release -p umbra --locked)
umbra="$root/target/release/umbra"

python3 "$here/gen.py" "$work/data" "$scale"
case " $sets " in *" many "*)
  python3 -c "import random, sys; sys.path.insert(0, '$here'); import gen; gen.gen_many('$work/data', random.Random(4))" ;;
esac
echo "benchmark password" > "$work/password"; chmod 600 "$work/password"

# --- one measured step -----------------------------------------------------------------
# measure NAME CMD...: appends "NAME wall cpu rss_kib" to $work/times
measure() {
  local name="$1"; shift
  [ "$cold" = 1 ] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.out" "$@" > "$work/step.log" 2>&1 || {
    echo "step $name failed:"; tail -20 "$work/step.log"; exit 1; }
  read -r wall user sys rss < "$work/time.out"
  printf '%s %s %s %s\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" "$rss" >> "$work/times"
  printf '  %-28s wall %6ss  cpu %6ss  rss %7s KiB\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" "$rss"
}

export RESTIC_PASSWORD_FILE="$work/password" UMBRA_PASSWORD_FILE="$work/password"
export RESTIC_CACHE_DIR="$work/cache/restic" UMBRA_CACHE_DIR="$work/cache/umbra"
export RUSTIC_CACHE_DIR="$work/cache/rustic"
: > "$work/times"
: > "$work/sizes"

for set in $sets; do
  src="$work/data/$set"
  echo "== $set ($(du -sh "$src" | cut -f1))"
  echo "$set $(du -sb "$src" | cut -f1)" >> "$work/sizes"
  for tool in umbra restic rustic; do
    repo="$work/repo-$tool-$set"
    rm -rf "$repo" "$work/restore" "$work/cache/$tool"
    case $set/$tool in
      many/umbra)
        "$umbra" -q -r "$repo" init
        "$umbra" -q -r "$repo" backup "$src" > /dev/null
        measure "$set/$tool/nochange"  "$umbra" -q -r "$repo" backup "$src" ;;
      many/restic)
        restic -q -r "$repo" init
        restic -q -r "$repo" backup "$src" > /dev/null
        measure "$set/$tool/nochange"  restic -q -r "$repo" backup "$src" ;;
      many/rustic)
        rustic -r "$repo" --password-file "$work/password" init >/dev/null 2>&1
        rustic -r "$repo" --password-file "$work/password" backup "$src" >/dev/null 2>&1
        measure "$set/$tool/nochange"  rustic -r "$repo" --password-file "$work/password" backup "$src" ;;
      */umbra)
        "$umbra" -q -r "$repo" init
        measure "$set/$tool/backup"    "$umbra" -q -r "$repo" backup "$src"
        measure "$set/$tool/nochange"  "$umbra" -q -r "$repo" backup "$src"
        measure "$set/$tool/restore"   "$umbra" -q -r "$repo" restore latest --target "$work/restore" ;;
      */restic)
        restic -q -r "$repo" init
        measure "$set/$tool/backup"    restic -q -r "$repo" backup "$src"
        measure "$set/$tool/nochange"  restic -q -r "$repo" backup "$src"
        measure "$set/$tool/restore"   restic -q -r "$repo" restore latest --target "$work/restore" ;;
      */rustic)
        rustic -r "$repo" --password-file "$work/password" init >/dev/null 2>&1
        measure "$set/$tool/backup"    rustic -r "$repo" --password-file "$work/password" backup "$src"
        measure "$set/$tool/nochange"  rustic -r "$repo" --password-file "$work/password" backup "$src"
        measure "$set/$tool/restore"   rustic -r "$repo" --password-file "$work/password" restore latest "$work/restore" ;;
    esac
    rm -rf "$work/restore"
  done
done

# --- the report ------------------------------------------------------------------------
out="$here/results/results-$(date -u +%Y-%m-%d).md"
python3 - "$work/times" "$out" "$scale" "$cold" "$work/sizes" <<'PY'
import sys, platform, subprocess, os
times, out, scale, cold, sizes = sys.argv[1:6]
size = {name: int(n) for name, n in (l.split() for l in open(sizes))}
rows = {}
for line in open(times):
    name, wall, cpu, rss = line.split()
    s, tool, step = name.split("/")
    rows[(s, step, tool)] = (float(wall), float(cpu), int(rss))
def ver(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except Exception:
        return "?"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
lines = [
    f"# umbra benchmark, scale {scale}{' (cold cache)' if cold == '1' else ' (warm page cache)'}", "",
    f"Machine: {os.cpu_count()} cores ({cpu}), {int(mem)//1024} MiB RAM, kernel {platform.release()}.",
    f"Tools: {ver(['restic', 'version'])}; {ver(['rustic', '--version'])}; umbra (release build).", "",
    "Ratios are umbra / peer: below 1 means umbra is faster or smaller.", "",
    "| set | step | umbra wall s | restic wall s | rustic wall s | wall ratio vs restic | vs rustic | umbra CPU s | CPU ratio vs restic | vs rustic | umbra CPU s per GB | umbra RSS MiB | restic RSS MiB | rustic RSS MiB | RSS ratio vs restic | vs rustic |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]
def r(a, b):
    return f"{a / b:.2f}" if b else "-"
for s in dict.fromkeys(k[0] for k in rows):
    for step in ("backup", "nochange", "restore"):
        u, re, ru = (rows.get((s, step, t)) for t in ("umbra", "restic", "rustic"))
        if not (u and re and ru):
            continue
        lines.append(
            f"| {s} | {step} | {u[0]:.2f} | {re[0]:.2f} | {ru[0]:.2f} | {r(u[0], re[0])} | {r(u[0], ru[0])} "
            f"| {u[1]:.2f} | {r(u[1], re[1])} | {r(u[1], ru[1])} | {r(u[1], size.get(s, 0) / 1e9)} "
            f"| {u[2]/1024:.0f} | {re[2]/1024:.0f} | {ru[2]/1024:.0f} | {r(u[2], re[2])} | {r(u[2], ru[2])} |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"\nwritten to {out}")
PY
