"""The two botocore front ends: each turns the engine's `Answer` into what botocore reads.

* **before-call** (the default): the parsed dict botocore's client returns, with
  ResponseMetadata, and the HTTP response object it checks (`Response`); botocore then skips
  sending, signing, retries and parsing.
* **before-send** (``wire=True``): IAM's XML in an HTTP response, which botocore parses,
  retries and hands to ``after-call`` as if it came from AWS. At before-call, wire mode only
  screens what strict mode stops (`screen`).

`_hooks` calls these; nothing here registers anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse

from . import _bedrock, _moto
from ._botocore_internals import bearer_token, headers_dict, stamper, wire_response
from ._engine import OddValues
from ._errors import SscStubError, UnsimulatedOperationError
from ._model import IamModel, iam
from ._operations import OPERATIONS
from ._query import encode, http_date, read_query, utc_stamp, wire_form
from ._secrets import long_term_prefix

if TYPE_CHECKING:
    from ._answer import Answer
    from ._engine import Engine


class Response(AWSResponse):
    """What botocore's client reads of an HTTP response: the status now, the headers (as botocore's
    case-insensitive HeadersDict) only if someone asks; building that dict costs microseconds."""

    _plain_headers: dict[str, str]
    _headers: Any  # set by respond(), which sets every attribute in one dict

    @property
    def headers(self) -> Any:
        if self._headers is None:
            self._headers = headers_dict(self._plain_headers)
        return self._headers

    @headers.setter
    def headers(self, value: Any) -> None:
        self._headers = value


def _model_of(operation_model: Any) -> IamModel:
    """The compiled model of the calling client (None: botocore's own IAM model)."""
    return iam(None if operation_model is None else operation_model.service_model)


# --- before-call ---------------------------------------------------------------------------------


def answer_call(
    engine: Engine, operation: str, request: Any, operation_model: Any = None
) -> tuple[Response, dict[str, Any]] | None:
    """Answer one botocore call at ``before-call``; ``operation_model`` is its OperationModel,
    whose ServiceModel the checks and the answer follow."""
    # `_model_of`, inline: a call on this path costs more than the expression
    iam_model = iam(None if operation_model is None else operation_model.service_model)
    body = request["body"]
    try:
        answer = engine.handle(operation, body, iam_model, stamper())
    except OddValues:  # read what botocore would have put on the wire
        answer = engine.handle(operation, read_query(wire_form(body)), iam_model, stamper())
    if answer is None:  # not one of the five: botocore (or moto) goes on, unless strict
        unsimulated(engine, operation)
        return None
    return respond(request["url"], answer)


def unsimulated(engine: Engine, operation: str) -> None:
    """Strict mode's one decision, for both modes: an IAM operation sscstub does not serve,
    with nothing to pass it on to, raises `UnsimulatedOperationError`."""
    if engine.strict and not engine.passes_on():
        raise UnsimulatedOperationError(operation)


def respond(
    url: str, answer: Answer, headers: dict[str, str] | None = None
) -> tuple[Response, dict[str, Any]]:
    """The (HTTP response, parsed body) pair botocore's client takes from a before-call handler
    (``headers``: other than IAM's)."""
    status, request_id, now, _, result, error, retryable = answer
    if headers is None:
        headers = {
            "x-amzn-requestid": request_id,
            "content-type": "text/xml",
            "date": http_date(now),
        }
    meta: dict[str, Any] = {
        "RequestId": request_id,
        "HTTPStatusCode": status,
        "HTTPHeaders": headers,
    }
    if retryable:
        # Answering at before-call skips botocore's retries: a retryable error reaches the
        # caller as it would after the last attempt the client allows.
        meta["MaxAttemptsReached"] = True
    meta["RetryAttempts"] = 0
    body: dict[str, Any] = result if error is None else {"Error": error}  # type: ignore[assignment]
    body["ResponseMetadata"] = meta
    # AWSResponse's attributes (a botocore internal), set in one dict without __init__: here, not
    # in a function of `_botocore_internals`, because a call costs ~800 instructions a request.
    response = _new(Response)
    response.__dict__ = {
        "url": url,
        "status_code": status,
        "raw": None,
        "_content": b"",
        "_plain_headers": headers,
        "_headers": None,
    }
    return response, body


_new = object.__new__


def check_api_key(
    engine: Engine, operation_model: Any, request_signer: Any, context: Any, accepted_key: str
) -> tuple[Response, dict[str, Any]] | None:
    """At before-call of a Bedrock call: a long-term API key (any service's format) that is not
    a current Bedrock key sscstub issued gets Bedrock's 403 ``AccessDeniedException`` (in either
    mode: before a Stubber can answer). An accepted one, short-term keys and SigV4 calls go on
    as they would without sscstub."""
    token = bearer_token(request_signer)
    if token is None or long_term_prefix(token) is None:
        return None
    service = operation_model.service_model.service_name
    answer = _bedrock.check(engine, service, operation_model.name, token)
    if answer.error is None:
        if context is not None:
            context[accepted_key] = answer.operation
        return None
    return respond(f"https://{service}.amazonaws.com/", answer, _bedrock.refusal_headers(answer))


def signs_with_long_term_key(request: Any) -> bool:
    """Whether a prepared request carries a long-term API key as its bearer token."""
    value = request.headers.get("Authorization") or b""
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return text.startswith("Bearer ") and long_term_prefix(text[7:]) is not None


# --- before-send (wire mode) ---------------------------------------------------------------------


def screen(engine: Engine, operation: str, signer: Any = None) -> None:
    """In wire mode, at before-call: stop, in strict mode, an IAM operation sscstub does not
    serve, and refuse aiobotocore clients (their signer is aiobotocore's)."""
    if operation not in OPERATIONS:
        unsimulated(engine, operation)
        engine.compose_now()  # moto's answer comes first at before-send: make our users there
    if type(signer).__module__.startswith("aiobotocore"):
        raise SscStubError(
            "wire=True cannot serve aiobotocore clients: they read the response body"
            " asynchronously, and sscstub answers in wire mode with a plain HTTP response.",
            "Use the default mode (wire=False) for aiobotocore clients; it serves them at"
            " before-call.",
            "options",
        )


def answer_request(engine: Engine, request: Any, operation_model: Any) -> AWSResponse | None:
    """Answer one botocore request at ``before-send`` with IAM's bytes; ``operation_model`` is
    its OperationModel (None: botocore's own IAM model)."""
    query = read_query(request.body or b"")
    iam_model = _model_of(operation_model)
    answer = engine.handle(query.get("Action", ""), query, iam_model, utc_stamp)
    if answer is None:
        return None
    status, headers, data = encode(answer, iam_model.writer(answer.operation))
    response: AWSResponse = wire_response(request.url, status, headers, data)
    _moto.leave_answered(request)
    return response
