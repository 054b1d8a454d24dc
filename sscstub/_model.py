"""botocore's IAM model, loaded on first use and compiled once into fast checks.

Input checks produce the messages IAM's server-side validation gives (botocore's client checks
only required/type/min); output checks hold every response to every constraint the model states
and raise on a violation, which is always a bug in sscstub.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import ListShape, Shape, StructureShape

from . import _operations
from ._botocore_internals import CACHE_ATTRIBUTE, cache_on
from ._checks import InputReader, OutputCheck, input_reader, output_check
from ._query import XmlWriter, xml_writer

OPERATIONS = tuple(_operations.OPERATIONS)  # the five, as the engine implements them

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
    read: InputReader  # query body -> (API params, IAM's validation messages)
    find_problem: OutputCheck  # body without ResponseMetadata -> None, or (path, what is wrong)
    # Drops the members the caller's model lacks (an older botocore's), as its parser would
    # drop what real IAM sends; None when the model knows every member sscstub answers with.
    trim: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    write_xml: XmlWriter | None = None  # (request id, body) -> IAM's bytes on success


@dataclass(frozen=True)
class IamModel:
    api_version: str
    operations: Mapping[str, OperationSpec]
    errors: Mapping[str, ErrorSpec]

    def writer(self, operation: str) -> XmlWriter | None:
        """The XML writer of one of the five operations (None for any other)."""
        spec = self.operations.get(operation)
        return None if spec is None else spec.write_xml

    def operation(self, name: str) -> OperationSpec | None:
        """Look an operation up by API name or by client method name."""
        found = self.operations.get(name)
        if found is None:
            found = next((op for op in self.operations.values() if op.method == name), None)
        return found


_by_signature: dict[str, IamModel] = {}


def clear_caches() -> None:
    """Forget everything compiled or remembered: the checks and XML writers (compiled again at
    the next call, also for ServiceModels that hold an earlier one) and the formatted
    timestamps. For mutation testing, which changes the code that generates them between tests
    in one process (tests/conftest.py calls it then); nothing else needs it."""
    from . import _botocore_internals, _query

    global CACHE_ATTRIBUTE
    CACHE_ATTRIBUTE = _botocore_internals.next_cache_attribute()
    _by_signature.clear()
    _default.cache_clear()
    _query.clear_caches()


def iam(service: Any = None) -> IamModel:
    """The model compiled from ``service`` (the botocore ServiceModel of the client calling),
    or from botocore's own IAM model when there is none.

    Compiling takes a few ms, so it happens once per distinct model: the result is kept on the
    ServiceModel (one attribute lookup per call after that) and shared by every ServiceModel
    with the same shapes. Clients of an older botocore get checks, and answers, of their model.
    """
    if service is None:
        return _default()
    found: IamModel | None = getattr(service, CACHE_ATTRIBUTE, None)
    if found is None:
        if getattr(service, "service_name", None) != "iam":
            return _default()
        signature = _signature(service)
        found = _by_signature.get(signature)
        if found is None:
            found = _by_signature[signature] = _compile(service)
        cache_on(service, found, CACHE_ATTRIBUTE)
    return found


@functools.cache
def _default() -> IamModel:
    return _compile(None)


@functools.cache
def default_service_model() -> Any:
    """botocore's own IAM ServiceModel (for answers with no client model at hand)."""
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel

    return ServiceModel(create_loader().load_service_model("iam", "service-2"), "iam")


def _signature(service: Any) -> str:
    """What the compiled checks depend on: the five operations' input and output shapes."""
    parts = []
    for name in OPERATIONS:
        op = service.operation_model(name)
        parts.append(repr((_shape_key(op.input_shape), _shape_key(op.output_shape))))
    return "\n".join(parts)


def _shape_key(shape: Shape | None) -> Any:
    if shape is None:
        return None
    meta = sorted((k, repr(v)) for k, v in shape.metadata.items() if k != "documentation")
    if isinstance(shape, StructureShape):
        members = tuple((m, _shape_key(sub)) for m, sub in shape.members.items())
        return (shape.name, meta, tuple(shape.required_members), members)
    if isinstance(shape, ListShape):
        return (shape.name, meta, _shape_key(shape.member))
    return (shape.name, shape.type_name, meta)


# What sscstub answers with: every member of these shapes in today's model.
_ANSWERED: dict[str, dict[str, set[str] | None]] = {
    "CreateServiceSpecificCredential": {
        "ServiceSpecificCredential": {
            "CreateDate", "ExpirationDate", "ServiceName", "ServiceUserName", "ServicePassword",
            "ServiceCredentialAlias", "ServiceCredentialSecret", "ServiceSpecificCredentialId",
            "UserName", "Status",
        },
    },
    "ListServiceSpecificCredentials": {
        "ServiceSpecificCredentials": {
            "UserName", "Status", "ServiceUserName", "ServiceCredentialAlias", "CreateDate",
            "ExpirationDate", "ServiceSpecificCredentialId", "ServiceName",
        },
        "Marker": None,
        "IsTruncated": None,
    },
}  # fmt: skip
_ANSWERED["ResetServiceSpecificCredential"] = _ANSWERED["CreateServiceSpecificCredential"]
# Required in the model before 2025-06-30, absent from real API-key answers since.
_RELAXED = frozenset({"ServiceUserName", "ServicePassword"})


def _trimmer(
    name: str, shape: StructureShape | None
) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    answered = _ANSWERED.get(name)
    if answered is None or shape is None:
        return None
    top = set(shape.members)
    inner: set[str] = set()
    for member, sub in shape.members.items():
        target = sub.member if isinstance(sub, ListShape) else sub
        if member in answered and isinstance(target, StructureShape):
            inner = set(target.members)
    wanted: set[str] = next((m for m in answered.values() if m is not None), set())
    if set(answered) <= top and wanted <= inner:
        return None

    def keep(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k in inner}

    def trim(body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key not in top:
                continue
            if isinstance(value, dict):
                value = keep(value)
            elif isinstance(value, list):
                value = [keep(item) for item in value]
            out[key] = value
        return out

    return trim


def _compile(service: Any) -> IamModel:
    """Compile the five operations' checks and the error table (a few ms; loading IAM's JSON
    here, when no client's ServiceModel is at hand, adds ~10 ms)."""
    from botocore import xform_name

    if service is None or service.service_name != "iam":
        service = default_service_model()
    operations = {}
    for name in OPERATIONS:
        op = service.operation_model(name)
        assert op.input_shape is not None
        trim = _trimmer(name, op.output_shape)
        operations[name] = OperationSpec(
            name=name,
            method=xform_name(name),
            read=input_reader(op.input_shape, frozenset({"UserName"})),
            find_problem=output_check(op.output_shape, _RELAXED if trim else frozenset()),
            trim=trim,
            write_xml=xml_writer(name, op.output_shape),
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
