from __future__ import annotations

import contextlib
import http.client
import importlib
import json
import os
import pkgutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import hypothesis.configuration
import pytest
from botocore.config import Config

import sscstub
from sscstub import _engine, _hooks

pytest_plugins = ["pytester"]

# Hypothesis keeps caches (constants, examples) in .hypothesis/ under the working directory even
# with database=None: send them to a temporary directory so a test run leaves the checkout clean.
hypothesis.configuration.set_hypothesis_home_dir(tempfile.mkdtemp(prefix="sscstub-hypothesis-"))

ACCOUNT = "123456789012"
# Where the sscstub under test lives, for the Python processes tests start (under mutmut it
# is the mutated copy, not an installed one).
SSCSTUB_HOME = os.path.dirname(os.path.dirname(os.path.abspath(sscstub.__file__)))
if "MUTANT_UNDER_TEST" in os.environ:
    os.environ["PYTHONPATH"] = SSCSTUB_HOME

# pytester's in-process runs drop, when they end, the modules first imported during them: a
# submodule sscstub imports lazily would come back afterwards as a second copy, whose classes
# the first copy's `except` clauses do not catch (an OddValues escaping its handler). Every
# submodule is imported here, before any test; those whose extra is missing stay out.
for _module in pkgutil.iter_modules(sscstub.__path__, "sscstub."):
    if _module.name != "sscstub.__main__":  # (which runs the command line)
        with contextlib.suppress(ImportError):
            importlib.import_module(_module.name)


@pytest.fixture(autouse=True)
def _isolated_aws(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test reads the machine's AWS config or credentials, or asks instance metadata."""
    empty = tmp_path_factory.getbasetemp() / "no-aws-config"
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


LOOPBACK = ("127.", "::1", "localhost")


def _is_loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    return isinstance(host, (str, bytes)) and (
        host.decode() if isinstance(host, bytes) else host
    ).startswith(LOOPBACK)


@pytest.fixture(autouse=True)
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[object, ...]]]:
    """Every test runs with the network cut but for loopback (sscstub's own endpoint): any
    other attempt fails the test, even if swallowed."""
    attempts: list[tuple[object, ...]] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

    def guarded(real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            target = args[1] if real in (real_connect, real_connect_ex) else args[0]
            if _is_loopback(target):
                return real(*args, **kwargs)
            attempts.append(args)
            raise ConnectionRefusedError(f"sscstub tests must not use the network: {args!r}")

        return call

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))
    monkeypatch.setattr(socket, "create_connection", guarded(real_create))
    monkeypatch.setattr(socket, "getaddrinfo", guarded(real_getaddrinfo))
    yield attempts
    assert attempts == [], "a test tried to open a network connection"


if "MUTANT_UNDER_TEST" in os.environ:  # make mutation: mutmut runs the tests in one process

    @pytest.fixture(autouse=True)
    def _compile_again() -> None:
        """Every test compiles the checks and XML writers afresh, so that a mutant in the code
        that generates them is the code that runs (mutation/README.md)."""
        from sscstub._model import clear_caches

        clear_caches()


@pytest.fixture(autouse=True)
def _no_stub_left_active() -> Iterator[None]:
    yield
    assert _hooks.active() is None, "a test left an sscstub stub active"


def make_client(**config: object) -> object:
    return boto3.client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config) if config else None,  # type: ignore[arg-type]
    )


@pytest.fixture
def iam():  # type: ignore[no-untyped-def]
    return make_client()


@pytest.fixture
def raw_iam():  # type: ignore[no-untyped-def]
    """A client that skips botocore's own parameter validation, so IAM's server-side checks answer."""
    return make_client(parameter_validation=False)


@pytest.fixture
def stub() -> Iterator[sscstub.SSCStub]:
    with sscstub.mock_ssc(users=["jane", "bob"]) as active:
        yield active


@pytest.fixture(params=["UTC", "America/New_York", "Europe/London", "Asia/Tokyo"])
def local_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test in several local time zones (botocore's parser picks tzinfo by zone)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def handler_snapshot(emitter: object) -> tuple[object, ...]:
    """What an emitter holds for IAM calls (a test-only peek at botocore internals)."""
    inner = emitter._emitter  # type: ignore[attr-defined]
    handlers = tuple(
        inner._handlers.prefix_search("before-call.iam.CreateServiceSpecificCredential")
    )
    return handlers, tuple(sorted(inner._unique_id_handlers))


def sscstub_handlers(emitter: object) -> list[object]:
    """sscstub's IAM dispatchers on an emitter (not the Bedrock key check, on every service)."""
    return [
        h
        for h in handler_snapshot(emitter)[0]
        if getattr(h, "__module__", "").startswith("sscstub") and h.__name__ != "check_api_key"  # type: ignore[attr-defined]
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say which real clients (tests/clients) ran, and why any did not."""
    import sys

    module = sys.modules.get("clients")
    ran = getattr(module, "RAN", None)
    if ran:
        terminalreporter.write_line(
            "real clients: " + ", ".join(f"{name} {how}" for name, how in sorted(ran.items()))
        )


def create_credential(
    iam: Any, user: str = "jane", service: str = "codecommit.amazonaws.com"
) -> dict[str, Any]:
    """Create one credential through a real client; its ServiceSpecificCredential."""
    made: dict[str, Any] = iam.create_service_specific_credential(
        UserName=user, ServiceName=service
    )["ServiceSpecificCredential"]
    return made


# --- helpers the test modules share ------------------------------------------------------------


def client_for(url: str, **config: Any) -> Any:
    return boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="t",
        aws_secret_access_key="t",
        config=Config(**config) if config else None,
    )


def raw(url: str, method: str, target: str, body: bytes = b"", **headers: str) -> Any:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        try:
            data = response.read()
        finally:  # its socket file too, when the answer breaks off (IncompleteRead)
            response.close()
    finally:
        connection.close()
    return response.status, response.headers, data  # (names are not distinguished by case)


def in_child(work: Any) -> Any:
    """Fork; run ``work()`` in the child and return what it sent back as JSON."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.close(read)
            os.write(write, json.dumps(work()).encode())
        finally:
            os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 30
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)
    with os.fdopen(read) as pipe:
        return json.loads(pipe.read() or "null")


@contextlib.contextmanager
def a_call_in_flight(monkeypatch: pytest.MonkeyPatch, iam: Any) -> Iterator[threading.Event]:
    """A create held inside the engine (its digest, under the lock, waits) until the block ends
    or the event it yields is set; calls made meanwhile are not held."""
    inside, release = threading.Event(), threading.Event()
    real_digest = _engine._secrets.digest

    def slow_digest(*args: Any) -> bytes:
        inside.set()
        release.wait(30)
        return real_digest(*args)

    monkeypatch.setattr(_engine._secrets, "digest", slow_digest)
    thread = threading.Thread(target=create_credential, args=(iam,))
    thread.start()
    assert inside.wait(10)
    monkeypatch.setattr(_engine._secrets, "digest", real_digest)
    try:
        yield release
    finally:
        release.set()
        thread.join(10)
