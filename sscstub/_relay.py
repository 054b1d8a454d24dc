"""What the endpoint does with requests that are not sscstub's: relay them to an upstream
endpoint (`Upstream`, ``sscstub serve --upstream URL``) or hand them to moto's own request
dispatch in this process (`MotoDispatch`, ``sscstub serve --moto``). Both answer with a
`Streamed` reply, so a large answer is passed on in pieces, never held whole.

`Upstream` also answers the one question sscstub asks of it, whether an IAM user exists
(`Upstream.find_user`, IAM ``GetUser``), and `UserLookup` puts the answer where the engine
looks for users. Nothing here is imported unless one of them is configured.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ._errors import AwsError, SscStubError
from ._http import Request, Streamed

# RFC 9110 section 7.6.1: a proxy drops Connection and the fields it names, and these, which
# only ever describe one hop. Content-Length and Expect are redone for the next hop.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
    }
)
_REDONE = frozenset({"content-length", "expect"})
CHUNK = 64 * 1024  # bytes pulled from an upstream answer at a time
TIMEOUT = 30.0  # seconds to connect, and between bytes of an upstream's answer
_IDLE_KEPT = 8  # idle keep-alive connections kept to the upstream


def end_to_end(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers a proxy passes on: hop-by-hop ones, and those Connection names, dropped."""
    pairs = list(headers)
    named = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return [
        (name, value)
        for name, value in pairs
        if name.lower() not in HOP_BY_HOP and name.lower() not in named
    ]


def _nothing() -> None:
    pass


class UpstreamUnavailable(AwsError):
    """The upstream could not be reached, or did not answer in time."""

    def __init__(self, url: str, why: str, status: int = 502) -> None:
        code = "GatewayTimeout" if status == 504 else "BadGateway"
        super().__init__(code, f"sscstub could not reach the upstream endpoint {url}: {why}.")
        self.status = status


def access_key_of(authorization: str | None) -> str | None:
    """The access key id of a SigV4 Authorization header (``Credential=AKID/date/...``)."""
    if not authorization:
        return None
    found = re.search(r"Credential=([A-Za-z0-9]{1,128})/", authorization)
    return found.group(1) if found else None


