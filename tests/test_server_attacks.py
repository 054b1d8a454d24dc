"""Hostile bytes against a real `sscstub serve` process: each attack gets the answer it must get,
within a deadline, and a normal boto3 client on another connection is served meanwhile."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from conftest import client_for

IDLE = 1.0  # the server's --idle-timeout in these tests


class Endpoint:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        parts = urlsplit(url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 0)
        self.iam = client_for(url, retries={"total_max_attempts": 1}, read_timeout=5)

    def rss_kb(self, field: str = "VmRSS") -> int:
        """The process's resident memory now (or, with "VmHWM", at its peak), in KiB."""
        with open(f"/proc/{self.process.pid}/status") as status:
            line = next(x for x in status if x.startswith(f"{field}:"))
        return int(line.split()[1])

    def served_within(self, seconds: float) -> float:
        """A normal client's call on its own connection: how long it took (fails past)."""
        started = time.monotonic()
        self.iam.list_service_specific_credentials(UserName="jane")
        took = time.monotonic() - started
        assert took < seconds, f"a normal client waited {took:.1f} s"
        return took

    def connect(self) -> socket.socket:
        return socket.create_connection(self.address, timeout=10)


@contextlib.contextmanager
def served(idle: float = IDLE) -> Iterator[Endpoint]:
    """A real `sscstub serve` process, stopped with SIGTERM at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sscstub", "serve", "--port", "0", "--users", "jane",
         "--idle-timeout", str(idle)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    url = ""
    for line in process.stdout:
        if line.startswith("sscstub serving IAM at "):
            url = line.split()[-1]
        if "ready" in line:
            break
    endpoint = Endpoint(process, url)
    try:
        yield endpoint
        peak = endpoint.rss_kb("VmHWM")  # every attack on it included (issue #25: under 64 MB)
        assert peak < 64 * 1024, f"the server's resident memory peaked at {peak} KiB"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    with served() as running:
        yield running


def exchange(endpoint: Endpoint, data: bytes, deadline: float = 5.0) -> bytes:
    """Send ``data``; everything the server sends back until it closes (within ``deadline``)."""
    with endpoint.connect() as raw:
        raw.sendall(data)
        raw.settimeout(deadline)
        answer = b""
        started = time.monotonic()
        while time.monotonic() - started < deadline:
            chunk = raw.recv(65536)
            if not chunk:
                return answer
            answer += chunk
    pytest.fail(f"the server kept the connection open past {deadline} s: {answer[:200]!r}")


HOST = b"Host: 127.0.0.1\r\n"


@pytest.mark.parametrize(
    ("attack", "data", "status", "code"),
    [
        ("negative chunk size", b"POST / HTTP/1.1\r\n" + HOST
         + b"Transfer-Encoding: chunked\r\n\r\n-6\r\nabcdef\r\n0\r\n\r\n", 400, b"MalformedRequest"),
        ("TLS ClientHello", bytes.fromhex("16030100c4010000c00303") + bytes(range(32)), 400,
         b"MalformedRequest"),
        ("LF-only lines", b"POST / HTTP/1.1\n" + b"Host: 127.0.0.1\nContent-Length: 0\n\n", 400,
         b"MalformedRequest"),
        ("two Content-Lengths", b"POST / HTTP/1.1\r\n" + HOST
         + b"Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde", 400, b"MalformedRequest"),
        ("Content-Length with chunked", b"POST / HTTP/1.1\r\n" + HOST
         + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
         b"MalformedRequest"),
        ("gzip, chunked", b"POST / HTTP/1.1\r\n" + HOST
         + b"Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 501,
         b"NotImplemented"),
        ("an oversized head", b"GET / HTTP/1.1\r\n" + HOST + b"X-Pad: " + b"a" * 70_000
         + b"\r\n\r\n", 431, b"RequestHeaderTooLarge"),
        ("an oversized body", b"POST / HTTP/1.1\r\n" + HOST + b"Content-Length: 9999999\r\n\r\n",
         413, b"RequestEntityTooLarge"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)  # fmt: skip
def test_malformed_requests_get_an_xml_error_and_are_closed(
    endpoint: Endpoint, attack: str, data: bytes, status: int, code: bytes
) -> None:
    answer = exchange(endpoint, data)
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:100]
    assert b"<ErrorResponse" in answer and code in answer and b"connection: close" in answer.lower()
    endpoint.served_within(2)


def test_http_1_0_and_connection_close_are_honoured(endpoint: Endpoint) -> None:
    query = b"/?Action=ListServiceSpecificCredentials&UserName=jane"
    for head in (b"GET %s HTTP/1.0\r\n" % query, b"GET %s HTTP/1.1\r\n" % query):
        closing = b"" if head.endswith(b"1.0\r\n") else b"Connection: keep-alive, close\r\n"
        answer = exchange(endpoint, head + HOST + closing + b"\r\n", deadline=2)
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1") == 1


def test_expect_100_continue_is_answered_before_the_body(endpoint: Endpoint) -> None:
    body = b"Action=ListServiceSpecificCredentials&UserName=jane"
    with endpoint.connect() as raw:
        raw.sendall(b"POST / HTTP/1.1\r\n" + HOST + b"Expect: 100-continue\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))  # fmt: skip
        assert raw.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        raw.sendall(body)
        assert b"HTTP/1.1 200 OK" in raw.recv(65536)


def test_a_request_trickled_in_too_slowly_gets_408(endpoint: Endpoint) -> None:
    with endpoint.connect() as raw:
        started = time.monotonic()
        raw.sendall(b"POST / HTTP/1.1\r\n")
        answer = b""
        for _ in range(40):  # a byte every 0.1 s keeps the connection busy, never finishing
            raw.sendall(b"X")
            time.sleep(0.1)
            raw.settimeout(0.01)
            try:
                answer += raw.recv(65536)
            except TimeoutError:
                continue
            if answer:
                break
        assert answer.startswith(b"HTTP/1.1 408 ") and b"RequestTimeout" in answer
        assert time.monotonic() - started < IDLE + 1.5


@pytest.mark.parametrize(
    ("piece", "status"),
    [(b"\r\n", None), (b"X-Pad: " + b"a" * 16_000 + b"\r\n", 431)],
    ids=["blank lines before a request", "a head growing past 64 KiB"],
)
def test_a_drip_that_never_finishes_a_head_is_cut_off(
    endpoint: Endpoint, piece: bytes, status: int | None
) -> None:
    """Blank lines begin no request, so uvicorn's timer, stopped by any byte, would never run
    again; a head sent in pieces is counted across them."""
    with endpoint.connect() as raw:
        started = time.monotonic()
        if status is not None:
            raw.sendall(b"GET / HTTP/1.1\r\n" + HOST)
        answer, closed = b"", False
        raw.settimeout(0.05)
        while not closed and time.monotonic() - started < IDLE + 3:
            with contextlib.suppress(OSError):
                raw.sendall(piece)
            time.sleep(0.1)
            with contextlib.suppress(TimeoutError):
                while chunk := raw.recv(65536):
                    answer += chunk
                closed = True
        assert closed and time.monotonic() - started < IDLE + 1.5
        if status is not None:
            assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:100]
    endpoint.served_within(2)


def test_a_pipeline_is_answered_to_a_depth_then_closed(endpoint: Endpoint) -> None:
    """httptools parses every request a read holds, and uvicorn queues them all: past 16
    waiting, those queued are answered and the connection closes, unread."""
    get = b"GET /?Action=ListServiceSpecificCredentials&UserName=jane HTTP/1.1\r\n" + HOST + b"\r\n"
    close = get.replace(HOST, HOST + b"Connection: close\r\n")
    shallow = exchange(endpoint, get * 9 + close)  # a client that pipelines: all answered
    assert shallow.count(b"HTTP/1.1 200 ") == 10
    deep = exchange(endpoint, get * 2000)
    assert 16 < deep.count(b"HTTP/1.1 200 ") < 100 and deep.endswith(
        b"</ListServiceSpecificCredentialsResponse>"
    )
    endpoint.served_within(2)


def test_idle_connections_are_closed_and_do_not_lock_others_out(endpoint: Endpoint) -> None:
    idle = [endpoint.connect() for _ in range(200)]
    try:
        endpoint.served_within(2)
        time.sleep(IDLE + 0.5)
        for sock in idle:
            sock.settimeout(2)
            assert sock.recv(10) == b"", "an idle connection was kept"
    finally:
        for sock in idle:
            sock.close()


def test_a_client_that_never_reads_its_answers_is_not_buffered_for(endpoint: Endpoint) -> None:
    for _ in range(30):  # something to read back: each answer is a few KB of JSON
        endpoint.iam.list_service_specific_credentials(UserName="jane")
    before = endpoint.rss_kb()
    request = b"GET /_sscstub/calls HTTP/1.1\r\n" + HOST + b"\r\n"
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(endpoint.address)
    sock.setblocking(False)
    sent, dropped = 0, None
    started = time.monotonic()
    try:
        while time.monotonic() - started < IDLE + 3:  # pipeline as fast as the server reads
            try:
                sent += sock.send(request * 100)
            except BlockingIOError:
                time.sleep(0.05)  # the server stopped reading us
            except (ConnectionResetError, BrokenPipeError):
                dropped = time.monotonic() - started
                break
            if sent > 1_000_000:
                endpoint.served_within(2)  # others are served while this goes on
        grown = endpoint.rss_kb() - before
        assert grown < 64 * 1024, f"the server grew {grown} KB for {sent} bytes it did not answer"
    finally:
        sock.close()
    assert dropped is not None and dropped < IDLE + 3, "a client that never reads was kept"
    endpoint.served_within(2)


def test_a_million_one_byte_chunks_cost_linear_time_and_stop_at_the_cap() -> None:
    """1.1 million one-byte chunks (6.6 MB of framing for 1.1 MB of body), against a server
    whose deadline leaves them time to arrive: the body cap, not the clock, stops them. The
    client, still sending, reads the 413: the server lingers (closing at once, with bytes
    unread, resets the connection and the answer with it)."""
    head = b"POST / HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n"
    chunks = b"1\r\na\r\n" * 1_100_000
    latencies: list[float] = []
    stop = threading.Event()

    def meanwhile() -> None:
        while not stop.is_set():
            latencies.append(endpoint.served_within(5))

    with served(idle=10) as endpoint:
        other = threading.Thread(target=meanwhile)
        other.start()
        started = time.monotonic()
        try:
            answer = exchange(endpoint, head + chunks, deadline=10)
        finally:
            stop.set()
            other.join()
    assert answer.startswith(b"HTTP/1.1 413 ") and time.monotonic() - started < 10
    assert latencies and max(latencies) < 2


def test_sigterm_stops_it_after_all_of_that(endpoint: Endpoint) -> None:
    endpoint.served_within(2)
    assert endpoint.process.poll() is None


def test_connections_past_the_cap_get_503_and_the_server_goes_on() -> None:
    from sscstub._options import Options
    from sscstub._server import Server, Settings

    settings = Settings(max_connections=4, idle_timeout=IDLE)
    with Server(Options(users=("jane",)), settings) as server:
        address = (server.host, server.port)
        held = [socket.create_connection(address) for _ in range(4)]
        try:
            time.sleep(0.1)
            with socket.create_connection(address, timeout=5) as extra:
                answer = extra.recv(65536)
            assert answer.startswith(b"HTTP/1.1 503 ") and b"ServiceUnavailable" in answer
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.1)
        assert client_for(server.url).list_service_specific_credentials(UserName="jane")
