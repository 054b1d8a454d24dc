"""botocore's IAM model, loaded on first use and compiled once into fast checks.

Input checks produce the messages IAM's server-side validation gives (botocore's client checks
only required/type/min); output checks hold every response to every constraint the model states
and raise on a violation, which is always a bug in sscstub.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from botocore.model import ListShape, Shape, StructureShape

OPERATIONS = (
    "CreateServiceSpecificCredential",
    "ResetServiceSpecificCredential",
    "UpdateServiceSpecificCredential",
    "ListServiceSpecificCredentials",
    "DeleteServiceSpecificCredential",
)

# Errors any AWS query endpoint can answer with, beside the ones the IAM model declares
# (AWS "Common Errors" for query APIs; IAM spells its throttling and access errors this way).
_COMMON_ERRORS: dict[str, tuple[int, str, str]] = {
    "Throttling": (400, "Sender", "Rate exceeded"),
    "ThrottlingException": (400, "Sender", "Rate exceeded"),
    "RequestLimitExceeded": (400, "Sender", "Request limit exceeded."),
    "AccessDenied": (403, "Sender", "User is not authorized to perform this action."),
    "AccessDeniedException": (400, "Sender", "You do not have sufficient access."),
    "ValidationError": (400, "Sender", "1 validation error detected"),
    "InvalidClientTokenId": (
        403,
        "Sender",
        "The security token included in the request is invalid.",
    ),
    "SignatureDoesNotMatch": (
        403,
        "Sender",
        "The request signature we calculated does not match the signature you provided.",
    ),
    "ExpiredToken": (403, "Sender", "The security token included in the request is expired"),
    "RequestExpired": (400, "Sender", "Request has expired."),
    "IncompleteSignature": (400, "Sender", "The request signature is incomplete."),
    "InternalFailure": (500, "Receiver", "An internal error occurred."),
    "ServiceUnavailable": (503, "Receiver", "Service is unavailable."),
}


# What botocore retries (botocore/retries/standard.py: TransientRetryableChecker and
# ThrottledRetryableChecker; the legacy mode's _retry.json agrees for these).
_RETRYABLE_CODES = frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
    }
)
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


class ModelViolation(AssertionError):
    """A response broke the IAM model: a bug in sscstub, never something a test should catch."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(
            f"sscstub produced a response that breaks botocore's IAM model at {path}: {problem}"
        )


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    status: int
    type: str
    default_message: str

    @property
    def retryable(self) -> bool:
        """Whether botocore would retry it, so that it reaches callers only after the last try."""
        return self.code in _RETRYABLE_CODES or self.status in _RETRYABLE_STATUS


@dataclass(frozen=True)
class OperationSpec:
    name: str
    method: str
    kinds: Mapping[str, str]  # input member -> botocore type name
    check_input: Callable[[Mapping[str, Any]], list[str]]
    check_output: Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class IamModel:
    api_version: str
    operations: Mapping[str, OperationSpec]
    errors: Mapping[str, ErrorSpec]

    def operation(self, name: str) -> OperationSpec | None:
        """Look an operation up by API name or by client method name."""
        found = self.operations.get(name)
        if found is None:
            found = next((op for op in self.operations.values() if op.method == name), None)
        return found


@functools.cache
def iam() -> IamModel:
    """The compiled model, built from botocore's data the first time it is needed (~25 ms)."""
    from botocore import xform_name
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel

    service = ServiceModel(create_loader().load_service_model("iam", "service-2"), "iam")
    operations = {}
    for name in OPERATIONS:
        op = service.operation_model(name)
        assert op.input_shape is not None
        operations[name] = OperationSpec(
            name=name,
            method=xform_name(name),
            kinds={m: s.type_name for m, s in op.input_shape.members.items()},
            check_input=_input_checker(op.input_shape),
            check_output=_output_checker(op.output_shape),
        )
    errors = {code: ErrorSpec(code, *spec) for code, spec in _COMMON_ERRORS.items()}
    for shape in service.error_shapes:
        meta = shape.metadata.get("error", {})
        code = meta.get("code", shape.name)
        # A declared error without senderFault (ServiceFailure) is the server's fault.
        fault = "Sender" if meta.get("senderFault") or not meta else "Receiver"
        errors[code] = ErrorSpec(
            code, meta.get("httpStatusCode", 400), fault, _first_sentence(shape)
        )
    return IamModel(service.api_version, operations, errors)


def _first_sentence(shape: Shape) -> str:
    text = re.sub(r"<[^>]+>", "", shape.documentation or "").strip()
    return text.split(". ")[0].rstrip(".") + "." if text else shape.name


def _pattern(shape: Shape) -> re.Pattern[str] | None:
    # AWS patterns are Java regexes, where \w is ASCII-only.
    pattern = shape.metadata.get("pattern")
    return re.compile(pattern, re.ASCII) if pattern is not None else None


_NOT_NULL = "Member must not be null"


