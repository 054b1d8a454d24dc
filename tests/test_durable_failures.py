"""Durable state that fails safe: a lock held by another process, a full disk, a file that is not
sscstub's, paths that keep nothing, file modes and fork (real processes, a real os.fork, a real
file-size limit)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import a_call_in_flight, client_for, create_credential, in_child, make_client, raw

import sscstub
from sscstub import SscStubError

CC = "codecommit.amazonaws.com"


def test_a_state_file_locked_by_another_process_gets_503_and_health_is_answered(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.db"
    with sscstub.serve(users=["jane"], state=state) as server:
        iam = client_for(server.url, retries={"total_max_attempts": 1})
        create_credential(iam)
        holder = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(f"""
                import sqlite3, sys, time
                db = sqlite3.connect({str(state)!r}, isolation_level=None)
                db.execute("BEGIN IMMEDIATE")
                print("locked", flush=True)
                time.sleep(4)
                db.execute("ROLLBACK")
            """)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            health: list[float] = []

            def check_health() -> None:
                started = time.monotonic()
                status = raw(server.url, "GET", "/_sscstub/health")[0]
                health.append(time.monotonic() - started if status == 200 else 99)

            started = time.monotonic()
            checker = threading.Thread(target=lambda: [time.sleep(0.2), check_health()])
            checker.start()
            with pytest.raises(iam.exceptions.ClientError) as refused:
                iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
            waited = time.monotonic() - started
            checker.join()
            error = refused.value.response["Error"]
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            assert error["Code"] == "ServiceUnavailable" and "lock" in error["Message"]
            assert 0.5 < waited < 4 and health and health[0] < 0.5
        finally:
            holder.communicate(timeout=10)
        assert [c.error_code for c in server.calls] == [None, "ServiceUnavailable"]
        assert len(server.credentials) == 1  # the refused call changed nothing
        create_credential(iam)  # and with the lock gone, calls go through again
        assert len(server.credentials) == 2


def test_a_write_that_fails_is_logged_as_failed_and_changes_nothing(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the state file's writes fail as a full disk would."""
    script = textwrap.dedent(f"""
        import json, resource, signal
        import boto3, sscstub
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
        iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="a",
                           aws_secret_access_key="b")
        out = []
        with sscstub.mock_ssc(users=["u%d" % i for i in range(400)],
                              state={str(tmp_path / "s.db")!r}) as stub:
            limit = 2 * __import__("os").path.getsize({str(tmp_path / "s.db")!r}) + 65536
            hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
            for i in range(400):
                try:
                    iam.create_service_specific_credential(
                        UserName="u%d" % i, ServiceName="codecommit.amazonaws.com")
                    out.append("ok")
                except iam.exceptions.ClientError as error:
                    out.append([error.response["ResponseMetadata"]["HTTPStatusCode"],
                                error.response["Error"]["Message"]])
                    break
            calls = [c.error_code for c in stub.calls]
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        with sscstub.mock_ssc(state={str(tmp_path / "s.db")!r}) as again:
            stored = len(again.credentials)
        print(json.dumps([out, calls, stored]))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    import json

    out, calls, stored = json.loads(done.stdout)
    status, message = out[-1]
    assert status == 503 and ("full" in message or "disk" in message), message
    assert calls[-1] == "ServiceUnavailable" and calls.count(None) == len(out) - 1
    assert stored == len(out) - 1  # every acknowledged credential, and not the failed one


def test_a_file_that_is_not_sscstubs_is_refused_untouched(tmp_path: Path) -> None:
    other = tmp_path / "other-app.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.commit()
    db.close()
    before = other.read_bytes()
    with pytest.raises(SscStubError, match="not sscstub's state file"):
        sscstub.mock_ssc(state=other)
    done = subprocess.run(
        [sys.executable, "-m", "sscstub", "serve", "--port", "0", "--state", str(other)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "Nothing was changed" in done.stderr
    assert other.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["other-app.db"]
    with contextlib.closing(sqlite3.connect(other)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


@pytest.mark.parametrize("path", ["", ":memory:", "file::memory:?cache=shared"])
def test_paths_that_keep_nothing_are_refused(path: str) -> None:
    with pytest.raises(SscStubError, match="keeps nothing"):
        sscstub.mock_ssc(state=path)


def test_new_state_files_are_private(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with sscstub.mock_ssc(users=["jane"], state=state):
        create_credential(make_client())
        files = [p for p in tmp_path.iterdir() if p.name.startswith("state.db")]
        assert {p.name for p in files} >= {"state.db", "state.db-wal", "state.db-shm"}
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_a_forked_child_uses_its_own_connection(tmp_path: Path) -> None:
    with sscstub.mock_ssc(users=["jane"], state=tmp_path / "s.db") as stub:
        iam = make_client()
        create_credential(iam)
        made = in_child(lambda: create_credential(iam, "jane", "bedrock.amazonaws.com")["UserName"])
        assert made == "jane"  # the child served, with the state, on a connection of its own
        assert len(stub.credentials) == 2  # and committed to the file the parent reads


def test_a_child_forked_while_a_durable_call_is_in_flight_serves_with_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fork waits for the parent's transaction to commit (SQLite keeps one lock table per
    process: a child forked inside it could never write), then the child serves, with the
    parent's credential, on a connection of its own."""
    with sscstub.mock_ssc(users=["jane"], state=tmp_path / "s.db") as stub:
        iam = make_client()
        with a_call_in_flight(monkeypatch, iam) as release:
            threading.Timer(0.5, release.set).start()  # the call ends while the fork waits
            started = time.monotonic()
            made = in_child(
                lambda: [
                    len(iam.list_service_specific_credentials(UserName="jane")[
                        "ServiceSpecificCredentials"
                    ]),
                    create_credential(iam, "jane", "bedrock.amazonaws.com")["UserName"],
                ]
            )  # fmt: skip
        assert made == [1, "jane"] and time.monotonic() - started < 5
        assert len(stub.credentials) == 2  # the parent's, and the child's in the same file


def test_a_durable_server_answers_a_client_that_half_closes(tmp_path: Path) -> None:
    """A durable server answers its test API in a worker thread: the answer still reaches a
    client that shut its sending side down right after sending."""
    import socket

    with (
        sscstub.serve(users=["jane"], state=tmp_path / "s.db") as server,
        socket.create_connection((server.host, server.port), timeout=10) as sock,
    ):
        sock.sendall(b"GET /_sscstub/users HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"users": ["jane"]}')
