"""Remote archives: every read API over ``s3://`` (moto_server) and ``http://`` (nginx), against
real servers on 127.0.0.1, compared with the same archive read locally."""

from __future__ import annotations

import asyncio
import json
import pickle
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import S3, Http, s3_client, start_moto

import hexz
import hexz_testing as ht

BUCKET = "hexz-test"


@dataclass
class Remote:
    """One archive: its local path and its URLs on both servers."""

    local: Path
    s3: str
    http: str

    def url(self, scheme: str) -> str:
        return self.s3 if scheme == "s3" else self.http


def publish(moto_s3: S3, nginx_http: Http, path: Path, name: str) -> Remote:
    return Remote(path, moto_s3.put(BUCKET, name, path), nginx_http.put(name, path))


@pytest.fixture(scope="module")
def tree(
    tmp_path_factory: pytest.TempPathFactory, moto_s3: S3, nginx_http: Http
) -> tuple[Remote, dict[str, bytes]]:
    """A tree (files of several blocks, an empty file, a symlink) with metadata, 4 KiB blocks,
    on both servers; and its files' contents."""
    base = tmp_path_factory.mktemp("remote-tree")
    files = {
        "a.txt": b"alpha\nbeta\ngamma\n",
        "empty": b"",
        "sub/big.bin": ht.compressible_bytes(300_000, seed=21),
        "sub/rand.bin": ht.random_bytes(70_000, seed=22),
    }
    for name, data in files.items():
        (base / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (base / "src" / name).write_bytes(data)
    (base / "src" / "link").symlink_to("a.txt")
    path = base / "tree.hxz"
    with hexz.Writer(path, block_size=4096) as w:
        w.add(base / "src")
        w.add_metadata({"name": "remote tree", "n": 4})
    return publish(moto_s3, nginx_http, path, "archives/tree.hxz"), files


@pytest.fixture(scope="module")
def records(records_archive: Path, moto_s3: S3, nginx_http: Http) -> Remote:
    return publish(moto_s3, nginx_http, records_archive, "archives/records.hxz")


@pytest.fixture(scope="module")
def tree_files(dir_archive: Path, moto_s3: S3, nginx_http: Http) -> Remote:
    return publish(moto_s3, nginx_http, dir_archive, "archives/dir.hxz")


SCHEMES = ["s3", "http"]


# -- Reader -----------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_reader_equals_local(
    scheme: str, tree: tuple[Remote, dict[str, bytes]], aws_env: dict[str, str]
) -> None:
    remote, files = tree
    url = remote.url(scheme)
    local = hexz.open(remote.local)
    with hexz.open(url) as r:
        assert isinstance(r, hexz.Reader)
        assert r.path == url and repr(r) == f"<hexz.Reader {url!r} {len(local)} bytes>"
        assert len(r) == len(local) > 300_000
        everything = bytes(local.read())
        assert bytes(r.read()) == everything
        assert r.tell() == len(local)
        # Ranges: inside one block, across blocks, at and past the end.
        for off, n in [(0, 10), (4090, 20), (5000, 100_000), (len(r) - 7, 100), (len(r), 5)]:
            assert bytes(r.read_at(off, n)) == everything[off : off + n], (off, n)
        r.seek(12_345)
        assert bytes(r.read(1000)) == everything[12_345:13_345]
        r.seek(-10, 2)
        assert bytes(r.read()) == everything[-10:]
        # Slicing and indexing.
        assert bytes(r[100:9000]) == everything[100:9000]
        assert bytes(r[10:50_000:97]) == everything[10:50_000:97]
        assert r[-1] == everything[-1] and r[4096] == everything[4096]
        buf = bytearray(20_000)
        r.seek(3000)
        assert r.readinto(buf) == 20_000 and bytes(buf) == everything[3000:23_000]
        # Entries, metadata and the archive's facts.
        assert r.namelist() == local.namelist() == ["a.txt", "empty", "sub/big.bin", "sub/rand.bin"]
        assert r.entries() == local.entries()
        assert r.getinfo("link").target == "a.txt"
        for name, data in files.items():
            assert bytes(r.open(name).read()) == data, name
        assert r.open("a.txt").readlines() == [b"alpha\n", b"beta\n", b"gamma\n"]
        big = r.open("sub/big.bin")
        big.seek(-1000, 2)
        assert bytes(big.read()) == files["sub/big.bin"][-1000:]
        assert r.metadata == {"name": "remote tree", "n": 4}
        assert r.info() == local.info()
        assert r.verify() == []
        with pytest.raises(FileNotFoundError, match="nope"):
            r.open("nope")
    assert r.closed


