#!/usr/bin/env python3
"""Generates umbra's benchmark data sets, reproducibly (same seed, same bytes).

Three sets, about 2 GB in all at the default scale (BENCH_SCALE=1.0):
  small/  many small files: 60,000 files of 1-16 KiB in 600 directories      (~0.5 GB)
  large/  a few large files: 4 files of 256 MiB (half random, half repetitive) (~1.0 GB)
  mixed/  a source checkout: 20,000 text-like files of 100 B - 64 KiB, deep   (~0.5 GB)
Usage: gen.py DEST [SCALE]
"""
import os
import random
import sys

WORDS = ("fn let mut impl struct pub use self match return if else for while loop "
         "async await Result Option Some None Ok Err unwrap map filter collect into "
         "String Vec Box Arc Mutex println format error warn info debug trace").split()


def text_blob(rng, size):
    out = []
    n = 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12))) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out)[:size].encode()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gen_small(dest, scale, rng):
    files = int(60_000 * scale)
    for i in range(files):
        d = i % max(1, int(600 * scale))
        size = rng.randint(1024, 16 * 1024)
        # Half random (incompressible), half text (compressible).
        data = rng.randbytes(size) if i % 2 else text_blob(rng, size)
        write(os.path.join(dest, "small", f"d{d:04}", f"f{i:06}.dat"), data)


def gen_large(dest, scale, rng):
    size = int(256 * 1024 * 1024 * scale)
    chunk = 8 * 1024 * 1024
    for i in range(4):
        path = os.path.join(dest, "large", f"image{i}.img")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            written = 0
            pattern = rng.randbytes(64 * 1024) * (chunk // (64 * 1024))
            while written < size:
                n = min(chunk, size - written)
                # Alternate random and repetitive chunks: dedup and compression both matter.
                f.write(rng.randbytes(n) if (written // chunk) % 2 == 0 else pattern[:n])
                written += n


def gen_mixed(dest, scale, rng):
    files = int(20_000 * scale)
    for i in range(files):
        depth = rng.randint(1, 6)
        parts = [f"mod{rng.randint(0, 20)}" for _ in range(depth)]
        size = int(rng.paretovariate(1.2) * 400) % (64 * 1024) + 100
        write(os.path.join(dest, "mixed", *parts, f"file{i:05}.rs"), text_blob(rng, size))


def gen_many(dest, rng):
    """100,000 files of 64 B - 7 KiB in 1,000 directories, whatever the scale: issue #11's
    no-change case. Made only when asked for (`bench/run.sh` with `many` in BENCH_SETS)."""
    marker = os.path.join(dest, ".complete-many")
    if os.path.exists(marker):
        return
    for d in range(1000):
        for i in range(100):
            write(os.path.join(dest, "many", f"d{d:04}", f"f{i:03}"), rng.randbytes(rng.randint(64, 7 * 1024)))
    open(marker, "w").close()


def main():
    dest = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    marker = os.path.join(dest, f".complete-{scale}")
    if os.path.exists(marker):
        print(f"data sets already in {dest}")
        return
    for name, fn, seed in (("small", gen_small, 1), ("large", gen_large, 2), ("mixed", gen_mixed, 3)):
        print(f"generating {name} ...", flush=True)
        fn(dest, scale, random.Random(seed))
    open(marker, "w").close()


if __name__ == "__main__":
    main()
