"""Bedrock's side of its API keys on the local endpoint: which operation a request is (from
the Bedrock models' HTTP bindings) and the error Bedrock's JSON protocol answers with."""

from __future__ import annotations

import functools
import json
import re

from ._answer import Answer
from ._http import Reply
from ._query import http_date


def bedrock_error(status: int, code: str, message: str, answer: Answer) -> Reply:
    """An error as Bedrock's JSON protocol sends it (observed body; type header: inferred)."""
    data = json.dumps({"Message": message}).encode()
    headers = {
        "Date": http_date(answer.time),
        "Content-Type": "application/json",
        "Content-Length": str(len(data)),
        "x-amzn-RequestId": answer.request_id,
        "x-amzn-ErrorType": code,
    }
    return status, headers, data


@functools.cache
def _bedrock_routes() -> list[tuple[str, re.Pattern[str], str, str]]:
    """(method, path pattern, service, operation) of every Bedrock operation botocore knows."""
    import botocore.session

    session = botocore.session.get_session()
    routes = []
    for service in ("bedrock-runtime", "bedrock"):
        try:
            model = session.get_service_model(service)
        except Exception:  # noqa: BLE001  (an old botocore without Bedrock)
            continue
        for name in model.operation_names:
            http = model.operation_model(name).http
            uri = http.get("requestUri", "/").split("?", 1)[0]
            pattern = re.sub(
                r"\\{[^}]+\\}",
                lambda m: ".+" if m.group(0).endswith("+\\}") else "[^/]+",
                re.escape(uri),
            )
            routes.append((http.get("method", "POST"), re.compile(pattern + "$"), service, name))
    return routes


def bedrock_operation(method: str, path: str) -> tuple[str, str]:
    """The Bedrock service and operation a request is for (by the models' HTTP bindings)."""
    for verb, pattern, service, name in _bedrock_routes():
        if verb == method and pattern.match(path):
            return service, name
    return "bedrock", f"{method} {path}"
