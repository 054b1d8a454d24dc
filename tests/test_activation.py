"""Activation: context manager, decorator, start/stop, nesting, strict mode, reach and cleanup."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
import unittest
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import (
    SSCSTUB_HOME,
    create_credential,
    handler_snapshot,
    make_client,
    sscstub_handlers,
)

import sscstub
from sscstub import SscStubError, UnsimulatedOperationError

CC = "codecommit.amazonaws.com"


def _create(iam: Any, user: str = "jane") -> dict[str, Any]:
    return iam.create_service_specific_credential(UserName=user, ServiceName=CC)  # type: ignore[no-any-return]


def test_context_manager_returns_the_stub_and_state_is_readable_after_exit(iam: Any) -> None:
    stub = sscstub.mock_ssc(users=["jane"])
    with stub as entered:
        assert entered is stub and stub.active
        _create(iam)
    assert not stub.active
    assert len(stub.credentials) == 1 and len(stub.calls) == 1


def test_every_activation_starts_fresh(iam: Any) -> None:
    stub = sscstub.mock_ssc(users=["jane"])
    with stub:
        _create(iam)
        stub.add_user("extra")
        stub.inject_error("create_service_specific_credential", "Throttling")
    with stub:
        assert stub.credentials == () and stub.calls == () and stub.users == {"jane"}
        _create(iam)  # the injected error did not survive either


def test_clients_created_before_and_after_activation_are_served() -> None:
    before = make_client()
    with sscstub.mock_ssc(users=["jane"]) as stub:
        stub.add_user("bob")
        stub.add_user("ann")
        after = make_client()
        _create(before, "jane"), _create(after, "bob")
        resource_client = boto3.Session(region_name="eu-west-1").resource("iam").meta.client
        _create(resource_client, "ann")
        assert [c.user_name for c in stub.credentials] == ["jane", "bob", "ann"]


def test_clients_need_no_credentials_or_region(socket_guard: list[Any]) -> None:
    bare = boto3.client("iam")  # no region, no credentials anywhere: IAM is global
    with sscstub.mock_ssc(users=["jane"]):
        _create(bare)
    assert socket_guard == []


def test_while_inactive_botocore_behaves_as_without_sscstub(iam: Any) -> None:
    from botocore.awsrequest import AWSResponse

    def canned(**kwargs: Any) -> Any:
        return AWSResponse(None, 200, {}, None), {"sentinel": True}  # type: ignore[arg-type]

    iam.meta.events.register("before-call.iam", canned)
    assert iam.list_service_specific_credentials(UserName="jane") == {"sentinel": True}
    with sscstub.mock_ssc(users=["jane"]):
        assert "ServiceSpecificCredentials" in iam.list_service_specific_credentials(
            UserName="jane"
        )
    assert iam.list_service_specific_credentials(UserName="jane") == {"sentinel": True}


def test_stubs_do_not_nest() -> None:
    with sscstub.mock_ssc() as outer:
        with pytest.raises(SscStubError, match="Another sscstub stub is already active"):
            sscstub.mock_ssc().start()
        with pytest.raises(SscStubError, match="This stub is already active"), outer:
            pass
        assert outer.active


def test_exit_uninstalls_even_when_the_body_raises(iam: Any) -> None:
    stub = sscstub.mock_ssc(users=["jane"])
    before = handler_snapshot(iam.meta.events)
    with pytest.raises(RuntimeError), stub:
        stub.attach(iam)
        raise RuntimeError("boom")
    assert not stub.active and handler_snapshot(iam.meta.events) == before
    stub.stop()  # idempotent
    sscstub.mock_ssc().stop()  # never started: a no-op


def test_a_stub_never_entered_installs_nothing(iam: Any) -> None:
    before = handler_snapshot(iam.meta.events)
    stub = sscstub.mock_ssc(users=["jane"])
    stub.attach(iam)
    assert handler_snapshot(iam.meta.events) == before and not stub.active


def test_strict_mode_stops_other_iam_operations_and_leaves_other_services_alone(
    iam: Any, socket_guard: list[Any]
) -> None:
    with (
        sscstub.mock_ssc(),
        pytest.raises(UnsimulatedOperationError, match="GetUser is not simulated") as caught,
    ):
        iam.get_user(UserName="jane")
    assert caught.value.operation == "GetUser"
    sts = boto3.client(
        "sts", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    from botocore.exceptions import EndpointConnectionError

    with sscstub.mock_ssc(), pytest.raises(EndpointConnectionError):
        sts.get_caller_identity()  # sscstub does not touch STS: it reached the (guarded) network
    assert socket_guard and all("amazonaws" in repr(a) for a in socket_guard)
    socket_guard.clear()


def test_non_strict_lets_other_iam_operations_through(iam: Any, socket_guard: list[Any]) -> None:
    from botocore.exceptions import EndpointConnectionError

    with sscstub.mock_ssc(strict=False), pytest.raises(EndpointConnectionError):
        iam.get_user(UserName="jane")
    assert socket_guard
    socket_guard.clear()


def test_clients_made_before_sscstub_was_imported_are_served(tmp_path: Any) -> None:
    script = textwrap.dedent(
        """
        import socket
        def refuse(*a, **k): raise ConnectionRefusedError("network")
        socket.socket.connect = socket.getaddrinfo = refuse
        import boto3
        early = boto3.client("iam", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
        import sscstub
        stub = sscstub.mock_ssc(users=["jane"])
        with stub:  # reached at import, through the garbage collector (issue 9)
            early.list_service_specific_credentials(UserName="jane")
        stub.attach(early)  # harmless where it is no longer needed
        for _ in range(2):  # attachments last for every activation of the stub
            with stub:
                early.create_service_specific_credential(UserName="jane", ServiceName="codecommit.amazonaws.com")
                assert len(stub.credentials) == 1
        # boto3's default session predates `import sscstub`; a new session carries the dispatcher
        late = boto3.Session().client("iam", region_name="us-east-1", aws_access_key_id="a",
                                      aws_secret_access_key="b")
        with stub:
            late.list_service_specific_credentials(UserName="jane")
        print("ok")
        """
    )
    env = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true", "HOME": str(tmp_path)}
    env["PYTHONPATH"] = SSCSTUB_HOME
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_attach_accepts_sessions_and_resources_and_rejects_other_things(iam: Any) -> None:
    stub = sscstub.mock_ssc(users=["jane"])
    session = boto3.Session(region_name="us-east-1")
    stub.attach(session)
    stub.attach(session._session)
    stub.attach(boto3.resource("iam", region_name="us-east-1"))
    with stub:
        assert len(sscstub_handlers(session.events)) == 2  # BUILTIN_HANDLERS + attach
    assert len(sscstub_handlers(session.events)) == 1
    with pytest.raises(SscStubError, match="attach\\(\\) cannot find botocore's event emitter"):
        stub.attach(object())


# --- the decorator ---------------------------------------------------------------------------------

stub_for_decorators = sscstub.mock_ssc(users=["jane"])


@stub_for_decorators
def _decorated(iam: Any) -> int:
    _create(iam)
    return len(stub_for_decorators.credentials)


def test_decorator_on_a_function_gives_fresh_state_per_call(iam: Any) -> None:
    assert _decorated(iam) == 1 and _decorated(iam) == 1
    assert _decorated.__name__ == "_decorated" and not stub_for_decorators.active


def test_decorator_on_an_async_function(iam: Any) -> None:
    stub = sscstub.mock_ssc(users=["jane"])

    @stub
    async def run() -> int:
        await asyncio.sleep(0)
        _create(iam)
        return len(stub.credentials)

    assert asyncio.iscoroutinefunction(run)
    assert asyncio.run(run()) == 1 and asyncio.run(run()) == 1 and not stub.active


def test_decorator_on_a_plain_test_class() -> None:
    stub = sscstub.mock_ssc(users=["jane"])

    @stub
    class TestThing:
        def helper(self) -> bool:
            return stub.active

        def test_one(self) -> tuple[bool, int]:
            iam = make_client()
            _create(iam)
            return stub.active, len(stub.credentials)

    thing = TestThing()
    assert thing.test_one() == (True, 1) and thing.test_one() == (True, 1)
    assert thing.helper() is False


def test_decorator_on_a_unittest_testcase_covers_setup_and_cleanups() -> None:
    stub = sscstub.mock_ssc(users=["jane"])
    seen: list[Any] = []

    @stub
    class Case(unittest.TestCase):
        def setUp(self) -> None:
            self.iam = make_client()
            _create(self.iam)  # served in setUp too

        def test_a(self) -> None:
            seen.append(len(stub.credentials))

        def test_b(self) -> None:
            seen.append(len(stub.credentials))

    @stub
    class Broken(unittest.TestCase):
        def setUp(self) -> None:
            raise RuntimeError("setUp failed")

        def test_never(self) -> None:
            raise AssertionError("unreachable")

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(Case).run(result)
    unittest.defaultTestLoader.loadTestsFromTestCase(Broken).run(result)
    assert result.testsRun == 3 and len(result.errors) == 1 and not result.failures
    assert seen == [1, 1] and not stub.active


def test_decorating_something_else_is_a_clear_error() -> None:
    with pytest.raises(SscStubError, match="cannot decorate 42"):
        sscstub.mock_ssc()(42)  # type: ignore[call-overload]


def test_setup_made_before_activation_is_kept() -> None:
    stub = sscstub.mock_ssc(users=["jane"])
    stub.add_user("bob")
    stub.inject_error("create_service_specific_credential", "Throttling", times=1)
    with stub:
        iam = make_client()
        with pytest.raises(iam.exceptions.ClientError, match="Throttling"):
            create_credential(iam, "bob")
        create_credential(iam, "bob")
    with stub:  # the setup went with that activation only
        assert stub.users == {"jane"}


def test_generators_run_with_the_stub_active() -> None:
    ssc = sscstub.mock_ssc(users=["jane"])

    @ssc
    def created() -> Any:
        yield create_credential(make_client())["UserName"]
        yield ssc.active

    @ssc
    async def listed() -> Any:
        yield create_credential(make_client())["UserName"]
        yield ssc.active

    async def collect() -> list[Any]:
        return [item async for item in listed()]

    assert list(created()) == ["jane", True] and not ssc.active
    assert asyncio.run(collect()) == ["jane", True] and not ssc.active


class _Base:
    def test_inherited(self) -> bool:
        return sscstub.stop_all is not None and ACTIVE.active

    @staticmethod
    def test_static() -> bool:
        return ACTIVE.active

    @classmethod
    def test_class(cls) -> bool:
        return ACTIVE.active


ACTIVE = sscstub.mock_ssc()


def test_decorated_classes_cover_inherited_static_and_class_methods() -> None:
    decorated = ACTIVE(type("TestDecorated", (_Base,), {}))
    assert decorated().test_inherited() and decorated.test_static() and decorated.test_class()
    assert not hasattr(_Base.test_inherited, "__sscstub__"), "the base class was changed"
    sub = ACTIVE(type("TestAgain", (decorated,), {}))  # wrapped once, not twice
    assert sub().test_inherited() and not ACTIVE.active


def test_a_forgotten_stub_is_named_and_stop_all_clears_it() -> None:
    forgotten = sscstub.mock_ssc(users=["jane"]).start()
    try:
        with pytest.raises(SscStubError) as caught:
            sscstub.mock_ssc().start()
        message = str(caught.value)
        assert repr(forgotten) in message and f"{Path(__file__).name}:" in message
        assert "stop_all()" in message
    finally:
        assert sscstub.stop_all() is forgotten
    assert sscstub.stop_all() is None and not forgotten.active


def test_attach_keeps_one_entry_per_emitter_and_drops_the_dead() -> None:
    stub = sscstub.mock_ssc()
    client = make_client()
    for _ in range(50):
        stub.attach(client)
    for _ in range(3):
        stub.attach(make_client())  # dropped at once
    gc.collect()
    stub.attach(client)
    assert len(stub._attached) == 1
    with stub:
        assert len(sscstub_handlers(client.meta.events)) == 2  # BUILTIN_HANDLERS + attach