@pytest.mark.parametrize("scheme", SCHEMES)
def test_reader_threads_and_pickle(
    scheme: str, tree: tuple[Remote, dict[str, bytes]], aws_env: dict[str, str]
) -> None:
    """Reads release the GIL: many threads share one remote reader. A pickled reader reopens
    the URL."""
    remote, _ = tree
    local = bytes(hexz.open(remote.local).read())
    r = hexz.open(remote.url(scheme), mode="r", prefetch_threads=0)
    spans = [(i * 7919 % (len(local) - 5000), 5000) for i in range(64)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda s: bytes(r.read_at(*s)), spans))
    assert got == [local[o : o + n] for o, n in spans]
    r.seek(777)
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.path == r.path and r2.tell() == 777
    assert bytes(r2.read(100)) == local[777:877]


def test_file_url(tree: tuple[Remote, dict[str, bytes]]) -> None:
    remote, files = tree
    url = remote.local.resolve().as_uri()
    assert url.startswith("file://")
    r = hexz.open(url)
    assert r.path == url and bytes(r.open("sub/rand.bin").read()) == files["sub/rand.bin"]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_async_reader(
    scheme: str, tree: tuple[Remote, dict[str, bytes]], aws_env: dict[str, str]
) -> None:
    remote, _ = tree
    local = bytes(hexz.open(remote.local).read())
    url = remote.url(scheme)

    async def main() -> list[bytes]:
        reader = hexz.AsyncReader(url, cache_size=16)
        assert repr(reader) == f"<hexz.AsyncReader {url!r} not open>"
        async with reader as r:
            assert repr(r) == f"<hexz.AsyncReader {url!r} open>" and len(r) == len(local)
            parts = await asyncio.gather(*(r.read_at(i * 4000, 4000) for i in range(40)))
            r.seek(50)
            assert bytes(await r.read(10)) == local[50:60]
            return [bytes(p) for p in parts]

    assert b"".join(asyncio.run(main())) == local[:160_000]


# -- NumPy ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def arrays(
    tmp_path_factory: pytest.TempPathFactory, moto_s3: S3, nginx_http: Http
) -> tuple[Remote, np.ndarray, np.ndarray]:
    """A raw float32 matrix (bytes at offset 0) and an array ``x`` written with add_array."""
    matrix = np.random.default_rng(3).standard_normal((300, 200)).astype(np.float32)
    x = np.arange(50_000, dtype=np.int64).reshape(10_000, 5)
    path = tmp_path_factory.mktemp("remote-arrays") / "arrays.hxz"
    with hexz.Writer(path) as w:
        w.add_bytes(matrix.tobytes(), "matrix")
        w.add_array(x, "x")
    return publish(moto_s3, nginx_http, path, "archives/arrays.hxz"), matrix, x


@pytest.mark.parametrize("scheme", SCHEMES)
def test_read_array_and_load_array(
    scheme: str, arrays: tuple[Remote, np.ndarray, np.ndarray], aws_env: dict[str, str]
) -> None:
    remote, matrix, x = arrays
    url = remote.url(scheme)
    reader = hexz.open(url)
    a = hexz.read_array(reader, offset=0, shape=(300, 200), dtype=np.float32)
    np.testing.assert_array_equal(a, matrix)
    # A path or URL opens a reader for the one read.
    b = hexz.read_array(url, offset=800, shape=(10, 200), dtype="float32", cache_size=8)
    np.testing.assert_array_equal(b, matrix[1:11])
    np.testing.assert_array_equal(hexz.load_array(reader, "x"), x)
    np.testing.assert_array_equal(hexz.load_array(url, "x"), x)
    with pytest.raises(TypeError, match="not a Reader"):
        hexz.read_array(reader, 0, (2,), "float32", cache_size=8)


