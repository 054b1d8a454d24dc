"""`sscstub.awscli`, the AWS CLI plugin, in the real CLIs (v2: Debian's at /usr/bin/aws, through
``cli_legacy_plugin_path``; v1: PyPI's in .venv-awscli1, with sscstub installed there), with
state kept across invocations in SQLite (SSCSTUB_STATE)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from clients import CLIENTS, ROOT, clean_env, need

import sscstub

CC = "codecommit.amazonaws.com"
EXITS = {"aws-cli-v2": 254, "aws-cli-v1": 255}


def configure(tmp_path: Path, client: str) -> dict[str, str]:
    config = tmp_path / "config"
    legacy = f"cli_legacy_plugin_path = {ROOT}\n" if client == "aws-cli-v2" else ""
    config.write_text(f"[plugins]\n{legacy}sscstub = sscstub.awscli\n")
    return clean_env(
        tmp_path,
        AWS_CONFIG_FILE=str(config),
        SSCSTUB_USERS="jane",
        SSCSTUB_STATE=str(tmp_path / "state.db"),
    )


def aws(client: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(CLIENTS[client]), "--output", "json", "iam", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("client", ["aws-cli-v2", "aws-cli-v1"])
def test_three_invocations_share_state_and_hit_the_limit(tmp_path: Path, client: str) -> None:
    need(client)
    env = configure(tmp_path, client)
    create = ("create-service-specific-credential", "--user-name", "jane", "--service-name", CC)
    names = []
    for _ in range(2):
        done = aws(client, env, *create)
        assert done.returncode == 0, done.stderr
        names.append(json.loads(done.stdout)["ServiceSpecificCredential"]["ServiceUserName"])
    assert names == ["jane-at-123456789012", "jane+1-at-123456789012"]
    third = aws(client, env, *create)
    assert third.returncode == EXITS[client]
    assert (
        "An error occurred (LimitExceeded) when calling the CreateServiceSpecificCredential"
        in third.stderr
    )
    state = sscstub.mock_ssc(state=tmp_path / "state.db")
    cid = state.credentials[0].service_specific_credential_id
    reset = aws(
        client,
        env,
        "reset-service-specific-credential",
        "--user-name",
        "jane",
        "--service-specific-credential-id",
        cid,
    )
    password = json.loads(reset.stdout)["ServiceSpecificCredential"]["ServicePassword"]
    assert state.authenticate("jane-at-123456789012", password)
    other = aws(client, env, "get-user", "--user-name", "jane")
    assert other.returncode != 0 and "GetUser is not simulated by sscstub" in other.stderr


def test_a_server_and_the_cli_share_one_state_file(tmp_path: Path) -> None:
    need("aws-cli-v2")
    env = configure(tmp_path, "aws-cli-v2")
    with sscstub.serve(users=["jane"], state=tmp_path / "state.db") as server:
        done = aws(
            "aws-cli-v2",
            env,
            "create-service-specific-credential",
            "--user-name",
            "jane",
            "--service-name",
            CC,
        )
        assert done.returncode == 0, done.stderr
        assert [c.service_user_name for c in server.credentials] == ["jane-at-123456789012"]
        from test_server import client_for

        client_for(server.url).create_service_specific_credential(UserName="jane", ServiceName=CC)
    listed = aws("aws-cli-v2", env, "list-service-specific-credentials", "--user-name", "jane")
    assert len(json.loads(listed.stdout)["ServiceSpecificCredentials"]) == 2
