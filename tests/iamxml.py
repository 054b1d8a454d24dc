"""An oracle for parity tests: IAM's XML for a response, answered through botocore's own path.

`render` writes the query-protocol XML that real IAM sends for a parsed response; `oracle_call`
makes a fresh client answer an operation from that XML at ``before-send``, so botocore's real
parser, modeled-error handling and retry bookkeeping produce what real IAM would have produced.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import boto3
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from sscstub._query import xml_error, xml_writer


def render(operation: str, parsed: dict[str, Any]) -> tuple[int, bytes, dict[str, str]]:
    """IAM's bytes for a parsed answer, from sscstub's own writer (the one wire mode and the
    endpoint send): parity then proves that botocore parses them into what before-call returns."""
    meta = parsed["ResponseMetadata"]
    body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
    if "Error" in body:
        xml = xml_error(meta["RequestId"], body["Error"])
    else:
        shape = _SERVICE.operation_model(operation).output_shape
        xml = xml_writer(operation, shape)(meta["RequestId"], body)
    return meta["HTTPStatusCode"], xml, dict(meta["HTTPHeaders"])


_SERVICE = botocore.session.get_session().get_service_model("iam")


class _Raw(io.BytesIO):
    def stream(self, **kwargs: Any) -> Any:
        yield self.getvalue()


def oracle_call(
    method: str, kwargs: dict[str, Any], rendered: tuple[int, bytes, dict[str, str]]
) -> dict[str, Any]:
    """What botocore returns (or raises, as ``ClientError.response``) for that XML."""
    status, xml, headers = rendered
    client = boto3.client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            retries={"total_max_attempts": 1, "mode": "legacy"}, parameter_validation=False
        ),
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, status, headers, _Raw(xml))

    client.meta.events.register("before-send.iam", answer)
    try:
        return getattr(client, method)(**kwargs)  # type: ignore[no-any-return]
    except ClientError as error:
        return error.response  # type: ignore[return-value]


def assert_same(ours: Any, real: Any, path: str = "") -> None:
    """Equal key for key (in the same order) and type for type, tzinfo type included."""
    assert type(ours) is type(real), f"{path}: {type(ours).__name__} != {type(real).__name__}"
    if isinstance(ours, dict):
        assert list(ours) == list(real), f"{path}: keys {list(ours)} != {list(real)}"
        for key in ours:
            assert_same(ours[key], real[key], f"{path}.{key}")
    elif isinstance(ours, list):
        assert len(ours) == len(real), f"{path}: {len(ours)} items != {len(real)}"
        for index, (a, b) in enumerate(zip(ours, real, strict=True)):
            assert_same(a, b, f"{path}[{index}]")
    elif isinstance(ours, datetime):
        assert ours == real, f"{path}: {ours} != {real}"
        assert type(ours.tzinfo) is type(real.tzinfo), f"{path}: {ours.tzinfo!r} != {real.tzinfo!r}"
    else:
        assert ours == real, f"{path}: {ours!r} != {real!r}"
