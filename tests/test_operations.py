"""The five operations as plain functions over an IamState, without a client."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sscstub import _secrets
from sscstub._errors import AwsError
from sscstub._operations import DEFAULT_SERVICES, OPERATIONS, IamState
from sscstub._store import Store


def test_operations_are_plain_functions_over_an_iam_state() -> None:
    sim = IamState("123456789012", None, DEFAULT_SERVICES, _secrets.Entropy(3), Store(("u",)))
    stamp = lambda ts: datetime.fromtimestamp(ts, timezone.utc)  # noqa: E731
    made = OPERATIONS["CreateServiceSpecificCredential"](
        sim,
        {"UserName": "u", "ServiceName": "logs.amazonaws.com", "CredentialAgeDays": 2},
        100,
        stamp,
    )
    body, change = made
    assert len(sim.store) == 0, "an operation only says what it will change"
    change()
    assert len(sim.store) == 1
    cred = body["ServiceSpecificCredential"]
    assert cred["ExpirationDate"] == stamp(100 + 2 * 86400)
    with pytest.raises(AwsError, match="NoSuchEntity: No such credential"):
        OPERATIONS["DeleteServiceSpecificCredential"](
            sim, {"UserName": "u", "ServiceSpecificCredentialId": "X" * 20}, 100, stamp
        )
