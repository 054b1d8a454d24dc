"""`Answer`: what the engine says to one request, before any front end shapes it.

The engine makes one; the before-call adapter turns it into the parsed dict botocore's client
returns, wire mode and the HTTP server into IAM's XML bytes (`_query.encode`).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Answer(NamedTuple):
    status: int  # the HTTP status IAM answers with
    request_id: str
    time: int  # the epoch second it was made at (the Date header)
    operation: str  # the API name, as logged
    result: dict[str, Any] | None  # on success: the body, without ResponseMetadata
    error: dict[str, str] | None  # on failure: {"Type", "Code", "Message"}
    retryable: bool  # botocore would retry it
