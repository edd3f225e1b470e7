"""hexz.Writer("s3://bucket/key"): multipart upload as the archive is written, against a real
S3-compatible server (moto_server, from this venv) on 127.0.0.1. Archives are checked by
downloading them with boto3 and opening the local copy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hexz
import hexz_testing as ht
from hexz import _native
from hexz.errors import UnsupportedFeatureError

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
BUCKET = "hexz-write"
MIB = 1 << 20
AWS_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)

needs_s3 = pytest.mark.skipif(not _native.HAS_S3, reason="built without the s3 feature")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Moto:
    def __init__(self, endpoint: str, client: Any) -> None:
        self.endpoint = endpoint
        self.client = client

    def get(self, key: str) -> bytes | None:
        try:
            return bytes(self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        except self.client.exceptions.NoSuchKey:
            return None

    def uploads(self) -> list[dict[str, Any]]:
        return list(self.client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))

    def download(self, key: str, dest: Path) -> Path:
        self.client.download_file(BUCKET, key, str(dest))
        return dest


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """moto_server on a free port, a bucket, and the AWS environment pointing at neither
    (credentials only: each test names the endpoint)."""
    if not _native.HAS_S3:
        pytest.skip("built without the s3 feature")
    boto3 = pytest.importorskip("boto3")
    if not MOTO_SERVER.is_file():
        pytest.fail(f"moto_server not found at {MOTO_SERVER}: run `make venv`")
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    port = _free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    saved = {k: os.environ.get(k) for k in AWS_VARS}
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto_server exited at start:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not listen in 30 s:\n{log.read_text()}")
                time.sleep(0.05)
        for k in AWS_VARS:
            os.environ.pop(k, None)
        os.environ["AWS_ACCESS_KEY_ID"] = "testing"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
        os.environ["AWS_REGION"] = "us-east-1"
        os.environ["AWS_CONFIG_FILE"] = os.devnull
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=BUCKET)
        yield Moto(endpoint, client)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        proc.kill()
        proc.wait()


@needs_s3
def test_write_and_read_back(moto: Moto, tmp_path: Path) -> None:
    # ~28 MB: three 8 MiB parts and a last one, incompressible and compressible.
    noise = ht.random_bytes(20 * MIB, seed=1)
    text = ht.compressible_bytes(8 * MIB, seed=2)
    arr = np.arange(100_000, dtype=np.float32).reshape(1000, 100)
    src = tmp_path / "f.txt"
    src.write_bytes(b"from a file\n")
    url = f"s3://{BUCKET}/dir/a.hxz"
    with hexz.Writer(url, endpoint=moto.endpoint, threads=2) as w:
        w.add_bytes(noise, "noise.bin")
        w.add_bytes(text, "text.txt")
        w.add(src)
        w.add_array(arr, "arr")
        w.add_records([b"a", b"bb", b"ccc"], name="recs")
        w.add_metadata({"version": 3})
    report = w.report
    assert report is not None and report["file_size"] > 2 * 8 * MIB
    assert moto.uploads() == []
    local = moto.download("dir/a.hxz", tmp_path / "a.hxz")
    assert local.stat().st_size == report["file_size"]
    with hexz.open(local) as r:
        assert bytes(r.open("noise.bin").read()) == noise
        assert bytes(r.open("text.txt").read()) == text
        assert bytes(r.open("f.txt").read()) == b"from a file\n"
        assert r.metadata["version"] == 3
        assert r.verify() == []
    np.testing.assert_array_equal(hexz.load_array(local, "arr"), arr)


@needs_s3
def test_endpoint_from_environment_and_open_mode_w(
    moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)
    url = f"s3://{BUCKET}/env.hxz"
    with hexz.open(url, mode="w") as w:
        w.add_bytes(b"hello", "h")
    assert repr(w) == f"<hexz.Writer {url!r} closed>"
    with hexz.open(moto.download("env.hxz", tmp_path / "env.hxz")) as r:
        assert bytes(r.open("h").read()) == b"hello"


@needs_s3
def test_exception_inside_with_aborts(moto: Moto) -> None:
    precious = b"precious bytes"
    moto.client.put_object(Bucket=BUCKET, Key="keep.hxz", Body=precious)
    for key in ("keep.hxz", "fresh.hxz"):
        with pytest.raises(RuntimeError, match="boom"):
            with hexz.Writer(f"s3://{BUCKET}/{key}", endpoint=moto.endpoint) as w:
                w.add_bytes(ht.random_bytes(20 * MIB, seed=3), "big")
                assert len(moto.uploads()) == 1  # under way, parts sent
                raise RuntimeError("boom")
        assert w.closed
        assert moto.uploads() == []
    assert moto.get("keep.hxz") == precious
    assert moto.get("fresh.hxz") is None


@needs_s3
def test_abort_and_a_failed_add(moto: Moto, tmp_path: Path) -> None:
    w = hexz.Writer(f"s3://{BUCKET}/aborted.hxz", endpoint=moto.endpoint)
    w.add_bytes(ht.random_bytes(9 * MIB, seed=4), "big")
    w.abort()
    assert moto.get("aborted.hxz") is None
    assert moto.uploads() == []
    with pytest.raises(ValueError, match="aborted"):
        w.close()

    # An error from the engine mid-way (a missing source file), then abort by `with`.
    with pytest.raises(FileNotFoundError):
        with hexz.Writer(f"s3://{BUCKET}/failed.hxz", endpoint=moto.endpoint) as w:
            w.add_bytes(ht.random_bytes(9 * MIB, seed=5), "big")
            w.add_file(tmp_path / "missing.bin")
    assert moto.get("failed.hxz") is None
    assert moto.uploads() == []


@needs_s3
def test_errors(moto: Moto, tmp_path: Path) -> None:
    url = "s3://no-such-bucket/a.hxz"
    with pytest.raises(FileNotFoundError) as e:
        hexz.Writer(url, endpoint=moto.endpoint)
    assert url in str(e.value) and "does not exist" in str(e.value)
    with pytest.raises(ValueError, match="HTTP servers are read-only"):
        hexz.Writer(f"{moto.endpoint}/{BUCKET}/x.hxz")
    with pytest.raises(ValueError, match="s3:// URLs only"):
        hexz.Writer(tmp_path / "local.hxz", endpoint=moto.endpoint)
    with pytest.raises(TypeError):
        hexz.Writer(f"s3://{BUCKET}/x.hxz", path_style="yes")  # type: ignore[arg-type]
    assert moto.uploads() == []


@pytest.mark.skipif(_native.HAS_S3, reason="built with the s3 feature")
def test_s3_needs_the_feature() -> None:
    with pytest.raises(UnsupportedFeatureError, match="s3"):
        hexz.Writer("s3://bucket/a.hxz")
