"""Wire mode: IAM's XML written from the model, parsed, retried and handed to after-call by
botocore itself, answering exactly what the before-call mode answers."""

from __future__ import annotations

import time
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError
from conftest import make_client
from iamxml import assert_same
from test_parity import every_operation

import sscstub
from sscstub._query import read_query, xml_writer

RETRY_MODES = ["legacy", "standard", "adaptive"]


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore sleeps between retries; the tests need the attempts, not the waiting."""
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


def _without_transport(result: dict[str, Any]) -> dict[str, Any]:
    """The parsed answer less what only the transport decides (headers, retry bookkeeping)."""
    meta = dict(result["ResponseMetadata"])
    for key in ("HTTPHeaders", "RetryAttempts", "MaxAttemptsReached"):
        meta.pop(key, None)
    return {**result, "ResponseMetadata": meta}


def test_every_answer_is_the_same_in_both_modes(local_zone: str) -> None:
    answers = {}
    for wire in (False, True):
        with (
            sscstub.mock_ssc(users=["jane"], seed=7, wire=wire),
            time_machine.travel("2026-03-01 12:00:00Z", tick=False),
        ):
            answers[wire] = every_operation(make_client(retries={"total_max_attempts": 1}))
    assert len(answers[False]) == len(answers[True]) > 10
    for (op, _, kwargs, ours), (_, _, _, wired) in zip(answers[False], answers[True], strict=True):
        assert_same(_without_transport(ours), _without_transport(wired), f"{op}{kwargs}")


def test_the_http_response_is_iams_bytes() -> None:
    seen: list[Any] = []
    with sscstub.mock_ssc(users=["jane"], wire=True) as stub:
        iam = make_client()
        iam.meta.events.register(
            "after-call.iam", lambda http_response, **_: seen.append(http_response)
        )
        iam.create_service_specific_credential(
            UserName="jane", ServiceName="codecommit.amazonaws.com"
        )
        with pytest.raises(iam.exceptions.NoSuchEntityException) as caught:
            iam.list_service_specific_credentials(UserName="nobody")
    created, failed = seen
    assert created.content.startswith(
        b'<CreateServiceSpecificCredentialResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        b"<CreateServiceSpecificCredentialResult><ServiceSpecificCredential><CreateDate>"
    )
    assert int(created.headers["Content-Length"]) == len(created.content)
    assert created.headers["x-amzn-RequestId"] == stub.calls[0].request_id
    assert created.headers["Content-Type"] == "text/xml" and created.headers["Date"].endswith("GMT")
    assert failed.status_code == 404 and failed.content.startswith(
        b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
        b"<Code>NoSuchEntity</Code><Message>The user with name nobody cannot be found.</Message>"
    )
    error = caught.value.response
    assert error["Error"]["Type"] == "Sender" and error["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize("mode", RETRY_MODES)
def test_botocore_retries_injected_throttles_and_succeeds(mode: str) -> None:
    with sscstub.mock_ssc(users=["jane"], wire=True) as stub:
        iam = make_client(retries={"mode": mode, "total_max_attempts": 5})
        stub.inject_error("create_service_specific_credential", "Throttling", times=2)
        made = iam.create_service_specific_credential(
            UserName="jane", ServiceName="bedrock.amazonaws.com"
        )
        assert made["ResponseMetadata"]["RetryAttempts"] == 2
        assert [c.error_code for c in stub.calls] == ["Throttling", "Throttling", None]
        assert len(stub.credentials) == 1


@pytest.mark.parametrize("mode", RETRY_MODES)
def test_with_one_attempt_allowed_the_throttle_reaches_the_caller(mode: str) -> None:
    with sscstub.mock_ssc(users=["jane"], wire=True) as stub:
        iam = make_client(retries={"mode": mode, "total_max_attempts": 1})
        stub.inject_error("create_service_specific_credential", "Throttling", times=2)
        with pytest.raises(ClientError) as caught:
            iam.create_service_specific_credential(
                UserName="jane", ServiceName="bedrock.amazonaws.com"
            )
        response = caught.value.response
        assert response["Error"]["Code"] == "Throttling"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert response["ResponseMetadata"]["MaxAttemptsReached"] is True
        assert [c.error_code for c in stub.calls] == ["Throttling"] and stub.credentials == ()


def test_modeled_errors_strict_mode_and_escaping_in_wire_mode() -> None:
    with sscstub.mock_ssc(users=["jane"], wire=True) as stub:
        iam = make_client(retries={"total_max_attempts": 1})
        for _ in range(2):
            iam.create_service_specific_credential(
                UserName="jane", ServiceName="codecommit.amazonaws.com"
            )
        with pytest.raises(iam.exceptions.LimitExceededException) as limit:
            iam.create_service_specific_credential(
                UserName="jane", ServiceName="codecommit.amazonaws.com"
            )
        assert limit.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
        stub.inject_error(
            "list_service_specific_credentials", "ServiceFailure", "a < b & 'c' > \"d\""
        )
        with pytest.raises(iam.exceptions.ServiceFailureException) as failure:
            iam.list_service_specific_credentials(UserName="jane")
        assert failure.value.response["Error"] == {
            "Type": "Receiver",
            "Code": "ServiceFailure",
            "Message": "a < b & 'c' > \"d\"",
        }
        with pytest.raises(sscstub.UnsimulatedOperationError, match="GetUser"):
            iam.get_user(UserName="jane")


def test_the_request_reader_takes_what_the_sdks_send() -> None:
    form = "Action=ListServiceSpecificCredentials&Version=2010-05-08&UserName=j%2Bane&AllUsers=false&MaxItems=5&UserName=x"
    assert read_query(form.encode()) == {
        "Action": "ListServiceSpecificCredentials",
        "Version": "2010-05-08",
        "UserName": "j+ane",
        "AllUsers": "false",
        "MaxItems": "5",
    }
    assert read_query("") == {} and read_query(b"Marker=") == {"Marker": ""}


def test_an_operation_without_output_writes_no_result_element() -> None:
    data = xml_writer("UpdateServiceSpecificCredential", None)("rid", {})
    assert data == (
        b'<UpdateServiceSpecificCredentialResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        b"<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>"
        b"</UpdateServiceSpecificCredentialResponse>"
    )
