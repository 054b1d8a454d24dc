"""CodeCommit's HTTPS git, locally: ``/v1/repos/<name>`` served by git's own smart-HTTP CGI
program (``git http-backend``), behind HTTP Basic authentication with the service-specific
credentials of the server's engine (a CodeCommit ``ServiceUserName`` and ``ServicePassword``).

The repositories belong to the server (a folder beside its ``--state`` file, or a temporary one
removed when it stops). The CGI runs with an environment made here (nothing inherited: no
``GIT_*``, no user or system git config) and a time limit; the request body is fed to it as it
arrives and its output is passed on in pieces, so a large push or clone is never held whole.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from ._errors import SscStubError
from ._http import Reply, Request, Streamed
from ._query import http_date

PREFIX = "/v1/repos/"
# CodeCommit: 1 to 100 letters, digits, '.', '_' and '-'; '.' and '..' are not names, and a
# '.git' suffix would be read as part of a path here.
_NAME = re.compile(r"[\w.-]{1,100}", re.ASCII)
# What the smart-HTTP protocol asks for after the name (the dumb protocol is not served).
ROUTES = re.compile(r"(/info/refs|/git-upload-pack|/git-receive-pack|/HEAD)?")
CGI_TIME_LIMIT = 300.0  # seconds one git http-backend run may take
_PIECE = 64 * 1024


def valid_repo_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and _NAME.fullmatch(name) is not None
        and name not in (".", "..")
        and not name.lower().endswith(".git")
    )


def http_backend() -> str | None:
    """git's smart-HTTP CGI program: on PATH, or in git's exec path; None without git."""
    found = shutil.which("git-http-backend")
    if found:
        return found
    git = shutil.which("git")
    if git is None:
        return None
    try:
        exec_path = subprocess.run(
            [git, "--exec-path"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    candidate = os.path.join(exec_path, "git-http-backend")
    return candidate if os.access(candidate, os.X_OK) else None


class Repos:
    """The server's git repositories, and git http-backend runs over them."""

    def __init__(self, state: str | None, create_on_push: bool) -> None:
        self.create_on_push = create_on_push
        self._backend = http_backend()
        self._lock = threading.RLock()
        self._state = state
        self._root: Path | None = None  # made at first use

    @property
    def root(self) -> Path:
        """The folder: ``<state file>-repos`` beside the state file, else a temporary one."""
        with self._lock:
            if self._root is None:
                if self._state is not None:
                    self._root = Path(f"{self._state}-repos")
                    self._root.mkdir(mode=0o700, exist_ok=True)
                else:
                    self._root = Path(tempfile.mkdtemp(prefix="sscstub-repos-"))
            return self._root

    def close(self) -> None:
        """Remove a temporary folder (one beside a state file stays, as the state does)."""
        if self._state is None and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    @property
    def available(self) -> bool:
        return self._backend is not None

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if (p / "HEAD").is_file())

    def exists(self, name: str) -> bool:
        return (self.root / name / "HEAD").is_file()

    def _environment(self) -> dict[str, str]:
        """What every git run here gets, and nothing else."""
        return {
            "PATH": os.defpath,
            "HOME": str(self.root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "LANG": "C",
        }

    def add(self, name: str) -> None:
        """A new, empty bare repository (adding one that exists does nothing)."""
        if not valid_repo_name(name):
            raise SscStubError(
                f"{name!r} is not a CodeCommit repository name.",
                "Use 1 to 100 letters, digits, '.', '_' or '-', not ending in .git.",
                "where-the-credentials-are-used",
            )
        git = shutil.which("git")
        if git is None:
            raise SscStubError(
                "git is not installed, so there is nothing to serve repositories with.",
                "Install git (Debian: apt-get install git).",
                "where-the-credentials-are-used",
            )
        root = self.root
        with self._lock:
            if self.exists(name):
                return
            subprocess.run(
                [git, "init", "--bare", "--quiet", "--initial-branch=main", str(root / name)],
                env=self._environment(),
                check=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
                capture_output=True,
            )
            subprocess.run(
                [git, "config", "http.receivepack", "true"],
                cwd=root / name,
                env=self._environment(),
                check=True,
                timeout=60,
                capture_output=True,
            )

    def serve(self, request: Request, name: str, rest: str, query: str, user: str) -> Streamed:
        """One smart-HTTP request, answered by git http-backend."""
        assert self._backend is not None  # noqa: S101  (the front checks `available`)
        headers = request.headers
        env = {
            **self._environment(),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": request.method,
            "PATH_INFO": f"/{name}{rest}",
            "QUERY_STRING": query,
            "REMOTE_USER": user,
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": headers.get("content-type", ""),
        }
        if "content-length" in headers and request.stream is None:
            env["CONTENT_LENGTH"] = str(len(request.body))
        elif "content-length" in headers:
            env["CONTENT_LENGTH"] = headers["content-length"]
        for header in ("content-encoding", "git-protocol"):
            if header in headers:
                env["HTTP_" + header.upper().replace("-", "_")] = headers[header]
        process = subprocess.Popen(
            [self._backend],
            env=env,
            cwd=self.root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        limit = threading.Timer(CGI_TIME_LIMIT, process.kill)
        limit.daemon = True
        limit.start()
        feeder = threading.Thread(target=_feed, args=(process, request), daemon=True)
        feeder.start()
        assert process.stdout is not None  # noqa: S101
        out = process.stdout.fileno()

        def close() -> None:
            limit.cancel()
            if process.poll() is None:
                process.kill()
            process.wait()
            feeder.join(5)
            if process.stdout is not None:
                process.stdout.close()

        try:
            status, reason, passed, first = _cgi_head(out)
        except ValueError:
            close()
            raise
        passed.append(("Transfer-Encoding", "chunked"))

        def chunks() -> Iterator[bytes]:
            if first:
                yield first
            while True:
                piece = os.read(out, _PIECE)
                if not piece:
                    return
                yield piece

        return Streamed(status, reason, passed, chunks(), True, close)


def _feed(process: subprocess.Popen[bytes], request: Request) -> None:
    """Hand the request body to the CGI as it arrives (its output is read meanwhile)."""
    stdin = process.stdin
    assert stdin is not None  # noqa: S101
    # OSError, ValueError: the CGI ended, or the client broke off: git sees the input end.
    with contextlib.suppress(OSError, ValueError):
        try:
            if request.stream is None:
                stdin.write(request.body)
            else:
                while piece := request.stream.read(CGI_TIME_LIMIT):
                    stdin.write(piece)
        finally:
            stdin.close()


def _cgi_head(out: int) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """The CGI's header lines (its ``Status:`` among them), and what followed them."""
    data = b""
    while True:
        end = re.search(rb"\r?\n\r?\n", data)
        if end is not None:
            break
        piece = os.read(out, _PIECE)
        if not piece or len(data) > 64 * 1024:
            raise ValueError("git http-backend sent no headers")
        data += piece
    status, reason = 200, "OK"
    headers = []
    for line in data[: end.start()].decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            code, _, reason = value.strip().partition(" ")
            status = int(code)
        elif name and name.lower() not in ("content-length", "transfer-encoding", "connection"):
            headers.append((name.strip(), value.strip()))
    return status, reason or "OK", headers, data[end.end() :]


def text_reply(status: int, message: str, extra: Mapping[str, str] | None = None) -> Reply:
    """A plain-text answer, as a git client prints it."""
    data = f"{message}\n".encode()
    headers = {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Length": str(len(data)),
        "Date": http_date(int(time.time())),
        **(extra or {}),
    }
    return status, headers, data


def basic_auth(authorization: str) -> tuple[str, str] | None:
    """(user, password) of a Basic Authorization header, or None."""
    if authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon and user else None