class Upstream:
    """One upstream endpoint (``http://host:port``), with a few keep-alive connections."""

    def __init__(self, url: str, timeout: float | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SscStubError(
                f"upstream={url!r} is not an endpoint URL.",
                "Pass one like http://127.0.0.1:5000 (a moto server) or"
                " http://localhost:4566 (LocalStack).",
                "with-moto-and-other-endpoints",
            )
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._netloc = parts.netloc
        self._base = parts.path.rstrip("/")
        self.timeout = TIMEOUT if timeout is None else timeout
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<sscstub upstream {self.url}>"

    # --- connections ----------------------------------------------------------------------------

    def _connect(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._host, self._port, timeout=self.timeout), False

    def _release(self, connection: http.client.HTTPConnection, reusable: bool) -> None:
        if reusable:
            with self._lock:
                if len(self._idle) < _IDLE_KEPT:
                    self._idle.append(connection)
                    return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def exchange(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
        """Send one request; the response (its body unread) and its connection. A kept
        connection the upstream closed meanwhile is replaced once (nothing was read from it)."""
        for _attempt in range(2):
            connection, reused = self._connect()
            try:
                connection.putrequest(
                    method, self._base + target, skip_host=True, skip_accept_encoding=True
                )
                for name, value in headers:
                    connection.putheader(name, value)
                if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
                    connection.putheader("Content-Length", str(len(body)))
                connection.endheaders(body or None)
                return connection.getresponse(), connection
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                connection.close()
                if not reused:
                    raise UpstreamUnavailable(
                        self.url, str(error) or type(error).__name__
                    ) from None
            except TimeoutError:
                connection.close()
                raise UpstreamUnavailable(self.url, "no answer in time", 504) from None
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                raise UpstreamUnavailable(self.url, str(error) or type(error).__name__) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # --- relaying -------------------------------------------------------------------------------

    def relay(self, request: Request) -> Streamed:
        """Pass ``request`` on unchanged (method, target, end-to-end headers with the signature,
        body), and its answer back: in pieces, framed as the upstream framed it."""
        headers = [
            (name, value)
            for name, value in end_to_end(request.headers.items())
            if name not in _REDONE
        ]
        response, connection = self.exchange(request.method, request.target, headers, request.body)
        passed = [
            (name, value)
            for name, value in end_to_end(response.getheaders())
            if name.lower() != "content-length" or not response.chunked
        ]
        bodyless = (
            request.method == "HEAD"
            or response.status in (204, 304)
            or (100 <= response.status < 200)
        )
        length = response.getheader("content-length")
        framed_here = not bodyless and length is None
        if framed_here:
            passed.append(("Transfer-Encoding", "chunked"))
        if bodyless or (length is not None and length.isdigit() and int(length) <= CHUNK):
            # A small answer (most are) is read here, in the worker thread that sent it.
            try:
                data = b"" if bodyless else response.read()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                raise UpstreamUnavailable(self.url, f"its answer broke off: {error}") from None
            self._release(connection, not response.will_close)
            return Streamed(response.status, response.reason, passed, [data], False, _nothing)

        def chunks() -> Iterator[bytes]:
            if bodyless:
                return
            while True:
                try:
                    piece = response.read1(CHUNK)
                except (OSError, http.client.HTTPException) as error:
                    raise UpstreamUnavailable(self.url, f"its answer broke off: {error}") from None
                if not piece:
                    return
                yield piece

        def close() -> None:
            finished = response.isclosed() or bodyless
            reusable = finished and not response.will_close
            response.close()
            self._release(connection, reusable)

        return Streamed(response.status, response.reason, passed, chunks(), framed_here, close)

    # --- the user lookup ------------------------------------------------------------------------

    def find_user(self, name: str, access_key: str | None) -> str | None:
        """The user's name as the upstream's IAM has it (``GetUser``), or None if it has none
        of that name; signed with ``access_key`` (the caller's, so the upstream picks the same
        account) or a dummy one. Raises `UpstreamUnavailable`."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        body = urllib.parse.urlencode(
            {"Action": "GetUser", "Version": "2010-05-08", "UserName": name}
        )
        request = AWSRequest(
            "POST",
            f"{self.url}/",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        credentials = Credentials(access_key or "AKIASSCSTUBLOOKUP000", "sscstub-lookup")
        SigV4Auth(credentials, "iam", "us-east-1").add_auth(request)
        headers = [("Host", self._netloc), *request.headers.items()]
        response, connection = self.exchange("POST", "/", headers, body.encode())
        try:
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise UpstreamUnavailable(self.url, f"its answer broke off: {error}") from None
        self._release(connection, not response.will_close)
        if response.status == 200:
            found = re.search(rb"<UserName>([^<]{1,64})</UserName>", data)
            return found.group(1).decode() if found else None
        if b"NoSuchEntity" in data:
            return None
        raise UpstreamUnavailable(self.url, f"its GetUser for {name!r} answered {response.status}")


class UserLookup:
    """Where the engine looks for a user it does not have itself: the upstream's IAM, asked
    at most once per request. The server asks before the engine's lock is taken (`prefetch`,
    in a worker thread), so a slow upstream holds up no other request; a caller that did not
    (the AWS CLI plugin, one command per process) is asked when the engine needs to know."""

    def __init__(self, upstream: Upstream, own: Callable[[str], str | None]) -> None:
        self.upstream = upstream
        self._own = own  # the engine's own users
        self._local = threading.local()

    def known_here(self, name: str) -> str | None:
        """The user's name if the engine has it itself (no need to ask the upstream)."""
        return self._own(name)

    def prefetch(self, names: Iterable[str], access_key: str | None) -> None:
        known = {}
        for name in names:
            if self._own(name) is None:
                known[name] = self.upstream.find_user(name, access_key)
        self._local.known = known

    def forget(self) -> None:
        self._local.known = None

    def __call__(self, name: str) -> str | None:
        found = self._own(name)
        if found is not None:
            return found
        known: Mapping[str, str | None] | None = getattr(self._local, "known", None)
        if known is not None and name in known:
            return known[name]
        return self.upstream.find_user(name, os.environ.get("AWS_ACCESS_KEY_ID"))


class MotoDispatch:
    """moto's own request dispatch (the WSGI application its ``moto_server`` runs), called in
    this process, so its backends are the ones sscstub composes with."""

    def __init__(self) -> None:
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                create_backend_app,
            )
        except ImportError as error:
            raise SscStubError(
                f"--moto needs moto's server, which is not installed ({error}).",
                "Install sscstub with its moto extra: pip install 'sscstub[moto]'.",
                "with-moto-and-other-endpoints",
            ) from None
        self._app = DomainDispatcherApplication(create_backend_app)

    def __call__(self, request: Request, server_port: int) -> Streamed:
        path, _, query = request.target.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": urllib.parse.unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(server_port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(request.body)),
        }
        for name, value in request.headers.items():
            if name == "content-type":
                environ["CONTENT_TYPE"] = value
            elif name not in HOP_BY_HOP and name != "content-length":
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [status, headers]
            return lambda data: None  # moto never uses write()

        result = self._app(environ, start_response)
        body = iter(result)
        first = next(body, b"")  # the status is known once the first piece is made
        status, headers = started
        code, _, reason = status.partition(" ")
        passed = end_to_end(headers)
        bodyless = request.method == "HEAD" or int(code) in (204, 304)
        framed_here = not bodyless and not any(n.lower() == "content-length" for n, _ in passed)
        if framed_here:
            passed.append(("Transfer-Encoding", "chunked"))

        length = next((v for n, v in passed if n.lower() == "content-length"), None)
        if bodyless or (length is not None and length.isdigit() and int(length) <= CHUNK):
            data = b"" if bodyless else b"".join([first, *body])  # small: made here, at once
            closing = getattr(result, "close", None)
            if closing is not None:
                closing()
            return Streamed(int(code), reason, passed, [data], False, _nothing)

        def chunks() -> Iterator[bytes]:
            yield first
            yield from body

        def close() -> None:
            closing = getattr(result, "close", None)
            if closing is not None:
                closing()

        return Streamed(int(code), reason, passed, chunks(), framed_here, close)
