"""The engine: fork safety, calls in flight across stop and start, answers that break the model,
interrupts, and the lock (real boto3 clients, real os.fork)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from conftest import a_call_in_flight, create_credential, in_child, make_client

import sscstub
from sscstub import SscStubError, _engine, _store

CC = "codecommit.amazonaws.com"


def test_forked_children_never_repeat_secrets_or_ids() -> None:
    users = ["jane", "bob", "carol", "dave", "erin"]
    with sscstub.mock_ssc(users=users) as stub:
        iam = make_client()
        create_credential(iam, "jane")  # the parent has drawn from its pool before the fork

        def work() -> list[str]:
            out = []
            for user in users[1:]:
                made = iam.create_service_specific_credential(UserName=user, ServiceName=CC)
                cred = made["ServiceSpecificCredential"]
                out += [cred["ServicePassword"], cred["ServiceSpecificCredentialId"]]
                out.append(made["ResponseMetadata"]["RequestId"])
            return out

        children = [in_child(work) for _ in range(4)]
        mine = work()
        assert len(stub.credentials) == len(users)
    drawn = [value for values in [*children, mine] for value in values]
    assert len(drawn) == 5 * 3 * 4 and len(set(drawn)) == len(drawn)


def test_a_child_forked_while_a_thread_is_inside_a_call_still_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with sscstub.mock_ssc(users=["jane"]):
        iam = make_client()
        with a_call_in_flight(monkeypatch, iam):
            listed = in_child(
                lambda: iam.list_service_specific_credentials(UserName="jane")["IsTruncated"]
            )
    assert listed is False


def test_a_broken_answer_changes_nothing_and_is_not_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        monkeypatch.setattr(_store.Record, "to_credential_shape", lambda *a, **k: {"Bogus": 1})
        with pytest.raises(AssertionError, match="breaks botocore's IAM model"):
            create_credential(make_client())
        assert stub.credentials == () and stub.calls == ()


def test_an_interrupt_after_the_change_leaves_state_and_log_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_add = _store.Store.add

    def add_then_interrupt(self: Any, record: Any) -> None:
        real_add(self, record)
        raise KeyboardInterrupt

    with sscstub.mock_ssc(users=["jane"]) as stub:
        monkeypatch.setattr(_store.Store, "add", add_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            create_credential(make_client())
        assert len(stub.credentials) == 1 and len(stub.calls) == 1


def test_a_call_in_flight_across_stop_and_start_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = sscstub.mock_ssc(users=["jane"])
    entered, release = threading.Event(), threading.Event()
    real_time = time.time

    class SlowClock:
        @staticmethod
        def time() -> float:  # read after the call began, before it takes the lock
            if threading.current_thread().name == "in-flight":
                entered.set()
                release.wait(30)
            return real_time()

    outcome: list[BaseException] = []

    def call() -> None:
        try:
            create_credential(iam)
        except BaseException as error:  # noqa: BLE001  (recorded for the assertion)
            outcome.append(error)

    with stub:
        iam = make_client()
        monkeypatch.setattr(_engine, "time", SlowClock)
        thread = threading.Thread(target=call, name="in-flight")
        thread.start()
        assert entered.wait(10)
    stub.start()
    try:
        release.set()
        thread.join(10)
        assert stub.credentials == () and stub.calls == ()
    finally:
        stub.stop()
    assert len(outcome) == 1 and isinstance(outcome[0], SscStubError), outcome
    assert "stopped" in str(outcome[0])


def test_views_are_built_outside_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        create_credential(make_client())
        lock = stub._engine._lock
        seen: list[bool] = []
        real_view = _store.Record.to_credential
        monkeypatch.setattr(
            _store.Record,
            "to_credential",
            lambda self, *a: seen.append(lock.locked()) or real_view(self, *a),
        )
        real_call = _engine.Call
        monkeypatch.setattr(_engine, "Call", lambda *a: seen.append(lock.locked()) or real_call(*a))
        assert len(stub.credentials) == len(stub.calls) == 1
        assert seen == [False, False]
