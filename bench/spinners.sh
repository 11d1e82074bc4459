#!/usr/bin/env bash
# spinners.sh N SECONDS [SLICE_NS]: N processes spinning on the CPU for SECONDS, at nice 19 in
# a session of their own whose autogroup is at nice 19 (as umbra's low work is), with an
# EEVDF slice of SLICE_NS nanoseconds (Linux 6.12+; 0 or none: the kernel's). A case for
# bench/app-cost.sh (BENCH_CASES) that isolates the CPU part of a low backup's cost: two
# spinners cut pgbench's TPS to 0.39x of a run with nothing beside it (docs/BENCHMARKS.md,
# "where the database's time goes"); the same with and without a 0.1 ms slice says what
# the slice alone does for the database, e.g.
#   two spinners=bench/spinners.sh 2 20
#   two spinners, slice 0.1 ms=bench/spinners.sh 2 20 100000
set -euo pipefail
n="${1:?how many spinners}" secs="${2:?for how many seconds}" slice="${3:-0}"
# -w: setsid forks where this shell leads its process group (a terminal's job); wait for it,
# so that the case lasts as long as the spinners.
exec setsid -w python3 - "$n" "$secs" "$slice" <<'PY'
import ctypes, os, struct, sys, time
n, secs, slice_ns = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
try:
    with open("/proc/self/autogroup", "w") as f:
        f.write("19")
except OSError as e:
    sys.exit(f"spinners.sh: cannot lower the session's autogroup: {e}")
os.nice(19 - os.nice(0))
if slice_ns:
    if os.uname().machine != "x86_64":
        sys.exit("spinners.sh: a slice is set through x86_64's syscall number; not on this machine")
    libc = ctypes.CDLL(None, use_errno=True)
    # struct sched_attr, first version (48 bytes): SCHED_FLAG_KEEP_POLICY, nice 19, runtime.
    attr = ctypes.create_string_buffer(struct.pack("IIQiIQQQ", 48, 0, 8, 19, 0, slice_ns, 0, 0), 48)
    if libc.syscall(314, 0, attr, 0) != 0:  # SYS_sched_setattr on x86_64
        sys.exit(f"spinners.sh: sched_setattr failed: errno {ctypes.get_errno()}")
end = time.monotonic() + secs
kids = []
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        while time.monotonic() < end:
            pass
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
PY
