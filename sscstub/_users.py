"""Whose users they are: sscstub's own, or moto's while its mock is on (or under serve --moto),
or an upstream's; `Users` is the part of the engine that keeps them, and composes with moto."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import _moto
from ._errors import AwsError, SscStubError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ._answer import Answer
    from ._model import IamModel
    from ._operations import IamState
    from ._store import Store

_MOTO, _modules = _moto.MOCK_MODULE, _moto.MODULES


class Users:
    """The engine's users (a base class of `Engine`, which holds the attributes named here)."""

    __slots__ = ()
    account_id: str
    moto: bool | None
    elsewhere: Callable[[str], str | None] | None
    _lock: threading.Lock
    _moto_users: Any
    _state: IamState

    if TYPE_CHECKING:

        def _transaction(
            self, write: bool = True, wait: bool = True
        ) -> AbstractContextManager[Store]: ...
        def _locked(self, wait: bool) -> Any: ...
        def _next_request_id(self) -> str: ...
        @staticmethod
        def _error_answer(
            iam_model: IamModel, error: AwsError, request_id: str, now: int, operation: str
        ) -> Answer: ...
        @property
        def model(self) -> IamModel: ...

    def composes_with_moto(self) -> bool:
        """Whether IAM operations sscstub does not serve go to moto (its mock is on)."""
        return self.moto is not False and _moto.mock_on()

    def passes_on(self) -> bool:
        """Whether IAM operations sscstub does not serve go on to what has the users (moto's
        mock, or an upstream endpoint), with DeleteUser checked and renames followed."""
        return self.elsewhere is not None or self.composes_with_moto()

    def users_are_motos(self) -> bool:
        """Whether IAM's users are moto's now: a --moto server's, or while moto's mock is on."""
        return self.moto is True or (self.moto is None and _MOTO in _modules and _moto.mock_on())

    def _compose(self) -> None:
        """Users are moto's: sscstub's own (configured and added) are made there whenever moto's
        IAM is new to them (at activation, and again after moto resets), and looked up there."""
        account = self.account_id
        users = _moto.backend(account).users
        state = self._state
        if users is not self._moto_users:
            with self._lock, self._transaction(write=False) as store:
                names = list(store.users.values())
            for name in names:
                _moto.create_user(account, name)
            self._moto_users = users
            state.find_user = functools.partial(_moto.find_in, users)  # (a new dict: bind it)
        elif state.find_user is None or state.find_user is self.elsewhere:
            state.find_user = functools.partial(_moto.find_in, users)

    def compose_now(self) -> None:
        """At activation: make sscstub's users moto's too, when users are moto's."""
        if self.users_are_motos():
            self._compose()

    def delete_user_conflict(self, params: Mapping[str, Any], wait: bool = True) -> Answer | None:
        """IAM's DeleteConflict for DeleteUser of a user who still has credentials (moto's
        DeleteUser does not know about them); None lets moto delete the user."""
        name = params.get("UserName")
        if not isinstance(name, str):
            return None  # moto answers what is wrong with it
        if self.elsewhere is None:
            user = _moto.find_user(self.account_id, name) or name  # as moto created it
        else:
            user = self._state.store.user(name) or name
        with self._locked(wait), self._transaction(write=False, wait=wait) as store:
            if not store.of_user(user):
                return None
            request_id = self._next_request_id()
        error = AwsError(
            "DeleteConflict", "Cannot delete entity, must remove referenced objects first."
        )
        return self._error_answer(self.model, error, request_id, int(time.time()), "DeleteUser")

    def rename_user(self, old: str, new: str, wait: bool = True) -> None:
        """Follow moto's UpdateUser: the credentials of ``old`` now belong to ``new``."""
        with self._locked(wait), self._transaction(wait=wait) as store:
            for record in [r for r in store.records() if r.user_name == old]:
                store.remove(record)
                record.user_name = new
                store.add(record)

    def users(self) -> frozenset[str]:
        if self.users_are_motos():
            self._compose()
            return _moto.user_names(self.account_id)
        with self._lock, self._transaction(write=False) as store:
            return frozenset(store.users.values())

    def add_user(self, name: str) -> None:
        """A user of sscstub's own; also moto's when users are moto's."""
        if self.users_are_motos():
            self._compose()
            existing = _moto.find_user(self.account_id, name)
            if existing is not None and existing != name:
                raise _case_clash(name, existing)
            with self._lock, self._transaction() as store:
                store.add_user(name)
            _moto.create_user(self.account_id, name)
            return
        with self._lock, self._transaction() as store:
            users = store.users
            existing = users.get(name.lower())
            if existing is not None and existing != name:
                raise _case_clash(name, existing)
            store.add_user(name)

    def remove_user(self, name: str) -> None:
        """Delete a user as IAM's DeleteUser would: refused while it has credentials (moto's
        user too, when users are moto's)."""
        motos = self.users_are_motos()
        if motos:
            self._compose()
        with self._lock, self._transaction() as store:
            found = _moto.find_user(self.account_id, name) if motos else store.user(name)
            if found is None:
                raise AwsError("NoSuchEntity", f"The user with name {name} cannot be found.")
            if store.of_user(found):
                raise AwsError(
                    "DeleteConflict", "Cannot delete entity, must remove referenced objects first."
                )
            if motos:
                _moto.delete_user(self.account_id, found)
                if store.user(found) is None:
                    return
            store.remove_user(found)


_log = logging.getLogger("sscstub")


def hint_unknown_user(operation: str, user: str, motos: bool) -> None:
    """IAM's answer stays exact; the log says how a test makes the user exist (pytest shows it
    with the failure)."""
    where = (
        "it is not one of moto's users: create it with iam.create_user, or"
        if motos
        else "it was never added:"
    )
    _log.warning(
        "IAM user %r does not exist, so %s answered NoSuchEntity, as IAM would: %s pass"
        " users=[%r] to mock_ssc() (or the ssc_stub marker), or call stub.add_user(%r).",
        user,
        operation,
        where,
        user,
        user,
    )


def _case_clash(name: str, existing: str) -> SscStubError:
    return SscStubError(
        f"add_user({name!r}): user {existing!r} exists, and IAM user names are not"
        " distinguished by case.",
        f"Use {existing!r}, or a name that differs in more than case.",
        "the-test-api",
    )
