"""sscstub composed with moto (make unit-moto runs this file in .venv-moto: moto pins its own
botocore range). Never collected by the main suite."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import sscstub

CC = "codecommit.amazonaws.com"
BEDROCK = "bedrock.amazonaws.com"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError(f"sscstub tests must not use the network: {args!r}")

    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)


def rotation_script() -> list[str]:
    """A real rotation script, unmodified: user, CodeCommit credential, Bedrock key, rotate both,
    delete the credentials, then the user."""
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="deploy-bot")
    iam.attach_user_policy(
        UserName="deploy-bot", PolicyArn="arn:aws:iam::aws:policy/AWSCodeCommitPowerUser"
    )
    git = iam.create_service_specific_credential(UserName="deploy-bot", ServiceName=CC)
    key = iam.create_service_specific_credential(
        UserName="deploy-bot", ServiceName=BEDROCK, CredentialAgeDays=30
    )
    ids = [
        git["ServiceSpecificCredential"]["ServiceSpecificCredentialId"],
        key["ServiceSpecificCredential"]["ServiceSpecificCredentialId"],
    ]
    secrets = []
    for cid in ids:
        new = iam.reset_service_specific_credential(
            UserName="deploy-bot", ServiceSpecificCredentialId=cid
        )["ServiceSpecificCredential"]
        secrets.append(new.get("ServicePassword") or new["ServiceCredentialSecret"])
    for cid in ids:
        iam.delete_service_specific_credential(
            UserName="deploy-bot", ServiceSpecificCredentialId=cid
        )
    iam.detach_user_policy(
        UserName="deploy-bot", PolicyArn="arn:aws:iam::aws:policy/AWSCodeCommitPowerUser"
    )
    iam.delete_user(UserName="deploy-bot")
    assert [u["UserName"] for u in iam.list_users()["Users"]] == []
    return secrets


MODES = pytest.mark.parametrize("wire", [False, True], ids=["before-call", "wire"])


@MODES
@pytest.mark.parametrize("moto_outside", [True, False])
def test_the_rotation_script_runs_unmodified_in_either_nesting(
    moto_outside: bool, wire: bool
) -> None:
    stub = sscstub.mock_ssc(wire=wire)
    moto = mock_aws(config={"iam": {"load_aws_managed_policies": True}})
    decorated = moto(stub(rotation_script)) if moto_outside else stub(moto(rotation_script))
    decorated()
    assert [c.operation for c in stub.calls] == [
        "CreateServiceSpecificCredential",
        "CreateServiceSpecificCredential",
        "ResetServiceSpecificCredential",
        "ResetServiceSpecificCredential",
        "DeleteServiceSpecificCredential",
        "DeleteServiceSpecificCredential",
    ]
    assert stub.credentials == ()


@MODES
def test_delete_user_with_credentials_is_a_conflict_and_the_user_survives(wire: bool) -> None:
    with mock_aws(), sscstub.mock_ssc(wire=wire):
        _delete_conflict()


def _delete_conflict() -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="jane")
    made = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
    with pytest.raises(iam.exceptions.DeleteConflictException) as caught:
        iam.delete_user(UserName="jane")
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert (
        error["Error"]["Message"] == "Cannot delete entity, must remove referenced objects first."
    )
    assert iam.get_user(UserName="jane")["User"]["UserName"] == "jane"  # moto's user survives
    iam.delete_service_specific_credential(
        UserName="jane",
        ServiceSpecificCredentialId=made["ServiceSpecificCredential"][
            "ServiceSpecificCredentialId"
        ],
    )
    iam.delete_user(UserName="jane")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.create_service_specific_credential(UserName="jane", ServiceName=CC)


@MODES
@mock_aws
def test_users_are_moto_s_renames_follow_and_configured_users_are_created_there(
    wire: bool,
) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    with sscstub.mock_ssc(users=["preset"], wire=wire) as stub:
        iam.create_service_specific_credential(UserName="preset", ServiceName=CC)
        iam.create_service_specific_credential(UserName="preset", ServiceName=BEDROCK)
        assert [u["UserName"] for u in iam.list_users()["Users"]] == ["preset"]
        iam.update_user(UserName="preset", NewUserName="renamed")
        listed = iam.list_service_specific_credentials(UserName="renamed")
        # a rename changes UserName and keeps names and aliases (observed on IAM, 2026-09-11)
        assert [
            (m["UserName"], m.get("ServiceUserName") or m["ServiceCredentialAlias"])
            for m in listed["ServiceSpecificCredentials"]
        ] == [("renamed", "preset-at-123456789012")] * 2
        assert [c.user_name for c in stub.credentials] == ["renamed", "renamed"]
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.list_service_specific_credentials(UserName="preset")


def test_strict_mode_still_stops_other_calls_when_moto_is_off() -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    with sscstub.mock_ssc(users=["jane"]):
        with pytest.raises(sscstub.UnsimulatedOperationError, match="GetUser"):
            iam.get_user(UserName="jane")
        with mock_aws(), pytest.raises(ClientError, match="NoSuchEntity"):
            boto3.client("iam", region_name="us-east-1").get_user(UserName="nobody")  # moto's
    with (
        mock_aws(),
        sscstub.mock_ssc(users=["jane"], moto=False),
        pytest.raises(sscstub.UnsimulatedOperationError, match="GetUser"),
    ):
        boto3.client("iam", region_name="us-east-1").get_user(UserName="jane")


@MODES
def test_the_account_is_moto_s(monkeypatch: pytest.MonkeyPatch, wire: bool) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    with mock_aws(), sscstub.mock_ssc(wire=wire) as stub:
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="jane")
        made = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        assert made["ServiceSpecificCredential"]["ServiceUserName"] == "jane-at-111122223333"
        assert stub.account_id == "111122223333" and os.environ["MOTO_ACCOUNT_ID"]


@pytest.mark.parametrize("moto_outside", [True, False])
def test_wire_mode_inside_mock_aws_serves_all_five_with_botocores_retries(
    moto_outside: bool,
) -> None:
    """The case issue #18 found: moto's before-send stubber runs for every request, even one
    sscstub answered, and raised NotImplementedError for these five operations."""
    from contextlib import ExitStack

    from botocore.config import Config

    with ExitStack() as stack:
        mocks = [mock_aws(), sscstub.mock_ssc(wire=True)]
        for mock in mocks if moto_outside else reversed(mocks):
            stack.enter_context(mock)  # type: ignore[arg-type]
        stub = mocks[1]
        iam = boto3.client(
            "iam", region_name="us-east-1", config=Config(retries={"mode": "standard"})
        )
        iam.create_user(UserName="jane")
        made = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        cid = made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
        iam.update_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=cid, Status="Inactive"
        )
        iam.reset_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=cid)
        stub.inject_error("list_service_specific_credentials", "Throttling", times=2)
        listed = iam.list_service_specific_credentials(UserName="jane")
        assert listed["ResponseMetadata"]["RetryAttempts"] == 2  # botocore retried sscstub's XML
        assert listed["ServiceSpecificCredentials"][0]["Status"] == "Inactive"
        iam.delete_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=cid)
        iam.delete_user(UserName="jane")
        assert [u["UserName"] for u in iam.list_users()["Users"]] == []


def _nested(moto_outside: bool, stub: sscstub.SSCStub) -> Any:
    from contextlib import ExitStack

    stack = ExitStack()
    mocks: list[Any] = [mock_aws(), stub]
    for mock in mocks if moto_outside else reversed(mocks):
        stack.enter_context(mock)
    return stack


@MODES
@pytest.mark.parametrize("moto_outside", [True, False])
def test_configured_users_exist_in_moto_before_any_sscstub_call(
    moto_outside: bool, wire: bool
) -> None:
    stub = sscstub.mock_ssc(users=["dave"], wire=wire)
    with _nested(moto_outside, stub):
        iam = boto3.client("iam", region_name="us-east-1")
        assert iam.get_user(UserName="dave")["User"]["UserName"] == "dave"  # the first call
        assert stub.users == {"dave"}


@MODES
def test_add_user_under_moto_makes_a_user_both_see_and_users_are_moto_s(wire: bool) -> None:
    stub = sscstub.mock_ssc(wire=wire)
    stub.add_user("early")  # made while inactive: made again at activation
    with mock_aws(), stub:
        iam = boto3.client("iam", region_name="us-east-1")
        stub.add_user("erin")
        assert iam.get_user(UserName="erin")["User"]["UserName"] == "erin"
        assert iam.get_user(UserName="early")["User"]["UserName"] == "early"
        iam.create_service_specific_credential(UserName="erin", ServiceName=CC)
        iam.create_user(UserName="made-in-moto")
        assert stub.users == {"early", "erin", "made-in-moto"}
        with pytest.raises(sscstub.SscStubError, match="DeleteConflict"):
            stub.remove_user("erin")  # it has a credential: refused, as DeleteUser is
        assert iam.get_user(UserName="erin")
        stub.remove_user("made-in-moto")
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_user(UserName="made-in-moto")
        assert stub.users == {"early", "erin"}


def test_users_are_made_again_when_moto_starts_afresh() -> None:
    with sscstub.mock_ssc(users=["dave"]):
        for _ in range(2):  # each mock_aws starts with an empty IAM
            with mock_aws():
                iam = boto3.client("iam", region_name="us-east-1")
                assert iam.get_user(UserName="dave")["User"]["UserName"] == "dave"
                iam.delete_user(UserName="dave")  # gone for the rest of this mock only
                with pytest.raises(iam.exceptions.NoSuchEntityException):
                    iam.get_user(UserName="dave")


def test_the_cli_plugins_users_exist_in_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """The AWS CLI plugin's entry point, given a session's emitter as the CLI gives it, inside
    moto's mock (the CLI run in process, as some test suites run it)."""
    import atexit

    import botocore.session

    from sscstub import awscli

    monkeypatch.setenv("SSCSTUB_USERS", "dave,erin")
    monkeypatch.setattr(atexit, "register", lambda stop: stops.append(stop))
    stops: list[Any] = []
    with mock_aws():
        session = botocore.session.get_session()
        awscli.awscli_initialize(session.get_component("event_emitter"))
        try:
            iam = session.create_client("iam", region_name="us-east-1")
            assert iam.get_user(UserName="erin")["User"]["UserName"] == "erin"
            made = iam.create_service_specific_credential(UserName="dave", ServiceName=CC)
            assert made["ServiceSpecificCredential"]["UserName"] == "dave"
        finally:
            for stop in stops:
                stop()
