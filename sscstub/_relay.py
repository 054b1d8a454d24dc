"""Requests that are not sscstub's, passed on: to an upstream endpoint with httpx (`Relay`,
``sscstub serve --upstream URL``) or to moto's own WSGI dispatch in this process through a2wsgi
(`MotoApp`, ``sscstub serve --moto``). Both stream both ways, drop hop-by-hop and CORS headers,
and answer a `Streamed` reply.

Also here: the one question sscstub asks an upstream, whether an IAM user exists (IAM
``GetUser``), written without I/O (`Upstream.get_user_request`, `Upstream.get_user_answer`) and
sent by httpx on the endpoint or by `http.client` in process (the AWS CLI plugin); and
`UserLookup`, which puts the answers where the engine looks for users.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import http.client
import re
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._errors import AwsError, SscStubError
from ._replies import Streamed

if TYPE_CHECKING:
    from ._routes import Incoming

# RFC 9110 section 7.6.1: an intermediary drops Connection and the fields it names, and these,
# which only ever describe one hop. Content-Length and Expect are redone for the next hop.
HOP_BY_HOP = frozenset(
    {
        "connection", "proxy-connection", "keep-alive", "te", "trailer", "transfer-encoding",
        "upgrade", "proxy-authenticate", "proxy-authorization",
    }
)  # fmt: skip
TIMEOUT = 30.0  # seconds to connect, and between bytes of an upstream's answer


def end_to_end(headers: Iterable[tuple[str, str]], answer: bool = False) -> list[tuple[str, str]]:
    """The headers an intermediary passes on: hop-by-hop ones and those Connection names
    dropped; in an answer, CORS headers too (no web page may use what sscstub passes on)."""
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
        if name.lower() not in HOP_BY_HOP
        and name.lower() not in named
        and not (answer and name.lower().startswith("access-control-"))
    ]


class UpstreamUnavailable(AwsError):
    """The upstream could not be reached, broke HTTP, or did not answer in time."""

    def __init__(self, shown: str, why: str, status: int = 502) -> None:
        code = "GatewayTimeout" if status == 504 else "BadGateway"
        super().__init__(code, f"sscstub could not reach the upstream endpoint {shown}: {why}.")
        self.status = status


def access_key_of(authorization: str | None) -> str | None:
    """The access key id of a SigV4 Authorization header (``Credential=AKID/date/...``)."""
    found = re.search(r"Credential=([A-Za-z0-9]{1,128})/", authorization or "")
    return found.group(1) if found else None


class Upstream:
    """One upstream endpoint's address. Credentials written in its URL are taken out: sent as
    Basic ``Authorization`` on requests that have none, and never shown (`shown`)."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SscStubError(
                f"upstream={redact(url)!r} is not an endpoint URL.",
                "Pass one like http://127.0.0.1:5000 (a moto server) or"
                " http://localhost:4566 (LocalStack).",
                "with-moto-and-other-endpoints",
            )
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        self.netloc = host + (f":{parts.port}" if parts.port else "")
        self.url = f"{parts.scheme}://{self.netloc}{parts.path.rstrip('/')}"
        self.shown = self.url  # (the URL without its credentials)
        self.authorization: str | None = None
        if parts.username is not None:
            user, password = parts.username, parts.password or ""
            pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
            self.authorization = "Basic " + base64.b64encode(pair.encode()).decode()

    def __repr__(self) -> str:
        return f"<sscstub upstream {self.shown}>"

    # --- GetUser, with no I/O ------------------------------------------------------------------

    def get_user_request(
        self, name: str, access_key: str | None
    ) -> tuple[list[tuple[str, str]], bytes]:
        """The headers and body of IAM ``GetUser`` for ``name``, signed with ``access_key`` (the
        caller's, so the upstream picks the same account) or a dummy one."""
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
        return [("Host", self.netloc), *request.headers.items()], body.encode()

    def get_user_answer(self, name: str, status: int, data: bytes) -> str | None:
        """The user's name as the upstream has it, or None; raises `UpstreamUnavailable`."""
        if status == 200:
            found = re.search(rb"<UserName>([^<]{1,64})</UserName>", data)
            return found.group(1).decode() if found else None
        if b"NoSuchEntity" in data:
            return None
        raise UpstreamUnavailable(self.shown, f"its GetUser for {name[:64]!r} answered {status}")

    def find_user(self, name: str, access_key: str | None) -> str | None:
        """`GetUser` sent with `http.client`: for an in-process stub, one call at a time."""
        headers, body = self.get_user_request(name, access_key)
        parts = urllib.parse.urlsplit(self.url)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = kind(parts.hostname or "", parts.port, timeout=TIMEOUT)
        try:
            connection.putrequest(
                "POST", f"{parts.path}/", skip_host=True, skip_accept_encoding=True
            )
            for header, value in headers:
                connection.putheader(header, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return self.get_user_answer(name, response.status, response.read())
        except TimeoutError:
            raise UpstreamUnavailable(self.shown, "no answer in time", 504) from None
        except (OSError, http.client.HTTPException) as error:
            raise UpstreamUnavailable(self.shown, str(error) or type(error).__name__) from None
        finally:
            connection.close()


def redact(url: str) -> str:
    """``url`` without the credentials written in it."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


_known: contextvars.ContextVar[Mapping[str, str | None] | None] = contextvars.ContextVar(
    "sscstub_known_users", default=None
)


class UserLookup:
    """Where the engine looks for a user it does not have itself: the upstream's IAM. A server
    asks before the engine runs (`remember`, for this request and its worker thread, if any);
    an in-process stub asks when the engine needs to know (``find``)."""

    def __init__(self, find: Callable[[str], str | None] | None = None) -> None:
        self.find = find
        self.own: Callable[[str], str | None] = lambda name: None  # the engine's own users

    def known_here(self, name: str) -> str | None:
        return self.own(name)

    def remember(self, answers: Mapping[str, str | None]) -> contextvars.Token[Any]:
        return _known.set(answers)

    @staticmethod
    def forget(token: contextvars.Token[Any]) -> None:
        _known.reset(token)

    def __call__(self, name: str) -> str | None:
        found = self.own(name)
        if found is not None:
            return found
        known = _known.get()
        if known is not None and name in known:
            return known[name]
        return self.find(name) if self.find is not None else None


class Relay:
    """The endpoint's client to its upstream (httpx: h11 underneath, a pool of kept
    connections, no retry of a request once sent, nothing from the environment)."""

    def __init__(self, upstream: Upstream) -> None:
        import httpx

        self.upstream = upstream
        self._httpx = httpx
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(TIMEOUT),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=8),
            follow_redirects=False,
            trust_env=False,
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def exchange(
        self, method: str, target: str, headers: list[tuple[str, str]], content: Any
    ) -> Any:
        httpx = self._httpx
        request = httpx.Request(
            method, self.upstream.url + target, headers=headers, content=content
        )
        shown = self.upstream.shown
        try:
            return await self.client.send(request, stream=True)
        except httpx.TimeoutException:
            raise UpstreamUnavailable(shown, "no answer in time", 504) from None
        except httpx.HTTPError as error:
            raise UpstreamUnavailable(shown, str(error) or type(error).__name__) from None

    async def find_user(self, name: str, access_key: str | None) -> str | None:
        headers, body = self.upstream.get_user_request(name, access_key)
        response = await self.exchange("POST", "/", headers, body)
        try:
            data = await response.aread()
        except self._httpx.HTTPError as error:
            raise UpstreamUnavailable(
                self.upstream.shown, f"its answer broke off: {error}"
            ) from None
        finally:
            await response.aclose()
        return self.upstream.get_user_answer(name, response.status_code, data)

    async def forward(self, incoming: Incoming, idle: float) -> Streamed:
        """Pass ``incoming`` on (method, origin-form target, end-to-end headers with the
        signature and Host, body: read already, or streamed as it arrives), and stream its
        answer back."""
        headers = [(n, v) for n, v in end_to_end(incoming.headers.items()) if n != "expect"]
        if self.upstream.authorization and "authorization" not in incoming.headers:
            headers.append(("Authorization", self.upstream.authorization))
        content: Any = incoming.stream(idle) if incoming.has_unread_body else incoming.body
        response = await self.exchange(incoming.method, incoming.target, headers, content)
        if "transfer-encoding" in response.headers and "content-length" in response.headers:
            await response.aclose()
            raise UpstreamUnavailable(self.upstream.shown, "it framed its answer both ways")
        passed = end_to_end(
            [(n.decode("latin-1"), v.decode("latin-1")) for n, v in response.headers.raw],
            answer=True,
        )
        shown = self.upstream.shown
        httpx = self._httpx

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for piece in response.aiter_raw():
                    yield piece
            except httpx.HTTPError as error:  # the client's connection is cut: no framing lies
                raise UpstreamUnavailable(shown, f"its answer broke off: {error}") from None

        return Streamed(response.status_code, passed, chunks(), response.aclose)


class MotoApp:
    """moto's own request dispatch (the WSGI application ``moto_server`` runs), in this process
    through a2wsgi, so its backends are the ones sscstub composes with."""

    def __init__(self) -> None:
        try:
            from a2wsgi import WSGIMiddleware
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                create_backend_app,
            )
        except ImportError as error:
            raise SscStubError(
                f"--moto needs moto's server and a2wsgi, which are not installed ({error}).",
                "Install sscstub with its moto extra: pip install 'sscstub[moto]'.",
                "with-moto-and-other-endpoints",
            ) from None
        dispatch: Any = DomainDispatcherApplication(create_backend_app)
        self.app = WSGIMiddleware(dispatch, workers=16)

    async def forward(self, incoming: Incoming, idle: float) -> Streamed:
        """Hand ``incoming`` to moto; its answer, as it makes it."""
        sent: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=4)
        receive = incoming.paced(idle)
        expect = b"expect"
        scope = {
            **incoming.scope,
            "headers": [(n, v) for n, v in incoming.scope["headers"] if n.lower() != expect],
        }

        async def run() -> None:
            try:
                await self.app(scope, receive, sent.put)  # type: ignore[arg-type]
            finally:
                await sent.put(None)

        task = asyncio.ensure_future(run())
        start = await sent.get()
        if start is None:
            await task  # moto's error, raised here
            raise UpstreamUnavailable("moto", "it answered nothing")
        pairs = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in start.get("headers", [])]

        async def chunks() -> AsyncIterator[bytes]:
            while (message := await sent.get()) is not None:
                yield message.get("body", b"")

        async def close() -> None:
            task.cancel()

        return Streamed(start["status"], end_to_end(pairs, answer=True), chunks(), close)
