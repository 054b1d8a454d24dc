"""The second adversary's findings on the endpoint's own routes (issue #25), each against a real
``sscstub serve`` process with the attack on the wire; each failed on 68ed84b."""

from __future__ import annotations

import base64
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import client_for
from served import Process, exchange, locked_while, serve_process, within

CC = "codecommit.amazonaws.com"
GIT = shutil.which("git") is not None


def post_json(server: Process, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body = json.dumps(payload).encode()
    answer = exchange(
        server.address,
        b"POST %b HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%b" % (path.encode(), len(body), body),
    )
    head, _, data = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(data or b"{}")


def git_credential(server: Process) -> tuple[str, str, str]:
    """A CodeCommit credential of jane's on the server, and its Basic header."""
    made = client_for(server.url).create_service_specific_credential(
        UserName="jane", ServiceName=CC
    )
    cred = made["ServiceSpecificCredential"]
    pair = f"{cred['ServiceUserName']}:{cred['ServicePassword']}".encode()
    return (
        cred["ServiceUserName"],
        cred["ServicePassword"],
        "Basic " + base64.b64encode(pair).decode(),
    )


def test_connection_close_with_bytes_after_it_never_freezes_the_server(tmp_path: Path) -> None:
    """Answered in a worker thread (the test API under --state), 80 times, with stderr a pipe
    nobody reads: the server goes on answering."""
    with serve_process("--users", "jane", "--state", str(tmp_path / "s.db")) as server:
        body = b'{"name": "u1"}'
        request = (
            b"POST /_sscstub/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%bGET / HTTP/1.1\r\n\r\n"
            % (len(body), body)
        )
        for _ in range(80):
            assert exchange(server.address, request).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        assert exchange(
            server.address,
            b"GET /_sscstub/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        ).startswith(b"HTTP/1.1 200 ")
        assert time.monotonic() - started < 2


def push_head(server: Any) -> tuple[bytes, str]:
    """A repository ``demo`` on ``server``, and the head of a push to it by jane (a Basic
    CodeCommit password), announcing a 100,000-byte body; and its Authorization."""
    assert post_json(server, "/_sscstub/repos", {"name": "demo"})[0] == 200
    _, _, auth = git_credential(server)
    head = (
        b"POST /v1/repos/demo/git-receive-pack HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: %b\r\nContent-Type: application/x-git-receive-pack-request\r\n"
        b"Content-Length: 100000\r\n\r\n" % auth.encode()
    )
    return head, auth


@pytest.mark.skipif(not GIT, reason="git is needed (apt-get install git)")
def test_a_push_cut_off_leaves_no_git_running_and_sigterm_still_stops_the_server() -> None:
    with serve_process("--users", "jane", "--idle-timeout", "2") as server:
        head, _ = push_head(server)
        # a pkt-line announcing 65,520 bytes, then 1,000 of them: git waits for the rest
        part = b"fff0" + b"x" * 996
        cut = server.connect()
        cut.sendall(head + part)
        within(5, lambda: server.children("git-http-backend"), "git http-backend never started")
        cut.close()  # the push breaks off
        within(
            3, lambda: not server.children("git-http-backend"), "git runs on after the client left"
        )
        stalled = server.connect()  # another, stalled (not closed) while the server is stopped
        stalled.sendall(head + part)
        within(5, lambda: server.children("git-http-backend"))
        running = server.children("git-http-backend")
        server.process.terminate()
        server.process.wait(5)
        stalled.close()
        within(
            3,
            lambda: not any(Path(f"/proc/{pid}/comm").exists() for pid in running),
            "git outlived the server",
        )


@pytest.mark.skipif(not GIT, reason="git is needed (apt-get install git)")
def test_slow_pushes_starve_nobody_and_are_cut_off() -> None:
    with serve_process("--users", "jane", "--idle-timeout", "2") as server:
        head, auth = push_head(server)
        slow = [server.connect(timeout=15) for _ in range(16)]
        for sock in slow:
            sock.sendall(head)
        started = time.monotonic()
        ended = [False] * 16

        def trickle(index: int) -> None:
            sock = slow[index]
            while time.monotonic() - started < 12:
                try:
                    sock.sendall(b"0")
                    time.sleep(0.5)
                except OSError:
                    break
            ended[index] = True

        threads = [threading.Thread(target=trickle, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        clone = (
            b"GET /v1/repos/demo/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        )
        for extra in (b"Authorization: " + auth.encode() + b"\r\n", b""):  # served, and challenged
            asked = time.monotonic()
            answer = exchange(server.address, clone + extra + b"Connection: close\r\n\r\n")
            assert answer.split(b"\r\n", 1)[0] in (b"HTTP/1.1 200 OK", b"HTTP/1.1 401 Unauthorized")
            assert time.monotonic() - asked < 2
        for thread in threads:
            thread.join(15)
        assert all(ended) and time.monotonic() - started < 12, "a trickling push was kept"
        for sock in slow:
            sock.close()


def test_repositories_are_listed_after_a_restart(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    with serve_process("--users", "jane", "--state", state) as server:
        assert post_json(server, "/_sscstub/repos", {"name": "demo"})[0] in (200, 400)
        if not GIT:
            pytest.skip("git is needed to make repositories (apt-get install git)")
    with serve_process("--users", "jane", "--state", state) as again:
        answer = exchange(
            again.address,
            b"GET /_sscstub/repos HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"repos": ["demo"]}


@pytest.mark.skipif(not GIT, reason="git is needed (apt-get install git)")
def test_a_state_file_that_cannot_be_read_is_503_on_git_and_bearer_calls(tmp_path: Path) -> None:
    """In WAL mode another process's lock never blocks a read, so the server is started with
    its reads failing as a locked or broken file fails them (SQLite's OperationalError), once a
    flag file exists: what git and Bedrock calls answer then is the point."""
    state, flag = tmp_path / "s.db", tmp_path / "locked"
    launcher = locked_while(flag)
    with serve_process("--users", "jane", "--state", str(state), launcher=launcher) as server:
        assert post_json(server, "/_sscstub/repos", {"name": "demo"})[0] == 200
        _, _, auth = git_credential(server)
        flag.touch()
        clone = (b"GET /v1/repos/demo/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Authorization: %b\r\nConnection: close\r\n\r\n" % auth.encode())  # fmt: skip
        answer = exchange(server.address, clone)
        assert answer.startswith(b"HTTP/1.1 503 ") and b"is locked" in answer
        key = b"ABSK" + base64.b64encode(b"jane-at-123456789012:x")
        bearer = (b"POST /model/m/converse HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %b"
                  b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}" % key)  # fmt: skip
        assert exchange(server.address, bearer).startswith(b"HTTP/1.1 503 ")
        flag.unlink()
        assert exchange(server.address, clone).startswith(b"HTTP/1.1 200 ")


@pytest.mark.skipif(not GIT, reason="git is needed (apt-get install git)")
def test_two_servers_making_the_same_repositories_never_fail(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    with (
        serve_process("--users", "jane", "--state", state) as one,
        serve_process("--users", "jane", "--state", state) as two,
    ):
        statuses: list[int] = []

        def make(server: Process, name: str) -> None:
            statuses.append(post_json(server, "/_sscstub/repos", {"name": name})[0])

        threads = [
            threading.Thread(target=make, args=(s, f"r{i}")) for i in range(12) for s in (one, two)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert statuses == [200] * 24


def test_long_paths_are_cut_in_the_calls_log() -> None:
    with serve_process("--users", "jane") as server:
        key = b"ABSK" + base64.b64encode(b"jane-at-123456789012:" + b"x" * 60)
        target = b"/" + b"p" * 60_000
        answer = exchange(
            server.address,
            b"GET %b HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %b\r\nConnection: close\r\n\r\n"
            % (target, key),
        )
        assert answer.startswith(b"HTTP/1.1 403 ")
        calls = exchange(
            server.address,
            b"GET /_sscstub/calls HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        (logged,) = json.loads(calls.partition(b"\r\n\r\n")[2])["calls"]
        assert len(logged["operation"]) < 4200


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_same_site_page_cannot_create_a_credential(method: str) -> None:
    query = (
        b"Action=CreateServiceSpecificCredential&UserName=jane&ServiceName=codecommit.amazonaws.com"
    )
    with serve_process("--users", "jane") as server:
        if method == "GET":  # an <img> on a page at localhost:3000
            request = (
                b"GET /?%b HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-Fetch-Site: same-site\r\nConnection: close\r\n\r\n"
                % query
            )
        else:
            request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-Fetch-Site: same-site\r\n"
                       b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
                       b"Connection: close\r\n\r\n%b" % (len(query), query))  # fmt: skip
        assert exchange(server.address, request).startswith(b"HTTP/1.1 403 ")
        listed = client_for(server.url).list_service_specific_credentials(UserName="jane")
        assert listed["ServiceSpecificCredentials"] == []


@pytest.mark.skipif(not GIT, reason="git is needed (apt-get install git)")
def test_401_is_unauthorized_and_git_calls_are_labelled_from_the_parsed_query() -> None:
    with serve_process("--users", "jane") as server:
        assert post_json(server, "/_sscstub/repos", {"name": "demo"})[0] == 200
        refs = b"GET /v1/repos/demo/info/refs?service=git-upload-pack&from=git-receive-pack HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        assert exchange(server.address, refs + b"Connection: close\r\n\r\n").startswith(
            b"HTTP/1.1 401 Unauthorized\r\n"
        )
        _, _, auth = git_credential(server)
        answer = exchange(
            server.address, refs + b"Authorization: %b\r\nConnection: close\r\n\r\n" % auth.encode()
        )
        assert answer.startswith(b"HTTP/1.1 200 ")
        calls = exchange(
            server.address,
            b"GET /_sscstub/calls HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        operations = [c["operation"] for c in json.loads(calls.partition(b"\r\n\r\n")[2])["calls"]]
        assert operations[-1] == "codecommit:GitPull"
