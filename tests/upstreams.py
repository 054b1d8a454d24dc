"""Upstream endpoints for the composition tests: a real ``moto_server`` process, and a small
recording HTTP server whose answers a test scripts (to see exactly what a relay passes on)."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server_process() -> Iterator[str]:
    """``python -m moto.server`` on a free port, as users run it; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


class Seen:
    """What the recording upstream received: (method, path, headers as a list, body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
        self.release = threading.Event()
        self.release.set()
        self.arrived = threading.Event()


Script = Callable[["http.server.BaseHTTPRequestHandler", bytes], None]


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client (sscstub's relay) leaving mid-answer is what some tests do. socketserver
        would print the traceback from the handler's thread, which on Python 3.11 can race
        the main thread's parse (CPython gh-106905: a SystemError in hypothesis)."""


@contextmanager
def recording_upstream(answer: Script) -> Iterator[tuple[str, Seen]]:
    """An HTTP/1.1 server that records each request and answers it with ``answer``."""
    seen = Seen()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def handle_one(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            seen.requests.append((self.command, self.path, list(self.headers.items()), body))
            seen.arrived.set()
            seen.release.wait(30)
            answer(self, body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one

    server = _QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        seen.release.set()
        server.shutdown()
        server.server_close()


def send(
    handler: http.server.BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
    chunked: bool = False,
) -> None:
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    if chunked:
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for start in range(0, len(body), 1000):
            piece = body[start : start + 1000]
            handler.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece))
        handler.wfile.write(b"0\r\n\r\n")
    else:
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


class RawUpstream:
    """An upstream that answers each request with the bytes a test gives (broken HTTP on
    purpose), and counts the requests it read."""

    def __init__(self, answer: Callable[[int, bytes], bytes | None]) -> None:
        self.answer = answer  # (request number, request) -> bytes to send, None: close at once
        self.requests: list[bytes] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    data += piece
                head, _, data = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(data) < length:
                    data += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + data[:length])
                data = data[length:]
                reply = self.answer(len(self.requests), self.requests[-1])
                if reply is None:
                    return
                conn.sendall(reply)

    def close(self) -> None:
        self.listener.close()
