"""Issue 9: the places an adversarial probe found where the stub did not hold, each through real
boto3 clients (or a real os.fork)."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import time_machine
from conftest import make_client, sscstub_handlers

import sscstub
from sscstub import SscStubError, _engine, _store

CC = "codecommit.amazonaws.com"
BEDROCK = "bedrock.amazonaws.com"


def _create(iam: Any, user: str = "jane", service: str = CC) -> dict[str, Any]:
    made: dict[str, Any] = iam.create_service_specific_credential(
        UserName=user, ServiceName=service
    )["ServiceSpecificCredential"]
    return made


# --- fork ------------------------------------------------------------------------------------


def _in_child(work: Any) -> Any:
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


def test_forked_children_never_repeat_secrets_or_ids() -> None:
    users = ["jane", "bob", "carol", "dave", "erin"]
    with sscstub.mock_ssc(users=users) as stub:
        iam = make_client()
        _create(iam, "jane")  # the parent has drawn from its pool before the fork

        def work() -> list[str]:
            out = []
            for user in users[1:]:
                made = iam.create_service_specific_credential(UserName=user, ServiceName=CC)
                cred = made["ServiceSpecificCredential"]
                out += [cred["ServicePassword"], cred["ServiceSpecificCredentialId"]]
                out.append(made["ResponseMetadata"]["RequestId"])
            return out

        children = [_in_child(work) for _ in range(4)]
        mine = work()
        assert len(stub.credentials) == len(users)
    drawn = [value for values in [*children, mine] for value in values]
    assert len(drawn) == 5 * 3 * 4 and len(set(drawn)) == len(drawn)


def test_a_child_forked_while_a_thread_is_inside_a_call_still_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inside, release = threading.Event(), threading.Event()
    real_digest = _engine._secrets.digest

    def slow_digest(*args: Any) -> bytes:  # runs under the engine's lock
        inside.set()
        release.wait(30)
        return real_digest(*args)

    with sscstub.mock_ssc(users=["jane"]):
        iam = make_client()
        monkeypatch.setattr(_engine._secrets, "digest", slow_digest)
        thread = threading.Thread(target=_create, args=(iam,))
        thread.start()
        assert inside.wait(10)
        monkeypatch.setattr(_engine._secrets, "digest", real_digest)  # the child's own calls
        try:
            listed = _in_child(
                lambda: iam.list_service_specific_credentials(UserName="jane")["IsTruncated"]
            )
        finally:
            release.set()
            thread.join()
    assert listed is False


# --- clients made before import ----------------------------------------------------------------


def test_module_level_client_made_before_import_is_served_under_unittest(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        'import boto3\nIAM = boto3.client("iam", region_name="us-east-1")\n'
        "def rotate(user, cid):\n"
        "    return IAM.reset_service_specific_credential(UserName=user,"
        " ServiceSpecificCredentialId=cid)\n"
    )
    (tmp_path / "test_app.py").write_text(
        textwrap.dedent(
            """
            import socket, unittest
            def refuse(*a, **k): raise ConnectionRefusedError("network")
            socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse
            import app  # its client exists before sscstub is imported
            import sscstub
            from sscstub import mock_ssc

            @mock_ssc(users=["jane"])
            class TestRotate(unittest.TestCase):
                def test_rotate(self):
                    made = app.IAM.create_service_specific_credential(
                        UserName="jane", ServiceName="codecommit.amazonaws.com")
                    cid = made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
                    self.assertIn("ServicePassword", app.rotate("jane", cid)["ServiceSpecificCredential"])

                def test_strict(self):
                    with self.assertRaises(sscstub.UnsimulatedOperationError):
                        app.IAM.get_user(UserName="jane")
            """
        )
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", "test_app"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0 and "Ran 2 tests" in done.stderr, done.stderr


# --- old models --------------------------------------------------------------------------------

_NEWER = {
    "ServiceSpecificCredential": [
        "ExpirationDate",
        "ServiceCredentialAlias",
        "ServiceCredentialSecret",
    ],
    "ServiceSpecificCredentialMetadata": ["ExpirationDate", "ServiceCredentialAlias"],
    "ListServiceSpecificCredentialsResponse": ["Marker", "IsTruncated"],
    "CreateServiceSpecificCredentialRequest": ["CredentialAgeDays"],
    "ListServiceSpecificCredentialsRequest": ["AllUsers", "Marker", "MaxItems"],
}


def old_model_client(tmp_path: Path) -> Any:
    """A real botocore client whose IAM model lacks what the 2025-06 release added, as older
    botocore's (aiobotocore 2.23's 1.38, the AWS CLI v2's bundled one) do."""
    import botocore.session

    current = botocore.session.get_session().get_component("data_loader")
    model = json.loads(json.dumps(current.load_service_model("iam", "service-2")))
    for shape, members in _NEWER.items():
        for member in members:
            model["shapes"][shape]["members"].pop(member)
    model["shapes"]["ServiceSpecificCredential"]["required"] += ["ServiceUserName"]
    target = tmp_path / "models" / "iam" / "2010-05-08"
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()  # a fresh loader, which reads the file above
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path / "models"))
    return session.create_client(
        "iam", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )


def test_an_older_models_client_gets_only_the_members_its_model_defines(tmp_path: Path) -> None:
    old = old_model_client(tmp_path)
    with sscstub.mock_ssc(users=["jane"]) as stub:
        key = _create(old, service=BEDROCK)
        assert set(key) == {"CreateDate", "ServiceName", "ServiceSpecificCredentialId"} | {
            "UserName",
            "Status",
        }
        listed = old.list_service_specific_credentials(UserName="jane")
        assert "IsTruncated" not in listed and len(listed["ServiceSpecificCredentials"]) == 1
        git = _create(old)
        assert git["ServiceUserName"] == "jane-at-123456789012" and git["ServicePassword"]
        new = make_client()  # a current client in the same process still gets everything
        assert new.list_service_specific_credentials(UserName="jane")["IsTruncated"] is False
        assert [c.error_code for c in stub.calls] == [None] * 4


def test_a_broken_answer_changes_nothing_and_is_not_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        monkeypatch.setattr(_store.Record, "to_credential_shape", lambda *a, **k: {"Bogus": 1})
        with pytest.raises(AssertionError, match="breaks botocore's IAM model"):
            _create(make_client())
        assert stub.credentials == () and stub.calls == ()


# --- calls ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "marker", ["sscstub:²", "sscstub:١", "sscstub:", "x", "sscstub:" + "9" * 30]
)
def test_every_malformed_marker_gets_iams_error_and_is_logged(marker: str) -> None:
    encoded = base64.b64encode(marker.encode()).decode()
    with sscstub.mock_ssc(users=["jane"]) as stub:
        iam = make_client()
        with pytest.raises(iam.exceptions.InvalidInputException):
            iam.list_service_specific_credentials(UserName="jane", Marker=encoded)
        assert [c.error_code for c in stub.calls] == ["InvalidInput"]


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
            _create(make_client())
        assert len(stub.credentials) == 1 and len(stub.calls) == 1


def test_an_expiry_past_year_9999_is_refused_and_listing_keeps_working() -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub, time_machine.travel("9990-01-01", tick=False):
        iam = make_client()
        with pytest.raises(iam.exceptions.InvalidInputException, match="9999-12-31"):
            iam.create_service_specific_credential(
                UserName="jane", ServiceName=BEDROCK, CredentialAgeDays=36600
            )
        iam.create_service_specific_credential(
            UserName="jane", ServiceName=BEDROCK, CredentialAgeDays=3000
        )
        assert (
            len(
                iam.list_service_specific_credentials(UserName="jane")["ServiceSpecificCredentials"]
            )
            == 1
        )
        assert stub.credentials[0].expiration_date is not None


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
            _create(iam)
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


def test_call_params_are_read_only_history() -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        _create(make_client())
        with pytest.raises(TypeError):
            stub.calls[0].params["UserName"] = "mallory"  # type: ignore[index]
        assert stub.calls[0].params["UserName"] == "jane"


def test_views_are_built_outside_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        _create(make_client())
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


# --- activation ----------------------------------------------------------------------------------


def test_setup_made_before_activation_is_kept() -> None:
    stub = sscstub.mock_ssc(users=["jane"])
    stub.add_user("bob")
    stub.inject_error("create_service_specific_credential", "Throttling", times=1)
    with stub:
        iam = make_client()
        with pytest.raises(iam.exceptions.ClientError, match="Throttling"):
            _create(iam, "bob")
        _create(iam, "bob")
    with stub:  # the setup went with that activation only
        assert stub.users == {"jane"}


def test_generators_run_with_the_stub_active() -> None:
    ssc = sscstub.mock_ssc(users=["jane"])

    @ssc
    def created() -> Any:
        yield _create(make_client())["UserName"]
        yield ssc.active

    @ssc
    async def listed() -> Any:
        yield _create(make_client())["UserName"]
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


# --- users and the test API ----------------------------------------------------------------------


def test_user_names_are_not_distinguished_by_case() -> None:
    with pytest.raises(SscStubError, match="not distinguished by case"):
        sscstub.mock_ssc(users=["jane", "JANE"])
    with sscstub.mock_ssc(users=["jane"]) as stub:
        made = _create(make_client(), "Jane")
        assert made["UserName"] == "jane" and made["ServiceUserName"] == "jane-at-123456789012"
        with pytest.raises(SscStubError, match="not distinguished by case"):
            stub.add_user("JANE")
        stub.add_user("jane")  # the same name again is fine


@pytest.mark.parametrize(
    ("misuse", "fragment"),
    [
        (lambda s: s.inject_error(123, "Throttling"), "operation=123"),
        (lambda s: s.inject_error("create_service_specific_credential", None), "code=None"),
        (
            lambda s: s.inject_error("create_service_specific_credential", "Throttling", 5),
            "message=5",
        ),
        (
            lambda s: s.inject_error("create_service_specific_credential", "Throttling", times=-1),
            "times=-1",
        ),
        (lambda s: s.authenticate(None, "pw"), "service_user_name=None"),
        (lambda s: s.authenticate("jane-at-1", b"pw"), "password=b'pw'"),
        (lambda s: s.authenticate_api_key(None), "api_key=None"),
        (lambda s: s.remove_user(7), "name=7"),
        (lambda s: s.remove_user("nobody"), "cannot be found"),
    ],
)
def test_wrong_types_in_the_test_api_say_what_to_pass(misuse: Any, fragment: str) -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        with pytest.raises(SscStubError) as caught:
            misuse(stub)
        assert fragment in str(caught.value) and caught.value.todo


def test_remove_user_is_refused_while_it_has_credentials() -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        iam = make_client()
        made = _create(iam)
        with pytest.raises(SscStubError, match="DeleteConflict.*credentials first"):
            stub.remove_user("jane")
        iam.delete_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=made["ServiceSpecificCredentialId"]
        )
        stub.remove_user("JANE")
        assert stub.users == frozenset()
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            _create(iam)
