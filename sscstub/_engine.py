"""The engine: one request in, IAM's answer out, whatever front end carried it.

One Engine belongs to one SSCStub; ``reset()`` gives it fresh state at every activation. All
state changes and the call log happen under one lock, so concurrent callers see a consistent
order and the per-service limit holds under races. A call changes the state only after its
answer has passed the caller's model, and is logged together with its change. After
``os.fork()`` a child gets fresh locks and fresh randomness (unseeded stubs).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from botocore.awsrequest import AWSResponse

from . import _moto, _secrets
from ._botocore_internals import wire_form, wire_response
from ._durable import Durable, Snapshot, snapshot_of, store_from
from ._errors import AwsError, SscStubError, UnsimulatedOperationError
from ._model import ErrorSpec, IamModel, ModelViolation, iam
from ._operations import OPERATIONS, IamState
from ._options import Options
from ._store import API_KEY, PASSWORD, Call, Credential, Store
from ._wire import (
    make_request_ids,
    read_query,
    respond,
    stamper,
    xml_error,
    xml_headers,
)


class _Fault:
    __slots__ = ("message", "remaining", "spec")

    def __init__(self, spec: ErrorSpec, message: str, remaining: int | None) -> None:
        self.spec = spec
        self.message = message
        self.remaining = remaining


class StaleCallError(SscStubError):
    """A call began under one activation of a stub and reached it after a stop or restart."""

    def __init__(self) -> None:
        super().__init__(
            "This IAM call began while the stub was active, and the stub was stopped (or"
            " restarted) before the call could be served, so it was refused rather than served"
            " from the wrong state.",
            "Stop a stub only after the calls made through it have returned (join threads first).",
            "ways-to-use-it",
        )


# One answer, before any front end shapes it: (HTTP status, request id, the epoch second it was
# made at, the body without ResponseMetadata, whether botocore would retry it).
Answer = tuple[int, str, int, dict[str, Any], bool]

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_modules = sys.modules
_MOTO = "moto.core.models"


class Engine:
    __slots__ = (
        "__weakref__",
        "_calls",
        "_faults",
        "_request_ids",
        "_lock",
        "_state",
        "_users",
        "account_id",
        "durable",
        "generation",
        "moto",
        "options",
        "owner",
        "started_at",
        "strict",
        "wire",
    )

    def __init__(self, options: Options) -> None:
        self.options = options
        self.account_id = account_id = options.account_id
        self.strict = options.strict
        self.wire = options.wire
        self.moto = options.moto
        caller, seed = options.caller, options.seed
        self._users = options.users + ((caller,) if caller is not None else ())
        self._lock = threading.Lock()
        self._state = IamState(account_id, caller, options.services, _secrets.Entropy(seed))
        self._calls: list[tuple[str, dict[str, Any], str | None, str]] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._request_ids: list[str] = []
        self.durable = None if options.state is None else Durable(options.state, account_id)
        self.generation = 0  # a new one at every reset and stop: calls from an older are stale
        self.owner: weakref.ref[Any] | None = None  # the SSCStub, while it is active
        self.started_at = ""
        if self.durable is None:
            self.reset()  # durable state is the file's, kept across engines and processes
        _engines.add(self)

    def activate(self) -> None:
        """What every activation starts from: no calls or faults, and fresh state, except that
        durable state is the file's (it persists across activations and processes)."""
        if self.durable is None:
            self.reset()
            return
        with self._lock:
            self._calls = []
            self._faults = {}
            self._request_ids = []
            self.generation += 1

    def reset(self) -> None:
        """Forget every credential, call and fault (with durable state, the file's too)."""
        with self._lock:
            durable = self.durable
            if durable is not None:
                durable.begin(True)
                try:
                    durable.replace(self._users, ())
                    durable.commit()
                finally:
                    durable.abort()  # the store is read back from the file at the next call
            self._state.store = Store(self._users)
            self._state.entropy = _secrets.Entropy(self.options.seed)
            self._calls = []
            self._faults = {}
            self._request_ids = []
            self.generation += 1

    def retire(self) -> None:
        """Mark calls still in flight as stale (the stub is stopping); state stays readable."""
        with self._lock:
            self.generation += 1

    def _after_fork(self) -> None:
        # The parent's lock may have been held by a thread that does not exist here, and the
        # pooled random bytes and request ids are the parent's: children must not repeat them.
        self._lock = threading.Lock()
        self._request_ids = []
        self._state.entropy.after_fork()

    @property
    def model(self) -> IamModel:
        return iam(None)

    # --- the hot path ---------------------------------------------------------------------------

    def serve(
        self, operation: str, request: Mapping[str, Any], model: Any = None
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        """Answer one botocore call at ``before-call``; ``model`` is its OperationModel, whose
        ServiceModel the checks and the answer follow."""
        answer = self.handle(
            operation, request["body"], iam(None if model is None else model.service_model)
        )
        if answer is None:
            return None
        status, request_id, now, body, retryable = answer
        return respond(request["url"], status, request_id, now, body, retryable)

    def _compose(self, state: IamState) -> None:
        """Users are moto's while its mock is on; the configured ones are created there once."""
        if state.find_user is None:
            account = self.account_id
            for name in self._users:
                _moto.create_user(account, name)
            state.find_user = lambda name: _moto.find_user(account, name)

    def passes_to_moto(self, operation: str) -> bool:
        """Whether an IAM operation sscstub does not serve goes to moto (its mock is on)."""
        return self.moto is not False and _moto.active()

    def delete_user_conflict(self, params: Mapping[str, Any]) -> Answer | None:
        """IAM's DeleteConflict for DeleteUser of a user who still has credentials (moto's
        DeleteUser does not know about them); None lets moto delete the user."""
        name = params.get("UserName")
        if not isinstance(name, str):
            return None  # moto answers what is wrong with it
        user = _moto.find_user(self.account_id, name) or name  # as moto created it
        with self._synced() as store:
            if not store.of_user(user):
                return None
            ids = self._request_ids
            request_id = ids.pop() if ids else self._more_request_ids()
        now = int(time.time())
        body = {
            "Error": {
                "Type": "Sender",
                "Code": "DeleteConflict",
                "Message": "Cannot delete entity, must remove referenced objects first.",
            }
        }
        return 409, request_id, now, body, False

    def rename_user(self, old: str, new: str) -> None:
        """Follow moto's UpdateUser: the credentials of ``old`` now belong to ``new``."""
        with self._synced(write=True) as store:
            for record in [r for r in store.records() if r.user_name == old]:
                store.remove(record)
                record.user_name = new
                store.add(record)

    def screen(self, operation: str, signer: Any = None) -> None:
        """In wire mode, at before-call: stop, in strict mode, an IAM operation sscstub does not
        serve, and refuse aiobotocore clients (their signer is aiobotocore's)."""
        if self.strict and operation not in OPERATIONS and not self.passes_to_moto(operation):
            raise UnsimulatedOperationError(operation)
        if type(signer).__module__.startswith("aiobotocore"):
            raise SscStubError(
                "wire=True cannot serve aiobotocore clients: they read the response body"
                " asynchronously, and sscstub answers in wire mode with a plain HTTP response.",
                "Use the default mode (wire=False) for aiobotocore clients; it serves them at"
                " before-call.",
                "options",
            )

    def serve_wire(self, request: Any, model: Any) -> AWSResponse | None:
        """Answer one botocore request at ``before-send`` with IAM's bytes; ``model`` is its
        OperationModel (None: botocore's own IAM model)."""
        query = read_query(request.body or b"")
        operation = query.get("Action", "")
        iam_model = iam(None if model is None else model.service_model)
        answer = self.handle(operation, query, iam_model)
        if answer is None:
            return None
        status, request_id, now, body, _ = answer
        if status == 200:
            write = iam_model.operations[operation].write_xml
            assert write is not None
            data = write(request_id, body)
        else:
            data = xml_error(request_id, body["Error"])
        response: AWSResponse = wire_response(
            request.url, status, xml_headers(request_id, now, len(data)), data
        )
        return response

    def handle(
        self, operation: str, query: Mapping[str, Any], iam_model: IamModel
    ) -> Answer | None:
        """Answer one request (the query-protocol parameters) as IAM would: the front ends
        (before-call, wire, HTTP) only shape what this returns."""
        generation = self.generation
        spec = iam_model.operations.get(operation)
        if spec is None:
            to_moto = self.passes_to_moto(operation)
            if self.strict and not to_moto:
                raise UnsimulatedOperationError(operation)
            if to_moto and operation == "DeleteUser":
                return self.delete_user_conflict(query)
            return None
        state = self._state
        # (moto's module is looked for first: without moto imported, one dict lookup)
        if self.moto or (self.moto is None and _MOTO in _modules and _moto.active()):
            self._compose(state)
        elif state.find_user is not None:
            state.find_user = None
        params, problems = spec.read(query)
        if params is None:  # a raw client's odd value: read what botocore puts on the wire
            params, problems = spec.read(read_query(wire_form(query)))
            assert params is not None  # the wire form holds only strings
        now = int(time.time())  # read once: freezegun's clock is slow
        error: AwsError | None = None
        with self._lock:
            if generation != self.generation:
                raise StaleCallError()
            durable = self.durable
            if durable is not None:
                self._begin(durable)
            try:
                ids = self._request_ids
                request_id = ids.pop() if ids else self._more_request_ids()
                try:
                    fault = self._take_fault(operation) if self._faults else None
                    if fault is not None:
                        raise AwsError(fault.spec.code, fault.message)
                    if problems:
                        count = len(problems)
                        raise AwsError(
                            "ValidationError",
                            f"{count} validation error{'s' if count > 1 else ''} detected: "
                            + "; ".join(problems),
                        )
                    body, change = OPERATIONS[operation](self._state, params, now, stamper())
                except AwsError as exc:
                    error = exc
                if error is None:
                    if spec.trim is not None:
                        body = spec.trim(body)
                    broken = spec.find_problem(body)
                    if broken is not None:  # a bug in sscstub: nothing changes or is logged
                        raise ModelViolation(broken[0] or "<root>", broken[1])
                    try:
                        if change is not None:
                            change()
                            if durable is not None:  # committed before the answer is sent
                                durable.commit(self._state.store)
                    finally:  # the call is logged once its change began, whatever interrupts
                        self._calls.append((operation, params, None, request_id))
                    return 200, request_id, now, body, False
                self._calls.append((operation, params, error.code, request_id))
            except BaseException:
                if durable is not None:
                    durable.abort()
                raise
            finally:
                if durable is not None:
                    durable.end()
        err = iam_model.errors.get(error.code) or ErrorSpec(
            error.code, 400, "Sender", error.message
        )
        body = {"Error": {"Type": err.type, "Code": error.code, "Message": error.message}}
        return err.status, request_id, now, body, err.retryable

    # --- durable state --------------------------------------------------------------------------

    def _begin(self, durable: Durable, write: bool = True) -> None:
        """Open a transaction and make the store in memory the file's (under the lock)."""
        durable.begin(write)
        try:
            store = durable.fresh(self._users)
        except BaseException:
            durable.abort()
            raise
        if store is not None:
            self._state.store = store

    @contextmanager
    def _synced(self, write: bool = False) -> Iterator[Store]:
        """The lock, and with durable state a transaction over the file's current store;
        a change made inside is committed on a clean exit."""
        with self._lock:
            durable = self.durable
            if durable is None:
                yield self._state.store
                return
            self._begin(durable, write)
            try:
                yield self._state.store
                if write:
                    durable.commit(self._state.store)
            except BaseException:
                durable.abort()
                raise
            finally:
                durable.end()

    def _more_request_ids(self) -> str:
        """Request ids are made 64 at a time: one pass over pooled bytes, cheaper than 64."""
        ids = self._request_ids
        ids.extend(make_request_ids(self._state.entropy, 64))
        ids.reverse()  # pop() from the end hands them out in the order they were made
        return ids.pop()

    def _take_fault(self, operation: str) -> _Fault | None:
        queue = self._faults.get(operation)
        if not queue:
            return None
        fault = queue[0]
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining == 0:
                queue.popleft()
        return fault

    # --- the test API ---------------------------------------------------------------------------

    def check_fault(self, operation: str, code: str, times: int | None) -> None:
        """Raise `SscStubError` for a fault `inject` would refuse."""
        self._fault_parts(operation, code, times)

    def inject(self, operation: str, code: str, message: str | None, times: int | None) -> None:
        name, error = self._fault_parts(operation, code, times)
        with self._lock:
            fault = _Fault(error, error.default_message if message is None else message, times)
            self._faults.setdefault(name, deque()).append(fault)

    def _fault_parts(self, operation: str, code: str, times: int | None) -> tuple[str, ErrorSpec]:
        model = self.model
        spec = model.operation(operation)
        if spec is None:
            raise SscStubError(
                f"inject_error() got operation {operation!r}, which sscstub does not serve.",
                f"Use one of {', '.join(model.operations)} (or its client method name,"
                " e.g. 'create_service_specific_credential').",
                "the-test-api",
            )
        error = model.errors.get(code)
        if error is None:
            import difflib

            close = difflib.get_close_matches(code, model.errors, n=3)
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            raise SscStubError(
                f"inject_error() got error code {code!r}, which is neither an IAM error nor a"
                " common AWS error.",
                f"Use an error code such as ServiceFailure, Throttling or LimitExceeded.{hint}",
                "the-test-api",
            )
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise SscStubError(
                f"inject_error() got times={times!r}.",
                "Pass a whole number of calls >= 1, or times=None to fail every call until"
                " reset().",
                "the-test-api",
            )
        return spec.name, error

    @property
    def calls(self) -> tuple[Call, ...]:
        with self._lock:  # references only: the views are built outside the lock
            entries = list(self._calls)
        return tuple(
            Call(operation, MappingProxyType(dict(params)), code, request_id)
            for operation, params, code, request_id in entries
        )

    def credentials(self) -> tuple[Credential, ...]:
        now = int(time.time())
        with self._synced() as store:  # what can change (status) is read here
            records = [(r, r.status) for r in store.records()]
        return tuple(r.to_credential(now, status) for r, status in records)

    def snapshot(self) -> Snapshot:
        with self._synced() as store:
            return snapshot_of(self.account_id, store)

    def restore(self, snapshot: Snapshot) -> None:
        if not isinstance(snapshot, Snapshot) or snapshot.account_id != self.account_id:
            raise SscStubError(
                f"restore() got {snapshot!r}, which is not a snapshot of account"
                f" {self.account_id}.",
                "Pass what snapshot() returned, from a stub of the same account_id.",
                "the-test-api",
            )
        with self._lock:
            durable = self.durable
            if durable is not None:
                durable.begin(True)
                try:
                    durable.replace(snapshot.users, snapshot.rows)
                    durable.commit()
                finally:
                    durable.abort()  # read back from the file at the next call
            self._state.store = store_from(snapshot.users, snapshot.rows)

    def users(self) -> frozenset[str]:
        with self._synced() as store:
            return frozenset(store.users.values())

    def add_user(self, name: str) -> None:
        with self._synced(write=True) as store:
            users = store.users
            existing = users.get(name.lower())
            if existing is not None and existing != name:
                raise SscStubError(
                    f"add_user({name!r}): user {existing!r} exists, and IAM user names are not"
                    " distinguished by case.",
                    f"Use {existing!r}, or a name that differs in more than case.",
                    "the-test-api",
                )
            store.add_user(name)

    def remove_user(self, name: str) -> None:
        """Delete a user as IAM's DeleteUser would: refused while it has credentials."""
        with self._synced(write=True) as store:
            found = store.user(name)
            if found is None:
                raise AwsError("NoSuchEntity", f"The user with name {name} cannot be found.")
            if store.of_user(found):
                raise AwsError(
                    "DeleteConflict", "Cannot delete entity, must remove referenced objects first."
                )
            store.remove_user(found)

    def authenticate(self, login: str, secret: str, kind: str, service_name: str | None) -> bool:
        """True when ``secret`` is the current secret of an Active, unexpired credential."""
        now = int(time.time())
        with self._synced() as store:
            services = [service_name] if service_name is not None else list(self._state.services)
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

    def authenticate_password(self, user: str, password: str, service: str | None) -> bool:
        return self.authenticate(user, password, PASSWORD, service)

    def authenticate_api_key(self, api_key: str) -> bool:
        alias = _secrets.alias_of(api_key)
        return alias is not None and self.authenticate(alias, api_key, API_KEY, None)


def _reinit_after_fork() -> None:
    for engine in list(_engines):
        engine._after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_reinit_after_fork)
