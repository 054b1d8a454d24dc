"""Concurrent, careless and hostile use: threads, activation leaks, and secrets."""

from __future__ import annotations

import base64
import gc
import logging
import random
import sys
import threading
import time
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import handler_snapshot, make_client

import sscstub
from sscstub import _hooks, _secrets

CC, BEDROCK = "codecommit.amazonaws.com", "bedrock.amazonaws.com"
THREADS, CALLS = 8, 500


# --- threads ------------------------------------------------------------------------------------


def _worker(
    client: Any, seed: int, known: list[str], start: threading.Barrier
) -> list[dict[str, Any]]:
    """CALLS random calls on two shared users; returns what this thread saw, in its order."""
    rnd = random.Random(seed)
    seen = []
    start.wait()
    for _ in range(CALLS):
        op = rnd.choice(["create", "create", "reset", "update", "delete", "list"])
        user = rnd.choice(["jane", "bob"])
        cid = rnd.choice(known) if known else "ACCA" + "X" * 17
        params: dict[str, Any] = {"UserName": user}
        if op == "create":
            params["ServiceName"] = rnd.choice([CC, BEDROCK])
        elif op != "list":
            params["ServiceSpecificCredentialId"] = cid
        if op == "update":
            params["Status"] = rnd.choice(["Active", "Inactive"])
        method = (
            "list_service_specific_credentials"
            if op == "list"
            else f"{op}_service_specific_credential"
        )
        try:
            response = getattr(client, method)(**params)
            code = None
        except ClientError as exc:
            response, code = exc.response, exc.response["Error"]["Code"]
        record = {
            "op": op,
            "params": params,
            "code": code,
            "request_id": response["ResponseMetadata"]["RequestId"],
        }
        if op == "create" and code is None:
            record["id"] = response["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
            known.append(record["id"])
        if op == "list":
            record["listed"] = [
                m["ServiceSpecificCredentialId"] for m in response["ServiceSpecificCredentials"]
            ]
        seen.append(record)
    return seen


def _replay(
    log: tuple[sscstub.Call, ...] | Any, by_request: dict[str, dict[str, Any]]
) -> dict[str, tuple[str, str]]:
    """Walk the call log in order through a minimal model of IAM; every outcome must agree."""
    creds: dict[str, tuple[str, str]] = {}  # id -> (user, service)
    for call in log:
        seen = by_request[call.request_id]
        user, cid = seen["params"]["UserName"], seen["params"].get("ServiceSpecificCredentialId")
        if seen["op"] == "create":
            pair = (user, seen["params"]["ServiceName"])
            full = sum(1 for c in creds.values() if c == pair) >= 2
            assert call.error_code == ("LimitExceeded" if full else None)
            if not full:
                assert seen["id"] not in creds
                creds[seen["id"]] = pair
        elif seen["op"] == "list":
            assert seen["listed"] == [i for i, (u, _) in creds.items() if u == user]
        else:
            owned = cid in creds and creds[cid][0] == user
            # another user's credential is IAM's ValidationError; an id nobody has, NoSuchEntity
            expected = None if owned else "ValidationError" if cid in creds else "NoSuchEntity"
            assert call.error_code == expected
            if owned and seen["op"] == "delete":
                del creds[cid]
    return creds


@pytest.mark.parametrize("wire", [False, True], ids=["before-call", "wire"])
@pytest.mark.parametrize("shared", [True, False], ids=["one-shared-client", "client-per-thread"])
def test_threads_lose_nothing_and_calls_are_one_consistent_order(shared: bool, wire: bool) -> None:
    clients = [make_client()] * THREADS if shared else [make_client() for _ in range(THREADS)]
    known: list[str] = []
    start = threading.Barrier(THREADS + 1)
    snapshots: list[tuple[sscstub.Call, ...]] = []
    with (
        sscstub.mock_ssc(users=["jane", "bob"], wire=wire) as stub,
        ThreadPoolExecutor(THREADS + 1) as pool,
    ):
        futures = [pool.submit(_worker, clients[i], i, known, start) for i in range(THREADS)]

        def read_while_they_write() -> None:
            start.wait()
            while not all(f.done() for f in futures):
                time.sleep(0.002)
                snapshots.append(stub.calls)
                stub.credentials  # noqa: B018  (reading must be safe while others write)

        reader = pool.submit(read_while_they_write)
        per_thread = [f.result() for f in futures]
        reader.result()
    log = stub.calls
    assert len(log) == THREADS * CALLS
    by_request = {seen["request_id"]: seen for mine in per_thread for seen in mine}
    assert len(by_request) == THREADS * CALLS  # request ids are unique
    assert [c.request_id for c in log if c.request_id in by_request] == [c.request_id for c in log]
    position = {call.request_id: i for i, call in enumerate(log)}
    for mine in per_thread:  # each thread's calls appear in the order it made them
        order = [position[seen["request_id"]] for seen in mine]
        assert order == sorted(order)
        assert all(log[position[s["request_id"]]].error_code == s["code"] for s in mine)
    assert snapshots and all(snap == log[: len(snap)] for snap in snapshots)
    final = _replay(log, by_request)
    assert {c.service_specific_credential_id for c in stub.credentials} == set(final)
    created = [s["id"] for mine in per_thread for s in mine if "id" in s]
    assert len(created) == len(set(created))  # ids are unique
    per_pair = Counter((c.user_name, c.service_name) for c in stub.credentials)
    assert max(per_pair.values()) <= 2
    outcomes = Counter(c.error_code for c in log)
    assert (
        outcomes[None] > THREADS * CALLS // 8 and outcomes["LimitExceeded"] > 0
    )  # real contention


@pytest.mark.parametrize("wire", [False, True], ids=["before-call", "wire"])
def test_eight_threads_racing_to_create_get_exactly_two_credentials(wire: bool) -> None:
    clients = [make_client() for _ in range(THREADS)]
    for _ in range(25):
        with (
            sscstub.mock_ssc(users=["jane"], wire=wire) as stub,
            ThreadPoolExecutor(THREADS) as pool,
        ):
            start = threading.Barrier(THREADS)

            def create(client: Any, start: threading.Barrier = start) -> str:
                start.wait()
                try:
                    client.create_service_specific_credential(UserName="jane", ServiceName=CC)
                    return "created"
                except client.exceptions.LimitExceededException:
                    return "LimitExceeded"

            outcomes = sorted(pool.map(create, clients))
        assert outcomes == ["LimitExceeded"] * 6 + ["created"] * 2
        assert [c.error_code for c in stub.calls] == [None, None] + ["LimitExceeded"] * 6
        assert sorted(c.service_user_name or "" for c in stub.credentials) == [
            "jane+1-at-123456789012",
            "jane-at-123456789012",
        ]


# --- no leaks -----------------------------------------------------------------------------------

CYCLES = 10_000


def _cycle(i: int, stub: sscstub.SSCStub, client: Any) -> None:
    """One of four ways in and out: plain, body raising, decorator raising, attached emitters."""
    kind = i % 4
    try:
        if kind == 0:
            with sscstub.mock_ssc(users=["jane"], seed=1) as fresh:
                if i % 100 == 0:
                    client.create_service_specific_credential(UserName="jane", ServiceName=CC)
                    assert len(fresh.credentials) == 1
        elif kind == 1:
            with sscstub.mock_ssc():
                raise KeyError(i)
        elif kind == 2:
            sscstub.mock_ssc()(_raises)()
        else:
            with stub:
                if i % 100 == 3:
                    client.create_service_specific_credential(UserName="jane", ServiceName=CC)
                    assert len(stub.credentials) == 1  # fresh at every activation
    except (KeyError, ValueError):
        pass


def _raises() -> None:
    raise ValueError("the body failed")


def test_ten_thousand_activations_leave_handlers_and_memory_as_they_were() -> None:
    client = make_client()
    session = boto3.session.Session()
    # Seeded, so every activation makes the same ids: sscstub's bounded caches of values already
    # checked (<= 4096 entries) stay the same size, and any growth left is a leak.
    stub = sscstub.mock_ssc(users=["jane"], seed=2)
    stub.attach(client)
    stub.attach(session)
    from botocore import handlers

    def state() -> Any:
        return (
            handler_snapshot(client.meta.events),
            handler_snapshot(session.events),
            list(handlers.BUILTIN_HANDLERS),
        )

    before = state()
    for i in range(400):  # warm caches and first-use allocations
        _cycle(i, stub, client)
    # CPython's type-attribute cache (4,096 entries) keeps the method-name strings botocore builds
    # on every call, and grows with them up to its bound: it is emptied around both readings, so
    # what is measured is what sscstub (or anything else) keeps, not that cache.
    gc.collect()
    sys._clear_type_cache()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for i in range(CYCLES):
            _cycle(i, stub, client)
        gc.collect()
        sys._clear_type_cache()
        grown = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert state() == before
    assert _hooks.active() is None
    assert grown < 32 * 1024, f"{grown} bytes kept after {CYCLES} activations"


def test_attached_emitters_are_released_with_the_client() -> None:
    stub = sscstub.mock_ssc()
    client = make_client()
    stub.attach(client)
    with stub:
        pass
    del client
    gc.collect()
    with stub:  # the dead reference is skipped, not resurrected
        assert stub.active


# --- secrets ------------------------------------------------------------------------------------


def _reachable_text(root: object) -> list[str | bytes | bytearray]:
    """Every str, bytes and bytearray reachable from ``root`` (stops at modules, classes and functions)."""
    seen, stack, found = set(), [root], []
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, type(gc), type(_cycle))):
            continue
        seen.add(id(obj))
        if isinstance(obj, (str, bytes, bytearray)):
            found.append(obj)
            continue
        stack.extend(gc.get_referents(obj))
    return found


