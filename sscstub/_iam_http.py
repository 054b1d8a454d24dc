"""IAM's query protocol on the endpoint: the form in, the engine's answer out as IAM's XML.

Alone, the route answers every request that no other route takes: the five operations, and
IAM's errors for anything else. Composed (``--moto``, ``--upstream``), it takes requests signed
for IAM (or not signed): the five operations are sscstub's, with a user the upstream has looked
up first; any other action goes on (`onward`), as in-process composition does: ``DeleteUser``
of a user with credentials is refused before, a rename followed after. A request about one
user waits for another about the same user, so a ``DeleteUser`` and a ``Create`` never both
succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._operations import OPERATIONS
from ._query import encode, read_query, utc_stamp
from ._replies import Outgoing, Reply, xml_error
from ._routes import Incoming

if TYPE_CHECKING:
    from ._engine import Engine
    from ._model import IamModel
    from ._relay import Relay, UserLookup


def signing_service(authorization: str | None) -> str | None:
    """The service a SigV4 Authorization header is scoped to (``.../us-east-1/iam/...``)."""
    start = (authorization or "").find("Credential=")
    if start < 0:
        return None
    scope = (authorization or "")[start + 11 :].split(",", 1)[0].split("/")
    return scope[3].strip().lower() if len(scope) == 5 else None


def form_of(incoming: Incoming) -> dict[str, str] | Reply:
    """The request's parameters (the body's, then the query string's), or IAM's error."""
    try:
        text = incoming.body.decode("utf-8")
    except UnicodeDecodeError:
        return xml_error(400, "MalformedQueryString", "The request body is not UTF-8.")
    try:
        params = read_query(text) if text else {}
        if incoming.query:
            for key, value in read_query(incoming.query).items():
                params.setdefault(key, value)
    except (UnicodeDecodeError, ValueError):
        return xml_error(400, "MalformedQueryString", "The query string is malformed.")
    return params


class _UserLocks:
    """One asyncio lock per user name (not distinguished by case), held while in use."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, name: str | None) -> AsyncIterator[None]:
        if not name:
            yield
            return
        key = name.lower()
        lock, users = self._held.get(key, (asyncio.Lock(), 0))
        self._held[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._held[key]
            if users == 1:
                del self._held[key]
            else:
                self._held[key] = (lock, users - 1)


class IamRoute:
    """The route; `handle` when alone (runs in ``state``), `handle_composed` otherwise."""

    def __init__(
        self,
        engine: Engine,
        model: IamModel,
        known: frozenset[str],
        in_state: Callable[[Callable[[bool], Any]], Awaitable[Any]],
        onward: Callable[[Incoming], Awaitable[Outgoing]] | None = None,
        lookup: tuple[UserLookup, Relay] | None = None,
    ) -> None:
        self.engine = engine
        self.model = model
        self.known = known  # every IAM action botocore's model has
        self.in_state = in_state
        self.onward = onward
        self.lookup = lookup
        self.locks = _UserLocks()

    def matches(self, incoming: Incoming) -> bool:
        if self.onward is None:
            return True  # the last route: IAM's answer, or IAM's error
        service = signing_service(incoming.headers.get("authorization"))
        return service in (None, "iam") and incoming.method in ("GET", "POST")

    def _serve(self, action: str, params: dict[str, str], wait: bool) -> Reply:
        answer = self.engine.handle(action, params, self.model, utc_stamp, wait)
        assert answer is not None  # one of the five is always answered
        return Reply(*encode(answer, self.model.writer(action)))

    def handle(self, incoming: Incoming, wait: bool) -> Reply:
        if incoming.method not in ("GET", "POST"):
            return xml_error(
                405, "MethodNotAllowed", f"IAM takes GET and POST, not {incoming.method[:20]}."
            )
        params = form_of(incoming)
        if isinstance(params, Reply):
            return params
        action = params.get("Action")
        if action is not None and action in OPERATIONS:
            return self._serve(action, params, wait)
        if not action:
            return xml_error(400, "MissingAction", "The request must contain the parameter Action.")
        if action in self.known:
            return xml_error(
                501,
                "NotImplemented",
                f"sscstub does not simulate the IAM action {action}: it serves only the"
                f" service-specific credential operations ({', '.join(OPERATIONS)}).",
            )
        return xml_error(
            400, "InvalidAction", f"The action {action[:100]} is not valid for this web service."
        )

    async def handle_composed(self, incoming: Incoming) -> Outgoing:
        params = form_of(incoming)
        if isinstance(params, Reply):
            return params
        action, user = params.get("Action"), params.get("UserName")
        if action is not None and action in OPERATIONS:
            async with self.locks.hold(user):
                return await self._serve_looked_up(incoming, action, params, user)
        assert self.onward is not None
        engine = self.engine
        async with self.locks.hold(user if action in ("DeleteUser", "UpdateUser") else None):
            engine.compose_now()  # with --moto: sscstub's users are there (again) first
            if action == "DeleteUser":
                conflict = await self.in_state(
                    lambda wait: engine.delete_user_conflict(params, wait)
                )
                if conflict is not None:
                    return Reply(*encode(conflict, None))
            outgoing = await self.onward(incoming)
            new = params.get("NewUserName")
            if action == "UpdateUser" and outgoing.status == 200 and user and new:
                await self.in_state(lambda wait: engine.rename_user(user, new, wait))
            return outgoing

    async def _serve_looked_up(
        self, incoming: Incoming, action: str, params: dict[str, str], user: str | None
    ) -> Reply:
        if self.lookup is None or not user or self.lookup[0].known_here(user) is not None:
            served: Reply = await self.in_state(lambda wait: self._serve(action, params, wait))
            return served
        from ._relay import UpstreamUnavailable, access_key_of

        lookup, relay = self.lookup
        try:
            found = await relay.find_user(
                user, access_key_of(incoming.headers.get("authorization"))
            )
        except UpstreamUnavailable as error:
            return xml_error(error.status, error.code, error.message)
        token = lookup.remember({user: found})  # for this request only
        try:
            served = await self.in_state(lambda wait: self._serve(action, params, wait))
            return served
        finally:
            lookup.forget(token)
