"""Older real-AWS evidence, replayed: the scenarios of LocalStack's AWS-validated recordings
(``tests/aws/services/iam/test_iam.py::TestIAMServiceSpecificCredentials``, recorded against
real IAM on 2025-03-06), each step through a real boto3 client in both modes, with what real
IAM answered. None disagrees with the 2026-09-11 observations (tests/test_observed.py); where
one would, the newer wins (docs/fidelity.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import make_client

import sscstub

CC, KEYSPACES = "codecommit.amazonaws.com", "cassandra.amazonaws.com"


@pytest.fixture(params=[False, True], ids=["before-call", "wire"])
def wire(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def stub(wire: bool) -> Iterator[sscstub.SSCStub]:
    with sscstub.mock_ssc(users=["user-1"], wire=wire) as active:
        yield active


@pytest.fixture
def iam() -> Any:
    return make_client(retries={"total_max_attempts": 1})


def error(call: Any, **params: Any) -> tuple[str, str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return (
        response["Error"]["Type"],
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


@pytest.mark.parametrize("service", [CC, KEYSPACES])
def test_service_specific_credentialevery_operation(
    stub: sscstub.SSCStub, iam: Any, service: str
) -> None:
    made = iam.create_service_specific_credential(UserName="user-1", ServiceName=service)
    cred = made["ServiceSpecificCredential"]
    assert list(cred) == [
        "CreateDate", "ServiceName", "ServiceUserName", "ServicePassword",
        "ServiceSpecificCredentialId", "UserName", "Status",
    ]  # fmt: skip
    assert (cred["ServiceUserName"], cred["Status"]) == ("user-1-at-123456789012", "Active")
    cid = cred["ServiceSpecificCredentialId"]
    listed = iam.list_service_specific_credentials(UserName="user-1", ServiceName=service)
    assert [m["Status"] for m in listed["ServiceSpecificCredentials"]] == ["Active"]
    updated = iam.update_service_specific_credential(
        UserName="user-1", ServiceSpecificCredentialId=cid, Status="Inactive"
    )
    assert set(updated) == {"ResponseMetadata"}
    listed = iam.list_service_specific_credentials(UserName="user-1", ServiceName=service)
    assert [m["Status"] for m in listed["ServiceSpecificCredentials"]] == ["Inactive"]
    reset = iam.reset_service_specific_credential(
        UserName="user-1", ServiceSpecificCredentialId=cid
    )
    again = reset["ServiceSpecificCredential"]
    assert (again["ServiceSpecificCredentialId"], again["Status"]) == (cid, "Inactive")
    deleted = iam.delete_service_specific_credential(
        UserName="user-1", ServiceSpecificCredentialId=cid
    )
    assert set(deleted) == {"ResponseMetadata"}


def test_create_service_specific_credential_invalid_user(stub: sscstub.SSCStub, iam: Any) -> None:
    missing = (
        "Sender",
        "NoSuchEntity",
        404,
        "The user with name non-existent-user cannot be found.",
    )
    for service in (CC, "nonexistentservice.amazonaws.com"):  # the user is checked first
        assert (
            error(
                iam.create_service_specific_credential,
                UserName="non-existent-user",
                ServiceName=service,
            )
            == missing
        )


@pytest.mark.parametrize(
    "service", ["nonexistentservice.amazonaws.com", "o3on3n3onosneo", "lambda.amazonaws.com"]
)
def test_create_service_specific_credential_invalid_service(
    stub: sscstub.SSCStub, iam: Any, service: str
) -> None:
    message = f"No such service {service} is supported for Service Specific Credentials"
    assert error(iam.create_service_specific_credential, UserName="user-1", ServiceName=service) == (
        "Sender", "NoSuchEntity", 404, message,
    )  # fmt: skip


def test_list_service_specific_credential_different_service(
    stub: sscstub.SSCStub, iam: Any
) -> None:
    unknown = "nonexistentservice.amazonaws.com"
    assert error(iam.list_service_specific_credentials, UserName="user-1", ServiceName=unknown) == (
        "Sender", "NoSuchEntity", 404,
        f"No such service {unknown} is supported for Service Specific Credentials",
    )  # fmt: skip
    iam.create_service_specific_credential(UserName="user-1", ServiceName=CC)
    listed = iam.list_service_specific_credentials(UserName="user-1", ServiceName=KEYSPACES)
    assert listed["ServiceSpecificCredentials"] == []


def test_delete_user_after_service_credential_created(wire: bool) -> None:
    moto = pytest.importorskip("moto", reason="moto is in the test group: pip install moto")
    with moto.mock_aws(), sscstub.mock_ssc(wire=wire):
        iam = make_client(retries={"total_max_attempts": 1})
        iam.create_user(UserName="user-1")  # type: ignore[attr-defined]
        iam.create_service_specific_credential(UserName="user-1", ServiceName=CC)  # type: ignore[attr-defined]
        assert error(iam.delete_user, UserName="user-1") == (  # type: ignore[attr-defined]
            "Sender", "DeleteConflict", 409,
            "Cannot delete entity, must remove referenced objects first.",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("update_service_specific_credential", {"Status": "Inactive"}),
        ("reset_service_specific_credential", {}),
        ("delete_service_specific_credential", {}),
    ],
)
def test_id_match_user_mismatch(
    stub: sscstub.SSCStub, iam: Any, method: str, extra: dict[str, str]
) -> None:
    cid = iam.create_service_specific_credential(UserName="user-1", ServiceName=CC)[
        "ServiceSpecificCredential"
    ]["ServiceSpecificCredentialId"]
    assert error(getattr(iam, method), UserName="wrong-user-name", ServiceSpecificCredentialId=cid, **extra) == (
        "Sender", "NoSuchEntity", 404, "The user with name wrong-user-name cannot be found.",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("wrong_id", "expected"),
    [
        (
            "totally-wrong-credential-id-with-hyphens",
            ("Sender", "ValidationError", 400,
             "1 validation error detected: Value at 'serviceSpecificCredentialId' failed to satisfy"
             " constraint: Member must satisfy regular expression pattern: [\\w]+"),
        ),
        (
            "satisfiesregexbutstillinvalid",
            ("Sender", "NoSuchEntity", 404, "No such credential satisfiesregexbutstillinvalid exists"),
        ),
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("update_service_specific_credential", {"Status": "Inactive"}),
        ("reset_service_specific_credential", {}),
        ("delete_service_specific_credential", {}),
    ],
)
def test_user_match_id_mismatch(
    stub: sscstub.SSCStub, iam: Any, method: str, extra: dict[str, str], wrong_id: str,
    expected: tuple[str, str, int, str],
) -> None:  # fmt: skip
    iam.create_service_specific_credential(UserName="user-1", ServiceName=CC)
    call = getattr(iam, method)
    assert error(call, UserName="user-1", ServiceSpecificCredentialId=wrong_id, **extra) == expected


def test_invalid_update_parameters(stub: sscstub.SSCStub, iam: Any) -> None:
    cid = iam.create_service_specific_credential(UserName="user-1", ServiceName=CC)[
        "ServiceSpecificCredential"
    ]["ServiceSpecificCredentialId"]
    # no UserName and no caller configured: the status is validated first
    assert error(iam.update_service_specific_credential, ServiceSpecificCredentialId=cid, Status="Invalid") == (
        "Sender", "ValidationError", 400,
        "1 validation error detected: Value at 'status' failed to satisfy constraint: Member must"
        " satisfy enum value set",
    )  # fmt: skip
