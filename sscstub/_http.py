"""HTTP/1.1 for the local endpoint, on httptools (llhttp, the parser Node.js uses): one asyncio
Protocol per connection that reads requests incrementally and answers each in one write. It
knows nothing of IAM: the server hands it a handler and the error shape.

Whatever a client sends, a connection holds to these rules:

* a request's head, framing and body together are capped (`Limits.max_request`): past it, 413
  (or 431 for the head) and close;
* llhttp is strict: a TLS handshake, bare-LF line endings, conflicting ``Content-Length``s, a
  negative chunk size get 400 and close; a transfer coding other than ``chunked`` gets 501;
* ``Expect: 100-continue`` is answered before the body is read; HTTP/1.0 and ``Connection:
  close`` close after the answer;
* a connection idle for `Limits.idle_timeout` is closed, and a request must arrive whole within
  `Limits.request_timeout` of its first byte (else 408 and close);
* a client that does not read its answers is not read either (``pause_reading`` while the
  transport's buffer is over its high-water mark), and is dropped after `Limits.idle_timeout`
  without progress; requests already read wait unanswered, so memory stays bounded;
* at most `Limits.max_connections` are open: past that, a new one gets 503 and is closed;
* an answer can be `Streamed` (a relayed one): its chunks are pulled in a worker thread one at a
  time, and only while the client takes them, so a large answer never sits in memory whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import Any, NamedTuple, Union

try:
    import httptools
except ImportError:  # the server says what to install
    httptools = None  # type: ignore[assignment]

AVAILABLE = httptools is not None

Reply = tuple[int, dict[str, str], bytes]

_REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Request(NamedTuple):
    method: str
    target: str
    headers: dict[str, str]  # lower-cased names; a repeated header's values joined by ", "
    body: bytes
    stream: BodyStream | None = None  # a body read while it arrives (then ``body`` is empty)


class BodyStream:
    """A request body handed to a worker thread while it arrives, never held whole: the loop
    feeds what it reads, the worker `read`s it; past ``high`` bytes waiting, the connection
    stops reading (``pause``) until the worker has taken them (``resume``, on the loop)."""

    high = 256 * 1024

    def __init__(self, pause: Callable[[], None], resume: Callable[[], None]) -> None:
        self._pause, self._resume = pause, resume
        self._chunks: deque[bytes] = deque()
        self._waiting = 0
        self._ended = False
        self._failed = False
        self._abandoned = False  # the answer went out first: what still comes is dropped
        self._paused = False
        self._ready = threading.Condition()

    # the loop's side
    def feed(self, data: bytes) -> None:
        with self._ready:
            if self._abandoned:
                return
            self._chunks.append(data)
            self._waiting += len(data)
            self._ready.notify()
            if self._waiting > self.high and not self._paused:
                self._paused = True
                self._pause()

    def end(self, failed: bool = False) -> None:
        with self._ready:
            self._ended = True
            self._failed = failed
            self._ready.notify()

    def abandon(self) -> bool:
        """Drop what still comes (the answer is out); whether the body was not all read."""
        with self._ready:
            self._abandoned = True
            self._chunks.clear()
            unread = not self._ended
            self._ended = True
            self._ready.notify()
            return unread

    # the worker's side
    def read(self, timeout: float | None = None) -> bytes:
        """The next piece; b"" at the end. Raises OSError if the client broke off."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._chunks or self._ended, timeout):
                raise TimeoutError("the request body stopped arriving")
            if self._chunks:
                data = self._chunks.popleft()
                self._waiting -= len(data)
                if self._paused and self._waiting <= self.high // 2:
                    self._paused = False
                    self._resume()
                return data
            if self._failed:
                raise ConnectionAbortedError("the client broke off the request body")
            return b""


class Limits(NamedTuple):
    max_head: int = 64 * 1024  # request line and headers
    max_request: int = 1024 * 1024  # head, framing and body together
    idle_timeout: float = 5.0  # between requests, and while a client does not read
    request_timeout: float = 5.0  # from a request's first byte to its last
    max_connections: int = 512


