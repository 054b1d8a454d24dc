"""A bounded server and an exact API: the calls log keeps the most recent calls with long values
cut, `serve()` answers before ``with``, and bad ports, variables and JSON get one-line errors."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from conftest import client_for, make_client, raw

import sscstub

CC = "codecommit.amazonaws.com"
JSON = {"Content-Type": "application/json"}


def test_the_servers_calls_log_keeps_the_most_recent_and_counts_the_rest() -> None:
    with sscstub.serve(users=["jane"], max_calls=5) as server:
        iam = client_for(server.url)
        for _ in range(8):
            iam.list_service_specific_credentials(UserName="jane")
        huge = "j" * 1_000_000
        with pytest.raises(iam.exceptions.ClientError):
            iam.list_service_specific_credentials(UserName=huge)
        assert len(server.calls) == 5
        logged = server.calls[-1].params["UserName"]
        assert len(logged) < 5000 and logged.endswith("(995904 more characters)")
        status, _, data = raw(server.url, "GET", "/_sscstub/calls")
        assert status == 200 and json.loads(data)["dropped"] == 4
    with sscstub.mock_ssc(users=["jane"]) as stub:  # a stub keeps every call, whole
        iam = make_client()
        for _ in range(8):
            iam.list_service_specific_credentials(UserName="jane")  # type: ignore[attr-defined]
        assert len(stub.calls) == 8


def test_serve_answers_before_with_and_with_stops_it() -> None:
    server = sscstub.serve(users=["jane"])
    try:
        assert client_for(server.url).list_service_specific_credentials(UserName="jane")
        with server as same:
            assert same is server
    finally:
        server.stop()
    from botocore.exceptions import EndpointConnectionError

    stopped = client_for(server.url, retries={"total_max_attempts": 1})
    with pytest.raises(EndpointConnectionError):  # nothing listens there any more
        stopped.list_service_specific_credentials(UserName="jane")


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_bad_port_is_one_line(port: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sscstub", "serve", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        done.returncode == 2 and "not a TCP port" in done.stderr and "Traceback" not in done.stderr
    )
    with pytest.raises(sscstub.SscStubError, match="not a TCP port"):
        sscstub.serve(port=int(port) if port.lstrip("-").isdigit() else 70000)


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("SSCSTUB_STATE", ":memory:", "keeps nothing"),
        ("SSCSTUB_ACCOUNT_ID", "42", "not an AWS account id"),
        ("SSCSTUB_USERS", "a b", "not a user name"),
        ("SSCSTUB_SERVICES", "x.amazonaws.com=token", "must be"),
    ],
)
def test_a_bad_plugin_variable_is_one_line(variable: str, value: str, fragment: str) -> None:
    from sscstub import awscli

    code = (
        "import botocore.session, sscstub.awscli as p;"
        " p.awscli_initialize(botocore.session.get_session().get_component('event_emitter'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", variable: value},
    )
    assert done.returncode == 1 and fragment in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert awscli.options_from_environment({}) == {}


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"name": ', b"\xff"])
def test_bad_json_gets_a_json_400(body: bytes) -> None:
    with sscstub.serve() as server:
        status, headers, data = raw(server.url, "POST", "/_sscstub/users", body, **JSON)
        assert status == 400 and headers["Content-Type"] == "application/json"
        assert "JSON object" in json.loads(data)["error"]
        assert raw(server.url, "GET", "/_sscstub/health")[0] == 200


def test_in_wire_mode_botocores_own_debug_log_shows_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What the secrets guarantee does not cover, shown: with wire=True, botocore parses the
    XML body and logs it at DEBUG, as it does against real IAM. sscstub itself logs nothing."""
    with (
        caplog.at_level(logging.DEBUG, logger="botocore"),
        sscstub.mock_ssc(users=["jane"], wire=True),
    ):
        iam = make_client()
        made = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)  # type: ignore[attr-defined]
    password = made["ServiceSpecificCredential"]["ServicePassword"]
    assert any(password in record.getMessage() for record in caplog.records)
    assert not any(record.name.startswith("sscstub") for record in caplog.records)


def test_without_the_server_extra_the_endpoint_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as when uvicorn is not installed
    with pytest.raises(sscstub.SscStubError, match=r"pip install 'sscstub\[server\]'"):
        sscstub.serve()
    code = (
        "import sys; sys.modules['uvicorn'] = None; from sscstub._cli import main;"
        " sys.exit(main(['serve']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "sscstub[server]" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_answers_go_out_with_nagle_off() -> None:
    """Each connection asyncio accepts gets TCP_NODELAY only from a socket that names its
    protocol: without it an answer's body waited ~40 ms behind its head (delayed ACK)."""
    import socket

    from sscstub._server import _bind

    listener = _bind("127.0.0.1", 0)
    try:
        assert listener.proto == socket.IPPROTO_TCP
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        listener.close()


def test_a_server_with_idle_kept_connections_stops_without_waiting_on_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An idle keep-alive client (boto3's pool) never closes its side: closing it with a linger
    made uvicorn wait out its graceful timeout and log "timeout graceful shutdown exceeded"."""
    with (
        caplog.at_level(logging.INFO, logger="uvicorn.error"),
        sscstub.serve(users=["jane"]) as server,
    ):
        iam = client_for(server.url)  # kept: its pool keeps the connection open
        iam.list_service_specific_credentials(UserName="jane")
    assert iam is not None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
