"""The HTTP shape of IAM's answers: the response object botocore reads, its headers, request ids,
dates, timestamps exactly as botocore's query parser makes them, and IAM's XML itself (written
from the model) with the reader of the query-protocol form requests arrive in."""

from __future__ import annotations

import datetime as _datetime_module
import time
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import formatdate
from typing import Any

from botocore.awsrequest import AWSResponse

from . import _secrets
from ._botocore_internals import headers_dict, timestamp_parser
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


def _xml_value(shape: Any, value: Any, out: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        for name, sub in members.items():  # the model's member order, as IAM writes them
            if name in value:
                out.append(f"<{name}>")
                _xml_value(sub, value[name], out)
                out.append(f"</{name}>")
    elif kind == "list":
        for item in value:
            out.append("<member>")
            _xml_value(shape.member, item, out)
            out.append("</member>")
    elif kind == "timestamp":
        out.append(iso8601(value))
    elif kind == "boolean":
        out.append("true" if value else "false")
    else:
        out.append(str(value).translate(_ESCAPES))


def iso8601(value: datetime) -> str:
    """A timestamp as IAM writes it: UTC, whole seconds, with Z."""
    seconds = int(value.timestamp())
    return (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def xml_body(operation: str, output_shape: Any, request_id: str, body: dict[str, Any]) -> bytes:
    """The bytes IAM sends for ``body`` (success: the result members; error: ``{"Error":...}``)."""
    if "Error" in body and (output_shape is None or "Error" not in output_shape.members):
        error = body["Error"]
        return (
            f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{error["Type"]}</Type>'
            f"<Code>{str(error['Code']).translate(_ESCAPES)}</Code>"
            f"<Message>{str(error['Message']).translate(_ESCAPES)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    out = [f'<{operation}Response xmlns="{NAMESPACE}">']
    if output_shape is not None:
        out.append(f"<{operation}Result>")
        _xml_value(output_shape, body, out)
        out.append(f"</{operation}Result>")
    out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
    out.append(f"</{operation}Response>")
    return "".join(out).encode()


def xml_headers(request_id: str, now: int, length: int) -> dict[str, str]:
    return {
        "x-amzn-RequestId": request_id,
        "Content-Type": "text/xml",
        "Content-Length": str(length),
        "Date": http_date(now),
    }


def read_query(form: str | bytes) -> dict[str, str]:
    """The query-protocol form (``Action=...&Version=...&UserName=...``) as a flat dict, the
    way the engine reads a request. A repeated key keeps its first value, as AWS does."""
    from urllib.parse import parse_qsl

    text = form.decode("utf-8") if isinstance(form, bytes) else form
    out: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, strict_parsing=False):
        out.setdefault(key, value)
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
