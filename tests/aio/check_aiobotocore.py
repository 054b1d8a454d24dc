"""aiobotocore and aioboto3, served at before-call (make unit-aio runs this file in the venvs
.venv-aiobotocore and .venv-aioboto3: each pins its own botocore). Never collected by the main
suite, which has neither library; a venv without them fails here rather than skipping."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import aiobotocore
import pytest
from aiobotocore.session import get_session

import sscstub

CC = "codecommit.amazonaws.com"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run with --noconftest (the main conftest needs boto3): the same cut network, here."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError(f"sscstub tests must not use the network: {args!r}")

    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def client_context() -> Any:
    return get_session().create_client(
        "iam", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )


def test_print_the_versions_under_test() -> None:
    import botocore

    print(f"aiobotocore {aiobotocore.__version__}, botocore {botocore.__version__}")
    assert aiobotocore.__version__ and botocore.__version__


def test_the_lifecycle_through_aiobotocore() -> None:
    async def run() -> None:
        async with client_context() as iam:
            made = await iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
            cid = made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
            assert made["ServiceSpecificCredential"]["ServiceUserName"] == "jane-at-123456789012"
            reset = await iam.reset_service_specific_credential(
                UserName="jane", ServiceSpecificCredentialId=cid
            )
            password = reset["ServiceSpecificCredential"]["ServicePassword"]
            assert stub.authenticate("jane-at-123456789012", password)
            await iam.update_service_specific_credential(
                UserName="jane", ServiceSpecificCredentialId=cid, Status="Inactive"
            )
            listed = await iam.list_service_specific_credentials(UserName="jane")
            assert [c["Status"] for c in listed["ServiceSpecificCredentials"]] == ["Inactive"]
            await iam.delete_service_specific_credential(
                UserName="jane", ServiceSpecificCredentialId=cid
            )
            with pytest.raises(iam.exceptions.NoSuchEntityException, match="cannot be found"):
                await iam.list_service_specific_credentials(UserName="nobody")
            with pytest.raises(sscstub.UnsimulatedOperationError, match="GetUser"):
                await iam.get_user(UserName="jane")

    with sscstub.mock_ssc(users=["jane"]) as stub:
        asyncio.run(run())
    assert [c.error_code for c in stub.calls] == [None] * 5 + ["NoSuchEntity"]


def test_wire_mode_refuses_aiobotocore_clearly() -> None:
    async def run() -> None:
        async with client_context() as iam:
            await iam.list_service_specific_credentials(UserName="jane")

    with (
        sscstub.mock_ssc(users=["jane"], wire=True),
        pytest.raises(sscstub.SscStubError, match="wire=True cannot serve aiobotocore"),
    ):
        asyncio.run(run())


def test_a_client_made_before_import_is_served(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import asyncio, socket
        def refuse(*a, **k): raise ConnectionRefusedError("network")
        socket.socket.connect = socket.getaddrinfo = socket.create_connection = refuse
        from aiobotocore.session import get_session

        async def main():
            async with get_session().create_client("iam", region_name="us-east-1",
                    aws_access_key_id="a", aws_secret_access_key="b") as early:
                import sscstub  # after the client exists
                stub = sscstub.mock_ssc(users=["jane"])
                stub.attach(early)
                with stub:
                    await early.create_service_specific_credential(
                        UserName="jane", ServiceName="bedrock.amazonaws.com")
                    assert len(stub.credentials) == 1
            print("ok")

        asyncio.run(main())
        """
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_aioboto3_when_installed() -> None:
    try:
        import aioboto3
    except ImportError:
        if os.environ.get("SSC_TEST_EXPECT_AIOBOTO3"):
            raise
        return  # this venv is the plain-aiobotocore one: aioboto3 is checked in its own

    async def run() -> None:
        session = aioboto3.Session()
        async with session.client(
            "iam", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
        ) as iam:
            made = await iam.create_service_specific_credential(
                UserName="jane", ServiceName="bedrock.amazonaws.com"
            )
            secret = made["ServiceSpecificCredential"]["ServiceCredentialSecret"]
            assert stub.authenticate_api_key(secret)

    with sscstub.mock_ssc(users=["jane"]) as stub:
        asyncio.run(run())
    assert len(stub.credentials) == 1
