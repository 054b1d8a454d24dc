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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._durable import StateBusy
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
        self._held: dict[str, list[Any]] = {}  # name -> [its lock, how many hold or wait]

    def hold(self, name: str | None) -> _Hold:
        return _Hold(self._held, name.lower() if name else None)

    def taken(self, name: str | None) -> bool:
        """Whether a request for the user holds (or waits for) its lock now."""
        return name is not None and name.lower() in self._held


class _Hold:
    """``async with``: the user's lock, made when the first holder comes and dropped when the
    last goes (a class, not ``asynccontextmanager``: every composed IAM call takes one)."""

    __slots__ = ("_held", "_key", "_lock")

    def __init__(self, held: dict[str, list[Any]], key: str | None) -> None:
        self._held, self._key = held, key
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        key = self._key
        if key is None:
            return
        entry = self._held.get(key)
        if entry is None:
            entry = self._held[key] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            await entry[0].acquire()
        except BaseException:  # cancelled while waiting: it never held the lock
            self._let_go(entry)
            raise
        self._lock = entry[0]

    async def __aexit__(self, *_: object) -> None:
        if self._lock is not None:
            self._lock.release()
            self._let_go(self._held[self._key])  # type: ignore[index]

    def _let_go(self, entry: list[Any]) -> None:
        entry[1] -= 1
        if entry[1] == 0:
            del self._held[self._key]  # type: ignore[arg-type]


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
            if self.lookup is None and not self.locks.taken(user):
                # Served at once, without yielding to the loop (state in memory, or the file
                # free): no DeleteUser can come between, so the user's lock is not needed.
                try:
                    return self._serve(action, params, False)
                except StateBusy:  # another process holds the file: wait, holding the lock
                    pass
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
