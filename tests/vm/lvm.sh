#!/bin/bash
# LVM snapshots, for real, inside the VM: thick (ext4, xfs) and thin volumes, parents across
# runs, copy-on-write overflow, and kill -9 followed by `umbra cleanup`.
set -euo pipefail   # here, not only in lib.sh: a script that cannot load it must fail
[ -f "${2:-}/lib.sh" ] || { echo "FAIL: no lib.sh in '${2:-}' (usage: SCRIPT UMBRA_BINARY SCRIPT_DIR)"; exit 2; }
[ -x "${1:-}" ] || { echo "FAIL: umbra binary '${1:-}' not found in the guest"; exit 2; }
. "$2/lib.sh" "$1"
for m in dm_mod dm_snapshot dm_thin_pool loop ext4 xfs; do modprobe "$m"; done
truncate -s 3G /tmp/pv.img
LOOP=$(losetup -f --show /tmp/pv.img)
pvcreate -q -y "$LOOP"; vgcreate -q vgt "$LOOP"

setup_fs() { # NAME FS [thin]
  if [ "${3:-}" = thin ]; then
    lvcreate -q -y --type thin-pool -L 400M -n pool vgt
    lvcreate -q -y -V 400M --thinpool vgt/pool -n "$1"
  else
    lvcreate -q -y -n "$1" -L 320M vgt
  fi
  if [ "$2" = xfs ]; then mkfs.xfs -q -f "/dev/vgt/$1"; else mkfs.ext4 -q -F "/dev/vgt/$1"; fi
  mkdir -p "/mnt/$1"; mount "/dev/vgt/$1" "/mnt/$1"
  mkdir -p "/mnt/$1/data/sub"
  head -c 5000000 /dev/urandom > "/mnt/$1/data/sub/big"
  echo "hello from $1" > "/mnt/$1/data/hello"
}

for spec in "thick_ext4 ext4" "thick_xfs xfs" "thin_ext4 ext4 thin"; do
  set -- $spec
  step "LVM $1 ($2${3:+, thin})"
  setup_fs "$@"
  src=/mnt/$1/data
  umbra sources "$src" | grep -q "	lvm	" || fail "planner did not choose lvm for $src: $(umbra sources "$src")"
  s=$(summary "$src")
  [ "$(echo "$s" | field '["consistency"]["sources"][0]["method"]')" = lvm ] || fail "method: $s"
  [ "$(echo "$s" | field '["consistency"]["sources"][0]["level"]')" = volume-snapshot ] || fail "level: $s"
  echo "snapshot created in $(echo "$s" | field '["consistency"]["sources"][0]["snapshot_ms"]') ms"
  lvs --noheadings -o lv_name vgt | grep -q umbra- && fail "snapshot LV left behind"
  no_umbra_mounts; no_records
  rm -rf /tmp/restore; umbra restore latest --target /tmp/restore -q
  diff -r "$src" "/tmp/restore$src" || fail "restore differs"
  s=$(summary "$src")
  [ "$(echo "$s" | field '["bytes_read"]')" = 0 ] || fail "second run read data: $s"
done

step "lvs output, as recorded in the unit tests"
lvs --noheadings --separator '|' -o vg_name,lv_name,lv_attr,pool_lv,data_percent vgt

step "copy-on-write overflow fails the backup and records nothing"
before=$(umbra snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
head -c 150000000 /dev/urandom > /mnt/thick_ext4/data/sub/large
sync
"$BIN" --json backup --lvm-snapshot-size 1%ORIGIN /mnt/thick_ext4/data > /tmp/overflow.json 2>/tmp/overflow.err &
pid=$!
for _ in $(seq 1 600); do lvs --noheadings -o lv_name vgt | grep -q umbra- && break; sleep 0.1; done
lvs --noheadings -o lv_name vgt | grep -q umbra- || fail "no snapshot appeared"
# Rewrite the origin while the snapshot is read: far more than its 1% area can hold.
dd if=/dev/urandom of=/mnt/thick_ext4/data/sub/large bs=1M count=100 conv=notrunc status=none; sync
lvs --noheadings --separator '|' -o vg_name,lv_name,lv_attr,pool_lv,data_percent vgt | grep umbra- || true
set +e; wait $pid; rc=$?; set -e
cat /tmp/overflow.json /tmp/overflow.err
[ $rc = 1 ] || fail "an overflowed snapshot must fail the backup (rc $rc)"
grep -q "overflowed its copy-on-write area" /tmp/overflow.json || fail "no overflow message"
after=$(umbra snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$before" = "$after" ] || fail "a snapshot was recorded from an overflowed LVM snapshot ($before -> $after)"
lvs --noheadings -o lv_name vgt | grep -q umbra- && fail "overflowed snapshot LV left behind"
no_umbra_mounts; no_records

step "kill -9 after the snapshot, then umbra cleanup"
"$BIN" backup /mnt/thick_xfs/data >/dev/null 2>&1 &  # the binary itself: kill must hit umbra, not a subshell
pid=$!
for _ in $(seq 1 600); do grep -q ' /run/umbra/mnt/' /proc/mounts && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null || true
lvs --noheadings -o lv_name vgt | grep -q umbra- || fail "the killed run left no snapshot (test did not hit the window)"
umbra cleanup
lvs --noheadings -o lv_name vgt | grep -q umbra- && fail "cleanup left the snapshot LV"
no_umbra_mounts; no_records

umount /mnt/thick_ext4 /mnt/thick_xfs /mnt/thin_ext4
vgremove -q -y vgt; pvremove -q -y "$LOOP"; losetup -d "$LOOP"
echo "LVM TESTS: PASS"
