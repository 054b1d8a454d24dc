"""The SSCStub test API: injected faults, the call log, records, reset, and misuse errors."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import create_credential, make_client

import sscstub
from sscstub import SscStubError

CC = "codecommit.amazonaws.com"


@pytest.mark.parametrize(
    ("code", "status", "fault", "exception"),
    [
        ("ServiceFailure", 500, "Receiver", "ServiceFailureException"),
        ("Throttling", 400, "Sender", None),
        ("ServiceUnavailable", 503, "Receiver", None),
        ("AccessDenied", 403, "Sender", None),
        ("NoSuchEntity", 404, "Sender", "NoSuchEntityException"),
        ("LimitExceeded", 409, "Sender", "LimitExceededException"),
        ("NotSupportedService", 404, "Sender", "ServiceNotSupportedException"),
        ("ConcurrentModification", 409, "Sender", "ConcurrentModificationException"),
        ("DeleteConflict", 409, "Sender", "DeleteConflictException"),
    ],
)
@pytest.mark.parametrize(
    "operation", ["CreateServiceSpecificCredential", "create_service_specific_credential"]
)
def test_inject_error(
    iam: Any,
    stub: sscstub.SSCStub,
    operation: str,
    code: str,
    status: int,
    fault: str,
    exception: str | None,
) -> None:
    stub.inject_error(operation, code)
    with pytest.raises(ClientError) as caught:
        iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
    error = caught.value
    assert type(error) is (getattr(iam.exceptions, exception) if exception else ClientError)
    assert error.response["Error"]["Code"] == code and error.response["Error"]["Type"] == fault
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.response["Error"]["Message"]  # the model's or AWS's wording, never empty
    assert stub.credentials == () and stub.calls[-1].error_code == code
    iam.create_service_specific_credential(
        UserName="jane", ServiceName=CC
    )  # times=1: next call works


def test_injected_errors_are_per_operation_counted_and_queued(
    iam: Any, stub: sscstub.SSCStub
) -> None:
    stub.inject_error("list_service_specific_credentials", "Throttling", "Rate exceeded", times=2)
    stub.inject_error("list_service_specific_credentials", "ServiceFailure")
    iam.create_service_specific_credential(
        UserName="jane", ServiceName=CC
    )  # other operations unaffected
    codes = []
    for _ in range(4):
        try:
            iam.list_service_specific_credentials(UserName="jane")
            codes.append(None)
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])
    assert codes == ["Throttling", "Throttling", "ServiceFailure", None]
    assert [c.error_code for c in stub.calls] == [None, *codes]


def test_injected_error_until_reset(iam: Any, stub: sscstub.SSCStub) -> None:
    stub.inject_error("delete_service_specific_credential", "ServiceFailure", "down", times=None)
    for _ in range(3):
        with pytest.raises(iam.exceptions.ServiceFailureException, match="down"):
            iam.delete_service_specific_credential(
                UserName="jane", ServiceSpecificCredentialId="A" * 20
            )
    stub.reset()
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.delete_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId="A" * 20
        )


def test_retryable_errors_reach_the_caller_on_the_first_attempt(
    iam: Any, stub: sscstub.SSCStub
) -> None:
    stub.inject_error("create_service_specific_credential", "Throttling")
    with pytest.raises(ClientError) as caught:
        iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
    meta = caught.value.response["ResponseMetadata"]
    assert meta["RetryAttempts"] == 0 and meta["MaxAttemptsReached"] is True
    assert len(stub.calls) == 1  # botocore did not retry


def test_calls_record_api_parameters_in_order(iam: Any, stub: sscstub.SSCStub) -> None:
    created = iam.create_service_specific_credential(
        UserName="jane", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=7
    )
    with pytest.raises(ClientError):
        iam.list_service_specific_credentials(UserName="ghost")
    first, second = stub.calls
    assert first == sscstub._store.Call(
        "CreateServiceSpecificCredential",
        {"UserName": "jane", "ServiceName": "bedrock.amazonaws.com", "CredentialAgeDays": 7},
        None,
        created["ResponseMetadata"]["RequestId"],
    )
    assert (second.operation, second.params, second.error_code) == (
        "ListServiceSpecificCredentials",
        {"UserName": "ghost"},
        "NoSuchEntity",
    )
    assert created["ServiceSpecificCredential"]["ServiceCredentialSecret"] not in repr(stub.calls)


def test_credentials_are_read_only_records_without_secrets(iam: Any, stub: sscstub.SSCStub) -> None:
    made = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)[
        "ServiceSpecificCredential"
    ]
    (record,) = stub.credentials
    assert record.service_specific_credential_id == made["ServiceSpecificCredentialId"]
    assert (record.user_name, record.service_name, record.status) == ("jane", CC, "Active")
    assert record.create_date == made["CreateDate"] and record.expiration_date is None
    assert (
        record.service_user_name == "jane-at-123456789012"
        and record.service_credential_alias is None
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = "Inactive"  # type: ignore[misc]
    assert made["ServicePassword"] not in repr(stub) + repr(stub.credentials) + str(vars(record))


def test_authenticate_takes_an_optional_service_and_rejects_garbage(
    iam: Any, stub: sscstub.SSCStub
) -> None:
    git = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)[
        "ServiceSpecificCredential"
    ]
    assert stub.authenticate(git["ServiceUserName"], git["ServicePassword"], service_name=CC)
    assert not stub.authenticate(
        git["ServiceUserName"], git["ServicePassword"], service_name="cassandra.amazonaws.com"
    )
    assert not stub.authenticate("nobody-at-123456789012", git["ServicePassword"])
    for junk in ("", "ABSK", "ABSK!!!", "ABSKbm9jb2xvbg==", git["ServicePassword"]):
        assert not stub.authenticate_api_key(junk)


def test_user_names_with_plus_one_do_not_confuse_authentication(iam: Any) -> None:
    with sscstub.mock_ssc(users=["a", "a+1"]) as stub:
        first = iam.create_service_specific_credential(UserName="a", ServiceName=CC)[
            "ServiceSpecificCredential"
        ]
        second = iam.create_service_specific_credential(UserName="a", ServiceName=CC)[
            "ServiceSpecificCredential"
        ]
        other = iam.create_service_specific_credential(UserName="a+1", ServiceName=CC)[
            "ServiceSpecificCredential"
        ]
        # Service user names are unique per account and service: user a+1 cannot be given the
        # name of a's second credential (issue 9), so it gets the next free one.
        assert second["ServiceUserName"] == "a+1-at-123456789012"
        assert other["ServiceUserName"] == "a+1+1-at-123456789012"
        assert stub.authenticate("a+1-at-123456789012", second["ServicePassword"])
        assert not stub.authenticate("a+1-at-123456789012", other["ServicePassword"])
        assert stub.authenticate("a+1+1-at-123456789012", other["ServicePassword"])
        assert stub.authenticate("a-at-123456789012", first["ServicePassword"])


def test_add_user_and_reset(iam: Any, stub: sscstub.SSCStub) -> None:
    stub.add_user("carol")
    iam.create_service_specific_credential(UserName="carol", ServiceName=CC)
    stub.reset()
    assert stub.credentials == () and stub.calls == () and stub.users == {"jane", "bob"}
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.create_service_specific_credential(UserName="carol", ServiceName=CC)


# --- misuse: SscStubError says what happened and what to do ----------------------------------------

MISUSE = [
    (lambda: sscstub.mock_ssc(users="jane"), "is a single string", "Pass a list of user names"),
    (
        lambda: sscstub.mock_ssc(users=["a b"]),
        "'a b' is not a user name IAM would accept",
        "Use 1 to 64 characters",
    ),
    (
        lambda: sscstub.mock_ssc(caller="x" * 65),
        "is not a user name IAM would accept",
        "Use 1 to 64",
    ),
    (lambda: sscstub.mock_ssc(account_id="42"), "'42' is not an AWS account id", "Pass 12 digits"),
    (
        lambda: sscstub.mock_ssc(account_id=123456789012),
        "is not an AWS account id",
        "Pass 12 digits",
    ),
    (
        lambda: sscstub.mock_ssc(seed=1.5),
        "seed=1.5 cannot seed sscstub",
        "Pass an int, str or bytes",
    ),
    (
        lambda: sscstub.mock_ssc(services={"x": "token"}),
        "services['x'] is 'token'",
        'must be "password"',
    ),
    (lambda: sscstub.mock_ssc().add_user(""), "'' is not a user name", "Use 1 to 64"),
    (
        lambda: sscstub.mock_ssc().inject_error("GetUser", "Throttling"),
        "operation 'GetUser'",
        "Use one of",
    ),
    (
        lambda: sscstub.mock_ssc().inject_error("create_service_specific_credential", "Throttle"),
        "error code 'Throttle'",
        "Did you mean Throttling",
    ),
    (
        lambda: sscstub.mock_ssc().inject_error(
            "create_service_specific_credential", "Throttling", times=0
        ),
        "times=0",
        "Pass a whole number of calls >= 1",
    ),
]


def _nested(same: bool) -> None:
    first = sscstub.mock_ssc()
    with first:
        (first if same else sscstub.mock_ssc()).start()


def _unsimulated() -> None:
    with sscstub.mock_ssc():
        make_client().get_user(UserName="jane")


MISUSE += [
    (lambda: _nested(same=False), "Another sscstub stub is already active", "Stubs do not nest"),
    (lambda: _nested(same=True), "This stub is already active", "exit the active one first"),
    (lambda: sscstub.mock_ssc()(42), "cannot decorate 42", "Decorate a function"),
    (lambda: sscstub.mock_ssc().attach(object()), "cannot find botocore's event emitter", "Pass a"),
    (_unsimulated, "GetUser is not simulated", "compose with moto"),
]
README_HEADINGS = {
    re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
    for line in (Path(__file__).parents[1] / "README.md").read_text().splitlines()
    if line.startswith(("## ", "### "))
}


@pytest.mark.parametrize(("misuse", "what", "todo"), MISUSE)
def test_misuse_errors_say_what_to_do(misuse: Any, what: str, todo: str) -> None:
    """Each SscStubError names what happened, what to do, and a README section that exists."""
    with pytest.raises(SscStubError) as caught:
        misuse()
    assert what in caught.value.what and todo in caught.value.todo
    anchor = re.search(r"\(see README\.md#([a-z0-9-]+)\)$", str(caught.value))
    assert anchor is not None and anchor[1] in README_HEADINGS
    assert sscstub._hooks.active() is None  # misuse changed nothing


def test_options_are_keyword_only_and_typos_name_the_nearest() -> None:
    with pytest.raises(TypeError, match=r"mock_ssc\(\) takes keyword options only"):
        sscstub.mock_ssc(["jane"])  # type: ignore[misc]
    with pytest.raises(TypeError) as caught:
        sscstub.mock_ssc(user=["jane"])  # type: ignore[call-arg]
    assert isinstance(caught.value, SscStubError)
    assert str(caught.value).startswith(
        "mock_ssc() got 'user', which is not one of its options. Did you mean users? They are:"
    )
    with pytest.raises(TypeError, match=r"sscstub.serve\(\) got 'idle_timout'.*idle_timeout\?"):
        sscstub.serve(idle_timout=3)  # type: ignore[call-arg]
    assert "users" in str(inspect.signature(sscstub.SSCStub))  # help() shows the options


def test_call_params_are_read_only_history() -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        create_credential(make_client())
        with pytest.raises(TypeError):
            stub.calls[0].params["UserName"] = "mallory"  # type: ignore[index]
        assert stub.calls[0].params["UserName"] == "jane"


def test_user_names_are_not_distinguished_by_case() -> None:
    with pytest.raises(SscStubError, match="not distinguished by case"):
        sscstub.mock_ssc(users=["jane", "JANE"])
    with sscstub.mock_ssc(users=["jane"]) as stub:
        made = create_credential(make_client(), "Jane")
        assert made["UserName"] == "jane" and made["ServiceUserName"] == "jane-at-123456789012"
        with pytest.raises(SscStubError, match="not distinguished by case"):
            stub.add_user("JANE")
        stub.add_user("jane")  # the same name again is fine


@pytest.mark.parametrize(
    ("misuse", "fragment"),
    [
        (lambda s: s.inject_error(123, "Throttling"), "operation=123"),
        (lambda s: s.inject_error("create_service_specific_credential", None), "code=None"),
        (
            lambda s: s.inject_error("create_service_specific_credential", "Throttling", 5),
            "message=5",
        ),
        (
            lambda s: s.inject_error("create_service_specific_credential", "Throttling", times=-1),
            "times=-1",
        ),
        (lambda s: s.authenticate(None, "pw"), "service_user_name=None"),
        (lambda s: s.authenticate("jane-at-1", b"pw"), "password=b'pw'"),
        (lambda s: s.authenticate_api_key(None), "api_key=None"),
        (lambda s: s.remove_user(7), "name=7"),
        (lambda s: s.remove_user("nobody"), "cannot be found"),
    ],
)
def test_wrong_types_in_the_test_api_say_what_to_pass(misuse: Any, fragment: str) -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        with pytest.raises(SscStubError) as caught:
            misuse(stub)
        assert fragment in str(caught.value) and caught.value.todo


def test_remove_user_is_refused_while_it_has_credentials() -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        iam = make_client()
        made = create_credential(iam)
        with pytest.raises(SscStubError, match="DeleteConflict.*credentials first"):
            stub.remove_user("jane")
        iam.delete_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=made["ServiceSpecificCredentialId"]
        )
        stub.remove_user("JANE")
        assert stub.users == frozenset()
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            create_credential(iam)
