"""The second adversary's findings on what the endpoint passes on (``--upstream``, ``--moto``),
each against a real ``sscstub serve`` process with the attack on the wire (issue #25)."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import client_for
from served import Process, exchange, serve_process
from upstreams import RawUpstream, recording_upstream, send

pytest.importorskip("moto.server", reason="moto[server] is in the test group: pip install")

CC = "codecommit.amazonaws.com"
S3_SIGNED = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def relayed(server: Process, target: bytes = b"/bucket/key", extra: bytes = b"") -> bytes:
    return exchange(
        server.address,
        b"GET %b HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %b\r\n%bConnection: close\r\n\r\n"
        % (target, S3_SIGNED.encode(), extra),
    )


@pytest.fixture
def raw_upstream(request: pytest.FixtureRequest) -> Iterator[RawUpstream]:
    upstream = RawUpstream(request.param)
    yield upstream
    upstream.close()


@pytest.mark.parametrize(
    "raw_upstream",
    [lambda n, request: b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n" + OK],
    indirect=True,
)
def test_an_early_hint_is_not_taken_for_the_answer(raw_upstream: RawUpstream) -> None:
    with serve_process("--upstream", raw_upstream.url) as server:
        for _ in range(2):
            answer = relayed(server)
            assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"ok"), answer[:200]


@pytest.mark.parametrize(
    "raw_upstream",
    [
        lambda n, request: (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        ),
        lambda n, request: (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
        ),
        lambda n, request: b"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello",
    ],
    indirect=True,
    ids=["both framings", "two lengths", "a bad length"],
)
def test_broken_framing_from_the_upstream_is_a_502(raw_upstream: RawUpstream) -> None:
    with serve_process("--upstream", raw_upstream.url) as server:
        answer = relayed(server)
        assert answer.startswith(b"HTTP/1.1 502 ") and b"BadGateway" in answer, answer[:300]


@pytest.mark.parametrize("raw_upstream", [lambda n, request: OK if n == 1 else None], indirect=True)
def test_a_request_the_upstream_read_is_never_sent_again(raw_upstream: RawUpstream) -> None:
    """The first answered on a kept connection; the second read, then the connection closed:
    a relay that replays it would deliver a POST twice."""
    with serve_process("--upstream", raw_upstream.url) as server:
        head = (
            b"POST /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %b\r\nContent-Length: 4\r\n\r\nsend"
            % S3_SIGNED.replace("s3", "sqs").encode()
        )
        with server.connect() as sock:
            sock.sendall(head)
            first = sock.recv(65536)
            while not first.endswith(b"ok"):  # the head and the body may come apart
                first += sock.recv(65536)
            assert first.startswith(b"HTTP/1.1 200 ")
            sock.sendall(
                head.replace(b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\nConnection: close\r\n")
            )
            sock.settimeout(10)
            second = b""
            while piece := sock.recv(65536):
                second += piece
        assert second.startswith(b"HTTP/1.1 502 ")
        time.sleep(0.5)
        assert len(raw_upstream.requests) == 2


def test_relayed_uploads_are_streamed_not_held() -> None:
    """30 uploads of 4 MB pipelined on one connection to an upstream that reads slowly."""

    def slow(handler: Any, body: bytes) -> None:
        time.sleep(0.2)  # while it takes its time, nothing must pile up in the server
        send(handler, 200, b"")

    with recording_upstream(slow) as (url, seen), serve_process("--upstream", url) as server:
        before = server.rss_kb()
        upload = b"x" * (4 * 1024 * 1024)
        head = (b"PUT /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %b\r\n"
                b"Content-Length: %d\r\n\r\n" % (S3_SIGNED.encode(), len(upload)))  # fmt: skip
        peak = [0]

        def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], server.rss_kb() - before)
                time.sleep(0.05)

        done = threading.Event()
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            with server.connect(timeout=60) as sock:
                for _ in range(30):
                    sock.sendall(head + upload)
                sock.shutdown(1)
                answers = b""
                while piece := sock.recv(65536):
                    answers += piece
        finally:
            done.set()
            watcher.join()
        assert answers.count(b"HTTP/1.1 200 ") == 30 and len(seen.requests) == 30
        assert peak[0] < 64 * 1024, f"the server grew {peak[0]} KB"


def test_credentials_in_the_upstream_url_are_used_and_never_shown() -> None:
    with recording_upstream(lambda handler, body: send(handler, 200, b"ok")) as (url, seen):
        secret_url = url.replace("http://", "http://someone:s3cret@")
        with serve_process("--upstream", secret_url, stderr=None) as server:
            assert exchange(
                server.address,
                b"GET /unsigned HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            ).startswith(b"HTTP/1.1 200 ")
            ((method, path, headers, _),) = seen.requests
            sent = {name.lower(): value for name, value in headers}
            assert sent["authorization"] == "Basic " + base64.b64encode(b"someone:s3cret").decode()
            assert "s3cret" not in sent.get("host", "") and path == "/unsigned"
    dead = secret_url  # the upstream has gone: its 502 names it without the password
    with serve_process("--upstream", dead) as server:
        answer = relayed(server)
        assert (
            answer.startswith(b"HTTP/1.1 502 ")
            and b"s3cret" not in answer
            and b"someone" not in answer
        )


def test_absolute_targets_go_on_in_origin_form_with_a_host() -> None:
    answer_ok = lambda handler, body: send(handler, 200, b"ok")  # noqa: E731
    with recording_upstream(answer_ok) as (url, seen), serve_process("--upstream", url) as server:
        relayed(server, b"http://elsewhere.example/bucket/key?list-type=2")
        old = b"GET /old HTTP/1.0\r\nAuthorization: %b\r\n\r\n" % S3_SIGNED.encode()
        exchange(server.address, old)
    (_, first, first_headers, _), (_, second, second_headers, _) = seen.requests
    hosts = [{n.lower(): v for n, v in h}.get("host") for h in (first_headers, second_headers)]
    assert first == "/bucket/key?list-type=2" and hosts[0] == "127.0.0.1"
    assert second == "/old" and hosts[1]  # none was sent: the upstream's own is


def _race(*calls: Any) -> list[bool]:
    """Run the calls at once; whether each succeeded."""
    succeeded = [False] * len(calls)

    def run(index: int) -> None:
        try:
            calls[index]()
            succeeded[index] = True
        except Exception:  # noqa: BLE001  (refused, as it may be)
            succeeded[index] = False

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return succeeded


@pytest.mark.parametrize("mode", ["moto", "upstream"])
def test_delete_user_and_a_create_for_that_user_never_both_succeed(mode: str) -> None:
    from upstreams import moto_server_process

    with moto_server_process() as moto_url:
        flags = ("--moto",) if mode == "moto" else ("--upstream", moto_url)
        with serve_process(*flags) as server:
            iam = client_for(server.url, retries={"total_max_attempts": 1})
            both = 0
            for round_ in range(12):
                name = f"racer{round_}"
                iam.create_user(UserName=name)
                outcome = _race(
                    lambda name=name: iam.delete_user(UserName=name),
                    lambda name=name: iam.create_service_specific_credential(
                        UserName=name, ServiceName=CC
                    ),
                )
                both += all(outcome)
            assert both == 0, "a user was deleted while it got a credential"


def test_moto_is_ready_when_the_server_says_so() -> None:
    for _ in range(2):
        with serve_process("--moto", "--users", "git-user") as server:
            iam = client_for(server.url, retries={"total_max_attempts": 1})
            made = iam.create_service_specific_credential(UserName="git-user", ServiceName=CC)
            assert made["ResponseMetadata"]["HTTPStatusCode"] == 200
            assert iam.get_user(UserName="git-user")["User"]["UserName"] == "git-user"


def test_no_cors_header_comes_back_from_moto_or_an_upstream() -> None:
    cors = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "x")]
    answer_ok = lambda handler, body: send(handler, 200, b"ok", cors)  # noqa: E731
    with recording_upstream(answer_ok) as (url, _), serve_process("--upstream", url) as server:
        answer = relayed(server)
        assert answer.startswith(b"HTTP/1.1 200 ") and b"access-control" not in answer.lower()
    with serve_process("--moto") as server:
        answer = relayed(server, b"/", b"Origin: http://127.0.0.1:%d\r\n" % server.address[1])
        assert answer.startswith(b"HTTP/1.1 ") and b"access-control" not in answer.lower()
