"""The serving path: a botocore request in, ``(AWSResponse, parsed)`` out, as IAM would answer.

One Engine belongs to one SSCStub; ``reset()`` gives it fresh state at every activation. All
state changes and the call log happen under one lock, so concurrent callers see a consistent
order and the per-service limit holds under races.
"""

from __future__ import annotations

import datetime as _datetime_module
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import formatdate
from typing import Any

from botocore.awsrequest import AWSResponse, HeadersDict

from . import _secrets
from ._errors import AwsError, SscStubError, UnsimulatedOperationError
from ._model import ErrorSpec, IamModel, ModelViolation, OperationSpec, iam
from ._ops import HANDLERS, Simulation
from ._store import API_KEY, PASSWORD, Call, Credential, Stamp, Store

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# freezegun swaps module attributes that are the real datetime class; inside a tuple it stays real.
_REAL = (datetime,)


class Response(AWSResponse):
    """What botocore's client reads of an HTTP response: the status now, the headers (as botocore's
    case-insensitive HeadersDict) only if someone asks; building that dict costs microseconds."""

    _plain_headers: dict[str, str]
    _headers: Any  # built by _respond(), which sets every attribute in one dict

    @property
    def headers(self) -> Any:
        if self._headers is None:
            self._headers = HeadersDict(self._plain_headers)
        return self._headers

    @headers.setter
    def headers(self, value: Any) -> None:
        self._headers = value


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
        "_sim",
        "_users",
        "account_id",
        "strict",
    )

    def __init__(
        self,
        *,
        users: Iterable[str],
        account_id: str,
        caller: str | None,
        strict: bool,
        seed: _secrets.Seed | None,
        services: Mapping[str, str],
    ) -> None:
        self.account_id = account_id
        self.strict = strict
        self._users = tuple(users) + ((caller,) if caller is not None else ())
        self._lock = threading.Lock()
        self._model: IamModel | None = None
        self._operations: Mapping[str, OperationSpec] | None = None
        self._sim = Simulation(account_id, caller, services, _secrets.Entropy(seed))
        self._calls: list[tuple[str, dict[str, Any], str | None, str]] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._request_ids: list[str] = []
        self.reset(seed)

    def reset(self, seed: _secrets.Seed | None) -> None:
        with self._lock:
            self._sim.store = Store(self._users)
            self._sim.entropy = _secrets.Entropy(seed)
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
                body = HANDLERS[operation](self._sim, params, now, stamper())
            except AwsError as exc:
                error = exc
            self._calls.append(
                (operation, params, None if error is None else error.code, request_id)
            )
        if error is None:
            broken = spec.problem(body)
            if broken is not None:
                raise ModelViolation(broken[0] or "<root>", broken[1])
            return _respond(request["url"], 200, request_id, now, body)
        err = self.model.errors.get(error.code) or ErrorSpec(
            error.code, 400, "Sender", error.message
        )
        body = {"Error": {"Type": err.type, "Code": error.code, "Message": error.message}}
        return _respond(request["url"], err.status, request_id, now, body, err.retryable)

    def _more_request_ids(self) -> str:
        """Request ids are made 64 at a time: one pass over pooled bytes, cheaper than 64."""
        ids = self._request_ids
        ids.extend(_make_request_ids(self._sim.entropy, 64))
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
            return tuple(r.view(now) for r in self._sim.store.records())

    def users(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._sim.store.users)

    def add_user(self, name: str) -> None:
        with self._lock:
            self._sim.store.users.add(name)

    def authenticate(self, login: str, secret: str, kind: str, service_name: str | None) -> bool:
        """True when ``secret`` is the current secret of an Active, unexpired credential."""
        now = int(time.time())
        user = login.rsplit("-at-", 1)[0]
        candidates = {user, user[:-2]} if user.endswith("+1") else {user}
        with self._lock:
            found = False
            for name in candidates:
                for record in self._sim.store.of_user(name):
                    if (
                        record.login == login
                        and record.kind == kind
                        and (service_name is None or record.service_name == service_name)
                        and record.status_at(now) == "Active"
                        and _secrets.matches(record.secret, secret)
                    ):
                        found = True
            return found


