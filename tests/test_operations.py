"""The five operations as plain functions over an IamState, without a client."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sscstub import _secrets
from sscstub._errors import AwsError
from sscstub._operations import DEFAULT_SERVICES, OPERATIONS, IamState
from sscstub._store import Record, Store


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


def test_a_new_id_that_is_taken_is_drawn_again() -> None:
    """Ids carry 44 random bits; in a store of millions a repeat is likely, and never kept."""
    stamp = lambda ts: datetime.fromtimestamp(ts, timezone.utc)  # noqa: E731
    first = _secrets.credential_id("123456789012", _secrets.Entropy(9))
    sim = IamState("123456789012", None, DEFAULT_SERVICES, _secrets.Entropy(9), Store(("u",)))
    sim.store.add(Record(first, "u", "x", "password", "u-at-x", 0, None, b"", 1))
    body, change = OPERATIONS["CreateServiceSpecificCredential"](
        sim, {"UserName": "u", "ServiceName": "codecommit.amazonaws.com"}, 100, stamp
    )
    made = body["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    assert made != first and made.startswith(first[:12]) and len(made) == 21
