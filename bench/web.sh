#!/usr/bin/env bash
# The web console with many snapshots and a huge directory (issue #17): how long the
# snapshot list takes with 1,000 snapshots, and how long a directory of 100,000 entries
# takes to open (its first page). First request after the console starts (cold: the
# repository is opened, the snapshots read) and the median of 5 after it (warm).
# Usage: bash bench/web.sh [UMBRA_BINARY]   (default: target/release/umbra)
# Writes bench/results/web-DATE.md. Not run in CI (it is a benchmark).
set -euo pipefail
UMBRA=${1:-target/release/umbra}
UMBRA=$(realpath "$UMBRA")
SNAPSHOTS=${SNAPSHOTS:-1000}
ENTRIES=${ENTRIES:-100000}
work=$(mktemp -d /tmp/umbra-web-bench.XXXXXX)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
export UMBRA_STATE_DIR=$work/state UMBRA_CACHE_DIR=$work/cache
echo bench-password > "$work/pw"; chmod 600 "$work/pw"
cat > "$work/umbra.toml" <<TOML
[repository]
path = "$work/repo"
password_file = "$work/pw"

[jobs.bench]
sources = ["$work/wide"]
TOML
u() { "$UMBRA" -c "$work/umbra.toml" "$@"; }
u init >/dev/null
mkdir -p "$work/wide/big"
python3 - "$work/wide/big" "$ENTRIES" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, f"entry-{i:06d}"), "w") as f:
        f.write(str(i))
PY
u run bench >/dev/null
# The rest of the snapshots: copies of the first with other times and tags, written
# straight into the repository (bench/many_snapshots.py; through `umbra backup` they take
# half an hour), then checked by umbra and restic.
python3 "$(dirname "$0")/many_snapshots.py" "$work/repo" "$work/pw" $((SNAPSHOTS - 1))
u check >/dev/null
count=$(u snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
u serve --listen "127.0.0.1:$port" >/dev/null 2>&1 & server=$!
for _ in $(seq 100); do curl -s -o /dev/null "127.0.0.1:$port/static/console.css" && break; sleep 0.1; done
token=$(cat "$UMBRA_STATE_DIR/web/token")
snap=$(u snapshots --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print([x for x in s if not x.get("tags")][0]["id"])')
t() { curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "127.0.0.1:$port$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {
  local cold warm
  cold=$(t "$1")
  warm=$(for _ in 1 2 3 4 5; do t "$1"; echo; done | median)
  echo "| $2 | $cold | $warm |"
}
out=bench/results/web-$(date -u +%Y-%m-%d).md
{
  echo "# The web console with $count snapshots and a directory of $ENTRIES entries"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, umbra $(git rev-parse --short HEAD 2>/dev/null || echo '?'), release build, local repository."
  echo "Seconds per request (curl's time_total): the first after the console started, and the median of the next 5."
  echo
  echo "| request | first | warm (median of 5) |"
  echo "|---|---|---|"
  measure "/snapshots" "snapshot list page, $count snapshots"
  measure "/api/snapshots" "snapshot list API"
  measure "/snapshots/$snap?path=$work/wide/big" "directory of $ENTRIES entries, first page (1,000)"
  measure "/snapshots/$snap?path=$work/wide/big&offset=99000" "same directory, last page"
  measure "/api/snapshots/$snap/ls?path=$work/wide/big&limit=1000" "same directory through the API"
  echo
  pid=$(pgrep -f "serve --listen 127.0.0.1:$port" | head -1)
  echo "Peak RSS of the console after these: $(grep VmHWM "/proc/$pid/status" | awk '{print $2, $3}')."
} | tee "$out"
