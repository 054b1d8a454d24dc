"""Hostile bytes against the CQL port of a real ``sscstub serve`` process: each gets an error
frame or a close within a deadline, while a Python Cassandra driver session signed in on the
same port is served throughout, and the server's peak memory stays under 64 MB."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import client_for
from served import Process, serve_process

pytest.importorskip(
    "cassandra.cluster", reason="the Python Cassandra driver (cassandra-driver) is not installed"
)
from cassandra.auth import PlainTextAuthProvider  # noqa: E402
from cassandra.cluster import Cluster  # noqa: E402

IDLE = 1.0
HOST = b"Host: 127.0.0.1\r\n"
OPTIONS = bytes([4, 0, 0, 1, 5, 0, 0, 0, 0])


class Target:
    def __init__(self, process: Process, session: Any) -> None:
        self.process, self.session = process, session
        assert process.cql is not None
        self.cql = process.cql

    def served_within(self, seconds: float) -> None:
        started = time.monotonic()
        row = self.session.execute("SELECT release_version FROM system.local").one()
        assert row[0] == "3.11.2" and time.monotonic() - started < seconds

    def connect(self) -> socket.socket:
        return socket.create_connection(self.cql, timeout=10)

    def peak_kb(self) -> int:
        with open(f"/proc/{self.process.process.pid}/status") as status:
            return int(next(x for x in status if x.startswith("VmHWM:")).split()[1])


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    logging.getLogger("cassandra").setLevel(logging.CRITICAL)
    flags = ("--users", "jane", "--cql-port", "0", "--idle-timeout", str(IDLE))
    with serve_process(*flags, "--max-connections", "8") as process:
        made = client_for(process.url).create_service_specific_credential(
            UserName="jane", ServiceName="cassandra.amazonaws.com"
        )["ServiceSpecificCredential"]
        assert process.cql is not None
        cluster = Cluster(
            [process.cql[0]], port=process.cql[1], protocol_version=4,
            auth_provider=PlainTextAuthProvider(made["ServiceUserName"], made["ServicePassword"]),
        )  # fmt: skip
        try:
            running = Target(process, cluster.connect())
            yield running
            peak = running.peak_kb()
            assert peak < 64 * 1024, f"the server's resident memory peaked at {peak} KiB"
        finally:
            cluster.shutdown()


def exchange(target: Target, data: bytes, deadline: float = 5.0) -> bytes:
    """Send ``data``; all the server sends back until it closes (within ``deadline``)."""
    with target.connect() as raw:
        with contextlib.suppress(OSError):
            raw.sendall(data)
        raw.settimeout(deadline)
        answer, started = b"", time.monotonic()
        while time.monotonic() - started < deadline:
            try:
                chunk = raw.recv(65536)
            except ConnectionResetError:
                return answer
            if not chunk:
                return answer
            answer += chunk
    pytest.fail(f"the CQL port kept the connection open past {deadline} s: {answer[:100]!r}")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"GET / HTTP/1.1\r\n" + HOST + b"\r\n", b"unsupported protocol version (71)"),
        (bytes.fromhex("16030100c4010000c00303") + bytes(32), b"unsupported protocol version (22)"),
        (bytes([4, 0, 0, 1, 5, 0x7F, 0, 0, 0]), b"Request is too big"),
        (bytes([4, 0, 0, 1, 5, 0xFF, 0xFF, 0xFF, 0xFF]), b"Request is too big"),
        (bytes([4, 0, 0, 1, 0x7E, 0, 0, 0, 0]), b"Unexpected message 126"),
        (bytes([4, 0, 0, 1, 7, 0, 0, 0, 4, 0, 0, 0, 99]), b"Unexpected message QUERY"),
        (bytes([4, 0, 0, 1, 1, 0, 0, 0, 2, 0, 9]), b"shorter than its contents"),
        (bytes([0x42, 0, 0, 0, 5, 0, 0, 0, 0]), b"unsupported protocol version (66)"),
    ],
    ids=["HTTP", "TLS hello", "too big", "negative length", "bad opcode", "query first",
         "short body", "DSE v2"],
)  # fmt: skip
def test_hostile_frames_get_an_error_frame_and_a_close(
    target: Target, data: bytes, words: bytes
) -> None:
    answer = exchange(target, data)
    assert answer[:1] == b"\x84" and answer[4] == 0 and words in answer, answer[:120]
    target.served_within(2)


def test_a_frame_trickled_in_is_cut_off_at_the_deadline(target: Target) -> None:
    with target.connect() as raw:
        started, closed = time.monotonic(), False
        raw.settimeout(0.05)
        for byte in bytes([4, 0, 0, 1, 5, 0, 0, 0, 200]) + bytes(200):
            with contextlib.suppress(OSError):
                raw.sendall(bytes([byte]))
            time.sleep(0.1)
            with contextlib.suppress(TimeoutError):
                if raw.recv(10) == b"":
                    closed = True
                    break
        assert closed and time.monotonic() - started < IDLE + 1.5
    target.served_within(2)


def test_a_connection_that_never_signs_in_is_closed(target: Target) -> None:
    with target.connect() as raw:
        raw.sendall(OPTIONS)  # then nothing
        started, answer = time.monotonic(), b""
        while chunk := raw.recv(65536):
            answer += chunk
        assert b"CQL_VERSION" in answer and time.monotonic() - started < IDLE + 1.5


def test_connections_past_the_cap_are_closed_and_the_session_goes_on(target: Target) -> None:
    held = [target.connect() for _ in range(6)]  # with the driver's two: the cap of 8
    try:
        time.sleep(0.2)
        with target.connect() as extra:
            extra.settimeout(2)
            with contextlib.suppress(ConnectionResetError):
                assert extra.recv(10) == b""
        target.served_within(2)
    finally:
        for sock in held:
            sock.close()


def test_a_client_that_never_reads_is_dropped(target: Target) -> None:
    # Requests go out until the server stops reading them (its answers fill a 4 KiB window),
    # then nothing for IDLE + 3 s; only then does the client read. A connection dropped ends
    # with what was already on its way (a few KiB); one kept would first deliver the answers it
    # holds (its buffer is over 64 KiB while it waits). (Waiting for a send to fail instead
    # leaves it to TCP's zero-window probes, which back off to seconds on a loaded machine.)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(target.cql)
    sock.setblocking(False)
    started = last_sent = time.monotonic()
    received, ended = 0, False
    try:
        while time.monotonic() - last_sent < IDLE + 3 and time.monotonic() - started < 60:
            try:
                sock.send(OPTIONS * 500)
                last_sent = time.monotonic()
            except BlockingIOError:
                time.sleep(0.05)
            except (ConnectionResetError, BrokenPipeError):
                break
        sock.settimeout(10)
        while not ended:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            received, ended = received + len(chunk), not chunk
    finally:
        sock.close()
    assert received < 64 * 1024, f"a client that never reads was kept: {received} bytes after"
    target.served_within(2)


def test_a_client_that_keeps_sending_is_not_cut_off(target: Target) -> None:
    # A driver pipelining requests: every read ends inside a frame (the stream is 4 bytes out of
    # step), for three idle timeouts; each frame arrives whole well within one.
    answer = len(exchange(target, OPTIONS, deadline=IDLE + 5))  # one SUPPORTED, then the close
    frames, received = 0, b""
    with target.connect() as raw:
        raw.settimeout(10)  # (the server, not this client, keeps the deadline)
        raw.sendall(OPTIONS[:4])
        started = time.monotonic()
        while time.monotonic() - started < 3 * IDLE:
            raw.sendall(OPTIONS[4:] + OPTIONS * 20 + OPTIONS[:4])
            frames += 21
            received += raw.recv(65536)
            time.sleep(0.02)
        while len(received) < frames * answer:
            chunk = raw.recv(65536)
            assert chunk, f"closed after {len(received) // answer} of {frames} answers"
            received += chunk
    target.served_within(2)
