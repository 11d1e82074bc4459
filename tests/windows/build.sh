#!/usr/bin/env bash
# build.sh - build umbra.exe for x86_64-pc-windows-gnu here, run the unit tests of the
# crates with Windows code under wine, and the end-to-end smoke test (smoke.sh).
#
# Route (from ../shared/win-cross, adapted): Debian's rustc-web/cargo-web (1.96) with
# rust-web-src, RUSTC_BOOTSTRAP=1 and -Zbuild-std compile std for the target, mingw-w64
# links, wine 8.0 runs. Everything that can be kept between runs on one machine is kept
# in $UMBRA_WIN_CACHE (default /var/cache/umbra-ci/windows): the packages, the cargo
# registry, the target folder with std and the dependencies, the wine prefix.
#
# Usage: bash tests/windows/build.sh   (as root; CI runs it from .ci/run)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${UMBRA_WIN_CACHE:-/var/cache/umbra-ci/windows}
timed() { local s=$SECONDS; "$@"; echo "[time] $((SECONDS - s)) s: $*" >&2; }

# 1. Packages. (libstd-rust-dev-windows is not used: it has rlibs for rustc 1.63 only.)
PKGS="rustc-web cargo-web rust-web-src mingw-w64 wine64 wine"
if ! dpkg -s $PKGS >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  timed apt-get update -qq
  timed apt-get install -y -qq --no-install-recommends $PKGS
fi
test -f /usr/lib/rustlib/src/rust/library/Cargo.lock

# 2. Debian's toolchain, not rustup's, and the target.
mkdir -p "$CACHE"
export PATH=/usr/bin:/bin:/usr/sbin:/sbin
export RUSTC=/usr/bin/rustc
export CARGO_HOME="$CACHE/cargo-home"
export CARGO_TARGET_DIR="$CACHE/target"
export RUSTC_BOOTSTRAP=1
export WINEPREFIX="$CACHE/wineprefix"
export WINEDEBUG=-all
export CARGO_BUILD_TARGET=x86_64-pc-windows-gnu
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
export CARGO_TERM_COLOR=never
BUILD_STD=(-Zbuild-std=std,panic_unwind)

# 3. The wine prefix, with a test-only shim: Rust's std (>= 1.78) imports ProcessPrng
#    from bcryptprimitives.dll, which wine 8.0 lacks (every program would exit with 53).
#    Real Windows needs nothing.
if [ ! -f "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ]; then
  mkdir -p "$CACHE/shim"
  x86_64-w64-mingw32-gcc -O2 -shared -o "$CACHE/shim/bcryptprimitives.dll" \
    "$HERE/bcryptprimitives.c" "$HERE/bcryptprimitives.def" -ladvapi32
  [ -d "$WINEPREFIX/drive_c/windows/system32" ] || timed sh -c 'wine wineboot --init >/dev/null 2>&1' || true
  cp "$CACHE/shim/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
fi

cd "$ROOT"
# 4. umbra.exe (release: std is built once per profile, and the tests share it).
timed nice -n 5 cargo build --release --locked "${BUILD_STD[@]}" -p umbra
EXE="$CARGO_TARGET_DIR/x86_64-pc-windows-gnu/release/umbra.exe"
ls -l "$EXE"

# 5. Unit tests under wine: the platform layer, the snapshot providers (VSS against its
#    fake, and the real requester up to where wine refuses it), the repository adapter,
#    and the jobs (cmd, job objects, Windows job files).
timed nice -n 5 cargo test --release --locked --no-fail-fast "${BUILD_STD[@]}" \
  -p umbra-core -p umbra-snapshot -p umbra-repo -p umbra-jobs --lib 2>&1 | tee "$CACHE/unit.log"
grep -q "test result: ok" "$CACHE/unit.log"
if grep -q "test result: FAILED" "$CACHE/unit.log"; then exit 1; fi

# 6. End to end, with a helper that holds a file open without sharing.
x86_64-w64-mingw32-gcc -O2 -municode -o "$CACHE/holdfile.exe" "$HERE/holdfile.c"
HOLDFILE="$CACHE/holdfile.exe" timed bash "$HERE/smoke.sh" "$EXE"
