"""Run a GitHub Actions workflow's ``run:`` steps as the runner would, on a fresh copy of this
checkout and a fresh venv (its ``python`` first on PATH): ``python run_workflow.py FILE``.
The ``uses:`` steps (checkout, setup-python) are what the copy and the venv stand for."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).parents[1]
# What a checkout holds that a clone would not: venvs, caches, build output, installed clients.
LOCAL = shutil.ignore_patterns(
    ".venv*", ".git", "node_modules", ".paws-lib", "build", "dist", "*.egg-info", "__pycache__",
    ".*_cache",
)  # fmt: skip


def run_steps(workflow: Path) -> list[str]:
    return re.findall(r"^\s*- run: (.+)$", workflow.read_text(), re.M)


def main(workflow: Path) -> int:
    steps = run_steps(workflow)
    if not steps:
        print(f"{workflow}: no run steps", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="sscstub-workflow-") as tmp:
        checkout = Path(tmp) / "checkout"
        shutil.copytree(ROOT, checkout, ignore=LOCAL)
        venv.create(Path(tmp) / "venv", with_pip=True)
        env = {**os.environ, "PATH": f"{Path(tmp) / 'venv' / 'bin'}:{os.environ['PATH']}"}
        env.pop("PYTHONPATH", None)
        for step in steps:
            print(f"$ {step}", flush=True)
            done = subprocess.run(step, shell=True, cwd=checkout, env=env, timeout=600)
            if done.returncode:
                return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
