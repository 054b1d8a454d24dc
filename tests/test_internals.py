"""Unit tests of the pieces below the public API: store, model checks, secrets, ops, wiring."""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from typing import Any

import pytest

from sscstub import _hooks, _secrets
from sscstub._errors import AwsError
from sscstub._model import ModelViolation, OperationSpec, iam
from sscstub._operations import DEFAULT_SERVICES, OPERATIONS, IamState
from sscstub._store import OrderedIndex, Record, Store


def check_output(spec: OperationSpec, body: object) -> None:
    """Raise ModelViolation when ``body`` breaks the model (as the engine does)."""
    broken = spec.find_problem(body)
    if broken is not None:
        raise ModelViolation(broken[0] or "<root>", broken[1])


def _record(seq: int, user: str = "u", service: str = "codecommit.amazonaws.com") -> Record:
    return Record(f"ACCA{seq:017d}", user, service, "password", f"{user}-at-1", 0, None, b"", seq)


# --- store ---------------------------------------------------------------------------------------


def test_ordered_index_pages_from_a_sequence_number_and_squeezes_holes() -> None:
    index = OrderedIndex()
    records = [_record(i) for i in range(1, 201)]
    for record in records:
        index.append(record)
    for record in records[:150:3] + records[1:150:3] + records[2:150:3]:
        index.remove(record)
    assert len(index) == 50 and len(index._seqs) == 99  # holes were squeezed out once
    page, resume = index.page(0, 3)
    assert [r.seq for r in page] == [151, 152, 153] and resume == 154
    page, resume = index.page(resume, 1000)
    assert len(page) == 47 and resume is None
    assert index.page(10_000, 5) == ([], None)


def test_store_indexes_stay_consistent() -> None:
    store = Store(("u", "v"))
    a, b, c = _record(1), _record(2, "v"), _record(3, service="bedrock.amazonaws.com")
    for record in (a, b, c):
        store.add(record)
    assert len(store) == 3 and store.of_user("u") == [a, c] and a.id in store
    assert store.page("bedrock.amazonaws.com", 0, 10) == ([c], None)
    assert store.page("never.used", 0, 10) == ([], None)
    store.remove(b)
    assert store.of_user("v") == [] and "v" not in store._by_user and store.records() == [a, c]


def test_records_render_in_model_member_order() -> None:
    record = Record(
        "ACCA" + "A" * 17, "u", "bedrock.amazonaws.com", "api-key", "u-at-1", 0, 86400, b"", 1
    )
    stamp = lambda ts: datetime.fromtimestamp(ts, timezone.utc)  # noqa: E731
    assert list(record.to_credential_shape(0, stamp, "s")) == [
        "CreateDate",
        "ExpirationDate",
        "ServiceName",
        "ServiceCredentialAlias",
        "ServiceCredentialSecret",
        "ServiceSpecificCredentialId",
        "UserName",
        "Status",
    ]
    assert record.to_credential_shape(86400, stamp)[
        "Status"
    ] == "Expired" and "ServiceCredentialSecret" not in record.to_credential_shape(0, stamp)
    assert list(record.to_metadata_shape(0, stamp))[:3] == [
        "UserName",
        "Status",
        "ServiceCredentialAlias",
    ]
    assert "secret" not in repr(record).lower()


# --- model checks ------------------------------------------------------------------------------------


GOOD = {
    "CreateDate": datetime(2026, 1, 1, tzinfo=timezone.utc),
    "ServiceName": "s",
    "ServiceSpecificCredentialId": "ACCA" + "A" * 17,
    "UserName": "u",
    "Status": "Active",
}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"Status": "Bogus"}, ".ServiceSpecificCredential.Status"),
        ({"ServiceSpecificCredentialId": "short"}, ".ServiceSpecificCredentialId"),
        ({"ServiceUserName": "x" * 201}, ".ServiceUserName"),
        ({"ServiceCredentialAlias": "bad alias"}, ".ServiceCredentialAlias"),
        ({"CreateDate": "2026-01-01T00:00:00Z"}, ".CreateDate"),
        ({"CreateDate": datetime(2026, 1, 1)}, ".CreateDate"),
        ({"CreateDate": datetime(2026, 1, 1, 0, 0, 0, 5, tzinfo=timezone.utc)}, ".CreateDate"),
        ({"Unexpected": 1}, "<root>" if False else ".ServiceSpecificCredential"),
        ({"UserName": None}, ".UserName"),
    ],
)
def test_output_checks_catch_every_model_violation(change: dict[str, Any], where: str) -> None:
    check = functools.partial(check_output, iam().operations["CreateServiceSpecificCredential"])
    check({"ServiceSpecificCredential": GOOD})
    with pytest.raises(ModelViolation, match="breaks botocore's IAM model") as caught:
        check({"ServiceSpecificCredential": {**GOOD, **change}})
    assert where in str(caught.value)


