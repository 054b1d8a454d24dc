"""Credentials where they are used: whether a secret is current (`Consumers.authenticate`),
and the log of each check a consumer made (git, Bedrock): a part of the engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import _secrets
from ._answer import Answer
from ._store import API_KEY, PASSWORD

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ._calls import CallLog, Entry
    from ._operations import IamState
    from ._store import Store

_new = tuple.__new__


class Consumers:
    """The engine's checks of secrets (a base class of `Engine`, which holds these)."""

    __slots__ = ()
    _lock: threading.Lock
    _state: IamState
    _calls: list[Entry] | CallLog

    if TYPE_CHECKING:

        def _transaction(
            self, write: bool = True, wait: bool = True
        ) -> AbstractContextManager[Store]: ...
        def _locked(self, wait: bool) -> Any: ...
        def _next_request_id(self) -> str: ...

    def authenticate(
        self,
        login: str,
        secret: str,
        kind: str,
        service_name: str | Iterable[str] | None,
        wait: bool = True,
    ) -> bool:
        """True when ``secret`` is the current secret of an Active, unexpired credential (of
        ``service_name``, or of any of several, or of any service). Without ``wait``,
        `StateBusy` when another process holds the state file's lock."""
        now = int(time.time())
        if isinstance(service_name, str):
            services: Iterable[str] = (service_name.lower(),)
        else:
            services = self._state.services if service_name is None else service_name
        with self._locked(wait), self._transaction(write=False, wait=wait) as store:
            for service in services:
                record = store.by_login(service, login)
                if (
                    record is not None
                    and record.kind == kind
                    and record.status_at(now) == "Active"
                    and _secrets.matches(record.secret, secret)
                ):
                    return True
            return False

    # --- where the credentials are used ----------------------------------------------------

    def record_use(self, operation: str, params: Mapping[str, Any], code: str | None) -> Answer:
        """Log a credential checked where it is used (``bedrock-runtime:Converse``,
        ``codecommit:GitPush``): its login and whether it was accepted, never the secret. An
        `Answer` (status 200, or 403 with no body: the consumer shapes its refusal) carries the
        request id and time."""
        now = int(time.time())
        with self._lock:
            request_id = self._next_request_id()
            self._calls.append((operation, dict(params), code, request_id))
        status = 200 if code is None else 403
        return _new(Answer, (status, request_id, now, operation, {}, None, False))

    def authenticate_password(
        self, user: str, password: str, service: str | None, wait: bool = True
    ) -> bool:
        return self.authenticate(user, password, PASSWORD, service, wait)

    def check_password(
        self, operation: str, login: str, password: str, service: str, wait: bool = True
    ) -> bool:
        """A consumer's sign-in (git's, CQL's): whether ``password`` is current for ``login``
        (a ServiceUserName) of ``service``, logged as ``operation`` with the login and the
        verdict, never the password."""
        accepted = self.authenticate(login, password, PASSWORD, service, wait)
        code = None if accepted else "AuthenticationFailed"
        self.record_use(operation, {"ServiceUserName": login, "Accepted": accepted}, code)
        return accepted

    def authenticate_api_key(
        self, api_key: str, service_name: str | None = None, wait: bool = True
    ) -> bool:
        """An API key in the format of the service it was issued for, and current."""
        read = _secrets.read_api_key(api_key)
        if read is None:
            return False
        prefix, alias = read
        services = [
            service
            for service, kind in self._state.services.items()
            if kind == API_KEY and _secrets.api_key_prefix(service) == prefix
        ]
        if service_name is not None:
            services = [s for s in services if s == service_name.lower()]
        return bool(services) and self.authenticate(alias, api_key, API_KEY, services, wait)
