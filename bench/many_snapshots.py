#!/usr/bin/env python3
"""Adds N snapshots to a local restic-format repository in seconds, for the web console's
benchmark (bench/web.sh): each a copy of an existing snapshot with another time and a tag,
encrypted as restic's design says (AES-256-CTR, Poly1305-AES) with the repository's master
key, as plain JSON (which format 2 allows beside zstd). Writing 1,000 snapshots through `umbra backup --stdin` takes half an hour here, most of
it each backup reading every snapshot to find its parent.

Usage: many_snapshots.py REPO PASSWORD_FILE N
"""
import base64, hashlib, json, os, sys
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.poly1305 import Poly1305

repo, password_file, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
password = open(password_file, "rb").read().rstrip(b"\n")


def aes_ctr(key, iv, data):
    c = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return c.update(data) + c.finalize()


def mac(k, r, iv, ct):
    e = Cipher(algorithms.AES(k), modes.ECB()).encryptor()
    return Poly1305.generate_tag(r + e.update(iv) + e.finalize(), ct)


def decrypt(keys, blob):
    iv, ct, tag = blob[:16], blob[16:-16], blob[-16:]
    if mac(keys["k"], keys["r"], iv, ct) != tag:
        raise SystemExit("wrong password or damaged file")
    return aes_ctr(keys["enc"], iv, ct)


def encrypt(keys, plain):
    iv = os.urandom(16)
    ct = aes_ctr(keys["enc"], iv, plain)
    return iv + ct + mac(keys["k"], keys["r"], iv, ct)


kf_name = os.listdir(os.path.join(repo, "keys"))[0]
kf = json.load(open(os.path.join(repo, "keys", kf_name)))
derived = hashlib.scrypt(password, salt=base64.b64decode(kf["salt"]), n=kf["N"], r=kf["r"],
                         p=kf["p"], maxmem=1 << 30, dklen=64)
user = {"enc": derived[:32], "k": derived[32:48], "r": derived[48:64]}
master = json.loads(decrypt(user, base64.b64decode(kf["data"])))
keys = {"enc": base64.b64decode(master["encrypt"]), "k": base64.b64decode(master["mac"]["k"]),
        "r": base64.b64decode(master["mac"]["r"])}
snap_dir = os.path.join(repo, "snapshots")
first = sorted(os.listdir(snap_dir))[0]
plain = decrypt(keys, open(os.path.join(snap_dir, first), "rb").read())
if plain[:1] == b"\x02":
    # Repository format 2: a version byte, then zstd (read with the zstd command).
    import subprocess
    plain = subprocess.run(["zstd", "-d", "-c"], input=plain[1:], capture_output=True,
                           check=True).stdout
template = json.loads(plain)
start = datetime.now(timezone.utc) - timedelta(hours=count)
for i in range(count):
    s = dict(template)
    s["time"] = (start + timedelta(hours=i)).isoformat()
    s["tags"] = [f"copy-{i}"]
    s.pop("id", None)
    s.pop("original", None)
    data = encrypt(keys, json.dumps(s).encode())
    name = hashlib.sha256(data).hexdigest()
    with open(os.path.join(snap_dir, name), "wb") as f:
        f.write(data)
print(f"added {count} snapshots")
