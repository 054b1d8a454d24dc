"""CodeCommit's HTTPS git credentials where they are used: the real ``git`` binary clones,
pushes and fetches ``/v1/repos/<name>`` on the endpoint (git http-backend behind Basic auth),
with the current password only."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from conftest import client_for, raw

import sscstub
from sscstub._git import http_backend

if shutil.which("git") is None or http_backend() is None:
    pytest.skip(
        "git and git http-backend are needed (apt-get install git)", allow_module_level=True
    )

CC = "codecommit.amazonaws.com"


class Git:
    """The real git, with a clean environment (no user config, never a prompt)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "a",
            "GIT_AUTHOR_EMAIL": "a@example.com",
            "GIT_COMMITTER_NAME": "a",
            "GIT_COMMITTER_EMAIL": "a@example.com",
        }

    def __call__(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args],
            cwd=cwd or self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )


def repo_url(server_url: str, user: str, password: str, name: str = "demo") -> str:
    return (
        f"http://{quote(user, safe='')}:{quote(password, safe='')}@{server_url[7:]}/v1/repos/{name}"
    )


@pytest.fixture
def git(tmp_path: Path) -> Git:
    return Git(tmp_path)


@pytest.fixture
def server() -> Iterator[sscstub.Server]:
    with sscstub.serve(users=["jane", "bob"]) as running:
        running.add_repo("demo")
        yield running


def credential(where: sscstub.Server | str, user: str = "jane") -> dict[str, Any]:
    """A new CodeCommit credential of ``user`` on the endpoint (a server, or its URL)."""
    url = where if isinstance(where, str) else where.url
    made = client_for(url).create_service_specific_credential(UserName=user, ServiceName=CC)
    return made["ServiceSpecificCredential"]  # type: ignore[no-any-return]


def commit(git: Git, where: Path, message: str) -> None:
    (where / f"{message}.txt").write_text(message)
    assert git("add", ".", cwd=where).returncode == 0
    assert git("commit", "-q", "-m", message, cwd=where).returncode == 0


def test_clone_push_and_fetch_with_the_current_password(
    server: sscstub.Server, git: Git, tmp_path: Path
) -> None:
    cred = credential(server)
    url = repo_url(server.url, cred["ServiceUserName"], cred["ServicePassword"])
    assert git("clone", "-q", url, "one").returncode == 0
    commit(git, tmp_path / "one", "first")
    pushed = git("push", "-q", "origin", "HEAD:main", cwd=tmp_path / "one")
    assert pushed.returncode == 0, pushed.stderr
    assert git("clone", "-q", url, "two").returncode == 0
    assert (tmp_path / "two" / "first.txt").read_text() == "first"
    commit(git, tmp_path / "one", "second")
    assert git("push", "-q", "origin", "HEAD:main", cwd=tmp_path / "one").returncode == 0
    assert git("pull", "-q", "--ff-only", cwd=tmp_path / "two").returncode == 0
    assert (tmp_path / "two" / "second.txt").exists()
    operations = {c.operation for c in server.calls}
    assert {"codecommit:GitPull", "codecommit:GitPush"} <= operations
    assert all(cred["ServicePassword"] not in str(c.params) for c in server.calls)


REFUSED = "The requested URL returned error: 403"  # what git prints for CodeCommit's 403


@pytest.mark.parametrize("rotation", ["reset", "inactive", "deleted"])
def test_a_password_that_is_no_longer_current_is_refused(
    server: sscstub.Server, git: Git, tmp_path: Path, rotation: str
) -> None:
    cred = credential(server)
    url = repo_url(server.url, cred["ServiceUserName"], cred["ServicePassword"])
    assert git("clone", "-q", url, "before").returncode == 0
    commit(git, tmp_path / "before", "after-rotation")
    iam, ids = client_for(server.url), {"UserName": "jane"}
    ids["ServiceSpecificCredentialId"] = cred["ServiceSpecificCredentialId"]
    if rotation == "reset":
        iam.reset_service_specific_credential(**ids)
    elif rotation == "inactive":
        iam.update_service_specific_credential(**ids, Status="Inactive")
    else:
        iam.delete_service_specific_credential(**ids)
    refused = git("clone", "-q", url, "after")
    assert refused.returncode == 128
    assert REFUSED in refused.stderr and "Authentication failed" not in refused.stderr
    assert server.calls[-1].error_code == "AuthenticationFailed"
    pushed = git("push", "-q", "origin", "HEAD:main", cwd=tmp_path / "before")
    assert pushed.returncode == 128 and REFUSED in pushed.stderr
    assert (server.calls[-1].operation, server.calls[-1].error_code) == (
        "codecommit:GitPush",
        "AuthenticationFailed",
    )


