#!/usr/bin/env bash
# Off-site stores: umbra and restic 0.14 backing up and restoring the same data to the same
# S3 server (moto's, on 127.0.0.1) and SFTP server (OpenSSH's sshd on 127.0.0.1, as an
# unprivileged user), in the same run, pair by pair. Writes the times and the umbra/restic
# ratios to bench/results/offsite-<date>.md.
#
# Not part of CI. Needs root (sshd as its own user), moto_server, sshd, restic.
# Settings by environment:
#   BENCH_SCALE   data size factor for gen.py (1.0 = about 2 GB in three sets)  default 1.0
#   BENCH_SETS    which of gen.py's sets                                        default "mixed"
#   BENCH_ROUNDS  rounds per tool and step (the median is reported)            default 3
#   BENCH_WORK    scratch space                                                 default bench/work
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
scale="${BENCH_SCALE:-1.0}"
sets="${BENCH_SETS:-mixed}"
rounds="${BENCH_ROUNDS:-3}"
work="${BENCH_WORK:-$here/work}/offsite"
mkdir -p "$work" "$here/results"
command -v moto_server >/dev/null || { echo "needs moto_server (pip install 'moto[server]')" >&2; exit 2; }
[ -x /usr/sbin/sshd ] || { echo "needs sshd (apt-get install openssh-server)" >&2; exit 2; }
(cd "$root" && cargo build --release -p umbra --locked -q)
umbra="$root/target/release/umbra"
python3 "$here/gen.py" "$(dirname "$work")/data" "$scale" >/dev/null
echo "benchmark password" > "$work/password"; chmod 600 "$work/password"
export RESTIC_PASSWORD_FILE="$work/password" UMBRA_PASSWORD_FILE="$work/password"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret

# --- servers ---------------------------------------------------------------------------
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
s3port=$((20000 + RANDOM % 10000)); sshport=$((s3port + 1))
moto_server -H 127.0.0.1 -p "$s3port" > "$work/moto.log" 2>&1 & pids+=($!)
user=umbra-sftp
id "$user" >/dev/null 2>&1 || useradd --system --create-home --home-dir "/var/lib/$user" --shell /bin/sh "$user"
sftp="$(mktemp -d /tmp/umbra-bench-sftp-XXXXXX)"; chmod 755 "$sftp"
mkdir -p "$sftp/srv" "$sftp/run" "$sftp/bin"
ssh-keygen -q -t ed25519 -N "" -f "$sftp/hostkey"; ssh-keygen -q -t ed25519 -N "" -f "$sftp/clientkey"
cp "$sftp/clientkey.pub" "$sftp/authorized_keys"
cat > "$sftp/sshd_config" <<EOF
Port $sshport
ListenAddress 127.0.0.1
HostKey $sftp/hostkey
PidFile $sftp/run/sshd.pid
AuthorizedKeysFile $sftp/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
Subsystem sftp internal-sftp
EOF
echo "[127.0.0.1]:$sshport $(cat "$sftp/hostkey.pub")" > "$sftp/known_hosts"
printf 'Host bench\n  HostName 127.0.0.1\n  Port %s\n  User %s\n  IdentityFile %s/clientkey\n  IdentitiesOnly yes\n  UserKnownHostsFile %s/known_hosts\n  BatchMode yes\n' \
  "$sshport" "$user" "$sftp" "$sftp" > "$sftp/ssh_config"
printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$sftp/ssh_config" > "$sftp/bin/ssh"; chmod 755 "$sftp/bin/ssh"
chown -R "$user" "$sftp/srv" "$sftp/run" "$sftp/hostkey" "$sftp/authorized_keys"
setpriv --reuid "$user" --regid "$user" --clear-groups /usr/sbin/sshd -D -f "$sftp/sshd_config" -E "$sftp/run/log" & pids+=($!)
export PATH="$sftp/bin:$PATH"
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$s3port) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$sshport) 2>/dev/null && break
  sleep 0.1
