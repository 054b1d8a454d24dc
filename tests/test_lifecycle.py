"""The credential lifecycle through real boto3 clients: what rotation code relies on."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import time_machine
from freezegun import freeze_time

import sscstub
from sscstub._secrets import account_of

BEDROCK = "bedrock.amazonaws.com"
CODECOMMIT = "codecommit.amazonaws.com"
KEYSPACES = "cassandra.amazonaws.com"
# Each service's key prefix: observed on real IAM (2026-09-11); X-Ray's is sscstub's choice.
API_KEY_PREFIXES = {
    "bedrock.amazonaws.com": "ABSK",
    "logs.amazonaws.com": "ACWL",
    "cloudwatch.amazonaws.com": "APIAACWM",
    "aws-external-anthropic.amazonaws.com": "AEAA",
    "xray.amazonaws.com": "AXRY",
}
API_KEY_SERVICES = list(API_KEY_PREFIXES)


def _create(iam: Any, service: str, user: str = "jane", **extra: Any) -> dict[str, Any]:
    return iam.create_service_specific_credential(UserName=user, ServiceName=service, **extra)[  # type: ignore[no-any-return]
        "ServiceSpecificCredential"
    ]


@pytest.mark.parametrize("service", [CODECOMMIT, KEYSPACES])
def test_password_services_get_a_user_name_and_password(
    iam: Any, stub: sscstub.SSCStub, service: str
) -> None:
    first = _create(iam, service)
    second = _create(iam, service)
    assert first["ServiceUserName"] == "jane-at-123456789012"
    assert second["ServiceUserName"] == "jane+1-at-123456789012"
    assert len(first["ServicePassword"]) == 60 and first["ServicePassword"].endswith("=")
    assert (
        base64.b64decode(first["ServicePassword"])
        and first["ServicePassword"] != second["ServicePassword"]
    )
    assert "ServiceCredentialAlias" not in first and "ServiceCredentialSecret" not in first
    assert "ExpirationDate" not in first
    assert stub.authenticate("jane-at-123456789012", first["ServicePassword"])
    assert stub.authenticate("jane+1-at-123456789012", second["ServicePassword"])
    assert not stub.authenticate("jane-at-123456789012", second["ServicePassword"])


@pytest.mark.parametrize("service", API_KEY_SERVICES)
def test_api_key_services_get_an_alias_and_secret(
    iam: Any, stub: sscstub.SSCStub, service: str
) -> None:
    key = _create(iam, service)
    assert key["ServiceCredentialAlias"] == "jane-at-123456789012"
    secret = key["ServiceCredentialSecret"]
    prefix = API_KEY_PREFIXES[service]
    assert secret.startswith(prefix)
    alias, _, inner = base64.b64decode(secret[len(prefix) :]).decode().partition(":")
    assert alias == "jane-at-123456789012" and len(inner) == 60
    assert len(secret) == len(prefix) + 4 * -(-(len(alias) + 61) // 3)
    assert "ServiceUserName" not in key and "ServicePassword" not in key
    assert stub.authenticate_api_key(secret)
    assert _create(iam, service)["ServiceCredentialAlias"] == "jane+1-at-123456789012"


def test_ids_are_iam_shaped_and_encode_the_account(iam: Any) -> None:
    with sscstub.mock_ssc(users=["jane"], account_id="637423213562"):
        ids = {
            _create(iam, s)["ServiceSpecificCredentialId"] for s in [CODECOMMIT, KEYSPACES, BEDROCK]
        }
    assert len(ids) == 3
    for credential_id in ids:
        assert len(credential_id) == 21 and credential_id.startswith("ACCAZI2LCLP5")
        assert account_of(credential_id) == "637423213562"


def test_create_date_is_whole_seconds_of_the_wall_clock(iam: Any, stub: sscstub.SSCStub) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    created = _create(iam, CODECOMMIT)["CreateDate"]
    assert before <= created <= datetime.now(timezone.utc) and created.microsecond == 0


def test_reset_keeps_identity_and_invalidates_the_old_password(
    iam: Any, stub: sscstub.SSCStub
) -> None:
    old = _create(iam, CODECOMMIT)
    iam.update_service_specific_credential(
        UserName="jane",
        ServiceSpecificCredentialId=old["ServiceSpecificCredentialId"],
        Status="Inactive",
    )
    new = iam.reset_service_specific_credential(
        UserName="jane", ServiceSpecificCredentialId=old["ServiceSpecificCredentialId"]
    )["ServiceSpecificCredential"]
    for field in (
        "ServiceSpecificCredentialId",
        "ServiceUserName",
        "CreateDate",
        "ServiceName",
        "UserName",
    ):
        assert new[field] == old[field]
    assert new["Status"] == "Inactive"  # reset does not reactivate
    assert new["ServicePassword"] != old["ServicePassword"]
    assert not stub.authenticate(old["ServiceUserName"], new["ServicePassword"])  # inactive
    iam.update_service_specific_credential(
        UserName="jane",
        ServiceSpecificCredentialId=old["ServiceSpecificCredentialId"],
        Status="Active",
    )
    assert stub.authenticate(old["ServiceUserName"], new["ServicePassword"])
    assert not stub.authenticate(old["ServiceUserName"], old["ServicePassword"])


def test_reset_of_an_api_key_returns_a_new_secret(iam: Any, stub: sscstub.SSCStub) -> None:
    old = _create(iam, BEDROCK, CredentialAgeDays=5)
    new = iam.reset_service_specific_credential(
        ServiceSpecificCredentialId=old["ServiceSpecificCredentialId"], UserName="jane"
    )["ServiceSpecificCredential"]
    assert new["ExpirationDate"] == old["ExpirationDate"]
    assert new["ServiceCredentialAlias"] == old["ServiceCredentialAlias"]
    assert stub.authenticate_api_key(new["ServiceCredentialSecret"])
    assert not stub.authenticate_api_key(old["ServiceCredentialSecret"])


def test_update_returns_only_response_metadata(iam: Any, stub: sscstub.SSCStub) -> None:
    cred = _create(iam, CODECOMMIT)
    result = iam.update_service_specific_credential(
        UserName="jane",
        ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"],
        Status="Inactive",
    )
    assert list(result) == ["ResponseMetadata"]
    assert stub.credentials[0].status == "Inactive"


def test_delete_frees_the_slot_and_its_name(iam: Any, stub: sscstub.SSCStub) -> None:
    first, second = _create(iam, CODECOMMIT), _create(iam, CODECOMMIT)
    assert (
        iam.delete_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=first["ServiceSpecificCredentialId"]
        )["ResponseMetadata"]["HTTPStatusCode"]
        == 200
    )
    again = _create(iam, CODECOMMIT)
    assert again["ServiceUserName"] == "jane-at-123456789012"  # lowest free name is reused
    assert {c.service_user_name for c in stub.credentials} == {
        again["ServiceUserName"],
        second["ServiceUserName"],
    }
    assert not stub.authenticate(first["ServiceUserName"], first["ServicePassword"])


def test_the_limit_is_two_per_user_per_service(iam: Any, stub: sscstub.SSCStub) -> None:
    for service in (CODECOMMIT, KEYSPACES, BEDROCK):
        _create(iam, service), _create(iam, service)
    inactive = stub.credentials[0].service_specific_credential_id
    iam.update_service_specific_credential(
        UserName="jane", ServiceSpecificCredentialId=inactive, Status="Inactive"
    )
    with pytest.raises(iam.exceptions.LimitExceededException):
        _create(iam, CODECOMMIT)  # inactive credentials still count
    _create(iam, CODECOMMIT, user="bob")  # per user
    assert len(stub.credentials) == 7


@pytest.mark.parametrize("clock", ["freezegun", "time-machine"])
def test_api_keys_expire_with_the_clock(iam: Any, stub: sscstub.SSCStub, clock: str) -> None:
    start = datetime(2026, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    travel = freeze_time(start) if clock == "freezegun" else time_machine.travel(start, tick=False)
    with travel as traveller:
        key = _create(iam, BEDROCK, CredentialAgeDays=1)
        assert key["CreateDate"] == start and key["ExpirationDate"] == start + timedelta(days=1)
        forever = _create(iam, BEDROCK)
        assert "ExpirationDate" not in forever
        assert stub.authenticate_api_key(key["ServiceCredentialSecret"])
        traveller.move_to(start + timedelta(days=2))
        listed = iam.list_service_specific_credentials(UserName="jane")[
            "ServiceSpecificCredentials"
        ]
        assert [c["Status"] for c in listed] == ["Expired", "Active"]
        assert stub.credentials[0].status == "Expired"
        assert not stub.authenticate_api_key(key["ServiceCredentialSecret"])
        assert stub.authenticate_api_key(forever["ServiceCredentialSecret"])
        with pytest.raises(iam.exceptions.InvalidInputException):
            iam.reset_service_specific_credential(
                UserName="jane", ServiceSpecificCredentialId=key["ServiceSpecificCredentialId"]
            )
        # an expired key still counts toward the limit until it is deleted
        with pytest.raises(iam.exceptions.LimitExceededException):
            _create(iam, BEDROCK)
        iam.delete_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=key["ServiceSpecificCredentialId"]
        )
        _create(iam, BEDROCK, CredentialAgeDays=36600)


def test_expiry_is_exact_to_the_second(iam: Any, stub: sscstub.SSCStub) -> None:
    with freeze_time("2026-01-01 00:00:00") as frozen:
        key = _create(iam, BEDROCK, CredentialAgeDays=1)
        frozen.tick(timedelta(days=1) - timedelta(seconds=1))
        assert stub.authenticate_api_key(key["ServiceCredentialSecret"])
        frozen.tick(timedelta(seconds=1))
        assert not stub.authenticate_api_key(key["ServiceCredentialSecret"])


def test_list_filters_by_user_and_service_and_never_returns_secrets(
    iam: Any, stub: sscstub.SSCStub
) -> None:
    _create(iam, CODECOMMIT), _create(iam, BEDROCK), _create(iam, CODECOMMIT, user="bob")
    mine = iam.list_service_specific_credentials(UserName="jane")
    assert [c["ServiceName"] for c in mine["ServiceSpecificCredentials"]] == [CODECOMMIT, BEDROCK]
    assert mine["IsTruncated"] is False and "Marker" not in mine
    git = iam.list_service_specific_credentials(UserName="jane", ServiceName=CODECOMMIT)
    assert len(git["ServiceSpecificCredentials"]) == 1
    assert (
        iam.list_service_specific_credentials(UserName="jane", ServiceName=KEYSPACES)[
            "ServiceSpecificCredentials"
        ]
        == []
    )
    everyone = iam.list_service_specific_credentials(AllUsers=True)["ServiceSpecificCredentials"]
    assert [c["UserName"] for c in everyone] == ["jane", "jane", "bob"]
    every_git = iam.list_service_specific_credentials(AllUsers=True, ServiceName=CODECOMMIT)
    assert [c["UserName"] for c in every_git["ServiceSpecificCredentials"]] == ["jane", "bob"]
    for listing in (mine, everyone):
        text = repr(listing)
        assert "Password" not in text and "Secret" not in text


@pytest.mark.parametrize("all_users", [False, True])
def test_list_pages_with_marker_and_max_items(iam: Any, all_users: bool) -> None:
    users = [f"user{i}" for i in range(4)]
    with sscstub.mock_ssc(users=users, caller="user0"):
        created = []
        for user in users if all_users else ["user0"]:
            for service in (CODECOMMIT, KEYSPACES, BEDROCK):
                created.append(_create(iam, service, user=user)["ServiceSpecificCredentialId"])
        iam.delete_service_specific_credential(
            UserName="user0", ServiceSpecificCredentialId=created.pop(1)
        )
        kwargs: dict[str, Any] = {"AllUsers": True} if all_users else {}  # no UserName: the caller
        seen, marker, pages = [], None, 0
        while True:
            page = iam.list_service_specific_credentials(
                MaxItems=2, **kwargs, **({"Marker": marker} if marker else {})
            )
            pages += 1
            seen += [c["ServiceSpecificCredentialId"] for c in page["ServiceSpecificCredentials"]]
            if not page["IsTruncated"]:
                assert "Marker" not in page
                break
            marker = page["Marker"]
        assert seen == created
        assert pages == -(-len(created) // 2)


def test_caller_is_the_default_user(iam: Any) -> None:
    with sscstub.mock_ssc(caller="ci-bot") as stub:
        cred = _create(iam, CODECOMMIT, user="ci-bot")
        iam.update_service_specific_credential(
            ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"], Status="Inactive"
        )
        listed = iam.list_service_specific_credentials()["ServiceSpecificCredentials"]
        assert listed[0]["Status"] == "Inactive"
        iam.reset_service_specific_credential(
            ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"]
        )
        iam.delete_service_specific_credential(
            ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"]
        )
        assert stub.credentials == () and stub.users == {"ci-bot"}


def test_configurable_services(iam: Any) -> None:
    with sscstub.mock_ssc(users=["jane"], services={"newsvc.amazonaws.com": "api-key"}):
        assert "ServiceCredentialSecret" in _create(iam, "newsvc.amazonaws.com")
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            _create(iam, CODECOMMIT)


def test_seed_makes_ids_and_secrets_reproducible(iam: Any) -> None:
    def run(seed: object) -> list[Any]:
        with sscstub.mock_ssc(users=["jane"], seed=seed) as stub:  # type: ignore[arg-type]
            out = [_create(iam, CODECOMMIT), _create(iam, BEDROCK)]
            return [
                (
                    c["ServiceSpecificCredentialId"],
                    c.get("ServicePassword"),
                    c.get("ServiceCredentialSecret"),
                )
                for c in out
            ] + [call.request_id for call in stub.calls]

    assert run(7) == run(7)
    assert run(7) != run(8) and run("7") != run(7)
    assert run(None) != run(None)