def test_git_prompts_for_credentials_and_stops_at_a_refused_password(
    server: sscstub.Server, git: Git, tmp_path: Path
) -> None:
    """A URL without credentials is challenged (401), so git asks for them (here through
    GIT_ASKPASS, as a terminal prompt would); a refused password is a 403, not asked again."""
    cred = credential(server)
    answers = tmp_path / "answers"
    answers.write_text(f"{cred['ServiceUserName']}\n{cred['ServicePassword']}\n")
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(
        '#!/bin/sh\necho "$1" >> "$0.asked"\n'
        f'case "$1" in Username*) sed -n 1p {answers} ;; *) sed -n 2p {answers} ;; esac\n'
    )
    askpass.chmod(0o755)
    git.env["GIT_ASKPASS"] = str(askpass)
    url = f"{server.url}/v1/repos/demo"
    cloned = git("clone", "-q", url, "prompted")
    assert cloned.returncode == 0, cloned.stderr
    asked = Path(f"{askpass}.asked").read_text().splitlines()
    assert [line.split(" ")[0] for line in asked] == ["Username", "Password"]
    client_for(server.url).reset_service_specific_credential(
        UserName="jane", ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"]
    )
    refused = git("clone", "-q", url, "refused")  # the same answers: the old password
    assert refused.returncode == 128 and REFUSED in refused.stderr
    assert len(Path(f"{askpass}.asked").read_text().splitlines()) == 4  # asked once, not again


def test_the_right_password_under_another_users_name_is_refused(
    server: sscstub.Server, git: Git
) -> None:
    jane, bob = credential(server, "jane"), credential(server, "bob")
    url = repo_url(server.url, bob["ServiceUserName"], jane["ServicePassword"])
    refused = git("clone", "-q", url, "clone")
    assert refused.returncode == 128 and REFUSED in refused.stderr


def basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("/v1/repos/../../etc/info/refs?service=git-upload-pack", 400),
        ("/v1/repos/..%2F..%2Fetc/info/refs?service=git-upload-pack", 400),
        ("/v1/repos/%2e%2e/info/refs?service=git-upload-pack", 400),
        ("/v1/repos/demo.git/info/refs?service=git-upload-pack", 400),
        ("/v1/repos/" + "a" * 101 + "/info/refs?service=git-upload-pack", 400),
        ("/v1/repos//info/refs", 400),
        ("/v1/repos/demo/../../../etc/passwd", 404),
        ("/v1/repos/demo/objects/info/packs", 404),
        ("/v1/repos/demo/config", 404),
        ("/v1/repos/missing/info/refs?service=git-upload-pack", 404),
    ],
)
def test_names_and_paths_outside_the_rules_are_refused(
    server: sscstub.Server, target: str, status: int
) -> None:
    cred = credential(server)
    auth = basic(cred["ServiceUserName"], cred["ServicePassword"])
    got, _headers, body = raw(server.url, "GET", target, Authorization=auth)
    assert got == status, body
    assert b"root:" not in body


def test_no_credentials_get_a_basic_challenge(server: sscstub.Server) -> None:
    status, headers, _body = raw(
        server.url, "GET", "/v1/repos/demo/info/refs?service=git-upload-pack"
    )
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")


def test_a_web_page_cannot_reach_the_repositories(server: sscstub.Server) -> None:
    cred = credential(server)
    auth = basic(cred["ServiceUserName"], cred["ServicePassword"])
    target = "/v1/repos/demo/info/refs?service=git-upload-pack"
    assert raw(server.url, "GET", target, Authorization=auth, Host="evil.example")[0] == 403
    assert (
        raw(server.url, "GET", target, Authorization=auth, Origin="https://evil.example")[0] == 403
    )


