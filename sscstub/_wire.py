"""The HTTP shape of IAM's answers: the response object botocore reads, its headers, request ids,
dates, timestamps exactly as botocore's query parser makes them, and IAM's XML itself (written
from the model) with the reader of the query-protocol form requests arrive in."""

from __future__ import annotations

import datetime as _datetime_module
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_plus

from botocore.awsrequest import AWSResponse

from . import _secrets
from ._botocore_internals import headers_dict, timestamp_parser
from ._checks import Source
from ._store import Stamp

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# freezegun swaps module attributes that are the real datetime class; inside a tuple it stays real.
_REAL = (datetime,)


class Response(AWSResponse):
    """What botocore's client reads of an HTTP response: the status now, the headers (as botocore's
    case-insensitive HeadersDict) only if someone asks; building that dict costs microseconds."""

    _plain_headers: dict[str, str]
    _headers: Any  # built by _respond(), which sets every attribute in one dict

    @property
    def headers(self) -> Any:
        if self._headers is None:
            self._headers = headers_dict(self._plain_headers)
        return self._headers

    @headers.setter
    def headers(self, value: Any) -> None:
        self._headers = value


def respond(
    url: str,
    status: int,
    request_id: str,
    now: int,
    body: dict[str, Any],
    last_attempt: bool = False,
) -> tuple[Response, dict[str, Any]]:
    headers = {
        "x-amzn-requestid": request_id,
        "content-type": "text/xml",
        "date": http_date(now),
    }
    meta: dict[str, Any] = {
        "RequestId": request_id,
        "HTTPStatusCode": status,
        "HTTPHeaders": headers,
    }
    if last_attempt:
        # Answering at before-call skips botocore's retries: a retryable error reaches the
        # caller as it would after the last attempt the client allows.
        meta["MaxAttemptsReached"] = True
    meta["RetryAttempts"] = 0
    body["ResponseMetadata"] = meta
    response = _new_response(Response)
    response.__dict__ = {
        "url": url,
        "status_code": status,
        "raw": None,
        "_content": b"",
        "_plain_headers": headers,
        "_headers": None,
    }
    return response, body


_new_response = object.__new__


# --- IAM's XML (query protocol), written from the model ------------------------------------------

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})


def escape(text: str) -> str:
    """XML text escaping; most values (ids, names, dates) have nothing to escape."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return text.translate(_ESCAPES)
    return text


_iso_cache: dict[datetime, str] = {}


def iso8601(value: datetime) -> str:
    """A timestamp as IAM writes it: UTC, whole seconds, with Z (cached: timestamps repeat)."""
    found = _iso_cache.get(value)
    if found is None:
        seconds = int(value.timestamp())
        found = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        if len(_iso_cache) >= 4096:
            _iso_cache.clear()
        _iso_cache[value] = found
    return found


XmlWriter = Callable[[str, "dict[str, Any]"], bytes]


def xml_writer(operation: str, output_shape: Any) -> XmlWriter:
    """A function from (request id, body) to the bytes IAM sends on success, generated once per
    output shape: members in the model's order, lists as ``<member>``, timestamps ISO 8601 in
    UTC with Z, booleans ``true``/``false``, text escaped."""
    src = Source()
    src.namespace.update(iso=iso8601, esc=escape)
    head = f'<{operation}Response xmlns="{NAMESPACE}">'
    tail = f"</{operation}Response>"
    if output_shape is None:
        src.emit(0, "def write(rid, v):")
        src.emit(1, f"return ({head!r} '<ResponseMetadata><RequestId>' + rid")
        src.emit(2, f"+ '</RequestId></ResponseMetadata>' {tail!r}).encode()")
        return src.build("write")  # type: ignore[no-any-return]
    done: dict[str, str] = {}
    top = _xml_structure(src, output_shape, done)
    src.emit(0, "def write(rid, v):")
    src.emit(1, f"out = [{head + '<' + operation + 'Result>'!r}]")
    src.emit(1, f"{top}(v, out)")
    src.emit(1, f"out.append({'</' + operation + 'Result><ResponseMetadata><RequestId>'!r})")
    src.emit(1, "out.append(rid)")
    src.emit(1, f"out.append({'</RequestId></ResponseMetadata>' + tail!r})")
    src.emit(1, "return ''.join(out).encode()")
    return src.build("write")  # type: ignore[no-any-return]


def _xml_structure(src: Source, shape: Any, done: dict[str, str]) -> str:
    if shape.name in done:
        return done[shape.name]
    name = done[shape.name] = f"w_{shape.name}"
    nested = {}
    for member, sub in shape.members.items():
        if sub.type_name == "structure":
            nested[member] = _xml_structure(src, sub, done)
        elif sub.type_name == "list":
            nested[member] = _xml_structure(src, sub.member, done)
    src.emit(0, f"def {name}(v, out):")
    src.emit(1, "get = v.get")
    for member, sub in shape.members.items():
        src.emit(1, f"x = get({member!r})")
        src.emit(1, "if x is not None:")
        open_, close = f"<{member}>", f"</{member}>"
        kind = sub.type_name
        if kind == "structure":
            src.emit(2, f"out.append({open_!r}); {nested[member]}(x, out); out.append({close!r})")
        elif kind == "list":
            src.emit(2, f"out.append({open_!r})")
            src.emit(2, "for item in x:")
            src.emit(3, f"out.append('<member>'); {nested[member]}(item, out)")
            src.emit(3, "out.append('</member>')")
            src.emit(2, f"out.append({close!r})")
        elif kind == "timestamp":
            src.emit(2, f"out.append({open_!r} + iso(x) + {close!r})")
        elif kind == "boolean":
            src.emit(
                2, f"out.append({open_ + 'true' + close!r} if x else {open_ + 'false' + close!r})"
            )
        else:
            value = "x" if kind == "string" else "str(x)"
            src.emit(2, f"out.append({open_!r} + esc({value}) + {close!r})")
    src.emit(1, "return None")
    return name


# Characters XML 1.0 cannot hold at all, even escaped: error messages may echo what a client sent.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_error(request_id: str, error: dict[str, str]) -> bytes:
    """IAM's ``ErrorResponse`` for ``{"Type", "Code", "Message"}``."""
    code, message = (_NOT_XML.sub("\ufffd", escape(error[k])) for k in ("Code", "Message"))
    return (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{error["Type"]}</Type>'
        f"<Code>{code}</Code><Message>{message}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()


def xml_headers(request_id: str, now: int, length: int) -> dict[str, str]:
    return {
        "x-amzn-RequestId": request_id,
        "Content-Type": "text/xml",
        "Content-Length": str(length),
        "Date": http_date(now),
    }


def read_query(form: str | bytes) -> dict[str, str]:
    """The query-protocol form (``Action=...&Version=...&UserName=...``) as a flat dict, the
    way the engine reads a request. A repeated key keeps its first value."""
    text = form.decode("utf-8") if isinstance(form, bytes) else form
    out: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if "%" in pair or "+" in pair:  # most pairs need no decoding at all
            key, value = unquote_plus(key), unquote_plus(value)
        if key not in out:
            out[key] = value
    return out


def make_request_ids(entropy: _secrets.Entropy, count: int) -> list[str]:
    """Version-4 UUIDs, as IAM's request ids are."""
    raw = entropy.bytes(16 * count).hex()
    return [
        f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:]}"
        for x in (raw[i : i + 32] for i in range(0, 32 * count, 32))
    ]