def authenticate_password(engine: Engine, user: str, password: str, service: str | None) -> bool:
    return engine.authenticate(user, password, PASSWORD, service)


def authenticate_api_key(engine: Engine, api_key: str) -> bool:
    alias = _secrets.alias_of(api_key)
    return alias is not None and engine.authenticate(alias, api_key, API_KEY, None)


def _respond(
    url: str,
    status: int,
    request_id: str,
    now: int,
    body: dict[str, Any],
    last_attempt: bool = False,
) -> tuple[Response, dict[str, Any]]:
    headers = {
        "x-amzn-requestid": request_id,
        "content-type": "text/xml",
        "date": _http_date(now),
    }
    meta: dict[str, Any] = {
        "RequestId": request_id,
        "HTTPStatusCode": status,
        "HTTPHeaders": headers,
    }
    if last_attempt:
        # Answering at before-call skips botocore's retries: a retryable error reaches the
        # caller as it would after the last attempt the client allows.
        meta["MaxAttemptsReached"] = True
    meta["RetryAttempts"] = 0
    body["ResponseMetadata"] = meta
    response = _new_response(Response)
    response.__dict__ = {
        "url": url,
        "status_code": status,
        "raw": None,
        "_content": b"",
        "_plain_headers": headers,
        "_headers": None,
    }
    return response, body


_new_response = object.__new__


def _make_request_ids(entropy: _secrets.Entropy, count: int) -> list[str]:
    """Version-4 UUIDs, as IAM's request ids are."""
    raw = entropy.bytes(16 * count).hex()
    return [
        f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:]}"
        for x in (raw[i : i + 32] for i in range(0, 32 * count, 32))
    ]


_VARIANT = {f"{i:x}": "89ab"[i & 3] for i in range(16)}  # RFC 4122 variant bits


_date_cache: tuple[int, str] = (-1, "")


def _http_date(now: int) -> str:
    global _date_cache
    cached = _date_cache
    if cached[0] != now:
        cached = _date_cache = (now, formatdate(now, usegmt=True))
    return cached[1]


# --- timestamps exactly as botocore's parser makes them ----------------------------------------

_stamp_cache: tuple[Any, Stamp] | None = None


def stamper() -> Stamp:
    """A function from epoch seconds to the datetime botocore's query parser would produce.

    dateutil gives ``tzlocal()`` when the machine's zone is named UTC and ``tzutc()`` otherwise
    (``dateutil.parser._build_tzaware``); the answer is cached per ``time.tzname``.
    """
    global _stamp_cache
    key = time.tzname
    cached = _stamp_cache
    if cached is None or cached[0] != key:
        cached = _stamp_cache = (key, _make_stamper(key))
    return cached[1]


def _make_stamper(key: tuple[str, str]) -> Stamp:
    from botocore.parsers import DEFAULT_TIMESTAMP_PARSER as parse

    def iso(ts: int) -> str:
        return (_EPOCH + timedelta(seconds=ts)).strftime("%Y-%m-%dT%H:%M:%SZ")

    if "UTC" in key and key[0] != key[1]:
        # A zone whose standard or summer name alone is UTC: dateutil's choice depends on the
        # instant, so ask the parser each time (exact, slower, and rare).
        def exact(ts: int) -> datetime:
            parsed: datetime = parse(iso(ts))
            return parsed

        return exact
    tz: tzinfo | None = parse(iso(0)).tzinfo
    cache: dict[int, datetime] = {}  # datetimes are immutable, and a record's timestamps repeat

    def fast(ts: int) -> datetime:
        cls = _datetime_module.datetime  # freezegun swaps the class; botocore's parser follows it
        value = cache.get(ts)
        if value is not None and type(value) is cls:
            return value
        value = (_EPOCH + timedelta(seconds=ts)).replace(tzinfo=tz)
        if cls is not _REAL[0]:
            value = cls(*value.timetuple()[:6], tzinfo=tz)
        if len(cache) >= 4096:
            cache.clear()
        cache[ts] = value
        return value

    return fast
