"""The serving path: a botocore request in, ``(AWSResponse, parsed)`` out, as IAM would answer.

One Engine belongs to one SSCStub; ``reset()`` gives it fresh state at every activation. All
state changes and the call log happen under one lock, so concurrent callers see a consistent
order and the per-service limit holds under races.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from botocore.awsrequest import AWSResponse

from . import _secrets
from ._errors import AwsError, SscStubError, UnsimulatedOperationError
from ._model import ErrorSpec, IamModel, ModelViolation, OperationSpec, iam
from ._operations import OPERATIONS, IamState
from ._options import Options
from ._store import API_KEY, PASSWORD, Call, Credential, Store
from ._wire import make_request_ids, respond, stamper


class _Fault:
    __slots__ = ("message", "remaining", "spec")

    def __init__(self, spec: ErrorSpec, message: str, remaining: int | None) -> None:
        self.spec = spec
        self.message = message
        self.remaining = remaining


class Engine:
    __slots__ = (
        "_calls",
        "_faults",
        "_request_ids",
        "_lock",
        "_model",
        "_operations",
        "_state",
        "_users",
        "account_id",
        "options",
        "strict",
    )

    def __init__(self, options: Options) -> None:
        self.options = options
        self.account_id = account_id = options.account_id
        self.strict = options.strict
        caller, seed = options.caller, options.seed
        self._users = options.users + ((caller,) if caller is not None else ())
        self._lock = threading.Lock()
        self._model: IamModel | None = None
        self._operations: Mapping[str, OperationSpec] | None = None
        self._state = IamState(account_id, caller, options.services, _secrets.Entropy(seed))
        self._calls: list[tuple[str, dict[str, Any], str | None, str]] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._request_ids: list[str] = []
        self.reset()

    def reset(self) -> None:
        """Forget every credential, call and fault: the state a fresh activation starts from."""
        with self._lock:
            self._state.store = Store(self._users)
            self._state.entropy = _secrets.Entropy(self.options.seed)
            self._calls = []
            self._faults = {}
            self._request_ids = []

    @property
    def model(self) -> IamModel:
        model = self._model
        if model is None:
            model = self.prime(None)
        return model

    def prime(self, service: Any) -> IamModel:
        """Compile the model, from the ServiceModel of the client calling if there is one."""
        model = self._model = iam(service)
        self._operations = model.operations
        return model

    # --- the hot path ---------------------------------------------------------------------------

    def serve(
        self, operation: str, request: Mapping[str, Any], model: Any = None
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        """Answer one call; ``model`` (botocore's OperationModel) lets the first call compile
        the checks from the ServiceModel its client already loaded."""
        operations = self._operations
        if operations is None:
            operations = self.prime(None if model is None else model.service_model).operations
        spec = operations.get(operation)
        if spec is None:
            if self.strict:
                raise UnsimulatedOperationError(operation)
            return None
        params, problems = spec.read(request["body"])
        now = int(time.time())  # read once: freezegun's clock is slow
        error: AwsError | None = None
        with self._lock:
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
                body = OPERATIONS[operation](self._state, params, now, stamper())
            except AwsError as exc:
                error = exc
            self._calls.append(
                (operation, params, None if error is None else error.code, request_id)
            )
        if error is None:
            broken = spec.find_problem(body)
            if broken is not None:
                raise ModelViolation(broken[0] or "<root>", broken[1])
            return respond(request["url"], 200, request_id, now, body)
        err = self.model.errors.get(error.code) or ErrorSpec(
            error.code, 400, "Sender", error.message
        )
        body = {"Error": {"Type": err.type, "Code": error.code, "Message": error.message}}
        return respond(request["url"], err.status, request_id, now, body, err.retryable)

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

    def inject(self, operation: str, code: str, message: str | None, times: int | None) -> None:
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
        with self._lock:
            fault = _Fault(error, error.default_message if message is None else message, times)
            self._faults.setdefault(spec.name, deque()).append(fault)

    @property
    def calls(self) -> tuple[Call, ...]:
        with self._lock:
            return tuple(Call(*call) for call in self._calls)

    def credentials(self) -> tuple[Credential, ...]:
        now = int(time.time())
        with self._lock:
            return tuple(r.to_credential(now) for r in self._state.store.records())

    def users(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._state.store.users)

    def add_user(self, name: str) -> None:
        with self._lock:
            self._state.store.users.add(name)

    def authenticate(self, login: str, secret: str, kind: str, service_name: str | None) -> bool:
        """True when ``secret`` is the current secret of an Active, unexpired credential."""
        now = int(time.time())
        user = login.rsplit("-at-", 1)[0]
        candidates = {user, user[:-2]} if user.endswith("+1") else {user}
        with self._lock:
            found = False
            for name in candidates:
                for record in self._state.store.of_user(name):
                    if (
                        record.login == login
                        and record.kind == kind
                        and (service_name is None or record.service_name == service_name)
                        and record.status_at(now) == "Active"
                        and _secrets.matches(record.secret, secret)
                    ):
                        found = True
            return found

    def authenticate_password(self, user: str, password: str, service: str | None) -> bool:
        return self.authenticate(user, password, PASSWORD, service)

    def authenticate_api_key(self, api_key: str) -> bool:
        alias = _secrets.alias_of(api_key)
        return alias is not None and self.authenticate(alias, api_key, API_KEY, None)
