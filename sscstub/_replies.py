"""What the endpoint answers with, built in one place: a `Reply` (status, headers, body) made by
`reply`, in IAM's XML (`xml_error`), JSON (`json_reply`) or plain text (`text_reply`); a
`Streamed` one whose body comes in pieces (git, relayed answers); and the raw bytes the
connection layer writes itself (`xml_error_bytes`). `send` hands either kind to ASGI."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any, NamedTuple

from ._answer import Answer
from ._errors import AwsError
from ._query import encode, http_date


class Reply(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes


class Streamed(NamedTuple):
    """An answer whose body comes in pieces; ``close`` runs once it is sent or abandoned."""

    status: int
    headers: list[tuple[str, str]]
    chunks: AsyncIterator[bytes]
    close: Callable[[], Awaitable[None]]


Outgoing = Reply | Streamed


def reply(
    status: int, content_type: str, body: bytes, extra: Mapping[str, str] | None = None
) -> Reply:
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
        "Date": http_date(int(time.time())),
    }
    if extra:
        headers.update(extra)
    return Reply(status, headers, body)


def request_id() -> str:
    """A request id for an answer the engine did not make (an HTTP-level error)."""
    return str(uuid.uuid4())


def xml_error(status: int, code: str, message: str, close: bool = False) -> Reply:
    """IAM's XML error for what the engine never saw (an HTTP-level problem)."""
    fault = "Receiver" if status >= 500 else "Sender"
    error = {"Type": fault, "Code": code, "Message": message}
    _, headers, data = encode(
        Answer(status, request_id(), int(time.time()), "", None, error, False), None
    )
    if close:
        headers["Connection"] = "close"
    return Reply(status, headers, data)


def xml_error_bytes(status: int, code: str, message: str) -> bytes:
    """The same, as the bytes of a whole HTTP/1.1 response that closes the connection."""
    status, headers, data = xml_error(status, code, message, close=True)
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data


def json_reply(status: int, payload: Mapping[str, Any]) -> Reply:
    return reply(status, "application/json", json.dumps(payload).encode())


def text_reply(status: int, message: str, extra: Mapping[str, str] | None = None) -> Reply:
    """A plain-text answer, as a git client prints it."""
    return reply(status, "text/plain; charset=utf-8", f"{message}\n".encode(), extra)


Send = Callable[[dict[str, Any]], Awaitable[None]]


_names: dict[str, bytes] = {}


def _name(name: str) -> bytes:
    """A header name as ASGI takes it (lower case, bytes); the few there are, remembered."""
    found = _names.get(name)
    if found is None:
        found = name.lower().encode("latin-1")
        if len(_names) < 256:
            _names[name] = found
    return found


async def send(asgi_send: Send, outgoing: Outgoing, scope: Mapping[str, Any]) -> None:
    """Hand a reply to the server: a `Reply` in one message; a `Streamed` one piece at a time
    (each waits until the client has taken the last: the server's flow control), then close.
    A stream that breaks off (an upstream gone, a read failed) is cut where it is: the
    connection closes, and the client sees an answer shorter than its framing says."""
    pairs = outgoing.headers.items() if isinstance(outgoing, Reply) else outgoing.headers
    names = _names
    headers = [(names.get(n) or _name(n), value.encode("latin-1")) for n, value in pairs]
    await asgi_send({"type": "http.response.start", "status": outgoing.status, "headers": headers})
    if isinstance(outgoing, Reply):
        await asgi_send({"type": "http.response.body", "body": outgoing.body})
        return
    try:
        async for piece in outgoing.chunks:
            if piece:
                await asgi_send({"type": "http.response.body", "body": piece, "more_body": True})
        await asgi_send({"type": "http.response.body", "body": b""})
    except (AwsError, OSError):
        connection = scope.get("sscstub.connection")
        if connection is None:  # (an ASGI server other than sscstub's own)
            raise
        connection.cut(scope)
    finally:
        await outgoing.close()
