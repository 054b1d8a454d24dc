"""HTTP/1.1 as the local endpoint needs it: one request parsed from a connection's bytes, one
response encoded in one piece. Nothing here knows IAM."""

from __future__ import annotations

MAX_BODY = 1024 * 1024
Reply = tuple[int, dict[str, str], bytes]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}
_HEAD_LIMIT = 64 * 1024


class BadRequest(Exception):
    """A request that cannot be read: its status, AWS-style error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.reply = (status, code, message)


# The only headers the endpoint reads.
_WANTED = ("content-length", "transfer-encoding", "connection")


def parse(buffer: bytearray) -> tuple[str, str, dict[str, str], bytes, int] | None:
    """The first complete request in ``buffer``: (method, target, the headers it reads, body,
    its length in bytes), or None while more bytes are needed. Raises `BadRequest`."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > _HEAD_LIMIT:
            raise BadRequest(431, "RequestHeaderTooLarge", "The request head is too large.")
        return None
    head = buffer[:end].decode("latin-1")
    first, _, rest = head.partition("\r\n")
    parts = first.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest(400, "MalformedRequest", "The request line is malformed.")
    headers = {}
    lowered = "\r\n" + rest.lower()
    for name in _WANTED:  # three finds: cheaper than splitting every header line
        at = lowered.find(f"\r\n{name}:")
        if at >= 0:
            stop = lowered.find("\r\n", at + 2)
            headers[name] = lowered[at + len(name) + 3 : stop if stop >= 0 else None].strip()
    start = end + 4
    if headers.get("transfer-encoding") == "chunked":
        found = chunked(buffer, start)
        if found is None:
            return None
        body, stop = found
        return parts[0], parts[1], headers, body, stop
    try:
        length = int(headers.get("content-length", "0") or "0")
    except ValueError:
        raise BadRequest(400, "MalformedQueryString", "Content-Length is not a number.") from None
    if length < 0:
        raise BadRequest(400, "MalformedQueryString", "Content-Length is negative.")
    if length > MAX_BODY:
        raise BadRequest(413, "RequestEntityTooLarge", f"The body exceeds {MAX_BODY} bytes.")
    if len(buffer) < start + length:
        return None
    return parts[0], parts[1], headers, bytes(buffer[start : start + length]), start + length


def chunked(buffer: bytearray, at: int) -> tuple[bytes, int] | None:
    parts: list[bytes] = []
    total = 0
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            if len(buffer) - at > 100:
                raise BadRequest(400, "MalformedQueryString", "A chunk size is malformed.")
            return None
        try:
            size = int(bytes(buffer[at:line_end]).split(b";")[0].strip(), 16)
        except ValueError:
            raise BadRequest(400, "MalformedQueryString", "A chunk size is malformed.") from None
        total += size
        if total > MAX_BODY:
            raise BadRequest(413, "RequestEntityTooLarge", f"The body exceeds {MAX_BODY} bytes.")
        data_at = line_end + 2
        if size == 0:
            trailer = buffer.find(b"\r\n", data_at)
            return None if trailer < 0 else (b"".join(parts), trailer + 2)
        if len(buffer) < data_at + size + 2:
            return None
        parts.append(bytes(buffer[data_at : data_at + size]))
        at = data_at + size + 2


def encode(reply: Reply, close: bool) -> bytes:
    status, headers, data = reply
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data
