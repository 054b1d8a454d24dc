"""The engine: one request in, one `Answer` out, whatever front end carried it.

One Engine belongs to one SSCStub (or one Server); ``reset()`` gives it fresh state at every
activation. It knows neither botocore nor HTTP: a front end hands it the query-protocol
parameters, the compiled model of the caller and how to stamp timestamps, and shapes what
comes back. All state changes and the call log happen under one lock, so concurrent callers see
a consistent order and the per-service limit holds under races. A call changes the state only
after its answer has passed the caller's model, and is logged together with its change; with
durable state, every call is one transaction on the file, committed before the answer. After
``os.fork()`` a child gets fresh locks and fresh randomness (unseeded stubs).
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from . import _faults, _forks, _moto, _secrets
from ._answer import Answer
from ._calls import CallLog, Entry
from ._consumers import Consumers
from ._durable import (
    Durable,
    NoWait,
    Snapshot,
    StateBusy,
    StateUnavailable,
    snapshot_of,
    store_from,
)
from ._errors import AwsError, SscStubError, UnknownUser
from ._model import IamModel, ModelViolation, OperationSpec, iam
from ._operations import OPERATIONS, IamState
from ._options import Options
from ._store import Call, Credential, Stamp, Store
from ._users import Users, hint_unknown_user


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


class OddValues(Exception):  # noqa: N818  (a signal to the front end, not an error)
    """A raw client (no parameter validation) sent values that are not strings: the front end
    reads the request again as botocore puts it on the wire (`_query.wire_form`)."""


_modules, _MOTO = _moto.MODULES, _moto.MOCK_MODULE
_new = tuple.__new__  # a NamedTuple without its Python-level __new__ (a few hundred ns a call)


class Engine(Users, Consumers):
    __slots__ = (
        "__weakref__",
        "_calls",
        "_closed_for_good",
        "_faults",
        "_hints",
        "_request_ids",
        "_lock",
        "_moto_users",
        "_new_log",
        "_state",
        "_users",
        "account_id",
        "durable",
        "elsewhere",
        "generation",
        "moto",
        "options",
        "owner",
        "started_at",
        "strict",
        "wire",
    )

    def __init__(
        self,
        options: Options,
        max_calls: int | None = None,
        elsewhere: Callable[[str], str | None] | None = None,
    ) -> None:
        """``max_calls``: keep only the most recent calls, long values cut (a server's log,
        which must not grow without bound); None keeps every call as it was made.
        ``elsewhere``: where users the engine does not have are looked up (an upstream's IAM:
        `_relay.UserLookup`), or None."""
        self.options = options
        self.account_id = account_id = options.account_id
        self.strict = options.strict
        self.wire = options.wire
        self.moto = options.moto
        caller, seed = options.caller, options.seed
        self._users = options.users + ((caller,) if caller is not None else ())
        self._lock = threading.Lock()
        self._state = IamState(account_id, caller, options.services, _secrets.Entropy(seed))
        self._new_log: Callable[[], list[Entry] | CallLog] = (
            list if max_calls is None else functools.partial(CallLog, max_calls)
        )
        self._calls: list[Entry] | CallLog = self._new_log()
        # A stub's log hints at what a test forgot (a server's stderr may be a pipe no one reads)
        self._hints = max_calls is None
        self._closed_for_good = False
        # moto's users as last given ours: moto's reset replaces it (held, so it is not reused)
        self._moto_users: Any = None
        self._faults: dict[str, deque[_faults.Fault]] = {}
        self._request_ids: list[str] = []
        # The state file's connection: opened by open() (a stub's start, a server's start) and
        # closed by close(); None otherwise. Checked here, so a bad file fails at once.
        self.durable: Durable | None = None
        self.generation = 0  # a new one at every reset and stop: calls from an older are stale
        self.owner: weakref.ref[Any] | None = None  # the SSCStub, while it is active
        # Where users not sscstub's own are looked up (an upstream's IAM), or None.
        self.elsewhere = elsewhere
        self.started_at = ""
        if options.state is None:
            self.reset()
        else:  # durable state is the file's, kept across engines and processes
            Durable(options.state, account_id).close()
        _forks.track(self)

    def open(self) -> None:
        """Open the state file's connection (with durable state), for the calls to come."""
        if self.options.state is not None and self.durable is None:
            self.durable = Durable(self.options.state, self.account_id)

    def close(self, final: bool = False) -> None:
        """Close the state file's connection; reads after this open one for themselves, unless
        ``final`` (a stopped server): then they raise `SscStubError`."""
        self._closed_for_good = final
        durable, self.durable = self.durable, None
        if durable is not None:
            durable.close()

    def activate(self) -> None:
        """What every activation starts from: no calls or faults, and fresh state, except that
        durable state is the file's (it persists across activations and processes)."""
        self._moto_users = None  # the users are made in moto's IAM anew
        if self.options.state is None:
            self.reset()
        else:
            self.open()
            with self._lock:
                self._forget_history()
        self.compose_now()

    def reset(self) -> None:
        """Forget every credential, call and fault (with durable state, the file's too)."""
        with self._lock:
            self._replace_file(self._users, ())
            self._state.store = Store(self._users)
            self._state.entropy = _secrets.Entropy(self.options.seed)
            self._forget_history()

    def _forget_history(self) -> None:
        """No calls, faults or pre-made request ids; calls begun before are stale (under the
        lock)."""
        self._calls = self._new_log()
        self._faults = {}
        self._request_ids = []
        self.generation += 1

    def retire(self) -> None:
        """Mark calls still in flight as stale (the stub is stopping); state stays readable."""
        with self._lock:
            self.generation += 1

    # --- across forks (`_forks`) ---------------------------------------------------------------

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def after_fork(self) -> None:
        """In a forked child: the parent's lock may have been held by a thread that does not
        exist here, and its pooled random bytes and request ids must not be repeated."""
        self._lock = threading.Lock()
        self._request_ids = []
        self._state.entropy.after_fork()
        # SQLite must not use a connection across fork(): the child opens its own and never
        # touches (not even closes) the parent's, which may be inside a transaction.
        inherited = self.durable
        if inherited is not None:
            _forks.keep(inherited)
            self.durable = None
            try:
                self.durable = Durable(inherited.path, self.account_id)
            except Exception:  # noqa: BLE001  (then each call opens one for itself)
                self.durable = None

    def own_user(self, name: str) -> str | None:
        """The user's name as created, if the engine has it itself (not moto's, an upstream's)."""
        return self._state.store.user(name)

    @property
    def model(self) -> IamModel:
        return iam(None)

    # --- the hot path ---------------------------------------------------------------------------

    def handle(
        self,
        operation: str,
        query: Mapping[str, Any],
        iam_model: IamModel,
        stamp: Stamp,
        wait: bool = True,
    ) -> Answer | None:
        """Answer one request (its query-protocol parameters) as IAM would, checked against
        ``iam_model`` (the caller's), with timestamps made by ``stamp``; None leaves it to
        whatever serves it without sscstub (moto, botocore). Raises `OddValues` for values a
        raw client sent that are not strings; without ``wait``, `StateBusy` (having done
        nothing) when another process holds the state file's lock."""
        generation = self.generation
        spec = iam_model.operations.get(operation)
        if spec is None:  # (strict mode's stop is the fronts': `_botocore_front.unsimulated`)
            passes = self.passes_on()
            if self.users_are_motos():
                self._compose()  # our users are there before moto answers about them
            if passes and operation == "DeleteUser":
                return self.delete_user_conflict(query)
            return None
        state = self._state
        # (one dict lookup while moto is not imported: no call)
        if self.moto or (self.moto is None and _MOTO in _modules and _moto.mock_on()):
            self._compose()
        elif state.find_user is not self.elsewhere:
            state.find_user = self.elsewhere
        params, problems = spec.read(query)
        if params is None:
            raise OddValues
        now = int(time.time())  # read once: freezegun's clock is slow
        lock: Any = self._lock
        if not wait and self.options.state is not None:  # (never in process: no call here)
            lock = NoWait(lock, self.options.state)
        with lock:
            if generation != self.generation:
                raise StaleCallError()
            if self.options.state is None:  # in memory: no transaction to open
                return self._decide(spec, iam_model, params, problems, now, stamp)
            answer = None
            try:
                with self._transaction(wait=wait):  # committed before the answer is returned
                    answer = self._decide(spec, iam_model, params, problems, now, stamp)
            except StateBusy:
                raise  # the caller will ask again, willing to wait
            except StateUnavailable as unavailable:  # locked or full: nothing changed
                if answer is not None:
                    self._calls.pop()  # what it would have answered did not happen
                    request_id = answer.request_id
                else:
                    request_id = self._next_request_id()
                self._calls.append((operation, params, unavailable.code, request_id))
                return self._error_answer(iam_model, unavailable, request_id, now, operation)
            return answer

    def _decide(
        self,
        spec: OperationSpec,
        iam_model: IamModel,
        params: dict[str, Any],
        problems: Any,
        now: int,
        stamp: Stamp,
    ) -> Answer:
        """The answer, and the change it makes (under the lock, inside the transaction)."""
        operation = spec.name
        ids = self._request_ids  # (`_next_request_id` inline: the hot path)
        request_id = ids.pop() if ids else self._more_request_ids()
        try:
            fault = _faults.take(self._faults, operation) if self._faults else None
            if fault is not None:
                raise AwsError(fault.spec.code, fault.message)
            if problems:
                count = len(problems)
                raise AwsError(
                    "ValidationError",
                    f"{count} validation error{'s' if count > 1 else ''} detected: "
                    + "; ".join(problems),
                )
            body, change = OPERATIONS[operation](self._state, params, now, stamp)
        except AwsError as error:
            self._calls.append((operation, params, error.code, request_id))
            if self._hints and isinstance(error, UnknownUser):
                hint_unknown_user(operation, error.user, self.users_are_motos())
            return self._error_answer(iam_model, error, request_id, now, operation)
        if spec.trim is not None:
            body = spec.trim(body)
        broken = spec.find_problem(body)
        if broken is not None:  # a bug in sscstub: nothing changes or is logged
            raise ModelViolation(broken[0] or "<root>", broken[1])
        try:
            if change is not None:
                change()
        finally:  # the call is logged once its change began, whatever interrupts
            self._calls.append((operation, params, None, request_id))
        return _new(Answer, (200, request_id, now, operation, body, None, False))

    @staticmethod
    def _error_answer(
        iam_model: IamModel, error: AwsError, request_id: str, now: int, operation: str
    ) -> Answer:
        spec = iam_model.errors[error.code]  # every code sscstub answers is IAM's or common
        body = {"Type": spec.type, "Code": error.code, "Message": error.message}
        return Answer(spec.status, request_id, now, operation, None, body, spec.retryable)

    def _next_request_id(self) -> str:
        """The next request id (under the lock)."""
        ids = self._request_ids
        return ids.pop() if ids else self._more_request_ids()

    def _more_request_ids(self) -> str:
        """The next request id, when none is left (under the lock). They are made 64 at a time:
        one pass over pooled bytes, cheaper than 64."""
        ids = self._request_ids
        ids.extend(_secrets.make_request_ids(self._state.entropy, 64))
        ids.reverse()  # pop() from the end hands them out in the order they were made
        return ids.pop()

    # --- durable state --------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[Durable | None]:
        """The state file's connection (None without durable state); while none is open (the
        stub is stopped), one opened for this use alone."""
        durable = self.durable
        if durable is not None or self.options.state is None:
            yield durable
            return
        if self._closed_for_good:
            raise SscStubError(
                f"The endpoint was stopped, and with it its state file {self.options.state}.",
                "Read what you need before the server stops, or start a server (or a stub) on"
                " the same file to read it.",
                "the-local-endpoint",
            )
        durable = Durable(self.options.state, self.account_id)
        try:
            yield durable
        finally:
            durable.close()

    def _locked(self, wait: bool) -> Any:
        """The engine's lock; without ``wait`` (durable state), one that raises `StateBusy`
        (nothing done) if another thread holds it, so an event loop is never held up."""
        if wait or self.options.state is None:
            return self._lock
        return NoWait(self._lock, self.options.state)

    @contextmanager
    def _transaction(self, write: bool = True, wait: bool = True) -> Iterator[Store]:
        """The store to read (and change), under the lock the caller holds. With durable state
        it is the file's, inside one transaction that commits what changed on a clean exit and
        undoes it on an exception."""
        with self._connection() as durable:
            if durable is None:
                yield self._state.store
                return
            with durable.transaction(self._state.store, self._users, write, wait) as store:
                self._state.store = store
                yield store

    def _replace_file(self, users: tuple[str, ...], rows: tuple[Any, ...]) -> None:
        """With durable state, make the file hold exactly these (reset and restore)."""
        with self._connection() as durable:
            if durable is not None:
                durable.replace(users, rows)

    # --- the test API ---------------------------------------------------------------------------

    def check_fault(self, operation: str, code: str, times: int | None) -> None:
        """Raise `SscStubError` for a fault `inject` would refuse."""
        _faults.check(self.model, operation, code, times)

    def inject(self, operation: str, code: str, message: str | None, times: int | None) -> None:
        name, error = _faults.check(self.model, operation, code, times)
        with self._lock:
            _faults.add(self._faults, name, error, message, times)

    def forget_calls(self) -> None:
        with self._lock:
            self._calls = self._new_log()

    @property
    def dropped_calls(self) -> int:
        """How many calls a bounded log has let go (0 for a stub's, which keeps all)."""
        return getattr(self._calls, "dropped", 0)

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
        with self._lock, self._transaction(write=False) as store:  # status is read here
            records = [(r, r.status) for r in store.records()]
        return tuple(r.to_credential(now, status) for r, status in records)

    def snapshot(self) -> Snapshot:
        with self._lock, self._transaction(write=False) as store:
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
            self._replace_file(snapshot.users, snapshot.rows)
            self._state.store = store_from(snapshot.users, snapshot.rows)