done
python3 -c "import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:$s3port/bench', method='PUT'))"

# --- measuring -------------------------------------------------------------------------
: > "$work/times"
measure() {  # NAME CMD...: appends "NAME wall rss_kib"
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time.out" "$@" > "$work/step.log" 2>&1 || {
    echo "step $name failed:"; tail -20 "$work/step.log"; exit 1; }
  read -r wall rss < "$work/time.out"
  echo "$name $wall $rss" >> "$work/times"
  printf '  %-34s %6ss %8s KiB\n' "$name" "$wall" "$rss"
}
n=0
for set in $sets; do
  src="$(dirname "$work")/data/$set"
  echo "== $set ($(du -sh "$src" | cut -f1))"
  for round in $(seq "$rounds"); do
    for store in s3 sftp; do
      for tool in umbra restic; do
        n=$((n + 1))
        case $store in
          s3) repo="s3:http://127.0.0.1:$s3port/bench/$tool-$n" ;;
          sftp) repo="sftp:bench:$sftp/srv/$tool-$n" ;;
        esac
        rm -rf "$work/restore"
        # Each step starts with an empty cache, as on a new machine (the disaster case).
        c="$work/cache/$n"; rm -rf "$c"
        if [ "$tool" = umbra ]; then
          "$umbra" -q --no-cache -r "$repo" init
          measure "$set/$store/$tool/backup" env UMBRA_CACHE_DIR="$c/b" "$umbra" -q -r "$repo" backup "$src"
          measure "$set/$store/$tool/restore" env UMBRA_CACHE_DIR="$c/r" "$umbra" -q -r "$repo" restore latest --target "$work/restore"
        else
          restic -q --no-cache -r "$repo" init
          measure "$set/$store/$tool/backup" env RESTIC_CACHE_DIR="$c/b" restic -q -r "$repo" backup "$src"
          measure "$set/$store/$tool/restore" env RESTIC_CACHE_DIR="$c/r" restic -q -r "$repo" restore latest --target "$work/restore"
        fi
        rm -rf "$c"
        diff -rq "$src" "$work/restore$src" >/dev/null || { echo "$tool restored something else from $store"; exit 1; }
      done
    done
    rm -rf "$sftp/srv/"*
  done
done
rm -rf "$work/restore"

out="$here/results/offsite-$(date -u +%Y-%m-%d).md"
python3 - "$work/times" "$out" "$scale" "$rounds" <<'PY'
import sys, statistics, collections, platform, subprocess
times, out, scale, rounds = sys.argv[1:]
rows = collections.defaultdict(list)
for line in open(times):
    name, wall, rss = line.split()
    rows[name].append((float(wall), int(rss)))
def med(name, i):
    return statistics.median(v[i] for v in rows[name])
restic = subprocess.run(["restic", "version"], capture_output=True, text=True).stdout.strip()
lines = [f"# Off-site stores, {platform.node()}, scale {scale}, median of {rounds}",
         "", f"{restic}; S3: moto_server on 127.0.0.1; SFTP: OpenSSH sshd on 127.0.0.1; each step starts with an empty local cache (a new machine).", "",
         "| set | store | step | umbra | restic | umbra/restic | umbra RSS | restic RSS |",
         "|---|---|---|---|---|---|---|---|"]
keys = sorted({n.rsplit("/", 2)[0] + "/" + n.rsplit("/", 1)[1] for n in rows})
for set_store_step in sorted({(n.split("/")[0], n.split("/")[1], n.split("/")[3]) for n in rows}):
    s, st, step = set_store_step
    u, r = f"{s}/{st}/umbra/{step}", f"{s}/{st}/restic/{step}"
    lines.append(f"| {s} | {st} | {step} | {med(u,0):.2f} s | {med(r,0):.2f} s | **{med(u,0)/med(r,0):.2f}x** | "
                 f"{med(u,1)/1024:.0f} MiB | {med(r,1)/1024:.0f} MiB |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines)); print(f"\nwritten to {out}")
PY
