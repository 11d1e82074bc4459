#!/usr/bin/env python3
"""What one backup costs a running application (issue #18): the driver of bench/app-cost.sh.

For each case, in turn, on the same data under the same load: the application's
transactions per second (TPS) in the BASELINE seconds before the backup, and during it;
the backup's wall time (its window) and CPU seconds; transactions lost as
(TPS before - TPS during) x backup seconds; and, since a backup can leave work behind that
still slows the application after it ended (writeback, a deleted snapshot's extents freed
by the filesystem), TPS in the AFTER seconds right after it and what was lost there. TPS
is counted from a table each committed transaction adds to (PostgreSQL's xact_commit,
MariaDB's Com_commit), sampled twice a second.

Usage: app_cost.py COUNT_COMMAND BASELINE RESET_COMMAND EVICT_COMMAND -- NAME=COMMAND...
  COUNT_COMMAND prints the committed transactions so far (a shell command line).
  RESET_COMMAND runs before each case, so that each backs up as much as the others (the
  load's growing tables emptied, a checkpoint).
  EVICT_COMMAND then drops the page cache of the files the backup reads cold (not the
  database's working set: its TPS before the backup would then be a warm-up).
  After SETTLE seconds, TPS is counted over BASELINE seconds; then the case runs.
  Each case is a shell command line.
Prints one JSON object per case on stdout.
"""
import json
import os
import resource
import subprocess
import sys
import threading
import time


def count(cmd):
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    try:
        return int(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


class Sampler(threading.Thread):
    def __init__(self, cmd):
        super().__init__(daemon=True)
        self.cmd = cmd
        self.samples = []  # (time, committed)
        self.stop = False

    def run(self):
        while not self.stop:
            n = count(self.cmd)
            if n is not None:
                self.samples.append((time.time(), n))
            time.sleep(0.5)

    def tps(self, start, end):
        """Transactions per second between start and end, from the samples around them."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return None
        (t0, n0), (t1, n1) = inside[0], inside[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else None


SETTLE = 5.0
AFTER = 10.0


def run_case(name, command, sampler, baseline, reset, evict):
    subprocess.run(reset, shell=True, check=True)
    subprocess.run(evict, shell=True, check=True)
    time.sleep(SETTLE + baseline)
    before_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    done = subprocess.run(command, shell=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    end = time.time()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage.ru_utime - before_usage.ru_utime) + (usage.ru_stime - before_usage.ru_stime)
    time.sleep(AFTER + 1.0)
    tps_before = sampler.tps(start - baseline, start)
    tps_during = sampler.tps(start, end)
    tps_after = sampler.tps(end, end + AFTER)
    wall = end - start
    lost = lost_after = None
    if tps_before is not None and tps_during is not None:
        lost = max(0.0, (tps_before - tps_during) * wall)
    if tps_before is not None and tps_after is not None:
        lost_after = max(0.0, (tps_before - tps_after) * AFTER)
    return {
        "case": name,
        "ok": done.returncode == 0,
        "error": done.stderr[-500:] if done.returncode not in (0, 3) else None,
        "tps_before": tps_before,
        "tps_during": tps_during,
        "ratio": (tps_during / tps_before) if tps_before and tps_during is not None else None,
        "window_s": wall,
        "cpu_s": cpu,
        "lost": lost,
        "tps_after": tps_after,
        "lost_after": lost_after,
    }


def main():
    args = sys.argv[1:]
    sep = args.index("--")
    count_cmd, baseline, reset, evict = args[0], float(args[1]), args[2], args[3]
    cases = [a.split("=", 1) for a in args[sep + 1:]]
    sampler = Sampler(count_cmd)
    sampler.start()
    time.sleep(2)
    for name, command in cases:
        print(json.dumps(run_case(name, command, sampler, baseline, reset, evict)), flush=True)
    sampler.stop = True


if __name__ == "__main__":
    main()