# -- Dataset / Loader --------------------------------------------------------------------------


def expected_rows(i: int) -> tuple[np.ndarray, np.int32]:
    """Sample ``i`` of the records archive (see hexz_testing.make_records_archive)."""
    row = np.zeros(ht.ROW, dtype=np.int64)
    row[0], row[1] = i, i * 3
    return row, np.int32(i)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_dataset_equals_local(
    scheme: str, records: Remote, tree_files: Remote, aws_env: dict[str, str]
) -> None:
    ds = hexz.Dataset(records.url(scheme))
    local = hexz.Dataset(records.local)
    assert len(ds) == len(local) == 300
    assert repr(ds) == f"<hexz.Dataset {records.url(scheme)!r} 300 samples>"
    for got, want in zip(ds, local, strict=False):
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1] == want[1]
    x, y = ds[-1]
    np.testing.assert_array_equal(x, expected_rows(299)[0])
    batch = ds.__getitems__([5, 250, 17])
    assert [int(b[1]) for b in batch] == [5, 250, 17]
    # A Sampler announces its order; the prefetched batches come back equal.
    sampler = ds.sampler(shuffle=True, seed=3)
    assert [int(ds[i][1]) for i in sampler] == list(sampler.order())

    files = hexz.Loader(tree_files.url(scheme), cache_size=64)
    assert [ht.dir_sample_index(s) for s in files] == [
        ht.dir_sample_index(s) for s in hexz.Loader(tree_files.local)
    ]


# DataLoader workers fail the test instead of hanging it.
WORKER_TIMEOUT = 120


@pytest.mark.slow
@pytest.mark.parametrize(
    ("start", "config"), [("fork", "env"), ("spawn", "env"), ("spawn", "options")]
)
def test_dataloader_workers_over_s3(
    start: str,
    config: str,
    records: Remote,
    tree_files: Remote,
    moto_s3: S3,
    aws_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """``DataLoader(num_workers=2)`` over S3 archives: each worker (fork or spawn) reopens the
    URL, with the S3 options it was given (``config="options"``: the endpoint is an argument,
    ``AWS_ENDPOINT_URL`` is unset in the parent and so in the workers)."""
    torch = pytest.importorskip("torch")
    if start == "fork":
        request.getfixturevalue("fork_safe")
    kwargs: dict[str, Any] = {}
    if config == "options":
        monkeypatch.delenv("AWS_ENDPOINT_URL")
        kwargs = {"endpoint": moto_s3.endpoint, "region": "us-east-1", "path_style": True}
    ctx = torch.multiprocessing.get_context(start)
    ds = hexz.Dataset(records.s3, as_tensor=True, **kwargs)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=32,
        sampler=ds.sampler(shuffle=True, seed=1),
        num_workers=2,
        multiprocessing_context=ctx,
        timeout=WORKER_TIMEOUT,
    )
    seen = []
    for xb, yb in loader:
        assert xb.shape[1:] == (ht.ROW,) and xb.dtype == torch.int64
        for x, y in zip(xb.numpy(), yb.numpy(), strict=False):
            want_x, want_y = expected_rows(int(y))
            np.testing.assert_array_equal(x, want_x)
            seen.append(int(y))
    assert seen == list(ds.sampler(shuffle=True, seed=1).order())

    files = hexz.Loader(tree_files.s3, **kwargs)
    loader = torch.utils.data.DataLoader(
        files,
        batch_size=16,
        num_workers=2,
        collate_fn=ht.collate_list,
        multiprocessing_context=ctx,
        timeout=WORKER_TIMEOUT,
    )
    got = [ht.dir_sample_index(s) for batch in loader for s in batch]
    assert got == [ht.dir_sample_index(s) for s in hexz.Loader(tree_files.local)]


