#!/usr/bin/env bash
# smoke.sh EXE - umbra.exe end to end under wine (HOLDFILE=holdfile.exe adds a file held
# open without sharing): init, a backup of a folder with
# --open-files off, snapshots, a byte-identical restore, check; then what the open-files
# policies do where there is no Volume Shadow Copy (wine has none): `auto` reads
# directly, with change detection, and records so; `required` fails before reading,
# saying why, and writes nothing.
set -euo pipefail
EXE=$1
export WINEDEBUG=-all
T=$(mktemp -d /tmp/umbra-win-smoke.XXXXXX)
trap 'rm -rf "$T"' EXIT
win() { printf 'Z:%s' "${1//\//\\}"; }
fail() { echo "smoke: $*" >&2; exit 1; }

mkdir -p "$T/data/sub/deeper" "$T/state" "$T/cache"
head -c 3000000 /dev/urandom > "$T/data/big.bin"
printf 'hello from umbra on windows\n' > "$T/data/sub/hello.txt"
: > "$T/data/sub/empty"
for i in $(seq 1 50); do head -c $((i * 97)) /dev/urandom > "$T/data/sub/deeper/f$i"; done
printf 'correct horse battery staple\n' > "$T/password"

export UMBRA_REPOSITORY; UMBRA_REPOSITORY=$(win "$T/repo")
export UMBRA_PASSWORD_FILE; UMBRA_PASSWORD_FILE=$(win "$T/password")
export UMBRA_STATE_DIR; UMBRA_STATE_DIR=$(win "$T/state")
export UMBRA_CACHE_DIR; UMBRA_CACHE_DIR=$(win "$T/cache")
umbra() { wine "$EXE" "$@"; }

umbra --version
umbra init
[ -f "$T/repo/config" ] || fail "init wrote no repository"

umbra backup --open-files off "$(win "$T/data")" --json > "$T/backup.json"
grep -q '"message_type":"summary"' "$T/backup.json" || fail "no summary: $(cat "$T/backup.json")"

umbra snapshots --json > "$T/snapshots.json"
python3 - "$T/snapshots.json" <<'PY'
import json, sys
snaps = json.load(open(sys.argv[1]))
assert len(snaps) == 1, snaps
print("snapshot", snaps[0]["short_id"], snaps[0]["paths"])
PY

umbra restore latest --target "$(win "$T/restored")"
restored=$(find "$T/restored" -name big.bin -printf '%h\n' | head -n 1)
[ -n "$restored" ] || fail "big.bin was not restored: $(find "$T/restored" | head)"
diff -r "$T/data" "$restored" || fail "the restore differs from the data"
echo "restore byte-identical: $(find "$restored" -type f | wc -l) files"

umbra check

# No Volume Shadow Copy under wine: auto falls back to direct reads and says so.
umbra backup "$(win "$T/data")" --json > "$T/auto.json"
grep -q '"message_type":"summary"' "$T/auto.json" || fail "auto backup: $(cat "$T/auto.json")"
umbra snapshots --json > "$T/snapshots.json"
python3 - "$T/snapshots.json" <<'PY'
import json, sys
snaps = json.load(open(sys.argv[1]))
assert len(snaps) == 2, snaps
text = json.dumps(snaps[-1])
assert "direct-unchanged" in text, text
print("auto without VSS: read directly, recorded as direct-unchanged")
PY

# required: fails before reading, and writes nothing.
if umbra backup --open-files required "$(win "$T/data")" > "$T/required.out" 2>&1; then
  fail "--open-files required succeeded without VSS"
