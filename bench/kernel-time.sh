#!/usr/bin/env bash
# kernel-time.sh LOG NAME COMMAND...: runs COMMAND and appends to LOG one line: NAME, the CPU
# seconds every kernel thread (kworkers, the loop device's, btrfs's) and the interrupts
# (irq + softirq) took meanwhile, and the wall seconds; COMMAND's exit status is its own.
# A wrapper for bench/app-cost.sh's cases (BENCH_CASES): the work the kernel does beside a
# backup, which the backup's own CPU seconds do not count (docs/BENCHMARKS.md, 2026-12-03,
# night), e.g.
#   umbra=bench/kernel-time.sh /tmp/kt.log umbra @U@ -r @W@/u-@N@-1 backup -q --keep-base never @D@
# A kernel thread's time is counted by its pid: a kworker that ends meanwhile is not.
set -uo pipefail
if [ $# -lt 3 ]; then
  echo "kernel-time.sh: usage: kernel-time.sh LOG NAME COMMAND... (got $# arguments)" >&2; exit 2
fi
log="$1" name="$2"; shift 2
look() { python3 - <<'PY'
import os
hz = os.sysconf("SC_CLK_TCK")
kernel = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue  # ended meanwhile
    f = stat[stat.rfind(")") + 2:].split()
    if pid == "2" or f[1] == "2":  # kthreadd and its children
        kernel += int(f[11]) + int(f[12])
cpu = open("/proc/stat").readline().split()[1:]
print(kernel / hz, (int(cpu[5]) + int(cpu[6])) / hz)
PY
}
read -r k0 i0 < <(look); t0=$(date +%s.%N)
"$@"; rc=$?
read -r k1 i1 < <(look); t1=$(date +%s.%N)
python3 -c "import sys; n,k0,i0,t0,k1,i1,t1=sys.argv[1:]; print(f'{n}\tkernel threads {float(k1)-float(k0):.2f} s\tinterrupts {float(i1)-float(i0):.2f} s\twall {float(t1)-float(t0):.1f} s')" \
  "$name" "$k0" "$i0" "$t0" "$k1" "$i1" "$t1" >> "$log"
exit "$rc"
