"""The test API over HTTP, JSON under ``/_sscstub/``: one table of ``(method, route)`` to
handler, each a call of the server's own test API (`Controls`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._durable import StateBusy
from ._errors import AwsError, SscStubError
from ._replies import Reply, json_reply
from ._routes import API_PREFIX, Incoming

if TYPE_CHECKING:
    from ._server import Server

Data = Mapping[str, Any]


def _credential(c: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "service_specific_credential_id": c.service_specific_credential_id,
        "user_name": c.user_name,
        "service_name": c.service_name,
        "status": c.status,
        "create_date": iso(c.create_date),
        "expiration_date": iso(c.expiration_date),
        "service_user_name": c.service_user_name,
        "service_credential_alias": c.service_credential_alias,
    }


def _calls(server: Server) -> dict[str, Any]:
    calls = [
        {
            "operation": c.operation,
            "params": dict(c.params),
            "error_code": c.error_code,
            "request_id": c.request_id,
        }
        for c in server.calls
    ]
    return {"calls": calls, "dropped": server.dropped_calls}


def _authenticate(server: Server, data: Data) -> dict[str, Any]:
    if "api_key" in data:
        return {"authenticated": server.authenticate_api_key(data["api_key"])}
    ok = server.authenticate(
        data.get("service_user_name"),  # type: ignore[arg-type]
        data.get("password"),  # type: ignore[arg-type]
        service_name=data.get("service_name"),
    )
    return {"authenticated": ok}


def _inject(server: Server, data: Data) -> dict[str, Any]:
    server.inject_error(
        data.get("operation"),  # type: ignore[arg-type]
        data.get("code"),  # type: ignore[arg-type]
        data.get("message"),
        times=data.get("times", 1),
    )
    return {"ok": True}


def _users(server: Server) -> dict[str, Any]:
    return {"users": sorted(server.users)}


def _add_user(server: Server, data: Data) -> dict[str, Any]:
    server.add_user(data.get("name"))  # type: ignore[arg-type]
    return _users(server)


def _add_repo(server: Server, data: Data) -> dict[str, Any]:
    server.add_repo(data.get("name"))  # type: ignore[arg-type]
    return {"repos": server.repos}


def _reset(server: Server, data: Data) -> dict[str, Any]:
    server.reset()
    return {"ok": True}


#: (method, route) -> what it does with the server and the request's JSON body.
ROUTES: Mapping[tuple[str, str], Callable[[Server, Data], Mapping[str, Any]]] = {
    ("GET", "health"): lambda server, data: {"ok": True},
    ("GET", "credentials"): lambda server, data: {
        "credentials": [_credential(c) for c in server.credentials]
    },
    ("GET", "calls"): lambda server, data: _calls(server),
    ("GET", "users"): lambda server, data: _users(server),
    ("POST", "users"): _add_user,
    ("GET", "repos"): lambda server, data: {"repos": server.repos},
    ("POST", "repos"): _add_repo,
    ("POST", "authenticate"): _authenticate,
    ("POST", "errors"): _inject,
    ("POST", "reset"): _reset,
}


class TestApi:
    """The route: a handler from the table, or 404; writes need a JSON content type (no web
    form can send one without the browser asking first)."""

    __test__ = False  # not a pytest class

    def __init__(self, server: Server, durable: bool) -> None:
        self.server = server
        self.durable = durable

    def handle(self, incoming: Incoming, wait: bool) -> Reply:
        method, route = incoming.method, incoming.path[len(API_PREFIX) :]
        if method in ("POST", "DELETE") and not incoming.headers.get(
            "content-type", ""
        ).lower().startswith("application/json"):
            return json_reply(
                415,
                {
                    "error": f"{method} {incoming.path} needs Content-Type: application/json (no"
                    " web form can send it without the browser asking first).",
                },
            )
        if self.durable and not wait:  # it reads and writes the file: in a worker thread
            raise StateBusy(self.server.options.state or "", "the test API waits for it")
        try:
            data = json.loads(incoming.body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
        except (ValueError, RecursionError) as error:
            reason = "it nests too deeply" if isinstance(error, RecursionError) else error
            return json_reply(400, {"error": f"The body is not a JSON object: {reason}."})
        try:
            if method == "DELETE" and route.startswith("users/"):
                self.server.remove_user(route[len("users/") :])
                return json_reply(200, _users(self.server))
            handler = ROUTES.get((method, route))
            if handler is not None:
                return json_reply(200, handler(self.server, data))
        except SscStubError as error:
            return json_reply(400, {"error": error.what, "todo": error.todo})
        except AwsError as error:
            if error.code == "ServiceUnavailable":
                raise  # the state file: 503, by the app
            return json_reply(400, {"error": f"{error.code}: {error.message}"})
        return json_reply(
            404,
            {
                "error": f"{method} {incoming.path[:200]} is not part of sscstub's test API.",
                "todo": "See docs/endpoint.md for the routes.",
            },
        )
