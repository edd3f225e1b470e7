"""Signed archives: keygen, signing in place and while writing, verify_key= through every
entry point (paths, PEM, hex, bytes; Dataset with DataLoader workers; HTTP), wrong keys,
unsigned archives, tampering, hexz.verify, and the golden encrypted+signed fixture."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import shutil
import stat
import struct
from pathlib import Path

import blake3
import numpy as np
import pytest
from conftest import Http

import hexz
import hexz_testing as ht
from hexz.errors import DecryptionError, IntegrityError, SignatureError

HAS_SIGNING = hexz._native.HAS_SIGNING


def _require_signing() -> None:
    if not HAS_SIGNING:
        pytest.skip("built without the signing feature")


@pytest.fixture(autouse=True)
def _signing_build(request: pytest.FixtureRequest) -> None:
    if request.node.name != "test_without_the_signing_feature":
        _require_signing()


FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "v1"
KEY = bytes(range(32))
N = 200
PAYLOAD = b"signed payload " * 1000


def _write(path: Path, **options: object) -> Path:
    x = np.arange(N * 4, dtype=np.int64).reshape(N, 4)
    with hexz.Writer(path, block_size=4096, **options) as w:  # type: ignore[arg-type]
        w.add_array(x, "x")
        w.add_bytes(PAYLOAD, "notes.txt")
    return path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    _require_signing()
    private, public = hexz.keygen(tmp_path_factory.mktemp("keys"), "signer")
    return Path(private), Path(public)


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    _require_signing()
    private, public = hexz.keygen(tmp_path_factory.mktemp("other"), "other")
    return Path(private), Path(public)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Path:
    """An archive signed in place with hexz.sign."""
    path = _write(tmp_path_factory.mktemp("signed") / "signed.hxz")
    report = hexz.sign(path, keys[0])
    assert report["replaced"] is False and report["file_size"] == path.stat().st_size
    return path


def _public_hex(public: Path) -> str:
    """The public key as 64 hex digits, as hexz.verify reports a signer (read from a signed
    archive's report, then checked against the PEM file by opening with both)."""
    tmp = public.parent / "probe.hxz"
    if not tmp.exists():
        with hexz.Writer(tmp) as w:
            w.add_bytes(b"probe", "p")
        hexz.sign(tmp, public.with_suffix(".key"))
    signer = hexz.verify(tmp, public)["signer"]
    assert isinstance(signer, str)
    return signer


def test_features() -> None:
    assert HAS_SIGNING  # the test build (`make develop`, every feature) signs and verifies


def test_without_the_signing_feature(tmp_path: Path) -> None:
    """A build without the `signing` feature refuses every signature option, whatever the
    archive (run against such a build: `maturin develop --no-default-features --features
    s3,compression-zstd,encryption`)."""
    if HAS_SIGNING:
        pytest.skip("this build has the signing feature")
    plain = _write(tmp_path / "plain.hxz")
    pub = (FIXTURES / "encrypted-signed.pub").read_text()
    for call in (
        lambda: hexz.keygen(tmp_path, "k"),
        lambda: hexz.sign(plain, tmp_path / "k.key"),
        lambda: hexz.open(plain, verify_key=pub),
        lambda: hexz.Dataset(plain, verify_key=pub),
        lambda: hexz.verify(plain, pub),
        lambda: hexz.Writer(tmp_path / "w.hxz", signing_key=tmp_path / "k.key"),
    ):
        with pytest.raises(hexz.UnsupportedFeatureError, match="signing"):
            call()
    assert hexz.verify(plain)["ok"]  # integrity checks need no signing feature


def test_keygen(tmp_path: Path) -> None:
    private, public = hexz.keygen(tmp_path, "k")
    assert (private, public) == (str(tmp_path / "k.key"), str(tmp_path / "k.pub"))
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert Path(private).read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert Path(public).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    before = Path(private).read_bytes()
    with pytest.raises(FileExistsError):
        hexz.keygen(tmp_path, "k")
    assert Path(private).read_bytes() == before
    # Only the public file existing is refused too, and no private key is left behind.
    os.unlink(private)
    with pytest.raises(FileExistsError):
        hexz.keygen(tmp_path, "k")
    assert not os.path.exists(private)
    with pytest.raises(ValueError):
        hexz.keygen(tmp_path, "a/b")
    with pytest.raises(FileNotFoundError):
        hexz.keygen(tmp_path / "missing", "k")
    # Defaults: ./hexz.key, ./hexz.pub
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert hexz.keygen() == ("./hexz.key", "./hexz.pub")
    finally:
        os.chdir(cwd)


def test_open_with_verify_key_in_every_form(signed: Path, keys: tuple[Path, Path]) -> None:
    public = keys[1]
    pem = public.read_text()
    hex_key = _public_hex(public)
    for form in (public, str(public), pem, hex_key, hex_key.upper(), bytes.fromhex(hex_key)):
        with hexz.open(signed, verify_key=form) as r:
            assert r.open("notes.txt").read() == PAYLOAD
            assert r.verify() == []
            info = r.info()
            assert info["signed"] is True and info["signer"] == hex_key
    arr = hexz.load_array(signed, "x", verify_key=public)
    assert arr.shape == (N, 4) and int(arr[N - 1, 3]) == 4 * N - 1
    got = hexz.read_array(signed, 0, (N, 4), np.int64, verify_key=pem)
    assert np.array_equal(got, arr)

    import asyncio

    async def go() -> bytes:
        async with hexz.AsyncReader(signed, verify_key=hex_key) as r:
            return bytes(await r.read_at(0, 16))

    assert len(asyncio.run(go())) == 16
    # A reader pickles with its public key: the copy checks the signature again.
    r = hexz.Reader(signed, verify_key=public)
    again = pickle.loads(pickle.dumps(r))
    assert again.open("notes.txt").read() == PAYLOAD
    assert again._h.remote["verify_key_file"] == str(public)


def test_wrong_and_missing_signatures(
    signed: Path, keys: tuple[Path, Path], other_keys: tuple[Path, Path], tmp_path: Path
) -> None:
    with pytest.raises(SignatureError, match="not by the expected key"):
        hexz.open(signed, verify_key=other_keys[1])
    with pytest.raises(SignatureError):
        hexz.Dataset(signed, verify_key=other_keys[1])
    unsigned = _write(tmp_path / "unsigned.hxz")
    with pytest.raises(SignatureError, match="not signed"):
        hexz.open(unsigned, verify_key=keys[1])
    with pytest.raises(SignatureError):
        hexz.verify(unsigned, keys[1])
    # Unsigned archives still open without a verify_key.
    assert hexz.open(unsigned).info()["signed"] is False
    assert issubclass(SignatureError, IntegrityError)
    assert issubclass(SignatureError, hexz.HexzError)
    assert hexz.SignatureError is SignatureError


def test_bad_key_arguments(signed: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        hexz.open(signed, verify_key=b"short")
    with pytest.raises(ValueError, match="private key"):
        hexz.open(signed, verify_key=keys[0])  # the private key file, not the .pub
    with pytest.raises(ValueError):
        hexz.open(signed, verify_key="-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")
    with pytest.raises(FileNotFoundError):
        hexz.open(signed, verify_key=tmp_path / "missing.pub")
    with pytest.raises(TypeError):
        hexz.open(signed, verify_key=42)
    with pytest.raises(ValueError):
        hexz.sign(signed, keys[1])  # a public key cannot sign
    with pytest.raises(FileNotFoundError):
        hexz.sign(signed, tmp_path / "missing.key")
    with pytest.raises(ValueError, match="local"):
        hexz.sign("https://example.com/a.hxz", keys[0])
    with pytest.raises(ValueError):
        hexz.Writer(tmp_path / "w.hxz", signing_key=keys[1])
    assert not (tmp_path / "w.hxz").exists()


def test_sign_output_and_resign(
    keys: tuple[Path, Path], other_keys: tuple[Path, Path], tmp_path: Path
) -> None:
    src = _write(tmp_path / "src.hxz")
    before = src.read_bytes()
    out = tmp_path / "out" / "signed.hxz"
    out.parent.mkdir()
    report = hexz.sign(src, keys[0], output=out)
    assert src.read_bytes() == before  # the source is left alone
    assert report["path"] == str(out) and report["replaced"] is False
    assert len(report["root_hash"]) == 64 and report["public_key"] == _public_hex(keys[1])
    assert out.stat().st_size == len(before) + 144 == report["file_size"]
    assert [p.name for p in out.parent.iterdir()] == ["signed.hxz"]  # no temporary left
    with hexz.open(out, verify_key=keys[1]) as r:
        assert r.open("notes.txt").read() == PAYLOAD
    # Signing again with another key (the private key as PEM text) replaces the signature.
    again = hexz.sign(out, other_keys[0].read_text())
    assert again["replaced"] is True and again["root_hash"] == report["root_hash"]
    assert out.stat().st_size == len(before) + 144
    with pytest.raises(SignatureError):
        hexz.open(out, verify_key=keys[1])
    assert hexz.verify(out, other_keys[1])["ok"]


def test_sign_replaces_atomically_unless_in_place(
    keys: tuple[Path, Path], other_keys: tuple[Path, Path], tmp_path: Path
) -> None:
    path = _write(tmp_path / "a.hxz")
    path.chmod(0o640)
    inode = path.stat().st_ino
    report = hexz.sign(path, keys[0])
    assert report["path"] == str(path) and path.stat().st_ino != inode  # copied, renamed
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".hexz-sign-")] == []
    assert hexz.verify(path, keys[1])["ok"]
    inode = path.stat().st_ino
    again = hexz.sign(path, other_keys[0], in_place=True)
    assert again["replaced"] and path.stat().st_ino == inode  # the same file
    assert hexz.verify(path, other_keys[1])["ok"]
    link = tmp_path / "link.hxz"
    link.symlink_to(path)
    hexz.sign(link, keys[0])
    assert link.is_symlink() and hexz.verify(path, keys[1])["ok"]
    with pytest.raises(ValueError, match="not both"):
        hexz.sign(path, keys[0], output=tmp_path / "x.hxz", in_place=True)


