"""Users and the test API's refusals, word for word: sscstub's own users and moto's (its mock in
this process), the hint logged beside IAM's exact NoSuchEntity, DeleteUser under moto, and
the messages of `inject_error`, `restore`, `add_user` and `remove_user`. Real boto3 clients
and the public API; each message says what to do."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import client_for, create_credential, make_client, raw

import sscstub
from sscstub import SscStubError

moto = pytest.importorskip("moto", reason="moto (sscstub[moto]) is not installed")

CC = "codecommit.amazonaws.com"
SEE = " (see README.md#the-test-api)"
TIMES = "Pass a whole number of calls >= 1, or times=None to fail every call until reset()."
CODES = (
    "which is neither an IAM error nor a common AWS error. Use an error code such as"
    " ServiceFailure, Throttling or LimitExceeded."
)


@pytest.fixture
def motos() -> Iterator[Any]:
    """moto's mock on, with a user ``Jane`` in its IAM; an IAM client."""
    with moto.mock_aws():
        iam = make_client()
        iam.create_user(UserName="Jane")
        yield iam


@pytest.fixture(params=["sscstub's", "moto's"])
def where(request: pytest.FixtureRequest) -> str:
    """Whose users they are: sscstub's own, or moto's (its mock on, with ``Jane``)."""
    if request.param == "moto's":
        request.getfixturevalue("motos")
    return str(request.param)


def refusal(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(SscStubError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def test_a_name_that_differs_only_in_case_names_the_user_that_exists(where: str) -> None:
    existing = "Jane"
    with sscstub.mock_ssc(users=[existing] if where == "sscstub's" else []) as stub:
        message = refusal(stub.add_user, "jane")
        stub.add_user(existing)  # the same name again: nothing to refuse
    assert message == (
        f"add_user('jane'): user {existing!r} exists, and IAM user names are not distinguished"
        f" by case. Use {existing!r}, or a name that differs in more than case.{SEE}"
    )


def test_remove_user_refuses_as_delete_user_would(where: str) -> None:
    with sscstub.mock_ssc(users=["Jane"] if where == "sscstub's" else []) as stub:
        create_credential(make_client(), "Jane")
        assert refusal(stub.remove_user, "ghost") == (
            "remove_user('ghost'): NoSuchEntity: The user with name ghost cannot be found. Pass a"
            f" user that exists (stub.users lists them).{SEE}"
        )
        assert refusal(stub.remove_user, "jane") == (
            "remove_user('jane'): DeleteConflict: Cannot delete entity, must remove referenced"
            " objects first. Delete the user's service-specific credentials first, as IAM"
            f" requires.{SEE}"
        )


def test_an_unknown_user_is_iams_answer_and_a_hint_of_where_users_come_from(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        sscstub.mock_ssc(),
        caplog.at_level(logging.WARNING, logger="sscstub"),
        pytest.raises(ClientError) as caught,
    ):
        create_credential(make_client(), "ghost")
    assert caught.value.response["Error"]["Message"] == "The user with name ghost cannot be found."
    how = (
        "it is not one of moto's users: create it with iam.create_user, or"
        if where == "moto's"
        else "it was never added:"
    )
    assert [r.getMessage() for r in caplog.records] == [
        "IAM user 'ghost' does not exist, so CreateServiceSpecificCredential answered"
        f" NoSuchEntity, as IAM would: {how} pass users=['ghost'] to mock_ssc() (or the ssc_stub"
        " marker), or call stub.add_user('ghost')."
    ]


@pytest.mark.parametrize("wire", [False, True], ids=["before-call", "wire"])
def test_delete_user_under_moto_finds_the_user_in_any_case(motos: Any, wire: bool) -> None:
    with sscstub.mock_ssc(wire=wire) as stub:
        create_credential(motos, "Jane")
        with pytest.raises(ClientError) as caught:
            motos.delete_user(UserName="jane")  # IAM's names are not distinguished by case
        assert caught.value.response["Error"]["Code"] == "DeleteConflict"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
        assert caught.value.response["ResponseMetadata"]["RequestId"]
        assert [c.operation for c in stub.calls] == ["CreateServiceSpecificCredential"]
    assert motos.get_user(UserName="Jane")["User"]["UserName"] == "Jane"  # still there


def test_moto_false_keeps_users_sscstubs_inside_motos_mock(motos: Any) -> None:
    with sscstub.mock_ssc(users=["bob"], moto=False) as stub:
        assert stub.users == {"bob"}
        with pytest.raises(ClientError):
            create_credential(motos, "Jane")  # moto's user: not sscstub's
        with pytest.raises(sscstub.UnsimulatedOperationError):
            motos.get_user(UserName="bob")  # strict: not passed on to moto


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ("Nope", "Throttling"),
            "inject_error() got operation 'Nope', which sscstub does not serve. Use one of"
            " CreateServiceSpecificCredential, ResetServiceSpecificCredential,"
            " UpdateServiceSpecificCredential, ListServiceSpecificCredentials,"
            " DeleteServiceSpecificCredential (or its client method name, e.g."
            " 'create_service_specific_credential').",
        ),
        (
            ("CreateServiceSpecificCredential", "Throttlin"),
            f"inject_error() got error code 'Throttlin', {CODES} Did you mean Throttling or"
            " ThrottlingException?",
        ),
        (
            ("CreateServiceSpecificCredential", "InvalidCe"),  # five are close: three named
            f"inject_error() got error code 'InvalidCe', {CODES} Did you mean InvalidUserType or"
            " InvalidInput or InvalidCertificate?",
        ),
        (
            ("CreateServiceSpecificCredential", "Zzzzqqq"),
            f"inject_error() got error code 'Zzzzqqq', {CODES}",
        ),
        (
            ("CreateServiceSpecificCredential", "Throttling", True),
            f"inject_error() got times=True. {TIMES}",
        ),
        (
            ("CreateServiceSpecificCredential", "Throttling", 0),
            f"inject_error() got times=0. {TIMES}",
        ),
        (
            ("CreateServiceSpecificCredential", "Throttling", 1.5),
            f"inject_error() got times=1.5. {TIMES}",
        ),
    ],
    ids=[
        "operation",
        "close-code",
        "many-close",
        "far-code",
        "times-bool",
        "times-0",
        "times-float",
    ],
)
def test_inject_error_refusals_say_what_to_pass(args: tuple[Any, ...], words: str) -> None:
    with sscstub.mock_ssc() as stub:
        times = {"times": args[2]} if len(args) > 2 else {}
        assert refusal(stub.inject_error, args[0], args[1], **times) == words + SEE
        stub.inject_error("CreateServiceSpecificCredential", "Throttling", times=2)  # fine