def test_tf_dataset_over_s3(records: Remote, aws_env: dict[str, str]) -> None:
    tf = pytest.importorskip("tensorflow")
    ds = hexz.tf_dataset(records.s3, group="x").batch(100)
    rows = np.concatenate([b.numpy() for b in ds])
    assert rows.shape == (300, ht.ROW)
    np.testing.assert_array_equal(rows[:, 0], np.arange(300))
    assert tf.is_tensor(next(iter(ds)))


# -- configuration -----------------------------------------------------------------------------


def test_explicit_options_without_endpoint_env(
    records: Remote, moto_s3: S3, aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``endpoint=`` (with ``region=``, ``path_style=``) works with AWS_ENDPOINT_URL unset, and
    travels with a pickled Reader or Dataset."""
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")  # overridden by region=
    opts = {"endpoint": moto_s3.endpoint, "region": "us-east-1", "path_style": True}
    r = hexz.open(records.s3, **opts)
    assert bytes(r.read()) == bytes(hexz.open(records.local).read())
    ds = hexz.Dataset(records.s3, **opts)
    ds2 = pickle.loads(pickle.dumps(ds))
    assert int(ds2[123][1]) == 123
    r2 = pickle.loads(pickle.dumps(r))
    assert bytes(r2.read_at(0, 64)) == bytes(r.read_at(0, 64))
    for bad in ({"endpoint": 5}, {"path_style": "yes"}, {"anonymous": 1}):
        with pytest.raises(TypeError):
            hexz.open(records.s3, **bad)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, records_archive: Path) -> Iterator[Any]:
    """A second moto_server that checks credentials: a bucket ``secure`` holding the records
    archive, an IAM user with an access key, and a role to assume (session credentials)."""
    state = tmp_path_factory.mktemp("moto-auth")
    server = start_moto(state)
    try:
        kw = {"endpoint_url": server.url, "region_name": "us-east-1"}
        boto3 = pytest.importorskip("boto3")
        creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        iam = boto3.client("iam", **kw, **creds)
        allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
        policy = json.dumps({"Version": "2012-10-17", "Statement": [allow]})
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="s3", PolicyDocument=policy)
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        trust = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
        role = iam.create_role(
            RoleName="hexz-reader",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
        )["Role"]
        iam.put_role_policy(RoleName="hexz-reader", PolicyName="s3", PolicyDocument=policy)
        session = boto3.client("sts", **kw, **creds).assume_role(
            RoleArn=role["Arn"], RoleSessionName="test"
        )["Credentials"]
        s3 = s3_client(server.url)
        s3.create_bucket(Bucket="secure")
        s3.upload_file(str(records_archive), "secure", "records.hxz")
        # From now on every request must carry valid credentials.
        req = urllib.request.Request(
            f"{server.url}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(req).read()
        yield server, key, session
    finally:
        server.stop()


def test_credentials_are_checked(
    secured: Any, aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN reach the server; wrong
    ones are a PermissionError naming the URL."""
    server, key, session = secured
    url = "s3://secure/records.hxz"
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    assert len(hexz.Dataset(url)) == 300
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with pytest.raises(PermissionError, match=url) as e:
        hexz.open(url)
    assert "SignatureDoesNotMatch" in str(e.value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOSUCHKEY0000000")
    with pytest.raises(PermissionError, match="InvalidAccessKeyId"):
        hexz.open(url)
    # Session credentials: the token is checked too.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", session["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", session["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", session["SessionToken"])
    assert int(hexz.Dataset(url)[42][1]) == 42
    monkeypatch.setenv("AWS_SESSION_TOKEN", "not-the-token")
    # S3 answers 400 InvalidToken here (not 403): still a PermissionError naming the URL.
    with pytest.raises(PermissionError, match=url):
        hexz.open(url)
    # Anonymous requests for a private object are refused too.
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    with pytest.raises(PermissionError, match=url):
        hexz.open(url, anonymous=True)


def test_aws_profile(
    secured: Any, aws_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_PROFILE picks credentials, region and endpoint from the shared config files."""
    server, key, _ = secured
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(k)
    creds, config = tmp_path / "credentials", tmp_path / "config"
    creds.write_text(
        f"[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n"
        f"[hexz]\naws_access_key_id = {key['AccessKeyId']}\n"
        f"aws_secret_access_key = {key['SecretAccessKey']}\n"
    )
    config.write_text(f"[profile hexz]\nregion = us-east-1\nendpoint_url = {server.url}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "hexz")
    assert int(hexz.Dataset("s3://secure/records.hxz")[7][1]) == 7
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(hexz.HexzError, match="AWS_PROFILE=no-such-profile"):
        hexz.open("s3://secure/records.hxz")


# -- errors ------------------------------------------------------------------------------------


def test_missing_objects_and_buckets(
    tree: tuple[Remote, dict[str, bytes]], nginx_http: Http, aws_env: dict[str, str]
) -> None:
    remote, _ = tree
    missing = [
        f"s3://{BUCKET}/archives/nope.hxz",
        "s3://no-such-bucket/tree.hxz",
        f"{nginx_http.server.url}/archives/nope.hxz",
    ]
    for url in missing:
        for open_ in (hexz.open, hexz.Dataset, hexz.AsyncReader):
            with pytest.raises(FileNotFoundError) as e:
                if open_ is hexz.AsyncReader:
                    asyncio.run(hexz.AsyncReader(url).open())
                else:
                    open_(url)
            assert url in str(e.value), e.value
    with pytest.raises(FileNotFoundError, match=r"does not exist|not found"):
        hexz.open("s3://no-such-bucket/tree.hxz")
    with pytest.raises(hexz.HexzError, match="ftp://"):
        hexz.open("ftp://127.0.0.1/tree.hxz")
    with pytest.raises(hexz.StoreError, match="no object key"):
        hexz.open(f"s3://{BUCKET}/")
    assert issubclass(hexz.StoreError, OSError)


def test_replaced_object_is_an_error_not_mixed_bytes(
    tmp_path: Path, moto_s3: S3, aws_env: dict[str, str]
) -> None:
    """An object replaced after open: reads fail with a StoreError saying so; a new open reads
    the new archive."""
    a, b = tmp_path / "a.hxz", tmp_path / "b.hxz"
    for path, seed in ((a, 1), (b, 2)):
        with hexz.Writer(path, block_size=4096) as w:
            w.add_bytes(ht.random_bytes(2 << 20, seed=seed), "data")
    url = moto_s3.put(BUCKET, "replaced.hxz", a)
    r = hexz.open(url, prefetch_threads=0, cache_size=4)
    assert bytes(r.read_at(0, 100)) == bytes(hexz.open(a).read_at(0, 100))
    moto_s3.put(BUCKET, "replaced.hxz", b)
    with pytest.raises(hexz.StoreError, match="changed"):
        r.read_at(1 << 20, 100)
    assert bytes(hexz.open(url).read_at(1 << 20, 100)) == bytes(hexz.open(b).read_at(1 << 20, 100))


def test_fork_then_read_s3(fork_safe: None) -> None:
    """A process that read S3 forks; the child reads S3, then the parent does again (the
    fixture runs this in a subprocess, so a hang cannot stall the test session)."""


def test_features() -> None:
    from hexz import _native

    assert _native.HAS_S3  # the default build reads s3:// URLs


def test_http_reads_fetch_only_what_they_need(tmp_path: Path, nginx_http: Http) -> None:
    """Reading 4 KiB of a 24 MiB archive over HTTP transfers a small part of it."""
    path = tmp_path / "big.hxz"
    data = ht.random_bytes(24 << 20, seed=5)
    with hexz.Writer(path) as w:
        w.add_bytes(data, "big")
    url = nginx_http.put("big/only-needed.hxz", path)
    r = hexz.open(url)
    assert bytes(r.read_at(1024 * 1024, 4096)) == data[1 << 20 : (1 << 20) + 4096]
    requests, sent = nginx_http.sent("big/only-needed.hxz")
    assert 1 <= requests <= 6 and sent < (1 << 20), (requests, sent)
