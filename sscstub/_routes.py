"""The endpoint as an ASGI application: the guard against web pages (`Guard`, once per request,
before anything else), then an ordered table of `Route`s, the first that matches answering.

A route says what it matches, where it runs and how it takes the body:

* ``state``: engine work (IAM's operations, the test API). Its handler is synchronous and takes
  ``wait``: it runs on the loop without waiting for the state file's lock, and only if another
  process holds that lock, again in a worker thread, waiting;
* ``loop``: a coroutine that answers at once (its engine work through `App.in_state`);
* ``relay``: another endpoint or moto answers (the handler is a coroutine);
* ``subprocess``: git's CGI (a coroutine driving a child process);

and ``body``: a limit in bytes (read whole before the handler runs, under the request's
deadline: 413 past the limit, 408 past the deadline) or None (the handler streams it, at a
minimum rate). What uvicorn does before the app sees a request is in `_protocol`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, NamedTuple

from ._durable import StateBusy, StateUnavailable
from ._errors import AwsError
from ._replies import Outgoing, Reply, Send, json_reply, send, xml_error

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
MAX_BODY = 1024 * 1024  # bytes of a request sscstub reads whole
MIN_RATE = 16 * 1024  # bytes per second a streamed body keeps up, after its first deadline
API_PREFIX = "/_sscstub/"


class Refused(Exception):  # noqa: N818  (an answer, raised from wherever the rule broke)
    """End the request with ``reply`` (the body was not read to its end: the connection
    closes after it)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class Incoming:
    """One request as the routes see it: its head, and its body to read or stream."""

    __slots__ = ("body", "headers", "method", "path", "query", "receive", "scope", "_deadline")

    def __init__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], idle: float):
        self.scope = scope
        self.receive = receive
        self.method: str = scope["method"]
        raw = scope.get("raw_path") or scope["path"].encode()
        self.path: str = raw.decode("latin-1")  # as sent: a route decodes what it needs
        self.query: str = scope.get("query_string", b"").decode("latin-1")
        raw_headers = scope["headers"]
        headers = {n.decode("latin-1"): v.decode("latin-1") for n, v in raw_headers}
        if len(headers) != len(raw_headers):  # a repeated header: its values, joined
            headers = {}
            for name, value in raw_headers:
                key, text = name.decode("latin-1"), value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
        self.headers = headers
        self.body = b""
        started = scope.get("sscstub.started", time.monotonic())
        self._deadline: float = started + idle

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def client(self) -> str:
        peer = self.scope.get("client")
        return str(peer[0]) if peer else ""

    async def read(self, limit: int) -> bytes:
        """The whole body, within the request's deadline and ``limit`` bytes."""
        length = self.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise Refused(_too_large(limit))
        if self.scope.get("sscstub.complete"):  # all of it is here already: no deadline to keep
            message = await self.receive()
            if message["type"] == "http.request" and not message.get("more_body"):
                body: bytes = message.get("body", b"")
                if len(body) > limit:
                    raise Refused(_too_large(limit))
                self.body = body
                return body
            if message["type"] == "http.disconnect":
                raise Refused(xml_error(400, "IncompleteBody", "The client left.", close=True))
            pieces, size = [message.get("body", b"")], len(message.get("body", b""))
        else:
            pieces, size = [], 0
        while True:
            message = await self._message(self._deadline - time.monotonic())
            if message is None:
                raise Refused(xml_error(400, "IncompleteBody", "The client left.", close=True))
            body, more = message
            size += len(body)
            if size > limit:
                raise Refused(_too_large(limit))
            pieces.append(body)
            if not more:
                self.body = b"".join(pieces)
                return self.body

    async def stream(self, idle: float) -> AsyncIterator[bytes]:
        """The body as it arrives: each piece within ``idle`` seconds of the last and, past the
        first ``idle`` seconds, at ``MIN_RATE`` bytes a second on average (408 otherwise).
        Raises `ConnectionError` when the client leaves before its end."""
        started, size = time.monotonic(), 0
        while True:
            message = await self._message(idle)
            if message is None:
                raise ConnectionError("the client left before the end of its body")
            body, more = message
            size += len(body)
            spent = time.monotonic() - started
            if spent > idle and size < MIN_RATE * spent:
                raise Refused(
                    xml_error(408, "RequestTimeout", "The body arrives too slowly.", close=True)
                )
            if body:
                yield body
            if not more:
                return

    @property
    def has_unread_body(self) -> bool:
        """Whether a body is still to come (not read whole by the app)."""
        if self.body:
            return False
        length = self.headers.get("content-length")
        te = self.headers.get("transfer-encoding", "")
        return "chunked" in te or (length is not None and length.strip() not in ("", "0"))

    def paced(self, idle: float) -> Callable[[], Awaitable[dict[str, Any]]]:
        """An ASGI ``receive`` for another application (moto's): the body read whole already,
        or `stream`'s pieces under its rules."""
        if not self.has_unread_body:
            given = [{"type": "http.request", "body": self.body, "more_body": False}]

            async def replay() -> dict[str, Any]:
                return given.pop() if given else {"type": "http.disconnect"}

            return replay
        pieces = self.stream(idle)

        async def receive() -> dict[str, Any]:
            try:
                return {"type": "http.request", "body": await anext(pieces), "more_body": True}
            except StopAsyncIteration:
                return {"type": "http.request", "body": b"", "more_body": False}
            except ConnectionError:
                return {"type": "http.disconnect"}

        return receive

    async def _message(self, timeout: float) -> tuple[bytes, bool] | None:
        try:
            message = await within(self.receive(), timeout)
        except TimeoutError:
            raise Refused(
                xml_error(408, "RequestTimeout", "The request did not arrive in time.", close=True)
            ) from None
        if message["type"] == "http.disconnect":
            return None
        return message.get("body", b""), bool(message.get("more_body"))


