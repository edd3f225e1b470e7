"""Every script in examples/ runs as-is and exits 0."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))
NEEDS = {"pytorch_dataloader.py": "torch", "tensorflow_dataset.py": "tensorflow"}
SLOW = {"pytorch_dataloader.py", "tensorflow_dataset.py"}


def test_there_is_an_example_per_seed_section() -> None:
    for name in (
        "reading_snapshots.py",
        "async_io.py",
        "creating_snapshots.py",
        "numpy_integration.py",
        "pytorch_dataloader.py",
    ):
        assert name in SCRIPTS, name


@pytest.mark.parametrize(
    "script", [pytest.param(s, marks=[pytest.mark.slow] if s in SLOW else []) for s in SCRIPTS]
)
def test_example_runs(script: str, tmp_path: Path) -> None:
    module = NEEDS.get(script)
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{script} printed nothing"
