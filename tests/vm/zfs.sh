#!/bin/bash
# ZFS snapshots, for real, inside the VM: a dataset with child datasets (recursive
# snapshot), parents across runs, and kill -9 followed by `umbra cleanup`.
set -euo pipefail   # here, not only in lib.sh: a script that cannot load it must fail
[ -f "${2:-}/lib.sh" ] || { echo "FAIL: no lib.sh in '${2:-}' (usage: SCRIPT UMBRA_BINARY SCRIPT_DIR)"; exit 2; }
[ -x "${1:-}" ] || { echo "FAIL: umbra binary '${1:-}' not found in the guest"; exit 2; }
. "$2/lib.sh" "$1"
modprobe zfs
truncate -s 1G /tmp/zdisk.img
zpool create -f -R /tmp/zroot tpool /tmp/zdisk.img
zfs create tpool/fs; zfs create tpool/fs/child; zfs create tpool/fs/child/grand
src=/tmp/zroot/tpool/fs
head -c 5000000 /dev/urandom > $src/big
echo parent > $src/p; echo child > $src/child/c; echo grand > $src/child/grand/g

step "zfs list output, as recorded in the unit tests"
zfs list -H -o name,mountpoint -r tpool

step "ZFS dataset with children"
umbra sources "$src" | grep -q "	zfs	" || fail "planner did not choose zfs: $(umbra sources "$src")"
s=$(summary "$src")
[ "$(echo "$s" | field '["consistency"]["sources"][0]["method"]')" = zfs ] || fail "method: $s"
[ "$(echo "$s" | field '["consistency"]["sources"][0]["level"]')" = volume-snapshot ] || fail "level: $s"
echo "snapshot created in $(echo "$s" | field '["consistency"]["sources"][0]["snapshot_ms"]') ms"
zfs list -H -t snapshot -o name | grep -q umbra- && fail "snapshots left behind"
no_umbra_mounts; no_records
rm -rf /tmp/restore; umbra restore latest --target /tmp/restore -q
diff -r "$src" "/tmp/restore$src" || fail "restore differs"
[ "$(cat /tmp/restore$src/child/grand/g)" = grand ] || fail "grandchild dataset missing"
s=$(summary "$src")
[ "$(echo "$s" | field '["bytes_read"]')" = 0 ] || fail "second run read data: $s"

step "kill -9 after the snapshot, then umbra cleanup"
head -c 100000000 /dev/urandom > $src/child/large
"$BIN" backup "$src" >/dev/null 2>&1 &  # the binary itself: kill must hit umbra, not a subshell
pid=$!
for _ in $(seq 1 600); do grep -q ' /run/umbra/mnt/' /proc/mounts && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null || true
zfs list -H -t snapshot -o name | grep -q umbra- || fail "the killed run left no snapshot"
umbra cleanup
zfs list -H -t snapshot -o name | grep -q umbra- && fail "cleanup left snapshots: $(zfs list -t snapshot)"
no_umbra_mounts; no_records
zpool destroy tpool; rm -f /tmp/zdisk.img
echo "ZFS TESTS: PASS"