if sys.version_info >= (3, 11):

    async def within(awaitable: Awaitable[Any], seconds: float) -> Any:
        """``awaitable``'s result, or TimeoutError after ``seconds``: a timer on this task, not
        a task of its own as ``wait_for`` makes (which costs more than the read itself)."""
        async with asyncio.timeout(max(seconds, 0.001)):
            return await awaitable

else:  # Python 3.10

    async def within(awaitable: Awaitable[Any], seconds: float) -> Any:
        try:
            return await asyncio.wait_for(awaitable, max(seconds, 0.001))
        except asyncio.TimeoutError:  # not yet the builtin TimeoutError before 3.11
            raise TimeoutError from None


def _too_large(limit: int) -> Reply:
    return xml_error(
        413, "RequestEntityTooLarge", f"The request is over {limit} bytes.", close=True
    )


class Guard:
    """What keeps web pages out: a Host that is not this endpoint's (DNS rebinding), an Origin,
    and ``Sec-Fetch-Site: cross-site`` or ``same-site`` (a page of another site, or of another
    port here: a loopback endpoint has no same-site pages of its own). Clients and SDKs send
    none of these."""

    def __init__(self, hosts: Iterable[str], port: int) -> None:
        self.hosts = frozenset(h.lower() for h in hosts)
        self.origins = frozenset(
            f"{scheme}://{host}{suffix}"
            for host in self.hosts
            for scheme in ("http", "https")
            for suffix in (f":{port}", "")
            if host not in LOOPBACK_NAMES
            or suffix  # a loopback page on another port is another app
        )

    def refuse(self, headers: dict[str, str]) -> str | None:
        """Why a request is refused (None: it is not)."""
        host = headers.get("host")
        if host is not None:
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.lower() not in self.hosts:
                return (
                    f"Host {host[:100]!r} is not this endpoint's address. A web page may not"
                    " reach it (DNS rebinding); to allow a name, start it with --allow-host NAME"
                    " (allow_hosts=[...] in Python)."
                )
        origin = headers.get("origin")
        if origin is not None:
            if origin.lower() in self.origins:
                return None  # a page this endpoint was told to trust
            return (
                f"Origin {origin[:100]!r}: requests from web pages are refused. Clients and SDKs"
                " send no Origin; to allow a page's name, start it with --allow-host NAME."
            )
        site = headers.get("sec-fetch-site", "none").lower()
        if site in ("cross-site", "same-site"):
            return (
                f"A request from a web page (Sec-Fetch-Site: {site[:40]}) is refused. Clients and"
                " SDKs send none; to allow a page's name, start it with --allow-host NAME."
            )
        return None


