"""Packaging: the extras the seed lists, a dynamic version, stubs and py.typed shipped."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import hexz
from hexz import _native

LOADER = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pyproject() -> dict[str, object]:
    import tomllib

    with open(LOADER / "pyproject.toml", "rb") as f:
        data: dict[str, object] = tomllib.load(f)
    return data


def test_extras_are_exactly_the_seeds(pyproject: dict[str, object]) -> None:
    project = pyproject["project"]
    assert isinstance(project, dict)
    extras = project["optional-dependencies"]
    assert set(extras) == {"torch", "tensorflow", "numpy", "ml", "full", "dev"}
    assert project["dynamic"] == ["version"]
    assert any(d.startswith("torch") for d in extras["ml"])
    assert any(d.startswith("numpy") for d in extras["ml"])
    for framework in ("torch", "tensorflow", "numpy"):
        assert any(d.startswith(framework) for d in extras["full"]), framework


def test_typing_files_ship_with_the_package() -> None:
    spec = importlib.util.find_spec("hexz")
    assert spec is not None and spec.origin is not None
    pkg = Path(spec.origin).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_native.pyi").exists()


def test_version_and_constants() -> None:
    cargo = (LOADER.parents[1] / "Cargo.toml").read_text()
    assert f'version = "{hexz.__version__}"' in cargo
    assert hexz.FORMAT_VERSION == _native.FORMAT_VERSION == 2
    for flag in ("HAS_ZSTD", "HAS_S3", "HAS_ENCRYPTION", "HAS_SIGNING"):
        assert isinstance(getattr(_native, flag), bool)


def test_frameworks_are_imported_lazily() -> None:
    """``import hexz`` pulls in neither torch nor tensorflow (checked in a fresh process)."""
    import subprocess

    code = (
        "import sys, hexz; "
        "bad = [m for m in ('torch', 'tensorflow') if m in sys.modules]; "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_hexz_command_is_installed_with_the_package(pyproject: dict[str, object]) -> None:
    project = pyproject["project"]
    assert isinstance(project, dict)
    assert project["scripts"] == {"hexz": "hexz.__main__:main"}
    assert _native.HAS_CLI


def test_python_m_hexz_runs_the_cli(tmp_path: Path) -> None:
    """``python -m hexz`` is the Rust CLI: version, a pack and a read, and its error status."""
    import subprocess

    def hexz(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hexz", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )

    version = hexz("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"hexz {hexz_version()}"
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.txt").write_text("from python -m hexz\n")
    assert hexz("-q", "pack", "tree", "t.hxz").returncode == 0
    cat = hexz("cat", "t.hxz", "a.txt")
    assert cat.returncode == 0 and cat.stdout == "from python -m hexz\n"
    missing = hexz("inspect", "missing.hxz")
    assert missing.returncode == 1
    assert missing.stderr.startswith("hexz: error:") and "missing.hxz" in missing.stderr
    usage = hexz("no-such-command")
    assert usage.returncode == 2 and "no-such-command" in usage.stderr


def hexz_version() -> str:
    return hexz.__version__


def test_python_m_hexz_mounts_in_the_background(tmp_path: Path) -> None:
    """``mount --daemon`` starts the command again as its own background process: from the
    Python entry point too (the interpreter re-runs ``-m hexz``), and ``unmount`` ends it."""
    import subprocess

    import hexz_testing as ht

    if ht.fuse_unavailable():
        pytest.skip(ht.fuse_unavailable() or "")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.txt").write_text("mounted from python -m hexz\n")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    run = [sys.executable, "-m", "hexz"]
    subprocess.run([*run, "-q", "pack", "tree", "t.hxz"], cwd=tmp_path, check=True, timeout=120)
    started = subprocess.run(
        [*run, "mount", "--daemon", "t.hxz", str(mnt)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr
    try:
        assert (mnt / "a.txt").read_text() == "mounted from python -m hexz\n"
    finally:
        subprocess.run([*run, "unmount", str(mnt)], check=True, timeout=120)
    assert ht.hexz_mount_at(mnt) is None
