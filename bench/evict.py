#!/usr/bin/env python3
"""Drops the page cache of the files under each DIR (posix_fadvise DONTNEED), after a sync.

Used by bench/app-cost.sh instead of `echo 3 > drop_caches`: dropping every cache would
also drop the running database's working set, and the TPS measured before the backup
would then be the database warming up again, not its steady speed.

Usage: evict.py DIR [DIR...]
"""
import os
import sys

os.sync()
for top in sys.argv[1:]:
    for base, _dirs, names in os.walk(top):
        for name in names:
            try:
                fd = os.open(os.path.join(base, name), os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
