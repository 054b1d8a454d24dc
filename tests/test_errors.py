"""The error matrix: every rejection IAM gives, with its code, HTTP status, type and message,
reaching the caller as the client's modeled exception, and changing nothing."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError, ParamValidationError
from conftest import make_client

import sscstub

ID = "ACCAEXAMPLE000000000"  # well-formed, never issued
CC, BEDROCK = "codecommit.amazonaws.com", "bedrock.amazonaws.com"
ID_PATTERN = (
    "1 validation error detected: Value at 'serviceSpecificCredentialId' failed to satisfy constraint:"
    " Member must satisfy regular expression pattern: [\\w]+"
)
BAD_USER_NAME = (
    "The specified value for userName is invalid. It must contain only alphanumeric characters"
    " and/or the following: +=,.@_-"
)

CASES = [
    # (method, params, code, status, message); "{jane}" is replaced with an existing credential id
    (
        "create_service_specific_credential",
        {"UserName": "ghost", "ServiceName": CC},
        "NoSuchEntity",
        404,
        "The user with name ghost cannot be found.",
    ),
    (
        "create_service_specific_credential",
        {"UserName": "ghost", "ServiceName": "lambda.amazonaws.com"},
        "NoSuchEntity",
        404,
        "The user with name ghost cannot be found.",
    ),  # the user is checked first
    (
        "create_service_specific_credential",
        {"UserName": "jane", "ServiceName": "lambda.amazonaws.com"},
        "NoSuchEntity",
        404,
        "No such service lambda.amazonaws.com is supported for Service Specific Credentials",
    ),
    (
        "create_service_specific_credential",
        {"UserName": "jane", "ServiceName": "o3on3n3onosneo"},
        "NoSuchEntity",
        404,
        "No such service o3on3n3onosneo is supported for Service Specific Credentials",
    ),
    (
        "create_service_specific_credential",
        {"UserName": "jane", "ServiceName": CC},
        "LimitExceeded",
        409,
        "Cannot exceed quota for ContextSpecificCredentialsPerUserPerContext: 2",
    ),
    (
        "create_service_specific_credential",
        {"UserName": "jane", "ServiceName": "code_commit.amazonaws.com"},
        "ValidationError",
        400,
        "ServiceName must match [a-zA-Z0-9.-]*",
    ),
    (
        "create_service_specific_credential",
        {"UserName": "ghost", "ServiceName": "codecommit amazonaws com"},
        "ValidationError",
        400,
        "ServiceName must match [a-zA-Z0-9.-]*",
    ),  # validation before the user lookup
    (
        "create_service_specific_credential",
        {"UserName": "jane", "ServiceName": "codecommit.amazonaws.com.cn"},
        "NoSuchEntity",
        404,
        "No such service codecommit.amazonaws.com.cn is supported for Service Specific Credentials",
    ),  # a China-partition name in the commercial partition
    (
        "create_service_specific_credential",
        {"UserName": "j" * 65, "ServiceName": CC},
        "ValidationError",
        400,
        "1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must have length"
        " less than or equal to 64",
    ),
    (
        "create_service_specific_credential",
        {"UserName": "a b", "ServiceName": CC},
        "ValidationError",
        400,
        BAD_USER_NAME,
    ),
    (
        "create_service_specific_credential",
        {"UserName": "jäne", "ServiceName": CC},
        "ValidationError",
        400,
        BAD_USER_NAME,
    ),
    (
        "create_service_specific_credential",
        {"UserName": "jane", "ServiceName": BEDROCK, "CredentialAgeDays": 36601},
        "ValidationError",
        400,
        "1 validation error detected: Value at 'credentialAgeDays' failed to satisfy"
        " constraint: Member must have value less than or equal to 36600",
    ),
    (
        "reset_service_specific_credential",
        {"UserName": "jane", "ServiceSpecificCredentialId": ID},
        "NoSuchEntity",
        404,
        f"No such credential {ID} exists",
    ),
    (
        "reset_service_specific_credential",
        {"UserName": "bob", "ServiceSpecificCredentialId": "{jane}"},
        "ValidationError",
        400,
        "User bob does not have a service specific credential with id {jane}",
    ),  # another user's credential
    (
        "reset_service_specific_credential",
        {"UserName": "ghost", "ServiceSpecificCredentialId": "{jane}"},
        "NoSuchEntity",
        404,
        "The user with name ghost cannot be found.",
    ),
    (
        "reset_service_specific_credential",
        {"ServiceSpecificCredentialId": "{jane}"},
        "ValidationError",
        400,
        "Must specify userName when calling with non-User credentials",
    ),
    (
        "reset_service_specific_credential",
        {
            "UserName": "jane",
            "ServiceSpecificCredentialId": "totally-wrong-credential-id-with-hyphens",
        },
        "ValidationError",
        400,
        ID_PATTERN,
    ),
    (
        "update_service_specific_credential",
        {"UserName": "jane", "ServiceSpecificCredentialId": "{jane}", "Status": "Invalid"},
        "ValidationError",
        400,
        "1 validation error detected: Value at 'status' failed to satisfy constraint: Member must satisfy enum"
        " value set",
    ),
    (
        "update_service_specific_credential",
        {
            "UserName": "jane",
            "ServiceSpecificCredentialId": "totally-wrong-credential-id-with-hyphens",
            "Status": "Bogus",
        },
        "ValidationError",
        400,
        "2 validation errors detected: Value at"
        " 'serviceSpecificCredentialId' failed to satisfy constraint: Member must satisfy regular expression"
        " pattern: [\\w]+; Value at 'status' failed to satisfy constraint: Member must satisfy enum value set",
    ),
    (
        "update_service_specific_credential",
        {"UserName": "jane", "ServiceSpecificCredentialId": "{jane}", "Status": "Expired"},
        "InvalidInput",
        400,
        "Operation does not support status Expired",
    ),
    (
        "update_service_specific_credential",
        {"UserName": "jane", "ServiceSpecificCredentialId": ID, "Status": "Inactive"},
        "NoSuchEntity",
        404,
        f"No such credential {ID} exists",
    ),
    (
        "update_service_specific_credential",
        {"UserName": "ghost", "ServiceSpecificCredentialId": "{jane}", "Status": "Inactive"},
        "NoSuchEntity",
        404,
        "The user with name ghost cannot be found.",
    ),
    (
        "delete_service_specific_credential",
        {"UserName": "jane", "ServiceSpecificCredentialId": ID},
        "NoSuchEntity",
        404,
        f"No such credential {ID} exists",
    ),
    (
        "delete_service_specific_credential",
        {"UserName": "bob", "ServiceSpecificCredentialId": "{jane}"},
        "ValidationError",
        400,
        "User bob does not have a service specific credential with id {jane}",
    ),
    (
        "update_service_specific_credential",
        {"UserName": "bob", "ServiceSpecificCredentialId": "{jane}", "Status": "Inactive"},
        "ValidationError",
        400,
        "User bob does not have a service specific credential with id {jane}",
    ),
    (
        "delete_service_specific_credential",
        {"UserName": "jane", "ServiceSpecificCredentialId": "a" * 129},
        "ValidationError",
        400,
        "1 validation error detected: Value at 'serviceSpecificCredentialId' failed to"
        " satisfy constraint: Member must have length less than or equal to 128",
    ),
    (
        "list_service_specific_credentials",
        {"UserName": "ghost"},
        "NoSuchEntity",
        404,
        "The user with name ghost cannot be found.",
    ),
    (
        "list_service_specific_credentials",
        {"UserName": "jane", "ServiceName": "lambda.amazonaws.com"},
        "NoSuchEntity",
        404,
        "No such service lambda.amazonaws.com is supported for Service Specific Credentials",
    ),
    (
        "list_service_specific_credentials",
        {"AllUsers": True, "ServiceName": "nope"},
        "NoSuchEntity",
        404,
        "No such service nope is supported for Service Specific Credentials",
    ),
    (
        "list_service_specific_credentials",
        {},
        "ValidationError",
        400,
        "Must specify userName when calling with non-User credentials",
    ),
    (
        "list_service_specific_credentials",
        {"AllUsers": True, "UserName": "jane"},
        "InvalidInput",
        400,
        "Cannot list credentials for all users if a username is given",
    ),
    (
        "list_service_specific_credentials",
        {"UserName": "jane", "MaxItems": 1001},
        "ValidationError",
        400,
        "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member must have value"
        " less than or equal to 1000",
    ),
    (
        "list_service_specific_credentials",
        {"UserName": "jane", "Marker": "garbage"},
        "InvalidInput",
        400,
        "Invalid value for Marker: pass the Marker a previous response returned.",
    ),
    (
        "list_service_specific_credentials",
        {"UserName": "jane", "Marker": "\u0100"},
        "ValidationError",
        400,
        "1 validation error detected: Value at 'marker' failed to satisfy constraint: Member must satisfy regular"
        " expression pattern: [\\u0020-\\u00FF]+",
    ),
]


def _state(stub: sscstub.SSCStub, secret: str) -> tuple[object, ...]:
    return stub.credentials, stub.users, stub.authenticate("jane-at-123456789012", secret)


@pytest.mark.parametrize("client", ["iam", "raw_iam"])
@pytest.mark.parametrize(("method", "params", "code", "status", "message"), CASES)
def test_error_matrix(
    request: pytest.FixtureRequest,
    client: str,
    method: str,
    params: dict[str, Any],
    code: str,
    status: int,
    message: str,
) -> None:
    iam = request.getfixturevalue(client)
    with sscstub.mock_ssc(users=["jane", "bob"]) as stub:
        first = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)[
            "ServiceSpecificCredential"
        ]
        iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        existing = first["ServiceSpecificCredentialId"]
        params = {
            k: v.replace("{jane}", existing) if isinstance(v, str) else v for k, v in params.items()
        }
        before = _state(stub, first["ServicePassword"])
        with pytest.raises(ClientError) as caught:
            getattr(iam, method)(**params)
        assert _state(stub, first["ServicePassword"]) == before, "a rejected call changed the store"
        assert stub.calls[-1].error_code == code
    error = caught.value
    assert error.response["Error"] == {
        "Type": "Sender",
        "Code": code,
        "Message": message.replace("{jane}", existing),
    }
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    modeled = {
        "NoSuchEntity": "NoSuchEntityException",
        "LimitExceeded": "LimitExceededException",
        "InvalidInput": "InvalidInputException",
    }
    if code in modeled:
        assert type(error) is getattr(iam.exceptions, modeled[code])
    else:
        assert type(error) is ClientError


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        (
            "create_service_specific_credential",
            {"UserName": "jane", "ServiceName": CC, "CredentialAgeDays": 0},
            "Value at 'credentialAgeDays' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ),
        (
            "create_service_specific_credential",
            {"UserName": "", "ServiceName": CC},
            "Value at 'userName' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ),
        (
            "create_service_specific_credential",
            {"UserName": "jane"},
            "Value null at 'serviceName' failed to satisfy constraint: Member must not be null",
        ),
        (
            "create_service_specific_credential",
            {"UserName": "jane", "ServiceName": BEDROCK, "CredentialAgeDays": "x"},
            "Value at 'credentialAgeDays' failed to satisfy constraint: Member must be a number",
        ),
        (
            "reset_service_specific_credential",
            {"UserName": "jane", "ServiceSpecificCredentialId": "ACCA"},
            "Value at 'serviceSpecificCredentialId' failed to satisfy constraint: Member must have length greater"
            " than or equal to 20",
        ),
        (
            "update_service_specific_credential",
            {"UserName": "jane", "ServiceSpecificCredentialId": ID},
            "Value null at 'status' failed to satisfy constraint: Member must not be null",
        ),
        (
            "list_service_specific_credentials",
            {"UserName": "jane", "MaxItems": 0},
            "Value at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ),
    ],
)
def test_what_botocore_checks_client_side_iam_checks_again(
    iam: Any, raw_iam: Any, method: str, params: dict[str, Any], message: str
) -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        with pytest.raises(ParamValidationError):
            getattr(iam, method)(**params)
        assert stub.calls == ()  # never left the client
        with pytest.raises(ClientError) as caught:
            getattr(raw_iam, method)(**params)
        assert stub.credentials == ()
    assert caught.value.response["Error"]["Message"] == f"1 validation error detected: {message}"


def test_string_typed_numbers_on_the_wire_are_read_as_iam_reads_them(raw_iam: Any) -> None:
    with sscstub.mock_ssc(users=["jane"]):
        key = raw_iam.create_service_specific_credential(
            UserName="jane", ServiceName=BEDROCK, CredentialAgeDays="2"
        )
        assert key["ServiceSpecificCredential"]["ExpirationDate"] - key[
            "ServiceSpecificCredential"
        ]["CreateDate"] == __import__("datetime").timedelta(days=2)
        assert (
            raw_iam.list_service_specific_credentials(UserName="jane", MaxItems="1")["IsTruncated"]
            is False
        )


@pytest.mark.parametrize("odd", [["jane"], {"a": 1}, 12, 1.5, True], ids=repr)
@pytest.mark.parametrize(
    ("method", "member"),
    [
        ("create_service_specific_credential", "ServiceName"),
        ("reset_service_specific_credential", "ServiceSpecificCredentialId"),
        ("update_service_specific_credential", "Status"),
        ("delete_service_specific_credential", "UserName"),
        ("list_service_specific_credentials", "Marker"),
        ("list_service_specific_credentials", "MaxItems"),
        ("list_service_specific_credentials", "AllUsers"),
    ],
)
def test_values_of_any_type_on_the_wire_end_in_an_aws_error(
    raw_iam: Any, stub: sscstub.SSCStub, method: str, member: str, odd: object
) -> None:
    """A client without parameter validation can send anything; IAM reads its text form."""
    params: dict[str, Any] = {"UserName": "jane"}
    if method == "create_service_specific_credential":
        params["ServiceName"] = "codecommit.amazonaws.com"
    elif method != "list_service_specific_credentials":
        params["ServiceSpecificCredentialId"] = "ACCA" + "A" * 17
    if method == "update_service_specific_credential":
        params["Status"] = "Active"
    params[member] = odd
    before = stub.credentials
    try:
        getattr(raw_iam, method)(**params)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in {"ValidationError", "NoSuchEntity", "InvalidInput"}
    assert stub.credentials == before


@pytest.mark.parametrize(
    "marker", ["sscstub:²", "sscstub:١", "sscstub:", "x", "sscstub:" + "9" * 30]
)
def test_every_malformed_marker_gets_iams_error_and_is_logged(marker: str) -> None:
    encoded = base64.b64encode(marker.encode()).decode()
    with sscstub.mock_ssc(users=["jane"]) as stub:
        iam = make_client()
        with pytest.raises(iam.exceptions.InvalidInputException):
            iam.list_service_specific_credentials(UserName="jane", Marker=encoded)
        assert [c.error_code for c in stub.calls] == ["InvalidInput"]


def test_an_expiry_past_year_9999_is_refused_and_listing_keeps_working() -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub, time_machine.travel("9990-01-01", tick=False):
        iam = make_client()
        with pytest.raises(iam.exceptions.InvalidInputException, match="9999-12-31"):
            iam.create_service_specific_credential(
                UserName="jane", ServiceName=BEDROCK, CredentialAgeDays=36600
            )
        iam.create_service_specific_credential(
            UserName="jane", ServiceName=BEDROCK, CredentialAgeDays=3000
        )
        assert (
            len(
                iam.list_service_specific_credentials(UserName="jane")["ServiceSpecificCredentials"]
            )
            == 1
        )
        assert stub.credentials[0].expiration_date is not None