def test_a_push_to_a_missing_repository_is_404_unless_create_repos(
    git: Git, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_DIR", "/nonexistent")  # the CGI's environment is its own
    local = tmp_path / "local"
    local.mkdir()
    assert git("init", "-q", "-b", "main", cwd=local).returncode == 0
    commit(git, local, "first")
    for create in (False, True):
        with sscstub.serve(users=["jane"], create_repos=create) as server:
            cred = credential(server)
            url = repo_url(server.url, cred["ServiceUserName"], cred["ServicePassword"], "new")
            pushed = git("push", "-q", url, "HEAD:main", cwd=local)
            assert (pushed.returncode == 0) == create, pushed.stderr
            assert server.repos == (["new"] if create else [])
            if not create:
                assert "not found" in pushed.stderr or "404" in pushed.stderr


def test_repositories_through_the_test_api_and_beside_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with sscstub.serve(users=["jane"], state=state) as server:
        import json

        parts = urlsplit(server.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        connection.request(
            "POST",
            "/_sscstub/repos",
            body=json.dumps({"name": "made-by-api"}),
            headers={"Content-Type": "application/json"},
        )
        assert json.loads(connection.getresponse().read()) == {"repos": ["made-by-api"]}
        connection.request("POST", "/_sscstub/repos", body='{"name": "../x"}',
                           headers={"Content-Type": "application/json"})  # fmt: skip
        assert connection.getresponse().status == 400
        connection.close()
        assert server.repos_dir == tmp_path / "state.db-repos"
    assert (tmp_path / "state.db-repos" / "made-by-api" / "HEAD").is_file()  # kept, as state is
    with sscstub.serve() as server:
        server.add_repo("temporary")
        folder = server.repos_dir
        assert folder.is_dir()
    assert not folder.exists()  # a temporary folder goes with its server


def test_a_large_push_and_clone_stream_with_bounded_memory(git: Git, tmp_path: Path) -> None:
    """64 MB of incompressible data pushed and cloned back through a real `sscstub serve`
    process, whose resident memory must grow by far less than that."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sscstub", "serve", "--port", "0", "--users", "jane",
         "--create-repos"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" at ", 1)[1].strip()

        def rss_mb() -> float:
            with open(f"/proc/{process.pid}/status") as status:
                line = next(x for x in status if x.startswith("VmHWM:"))  # the peak
            return int(line.split()[1]) / 1024

        cred = credential(url)
        before = rss_mb()
        local = tmp_path / "big"
        local.mkdir()
        assert git("init", "-q", "-b", "main", cwd=local).returncode == 0
        (local / "blob.bin").write_bytes(os.urandom(64 * 1024 * 1024))
        assert git("add", ".", cwd=local).returncode == 0
        assert git("commit", "-q", "-m", "big", cwd=local).returncode == 0
        remote = repo_url(url, cred["ServiceUserName"], cred["ServicePassword"], "big")
        started = time.monotonic()
        pushed = git("push", "-q", remote, "HEAD:main", cwd=local)
        assert pushed.returncode == 0, pushed.stderr
        assert git("clone", "-q", remote, "back").returncode == 0
        assert (tmp_path / "back" / "blob.bin").stat().st_size == 64 * 1024 * 1024
        grown = rss_mb() - before
        assert grown < 24, f"the server's peak memory grew by {grown:.0f} MB for a 64 MB push"
        assert time.monotonic() - started < 300
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


# --- hostile requests on the streamed route ----------------------------------------------------


def _exchange(url: str, data: bytes, deadline: float = 15.0) -> bytes:
    import socket

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=deadline) as sock:
        sock.sendall(data)
        answer = b""
        started = time.monotonic()
        while time.monotonic() - started < deadline:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                return answer
            if not piece:
                return answer
            answer += piece
    pytest.fail(f"the connection stayed open past {deadline} s: {answer[:200]!r}")


def test_an_unauthenticated_push_is_refused_before_its_body_is_read(
    server: sscstub.Server,
) -> None:
    head = (
        b"POST /v1/repos/demo/git-receive-pack HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-git-receive-pack-request\r\n"
        b"Content-Length: 1000000000\r\n\r\n"
    )
    answer = _exchange(server.url, head + b"x" * 65536)
    assert answer.startswith(b"HTTP/1.1 401 ") and b"connection: close" in answer.lower()


def test_a_push_body_that_stops_arriving_is_cut_off() -> None:
    with sscstub.serve(users=["jane"], idle_timeout=0.5) as server:
        server.add_repo("demo")
        cred = credential(server)
        auth = basic(cred["ServiceUserName"], cred["ServicePassword"]).encode()
        head = (
            b"POST /v1/repos/demo/git-receive-pack HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: " + auth + b"\r\n"
            b"Content-Type: application/x-git-receive-pack-request\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n4\r\n0000\r\n"
        )
        answer = _exchange(server.url, head)  # ... and nothing more
        assert b"408 Request Timeout" in answer
        client_for(server.url).list_service_specific_credentials(UserName="jane")  # still served


def test_a_push_behind_pipelined_requests_is_answered_after_them(server: sscstub.Server) -> None:
    cred = credential(server)
    auth = basic(cred["ServiceUserName"], cred["ServicePassword"]).encode()
    first = b"GET /_sscstub/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    push = (
        b"POST /v1/repos/demo/git-receive-pack HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: " + auth + b"\r\nContent-Length: 4\r\n\r\n0000"
    )
    # (10: a connection queues 16 requests behind the one answered, `_protocol.MAX_PIPELINE`)
    answer = _exchange(server.url, first * 10 + push + b"GET / HTTP/1.1\r\n\r\n", 10)
    assert answer.count(b'{"ok": true}') == 10
    # the push is answered (git http-backend: an empty push is not a valid one), and so is
    # what came after it, or the connection is closed; nothing hangs
    assert answer.count(b"HTTP/1.1 ") >= 11
