"""What ``benchmarks/`` uses that tests and users do not (not public API): a stub switched on
and off without the fresh start `SSCStub.start` gives (a benchmark of a full store keeps its
state between batches), its call log emptied (it grows with every call), and credentials made
through the before-call path without botocore's client-side work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _hooks

if TYPE_CHECKING:
    from ._stub import SSCStub


def switch_on(stub: SSCStub) -> None:
    """Make ``stub`` the active one again, with its state as it was."""
    _hooks.set_active(stub._engine)


def switch_off() -> None:
    """No stub is active; the one that was keeps its state."""
    _hooks.set_active(None)


def forget_calls(stub: SSCStub) -> None:
    stub._engine.forget_calls()


def create(stub: SSCStub, user: str, service: str) -> None:
    """One CreateServiceSpecificCredential as a client's call would make it (``user`` exists)."""
    from ._botocore_front import answer_call

    body = {
        "Action": "CreateServiceSpecificCredential",
        "Version": "2010-05-08",
        "UserName": user,
        "ServiceName": service,
    }
    answer_call(stub._engine, "CreateServiceSpecificCredential", {"body": body, "url": "x"})
