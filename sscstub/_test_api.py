"""The test API over HTTP, JSON under ``/_sscstub/``: one table of ``(method, route)`` to
handler, each a call of the server's own test API (`Controls`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ._durable import StateBusy
from ._errors import AwsError, SscStubError
from ._replies import Reply, json_reply
from ._routes import API_PREFIX, Incoming

if TYPE_CHECKING:
    from ._controls import Controls

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


def _calls(api: TestApi) -> dict[str, Any]:
    calls = [
        {
            "operation": c.operation,
            "params": dict(c.params),
            "error_code": c.error_code,
            "request_id": c.request_id,
        }
        for c in api.controls.calls
    ]
    return {"calls": calls, "dropped": api.controls.dropped_calls}


def _authenticate(api: TestApi, data: Data) -> dict[str, Any]:
    if "api_key" in data:
        return {"authenticated": api.controls.authenticate_api_key(data["api_key"])}
    ok = api.controls.authenticate(
        data.get("service_user_name"),  # type: ignore[arg-type]
        data.get("password"),  # type: ignore[arg-type]
        service_name=data.get("service_name"),
    )
    return {"authenticated": ok}


def _inject(api: TestApi, data: Data) -> dict[str, Any]:
    api.controls.inject_error(
        data.get("operation"),  # type: ignore[arg-type]
        data.get("code"),  # type: ignore[arg-type]
        data.get("message"),
        times=data.get("times", 1),
    )
    return {"ok": True}


def _users(api: TestApi) -> dict[str, Any]:
    return {"users": sorted(api.controls.users)}


def _add_user(api: TestApi, data: Data) -> dict[str, Any]:
    api.controls.add_user(data.get("name"))  # type: ignore[arg-type]
    return _users(api)


def _add_repo(api: TestApi, data: Data) -> dict[str, Any]:
    api.repos.add(data.get("name"))  # type: ignore[arg-type]
    return {"repos": api.repos.names()}


def _reset(api: TestApi, data: Data) -> dict[str, Any]:
    api.controls.reset()
    return {"ok": True}


class Repositories(Protocol):
    """The server's git repositories, as the test API lists and makes them (`_git.Repos`)."""

    def names(self) -> list[str]: ...
    def add(self, name: str) -> None: ...


#: (method, route) -> what it does with the server and the request's JSON body.
ROUTES: Mapping[tuple[str, str], Callable[[TestApi, Data], Mapping[str, Any]]] = {
    ("GET", "health"): lambda api, data: {"ok": True},
    ("GET", "credentials"): lambda api, data: {
        "credentials": [_credential(c) for c in api.controls.credentials]
    },
    ("GET", "calls"): lambda api, data: _calls(api),
    ("GET", "users"): lambda api, data: _users(api),
    ("POST", "users"): _add_user,
    ("GET", "repos"): lambda api, data: {"repos": api.repos.names()},
    ("POST", "repos"): _add_repo,
    ("POST", "authenticate"): _authenticate,
    ("POST", "errors"): _inject,
    ("POST", "reset"): _reset,
}


class TestApi:
    """The route: a handler from the table, or 404; writes need a JSON content type (no web
    form can send one without the browser asking first)."""

    __test__ = False  # not a pytest class

    def __init__(self, controls: Controls, repos: Repositories, state: str | None) -> None:
        self.controls: Controls = controls
        self.repos: Repositories = repos
        self.state = state  # the state file (None: in memory)

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
        if self.state is not None and not wait:  # it reads and writes the file: in a thread
            raise StateBusy(self.state, "the test API waits for it")
        try:
            data = json.loads(incoming.body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
        except (ValueError, RecursionError) as error:
            reason = "it nests too deeply" if isinstance(error, RecursionError) else error
            return json_reply(400, {"error": f"The body is not a JSON object: {reason}."})
        try:
            if method == "DELETE" and route.startswith("users/"):
                self.controls.remove_user(route[len("users/") :])
                return json_reply(200, _users(self))
            handler = ROUTES.get((method, route))
            if handler is not None:
                return json_reply(200, handler(self, data))
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
