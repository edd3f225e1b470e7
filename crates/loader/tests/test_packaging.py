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
    assert hexz.FORMAT_VERSION == _native.FORMAT_VERSION == 1
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
