"""IAM's query protocol, with no I/O: the form a request arrives in (`read_query`, and
`wire_form` for what botocore sends), the XML IAM answers with (a writer generated per output
shape, and `xml_error`), its headers and HTTP date, and `encode`, which turns one `Answer` into
the status, headers and bytes that wire mode and the HTTP server both send."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_plus, urlencode

from ._answer import Answer
from ._codegen import Source, put

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
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
        found = put(_iso_cache, value, (_EPOCH + timedelta(seconds=seconds)).strftime(ISO_FORMAT))
    return found


XmlWriter = Callable[[str, "dict[str, Any]"], bytes]  # (request id, body) -> bytes


def xml_writer(operation: str, output_shape: Any) -> XmlWriter:
    """A function from (request id, body) to the bytes IAM sends on success, generated once per
    output shape: members in the model's order, lists as ``<member>``, timestamps ISO 8601 in
    UTC with Z, booleans ``true``/``false``, text escaped."""
    src = Source(iso=iso8601, esc=escape)
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


_date_cache: tuple[int, str] = (-1, "")


def http_date(now: int) -> str:
    """The Date header's form of an epoch second (cached: many answers share a second)."""
    global _date_cache
    cached = _date_cache
    if cached[0] != now:
        cached = _date_cache = (now, formatdate(now, usegmt=True))
    return cached[1]


_utc_cache: dict[int, datetime] = {}


def clear_caches() -> None:
    """Forget the formatted timestamps (`_model.clear_caches`)."""
    global _date_cache
    _iso_cache.clear()
    _utc_cache.clear()
    _date_cache = (-1, "")


def utc_stamp(ts: int) -> datetime:
    """An epoch second as the aware UTC datetime the XML writer takes (cached: they repeat)."""
    found = _utc_cache.get(ts)
    return found if found is not None else put(_utc_cache, ts, _EPOCH + timedelta(seconds=ts))


def wire_form(body: Mapping[str, Any]) -> str:
    """The form botocore sends for a query-protocol body dict (``AWSRequestPreparer``:
    ``urlencode(body, doseq=True)``): a list becomes repeated keys, None the text "None"."""
    return urlencode(body, doseq=True)


def encode(answer: Answer, write: XmlWriter | None) -> tuple[int, dict[str, str], bytes]:
    """The HTTP status, headers and body IAM sends for ``answer``; ``write`` is the operation's
    XML writer (unused for an error)."""
    error = answer.error
    if error is None:
        assert write is not None and answer.result is not None
        data = write(answer.request_id, answer.result)
    else:
        data = xml_error(answer.request_id, error)
    return answer.status, xml_headers(answer.request_id, answer.time, len(data)), data
