"""The connection layer: uvicorn's httptools protocol (keep-alive, pipelining, flow control,
``Connection: close``, ``Expect: 100-continue``, the keep-alive timeout), with what it leaves
open closed here, each as small as it can be:

* a request's head must arrive within the deadline of its first byte and stay under a size
  (uvicorn times nothing before a request is whole: encode/uvicorn#160, and the slowloris fix
  xorbitsai/inference#5213 takes the same shape); the app does the same for the body. A head
  that arrives in one read, as nearly all do, costs no timer;
* a connection that never sends a request is closed after the idle timeout, blank lines or not
  (uvicorn arms its timer only after a first answer, and stops it on any byte);
* past the connection cap, a new connection is answered 503 at once, before any request;
* a client that stops reading its answers is dropped once the idle timeout passes without
  progress (uvicorn waits on the drain for ever);
* a client that shuts its sending side after a request still gets its answers (asyncio closes
  the transport at EOF unless the protocol keeps it open), and the errors it answers itself are
  IAM's XML, with ``Connection: close``;
* closing lingers, as nginx's does: a client still sending a body it was refused reads the
  answer instead of a reset.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ._replies import xml_error_bytes

MAX_HEAD = 64 * 1024  # bytes of a request line and headers
MAX_PIPELINE = 16  # requests waiting behind the one being answered, on one connection


class GuardedProtocol(HttpToolsProtocol):
    """One connection. `limits` is set on the class by the server (`for_server`)."""

    limits: Any = None  # (idle timeout, max connections): see for_server

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._raw = transport
        self.transport = _Lingering(self)  # type: ignore[assignment]
        self._in_head = False
        self._began_here = False
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._idle_since = self.loop.time()
        self._client_done = False
        self._draining = False
        self._stopping = False
        idle, most = self.limits
        if len(self.connections) > most:
            self._refuse(503, "ServiceUnavailable", "Too many connections are open; try again.")
            return
        self.timeout_keep_alive_task = self.loop.call_later(idle, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._head_timer, self._stall_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._draining or self.transport.is_closing():  # what follows is read and dropped
            return
        super().data_received(data)
        if self._in_head:  # a head begun and not whole yet: the rare case gets the timer
            if not self._began_here:  # (the chunk it began in may hold requests before it)
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD:
                    self._refuse(431, "RequestHeaderTooLarge", "The request head is over 64 KiB.")
                    return
            if self._head_timer is None:
                started = self.scope["sscstub.started"]  # type: ignore[typeddict-item]
                self._head_timer = self.loop.call_at(started + self.limits[0], self._too_slow)
        elif self.timeout_keep_alive_task is None and self._between_requests():
            # bytes that begin no request (blank lines) do not keep a connection open:
            # uvicorn stops its timer on any byte; it runs on from the last answer here
            self.timeout_keep_alive_task = self.loop.call_at(
                self._idle_since + self.limits[0], self.timeout_keep_alive_handler
            )
        self._began_here = False

    def _between_requests(self) -> bool:
        return not self.transport.is_closing() and (
            self.cycle is None or self.cycle.response_complete
        )

    # --- the head: a deadline from its first byte, and a size -----------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = self._began_here = True
        self._head_bytes = 0
        self.scope["sscstub.started"] = self.loop.time()  # type: ignore[typeddict-unknown-key]
        self.scope["sscstub.connection"] = self  # type: ignore[typeddict-unknown-key]

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > MAX_HEAD:
            self._refuse(431, "RequestHeaderTooLarge", "The request head is over 64 KiB.")
            raise _Stop  # ends this parse (httptools raises it on as a parser error)
        if len(self.pipeline) >= MAX_PIPELINE:
            # httptools parses all it is given, and uvicorn queues each request it finds: a
            # client pipelining without reading would fill memory. Those queued are answered,
            # the last with Connection: close; the rest goes unanswered (clients that pipeline
            # send again what a closed connection left unanswered, RFC 9112 9.3.2).
            self._draining = True
            self.pipeline[0][0].keep_alive = False
            raise _Stop
        super().on_headers_complete()

    def _too_slow(self) -> None:
        self._head_timer = None
        self._refuse(408, "RequestTimeout", "The request did not arrive in time.")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # the app reads a body that is all here without arming a deadline (`Incoming.read`)
        self.scope["sscstub.complete"] = True  # type: ignore[typeddict-unknown-key]

    # --- errors answered here, in IAM's XML ----------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        if self._draining:  # (the parse was stopped on purpose)
            return
        self._refuse(400, "MalformedRequest", "The request is not well-formed HTTP/1.1.")

    def _refuse(self, status: int, code: str, message: str) -> None:
        if not self.transport.is_closing():  # one answer: the first error found
            self.transport.write(xml_error_bytes(status, code, message))
            self.transport.close()

    # --- a client that stops reading; one that stops sending; closing ---------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stall_timer is None:
            self._stall_timer = self.loop.call_later(self.limits[0], self._raw.abort)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None

    # asyncio's signature: a true value keeps the transport open (uvicorn declares None)
    def eof_received(self) -> bool:  # type: ignore[override]
        self._client_done = True
        if self._linger_timer is not None:  # lingering: the client read its answer and left
            self._raw.close()
        elif self.cycle is None or self.cycle.response_complete:
            self.transport.close()
        return True  # keep the transport: the answers to what was read still go out

    def on_response_complete(self) -> None:
        self._idle_since = self.loop.time()
        super().on_response_complete()
        if self._client_done and not self.pipeline and not self.transport.is_closing():
            self.transport.close()

    def cut(self, scope: Any) -> None:
        """End the answer to ``scope``'s request where it is, and the connection with it (a
        stream broken off upstream reaches the client broken, not completed, and nothing is
        logged as a failure of the app)."""
        cycle = self.cycle
        if cycle is not None and cycle.scope is scope:
            cycle.disconnected = True  # uvicorn then sends nothing more for it
        self.transport.close()

    def shutdown(self) -> None:
        """The server stops: what is idle or lingering closes at once; an answer under way
        ends the connection when it is sent."""
        self._stopping = True
        if self.cycle is None or self.cycle.response_complete or self._linger_timer is not None:
            self._raw.close()
        else:
            self.cycle.keep_alive = False

    def linger(self) -> None:
        """Close as nginx's ``lingering_close`` does: what is queued goes out, then FIN; what
        the client still sends is read and dropped until it closes, for the idle timeout at
        most. Closing with unread bytes would send a reset, and a client still sending a body
        it was refused (413, 401) would lose the answer to it."""
        raw = self._raw
        if raw.is_closing() or self._linger_timer is not None:
            return
        if self._client_done or self._stopping or not raw.can_write_eof():
            raw.close()
            return
        raw.write_eof()
        raw.resume_reading()  # flow control may have paused it: the rest must be drained
        self._linger_timer = self.loop.call_later(self.limits[0], raw.close)


class _Lingering:
    """The transport uvicorn's code sees: ``close()`` lingers (`GuardedProtocol.linger`), and
    the connection counts as closing from then on; the rest is the transport's own."""

    __slots__ = ("_protocol", "_closing")

    def __init__(self, protocol: GuardedProtocol) -> None:
        self._protocol = protocol
        self._closing = False

    def close(self) -> None:
        self._closing = True
        self._protocol.linger()

    def is_closing(self) -> bool:
        return self._closing or self._protocol._raw.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._protocol._raw, name)


class _Stop(Exception):  # noqa: N818  (a signal to the parser, caught where uvicorn feeds it)
    pass


def for_server(idle_timeout: float, max_connections: int) -> type[GuardedProtocol]:
    """The protocol class one server's uvicorn builds its connections from."""
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": (idle_timeout, max_connections)})
