from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

# DataLoader workers started with "spawn" unpickle helpers by module name: keep this
# directory importable in them (spawn passes sys.path on to the child).
sys.path.insert(0, str(Path(__file__).parent))

import hexz  # noqa: E402
import hexz_testing as ht  # noqa: E402


@pytest.fixture(scope="session")
def records_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """x: (300, 6) int64 rows starting with their index; y: (300,) int32 = index."""
    return ht.make_records_archive(tmp_path_factory.mktemp("rec") / "records.hxz", 300)


@pytest.fixture(scope="session")
def dir_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory tree of 120 files of different sizes (1 to 3 KB), each encoding its index."""
    base = tmp_path_factory.mktemp("dir")
    return ht.make_dir_archive(base / "tree.hxz", base / "src", 120)


@pytest.fixture(scope="session")
def blob() -> bytes:
    """1 MiB of compressible bytes."""
    return ht.compressible_bytes(1 << 20, seed=1)


@pytest.fixture(scope="session")
def blob_archive(tmp_path_factory: pytest.TempPathFactory, blob: bytes) -> Path:
    """One entry ``blob`` holding :func:`blob`, 64 KiB blocks, LZ4."""
    path = tmp_path_factory.mktemp("blob") / "blob.hxz"
    with hexz.Writer(path, compression="lz4") as w:
        w.add_bytes(blob, "blob")
    return path


# Keep Hypothesis' example database next to the tests (ignored by git), whatever the cwd.
settings.register_profile(
    "hexz", database=DirectoryBasedExampleDatabase(str(Path(__file__).parent / ".hypothesis"))
)
settings.load_profile("hexz")


@pytest.fixture(scope="session")
def big_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64 MiB of random bytes (stored raw), one entry ``big``."""
    path = tmp_path_factory.mktemp("big") / "big.hxz"
    with hexz.Writer(path, compression="lz4") as w:
        w.add_bytes(bytearray(ht.random_bytes(64 << 20, seed=9)), "big")
    return path


# -- real servers on 127.0.0.1 for remote archives ------------------------------------------

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
NGINX = Path(os.environ.get("HEXZ_NGINX", "/usr/sbin/nginx"))
# Credentials moto accepts (it checks none unless auth is switched on, see test_remote.py).
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
}
# AWS settings that would otherwise leak in from the developer's environment.
AWS_UNSET = (
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_S3",
    "AWS_SECURITY_TOKEN",
    "AWS_DEFAULT_PROFILE",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server child process on 127.0.0.1 (killed at the end of the session)."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def start_server(name: str, cmd: list[str], port: int, log: Path, **kw: Any) -> Server:
    """Starts ``cmd`` (output to ``log``) and waits until ``port`` accepts connections; fails
    the test with the server's output if it exits or does not listen within 30 s."""
    if not Path(cmd[0]).is_file():
        pytest.fail(
            f"{name} not found at {cmd[0]}: install it (`make venv` for moto_server, "
            "`make apt-build` for nginx-light) to run the remote-archive tests"
        )
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, **kw
        )
    server = Server(name, proc, port, log)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited ({proc.returncode}) at start:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"{name} did not listen on 127.0.0.1:{port} in 30 s:\n{log.read_text()}")
        time.sleep(0.05)


def start_moto(state: Path, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    cmd = [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)]
    return start_server("moto_server", cmd, port, state / f"moto-{port}.log", env=env)


@dataclass
class S3:
    """moto_server, an S3-compatible server, and a client for it."""

    server: Server
    client: Any  # boto3 S3 client

    @property
    def endpoint(self) -> str:
        return self.server.url

    def bucket(self, name: str) -> str:
        """Creates bucket ``name`` unless it exists; returns its name."""
        try:
            self.client.create_bucket(Bucket=name)
        except self.client.exceptions.BucketAlreadyOwnedByYou:
            pass
        return name

    def gets(self, bucket: str, key: str) -> int:
        """GET requests moto_server has logged for ``bucket/key`` so far (werkzeug's log)."""
        time.sleep(0.1)  # logged just after the response
        needle = f"GET /{bucket}/{key} HTTP"
        return sum(needle in line for line in self.server.log.read_text().splitlines())

    def put(self, bucket: str, key: str, path: Path) -> str:
        """Uploads a local file; returns its ``s3://`` URL."""
        self.bucket(bucket)
        self.client.upload_file(str(path), bucket, key)
        return f"s3://{bucket}/{key}"


