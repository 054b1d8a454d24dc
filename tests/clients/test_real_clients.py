"""The endpoint through clients nobody here wrote: the AWS CLI v2 (Debian's, at /usr/bin/aws),
the AWS CLI v1 (PyPI, in .venv-awscli1), the AWS SDK for JavaScript v3 (npm, in
tests/clients/js), R's paws (in .paws-lib) and curl. `make clients` installs them; a missing one
is skipped with the reason, and the run's summary says which clients ran."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clients import CLIENTS, HERE, ROOT, clean_env, need, run

import sscstub

CC = "codecommit.amazonaws.com"
BEDROCK = "bedrock.amazonaws.com"


@pytest.fixture
def server() -> Iterator[sscstub.Server]:
    with sscstub.serve(users=["jane"]) as running:
        yield running


# --- the AWS CLI, v2 and v1 ----------------------------------------------------------------------


@pytest.mark.parametrize(("client", "error_exit"), [("aws-cli-v2", 254), ("aws-cli-v1", 255)])
def test_the_aws_cli(server: sscstub.Server, tmp_path: Path, client: str, error_exit: int) -> None:
    need(client)
    env = clean_env(tmp_path)

    def aws(*args: str) -> Any:
        done = run(
            [str(CLIENTS[client]), "--endpoint-url", server.url, "--output", "json", "iam", *args],
            env,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    made = aws("create-service-specific-credential", "--user-name", "jane", "--service-name", CC)
    cred = made["ServiceSpecificCredential"]
    assert cred["ServiceUserName"] == "jane-at-123456789012" and cred["Status"] == "Active"
    cid = cred["ServiceSpecificCredentialId"]
    reset = aws(
        "reset-service-specific-credential",
        "--user-name",
        "jane",
        "--service-specific-credential-id",
        cid,
    )
    new = reset["ServiceSpecificCredential"]
    assert set(new) >= {
        "CreateDate",
        "ServiceName",
        "ServiceUserName",
        "ServicePassword",
        "ServiceSpecificCredentialId",
        "UserName",
        "Status",
    }
    assert (
        new["ServiceSpecificCredentialId"] == cid
        and new["ServicePassword"] != cred["ServicePassword"]
    )
    assert (
        new["CreateDate"] == cred["CreateDate"]
        and new["ServiceName"] == CC
        and new["UserName"] == "jane"
    )
    assert server.authenticate("jane-at-123456789012", new["ServicePassword"])
    assert (
        aws(
            "update-service-specific-credential",
            "--user-name",
            "jane",
            "--service-specific-credential-id",
            cid,
            "--status",
            "Inactive",
        )
        is None
    )
    key = aws(
        "create-service-specific-credential", "--user-name", "jane", "--service-name", BEDROCK
    )
    assert (
        key["ServiceSpecificCredential"]["ServiceName"] == BEDROCK
    )  # parses, whatever its model lacks
    listed = aws("list-service-specific-credentials", "--user-name", "jane")[
        "ServiceSpecificCredentials"
    ]
    assert [(c["ServiceName"], c["Status"]) for c in listed] == [
        (CC, "Inactive"),
        (BEDROCK, "Active"),
    ]
    assert (
        aws(
            "delete-service-specific-credential",
            "--user-name",
            "jane",
            "--service-specific-credential-id",
            cid,
        )
        is None
    )
    failed = run(
        [
            str(CLIENTS[client]),
            "--endpoint-url",
            server.url,
            "iam",
            "list-service-specific-credentials",
            "--user-name",
            "nobody",
        ],
        env,
    )
    assert failed.returncode == error_exit
    assert (
        "An error occurred (NoSuchEntity) when calling the ListServiceSpecificCredentials operation: The user with name nobody cannot be found."
        in failed.stderr
    )


def test_the_aws_cli_v1_honours_aws_endpoint_url_iam(
    server: sscstub.Server, tmp_path: Path
) -> None:
    need("aws-cli-v1")
    done = run(
        [
            str(CLIENTS["aws-cli-v1"]),
            "iam",
            "list-service-specific-credentials",
            "--user-name",
            "jane",
        ],
        clean_env(tmp_path, AWS_ENDPOINT_URL_IAM=server.url),
    )
    assert done.returncode == 0 and json.loads(done.stdout)["ServiceSpecificCredentials"] == []


# --- the JavaScript SDK --------------------------------------------------------------------------


def test_the_javascript_sdk(server: sscstub.Server, tmp_path: Path) -> None:
    need("javascript-sdk-v3")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_ENDPOINT_URL_IAM": server.url}

    def send(command: str, **params: Any) -> Any:
        done = run(["node", str(HERE / "js" / "iam.mjs"), command, json.dumps(params)], env)
        return json.loads(done.stdout)

    key = send(
        "CreateServiceSpecificCredential",
        UserName="jane",
        ServiceName=BEDROCK,
        CredentialAgeDays=30,
    )
    cred = key["ServiceSpecificCredential"]
    assert cred["ServiceCredentialAlias"] == "jane-at-123456789012"
    assert server.authenticate_api_key(cred["ServiceCredentialSecret"])
    assert cred["ExpirationDate"] > cred["CreateDate"]  # Dates, serialised as ISO strings
    cid = cred["ServiceSpecificCredentialId"]
    reset = send("ResetServiceSpecificCredential", UserName="jane", ServiceSpecificCredentialId=cid)
    assert reset["ServiceSpecificCredential"]["ServiceSpecificCredentialId"] == cid
    assert (
        send(
            "UpdateServiceSpecificCredential",
            UserName="jane",
            ServiceSpecificCredentialId=cid,
            Status="Inactive",
        )
        == {}
    )
    listed = send("ListServiceSpecificCredentials", UserName="jane", AllUsers=False)
    assert (
        listed["IsTruncated"] is False
        and listed["ServiceSpecificCredentials"][0]["Status"] == "Inactive"
    )
    assert (
        send("DeleteServiceSpecificCredential", UserName="jane", ServiceSpecificCredentialId=cid)
        == {}
    )
    error = send("ListServiceSpecificCredentials", UserName="nobody")["error"]
    assert error == {
        "name": "NoSuchEntityException",
        "message": "The user with name nobody cannot be found.",
        "status": 404,
    }


# --- R's paws ------------------------------------------------------------------------------------


def test_r_paws(server: sscstub.Server, tmp_path: Path) -> None:
    need("paws")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "R_LIBS": str(ROOT / ".paws-lib"),
        "SSC_ENDPOINT": server.url,
    }

    def paws(operation: str, **params: Any) -> subprocess.CompletedProcess[str]:
        return run(["Rscript", str(HERE / "r" / "iam.R"), operation, json.dumps(params)], env)

    made = paws(
        "create_service_specific_credential",
        UserName="jane",
        ServiceName=BEDROCK,
        CredentialAgeDays=7,
    )
    assert made.returncode == 0, made.stderr
    cred = json.loads(made.stdout)["ServiceSpecificCredential"]
    assert cred["ServiceCredentialAlias"] == "jane-at-123456789012" and cred[
        "ExpirationDate"
    ].endswith("Z")
    cid = cred["ServiceSpecificCredentialId"]
    git = json.loads(
        paws("create_service_specific_credential", UserName="jane", ServiceName=CC).stdout
    )
    git_id = git["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    reset = paws(
        "reset_service_specific_credential", UserName="jane", ServiceSpecificCredentialId=git_id
    )
    new = json.loads(reset.stdout)["ServiceSpecificCredential"]
    assert server.authenticate("jane-at-123456789012", new["ServicePassword"])
    listed = json.loads(paws("list_service_specific_credentials", UserName="jane").stdout)
    assert [c["ServiceSpecificCredentialId"] for c in listed["ServiceSpecificCredentials"]] == [
        cid,
        git_id,
    ]
    failed = paws("list_service_specific_credentials", UserName="nobody")
    assert failed.returncode == 1
    error = json.loads(failed.stderr)["error"]
    assert (
        "paws_error" in error["class"]
        and error["status_code"] == 404
        and error["code"] == "NoSuchEntity"
    )


# --- curl and the JSON test API ------------------------------------------------------------------


def test_curl_and_the_test_api(server: sscstub.Server, tmp_path: Path) -> None:
    need("curl")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    done = run(
        [
            "curl",
            "-sf",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            '{"name": "bob"}',
            f"{server.url}/_sscstub/users",
        ],
        env,
    )
    assert json.loads(done.stdout) == {"users": ["bob", "jane"]}
    form = "Action=CreateServiceSpecificCredential&Version=2010-05-08&UserName=bob&ServiceName=codecommit.amazonaws.com"
    created = run(["curl", "-s", "-d", form, server.url], env)
    assert "<ServiceUserName>bob-at-123456789012</ServiceUserName>" in created.stdout
    listed = json.loads(run(["curl", "-sf", f"{server.url}/_sscstub/credentials"], env).stdout)
    assert [c["user_name"] for c in listed["credentials"]] == ["bob"]
