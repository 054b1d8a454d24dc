"""Every parsed response and error equals, key for key and type for type, what botocore's own
path yields from the IAM XML for it: the central fidelity promise."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time
from iamxml import assert_same, oracle_call, render

import sscstub

BEDROCK = "bedrock.amazonaws.com"
CODECOMMIT = "codecommit.amazonaws.com"


def every_operation(iam: Any) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """Run every operation, success and failure; return (operation, method, kwargs, result)."""
    seen: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []

    def call(operation: str, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            result = getattr(iam, method)(**kwargs)
        except ClientError as error:
            result = error.response
        seen.append((operation, method, kwargs, result))
        return result  # type: ignore[no-any-return]

    key = call(
        "CreateServiceSpecificCredential",
        "create_service_specific_credential",
        UserName="jane",
        ServiceName=BEDROCK,
        CredentialAgeDays=30,
    )
    git = call(
        "CreateServiceSpecificCredential",
        "create_service_specific_credential",
        UserName="jane",
        ServiceName=CODECOMMIT,
    )
    key_id = key["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    git_id = git["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    call(
        "ResetServiceSpecificCredential",
        "reset_service_specific_credential",
        UserName="jane",
        ServiceSpecificCredentialId=git_id,
    )
    call(
        "ResetServiceSpecificCredential",
        "reset_service_specific_credential",
        UserName="jane",
        ServiceSpecificCredentialId=key_id,
    )
    call(
        "UpdateServiceSpecificCredential",
        "update_service_specific_credential",
        UserName="jane",
        ServiceSpecificCredentialId=git_id,
        Status="Inactive",
    )
    call("ListServiceSpecificCredentials", "list_service_specific_credentials", UserName="jane")
    call(
        "ListServiceSpecificCredentials",
        "list_service_specific_credentials",
        UserName="jane",
        MaxItems=1,
    )
    call(
        "ListServiceSpecificCredentials",
        "list_service_specific_credentials",
        AllUsers=True,
        ServiceName=BEDROCK,
    )
    call("ListServiceSpecificCredentials", "list_service_specific_credentials", UserName="bob")
    call(
        "DeleteServiceSpecificCredential",
        "delete_service_specific_credential",
        UserName="jane",
        ServiceSpecificCredentialId=git_id,
    )
    # errors: modeled (NoSuchEntity 404, LimitExceeded 409), unmodeled (ValidationError), 500
    call(
        "CreateServiceSpecificCredential",
        "create_service_specific_credential",
        UserName="nobody",
        ServiceName=CODECOMMIT,
    )
    call(
        "DeleteServiceSpecificCredential",
        "delete_service_specific_credential",
        UserName="jane",
        ServiceSpecificCredentialId=git_id,
    )
    call(
        "CreateServiceSpecificCredential",
        "create_service_specific_credential",
        UserName="bob",
        ServiceName=BEDROCK,
    )
    call(
        "CreateServiceSpecificCredential",
        "create_service_specific_credential",
        UserName="bob",
        ServiceName=BEDROCK,
    )
    call(
        "CreateServiceSpecificCredential",
        "create_service_specific_credential",
        UserName="bob",
        ServiceName=BEDROCK,
    )
    call(
        "UpdateServiceSpecificCredential",
        "update_service_specific_credential",
        UserName="jane",
        ServiceSpecificCredentialId="not-a-valid-id-at-all",
        Status="Active",
    )
    return seen


@pytest.fixture
def lifecycle(
    iam: Any, stub: sscstub.SSCStub
) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    stub.inject_error("ListServiceSpecificCredentials", "ServiceFailure")
    with pytest.raises(iam.exceptions.ServiceFailureException):
        iam.list_service_specific_credentials(UserName="jane")
    return every_operation(iam)


def _check_all(seen: list[tuple[str, str, dict[str, Any], dict[str, Any]]]) -> None:
    for operation, method, kwargs, ours in seen:
        real = oracle_call(method, kwargs, render(operation, ours))
        assert_same(ours, real, operation)


@pytest.mark.usefixtures("local_zone")
def test_every_operation_matches_botocores_parse_of_iam_xml(iam: Any) -> None:
    with sscstub.mock_ssc(users=["jane", "bob"]):
        seen = every_operation(iam)
    codes = {r.get("Error", {}).get("Code") for *_, r in seen}
    assert codes == {None, "NoSuchEntity", "LimitExceeded", "ValidationError"}
    assert len({op for op, *_ in seen}) == 5
    _check_all(seen)


def test_injected_5xx_error_matches_botocore(iam: Any) -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        stub.inject_error("list_service_specific_credentials", "ServiceFailure")
        with pytest.raises(iam.exceptions.ServiceFailureException) as caught:
            iam.list_service_specific_credentials(UserName="jane")
    ours = caught.value.response
    assert ours["Error"]["Type"] == "Receiver"
    assert ours["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert_same(
        ours,
        oracle_call(
            "list_service_specific_credentials",
            {"UserName": "jane"},
            render("ListServiceSpecificCredentials", ours),
        ),
    )


@pytest.mark.parametrize("when", ["2026-01-15 12:00:00", "2026-07-15 12:00:00"])
def test_zone_named_utc_with_summer_time_matches_botocore(iam: Any, when: str) -> None:
    """TZ whose standard name is UTC but summer name is not: dateutil's tzinfo choice depends on
    the instant, and sscstub follows it."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC0BST,M3.5.0/1,M10.5.0"
    time.tzset()
    try:
        with freeze_time(when):
            with sscstub.mock_ssc(users=["jane", "bob"]):
                seen = every_operation(iam)
            _check_all(seen)
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.mark.usefixtures("local_zone")
def test_parity_holds_under_freezegun(iam: Any) -> None:
    """Under freezegun botocore's parser yields FakeDatetime; so does sscstub."""
    with freeze_time("2026-03-01 08:30:00"):
        with sscstub.mock_ssc(users=["jane", "bob"]):
            seen = every_operation(iam)
        _check_all(seen)
