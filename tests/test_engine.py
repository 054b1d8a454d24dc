"""The engine: fork safety, calls in flight across stop and start, answers that break the model,
interrupts, and the lock (real boto3 clients, real os.fork)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import a_call_in_flight, create_credential, in_child, make_client

import sscstub
from sscstub import SscStubError, _calls, _engine, _forks, _store

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
        with pytest.raises(AssertionError) as broken:
            create_credential(make_client())
        assert str(broken.value) == (
            "sscstub produced a response that breaks botocore's IAM model at"
            " .ServiceSpecificCredential: not members of ServiceSpecificCredential: ['Bogus']"
        )
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
    assert str(outcome[0]) == (
        "This IAM call began while the stub was active, and the stub was stopped (or restarted)"
        " before the call could be served, so it was refused rather than served from the wrong"
        " state. Stop a stub only after the calls made through it have returned (join threads"
        " first). (see README.md#ways-to-use-it)"
    )


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


# --- the fork hooks, run in this process (a real fork's child is out of a coverage tool's sight)


def test_the_child_side_of_a_fork_renews_locks_ids_and_the_state_files_connection(
    tmp_path: Path,
) -> None:
    with sscstub.mock_ssc(users=["jane"], state=str(tmp_path / "s.db")) as stub:
        iam = make_client()
        made = create_credential(iam, "jane")
        engine = stub._engine
        lock, connection, pooled = engine.lock, engine.durable, list(engine._request_ids)
        _forks._reinit_after_fork()  # what os.fork() runs in the child
        try:
            assert engine.lock is not lock and not engine.lock.locked()
            assert engine.durable is not None and engine.durable is not connection
            assert _forks._inherited[-1] is connection  # kept, never closed nor used
            again = iam.list_service_specific_credentials(UserName="jane")
            assert again["ResponseMetadata"]["RequestId"] not in pooled
            ids = [c["ServiceSpecificCredentialId"] for c in again["ServiceSpecificCredentials"]]
            assert ids == [made["ServiceSpecificCredentialId"]]  # the state, read afresh
        finally:
            assert connection is not None
            _forks._inherited.remove(connection)
            connection.close()


def test_a_fork_holds_each_durable_engines_lock_and_the_parent_lets_go(tmp_path: Path) -> None:
    with sscstub.mock_ssc(users=["jane"], state=str(tmp_path / "s.db")) as stub:
        _forks._before_fork()
        try:
            assert stub._engine.lock.locked()
        finally:
            _forks._after_fork_in_parent()
        assert not stub._engine.lock.locked()
        create_credential(make_client(), "jane")


def test_a_fork_waits_for_a_call_in_flight_at_most_fork_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_forks, "FORK_WAIT", 0.05)
    with sscstub.mock_ssc(users=["jane"], state=str(tmp_path / "s.db")) as stub:
        with a_call_in_flight(monkeypatch, make_client()):
            _forks._before_fork()  # goes ahead after FORK_WAIT: its child answers 503
            assert stub._engine.lock not in _forks._held_for_fork
            assert stub._engine.lock.locked()  # still the call's
        _forks._after_fork_in_parent()


def test_a_servers_log_keeps_values_up_to_the_bound_whole_and_cuts_only_longer_ones() -> None:
    log = _calls.CallLog(10)
    bound = _calls.MAX_LOGGED_VALUE
    log.append(("Op", {"A": "x" * bound, "N": 12}, None, "r1"))
    log.append(("Op", {"A": "x" * (bound + 1), "N": 12, "B": "y" * bound}, None, "r2"))
    log.append(("p" * bound, {}, None, "r3"))
    log.append(("p" * (bound + 5), {}, None, "r4"))
    whole, cut, path, long_path = list(log)
    assert whole[1] == {"A": "x" * bound, "N": 12}
    assert cut[1] == {"A": "x" * bound + "... (1 more characters)", "N": 12, "B": "y" * bound}
    assert path[0] == "p" * bound
    assert long_path[0] == "p" * bound + "... (5 more characters)"


def test_a_stubs_log_keeps_every_value_as_it_was_sent() -> None:
    """Only a server's log is bounded; a test reads its stub's calls whole."""
    long_name = "j" * (_calls.MAX_LOGGED_VALUE + 1)
    with sscstub.mock_ssc(users=["jane"]) as stub, pytest.raises(ClientError):
        make_client(parameter_validation=False).list_service_specific_credentials(
            UserName=long_name
        )
    assert stub.calls[0].params == {"UserName": long_name}


@pytest.mark.parametrize("check", ["authenticate", "authenticate_api_key"])
def test_a_public_check_on_durable_state_waits_for_a_call_in_flight(
    check: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The public checks wait for the engine's lock (an event loop's checks do not: they get
    StateBusy and go to a worker thread)."""
    with sscstub.mock_ssc(users=["jane"], state=str(tmp_path / "s.db")) as stub:
        iam = make_client()
        if check == "authenticate":
            made = create_credential(iam)
            args: tuple[str, ...] = (made["ServiceUserName"], made["ServicePassword"])
        else:
            made = create_credential(iam, service="bedrock.amazonaws.com")
            args = (made["ServiceCredentialSecret"],)
        with a_call_in_flight(monkeypatch, iam) as release:
            threading.Timer(0.2, release.set).start()
            assert getattr(stub, check)(*args) is True


def test_an_iam_call_on_durable_state_waits_for_a_call_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sscstub.mock_ssc(users=["jane"], state=str(tmp_path / "s.db")):
        iam = make_client()
        with a_call_in_flight(monkeypatch, iam) as release:
            threading.Timer(0.2, release.set).start()
            listed = iam.list_service_specific_credentials(UserName="jane")
        assert listed["IsTruncated"] is False


def test_forget_calls_empties_the_log_the_benchmarks_reuse() -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        create_credential(make_client())
        stub._engine.forget_calls()  # (sscstub._benchmarking: a long run keeps no log)
        assert stub.calls == ()
        create_credential(make_client())
        assert len(stub.calls) == 1