def test_verify_report(signed: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    report = hexz.verify(signed, keys[1])
    assert isinstance(report, hexz.VerifyReport)
    assert report.ok is True and report.problems == ()
    assert report.signed is True and report.signature == "valid"
    assert report.signer == _public_hex(keys[1]) and report.contents_checked
    assert report.blocks > 0 and report.frames > 0
    assert report.bytes == len(hexz.open(signed))
    assert report.root_hash == hexz.open(signed).info()["root_hash"]
    assert report["ok"] is True and report["signer"] == report.signer  # read as a mapping too
    with pytest.raises(KeyError):
        report["no such field"]
    # Without a key, the signature is checked against the key it names.
    assert hexz.verify(signed)["signer"] == report["signer"]
    unsigned = hexz.verify(_write(tmp_path / "u.hxz"))
    assert unsigned["ok"] is True and unsigned["signed"] is False
    assert unsigned["signature"] == "unsigned" and unsigned["signer"] is None


def test_tampered_block_is_never_returned(keys: tuple[Path, Path], tmp_path: Path) -> None:
    path = tmp_path / "plain.hxz"
    data = bytes(range(256)) * 64  # 16 KiB, stored as is
    with hexz.Writer(path, compression="none", block_size=4096) as w:
        w.add_bytes(data, "data")
    hexz.sign(path, keys[0])
    raw = bytearray(path.read_bytes())
    at = raw.find(data[:4096]) + 100
    assert at > 100
    raw[at] ^= 0x01
    path.write_bytes(bytes(raw))
    r = hexz.open(path, verify_key=keys[1])  # header and tables are intact: opens
    with pytest.raises(IntegrityError):
        bytes(r.open("data").read())
    report = hexz.verify(path, keys[1])
    assert report["ok"] is False and report["problems"]
    assert report["signature"] == "valid"  # the signature covers the hash that now fails


def test_tampered_tables_fail_at_open(
    signed: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    raw = bytearray(signed.read_bytes())
    # The summary sits just before the signature (144 bytes) and the footer; flip a byte in it.
    raw[len(raw) - 144 - 64 - 10] ^= 0x01
    path = tmp_path / "tampered.hxz"
    path.write_bytes(bytes(raw))
    with pytest.raises(hexz.HexzError):
        hexz.open(path, verify_key=keys[1])
    with pytest.raises(hexz.HexzError):
        hexz.verify(path, keys[1])


def test_writer_signs(
    keys: tuple[Path, Path], other_keys: tuple[Path, Path], tmp_path: Path
) -> None:
    path = _write(tmp_path / "w.hxz", signing_key=keys[0])
    report = hexz.verify(path, keys[1])
    assert report["ok"] and report["signer"] == _public_hex(keys[1])
    with pytest.raises(SignatureError):
        hexz.open(path, verify_key=other_keys[1])
    # The same bytes as writing unsigned and signing in place (the archive id aside).
    pem = _write(tmp_path / "pem.hxz", signing_key=keys[0].read_text())
    assert hexz.verify(pem, keys[1])["ok"]


def test_encrypted_and_signed(
    keys: tuple[Path, Path], other_keys: tuple[Path, Path], tmp_path: Path
) -> None:
    path = _write(tmp_path / "enc.hxz", key=KEY, signing_key=keys[0])
    assert b"signed payload" not in path.read_bytes()
    with hexz.open(path, key=KEY, verify_key=keys[1]) as r:
        assert r.open("notes.txt").read() == PAYLOAD
    with pytest.raises(DecryptionError):
        hexz.open(path, verify_key=keys[1])
    report = hexz.verify(path, keys[1], key=KEY)
    assert report["ok"] and report["signature"] == "valid"
    assert report["contents_checked"] and report["blocks"] > 0
    # Without the decryption key, only the signature (header and summary) is checked.
    keyless = hexz.verify(path, keys[1])
    assert keyless["ok"] and not keyless["contents_checked"]
    assert keyless["signer"] == report["signer"]
    assert keyless["root_hash"] == report["root_hash"]
    assert hexz.verify(path)["signer"] == report["signer"]
    with pytest.raises(SignatureError, match="not by the expected key"):
        hexz.verify(path, other_keys[1])
    tampered = tmp_path / "enc-tampered.hxz"
    data = bytearray(path.read_bytes())
    data[40] ^= 1  # the archive id; the header crc is fixed so only the signature can tell
    data[124:128] = struct.pack("<I", ht.crc32c(bytes(data[:124])))
    tampered.write_bytes(data)
    with pytest.raises(SignatureError):
        hexz.verify(tampered, keys[1])
    # An encrypted archive is signed in place without its key.
    later = _write(tmp_path / "enc2.hxz", key=KEY)
    with pytest.raises(DecryptionError):
        hexz.verify(later)  # encrypted, unsigned, no key: nothing can be checked
    hexz.sign(later, keys[0])
    ds = hexz.Dataset(later, key=KEY, verify_key=keys[1], group="x")
    assert list(np.asarray(ds[7])) == [28, 29, 30, 31]


@pytest.mark.slow
def test_dataloader_workers(keys: tuple[Path, Path], tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = _write(tmp_path / "dl.hxz", key=KEY, signing_key=keys[0])
    for context in [c for c in ("fork", "spawn") if c in multiprocessing.get_all_start_methods()]:
        ds = hexz.Dataset(path, key=KEY, verify_key=keys[1], group="x")
        loader = torch.utils.data.DataLoader(
            ds, batch_size=16, shuffle=True, num_workers=2, multiprocessing_context=context
        )
        seen: list[int] = []
        for batch in loader:
            assert all(int(row[1]) == int(row[0]) + 1 for row in batch)
            seen.extend(int(row[0]) // 4 for row in batch)
        assert sorted(seen) == list(range(N)), context
    # A worker that unpickles the dataset checks the signature again: swap in an archive
    # signed by another key and unpickling fails.
    blob = pickle.dumps(hexz.Dataset(path, key=KEY, verify_key=keys[1], group="x"))
    other_priv, _ = hexz.keygen(tmp_path, "intruder")
    shutil.copy(_write(tmp_path / "evil.hxz", key=KEY, signing_key=other_priv), path)
    with pytest.raises(SignatureError):
        pickle.loads(blob)


def test_http(keys: tuple[Path, Path], signed: Path, nginx_http: Http) -> None:
    url = nginx_http.put("signed/signed.hxz", signed)
    with hexz.open(url, verify_key=keys[1]) as r:
        assert r.open("notes.txt").read() == PAYLOAD
    assert hexz.verify(url, keys[1])["ok"]
    ds = hexz.Dataset(url, verify_key=keys[1], group="x")
    assert list(np.asarray(ds[N - 1])) == list(range(4 * N - 4, 4 * N))
    unsigned = nginx_http.put("signed/unsigned.hxz", _write(signed.parent / "plain.hxz"))
    with pytest.raises(SignatureError):
        hexz.open(unsigned, verify_key=keys[1])


@pytest.mark.skipif(ht.fuse_unavailable() is not None, reason=ht.fuse_unavailable() or "")
def test_mount(signed: Path, keys: tuple[Path, Path], other_keys: tuple[Path, Path]) -> None:
    with hexz.mount(signed, verify_key=keys[1]) as mp:
        assert (mp.path / "notes.txt").read_bytes() == PAYLOAD
    with pytest.raises(SignatureError):
        hexz.mount(signed, verify_key=other_keys[1])
    with pytest.raises(ValueError, match="verify_key"):
        hexz.mount(hexz.open(signed), verify_key=keys[1])


def _blake3(data: bytes) -> str:
    return str(blake3.blake3(data).hexdigest())


def test_golden_encrypted_signed_fixture(keys: tuple[Path, Path]) -> None:
    path = FIXTURES / "encrypted-signed.hxz"
    expected = json.loads((FIXTURES / "encrypted-signed.json").read_text())
    assert _blake3(path.read_bytes()) == expected["file_blake3"]
    key = FIXTURES / "encrypted-raw-key.key"
    public = FIXTURES / "encrypted-signed.pub"
    with hexz.open(path, key=key, verify_key=public) as r:
        info = r.info()
        assert info["signer"] == expected["public_key"]
        assert info["root_hash"] == expected["root_hash"]
        assert json.dumps(r.metadata, separators=(",", ":")) == expected["metadata"]
        for e in expected["entries"]:
            data = bytes(r.open(e["path"]).read())
            assert len(data) == e["size"] and _blake3(data) == e["blake3"], e["path"]
    with hexz.open(path, key=key, verify_key=expected["public_key"]) as r:
        assert r.verify() == []
    report = hexz.verify(path, public, key=key)
    assert report["ok"] and report["signer"] == expected["public_key"]
    with pytest.raises(SignatureError):
        hexz.open(path, key=key, verify_key=keys[1])
    with pytest.raises(ValueError, match="not a valid Ed25519 public key"):
        hexz.open(path, key=key, verify_key=bytes(31) + b"\x01")
    # Without the decryption key it does not open, signed or not.
    with pytest.raises(DecryptionError):
        hexz.open(path, verify_key=public)