@pytest.fixture
def botocore_debug_log() -> Iterator[None]:
    """botocore's DEBUG stream logging on for one test, as in a verbose CI run, then undone."""
    logger = logging.getLogger("botocore")
    level, handlers = logger.level, list(logger.handlers)
    boto3.set_stream_logger("botocore", logging.DEBUG)
    try:
        yield
    finally:
        logger.setLevel(level)
        logger.handlers[:] = handlers


def test_secrets_live_only_in_responses(
    caplog: pytest.LogCaptureFixture, botocore_debug_log: None
) -> None:
    caplog.set_level(logging.DEBUG)
    issued: list[str] = []
    with warnings.catch_warnings(record=True) as warned, sscstub.mock_ssc(users=["jane"]) as stub:
        warnings.simplefilter("always")
        iam = make_client()
        for service in (CC, BEDROCK):
            made = iam.create_service_specific_credential(UserName="jane", ServiceName=service)
            cred = made["ServiceSpecificCredential"]
            issued.append(cred.get("ServicePassword") or cred["ServiceCredentialSecret"])
            reset = iam.reset_service_specific_credential(
                UserName="jane", ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"]
            )["ServiceSpecificCredential"]
            issued.append(reset.get("ServicePassword") or reset["ServiceCredentialSecret"])
        iam.list_service_specific_credentials(UserName="jane")
        failures = []
        for call, params in [
            ("create_service_specific_credential", {"UserName": "ghost", "ServiceName": CC}),
            ("reset_service_specific_credential", {"ServiceSpecificCredentialId": "A" * 20}),
            (
                "update_service_specific_credential",
                {"ServiceSpecificCredentialId": "A" * 20, "Status": "Expired"},
            ),
        ]:
            with pytest.raises(ClientError) as failed:
                getattr(iam, call)(**params)
            failures += [str(failed.value), repr(failed.value.response)]
        assert stub.authenticate("jane-at-123456789012", issued[1])
        assert stub.authenticate_api_key(issued[3])
        assert not stub.authenticate_api_key(issued[2])
    inner = [
        _secrets.read_api_key(key) and key[4:] for key in issued[2:]
    ]  # base64 inside ABSK keys
    shown = [
        repr(stub),
        str(stub),
        repr(stub.calls),
        repr(stub.credentials),
        repr(stub._engine._state.store.records()),
        *failures,
        *(r.getMessage() for r in caplog.records),
        *(str(w.message) for w in warned),
    ]
    assert caplog.records, "botocore logged nothing: the check would prove nothing"
    assert not any(s in text for s in [*issued, *filter(None, inner)] for text in shown)
    stored = _reachable_text(stub)
    # A password is base64 of random bytes, and so is a key's inner secret: those bytes must not
    # stay behind either (for instance in a pool of random bytes).
    inner_secrets = [
        base64.b64decode(k[4:]).split(b":")[1] if k.startswith("ABSK") else k.encode()
        for k in issued
    ]
    raw = [base64.b64decode(s) for s in inner_secrets]
    texts = [t for t in stored if isinstance(t, str)]
    blobs = [t for t in stored if not isinstance(t, str)]
    assert texts and not any(s in t for s in issued for t in texts)
    assert blobs and not any(n in b for n in [*raw, *inner_secrets] for b in blobs)
    assert all(len(r.secret) == 48 for r in stub._engine._state.store.records())  # salt + digest
    remembered = _remembered_values()  # the checks' caches of values already proven valid
    assert remembered and not any(s in remembered for s in issued)


