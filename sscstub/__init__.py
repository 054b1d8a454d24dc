"""sscstub: IAM service-specific credentials, served in-process to botocore and boto3 clients.

>>> import boto3, sscstub
>>> with sscstub.mock_ssc(users=["jane"]) as stub:
...     iam = boto3.client("iam", region_name="us-east-1")
...     iam.create_service_specific_credential(UserName="jane", ServiceName="bedrock.amazonaws.com")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _hooks
from ._errors import SscStubError, UnsimulatedOperationError
from ._stub import SSCStub, mock_ssc, stop_all

if TYPE_CHECKING:
    from ._durable import Snapshot
    from ._operations import DEFAULT_SERVICES
    from ._options import Options
    from ._server import Server, serve
    from ._store import Call, Credential

__version__ = "0.1.0"
__all__ = [
    "DEFAULT_SERVICES",
    "Call",
    "Credential",
    "Options",
    "SSCStub",
    "Server",
    "Snapshot",
    "SscStubError",
    "UnsimulatedOperationError",
    "__version__",
    "mock_ssc",
    "serve",
    "stop_all",
]

_hooks.register_builtins()

# Loaded on first use (PEP 562): they need `dataclasses`, whose `inspect` import alone would
# triple what `import sscstub` costs a process that has imported only botocore.
_LAZY = {
    "Call": "._store",
    "Credential": "._store",
    "DEFAULT_SERVICES": "._operations",
    "Options": "._options",
    "Server": "._server",
    "Snapshot": "._durable",
    "serve": "._server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sscstub' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value