Handler = Callable[[Incoming], Awaitable[Outgoing]]
StateHandler = Callable[[Incoming, bool], Outgoing]


class Route(NamedTuple):
    name: str
    matches: str | Callable[[Incoming], bool]  # a path's prefix, or a test of the request
    runs_in: str  # "state", "loop", "relay" or "subprocess" (see the module's docstring)
    body: int | None  # bytes read whole first; None: the handler streams it
    handle: Handler | StateHandler


class App:
    """The ASGI application of one server."""

    def __init__(self, guard: Guard, idle: float, durable: bool, verbose: bool = False) -> None:
        self.guard = guard
        self.idle = idle
        self.durable = durable
        self.verbose = verbose
        self.routes: list[Route] = []

    async def in_state(self, call: Callable[[bool], Any]) -> Any:
        """Engine work: at once on the loop (without waiting for the state file), or, if
        another process holds the file's lock, in a worker thread that waits for it."""
        if not self.durable:
            return call(True)
        try:
            return call(False)
        except StateBusy:
            return await asyncio.to_thread(call, True)

    async def __call__(self, scope: dict[str, Any], receive: Any, asgi_send: Send) -> None:
        if scope["type"] != "http":
            return
        incoming = Incoming(scope, receive, self.idle)
        try:
            outgoing = await self._answer(incoming)
        except Refused as refused:
            outgoing = refused.reply
        except AwsError as error:  # the state file locked elsewhere (503), an upstream (502)
            outgoing = self._unavailable(incoming, error)
        except ConnectionError:  # the client left: there is no one to answer
            return
        if isinstance(outgoing, Reply) and incoming.has_unread_body:
            # an answer given before the body was read (a refusal): close, rather than read
            # on through a body nobody wants (an unauthenticated 1 GB push)
            outgoing = outgoing._replace(headers={**outgoing.headers, "Connection": "close"})
        if self.verbose:
            sys.stderr.write(
                f"sscstub: {incoming.method} {incoming.target[:200]} {outgoing.status}\n"
            )
        await send(asgi_send, outgoing, scope)

    async def _answer(self, incoming: Incoming) -> Outgoing:
        refused = self.guard.refuse(incoming.headers)
        if refused is not None:
            if incoming.path.startswith(API_PREFIX):
                return json_reply(403, {"error": refused})
            return xml_error(403, "AccessDenied", refused, close=True)
        codings = incoming.headers.get("transfer-encoding")
        if codings is not None and codings.strip().lower() != "chunked":
            return xml_error(
                501, "NotImplemented", f"Transfer-Encoding {codings[:60]!r} is not served.", True
            )
        path = incoming.path
        for route in self.routes:
            match: Any = route.matches  # (a prefix is tested here: no call)
            if path.startswith(match) if match.__class__ is str else match(incoming):
                break
        if route.body is not None:
            await incoming.read(route.body)
        if route.runs_in == "state":
            handle: Any = route.handle
            result: Outgoing = await self.in_state(lambda wait: handle(incoming, wait))
            return result
        answer: Outgoing = await route.handle(incoming)  # type: ignore[call-arg,misc]
        return answer

    @staticmethod
    def _unavailable(incoming: Incoming, error: AwsError) -> Reply:
        status = 503 if isinstance(error, StateUnavailable) else getattr(error, "status", 500)
        if incoming.path.startswith(API_PREFIX):
            return json_reply(status, {"error": error.message})
        return xml_error(status, error.code, error.message)
