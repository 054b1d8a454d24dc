"""sscstub: IAM service-specific credentials, served in-process to botocore and boto3 clients.

>>> import boto3, sscstub
>>> with sscstub.mock_ssc(users=["jane"]) as stub:
...     iam = boto3.client("iam", region_name="us-east-1")
...     iam.create_service_specific_credential(UserName="jane", ServiceName="bedrock.amazonaws.com")
"""

from __future__ import annotations

from . import _hooks
from ._errors import SscStubError, UnsimulatedOperationError
from ._operations import DEFAULT_SERVICES
from ._options import Options
from ._store import Call, Credential
from ._stub import SSCStub, mock_ssc

__version__ = "0.1.0"
__all__ = [
    "DEFAULT_SERVICES",
    "Call",
    "Credential",
    "Options",
    "SSCStub",
    "SscStubError",
    "UnsimulatedOperationError",
    "__version__",
    "mock_ssc",
]

_hooks.register_builtins()
