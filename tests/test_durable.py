"""``state=`` / ``--state``: the store in SQLite, durable across restarts and kill -9, shared by
processes without exceeding IAM's limit."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import client_for

import sscstub
from sscstub import SscStubError

CC = "codecommit.amazonaws.com"


def start_server(state: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sscstub", "serve", "--port", "0", "--state", str(state), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = process.stdout.readline().split()[-1]  # type: ignore[union-attr]
    for line in process.stdout:  # type: ignore[union-attr]
        if line.startswith("sscstub: ready"):
            break
    return process, url


def test_a_restart_brings_back_every_credential_secret_and_counter(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with sscstub.serve(users=["jane"], state=state) as server:
        iam = client_for(server.url)
        first = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        key = iam.create_service_specific_credential(
            UserName="jane", ServiceName="bedrock.amazonaws.com"
        )
        cid = first["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
        reset = iam.reset_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=cid
        )
        iam.update_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=cid, Status="Inactive"
        )
        before = server.credentials
    with sscstub.serve(state=state) as again:  # no --users: jane comes from the file
        assert again.credentials == before and again.users == {"jane"}
        password = reset["ServiceSpecificCredential"]["ServicePassword"]
        iam = client_for(again.url)
        iam.update_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=cid, Status="Active"
        )
        assert again.authenticate("jane-at-123456789012", password)
        assert not again.authenticate(
            "jane-at-123456789012", first["ServiceSpecificCredential"]["ServicePassword"]
        )
        assert again.authenticate_api_key(
            key["ServiceSpecificCredential"]["ServiceCredentialSecret"]
        )
        second = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        assert second["ServiceSpecificCredential"]["ServiceUserName"] == "jane+1-at-123456789012"
        with pytest.raises(iam.exceptions.LimitExceededException):
            iam.create_service_specific_credential(UserName="jane", ServiceName=CC)


def test_kill_9_loses_no_acknowledged_credential(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    process, url = start_server(state, "--users", ",".join(f"u{i}" for i in range(200)))
    acknowledged: list[str] = []
    iam = client_for(url, retries={"total_max_attempts": 1})

    def stream() -> None:
        for i in range(200):
            try:
                made = iam.create_service_specific_credential(UserName=f"u{i}", ServiceName=CC)
            except Exception:  # noqa: BLE001  (the server was killed mid-stream)
                return
            acknowledged.append(made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"])

    thread = threading.Thread(target=stream)
    thread.start()
    while len(acknowledged) < 40 and thread.is_alive():
        thread.join(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)
    thread.join(30)
    assert len(acknowledged) >= 40
    stored = {c.service_specific_credential_id for c in sscstub.mock_ssc(state=state).credentials}
    assert set(acknowledged) <= stored and len(stored) - len(acknowledged) <= 1  # one in flight


def test_two_processes_on_one_file_never_exceed_the_limit(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    servers = [start_server(state, "--users", "jane") for _ in range(2)]
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def create(url: str) -> None:
        iam = client_for(url, retries={"total_max_attempts": 1})
        barrier.wait()
        for _ in range(3):
            try:
                iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
                outcomes.append("created")
            except iam.exceptions.LimitExceededException:
                outcomes.append("limit")

    try:
        threads = [threading.Thread(target=create, args=(servers[i % 2][1],)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for process, _ in servers:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=20)
            assert process.returncode == 0
    assert sorted(outcomes) == ["created"] * 2 + ["limit"] * 22
    logins = sorted(c.service_user_name or "" for c in sscstub.mock_ssc(state=state).credentials)
    assert logins == ["jane+1-at-123456789012", "jane-at-123456789012"]


def test_an_unknown_schema_version_is_refused_and_the_file_left_alone(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with sscstub.mock_ssc(users=["jane"], state=state) as stub:
        stub.add_user("bob")
    with contextlib.closing(sqlite3.connect(state)) as db:  # (its own `with` does not close)
        db.execute("PRAGMA user_version = 99")
        db.commit()
    with pytest.raises(SscStubError, match="schema version 99"):
        sscstub.mock_ssc(state=state)
    with contextlib.closing(sqlite3.connect(state)) as db:
        assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 2
    sscstub.mock_ssc(state=tmp_path / "other.db", account_id="111122223333").add_user("x")
    with pytest.raises(SscStubError, match="holds account 111122223333"):
        sscstub.mock_ssc(state=tmp_path / "other.db")


@pytest.mark.parametrize("bad", [42, ["x.db"]])
def test_state_must_be_a_path(bad: Any) -> None:
    with pytest.raises(SscStubError, match="is not a path"):
        sscstub.mock_ssc(state=bad)


def test_in_process_stubs_share_a_state_file_across_activations(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    from conftest import make_client

    with sscstub.mock_ssc(users=["jane"], state=state) as first:
        make_client().create_service_specific_credential(UserName="jane", ServiceName=CC)
    assert len(first.credentials) == 1  # stopped: read on a connection of its own
    with sscstub.mock_ssc(state=state) as again:
        assert len(again.credentials) == 1 and again.calls == ()
        again.reset()  # forgets the file's state too
    assert sscstub.mock_ssc(state=state).credentials == ()


def test_a_seed_makes_durable_state_reproducible_too(tmp_path: Path) -> None:
    from conftest import make_client

    made = []
    for name in ("a.db", "b.db"):
        with sscstub.mock_ssc(users=["jane"], state=tmp_path / name, seed=7):
            made.append(
                make_client().create_service_specific_credential(UserName="jane", ServiceName=CC)
            )
    assert made[0]["ServiceSpecificCredential"] == made[1]["ServiceSpecificCredential"]


def test_a_stopped_durable_servers_test_api_says_so(tmp_path: Path) -> None:
    server = sscstub.serve(users=["jane"], state=tmp_path / "s.db")
    assert client_for(server.url).list_service_specific_credentials(UserName="jane")  # started
    server.stop()
    for read in (lambda: server.credentials, lambda: server.users, server.snapshot):
        with pytest.raises(SscStubError, match="was stopped"):
            read()
    with sscstub.serve(users=["jane"]) as memory:
        pass
    assert memory.users == {"jane"}  # in memory, the state stays readable


def test_a_durable_server_injects_errors_as_one_in_memory_does(tmp_path: Path) -> None:
    with sscstub.serve(users=["jane"], state=tmp_path / "s.db") as server:
        server.inject_error("list_service_specific_credentials", "NoSuchEntity")
        iam = client_for(server.url)
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.list_service_specific_credentials(UserName="jane")
        assert iam.list_service_specific_credentials(UserName="jane")["IsTruncated"] is False


def test_a_delete_and_a_user_removed_are_gone_from_the_file_too(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    from conftest import make_client

    with sscstub.mock_ssc(users=["jane", "bob"], state=state) as stub:
        iam = make_client()
        kept, gone = (
            iam.create_service_specific_credential(UserName="jane", ServiceName=CC)[
                "ServiceSpecificCredential"
            ]["ServiceSpecificCredentialId"]
            for _ in range(2)
        )
        iam.delete_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=gone)
        stub.remove_user("bob")
    with sscstub.mock_ssc(state=state) as again:
        assert [c.service_specific_credential_id for c in again.credentials] == [kept]
        assert again.users == frozenset({"jane"})


@pytest.mark.parametrize("durable", [False, True])
def test_snapshot_and_restore(tmp_path: Path, durable: bool) -> None:
    from conftest import make_client

    state = tmp_path / "state.db" if durable else None
    with sscstub.mock_ssc(users=["jane"], state=state) as stub:
        iam = make_client()
        made = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        password = made["ServiceSpecificCredential"]["ServicePassword"]
        stub.add_user("bob")
        snap = stub.snapshot()
        assert repr(snap) == "<sscstub.Snapshot 2 users, 1 credentials>"
        assert password not in repr(snap)
        iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        iam.reset_service_specific_credential(
            UserName="jane",
            ServiceSpecificCredentialId=made["ServiceSpecificCredential"][
                "ServiceSpecificCredentialId"
            ],
        )
        stub.remove_user("bob")
        calls = len(stub.calls)
        stub.restore(snap)
        assert stub.users == {"jane", "bob"} and len(stub.credentials) == 1
        assert stub.authenticate("jane-at-123456789012", password)  # the digest came back
        assert len(stub.calls) == calls  # not the call log
        again = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        assert again["ServiceSpecificCredential"]["ServiceUserName"] == "jane+1-at-123456789012"
    with pytest.raises(SscStubError, match="not a snapshot of account"):
        sscstub.mock_ssc(account_id="111122223333").restore(snap)


def test_an_in_process_durable_stub_closes_its_connection(tmp_path: Path) -> None:
    """No unclosed SQLite connection is left for the collector (Python 3.13 warns about one,
    which fails a suite that turns warnings into errors)."""
    code = f"""
import gc, warnings
warnings.simplefilter("error")
import boto3, sscstub
stub = sscstub.mock_ssc(users=["jane"], state={str(tmp_path / "s.db")!r})
with stub:
    iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="a",
                       aws_secret_access_key="b")
    iam.create_service_specific_credential(UserName="jane", ServiceName="{CC}")
assert len(stub.credentials) == 1  # read after stop, on a connection of its own
del stub
gc.collect()
"""
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "ResourceWarning" not in done.stderr, done.stderr
