"""Tests of benchmarks/runs.py: generated sections replace exactly their own part of the doc."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import runs  # noqa: E402

DOC = """# Benchmarks

## A
old a
### A.1
old a1
### Kept notes
notes
## B
b
"""


def test_a_section_ends_at_the_next_heading_of_its_level(tmp_path: Path) -> None:
    doc = tmp_path / "b.md"
    doc.write_text(DOC)
    runs.replace_section("### A.1", "### A.1\nnew a1\n", doc=doc)
    assert doc.read_text() == DOC.replace("old a1\n", "new a1\n\n")
    runs.replace_section("## A", "## A\nnew a\n", doc=doc)
    assert doc.read_text() == "# Benchmarks\n\n## A\nnew a\n\n## B\nb\n"


def test_keep_stops_the_generated_part(tmp_path: Path) -> None:
    doc = tmp_path / "b.md"
    doc.write_text(DOC)
    runs.replace_section("## A", "## A\nnew\n", keep="### Kept notes", doc=doc)
    assert doc.read_text() == DOC.replace("old a\n### A.1\nold a1\n", "new\n\n")


def test_the_last_section_and_a_new_one(tmp_path: Path) -> None:
    doc = tmp_path / "b.md"
    doc.write_text(DOC)
    runs.replace_section("## B", "## B\nnew b", doc=doc)
    assert doc.read_text().endswith("## B\nnew b\n")
    runs.replace_section("## C", "## C\nc\n", doc=doc)
    assert doc.read_text().endswith("## B\nnew b\n\n## C\nc\n")