def test_restore_refuses_what_is_not_a_snapshot_of_its_account() -> None:
    with sscstub.mock_ssc() as stub:
        assert refusal(stub.restore, {"x": 1}) == (
            "restore() got {'x': 1}, which is not a snapshot of account 123456789012. Pass what"
            f" snapshot() returned, from a stub of the same account_id.{SEE}"
        )


def test_a_server_on_durable_state_serves_iam_and_bedrock_from_its_loop(tmp_path: Path) -> None:
    """The endpoint's calls try the engine's lock without waiting (a worker only when it is
    held): the path every call of a --state server takes."""
    with sscstub.serve(users=["jane"], state=str(tmp_path / "s.db")) as server:
        iam = client_for(server.url)
        made = create_credential(iam)
        listed = iam.list_service_specific_credentials(UserName="jane")
        assert [c["ServiceSpecificCredentialId"] for c in listed["ServiceSpecificCredentials"]] == [
            made["ServiceSpecificCredentialId"]
        ]
        assert server.users == {"jane"}
        key = create_credential(iam, service="bedrock.amazonaws.com")["ServiceCredentialSecret"]
        converse = "/model/m/converse"  # a Bedrock key's check on the loop, then a worker
        accepted = raw(server.url, "POST", converse, b"{}", Authorization=f"Bearer {key}")
        refused = raw(server.url, "POST", converse, b"{}", Authorization=f"Bearer {key}x")
        assert (accepted[0], refused[0]) == (501, 403)


def test_request_ids_are_drawn_in_batches_that_do_not_grow() -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        iam = make_client()
        for _ in range(100):
            assert not stub.authenticate_api_key("ABSK" + "x" * 40)
            stub._engine.record_use("x:Y", {}, None)  # (a consumer's call)
            iam.list_service_specific_credentials(UserName="jane")
        assert len(stub._engine._request_ids) < 64


@pytest.mark.parametrize("fails", ["reading", "writing"])
def test_a_state_file_that_fails_answers_503_with_a_request_id_and_changes_nothing(
    fails: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, as on the endpoint: the file locked when the call reads it, or its write
    failing after the call was decided (a full disk): 503, logged as failed, nothing kept."""
    import sqlite3

    from sscstub import _durable

    def fail(*_: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    state = str(tmp_path / "s.db")
    with sscstub.mock_ssc(users=["jane"], state=state) as stub:
        iam = make_client()
        monkeypatch.setattr(_durable.Durable, "_fresh" if fails == "reading" else "_write", fail)
        with pytest.raises(ClientError) as caught:
            create_credential(iam)
        monkeypatch.undo()
        answer = caught.value.response
        assert answer["Error"] == {
            "Type": "Receiver",
            "Code": "ServiceUnavailable",
            "Message": f"The sscstub state file {state} cannot be used now: database is locked"
            " (another process holds its lock).",
        }
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 503
        [call] = stub.calls
        assert (call.operation, call.error_code) == (
            "CreateServiceSpecificCredential",
            "ServiceUnavailable",
        )
        assert call.request_id == answer["ResponseMetadata"]["RequestId"]
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", call.request_id
        )
        assert stub.credentials == ()


def test_a_durable_stub_checks_values_against_the_model_as_one_in_memory_does(
    tmp_path: Path,
) -> None:
    with sscstub.mock_ssc(users=["jane"], state=str(tmp_path / "s.db")):
        raw_client = make_client(parameter_validation=False)
        with pytest.raises(ClientError) as caught:
            raw_client.list_service_specific_credentials(UserName="jane", MaxItems=0)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
