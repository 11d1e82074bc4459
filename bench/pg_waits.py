#!/usr/bin/env python3
"""Where a PostgreSQL transaction's time goes while a command runs (issue #18).

Usage: pg_waits.py LOG NAME SOCKET_DIR -- COMMAND...
Runs COMMAND and appends one JSON line to LOG: the transactions committed meanwhile
(pg_stat_database on port 25434, as bench/app-cost.sh starts it) and, summed over the
threads of the postgres user's processes ("backend" for the server's, "pgbench" for the
client) and of the kernel's threads (named "k:" and their name's first part), the CPU
time, the time spent waiting in a run queue (/proc/.../schedstat) and the time slices,
per second of the command. Wrap a case of app-cost.sh in it through BENCH_CASES:
  umbra=python3 bench/pg_waits.py /tmp/w.jsonl umbra @W@/run -- @U@ -r @W@/u-@N@-1 backup -q --keep-base never @D@
Per transaction, a client's time (4 clients / TPS) less the backends' and pgbench's CPU
and run-queue time is what they slept for: I/O, locks, and wake-ups that come late.
"""
import glob
import json
import os
import pwd
import subprocess
import sys
import time

if "--" not in sys.argv[4:5] or len(sys.argv) < 6:
    sys.exit("usage: pg_waits.py LOG NAME SOCKET_DIR -- COMMAND... (see the top of this file)")
log, name, run = sys.argv[1], sys.argv[2], sys.argv[3]
command = sys.argv[5:]
psql = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[-1]
uid = pwd.getpwnam("postgres").pw_uid


def commits():
    out = subprocess.run(["runuser", "-u", "postgres", "--", psql, "-h", run, "-p", "25434", "-Atc",
                          "select xact_commit from pg_stat_database where datname = 'postgres'",
                          "postgres"], capture_output=True, text=True).stdout
    if not out.strip().isdigit():
        sys.exit(f"pg_waits.py: no PostgreSQL answered on {run} port 25434 (start it as app-cost.sh does)")
    return int(out.strip())


def threads():
    """{tid: (cpu ns, run-queue wait ns, slices, group)} of postgres's and the kernel's threads."""
    seen = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            owner = os.stat(f"/proc/{pid}").st_uid
            kernel = owner == 0 and open(f"/proc/{pid}/cmdline", "rb").read() == b""
            if owner != uid and not kernel:
                continue
            for tid in os.listdir(f"/proc/{pid}/task"):
                cpu, wait, slices = map(int, open(f"/proc/{pid}/task/{tid}/schedstat").read().split())
                stat = open(f"/proc/{pid}/task/{tid}/stat").read()
                comm = stat[stat.index("(") + 1:stat.rindex(")")]
                if kernel:
                    group = "k:" + comm.split("/")[0].split("-")[0]
                else:
                    group = "pgbench" if comm == "pgbench" else "backend"
                seen[tid] = (cpu, wait, slices, group)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass  # gone meanwhile
    return seen


c0, a, t0 = commits(), threads(), time.time()
code = subprocess.run(command).returncode
b, t1, c1 = threads(), time.time(), commits()
wall = t1 - t0
groups = {}
for tid, now in b.items():
    if tid in a:
        g = groups.setdefault(now[3], [0, 0, 0])
        for i in range(3):
            g[i] += now[i] - a[tid][i]
row = {"name": name, "wall": round(wall, 2), "rc": code, "tps": round((c1 - c0) / wall)}
for group, (cpu, wait, slices) in groups.items():
    row[group] = {"cpu_s_per_s": round(cpu / 1e9 / wall, 3), "wait_s_per_s": round(wait / 1e9 / wall, 3),
                  "slices_per_s": round(slices / wall)}
with open(log, "a") as f:
    f.write(json.dumps(row) + "\n")
sys.exit(code)
