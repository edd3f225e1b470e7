"""Every script in examples/ runs as-is and exits 0.

``remote_streaming.py`` needs an archive on a server: it runs with its URLs on moto_server
(S3) and nginx (HTTP) on 127.0.0.1, given in the environment as its docstring says.
``mount_snapshot.py`` needs FUSE (Linux, root, /dev/fuse) and is skipped, with the reason,
without it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import AWS_TEST_ENV, AWS_UNSET, S3, Http

import hexz
import hexz_testing as ht

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))
NEEDS = {
    "pytorch_dataloader.py": "torch",
    "tensorflow_dataset.py": "tensorflow",
    "distributed_training.py": "torchdata",
}
SLOW = {"pytorch_dataloader.py", "tensorflow_dataset.py", "distributed_training.py"}
NEEDS_FUSE = {"mount_snapshot.py"}
# Scripts that read from servers: the fixture that gives their environment.
SERVERS = {"remote_streaming.py": "remote_example_env"}


@pytest.fixture
def remote_example_env(
    moto_s3: S3, nginx_http: Http, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """A 3 MiB archive on moto_server and nginx, and the environment naming it."""
    path = tmp_path_factory.mktemp("example") / "remote.hxz"
    with hexz.Writer(path) as w:
        w.add_bytes(ht.random_bytes(3 << 20, seed=8), "data.bin")
    return dict(
        AWS_TEST_ENV,
        AWS_ENDPOINT_URL=moto_s3.endpoint,
        HEXZ_EXAMPLE_S3_URL=moto_s3.put("examples", "dataset.hxz", path),
        HEXZ_EXAMPLE_HTTP_URL=nginx_http.put("examples/data.hxz", path),
    )


def test_there_is_an_example_per_seed_section() -> None:
    for name in (
        "reading_snapshots.py",
        "async_io.py",
        "creating_snapshots.py",
        "numpy_integration.py",
        "pytorch_dataloader.py",
        "remote_streaming.py",
        "mount_snapshot.py",
    ):
        assert name in SCRIPTS, name


@pytest.mark.parametrize(
    "script", [pytest.param(s, marks=[pytest.mark.slow] if s in SLOW else []) for s in SCRIPTS]
)
def test_example_runs(script: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    module = NEEDS.get(script)
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    if script in NEEDS_FUSE and ht.fuse_unavailable():
        pytest.skip(ht.fuse_unavailable() or "")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    if script in SERVERS:
        for k in AWS_UNSET:
            env.pop(k, None)
        env.update(request.getfixturevalue(SERVERS[script]))
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(proc.stdout)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{script} printed nothing"
    if script == "remote_streaming.py":
        assert "S3 and HTTP returned the same bytes" in proc.stdout, proc.stdout


def test_remote_example_needs_urls(tmp_path: Path) -> None:
    """Without URLs, the remote example says what it needs and exits 2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEXZ_EXAMPLE_")}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "remote_streaming.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "HEXZ_EXAMPLE_S3_URL" in proc.stderr, proc.stderr