_VARIANT = {f"{i:x}": "89ab"[i & 3] for i in range(16)}  # RFC 4122 variant bits


_date_cache: tuple[int, str] = (-1, "")


def http_date(now: int) -> str:
    global _date_cache
    cached = _date_cache
    if cached[0] != now:
        cached = _date_cache = (now, formatdate(now, usegmt=True))
    return cached[1]


# --- timestamps exactly as botocore's parser makes them ----------------------------------------

_stamp_cache: tuple[Any, Stamp] | None = None


def stamper() -> Stamp:
    """A function from epoch seconds to the datetime botocore's query parser would produce.

    dateutil gives ``tzlocal()`` when the machine's zone is named UTC and ``tzutc()`` otherwise
    (``dateutil.parser._build_tzaware``); the answer is cached per ``time.tzname``.
    """
    global _stamp_cache
    key = time.tzname
    cached = _stamp_cache
    if cached is None or cached[0] != key:
        cached = _stamp_cache = (key, _make_stamper(key))
    return cached[1]


def _make_stamper(key: tuple[str, str]) -> Stamp:
    parse = timestamp_parser()

    def iso(ts: int) -> str:
        return (_EPOCH + timedelta(seconds=ts)).strftime("%Y-%m-%dT%H:%M:%SZ")

    if "UTC" in key and key[0] != key[1]:
        # A zone whose standard or summer name alone is UTC: dateutil's choice depends on the
        # instant, so ask the parser each time (exact, slower, and rare).
        def exact(ts: int) -> datetime:
            parsed: datetime = parse(iso(ts))
            return parsed

        return exact
    tz: tzinfo | None = parse(iso(0)).tzinfo
    cache: dict[int, datetime] = {}  # datetimes are immutable, and a record's timestamps repeat

    def fast(ts: int) -> datetime:
        cls = _datetime_module.datetime  # freezegun swaps the class; botocore's parser follows it
        value = cache.get(ts)
        if value is not None and type(value) is cls:
            return value
        value = (_EPOCH + timedelta(seconds=ts)).replace(tzinfo=tz)
        if cls is not _REAL[0]:
            value = cls(*value.timetuple()[:6], tzinfo=tz)
        if len(cache) >= 4096:
            cache.clear()
        cache[ts] = value
        return value

    return fast
