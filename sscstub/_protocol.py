"""The connection layer: uvicorn's httptools protocol (keep-alive, pipelining, flow control,
``Connection: close``, ``Expect: 100-continue``, the keep-alive timeout), with the five things
it leaves open closed here, each as small as it can be:

* a request's head must arrive within the deadline of its first byte and stay under a size
  (uvicorn times nothing before a request is whole: encode/uvicorn#160, and the slowloris fix
  xorbitsai/inference#5213 takes the same shape); the app does the same for the body;
* a connection that never sends a byte is closed after the idle timeout too (uvicorn arms its
  keep-alive timer only after a first answer);
* past the connection cap, a new connection is answered 503 at once, before any request;
* a client that stops reading its answers is dropped once the idle timeout passes without
  progress (uvicorn waits on the drain for ever);
* a client that shuts its sending side after a request still gets its answers (asyncio closes
  the transport at EOF unless the protocol keeps it open), and the errors it answers itself are
  IAM's XML, with ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ._replies import xml_error_bytes

MAX_HEAD = 64 * 1024  # bytes of a request line and headers


class GuardedProtocol(HttpToolsProtocol):
    """One connection. `limits` is set on the class by the server (`for_server`)."""

    limits: Any = None  # (idle timeout, max connections): see for_server

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._client_done = False
        idle, most = self.limits
        if len(self.connections) > most:
            self._refuse(503, "ServiceUnavailable", "Too many connections are open; try again.")
            return
        self.timeout_keep_alive_task = self.loop.call_later(idle, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._head_timer, self._stall_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    # --- the head: a deadline from its first byte, and a size -----------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self.scope["sscstub.started"] = time.monotonic()  # type: ignore[typeddict-unknown-key]
        self._head_timer = self.loop.call_later(self.limits[0], self._head_too_slow)

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if not self.transport.is_closing():
            super().on_headers_complete()

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD:
            self._refuse(431, "RequestHeaderTooLarge", "The request head is over 64 KiB.")
            raise _Stop  # ends this parse (httptools raises it on as a parser error)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self._refuse(408, "RequestTimeout", "The request did not arrive in time.")

    # --- errors answered here, in IAM's XML ----------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "MalformedRequest", "The request is not well-formed HTTP/1.1.")

    def _refuse(self, status: int, code: str, message: str) -> None:
        if not self.transport.is_closing():  # one answer: the first error found
            self.transport.write(xml_error_bytes(status, code, message))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if not self.transport.is_closing():  # nothing more is read once an error went out
            super().data_received(data)

    # --- a client that stops reading; one that stops sending ------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stall_timer is None:
            self._stall_timer = self.loop.call_later(self.limits[0], self.transport.abort)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None

    # asyncio's signature: a true value keeps the transport open (uvicorn declares None)
    def eof_received(self) -> bool:  # type: ignore[override]
        self._client_done = True
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
        return True  # keep the transport: the answers to what was read still go out

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._client_done and not self.pipeline and not self.transport.is_closing():
            self.transport.close()


class _Stop(Exception):  # noqa: N818  (a signal to the parser, caught where uvicorn feeds it)
    pass


def for_server(idle_timeout: float, max_connections: int) -> type[GuardedProtocol]:
    """The protocol class one server's uvicorn builds its connections from."""
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": (idle_timeout, max_connections)})
