"""The sdist is complete: unpacked on its own, its tests collect exactly as the checkout's do
(downstream packagers run the suite from it). Needs the ``build`` package (``make package``)."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def collected(where: Path) -> tuple[int, str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "--ignore=tests/clients",
        ],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = re.search(r"^(\d+) tests? collected", done.stdout, re.M)
    assert done.returncode == 0 and found, done.stdout[-3000:] + done.stderr[-3000:]
    return int(found[1]), done.stdout


def test_the_sdist_carries_the_whole_suite(tmp_path: Path) -> None:
    pytest.importorskip("build", reason="the build package is not installed (make package)")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (sdist,) = (tmp_path / "dist").glob("sscstub-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (tree,) = (tmp_path / "unpacked").iterdir()
    for needed in (
        "tests/conftest.py",
        "tests/iamxml.py",
        "examples/run_all.py",
        "docs",
        "tests/typing/user_code.py",
        "tests/moto",
        "tests/aio",
        "CHANGELOG.md",
    ):
        assert (tree / needed).exists(), f"the sdist lacks {needed}"
    count, listing = collected(tree)
    assert "error" not in listing.lower().split("collected")[-1]
    assert (count, "") == (collected(ROOT)[0], ""), "the sdist collects other tests"
