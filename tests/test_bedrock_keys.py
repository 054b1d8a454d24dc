"""Long-term Bedrock API keys checked on Bedrock's own calls: a real boto3 ``bedrock-runtime``
client with ``AWS_BEARER_TOKEN_BEDROCK`` set, as applications set it, answered by a Stubber on
that client when the key is accepted."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import boto3
import pytest
import time_machine
from botocore.stub import Stubber
from conftest import make_client
from freezegun import freeze_time

import sscstub

BEDROCK = "bedrock.amazonaws.com"
MESSAGE = "Authentication failed: Please make sure your API Key is valid."
ANSWER = {
    "output": {"message": {"role": "assistant", "content": [{"text": "hello"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
    "metrics": {"latencyMs": 1},
}
MODES = pytest.mark.parametrize("wire", [False, True], ids=["before-call", "wire"])


def new_key(iam: Any, days: int | None = None) -> tuple[str, str]:
    extra = {} if days is None else {"CredentialAgeDays": days}
    made = iam.create_service_specific_credential(UserName="jane", ServiceName=BEDROCK, **extra)
    credential = made["ServiceSpecificCredential"]
    return credential["ServiceSpecificCredentialId"], credential["ServiceCredentialSecret"]


def converse(key: str | None, monkeypatch: pytest.MonkeyPatch, stubbed: bool = True) -> Any:
    """What the application does: a Bedrock client made with the key in the environment."""
    if key is None:
        monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    else:
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", key)
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="a",
        aws_secret_access_key="b",
    )  # fmt: skip
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    if not stubbed:  # nothing else answers
        return client.converse(modelId="m", messages=messages)
    stubber = Stubber(client)
    stubber.add_response("converse", ANSWER)
    with stubber:
        return client.converse(modelId="m", messages=messages)


def refused(key: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    with pytest.raises(Exception) as caught:
        converse(key, monkeypatch)
    error = caught.value
    assert type(error).__name__ == "AccessDeniedException", repr(error)
    response: dict[str, Any] = error.response  # type: ignore[attr-defined]
    assert response["Error"] == {"Code": "AccessDeniedException", "Message": MESSAGE}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return response


@MODES
def test_the_new_key_is_accepted_and_the_old_one_refused_after_reset(
    wire: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sscstub.mock_ssc(users=["jane"], wire=wire) as stub:
        iam = make_client()
        cid, old = new_key(iam)
        assert converse(old, monkeypatch)["output"]["message"]["content"][0]["text"] == "hello"
        reset = iam.reset_service_specific_credential(  # type: ignore[attr-defined]
            UserName="jane", ServiceSpecificCredentialId=cid
        )
        new = reset["ServiceSpecificCredential"]["ServiceCredentialSecret"]
        assert converse(new, monkeypatch)["stopReason"] == "end_turn"
        headers = refused(old, monkeypatch)["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amzn-errortype"] == "AccessDeniedException"
        checked = [c for c in stub.calls if c.operation == "bedrock-runtime:Converse"]
        assert [(c.params["Accepted"], c.error_code) for c in checked] == [
            (True, None), (True, None), (False, "AccessDeniedException"),
        ]  # fmt: skip
        alias = checked[0].params["ServiceCredentialAlias"]
        assert alias == "jane-at-123456789012"
        assert not any(old in repr(c) or new in repr(c) for c in stub.calls)


def test_an_expired_key_is_refused_under_freezegun_and_time_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)
    with sscstub.mock_ssc(users=["jane"]):
        with freeze_time(start) as frozen:
            _, key = new_key(make_client(), days=1)
            assert converse(key, monkeypatch)
            frozen.tick(dt.timedelta(days=1))  # the exact second of expiry
            refused(key, monkeypatch)
        with time_machine.travel(start + dt.timedelta(days=2), tick=False):
            refused(key, monkeypatch)


@pytest.mark.parametrize("how", ["inactive", "deleted"])
def test_an_inactive_or_deleted_key_is_refused(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with sscstub.mock_ssc(users=["jane"]):
        iam = make_client()
        cid, key = new_key(iam)
        if how == "inactive":
            iam.update_service_specific_credential(  # type: ignore[attr-defined]
                UserName="jane", ServiceSpecificCredentialId=cid, Status="Inactive"
            )
        else:
            iam.delete_service_specific_credential(  # type: ignore[attr-defined]
                UserName="jane", ServiceSpecificCredentialId=cid
            )
        refused(key, monkeypatch)


@pytest.mark.parametrize("service", ["logs.amazonaws.com", "aws-external-anthropic.amazonaws.com"])
def test_another_services_key_is_refused(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        made = make_client().create_service_specific_credential(  # type: ignore[attr-defined]
            UserName="jane", ServiceName=service
        )
        refused(made["ServiceSpecificCredential"]["ServiceCredentialSecret"], monkeypatch)
        assert stub.calls[-1].params == {
            "ServiceCredentialAlias": "jane-at-123456789012",
            "Accepted": False,
        }


def test_a_key_from_another_stub_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with sscstub.mock_ssc(users=["jane"]):
        _, elsewhere = new_key(make_client())
    with sscstub.mock_ssc(users=["jane"]):
        refused(elsewhere, monkeypatch)


@pytest.mark.parametrize(
    "token",
    [None, "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJUb2tlbg=="],
)
def test_sigv4_and_short_term_tokens_are_left_alone(
    token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        assert converse(token, monkeypatch)["stopReason"] == "end_turn"
        assert stub.calls == ()


def test_strict_mode_never_lets_an_accepted_key_reach_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with sscstub.mock_ssc(users=["jane"]):
        _, key = new_key(make_client())
        with pytest.raises(sscstub.UnsimulatedOperationError, match="accepted") as caught:
            converse(key, monkeypatch, stubbed=False)
        assert "bedrock-runtime:Converse" in str(caught.value) and key not in str(caught.value)
    with sscstub.mock_ssc(users=["jane"], strict=False):
        _, key = new_key(make_client())
        assert converse(key, monkeypatch)  # not strict: what else answers, answers


def test_without_an_active_stub_nothing_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert converse("ABSKbm90LWlzc3VlZC1hdC0xMjM0NTY3ODkwMTI6eA==", monkeypatch)


@pytest.mark.parametrize(
    ("key", "alias"),
    [
        ("ABSK!" + base64.b64encode(b"jane-at-123456789012:x").decode(), None),  # not base64
        ("ABSK" + base64.b64encode(b"jane-at-123456789012").decode(), None),  # no secret part
        ("ABSK" + base64.b64encode(b":x").decode(), None),  # no alias
        ("ABSK" + base64.b64encode(b"a:b:c").decode(), "a"),  # the alias ends at the first colon
    ],
    ids=["not-base64", "no-colon", "no-alias", "two-colons"],
)
def test_a_forged_key_is_refused_and_logged_with_the_alias_it_carries(
    key: str, alias: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        new_key(make_client())
        refused(key, monkeypatch)
        [checked] = [c for c in stub.calls if c.operation == "bedrock-runtime:Converse"]
    assert checked.params == {"ServiceCredentialAlias": alias, "Accepted": False}
