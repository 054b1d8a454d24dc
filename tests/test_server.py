"""The local endpoint (`sscstub.serve`, `sscstub serve`): IAM's query protocol over HTTP, through
real boto3 clients and raw HTTP, the JSON test API, and requests that must not hurt it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import client_for, raw

import sscstub

CC = "codecommit.amazonaws.com"
BEDROCK = "bedrock.amazonaws.com"


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


@pytest.fixture
def server() -> Iterator[sscstub.Server]:
    with sscstub.serve(users=["jane"]) as running:
        yield running


def test_the_lifecycle_through_boto3_over_http(server: sscstub.Server) -> None:
    assert server.url.startswith("http://127.0.0.1:") and server.port > 0
    iam = client_for(server.url)
    made = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
    cred = made["ServiceSpecificCredential"]
    assert cred["ServiceUserName"] == "jane-at-123456789012"
    assert made["ResponseMetadata"]["HTTPHeaders"]["content-length"]
    cid = cred["ServiceSpecificCredentialId"]
    reset = iam.reset_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=cid)
    assert server.authenticate(
        "jane-at-123456789012", reset["ServiceSpecificCredential"]["ServicePassword"]
    )
    iam.update_service_specific_credential(
        UserName="jane", ServiceSpecificCredentialId=cid, Status="Inactive"
    )
    key = iam.create_service_specific_credential(
        UserName="jane", ServiceName=BEDROCK, CredentialAgeDays=30
    )
    assert (
        key["ServiceSpecificCredential"]["ExpirationDate"]
        > key["ServiceSpecificCredential"]["CreateDate"]
    )
    listed = iam.list_service_specific_credentials(UserName="jane")
    assert [c["Status"] for c in listed["ServiceSpecificCredentials"]] == ["Inactive", "Active"]
    assert listed["IsTruncated"] is False
    iam.delete_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=cid)
    with pytest.raises(iam.exceptions.NoSuchEntityException, match="cannot be found"):
        iam.list_service_specific_credentials(UserName="nobody")
    assert [c.error_code for c in server.calls] == [None] * 6 + ["NoSuchEntity"]


def test_botocore_retries_injected_throttles_over_http(server: sscstub.Server) -> None:
    iam = client_for(server.url, retries={"mode": "standard"})
    server.inject_error("create_service_specific_credential", "Throttling", times=2)
    made = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
    assert made["ResponseMetadata"]["RetryAttempts"] == 2


def test_other_and_unknown_actions_get_xml_errors(server: sscstub.Server) -> None:
    iam = client_for(server.url, retries={"total_max_attempts": 1})
    with pytest.raises(
        iam.exceptions.ClientError, match="NotImplemented.*does not simulate the IAM action GetUser"
    ):
        iam.get_user(UserName="jane")
    status, headers, data = raw(server.url, "GET", "/?Action=Frobnicate&Version=2010-05-08")
    assert (
        status == 400
        and b"<Code>InvalidAction</Code>" in data
        and headers["Content-Type"] == "text/xml"
    )
    status, _, data = raw(server.url, "GET", "/?Version=2010-05-08")
    assert status == 400 and b"<Code>MissingAction</Code>" in data


def test_unsigned_get_and_post_forms_are_served(server: sscstub.Server) -> None:
    status, _, data = raw(
        server.url,
        "GET",
        "/?Action=CreateServiceSpecificCredential&Version=2010-05-08&UserName=jane&ServiceName=codecommit.amazonaws.com",
    )
    assert status == 200 and b"<ServiceUserName>jane-at-123456789012</ServiceUserName>" in data
    form = b"Action=ListServiceSpecificCredentials&Version=2010-05-08&UserName=jane"
    status, _, data = raw(
        server.url, "POST", "/", form, **{"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200 and data.count(b"<member>") == 1


@pytest.mark.parametrize(
    ("method", "body", "headers", "status", "code"),
    [
        (
            "POST",
            b"Action=ListServiceSpecificCredentials&UserName=\xff",
            {},
            400,
            b"MalformedQueryString",
        ),
        ("POST", b"", {"Content-Length": str(1024 * 1024 + 1)}, 413, b"RequestEntityTooLarge"),
        ("POST", b"", {"Content-Length": "abc"}, 400, b"MalformedRequest"),
        ("PUT", b"", {}, 405, b"MethodNotAllowed"),
        (
            "POST",
            b"Action=CreateServiceSpecificCredential&UserName=ghost&ServiceName=x",
            {},
            404,
            b"NoSuchEntity",
        ),
    ],
)
def test_bad_requests_get_xml_errors_and_change_nothing(
    server: sscstub.Server,
    method: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: bytes,
) -> None:
    before = server.credentials
    got, _, data = raw(server.url, method, "/", body, **headers)
    assert got == status and b"<ErrorResponse" in data and code in data
    assert server.credentials == before
    assert raw(server.url, "GET", "/_sscstub/health")[0] == 200  # still serving


def test_the_json_test_api(server: sscstub.Server) -> None:
    def api(method: str, route: str, payload: Any = None) -> tuple[int, Any]:
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        status, _, data = raw(server.url, method, f"/_sscstub/{route}", body, **headers)
        return status, json.loads(data)

    assert api("POST", "users", {"name": "bob"}) == (200, {"users": ["bob", "jane"]})
    assert (
        api(
            "POST",
            "errors",
            {"operation": "create_service_specific_credential", "code": "ServiceFailure"},
        )[0]
        == 200
    )
    iam = client_for(server.url, retries={"total_max_attempts": 1})
    with pytest.raises(iam.exceptions.ServiceFailureException):
        iam.create_service_specific_credential(UserName="bob", ServiceName=CC)
    made = iam.create_service_specific_credential(UserName="bob", ServiceName=CC)[
        "ServiceSpecificCredential"
    ]
    status, listed = api("GET", "credentials")
    assert status == 200 and listed["credentials"][0]["service_user_name"] == "bob-at-123456789012"
    assert made["ServicePassword"] not in json.dumps(listed)
    assert api(
        "POST",
        "authenticate",
        {"service_user_name": "bob-at-123456789012", "password": made["ServicePassword"]},
    ) == (200, {"authenticated": True})
    assert api("POST", "authenticate", {"api_key": "ABSKnope"}) == (200, {"authenticated": False})
    assert [c["error_code"] for c in api("GET", "calls")[1]["calls"]] == ["ServiceFailure", None]
    status, error = api("DELETE", "users/bob")
    assert status == 400 and "DeleteConflict" in error["error"]
    status, error = api("POST", "errors", {"operation": "nope", "code": "Throttling"})
    assert status == 400 and error["todo"]
    assert api("GET", "nothing")[0] == 404
    json_type = {"Content-Type": "application/json"}
    assert raw(server.url, "POST", "/_sscstub/users", b"[1, 2", **json_type)[0] == 400
    assert api("POST", "reset") == (200, {"ok": True}) and server.credentials == ()


def test_eight_threads_over_http_lose_nothing_and_keep_the_limit(server: sscstub.Server) -> None:
    users = [f"u{i}" for i in range(8)]
    for user in users:
        server.add_user(user)
    outcomes: dict[str, list[str]] = {}

    def work(user: str) -> None:
        iam = client_for(server.url, retries={"total_max_attempts": 1})
        seen = outcomes.setdefault(user, [])
        for i in range(125):  # 4 requests a round: 500 per thread
            try:
                made = iam.create_service_specific_credential(UserName=user, ServiceName=CC)
                cid = made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
                seen.append(cid)
                iam.reset_service_specific_credential(
                    UserName=user, ServiceSpecificCredentialId=cid
                )
                iam.list_service_specific_credentials(UserName=user)
                if i % 3:
                    iam.delete_service_specific_credential(
                        UserName=user, ServiceSpecificCredentialId=cid
                    )
                else:
                    iam.update_service_specific_credential(
                        UserName=user, ServiceSpecificCredentialId=cid, Status="Inactive"
                    )
            except iam.exceptions.LimitExceededException:
                seen.append("limit")

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls = server.calls
    ids = [c for cids in outcomes.values() for c in cids if c != "limit"]
    assert len(set(ids)) == len(ids) and len({c.request_id for c in calls}) == len(calls)
    for user in users:
        assert len([c for c in server.credentials if c.user_name == user]) <= 2
    created = [
        c
        for c in calls
        if c.operation == "CreateServiceSpecificCredential" and c.error_code is None
    ]
    assert len(created) == len(ids)


def test_the_fixture_gives_a_fresh_server_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import boto3, pytest

        @pytest.mark.ssc_stub(users=["jane"])
        @pytest.mark.parametrize("n", [1, 2])
        def test_served(ssc_server, n):
            iam = boto3.client("iam", region_name="us-east-1", endpoint_url=ssc_server.url,
                               aws_access_key_id="t", aws_secret_access_key="t")
            iam.create_service_specific_credential(UserName="jane", ServiceName="codecommit.amazonaws.com")
            assert len(ssc_server.credentials) == 1
        """
    )
    pytester.runpytest("-n", "2", "-p", "xdist").assert_outcomes(passed=2)


def test_the_command_line_prints_the_endpoint_and_stops_cleanly(tmp_path: Any) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sscstub",
            "serve",
            "--port",
            "0",
            "--users",
            "jane,ci-bot",
            "--account-id",
            "111122223333",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(4)]  # type: ignore[union-attr]
        url = lines[0].split()[-1]
        assert lines[1].strip().endswith(f"--endpoint-url {url}")
        # the line to paste says itself which CLIs read the variable (v2 before 2.13 does not)
        assert lines[2].startswith(f"export AWS_ENDPOINT_URL_IAM={url}  # AWS CLI v1, v2 from 2.13")
        assert lines[3].startswith("sscstub: ready")
        made = client_for(url).create_service_specific_credential(UserName="ci-bot", ServiceName=CC)
        assert made["ServiceSpecificCredential"]["ServiceUserName"] == "ci-bot-at-111122223333"
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=20)  # waits, and closes the pipes
        assert process.returncode == 0, errors


def test_the_command_line_refuses_bad_options_clearly() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sscstub", "serve", "--port", "0", "--account-id", "42"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert done.returncode == 2 and "not an AWS account id" in done.stderr