def s3_client(endpoint: str) -> Any:
    """A boto3 S3 client for moto_server at ``endpoint`` (configured here, not from the
    environment the tests change)."""
    try:
        import boto3
    except ImportError:
        pytest.fail("boto3 is missing: pip install -r crates/loader/requirements-test.txt")
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3]:
    """moto_server on a free 127.0.0.1 port for the whole session."""
    server = start_moto(tmp_path_factory.mktemp("moto"))
    try:
        yield S3(server, s3_client(server.url))
    finally:
        server.stop()


@dataclass
class Http:
    """nginx serving ``root`` (Range requests, ETags) on 127.0.0.1."""

    server: Server
    root: Path
    access_log: Path

    def put(self, name: str, path: Path) -> str:
        """Copies a local file under the root; returns its ``http://`` URL."""
        dst = self.root / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(path.read_bytes())
        return f"{self.server.url}/{name}"

    def ranges(self, name: str) -> list[str]:
        """The ``Range`` header of every request nginx has served for ``/name`` so far, in
        order (``"-"`` for a request without one)."""
        if not self.access_log.exists():
            return []
        out = []
        for line in self.access_log.read_text().splitlines():
            uri, _status, _nbytes, range_ = line.split()
            if uri == f"/{name}":
                out.append(range_)
        return out

    def sent(self, name: str) -> tuple[int, int]:
        """(requests, body bytes) nginx has served for ``/name`` so far, from its access log."""
        requests = sent = 0
        if not self.access_log.exists():
            return 0, 0
        for line in self.access_log.read_text().splitlines():
            uri, _status, nbytes, _range = line.split()
            if uri == f"/{name}":
                requests += 1
                sent += int(nbytes)
        return requests, sent


@pytest.fixture(scope="session")
def nginx_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Http]:
    """nginx (Debian nginx-light) serving a temporary directory, one process, no daemon."""
    state = tmp_path_factory.mktemp("nginx")
    root = tmp_path_factory.mktemp("www")
    port = free_port()
    user = ""
    if os.geteuid() == 0:
        # Workers of a root master drop to this user; keep them able to read the temp dirs.
        import grp
        import pwd

        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(0).gr_name};"
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (state / d).mkdir()
    conf = state / "nginx.conf"
    conf.write_text(
        f"""{user}
master_process off;
daemon off;
worker_processes 1;
pid {state}/nginx.pid;
error_log {state}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format sent '$uri $status $body_bytes_sent $http_range';
    access_log {state}/access.log sent;
    client_body_temp_path {state}/body;
    proxy_temp_path {state}/proxy;
    fastcgi_temp_path {state}/fastcgi;
    uwsgi_temp_path {state}/uwsgi;
    scgi_temp_path {state}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""
    )
    cmd = [str(NGINX), "-p", str(state), "-e", str(state / "error.log"), "-c", str(conf)]
    server = start_server("nginx", cmd, port, state / "nginx.out")
    try:
        yield Http(server, root, state / "access.log")
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_s3: S3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The standard AWS environment variables pointing at moto_server (and no AWS profile or
    config files of the developer's). Returns the variables set."""
    for k in AWS_UNSET:
        monkeypatch.delenv(k, raising=False)
    env = dict(
        AWS_TEST_ENV,
        AWS_ENDPOINT_URL=moto_s3.endpoint,
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
    )
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


# A process that has read S3 forks (as DataLoader does by default); the child reopens the URL
# and reads, then the parent reads again.
FORK_CHECK = """
import os, sys, hexz
url = sys.argv[1]
want = bytes(hexz.open(url).read_at(0, 4096))
pid = os.fork()
if pid == 0:
    os._exit(0 if bytes(hexz.open(url).read_at(0, 4096)) == want else 1)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, f"the child failed: {status}"
assert bytes(hexz.open(url).read_at(0, 4096)) == want, "the parent read other bytes"
print("ok")
"""


@pytest.fixture(scope="session")
def fork_safe(moto_s3: S3, blob_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fails (in 30 s, instead of hanging the session) unless a forked child of a process that
    read S3 can read S3 too, and the parent still can afterwards. Tests that fork DataLoader
    workers over S3 use it."""
    url = moto_s3.put("hexz-fork", "blob.hxz", blob_archive)
    env = dict(os.environ, **AWS_TEST_ENV, AWS_ENDPOINT_URL=moto_s3.endpoint)
    for k in AWS_UNSET:
        env.pop(k, None)
    proc = subprocess.Popen(
        [sys.executable, "-c", FORK_CHECK, url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # the script and its forked child
        proc.communicate()
        pytest.fail(
            "a forked child of a process that read S3 hangs reading S3 (or its parent does "
            "afterwards): the remote store's async runtime must not be shared across fork()"
        )
    if proc.returncode != 0 or out.strip() != b"ok":
        pytest.fail(f"reading S3 across fork() failed:\n{out.decode(errors='replace')}")
