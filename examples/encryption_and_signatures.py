"""Encrypted and signed snapshots from Python (seed README, "Encryption Support").

Packs a small data set encrypted with a raw key and signed with an Ed25519 key, reads it back
with both keys (every block authenticated and its hash checked), shows what a wrong key and a
changed byte do, and checks the signature without the decryption key. Needs a build with the
`encryption` and `signing` features (`make develop` has them).
Run: python examples/encryption_and_signatures.py
"""

from __future__ import annotations

import os
import tempfile

import hexz


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        private, public = hexz.keygen(".", "release")  # release.key (0600), release.pub
        with open("data.key", "wb") as f:  # a raw 32-byte key; keep it secret
            f.write(os.urandom(32))
        samples = [f"sample {i}: ".encode() + os.urandom(100) for i in range(50)]

        with hexz.Writer("secret.hxz", key="data.key", signing_key=private) as w:
            for i, s in enumerate(samples):
                w.add_bytes(s, f"samples/{i:03}.bin")
            w.add_metadata({"owner": "research"})
        print(f"secret.hxz: {os.path.getsize('secret.hxz')} bytes, encrypted and signed")

        # Reading needs the key; verify_key= also checks the signature and every block's hash.
        with hexz.open("secret.hxz", key="data.key", verify_key=public) as r:
            assert bytes(r.open("samples/007.bin").read()) == samples[7]
            print(f"read back {len(r.namelist())} entries, metadata {r.metadata}")

        try:
            hexz.open("secret.hxz", key=os.urandom(32))
        except hexz.DecryptionError as e:
            print(f"wrong key: {type(e).__name__}: {e}")

        # Without the decryption key, the signature still proves who wrote the archive.
        report = hexz.verify("secret.hxz", verify_key=public)
        print(
            f"signature {report.signature} by {(report.signer or '')[:16]}..., "
            f"blocks checked: {report.contents_checked}"
        )
        full = hexz.verify("secret.hxz", verify_key=public, key="data.key")
        print(f"with the key: ok={full.ok}, {full.blocks} blocks checked")

        # One changed byte anywhere is caught.
        data = bytearray(open("secret.hxz", "rb").read())
        data[len(data) // 2] ^= 1
        with open("tampered.hxz", "wb") as f:
            f.write(data)
        report = hexz.verify("tampered.hxz", verify_key=public, key="data.key")
        print(f"tampered copy: ok={report.ok}, {report.problems[0]}")
        assert not report.ok


if __name__ == "__main__":
    main()
