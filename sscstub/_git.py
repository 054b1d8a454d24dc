"""CodeCommit's HTTPS git, locally: ``/v1/repos/<name>`` served by git's own smart-HTTP CGI
(``git http-backend``) behind HTTP Basic authentication with CodeCommit credentials.

The route checks the password first (on the loop; a refused one is 403, no credentials 401
with a challenge), then runs the CGI as an asyncio subprocess in a process group of its own:
the request body is written to it as it arrives, under the endpoint's pace rules, and its output
is passed on in pieces. It is killed, with its group, when the client leaves, the body stops
short, the time limit passes or the server stops. The repositories are a folder beside the
``--state`` file (or a temporary one), listed from disk, made under a file lock.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import SscStubError
from ._replies import Outgoing, Streamed, text_reply

if TYPE_CHECKING:
    from ._engine import Engine
    from ._routes import Incoming

PREFIX = "/v1/repos/"
CODECOMMIT_SERVICE = "codecommit.amazonaws.com"
# CodeCommit: 1 to 100 letters, digits, '.', '_' and '-'; '.' and '..' are not names, and a
# '.git' suffix would be read as part of a path here.
_NAME = re.compile(r"[\w.-]{1,100}", re.ASCII)
# What the smart-HTTP protocol asks for after the name (the dumb protocol is not served).
ROUTES = re.compile(r"(/info/refs|/git-upload-pack|/git-receive-pack|/HEAD)?")
CGI_TIME_LIMIT = 300.0  # seconds one git http-backend run may take
PUSHES_PER_CLIENT = 4  # pushes one client address may have under way at once
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
    git = shutil.which("git")
    if found or git is None:
        return found
    try:
        exec_path = subprocess.run(
            [git, "--exec-path"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    candidate = os.path.join(exec_path, "git-http-backend")
    return candidate if os.access(candidate, os.X_OK) else None


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


class Repos:
    """The server's git repositories: a folder, listed from disk."""

    def __init__(self, state: str | None, create_on_push: bool) -> None:
        self.create_on_push = create_on_push
        self.backend = http_backend()
        self._lock = threading.Lock()
        self._state = state
        self._root: Path | None = None  # made at first use (a temporary one)

    @property
    def root(self) -> Path:
        """``<state file>-repos`` beside the state file, else a temporary folder."""
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

    def names(self) -> list[str]:
        if self._state is None and self._root is None:
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "HEAD").is_file())

    def exists(self, name: str) -> bool:
        return (self.root / name / "HEAD").is_file()

    def environment(self) -> dict[str, str]:
        """What every git run here gets, and nothing else (no GIT_*, no user config)."""
        return {
            "PATH": os.defpath,
            "HOME": str(self.root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "LANG": "C",
        }

    def add(self, name: str) -> None:
        """A new, empty bare repository (one that exists is left as it is). Made under a lock
        on the folder, so servers sharing it never race ``git init``."""
        if not valid_repo_name(name):
            raise SscStubError(
                f"{name!r} is not a CodeCommit repository name.",
                "Use 1 to 100 letters, digits, '.', '_' or '-', not ending in .git.",
                "where-the-credentials-are-used",
            )
        git = shutil.which("git")
        if git is None or self.backend is None:
            raise SscStubError(
                "git is not installed, so there is nothing to serve repositories with.",
                "Install git (Debian: apt-get install git).",
                "where-the-credentials-are-used",
            )
        root = self.root
        with open(root / ".lock", "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            if self.exists(name):
                return
            run = {"env": self.environment(), "check": True, "timeout": 60, "capture_output": True}
            made = root / f".{name}.new"
            shutil.rmtree(made, ignore_errors=True)
            subprocess.run(
                [git, "init", "--bare", "--quiet", "--initial-branch=main", str(made)], **run
            )  # type: ignore[call-overload]
            subprocess.run([git, "config", "http.receivepack", "true"], cwd=made, **run)  # type: ignore[call-overload]
            made.rename(root / name)


class GitRoute:
    """``/v1/repos/<name>/...`` on the endpoint (runs in ``subprocess``)."""

    def __init__(
        self,
        engine: Engine,
        repos: Repos,
        in_state: Callable[[Callable[[bool], Any]], Awaitable[Any]],
        idle: float,
    ) -> None:
        self.engine = engine
        self.repos = repos
        self.in_state = in_state
        self.idle = idle
        self.running: set[asyncio.subprocess.Process] = set()
        self.pushes: dict[str, int] = {}

    def check(self, operation: str, login: str, password: str, wait: bool) -> bool:
        """Whether ``password`` is current for ``login`` (a CodeCommit ServiceUserName); logged
        as ``codecommit:<operation>``, never with the password."""
        return self.engine.check_password(
            f"codecommit:{operation}", login, password, CODECOMMIT_SERVICE, wait
        )

    async def handle(self, incoming: Incoming) -> Outgoing:
        repos = self.repos
        if repos.backend is None:
            return text_reply(501, "sscstub found no git http-backend: install git to serve repos.")
        name, _, rest = incoming.path[len(PREFIX) :].partition("/")
        name, rest = urllib.parse.unquote(name), f"/{rest}" if rest else ""
        if not valid_repo_name(name):
            return text_reply(
                400,
                f"{name[:120]!r} is not a CodeCommit repository name: 1 to 100 letters, digits,"
                " '.', '_' or '-', not ending in .git.",
            )
        if not ROUTES.fullmatch(rest) or incoming.method not in ("GET", "POST"):
            return text_reply(
                404,
                f"{incoming.method[:20]} {incoming.path[:200]} is not part of git's smart HTTP.",
            )
        service = urllib.parse.parse_qs(incoming.query).get("service", [""])[0]
        pushing = rest == "/git-receive-pack" or service == "git-receive-pack"
        login = basic_auth(incoming.headers.get("authorization", ""))
        if login is None:  # git asks for credentials, then sends them
            return text_reply(
                401,
                "Authentication required.",
                {"WWW-Authenticate": 'Basic realm="sscstub CodeCommit"'},
            )
        operation = "GitPush" if pushing else "GitPull"
        if not await self.in_state(lambda wait: self.check(operation, *login, wait)):
            # CodeCommit answers refused credentials 403, with no challenge: git stops with
            # "The requested URL returned error: 403" instead of asking again.
            return text_reply(403, "Access denied.")
        if not repos.exists(name):
            if not (pushing and repos.create_on_push):
                return text_reply(404, f"Repository {name} does not exist.")
            await asyncio.to_thread(repos.add, name)
        if not pushing:
            return await self._cgi(incoming, name, rest, login[0])
        client = incoming.client
        if self.pushes.get(client, 0) >= PUSHES_PER_CLIENT:
            return text_reply(
                503, "Too many pushes at once from this client.", {"Retry-After": "1"}
            )
        self.pushes[client] = self.pushes.get(client, 0) + 1
        try:
            answer = await self._cgi(incoming, name, rest, login[0])
        except BaseException:
            self._pushed(client)
            raise
        return answer._replace(close=_also(answer.close, lambda: self._pushed(client)))

    def _pushed(self, client: str) -> None:
        left = self.pushes.get(client, 1) - 1
        if left:
            self.pushes[client] = left
        else:
            self.pushes.pop(client, None)

    async def _cgi(self, incoming: Incoming, name: str, rest: str, user: str) -> Streamed:
        """One smart-HTTP request, answered by git http-backend. The body is given to it with no
        CONTENT_LENGTH: git reads to the end of its input, so a body that stops short ends
        its input, never leaves it waiting for bytes that will not come."""
        headers = incoming.headers
        env = {
            **self.repos.environment(),
            "GIT_PROJECT_ROOT": str(self.repos.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": incoming.method,
            "PATH_INFO": f"/{name}{rest}",
            "QUERY_STRING": incoming.query,
            "REMOTE_USER": user,
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": headers.get("content-type", ""),
        }
        for header in ("content-encoding", "git-protocol"):
            if header in headers:
                env["HTTP_" + header.upper().replace("-", "_")] = headers[header]
        process = await asyncio.create_subprocess_exec(
            self.repos.backend or "git-http-backend",
            env=env,
            cwd=self.repos.root,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group: killed whole
        )
        self.running.add(process)
        loop = asyncio.get_running_loop()
        limit = loop.call_later(CGI_TIME_LIMIT, _kill, process)
        feeder = asyncio.ensure_future(self._feed(process, incoming))

        async def close() -> None:
            limit.cancel()
            feeder.cancel()
            _kill(process)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feeder
            await process.wait()
            self.running.discard(process)

        assert process.stdout is not None
        head = asyncio.ensure_future(asyncio.wait_for(_cgi_head(process.stdout), CGI_TIME_LIMIT))
        try:
            # git reads its whole input before it answers: a body that broke the pace rules or
            # was cut off is answered as such (408, or nothing: the client left), not as git's
            failure = await feeder
            if failure is not None:
                raise failure
            status, passed, first = await head
        except BaseException:
            head.cancel()
            await close()
            raise

        async def chunks() -> AsyncIterator[bytes]:
            if first:
                yield first
            assert process.stdout is not None
            while piece := await process.stdout.read(_PIECE):
                yield piece

        return Streamed(status, passed, chunks(), close)

    async def _feed(
        self, process: asyncio.subprocess.Process, incoming: Incoming
    ) -> BaseException | None:
        """The body, into git's input as it arrives; git is killed (and the reason returned)
        if the client breaks off or sends too slowly: it must not run on, waiting."""
        stdin = process.stdin
        assert stdin is not None
        try:
            if incoming.has_unread_body:
                async for piece in incoming.stream(self.idle):
                    stdin.write(piece)
                    await stdin.drain()
            stdin.close()
        except Exception as error:  # noqa: BLE001  (whatever it was, git goes, and it is said)
            _kill(process)
            return error
        return None

    async def stop(self) -> None:
        """Kill every git run under way (the server stops)."""
        for process in list(self.running):
            _kill(process)
            await process.wait()


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def _also(
    first: Callable[[], Awaitable[None]], then: Callable[[], None]
) -> Callable[[], Awaitable[None]]:
    async def both() -> None:
        try:
            await first()
        finally:
            then()

    return both


async def _cgi_head(out: asyncio.StreamReader) -> tuple[int, list[tuple[str, str]], bytes]:
    """The CGI's header lines (its ``Status:`` among them), and what followed them."""
    data = b""
    while (end := re.search(rb"\r?\n\r?\n", data)) is None:
        piece = await out.read(_PIECE)
        if not piece or len(data) > 64 * 1024:
            raise ConnectionError("git http-backend sent no headers")
        data += piece
    status, headers = 200, []
    for line in data[: end.start()].decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().partition(" ")[0])
        elif name and name.lower() not in ("content-length", "transfer-encoding", "connection"):
            headers.append((name.strip(), value.strip()))
    return status, headers, data[end.end() :]
