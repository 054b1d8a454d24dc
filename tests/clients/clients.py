"""The real clients tests/clients runs, where each is installed, and `need`, which skips a test
whose client is missing with the reason (the run's summary lists them: see tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
HERE = Path(__file__).parent
RAN: dict[str, str] = {}  # client -> "ran" or why it was skipped; printed by conftest

CLIENTS = {
    "aws-cli-v2": Path("/usr/bin/aws"),
    "aws-cli-v1": ROOT / ".venv-awscli1" / "bin" / "aws",
    "javascript-sdk-v3": HERE / "js" / "node_modules" / "@aws-sdk" / "client-iam",
    "paws": ROOT / ".paws-lib" / "paws.security.identity",
    "curl": Path(shutil.which("curl") or "/nonexistent/curl"),
    "cqlsh": Path(sys.executable).parent / "cqlsh",
    "node-cassandra-driver": HERE / "js" / "node_modules" / "cassandra-driver",
}


# What installs a missing client (`make clients` has tried already when `make test` runs)
REMEDY = {
    "paws": 'R\'s paws installs from CRAN (install.packages("paws.security.identity")), which'
    " this machine could not reach; an offline copy of paws works too (see .ci/install-clients)",
    "cqlsh": "cqlsh (PyPI) is in the test dependency group: run `make .venv/bin/.installed`",
}


def need(client: str) -> None:
    if not CLIENTS[client].exists() or (client == "paws" and not shutil.which("Rscript")):
        why = REMEDY.get(client, f"{CLIENTS[client].name} is missing: run `make clients`")
        RAN[client] = f"SKIPPED: {why}"
        pytest.skip(f"real client {client} is not installed: {why}")
    RAN.setdefault(client, "ran")


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PAGER": "",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        **extra,
    }


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