_LINGER = 1.0  # seconds a closing connection still reads (and drops) what arrives
_MAX_PENDING = 32  # requests read ahead of their answers before reading pauses


class Streamed(NamedTuple):
    """An answer whose body arrives in pieces (a relayed one): ``headers`` are sent as they are
    (they carry the framing: a Content-Length, or ``Transfer-Encoding: chunked`` with
    ``chunked`` set, when each piece is framed here); ``chunks`` are pulled in a worker thread
    (a list is in memory already: written at once, unframed, and its ``close`` must be cheap),
    and ``close`` is called once they are done with, whatever happened."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    chunks: Iterable[bytes]
    chunked: bool
    close: Callable[[], None]


Outgoing = Union[Reply, Streamed]  # noqa: UP007  (a runtime alias: 3.10 has no X | Y here)
Handler = Callable[[Request], Outgoing]
# Answers on the event loop; or None: "this one may block, answer it in a worker thread"; or
# an executor: "answer it in a thread of this one" (relays, which must not hold up the rest).
FastHandler = Callable[[Request], "Outgoing | Executor | None"]
ErrorReply = Callable[[int, str, str], Reply]  # (status, code, message) -> the reply
# (method, target) -> the pool to answer it in while its body is still arriving, or None:
# "read the body whole first" (every request but a few large ones, such as a git push).
Streams = Callable[[str, str], "Executor | None"]
_END = b"end"  # a sentinel no iterator yields (compared by identity)


def head_of(status: int, reason: str, headers: Iterable[tuple[str, str]], close: bool) -> bytes:
    head = [f"HTTP/1.1 {status} {reason}"]
    head += [f"{name}: {value}" for name, value in headers]
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")


def encode(reply: Reply, close: bool) -> bytes:
    status, headers, data = reply
    return head_of(status, _REASONS.get(status, "Error"), headers.items(), close) + data


class _Refused(Exception):  # noqa: N818  (a signal from a parser callback)
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.reply = (status, code, message)


class Connection(asyncio.Protocol):
    """One client connection (see the module's rules)."""

    def __init__(
        self,
        handler: FastHandler,
        error: ErrorReply,
        limits: Limits,
        connections: set[Connection],
        slow: tuple[Handler, Executor] | None = None,
        streams: Streams | None = None,
    ) -> None:
        self._handler = handler
        self._error = error
        self._limits = limits
        self._connections = connections
        self._slow = slow  # what answers, in a worker thread, what the handler passes on
        self._streams = streams
        self._body_stream: BodyStream | None = None  # the request body being streamed
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._pending: deque[Request | Reply] = deque()  # read, not yet answered
        self._writable = True
        self._busy = False  # a handler is running in the executor, or an answer streaming
        self._stream: tuple[Iterator[bytes], Streamed, bool, Executor] | None = None
        self._pulling = False  # a chunk is being pulled
        self._closing = False
        self._timer: asyncio.TimerHandle | None = None
        self._stall: asyncio.TimerHandle | None = None  # the client stopped taking answers
        # The request being read:
        self._in_request = False
        self._size = 0
        self._url = bytearray()
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._close_after = False

    # --- asyncio -------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if len(self._connections) >= self._limits.max_connections:
            self._closing = True
            message = f"The endpoint serves at most {self._limits.max_connections} connections."
            self._send(self._error(503, "ServiceUnavailable", message), close=True)
            return
        self._connections.add(self)
        self._arm(self._limits.idle_timeout, self._idle)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._body_stream is not None:
            self._body_stream.end(failed=True)
        self._connections.discard(self)
        self._closing = True
        self._disarm()
        if self._stall is not None:
            self._stall.cancel()
        if self._stream is not None and not self._pulling:
            self._end_stream()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            self._parser.feed_data(data)
        except _Refused as refused:
            self._fail(*refused.reply)
        except httptools.HttpParserUpgrade:
            self._fail(400, "MalformedRequest", "Protocol upgrades are not served here.")
        except httptools.HttpParserError as error:
            cause = error.__context__  # what a callback raised, if one did
            if isinstance(cause, _Refused):
                self._fail(*cause.reply)
            else:
                self._fail(400, "MalformedRequest", f"The request is not HTTP/1.1: {error}.")

    def eof_received(self) -> bool | None:
        if self._body_stream is not None:
            self._body_stream.end(failed=True)
        if self._in_request:
            self._fail(400, "IncompleteBody", "The request ends early.")
        elif self._pending or self._busy:  # the client is done sending, not reading
            self._closing = True  # answer what it sent, then close
            return True
        return None

    def pause_writing(self) -> None:
        self._writable = False
        if self.transport is not None:
            self.transport.pause_reading()
        if self._stall is None:  # a timer of its own: requests' timers come and go meanwhile
            self._stall = self._loop.call_later(self._limits.idle_timeout, self._stalled)

    def resume_writing(self) -> None:
        self._writable = True
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        if self._stream is not None:
            self._pull()
        else:
            self._dispatch()

    # --- httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_request = True
        self._size = 0
        self._url = bytearray()
        self._headers = {}
        self._body = []
        self._arm(self._limits.request_timeout, self._too_slow)

    def on_url(self, url: bytes) -> None:
        self._grow(len(url), head=True)
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._grow(len(name) + len(value) + 4, head=True)
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        seen = self._headers.get(key)
        self._headers[key] = text if seen is None else f"{seen}, {text}"

    def on_headers_complete(self) -> None:
        headers = self._headers
        coding = headers.get("transfer-encoding")
        if coding is not None and coding.strip().lower() != "chunked":
            raise _Refused(
                501, "NotImplemented", f"Transfer-Encoding {coding!r}: only chunked is read."
            )
        pool = None
        if self._streams is not None and self._slow is not None:
            method = self._parser.get_method().decode("latin-1")
            pool = self._streams(method, self._url.decode("latin-1"))
        declared = headers.get("content-length")
        if (
            pool is None  # a streamed body has no size limit: it is never held whole
            and declared is not None
            and int(declared) > self._limits.max_request - self._size
        ):
            raise _Refused(413, "RequestEntityTooLarge", self._too_large())
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        if self._parser.get_http_version() == "1.0":
            self._close_after = "keep-alive" not in tokens or "close" in tokens
        else:
            self._close_after = "close" in tokens
        if headers.get("expect", "").lower() == "100-continue" and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if pool is not None:
            self._start_body_stream(self._parser.get_method().decode("latin-1"), pool)

    def on_body(self, body: bytes) -> None:
        stream = self._body_stream
        if stream is not None:  # no size limit: the worker takes it as it comes
            self._arm(self._limits.request_timeout, self._too_slow)  # a deadline per piece
            stream.feed(body)
            return
        self._grow(len(body) + 8, head=False)  # 8: a chunk's framing, at least
        self._body.append(body)

    def _start_body_stream(self, method: str, pool: Executor) -> None:
        """Answer this request in ``pool`` now, its body handed over as it arrives."""
        if self._pending or self._busy:
            raise _Refused(400, "MalformedRequest", "A streamed request may not be pipelined.")
        transport = self.transport
        assert transport is not None  # noqa: S101
        loop = self._loop

        def resume() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the server stopped
                loop.call_soon_threadsafe(self._resume_body)

        stream = self._body_stream = BodyStream(transport.pause_reading, resume)
        request = Request(method, self._url.decode("latin-1"), self._headers, b"", stream)
        self._busy = True
        assert self._slow is not None  # noqa: S101
        handler = self._slow[0]
        done = pool.submit(self._answer, handler, request)
        done.add_done_callback(self._on_loop(functools.partial(self._answered, pool=pool)))

    def _resume_body(self) -> None:
        if self.transport is not None and not self._closing and self._writable:
            self.transport.resume_reading()

    def on_message_complete(self) -> None:
        self._in_request = False
        self._disarm()
        stream = self._body_stream
        if stream is not None:  # its answer is on its way already
            self._body_stream = None
            stream.end()
            if self._close_after:
                self._closing = True
            return
        method = self._parser.get_method().decode("latin-1")
        target = self._url.decode("latin-1")
        request = Request(method, target, self._headers, b"".join(self._body))
        self._pending.append(request)
        if self._close_after:
            self._closing = True  # nothing after this request is read
        self._dispatch()

    # --- answering -----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Answer what was read, in order, while the client takes answers."""
        while self._pending and self._writable and not self._busy:
            item = self._pending.popleft()
            last = not self._pending and self._closing
            if not isinstance(item, Request):  # an error reply: the connection ends here
                self._send(item, close=True)
                return
            reply = self._answer(self._handler, item)
            if isinstance(reply, Streamed):
                assert self._slow is not None  # noqa: S101  (relays come with a worker pool)
                self._start_stream(reply, last, self._slow[1])
                return
            if isinstance(reply, tuple) or self._slow is None:
                if not isinstance(reply, tuple):
                    reply = self._error(500, "InternalFailure", "No answer.")
                self._send(reply, last)
                continue
            self._busy = True
            handler, executor = self._slow
            if reply is not None:
                executor = reply  # the pool the handler asked for
            done = executor.submit(self._answer, handler, item)
            done.add_done_callback(
                self._on_loop(functools.partial(self._answered, last=last, pool=executor))
            )
            return
        transport = self.transport
        if transport is None:
            return
        if self._closing:
            if not self._pending and not self._busy and not transport.is_closing():
                transport.close()  # everything read was answered
            return
        if len(self._pending) >= _MAX_PENDING or not self._writable:
            transport.pause_reading()  # the client sends faster than it takes answers
        elif not self._pending:
            transport.resume_reading()
            if not self._in_request:
                self._arm(self._limits.idle_timeout, self._idle)

    def _on_loop(self, then: Callable[[Future[Any]], None]) -> Callable[[Future[Any]], None]:
        """A done-callback for a worker's future that runs ``then`` on the loop: one wake-up
        of the loop (``run_in_executor`` costs two loop iterations more per answer)."""
        loop = self._loop

        def done(future: Future[Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the server stopped
                loop.call_soon_threadsafe(then, future)

        return done

    def _answered(self, future: Future[Any], *, pool: Executor, last: bool = False) -> None:
        self._busy = False
        reply = future.result()
        if self.transport is None or self.transport.is_closing():
            if isinstance(reply, Streamed):
                pool.submit(reply.close)
            return
        if isinstance(reply, Streamed):
            self._start_stream(reply, last, pool)
            return
        if not isinstance(reply, tuple):
            reply = self._error(500, "InternalFailure", "No answer.")
        self._send(reply, last or self._abandon_body())
        self._dispatch()

    def _abandon_body(self) -> bool:
        """Once an answer is out whole while its request body is still arriving: whether the
        connection must close (the rest of that body cannot be told from a next request)."""
        stream = self._body_stream
        if stream is None or not stream.abandon():
            return False
        self._body_stream = None
        self._in_request = False
        return True

    # --- streamed answers: one chunk pulled at a time, while the client takes them -------------

    def _start_stream(self, reply: Streamed, last: bool, pool: Executor) -> None:
        transport = self.transport
        assert transport is not None  # noqa: S101
        self._busy = True
        if isinstance(reply.chunks, list):  # in memory already: no worker thread needed
            last = last or self._abandon_body()
            head = head_of(reply.status, reply.reason, reply.headers, last)
            transport.write(head + b"".join(reply.chunks))
            self._busy = False
            reply.close()  # (nothing to release: what was read is written)
            if last:
                self._close_lingering(transport)
            self._dispatch()
            return
        transport.write(head_of(reply.status, reply.reason, reply.headers, last))
        self._stream = (iter(reply.chunks), reply, last, pool)
        self._pull()

    def _pull(self) -> None:
        stream = self._stream
        if stream is None or self._pulling or not self._writable:
            return  # resume_writing pulls again
        self._pulling = True
        chunks, _reply, _last, pool = stream
        pool.submit(next, chunks, _END).add_done_callback(self._on_loop(self._pulled))

    def _pulled(self, future: Future[bytes]) -> None:
        self._pulling = False
        stream, transport = self._stream, self.transport
        assert stream is not None  # noqa: S101
        _chunks, reply, last, _pool = stream
        failed = future.exception()
        if transport is None or transport.is_closing() or failed is not None:
            if transport is not None:
                transport.abort()  # the answer cannot be finished: the client sees it cut
            self._end_stream()
            return
        chunk = future.result()
        if chunk is _END:
            if reply.chunked:
                transport.write(b"0\r\n\r\n")
            self._end_stream()
            if last or self._abandon_body():
                self._close_lingering(transport)
            self._dispatch()
            return
        if chunk:
            transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if reply.chunked else chunk)
        self._pull()

    def _end_stream(self) -> None:
        stream, self._stream = self._stream, None
        self._busy = False
        if stream is not None:
            stream[3].submit(stream[1].close)

    def _answer(self, handler: FastHandler, request: Request) -> Outgoing | Executor | None:
        try:
            return handler(request)
        except Exception as error:  # noqa: BLE001  (no request stops the server)
            return self._error(
                500, "InternalFailure", f"sscstub failed to answer: {type(error).__name__}."
            )

    def _send(self, reply: Reply, close: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(encode(reply, close))
        if close:
            self._close_lingering(transport)

    def _close_lingering(self, transport: asyncio.Transport) -> None:
        self._closing = True
        self._disarm()
        if transport.can_write_eof():
            # A lingering close: send FIN, then read and drop what the client still sends
            # for a moment. Closing at once with unread bytes would send a RST, which can
            # destroy the answer before the client reads it.
            transport.write_eof()
            transport.resume_reading()
            self._arm(_LINGER, transport.close)
        else:
            transport.close()

    def _fail(self, status: int, code: str, message: str) -> None:
        """The rest of the connection cannot be read: answer what was read, then this."""
        if self._body_stream is not None:  # its worker sees the body break off
            self._body_stream.end(failed=True)
            self._body_stream = None
        self._closing = True
        self._in_request = False
        self._pending.append(self._error(status, code, message))
        self._dispatch()

    # --- limits and timers ---------------------------------------------------------------------

    def _grow(self, count: int, head: bool) -> None:
        self._size += count
        if head and self._size > self._limits.max_head:
            raise _Refused(431, "RequestHeaderTooLarge", "The request head is too large.")
        if self._size > self._limits.max_request:
            raise _Refused(413, "RequestEntityTooLarge", self._too_large())

    def _too_large(self) -> str:
        return f"The request exceeds {self._limits.max_request} bytes."

    def _arm(self, delay: float, then: Callable[[], Any]) -> None:
        self._disarm()
        self._timer = self._loop.call_later(delay, then)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _idle(self) -> None:
        if self.transport is not None and not self._pending and not self._busy:
            self._closing = True
            self.transport.close()

    def _too_slow(self) -> None:
        if self._in_request:
            limit = self._limits.request_timeout
            self._fail(408, "RequestTimeout", f"The request did not arrive whole in {limit:g} s.")

    def _stalled(self) -> None:
        """The client has not read its answers for a while: drop it."""
        self._stall = None
        if self.transport is not None and not self._writable:
            self._closing = True
            self._pending.clear()
            self.transport.abort()
