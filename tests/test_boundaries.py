"""Edges and formats a mutation run found untested: exact boundaries, the shapes of ids and
timestamps on the wire, what paging and list answers carry, and how seeds and names behave.
Each test goes through a real boto3 client (or the public API) and failed on the code it
guards before that code was right."""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError
from conftest import make_client

import sscstub

CC, BEDROCK = "codecommit.amazonaws.com", "bedrock.amazonaws.com"
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
MAX_TIMESTAMP = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)


def code(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return str(caught.value.response["Error"]["Code"])


@pytest.mark.parametrize("wire", [False, True], ids=["before-call", "wire"])
def test_list_all_users_false_lists_only_that_user(wire: bool) -> None:
    with sscstub.mock_ssc(users=["jane", "bob"], wire=wire):
        iam = make_client()
        iam.create_service_specific_credential(UserName="bob", ServiceName=CC)
        mine = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        listed = iam.list_service_specific_credentials(UserName="jane", AllUsers=False)
    ids = [m["ServiceSpecificCredentialId"] for m in listed["ServiceSpecificCredentials"]]
    assert ids == [mine["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]]


@pytest.mark.parametrize("wire", [False, True], ids=["before-call", "wire"])
def test_per_user_list_pages_through_every_credential_once(wire: bool) -> None:
    services = [CC, "cassandra.amazonaws.com", BEDROCK, "logs.amazonaws.com", "xray.amazonaws.com"]
    with sscstub.mock_ssc(users=["jane", "bob"], wire=wire):
        iam = make_client()
        made = []
        for service in services:
            made.append(
                iam.create_service_specific_credential(UserName="jane", ServiceName=service)
            )
            iam.create_service_specific_credential(UserName="bob", ServiceName=service)
        expected = [m["ServiceSpecificCredential"]["ServiceSpecificCredentialId"] for m in made]
        seen, pages, marker = [], [], None
        while True:
            extra = {"Marker": marker} if marker else {}
            page = iam.list_service_specific_credentials(UserName="jane", MaxItems=2, **extra)
            pages.append(
                (len(page["ServiceSpecificCredentials"]), page["IsTruncated"], "Marker" in page)
            )
            seen += [m["ServiceSpecificCredentialId"] for m in page["ServiceSpecificCredentials"]]
            if not page["IsTruncated"]:
                break
            marker = page["Marker"]
    assert seen == expected
    assert pages == [(2, True, True), (2, True, True), (1, False, False)]


def test_list_and_credentials_name_each_kind_by_its_own_member() -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        iam = make_client()
        iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        iam.create_service_specific_credential(UserName="jane", ServiceName=BEDROCK)
        password, key = iam.list_service_specific_credentials(UserName="jane")[
            "ServiceSpecificCredentials"
        ]
        assert (
            password["ServiceUserName"] == "jane-at-123456789012"
            and "ServiceCredentialAlias" not in password
        )
        assert (
            key["ServiceCredentialAlias"] == "jane-at-123456789012" and "ServiceUserName" not in key
        )
        first, second = stub.credentials
        assert (first.service_user_name, first.service_credential_alias) == (
            "jane-at-123456789012",
            None,
        )
        assert (second.service_user_name, second.service_credential_alias) == (
            None,
            "jane-at-123456789012",
        )


def test_a_user_named_like_anothers_second_credential_gets_a_name_of_its_own() -> None:
    with sscstub.mock_ssc(users=["jane", "jane+1"]) as stub:
        iam = make_client()
        names = [
            iam.create_service_specific_credential(UserName=user, ServiceName=CC)[
                "ServiceSpecificCredential"
            ]["ServiceUserName"]
            for user in ("jane", "jane", "jane+1")
        ]
        assert names == [
            "jane-at-123456789012",
            "jane+1-at-123456789012",
            "jane+1+1-at-123456789012",
        ]
        assert [c.user_name for c in stub.credentials] == ["jane", "jane", "jane+1"]


def test_names_taken_twice_over_go_on_to_the_next_free_one() -> None:
    """jane's second credential finds jane-at and jane+1-at (user jane+1's) both taken."""
    with sscstub.mock_ssc(users=["jane", "jane+1"]):
        iam = make_client()
        names = [
            iam.create_service_specific_credential(UserName=user, ServiceName=CC)[
                "ServiceSpecificCredential"
            ]["ServiceUserName"]
            for user in ("jane", "jane+1", "jane")
        ]
        assert names == [
            "jane-at-123456789012",
            "jane+1-at-123456789012",
            "jane+2-at-123456789012",
        ]


def test_user_names_of_64_characters_are_iams_limit() -> None:
    longest = "j" * 64
    with sscstub.mock_ssc(users=[longest]):
        iam = make_client(parameter_validation=False)
        made = iam.create_service_specific_credential(UserName=longest, ServiceName=CC)
        assert made["ServiceSpecificCredential"]["UserName"] == longest
        assert (
            code(iam.create_service_specific_credential, UserName=longest + "j", ServiceName=CC)
            == "ValidationError"
        )
    with pytest.raises(sscstub.SscStubError):
        sscstub.mock_ssc(users=[longest + "j"])


@pytest.mark.parametrize("bad", ["jäne", "ｊａｎｅ"])  # \w outside ASCII: IAM's patterns are Java's
def test_names_and_ids_are_checked_with_ascii_patterns(bad: str) -> None:
    with pytest.raises(sscstub.SscStubError):
        sscstub.mock_ssc(users=[bad])
    with sscstub.mock_ssc(users=["jane"]):
        raw = make_client(parameter_validation=False)
        assert (
            code(raw.create_service_specific_credential, UserName=bad, ServiceName=CC)
            == "ValidationError"
        )
        unicode_id = "ACCA" + "é" * 17
        for method in ("reset_service_specific_credential", "delete_service_specific_credential"):
            assert (
                code(getattr(raw, method), UserName="jane", ServiceSpecificCredentialId=unicode_id)
                == "ValidationError"
            )


def test_expiry_up_to_the_last_second_a_date_can_hold() -> None:
    days = 10
    start = MAX_TIMESTAMP - dt.timedelta(days=days)
    with sscstub.mock_ssc(users=["jane"]), time_machine.travel(start, tick=False):
        iam = make_client()
        made = iam.create_service_specific_credential(
            UserName="jane", ServiceName=BEDROCK, CredentialAgeDays=days
        )
        assert made["ServiceSpecificCredential"]["ExpirationDate"] == MAX_TIMESTAMP
    with (
        sscstub.mock_ssc(users=["jane"]),
        time_machine.travel(start + dt.timedelta(seconds=1), tick=False),
    ):
        iam = make_client()
        with pytest.raises(iam.exceptions.InvalidInputException) as caught:
            iam.create_service_specific_credential(
                UserName="jane", ServiceName=BEDROCK, CredentialAgeDays=days
            )
        assert caught.value.response["Error"]["Message"] == (
            f"CredentialAgeDays {days} puts the expiration date past 9999-12-31T23:59:59Z."
        )


def test_an_expired_credential_cannot_be_reset() -> None:
    start = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    with sscstub.mock_ssc(users=["jane"]), time_machine.travel(start, tick=False) as clock:
        iam = make_client()
        made = iam.create_service_specific_credential(
            UserName="jane", ServiceName=CC, CredentialAgeDays=1
        )
        cid = made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
        clock.shift(dt.timedelta(days=1))
        with pytest.raises(iam.exceptions.InvalidInputException) as caught:
            iam.reset_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=cid)
    assert caught.value.response["Error"]["Message"] == (
        f"The service-specific credential {cid} has expired and cannot be reset. Delete it and create a new one."
    )


@pytest.mark.parametrize(
    "tamper", [lambda m: m[:4] + "!" + m[4:], lambda m: " " + m, lambda m: m + " "]
)
def test_markers_are_strict_base64(tamper: Any) -> None:
    with sscstub.mock_ssc(users=["jane"]):
        iam = make_client()
        for _ in range(2):
            iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        marker = iam.list_service_specific_credentials(UserName="jane", MaxItems=1)["Marker"]
        base64.b64decode(tamper(marker))  # lenient base64 would take it
        assert (
            code(iam.list_service_specific_credentials, UserName="jane", Marker=tamper(marker))
            == "InvalidInput"
        )


@pytest.mark.parametrize("wire", [False, True], ids=["before-call", "wire"])
def test_request_ids_are_version_4_uuids(wire: bool) -> None:
    with sscstub.mock_ssc(users=["jane"], wire=wire) as stub:
        iam = make_client(retries={"total_max_attempts": 1})
        answers = [iam.list_service_specific_credentials(UserName="jane") for _ in range(70)]
        with pytest.raises(ClientError) as caught:
            iam.list_service_specific_credentials(UserName="ghost")
    ids = [a["ResponseMetadata"]["RequestId"] for a in answers]
    ids.append(caught.value.response["ResponseMetadata"]["RequestId"])
    assert all(UUID4.fullmatch(i) for i in ids) and len(set(ids)) == 71
    assert [c.request_id for c in stub.calls] == ids


def test_the_wire_carries_iso_8601_utc_timestamps_lower_case_booleans_and_escaped_text() -> None:
    seen: list[Any] = []
    with (
        sscstub.mock_ssc(users=["jane"], wire=True) as stub,
        time_machine.travel("2026-02-03 04:05:06Z", tick=False),
    ):
        iam = make_client(retries={"total_max_attempts": 1})
        iam.meta.events.register(
            "after-call.iam", lambda http_response, **_: seen.append(http_response.content)
        )
        iam.create_service_specific_credential(
            UserName="jane", ServiceName=BEDROCK, CredentialAgeDays=1
        )
        for message in ("a & b", "a < b", "a > b", "it's", 'say "hi"', "a\x01b"):
            stub.inject_error("list_service_specific_credentials", "ServiceFailure", message)
            with pytest.raises(ClientError) as caught:
                iam.list_service_specific_credentials(UserName="jane")
            shown = message.replace("\x01", "\ufffd")  # not a character XML can carry
            assert caught.value.response["Error"]["Message"] == shown
        iam.list_service_specific_credentials(UserName="jane")
    assert b"<IsTruncated>false</IsTruncated>" in seen[-1]  # booleans as IAM writes them
    seen.pop()
    assert b"<CreateDate>2026-02-03T04:05:06Z</CreateDate>" in seen[0]
    assert b"<ExpirationDate>2026-02-04T04:05:06Z</ExpirationDate>" in seen[0]
    assert [re.search(rb"<Message>(.*)</Message>", s)[1] for s in seen[1:]] == [
        b"a &amp; b",
        b"a &lt; b",
        b"a &gt; b",
        b"it&apos;s",
        b"say &quot;hi&quot;",
        "a\ufffdb".encode(),
    ]  # type: ignore[index]


@pytest.mark.parametrize(("one", "other"), [(b"seed", "seed"), (b"seed", b"seee"), (7, "7")])
def test_each_kind_of_seed_gives_its_own_reproducible_stream(one: Any, other: Any) -> None:
    def secrets(seed: Any) -> list[str]:
        with sscstub.mock_ssc(users=["jane"], seed=seed):
            made = make_client().create_service_specific_credential(UserName="jane", ServiceName=CC)
            return [
                made["ServiceSpecificCredential"][k]
                for k in ("ServicePassword", "ServiceSpecificCredentialId")
            ]

    assert secrets(one) == secrets(one) and secrets(other) == secrets(other)
    assert secrets(one) != secrets(other)


def test_a_seeded_stream_never_repeats() -> None:
    users = [f"u{i}" for i in range(60)]
    with sscstub.mock_ssc(users=users, seed=b"long run"):
        iam = make_client()
        secrets = [
            iam.create_service_specific_credential(UserName=user, ServiceName=service)[
                "ServiceSpecificCredential"
            ]["ServicePassword"]
            for user in users
            for service in (CC, "cassandra.amazonaws.com")
            for _ in range(2)
        ]  # 240 passwords: 44 random bytes each, and a salt and an id: well past one 4 KiB pool
    assert len(set(secrets)) == len(secrets) == 240
    inner = [base64.b64decode(s)[:8] for s in secrets]
    assert len(set(inner)) == 240


def test_another_users_credential_is_refused_naming_the_user_as_the_caller_wrote_it() -> None:
    """User names are case-insensitive: ``JANE`` is jane, and the refusal echoes ``JANE``
    (the request's name, as IAM's messages echo what was sent)."""
    with sscstub.mock_ssc(users=["jane", "bob"]):
        iam = make_client()
        bobs = iam.create_service_specific_credential(UserName="bob", ServiceName=CC)
        cid = bobs["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
        with pytest.raises(ClientError) as caught:
            iam.update_service_specific_credential(
                UserName="JANE", ServiceSpecificCredentialId=cid, Status="Inactive"
            )
    assert caught.value.response["Error"] == {
        "Type": "Sender",
        "Code": "ValidationError",
        "Message": f"User JANE does not have a service specific credential with id {cid}",
    }


@pytest.mark.parametrize("name", ["", "x" * 65])
def test_add_user_refuses_names_iam_would_not_take(name: str) -> None:
    with sscstub.mock_ssc() as stub, pytest.raises(sscstub.SscStubError) as caught:
        stub.add_user(name)
    assert str(caught.value) == (
        f"{name!r} is not a user name IAM would accept. Use 1 to 64 characters from letters,"
        " digits and +=,.@_- (for example 'jane'). (see README.md#options)"
    )


def test_the_query_reader_skips_empty_pairs_and_keeps_equals_signs_in_values() -> None:
    from sscstub._query import read_query

    assert read_query("Action=X&&UserName=jane&") == {"Action": "X", "UserName": "jane"}
    assert read_query(b"Marker=YWJj%3D&Tag=a=b") == {"Marker": "YWJj=", "Tag": "a=b"}
