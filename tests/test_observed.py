"""Real IAM as observed on 2026-09-11 (shared evidence: sanitised captures of real AWS IAM), each
fact through a real boto3 client, in the default mode and in wire mode (botocore's own parser
reading IAM's XML). Where this disagrees with an older source, this is what IAM does today."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import make_client

import sscstub

CC, KEYSPACES, BEDROCK = (
    "codecommit.amazonaws.com",
    "cassandra.amazonaws.com",
    "bedrock.amazonaws.com",
)
ACCOUNT = "123456789012"
PREFIXES = {  # observed; X-Ray's is sscstub's choice (docs/fidelity.md)
    BEDROCK: "ABSK",
    "logs.amazonaws.com": "ACWL",
    "cloudwatch.amazonaws.com": "APIAACWM",
    "aws-external-anthropic.amazonaws.com": "AEAA",
    "xray.amazonaws.com": "AXRY",
}


@pytest.fixture(params=[False, True], ids=["before-call", "wire"])
def stub(request: pytest.FixtureRequest) -> Iterator[sscstub.SSCStub]:
    with sscstub.mock_ssc(users=["jane", "bob"], wire=request.param) as active:
        yield active


@pytest.fixture
def iam() -> Any:
    return make_client(retries={"total_max_attempts": 1})


def create(iam: Any, service: str = CC, user: str = "jane", **extra: Any) -> dict[str, Any]:
    made = iam.create_service_specific_credential(UserName=user, ServiceName=service, **extra)
    return made["ServiceSpecificCredential"]  # type: ignore[no-any-return]


def error_of(call: Any, **params: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def test_the_third_credential_hits_iams_quota(stub: sscstub.SSCStub, iam: Any) -> None:
    create(iam), create(iam)
    assert error_of(iam.create_service_specific_credential, UserName="jane", ServiceName=CC) == (
        "LimitExceeded",
        409,
        "Cannot exceed quota for ContextSpecificCredentialsPerUserPerContext: 2",
    )


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("reset_service_specific_credential", {}),
        ("update_service_specific_credential", {"Status": "Inactive"}),
        ("delete_service_specific_credential", {}),
    ],
)
def test_another_users_credential_and_an_id_nobody_has(
    stub: sscstub.SSCStub, iam: Any, method: str, extra: dict[str, str]
) -> None:
    janes = create(iam)["ServiceSpecificCredentialId"]
    call = getattr(iam, method)
    assert error_of(call, UserName="bob", ServiceSpecificCredentialId=janes, **extra) == (
        "ValidationError",
        400,
        f"User bob does not have a service specific credential with id {janes}",
    )
    nobodys = "ACCA" + "Z" * 17
    assert error_of(call, UserName="bob", ServiceSpecificCredentialId=nobodys, **extra) == (
        "NoSuchEntity",
        404,
        f"No such credential {nobodys} exists",
    )
    assert [c.status for c in stub.credentials] == ["Active"]  # refused calls changed nothing


def test_status_expired_is_not_an_update(stub: sscstub.SSCStub, iam: Any) -> None:
    cid = create(iam)["ServiceSpecificCredentialId"]
    with pytest.raises(iam.exceptions.InvalidInputException) as caught:
        iam.update_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=cid, Status="Expired"
        )
    assert caught.value.response["Error"]["Message"] == "Operation does not support status Expired"


@pytest.mark.parametrize("service", [CC, BEDROCK])
def test_reset_keeps_status_and_dates_and_changes_the_secret(
    stub: sscstub.SSCStub, iam: Any, service: str
) -> None:
    made = create(iam, service, CredentialAgeDays=30)
    cid = made["ServiceSpecificCredentialId"]
    iam.update_service_specific_credential(
        UserName="jane", ServiceSpecificCredentialId=cid, Status="Inactive"
    )
    reset = iam.reset_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=cid)
    new = reset["ServiceSpecificCredential"]
    assert new["Status"] == "Inactive"
    assert (new["CreateDate"], new["ExpirationDate"]) == (
        made["CreateDate"],
        made["ExpirationDate"],
    )
    secret = "ServicePassword" if service == CC else "ServiceCredentialSecret"
    name = "ServiceUserName" if service == CC else "ServiceCredentialAlias"
    assert new[secret] != made[secret] and new[name] == made[name] == f"jane-at-{ACCOUNT}"


@pytest.mark.parametrize("service", [CC, KEYSPACES])
def test_credential_age_days_is_honoured_for_password_services(
    stub: sscstub.SSCStub, iam: Any, service: str
) -> None:
    made = create(iam, service, CredentialAgeDays=1)
    assert made["ExpirationDate"] - made["CreateDate"] == dt.timedelta(seconds=86_400)
    assert stub.authenticate(made["ServiceUserName"], made["ServicePassword"])
    listed = iam.list_service_specific_credentials(UserName="jane")["ServiceSpecificCredentials"]
    assert listed[0]["ExpirationDate"] == made["ExpirationDate"]


def test_service_names_are_not_distinguished_by_case(stub: sscstub.SSCStub, iam: Any) -> None:
    made = create(iam, "CODECOMMIT.AMAZONAWS.COM")
    assert made["ServiceName"] == CC
    create(iam, "CodeCommit.AmazonAWS.com")
    assert (
        error_of(
            iam.create_service_specific_credential,
            UserName="jane",
            ServiceName="codecommit.AMAZONAWS.com",
        )[0]
        == "LimitExceeded"
    )  # one service, whatever the case
    listed = iam.list_service_specific_credentials(
        UserName="jane", ServiceName="CODECOMMIT.amazonaws.com"
    )
    assert [m["ServiceName"] for m in listed["ServiceSpecificCredentials"]] == [CC, CC]
    assert [c.service_name for c in stub.credentials] == [CC, CC]


@pytest.mark.parametrize(
    "name", ["code_commit.amazonaws.com", "codecommit.amazonaws.com/", "a b", "é"]
)
@pytest.mark.parametrize("operation", ["create", "list"])
def test_characters_outside_the_service_name_pattern(
    stub: sscstub.SSCStub, iam: Any, name: str, operation: str
) -> None:
    if operation == "create":
        got = error_of(iam.create_service_specific_credential, UserName="jane", ServiceName=name)
    else:
        got = error_of(iam.list_service_specific_credentials, UserName="jane", ServiceName=name)
    assert got == ("ValidationError", 400, "ServiceName must match [a-zA-Z0-9.-]*")


@pytest.mark.parametrize(
    "name", ["nonexistentservice.amazonaws.com", "codecommit.amazonaws.com.cn"]
)
def test_unknown_and_china_partition_names(stub: sscstub.SSCStub, iam: Any, name: str) -> None:
    message = f"No such service {name} is supported for Service Specific Credentials"
    expected = ("NoSuchEntity", 404, message)
    assert (
        error_of(iam.create_service_specific_credential, UserName="jane", ServiceName=name)
        == expected
    )
    assert (
        error_of(iam.list_service_specific_credentials, UserName="jane", ServiceName=name)
        == expected
    )


@pytest.mark.parametrize("service", [CC, *PREFIXES])
def test_the_second_credential_is_named_plus_one(
    stub: sscstub.SSCStub, iam: Any, service: str
) -> None:
    name = "ServiceUserName" if service == CC else "ServiceCredentialAlias"
    assert create(iam, service)[name] == f"jane-at-{ACCOUNT}"
    assert create(iam, service)[name] == f"jane+1-at-{ACCOUNT}"


@pytest.mark.parametrize("service", list(PREFIXES))
def test_api_keys_differ_by_service(stub: sscstub.SSCStub, iam: Any, service: str) -> None:
    prefix = PREFIXES[service]
    first, second = create(iam, service), create(iam, service)
    for made in (first, second):
        key = made["ServiceCredentialSecret"]
        assert key.startswith(prefix)
        alias, colon, secret = base64.b64decode(key[len(prefix) :]).decode().partition(":")
        assert (alias, colon, len(secret)) == (made["ServiceCredentialAlias"], ":", 60)
        assert stub.authenticate_api_key(key)
        assert stub.authenticate_api_key(key, service_name=service.upper())
        assert not stub.authenticate_api_key(key, service_name=CC)
        for other in set(PREFIXES.values()) - {prefix}:  # another service's format: refused
            assert not stub.authenticate_api_key(other + key[len(prefix) :])
    # "jane+1-at-..." is two characters longer: here, four more in the key
    assert len(second["ServiceCredentialSecret"]) == len(first["ServiceCredentialSecret"]) + 4
    whole = base64.b64decode(first["ServiceCredentialSecret"])  # a key is base64 as a whole
    if prefix == "AEAA":
        assert whole.startswith(b"\x00@\x00" + f"jane-at-{ACCOUNT}:".encode())


def test_list_rules(stub: sscstub.SSCStub, iam: Any) -> None:
    janes = [
        create(iam, service)["ServiceSpecificCredentialId"] for service in (CC, BEDROCK, KEYSPACES)
    ]
    bobs = create(iam, "logs.amazonaws.com", "bob")["ServiceSpecificCredentialId"]
    assert error_of(iam.list_service_specific_credentials, AllUsers=True, UserName="jane") == (
        "InvalidInput",
        400,
        "Cannot list credentials for all users if a username is given",
    )
    mine = iam.list_service_specific_credentials(AllUsers=False, UserName="jane")
    assert [m["ServiceSpecificCredentialId"] for m in mine["ServiceSpecificCredentials"]] == janes
    everyone = iam.list_service_specific_credentials(AllUsers=True)  # every service too
    assert [m["ServiceSpecificCredentialId"] for m in everyone["ServiceSpecificCredentials"]] == [
        *janes,
        bobs,
    ]
    page = iam.list_service_specific_credentials(UserName="jane", MaxItems=2)
    assert page["IsTruncated"] is True and page["Marker"]
    rest = iam.list_service_specific_credentials(UserName="jane", MaxItems=2, Marker=page["Marker"])
    assert rest["IsTruncated"] is False and "Marker" not in rest
    assert [m["ServiceSpecificCredentialId"] for m in page["ServiceSpecificCredentials"]] == janes[
        :2
    ]
    assert [m["ServiceSpecificCredentialId"] for m in rest["ServiceSpecificCredentials"]] == janes[
        2:
    ]


def test_x_ray_takes_api_keys(stub: sscstub.SSCStub, iam: Any) -> None:
    key = create(iam, "xray.amazonaws.com", CredentialAgeDays=7)
    assert key["ServiceName"] == "xray.amazonaws.com"
    assert key["ServiceCredentialSecret"].startswith("AXRY")
    assert "ServicePassword" not in key and key["ServiceCredentialAlias"] == f"jane-at-{ACCOUNT}"
