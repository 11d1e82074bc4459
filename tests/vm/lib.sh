# Shared helpers for the guest scripts (sourced). Guest scripts take UMBRA_BINARY SCRIPT_DIR
# (run-in-vm.sh copies only the script itself into the guest) and source this file.
# The guest sees the host's root read-only (with a writable overlay), so BIN is the
# host-built umbra binary.
set -euo pipefail
BIN=${1:?usage: script UMBRA_BINARY}
export DM_DISABLE_UDEV=1 LVM_SUPPRESS_FD_WARNINGS=1
export UMBRA_REPOSITORY=/tmp/umbra-repo UMBRA_PASSWORD_FILE=/tmp/umbra-pw
export UMBRA_CACHE_DIR=/tmp/umbra-cache UMBRA_STATE_DIR=/tmp/umbra-state
echo "vm test password" > "$UMBRA_PASSWORD_FILE"
umbra() { "$BIN" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
step() { echo; echo "=== $* ($(cut -d' ' -f1 /proc/uptime)s)"; }
# json FIELD_PATH < JSON: prints a field of the backup summary (python dotted path).
summary() { "$BIN" --json backup "$@" | python3 -c '
import json, sys
for line in sys.stdin:
    v = json.loads(line)
    if isinstance(v, dict) and v.get("message_type") == "summary":
        print(json.dumps(v))'; }
field() { python3 -c "import json,sys; v=json.load(sys.stdin); print(eval('v'+sys.argv[1]))" "$1"; }
no_umbra_mounts() { ! grep -q ' /run/umbra/mnt/' /proc/mounts || fail "mounts left: $(grep /run/umbra /proc/mounts)"; }
no_records() { [ -z "$(ls -A "$UMBRA_STATE_DIR/artifacts" 2>/dev/null)" ] || fail "registry records left: $(ls "$UMBRA_STATE_DIR/artifacts")"; }
umbra init -q
