"""Bedrock's long-term API keys where they are used, for both front ends: the check (`check`),
the refusal Bedrock answers with (`REFUSED`, `refusal_headers`), which operation a request is
(from the Bedrock models' HTTP bindings) and the endpoint's route for bearer calls."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._answer import Answer
from ._query import http_date
from ._secrets import long_term_prefix

if TYPE_CHECKING:
    from ._engine import Engine
    from ._replies import Outgoing
    from ._routes import Incoming

BEDROCK_SERVICE = "bedrock.amazonaws.com"
# What Bedrock answers a key it does not accept (observed: 403 and this body; the error type,
# AccessDeniedException, is the model's 403 error: inferred, see docs/fidelity.md).
# Bedrock's protocol is JSON: its parsed errors carry a message and a code, no fault type.
REFUSED = MappingProxyType(
    {
        "Message": "Authentication failed: Please make sure your API Key is valid.",
        "Code": "AccessDeniedException",
    }
)


def check(engine: Engine, service: str, operation: str, api_key: str, wait: bool = True) -> Answer:
    """A call to ``service`` (``bedrock-runtime``, ``bedrock``) signed with a long-term API
    key: status 200 when it is the current secret of an Active, unexpired Bedrock key the
    engine issued (the call goes on), else 403 with Bedrock's refusal. Logged as
    ``service:operation`` with the key's alias, never the key."""
    from ._secrets import read_api_key

    read = read_api_key(api_key)
    alias = None if read is None else read[1]
    accepted = alias is not None and engine.authenticate_api_key(api_key, BEDROCK_SERVICE, wait)
    params = {"ServiceCredentialAlias": alias, "Accepted": accepted}
    used = engine.record_use(
        f"{service}:{operation}", params, None if accepted else REFUSED["Code"]
    )
    return used if accepted else used._replace(error=dict(REFUSED), result=None)


def refusal_headers(answer: Answer) -> dict[str, str]:
    """The headers of Bedrock's JSON error (the error type header: inferred from restJson1)."""
    assert answer.error is not None
    return {
        "x-amzn-requestid": answer.request_id,
        "content-type": "application/json",
        "x-amzn-errortype": answer.error["Code"],
        "date": http_date(answer.time),
    }


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
    return "bedrock", f"{method} {path[:200]}"


def bearer_token(incoming: Incoming) -> str | None:
    authorization = incoming.headers.get("authorization", "")
    return authorization[7:].strip() if authorization[:7].lower() == "bearer " else None


class BedrockRoute:
    """Calls with a bearer token (Bedrock's API keys; nothing of IAM's has one): a long-term key
    sscstub does not accept gets Bedrock's 403; an accepted one (or any other token) goes on to
    the upstream, or is answered 501 naming the operation (Bedrock is not simulated)."""

    def __init__(
        self,
        engine: Engine,
        in_state: Callable[[Callable[[bool], Any]], Awaitable[Any]],
        onward: Callable[[Incoming], Awaitable[Outgoing]] | None,
    ) -> None:
        self.engine = engine
        self.in_state = in_state
        self.onward = onward  # the relay to an upstream, or None

    @staticmethod
    def matches(incoming: Incoming) -> bool:
        return bearer_token(incoming) is not None

    async def handle(self, incoming: Incoming) -> Outgoing:
        from ._replies import Reply, reply, request_id

        token = bearer_token(incoming) or ""
        service, operation = bedrock_operation(incoming.method, incoming.path)
        if long_term_prefix(token) is not None:
            answer: Answer = await self.in_state(
                lambda wait: check(self.engine, service, operation, token, wait)
            )
            if answer.error is not None:
                data = json.dumps({"Message": answer.error["Message"]}).encode()
                headers = {**refusal_headers(answer), "content-length": str(len(data))}
                return Reply(403, headers, data)
        if self.onward is not None:
            return await self.onward(incoming)
        message = (
            f"sscstub checked the API key, but does not simulate Bedrock: {service} {operation}"
            " is not answered here. Start the endpoint with --upstream URL to pass such calls on."
        )
        extra = {"x-amzn-ErrorType": "NotImplemented", "x-amzn-RequestId": request_id()}
        return reply(501, "application/json", json.dumps({"Message": message}).encode(), extra)
