"""The keys sscstub issues, read by a public key-inspection tool written from real keys:
``bks decode-key`` (PyPI ``bedrock-keys-security``, BeyondTrust), run as a user runs it.

bks knows two services' long-term formats, Bedrock's (``ABSK``) and Claude Platform's
(``AEAA``, whose prefix is the base64 of the framing bytes its keys begin with); it decodes
both as sscstub issues them. The other services' keys share that framing after their own
prefix: bks refuses their prefixes (it does not know them) and decodes what follows them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import make_client

import sscstub

BKS = shutil.which("bks", path=os.path.dirname(sys.executable))
if BKS is None:
    pytest.skip(
        "bks (PyPI bedrock-keys-security, in the test group) is not installed: pip install"
        " bedrock-keys-security",
        allow_module_level=True,
    )

ACCOUNT = "123456789012"
KNOWN = {"bedrock.amazonaws.com": "ABSK", "aws-external-anthropic.amazonaws.com": "AEAA"}
OTHERS = {"logs.amazonaws.com": "ACWL", "cloudwatch.amazonaws.com": "APIAACWM"}
OTHERS["xray.amazonaws.com"] = "AXRY"


def keys(service: str) -> list[str]:
    """Two keys of ``service`` (the second is named ``+1``), issued through boto3."""
    with sscstub.mock_ssc(users=["deploy-bot"]):
        iam = make_client()
        return [
            iam.create_service_specific_credential(UserName="deploy-bot", ServiceName=service)[  # type: ignore[attr-defined]
                "ServiceSpecificCredential"
            ]["ServiceCredentialSecret"]
            for _ in range(2)
        ]


def bks(key: str, tmp_path: Path) -> tuple[int, dict[str, Any] | None, str]:
    """``bks decode-key --json``: its exit status, the JSON it saved, and what it printed."""
    out = tmp_path / "bks"
    run = subprocess.run(
        [BKS, "--output-dir", str(out), "decode-key", "--json", key],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )
    saved = sorted(out.glob("*.json")) if out.exists() else []
    data = json.loads(saved[-1].read_text()) if saved else None
    for path in saved:
        path.unlink()
    return run.returncode, data, run.stdout + run.stderr


@pytest.mark.parametrize("service", list(KNOWN))
def test_bks_decodes_the_keys_of_the_services_it_knows(service: str, tmp_path: Path) -> None:
    first, second = keys(service)
    status, data, printed = bks(first, tmp_path)
    assert status == 0 and data is not None, printed
    assert data["bks_service"] == (
        "bedrock" if service.startswith("bedrock") else "claude-platform"
    )
    assert (data["type"], data["username"], data["account_id"]) == (
        "long-term",
        "deploy-bot",
        ACCOUNT,
    )
    assert (data["key_position"], data["secret_length"]) == ("primary", 60)
    status, data, printed = bks(second, tmp_path)
    assert status == 0 and data is not None, printed
    assert (data["key_position"], data["key_index_marker"]) == ("secondary", "+1")


@pytest.mark.parametrize("service", list(OTHERS))
def test_the_other_services_keys_share_the_framing_after_their_prefix(
    service: str, tmp_path: Path
) -> None:
    key = keys(service)[0]
    prefix = OTHERS[service]
    assert key.startswith(prefix)
    status, data, printed = bks(key, tmp_path)
    assert status == 1 and data is not None and data["error"] == "Unknown key format", printed
    status, data, printed = bks("ABSK" + key[len(prefix) :], tmp_path)
    assert status == 0 and data is not None, printed
    assert (data["username"], data["account_id"], data["secret_length"]) == (
        "deploy-bot",
        ACCOUNT,
        60,
    )
