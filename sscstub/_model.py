"""botocore's IAM model, loaded on first use and compiled once into fast checks.

Input checks produce the messages IAM's server-side validation gives (botocore's client checks
only required/type/min); output checks hold every response to every constraint the model states
and raise on a violation, which is always a bug in sscstub.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import Shape

from ._checks import InputReader, OutputCheck, input_reader, output_check

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
    read: InputReader  # query body -> (API params, IAM's validation messages)
    find_problem: OutputCheck  # body without ResponseMetadata -> None, or (path, what is wrong)

    def check_output(self, body: Mapping[str, Any]) -> None:
        """Raise `ModelViolation` when ``body`` breaks the model."""
        broken = self.find_problem(body)
        if broken is not None:
            raise ModelViolation(broken[0] or "<root>", broken[1])


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


_compiled: IamModel | None = None


def iam(service: Any = None) -> IamModel:
    """The compiled model, built once per process: from ``service`` (the botocore ServiceModel a
    client already loaded, which saves reading IAM's JSON again), or loaded here."""
    global _compiled
    if _compiled is None:
        _compiled = _compile(service)
    return _compiled


def _compile(service: Any) -> IamModel:
    """Compile the five operations' checks and the error table (a few ms; loading IAM's JSON
    here, when no client's ServiceModel is at hand, adds ~10 ms)."""
    from botocore import xform_name
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel

    if service is None or service.service_name != "iam":
        service = ServiceModel(create_loader().load_service_model("iam", "service-2"), "iam")
    operations = {}
    for name in OPERATIONS:
        op = service.operation_model(name)
        assert op.input_shape is not None
        operations[name] = OperationSpec(
            name=name,
            method=xform_name(name),
            read=input_reader(op.input_shape, frozenset({"UserName"})),
            find_problem=output_check(op.output_shape),
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