fi
grep -qi "no snapshot can be taken" "$T/required.out" || fail "required: $(cat "$T/required.out")"
umbra snapshots --json > "$T/snapshots.json"
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert len(s)==2, s" "$T/snapshots.json"
echo "required without VSS: refused before reading: $(grep -i 'no snapshot' "$T/required.out" | head -n 1)"
# --snapshot vss where there is none: refused, with what to do instead.
if umbra backup --snapshot vss "$(win "$T/data")" > "$T/vss.out" 2>&1; then fail "--snapshot vss succeeded"; fi
grep -q "open-files off" "$T/vss.out" || fail "--snapshot vss: $(cat "$T/vss.out")"
grep -q reflink "$T/vss.out" && fail "a Linux method offered on Windows: $(cat "$T/vss.out")"
# umbra schedule writes systemd units: refused, with the Task Scheduler line.
if umbra schedule install > "$T/schedule.out" 2>&1; then fail "schedule install succeeded"; fi
grep -q schtasks "$T/schedule.out" || fail "schedule: $(cat "$T/schedule.out")"
# The web console is in the Windows build: its token is created and the login link printed.
umbra serve --print-url > "$T/serve.out" 2>&1 || fail "serve --print-url: $(cat "$T/serve.out")"
grep -Eq '^http://127.0.0.1:9474/login\?token=[0-9a-f]{64}' "$T/serve.out" || fail "serve: $(cat "$T/serve.out")"

# A job whose phases run through cmd: the classic stop, snapshot, start pattern.
cat > "$T/umbra.toml" <<TOML
[repository]
path = '$(win "$T/repo")'
password_file = '$(win "$T/password")'

[jobs.app]
sources = ['$(win "$T/data")']

[jobs.app.hooks]
before = ['echo %UMBRA_PHASE% %UMBRA_JOB%>> $(win "$T/phases.log")& echo stopped> $(win "$T/service.state")']
after_snapshot = ['echo %UMBRA_PHASE%>> $(win "$T/phases.log")& echo running> $(win "$T/service.state")']
after = ['echo %UMBRA_PHASE% %UMBRA_SNAPSHOT_ID%>> $(win "$T/phases.log")']
finally = ['echo %UMBRA_PHASE% %UMBRA_STATUS%>> $(win "$T/phases.log")']
TOML
umbra --config "$(win "$T/umbra.toml")" run app
tr -d '\r' < "$T/phases.log" > "$T/phases.txt"
cat "$T/phases.txt"
python3 - "$T/phases.txt" <<'PY'
import sys
lines = [l.strip() for l in open(sys.argv[1]) if l.strip()]
phases = [l.split()[0] for l in lines]
assert phases == ["before", "after_snapshot", "after", "finally"], lines
assert lines[0] == "before app", lines
assert len(lines[2].split()) == 2 and len(lines[2].split()[1]) == 64, lines
assert lines[3] == "finally success", lines
PY
grep -q running "$T/service.state" || fail "the service was left: $(cat "$T/service.state")"
umbra --config "$(win "$T/umbra.toml")" history app | tee "$T/history.txt"
grep -q success "$T/history.txt" || fail "history: $(cat "$T/history.txt")"
echo "job phases ran through cmd in order; the service was started again after the snapshot"

# A file another process holds with no sharing: read directly, it is a sharing violation,
# named, and the backup ends with exit code 3 (saved, incomplete).
if [ -n "${HOLDFILE:-}" ]; then
  mkdir -p "$T/held"
  printf 'ledger\n' > "$T/held/ledger.db"
  printf 'free\n' > "$T/held/free.txt"
  wine "$HOLDFILE" "$(win "$T/held/ledger.db")" "$(win "$T/ready")" 30 &
  holder=$!
  for _ in $(seq 100); do [ -f "$T/ready" ] && break; sleep 0.2; done
  [ -f "$T/ready" ] || fail "holdfile did not take the file"
  code=0
  umbra backup --open-files off "$(win "$T/held")" > "$T/held.out" 2>&1 || code=$?
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  cat "$T/held.out"
  [ "$code" = 3 ] || fail "a held file: exit code $code, expected 3"
  grep -q 'ledger.db: Sharing violation' "$T/held.out" || fail "the held file is not named"
  echo "a file held without sharing: named as unreadable, exit code 3"
fi

echo "windows smoke test passed"
