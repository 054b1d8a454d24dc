"""CQL's native protocol, version 4, as Amazon Keyspaces speaks it: frames in, frames out, and
no I/O (as h11 is to HTTP), so it is tested and fuzzed without sockets. `CqlConnection` takes
bytes (`receive`) and gives events (`next_event`); the functions at the end encode answers.

Version 4 only (``doc/native_protocol_v4.spec`` of apache/cassandra): a first frame of any other
version is answered with the protocol error whose message makes a driver retry one version
lower ("Invalid or unsupported protocol version"), so the drivers' defaults (DSE v2, v5, then
v4) connect without pinning a version. A connection goes NEW (OPTIONS, STARTUP) to
AUTHENTICATING (AUTH_RESPONSE) to READY; the listener decides a sign-in (`accept`).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

VERSION = 4
MAX_FRAME = 1024 * 1024  # bytes of a frame's body
AUTHENTICATOR = "com.amazon.helenus.auth.HelenusAuthenticator"  # Keyspaces' (gocql#1379)
CQL_VERSION = "3.4.4"

# opcodes
ERROR, STARTUP, READY, AUTHENTICATE, OPTIONS, SUPPORTED, QUERY, RESULT = 0, 1, 2, 3, 5, 6, 7, 8
PREPARE, EXECUTE, REGISTER, BATCH, AUTH_RESPONSE, AUTH_SUCCESS = 9, 10, 11, 13, 15, 16
NAMES = {
    STARTUP: "STARTUP", OPTIONS: "OPTIONS", QUERY: "QUERY", PREPARE: "PREPARE",
    EXECUTE: "EXECUTE", REGISTER: "REGISTER", BATCH: "BATCH", AUTH_RESPONSE: "AUTH_RESPONSE",
}  # fmt: skip

# error codes
SERVER_ERROR, PROTOCOL_ERROR, BAD_CREDENTIALS, INVALID, UNPREPARED = 0, 0xA, 0x100, 0x2200, 0x2500

_HEAD = struct.Struct(">BBhBi")  # version, flags, stream, opcode, length


class ProtocolError(Exception):
    """A frame that cannot be served: answered with ``code`` on ``stream``, then the connection
    closes."""

    def __init__(self, stream: int, message: str, code: int = PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.stream, self.message, self.code = stream, message, code


class Frame(NamedTuple):
    stream: int
    opcode: int
    body: bytes


# --- events (what a client asked) ---------------------------------------------------------------


class Options(NamedTuple):
    stream: int


class Startup(NamedTuple):
    stream: int
    options: dict[str, str]


class Credentials(NamedTuple):
    """An AUTH_RESPONSE with a SASL PLAIN token (``authzid NUL login NUL password``). Its repr
    never shows the password."""

    stream: int
    login: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(stream={self.stream}, login={self.login!r})"


class Register(NamedTuple):
    stream: int


class Statement(NamedTuple):
    """A QUERY (``prepared`` None), a PREPARE (``prepare`` True) or an EXECUTE (the id)."""

    stream: int
    query: str
    values: list[bytes | None]
    skip_metadata: bool
    prepare: bool = False
    prepared: bytes | None = None


Event = Options | Startup | Credentials | Register | Statement


class Reader:
    """The protocol's notations read off one body; a short body is a `ProtocolError`."""

    __slots__ = ("data", "at", "stream")

    def __init__(self, data: bytes, stream: int) -> None:
        self.data, self.at, self.stream = data, 0, stream

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise ProtocolError(self.stream, "The frame's body is shorter than its contents.")
        piece = self.data[self.at : self.at + size]
        self.at += size
        return piece

    def short(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def integer(self) -> int:
        return int.from_bytes(self.take(4), "big", signed=True)

    def string(self) -> str:
        return self._text(self.take(self.short()))

    def long_string(self) -> str:
        return self._text(self.take(self.integer()))

    def value(self) -> bytes | None:
        size = self.integer()
        return None if size < 0 else self.take(size)

    def short_bytes(self) -> bytes:
        return self.take(self.short())

    def string_map(self) -> dict[str, str]:
        return {self.string(): self.string() for _ in range(self.short())}

    def _text(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(self.stream, "A string is not UTF-8.") from None


class CqlConnection:
    """One connection's protocol state: bytes in (`receive`), events out (`next_event`)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.state = "NEW"  # then AUTHENTICATING, READY
        self.login: str | None = None
        self.keyspace: str | None = None  # USE's

    def receive(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def next_frame(self) -> Frame | None:
        """The next whole frame, or None until more bytes arrive."""
        buffer = self._buffer
        if len(buffer) < 1:
            return None
        version = buffer[0]
        if version != VERSION:  # (the first byte alone decides: an HTTP request, a TLS hello)
            stream = int.from_bytes(buffer[2:4], "big", signed=True) if len(buffer) >= 4 else 0
            raise ProtocolError(
                stream if version & 0x7F > 2 else 0,
                f"Invalid or unsupported protocol version ({version & 0x7F}); the lowest supported"
                f" version is {VERSION} and the greatest is {VERSION}",
            )
        if len(buffer) < _HEAD.size:
            return None
        _, flags, stream, opcode, length = _HEAD.unpack_from(buffer)
        if length < 0 or length > MAX_FRAME:
            raise ProtocolError(
                stream,
                f"Request is too big: length {length} exceeds maximum allowed length {MAX_FRAME}.",
            )
        if len(buffer) < _HEAD.size + length:
            return None
        body = bytes(buffer[_HEAD.size : _HEAD.size + length])
        del buffer[: _HEAD.size + length]
        if flags & 0x01:
            raise ProtocolError(stream, "Compression was not negotiated: none is supported.")
        if flags & 0x04:  # a custom payload before the body (DSE's drivers): read past it
            reader = Reader(body, stream)
            for _ in range(reader.short()):
                reader.string(), reader.value()
            body = body[reader.at :]
        return Frame(stream, opcode, body)

    def next_event(self) -> Event | None:
        """The next request, or None until more bytes arrive. Raises `ProtocolError` for one
        that cannot be served (the connection then closes)."""
        frame = self.next_frame()
        if frame is None:
            return None
        stream, opcode, body = frame
        expected = {"NEW": (OPTIONS, STARTUP), "AUTHENTICATING": (OPTIONS, AUTH_RESPONSE)}
        allowed = expected.get(self.state)
        if allowed is not None and opcode not in allowed:
            wanted = " or ".join(NAMES[o] for o in allowed)
            raise ProtocolError(
                stream, f"Unexpected message {NAMES.get(opcode, opcode)}, expecting {wanted}"
            )
        reader = Reader(body, stream)
        if opcode == OPTIONS:
            return Options(stream)
        if opcode == STARTUP:
            options = reader.string_map()
            if options.get("COMPRESSION"):
                raise ProtocolError(stream, f"Unknown compression {options['COMPRESSION']!r}")
            self.state = "AUTHENTICATING"
            return Startup(stream, options)
        if opcode == AUTH_RESPONSE:
            token = reader.value() or b""
            parts = token.split(b"\x00")
            if len(parts) != 3:
                raise ProtocolError(
                    stream, "The SASL PLAIN token is not authzid NUL user NUL pass."
                )
            return Credentials(stream, reader._text(parts[1]), reader._text(parts[2]))
        if opcode == REGISTER:
            return Register(stream)
        if opcode == QUERY:
            return _statement(reader, reader.long_string(), None)
        if opcode == PREPARE:
            return Statement(stream, reader.long_string(), [], False, prepare=True)
        if opcode == EXECUTE:
            prepared = reader.short_bytes()
            return _statement(reader, "", prepared)
        if opcode == BATCH:
            raise ProtocolError(stream, _NO_DATA, INVALID)
        raise ProtocolError(stream, f"Unknown opcode {opcode}")

    def accept(self, login: str) -> None:
        """The sign-in succeeded: the connection may query."""
        self.state, self.login = "READY", login


_NO_DATA = (
    "sscstub simulates Amazon Keyspaces' sign-in and its system tables, not table data: use"
    " Keyspaces itself, or a Cassandra, for what the application stores."
)


def _statement(reader: Reader, query: str, prepared: bytes | None) -> Statement:
    """A QUERY's or EXECUTE's parameters: consistency, flags, values (by position or name)."""
    reader.short()  # consistency: one replica or all, the system tables answer the same
    flags = reader.take(1)[0]
    values: list[bytes | None] = []
    if flags & 0x01:
        for _ in range(reader.short()):
            if flags & 0x40:
                reader.string()  # a name: the markers are matched in order
            values.append(reader.value())
    return Statement(reader.stream, query, values, bool(flags & 0x02), prepared=prepared)


# --- answers --------------------------------------------------------------------------------------


def frame(stream: int, opcode: int, body: bytes = b"") -> bytes:
    return _HEAD.pack(0x80 | VERSION, 0, stream, opcode, len(body)) + body


def string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return len(raw).to_bytes(2, "big") + raw


def value(raw: bytes | None) -> bytes:
    return b"\xff\xff\xff\xff" if raw is None else len(raw).to_bytes(4, "big") + raw


def error(stream: int, code: int, message: str, extra: bytes = b"") -> bytes:
    return frame(stream, ERROR, code.to_bytes(4, "big") + string(message) + extra)


def supported(stream: int) -> bytes:
    entries = {"CQL_VERSION": [CQL_VERSION], "COMPRESSION": []}
    body = len(entries).to_bytes(2, "big")
    for key, items in entries.items():
        body += string(key) + len(items).to_bytes(2, "big") + b"".join(map(string, items))
    return frame(stream, SUPPORTED, body)


def authenticate(stream: int) -> bytes:
    return frame(stream, AUTHENTICATE, string(AUTHENTICATOR))


def auth_success(stream: int) -> bytes:
    return frame(stream, AUTH_SUCCESS, value(None))


def ready(stream: int) -> bytes:
    return frame(stream, READY)


def unprepared(stream: int, prepared: bytes) -> bytes:
    return error(stream, UNPREPARED, "Prepared query with ID was not found", _short_bytes(prepared))


def _short_bytes(raw: bytes) -> bytes:
    return len(raw).to_bytes(2, "big") + raw


def result(stream: int, kind: int, body: bytes) -> bytes:
    return frame(stream, RESULT, kind.to_bytes(4, "big") + body)


def set_keyspace(stream: int, keyspace: str) -> bytes:
    return result(stream, 3, string(keyspace))


def metadata(keyspace: str, table: str, columns: list[tuple[str, bytes]], bare: bool) -> bytes:
    """Result metadata: the columns' names and types (their encoded options), one table for
    all; ``bare``: the client asked to skip them (it has them from PREPARE)."""
    count = len(columns).to_bytes(4, "big")
    if bare:
        return (0x0004).to_bytes(4, "big") + count
    specs = b"".join(string(name) + kind for name, kind in columns)
    return (0x0001).to_bytes(4, "big") + count + string(keyspace) + string(table) + specs


def rows(
    stream: int, keyspace: str, table: str, columns: list[tuple[str, bytes]],
    cells: list[list[bytes | None]], bare: bool = False,
) -> bytes:  # fmt: skip
    head = metadata(keyspace, table, columns, bare) + len(cells).to_bytes(4, "big")
    return result(stream, 2, head + b"".join(value(c) for row in cells for c in row))


def prepared(
    stream: int, query_id: bytes, keyspace: str, table: str,
    markers: list[tuple[str, bytes]], columns: list[tuple[str, bytes]],
) -> bytes:  # fmt: skip
    """A PREPARE's answer: the id, the bind markers' specs (no partition key among them is
    named), then the result's metadata."""
    bound = (0x0001).to_bytes(4, "big") + len(markers).to_bytes(4, "big") + (0).to_bytes(4, "big")
    bound += string(keyspace) + string(table) + b"".join(string(n) + k for n, k in markers)
    return result(
        stream, 4, _short_bytes(query_id) + bound + metadata(keyspace, table, columns, False)
    )