# --- input: IAM's server-side validation --------------------------------------------------------


def _input_checker(shape: Shape) -> Callable[[Mapping[str, Any]], list[str]]:
    assert isinstance(shape, StructureShape)
    members = [
        (name, name[0].lower() + name[1:], member, name in shape.required_members)
        for name, member in shape.members.items()
    ]

    def check(params: Mapping[str, Any]) -> list[str]:
        problems = []
        for name, camel, member, required in members:
            value = params.get(name)
            if value is None:
                if required:
                    problems.append(
                        f"Value null at '{camel}' failed to satisfy constraint: {_NOT_NULL}"
                    )
                continue
            for problem in _input_problems(member, value, name == "UserName"):
                problems.append(
                    f"Value at '{camel}' failed to satisfy constraint: Member must {problem}"
                )
        return problems

    return check


def _input_problems(shape: Shape, value: Any, custom_pattern: bool) -> list[str]:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            return ["be a string"]
        problems = []
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"have length greater than or equal to {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"have length less than or equal to {meta['max']}")
        pattern = _pattern(shape)
        # IAM checks the user name pattern itself, after these checks, with its own message.
        if pattern is not None and not custom_pattern and not pattern.fullmatch(value):
            problems.append(f"satisfy regular expression pattern: {meta['pattern']}")
        if "enum" in meta and value not in meta["enum"]:
            problems.append("satisfy enum value set")
        return problems
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return ["be a number"]
        if "min" in meta and value < meta["min"]:
            return [f"have value greater than or equal to {meta['min']}"]
        if "max" in meta and value > meta["max"]:
            return [f"have value less than or equal to {meta['max']}"]
        return []
    if kind == "boolean":
        return [] if isinstance(value, bool) else ["be a boolean"]
    raise NotImplementedError(f"sscstub cannot check IAM input members of type {kind}")


# --- output: every constraint the model states ----------------------------------------------------

_Check = Callable[[Any], None]


class _Broken(Exception):
    def __init__(self, problem: str) -> None:
        self.path: list[str] = []
        self.problem = problem


def _output_checker(shape: Shape | None) -> Callable[[Mapping[str, Any]], None]:
    check = _compile(shape) if shape is not None else _empty

    def check_output(parsed: Mapping[str, Any]) -> None:
        body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
        try:
            check(body)
        except _Broken as broken:
            raise ModelViolation(
                "".join(reversed(broken.path)) or "<root>", broken.problem
            ) from None

    return check_output


def _empty(value: Any) -> None:
    if value:
        raise _Broken(f"the operation has no output, but the response holds {sorted(value)}")


def _compile(shape: Shape) -> _Check:
    kind = shape.type_name
    meta = shape.metadata
    if isinstance(shape, StructureShape):
        members = {name: _compile(member) for name, member in shape.members.items()}
        required = frozenset(shape.required_members)

        def structure(value: Any) -> None:
            if not isinstance(value, dict):
                raise _Broken(f"expected a dict for {shape.name}, got {type(value).__name__}")
            if not required <= value.keys():
                raise _Broken(f"required members missing: {sorted(required - value.keys())}")
            for key, item in value.items():
                check = members.get(key)
                if check is None:
                    raise _Broken(f"{key!r} is not a member of {shape.name}")
                try:
                    check(item)
                except _Broken as broken:
                    broken.path.append(f".{key}")
                    raise

        return structure
    if isinstance(shape, ListShape):
        item_check = _compile(shape.member)

        def list_(value: Any) -> None:
            if not isinstance(value, list):
                raise _Broken(f"expected a list, got {type(value).__name__}")
            for index, item in enumerate(value):
                try:
                    item_check(item)
                except _Broken as broken:
                    broken.path.append(f"[{index}]")
                    raise

        return list_
    if kind == "string":
        low, high = meta.get("min", 0), meta.get("max")
        pattern = _pattern(shape)
        enum = frozenset(meta.get("enum", ()))

        def string(value: Any) -> None:
            if type(value) is not str:
                raise _Broken(f"expected str, got {type(value).__name__}")
            if len(value) < low or (high is not None and len(value) > high):
                raise _Broken(f"length {len(value)} is outside {low}..{high}")
            if pattern is not None and not pattern.fullmatch(value):
                raise _Broken(f"does not match {pattern.pattern}")
            if enum and value not in enum:
                raise _Broken(f"{value!r} is not one of {sorted(enum)}")

        return string
    if kind == "timestamp":

        def timestamp(value: Any) -> None:
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise _Broken(f"expected an aware datetime, got {value!r}")
            if value.microsecond:
                raise _Broken("timestamps are whole seconds")

        return timestamp
    if kind == "boolean":

        def boolean(value: Any) -> None:
            if type(value) is not bool:
                raise _Broken(f"expected bool, got {type(value).__name__}")

        return boolean
    raise NotImplementedError(f"sscstub cannot check IAM output members of type {kind}")
