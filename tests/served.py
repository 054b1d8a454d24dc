"""A real ``sscstub serve`` process for the attack tests, and raw-socket helpers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit


class Process:
    """A running ``sscstub serve``: its URL, address and pid."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self.cql: tuple[str, int] | None = None  # the banner's "cql HOST:PORT"
        self.ca_file: str | None = None
        parts = urlsplit(url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 0)

    def connect(self, timeout: float = 10) -> socket.socket:
        return socket.create_connection(self.address, timeout=timeout)

    def rss_kb(self) -> int:
        with open(f"/proc/{self.process.pid}/status") as status:
            return int(next(x for x in status if x.startswith("VmRSS:")).split()[1])

    def children(self, name: str) -> list[int]:
        """Processes named ``name`` whose session or parent is this server's."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            parent = int(fields[1])
            if comm == name[:15] and parent == self.process.pid:  # (comm is cut at 15)
                found.append(int(entry.name))
        return found


@contextlib.contextmanager
def serve_process(
    *flags: str, stderr: int | None = subprocess.PIPE, launcher: str | None = None
) -> Iterator[Process]:
    """``python -m sscstub serve --port 0 FLAGS``, until SIGTERM at the end (which must stop
    it within 10 s). ``stderr=subprocess.PIPE`` and never read: a pipe nobody reads.
    ``launcher``: Python source that runs in its place (to change something first)."""
    start = ["-m", "sscstub"] if launcher is None else ["-c", launcher]
    process = subprocess.Popen(
        [sys.executable, *start, "serve", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    url, cql, ca_file = "", None, None
    for line in process.stdout:
        if line.startswith("sscstub serving IAM at "):
            url = line.split()[-1]
        if line.startswith("cql "):
            host, _, port = line.split()[1].rpartition(":")
            cql = (host, int(port))
        if "the CA that signed" in line:
            ca_file = line.split()[-1]
        if "ready" in line:
            break
    try:
        assert url, f"sscstub serve did not start: {process.poll()}"
        served = Process(process, url)
        served.cql, served.ca_file = cql, ca_file
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate()


def exchange(address: tuple[str, int], data: bytes, deadline: float = 5.0) -> bytes:
    """Send ``data``; everything the server sends back until it closes (within ``deadline``)."""
    with socket.create_connection(address, timeout=deadline) as raw:
        raw.sendall(data)
        answer, started = b"", time.monotonic()
        while time.monotonic() - started < deadline:
            try:
                chunk = raw.recv(65536)
            except (ConnectionResetError, TimeoutError):
                return answer
            if not chunk:
                return answer
            answer += chunk
    raise AssertionError(f"the server kept the connection open past {deadline} s: {answer[:200]!r}")


def within(seconds: float, condition: object, message: str = "") -> None:
    """Wait until ``condition()`` holds (polling), failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(message or f"not so within {seconds} s")
        time.sleep(0.05)


def locked_while(flag: Path) -> str:
    """A ``serve_process`` launcher whose reads of the state file fail as a locked or broken
    file fails them (SQLite's OperationalError) while ``flag`` exists: in WAL mode another
    process's lock never blocks a read, so this is how a test gets that answer."""
    return textwrap.dedent(f"""
        import os, sqlite3, sys
        from sscstub import _durable
        real = _durable.Durable._fresh
        def fresh(self, configured):
            if os.path.exists({str(flag)!r}):
                raise sqlite3.OperationalError("database is locked")
            return real(self, configured)
        _durable.Durable._fresh = fresh
        from sscstub._cli import main
        sys.exit(main(sys.argv[1:]))
    """)