def test_output_checks_cover_lists_booleans_and_empty_outputs() -> None:
    ops = iam().operations
    with pytest.raises(ModelViolation, match=r"\.ServiceSpecificCredentials\[0\]"):
        check_output(ops["ListServiceSpecificCredentials"], {"ServiceSpecificCredentials": [{}]})
    with pytest.raises(ModelViolation, match="IsTruncated"):
        check_output(
            ops["ListServiceSpecificCredentials"],
            {"ServiceSpecificCredentials": [], "IsTruncated": 1},
        )
    with pytest.raises(ModelViolation, match="no output is modeled"):
        check_output(ops["UpdateServiceSpecificCredential"], {"Surprise": 1})
    check_output(ops["UpdateServiceSpecificCredential"], {})


def test_model_knows_every_modeled_error_and_the_common_ones() -> None:
    errors = iam().errors
    assert (errors["NotSupportedService"].status, errors["LimitExceeded"].status) == (404, 409)
    assert errors["ServiceFailure"].type == "Receiver" and errors["ServiceFailure"].retryable
    assert errors["Throttling"].retryable and not errors["LimitExceeded"].retryable
    assert (
        iam().operation("reset_service_specific_credential")
        is iam().operations["ResetServiceSpecificCredential"]
    )
    assert iam().operation("get_user") is None


# --- secrets ---------------------------------------------------------------------------------------


def test_seeded_entropy_is_reproducible_and_unseeded_is_not() -> None:
    assert (
        _secrets.Entropy(1).bytes(8) == _secrets.Entropy(1).bytes(8) != _secrets.Entropy(2).bytes(8)
    )
    assert (
        _secrets.Entropy(b"1").bytes(8)
        != _secrets.Entropy(1).bytes(8)
        != _secrets.Entropy("1").bytes(8)
    )
    assert _secrets.Entropy(None).bytes(16) != _secrets.Entropy(None).bytes(16)


def test_secret_digests_are_salted_and_compare() -> None:
    entropy = _secrets.Entropy(None)
    first, second = _secrets.digest("pw", entropy), _secrets.digest("pw", entropy)
    assert first != second and len(first) == 48
    assert _secrets.matches(first, "pw") and not _secrets.matches(first, "pW")


@pytest.mark.parametrize(
    "account", ["000000000000", "000000000001", "123456789012", "999999999999"]
)
def test_ids_round_trip_the_account(account: str) -> None:
    credential_id = _secrets.credential_id(account, _secrets.Entropy(None))
    assert _secrets.account_of(credential_id) == account and len(credential_id) == 21


# --- ops without a client ------------------------------------------------------------------------


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


# --- wiring --------------------------------------------------------------------------------------


def test_import_sscstub_before_botocore_handlers_still_reaches_new_sessions() -> None:
    script = textwrap.dedent(
        """
        import sys, socket
        socket.socket.connect = socket.getaddrinfo = None
        import sscstub
        assert "botocore.handlers" not in sys.modules, "import sscstub must stay light"
        import botocore.session, botocore.handlers, inspect, importlib
        assert any(e[0] == "before-call.iam" for e in botocore.handlers.BUILTIN_HANDLERS)
        assert inspect.getsource(botocore.handlers)  # the wrapped loader still serves source
        importlib.reload(botocore.handlers)  # a reload drops it; the next start() re-adds it
        with sscstub.mock_ssc():
            pass
        assert sum(e[0] == "before-call.iam" for e in botocore.handlers.BUILTIN_HANDLERS) == 1
        client = botocore.session.get_session().create_client("iam", region_name="us-east-1")
        with sscstub.mock_ssc(users=["jane"]):
            client.create_service_specific_credential(UserName="jane", ServiceName="codecommit.amazonaws.com")
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"},
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_register_builtins_is_idempotent() -> None:
    import botocore.handlers

    before = list(botocore.handlers.BUILTIN_HANDLERS)
    _hooks.register_builtins()
    _hooks.register_builtins()
    assert before == botocore.handlers.BUILTIN_HANDLERS
    assert sum(entry[1] is _hooks.dispatch for entry in before) == 1


def test_remembered_list_members_still_fail_when_anything_changes() -> None:
    """A member dict equal to one that passed is skipped; any change, even an unhashable value,
    goes through the full check."""
    check = functools.partial(check_output, iam().operations["ListServiceSpecificCredentials"])
    good = {
        "UserName": "jane",
        "Status": "Active",
        "ServiceUserName": "jane-at-123456789012",
        "CreateDate": datetime(2026, 1, 1, tzinfo=timezone.utc),
        "ServiceSpecificCredentialId": "ACCA" + "A" * 17,
        "ServiceName": "codecommit.amazonaws.com",
    }
    for _ in range(2):  # the second time from memory
        check({"ServiceSpecificCredentials": [dict(good)], "IsTruncated": False})
    for change, where in [
        ({"Status": "Paused"}, ".Status"),
        ({"UserName": ["jane"]}, ".UserName"),
        ({"CreateDate": datetime(2026, 1, 1)}, ".CreateDate"),
        ({"ServiceSpecificCredentialId": "short"}, ".ServiceSpecificCredentialId"),
    ]:
        with pytest.raises(ModelViolation, match=rf"\[0\]{where}"):
            check({"ServiceSpecificCredentials": [{**good, **change}], "IsTruncated": False})