def _remembered_values() -> set[object]:
    """Everything the compiled checks remember, from their namespaces and closures."""
    from sscstub._model import iam

    found: set[object] = set()
    for spec in iam().operations.values():
        for function in (spec.read, spec.find_problem):
            for value in function.__globals__.values():
                cells = [c.cell_contents for c in getattr(value, "__closure__", None) or ()]
                for item in [value, *cells]:
                    if isinstance(item, (set, frozenset)):
                        found |= item
    return found


def test_secrets_come_from_the_secrets_module_and_compare_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[int] = []
    compared: list[int] = []
    real_token_bytes, real_compare = _secrets.secrets.token_bytes, _secrets.hmac.compare_digest
    monkeypatch.setattr(
        _secrets.secrets, "token_bytes", lambda n: drawn.append(n) or real_token_bytes(n)
    )
    monkeypatch.setattr(
        _secrets.hmac, "compare_digest", lambda a, b: compared.append(1) or real_compare(a, b)
    )
    monkeypatch.setattr(random, "getrandbits", pytest.fail)  # `random` is never used
    monkeypatch.setattr(random, "random", pytest.fail)
    with sscstub.mock_ssc(users=["jane"]) as stub:
        made = make_client().create_service_specific_credential(UserName="jane", ServiceName=CC)
        assert stub.authenticate(
            "jane-at-123456789012", made["ServiceSpecificCredential"]["ServicePassword"]
        )
    assert drawn and compared
    salted = [_secrets.digest("same secret", _secrets.Entropy(None)) for _ in range(2)]
    assert salted[0] != salted[1] and all(_secrets.matches(d, "same secret") for d in salted)
