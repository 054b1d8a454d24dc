"""The sdist is complete: unpacked on its own, its tests collect exactly as the checkout's do
(downstream packagers run the suite from it). Needs the ``build`` package (``make package``).

Everything is built from a copy of the checkout, in a directory of its own: a ``build/`` folder
that ``pip install .`` leaves in a checkout is then neither imported as the ``build`` package
nor read by the build, and the checkout is left as it was."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
# What a working checkout holds that the package never does.
LOCAL = shutil.ignore_patterns(
    ".venv*", ".git", "node_modules", ".paws-lib", "build", "dist", "*.egg-info", "__pycache__",
    ".*_cache", ".nox", ".hypothesis",
)  # fmt: skip


def copy_of_checkout(where: Path) -> Path:
    shutil.copytree(ROOT, where, ignore=LOCAL)
    return where


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


def build_sdist(tree: Path, out: Path) -> Path:
    """``python -m build --sdist`` run in a directory of its own (so ``-m build`` finds the
    installed package, never a folder), with its output shown when it fails."""
    probe = subprocess.run(
        [sys.executable, "-c", "import build.__main__"], cwd=out.parent, capture_output=True
    )
    if probe.returncode:
        pytest.skip("the build package is not installed in this venv (make package has it)")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(tree)],
        cwd=out.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"python -m build failed:\n{done.stdout[-3000:]}{done.stderr}"
    (sdist,) = out.glob("sscstub-*.tar.gz")
    return sdist


def test_the_sdist_carries_the_whole_suite(tmp_path: Path) -> None:
    sdist = build_sdist(copy_of_checkout(tmp_path / "checkout"), tmp_path / "dist")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (tree,) = (tmp_path / "unpacked").iterdir()
    for needed in (
        "tests/conftest.py",
        "tests/iamxml.py",
        "examples/run_all.py",
        "docs",
        "tests/typing/user_code.py",
        "tests/moto_venv",
        "tests/aio",
        "CHANGELOG.md",
    ):
        assert (tree / needed).exists(), f"the sdist lacks {needed}"
    count, listing = collected(tree)
    assert "error" not in listing.lower().split("collected")[-1]
    assert (count, "") == (collected(ROOT)[0], ""), "the sdist collects other tests"


def test_a_build_folder_left_by_pip_install_changes_nothing(tmp_path: Path) -> None:
    """What ``pip install .`` leaves (``build/lib/sscstub/...``), in a checkout whose tests then
    run: the packaging test still passes there (or skips for want of ``build``, never fails)."""
    checkout = copy_of_checkout(tmp_path / "checkout")
    shutil.copytree(ROOT / "sscstub", checkout / "build" / "lib" / "sscstub", ignore=LOCAL)
    (checkout / "build" / "bdist.linux-x86_64").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly", "-p", "no:cacheprovider",
         "tests/test_packaging.py::test_the_sdist_carries_the_whole_suite"],
        cwd=checkout, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"1 (passed|skipped)", done.stdout), done.stdout
