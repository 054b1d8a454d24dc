"""Errors a test injects (`inject_error`): queued per operation, each for a number of calls."""

from __future__ import annotations

from collections import deque

from ._errors import SscStubError
from ._model import ErrorSpec, IamModel


class Fault:
    __slots__ = ("message", "remaining", "spec")

    def __init__(self, spec: ErrorSpec, message: str, remaining: int | None) -> None:
        self.spec = spec
        self.message = message
        self.remaining = remaining


def take(faults: dict[str, deque[Fault]], operation: str) -> Fault | None:
    """The fault the next call of ``operation`` fails with (counted), or None."""
    queue = faults.get(operation)
    if not queue:
        return None
    fault = queue[0]
    if fault.remaining is not None:
        fault.remaining -= 1
        if fault.remaining == 0:
            queue.popleft()
    return fault


def check(model: IamModel, operation: str, code: str, times: int | None) -> tuple[str, ErrorSpec]:
    """The operation's name and the error's spec; `SscStubError` for what inject_error refuses."""
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
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise SscStubError(
            f"inject_error() got times={times!r}.",
            "Pass a whole number of calls >= 1, or times=None to fail every call until reset().",
            "the-test-api",
        )
    return spec.name, error


def add(
    faults: dict[str, deque[Fault]],
    name: str,
    error: ErrorSpec,
    message: str | None,
    times: int | None,
) -> None:
    fault = Fault(error, error.default_message if message is None else message, times)
    faults.setdefault(name, deque()).append(fault)
