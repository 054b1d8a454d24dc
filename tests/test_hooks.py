"""The wiring into botocore: BUILTIN_HANDLERS, clients made before import, idempotent registration."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import SSCSTUB_HOME

from sscstub import _hooks


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
        "PYTHONPATH": SSCSTUB_HOME,
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


def test_import_sscstub_before_botocore_handlers_still_reaches_new_sessions() -> None:
    script = textwrap.dedent(
        """
        import sys, socket
        socket.socket.connect = socket.getaddrinfo = None
        import sscstub
        assert "botocore.handlers" not in sys.modules, "import sscstub must stay light"
        import botocore.session, botocore.handlers, inspect, importlib
        mine = lambda: [e for e in botocore.handlers.BUILTIN_HANDLERS if e[1] is sscstub._hooks.dispatch]
        assert len(mine()) == 1
        assert inspect.getsource(botocore.handlers)  # the wrapped loader still serves source
        importlib.reload(botocore.handlers)  # a reload drops it; the next start() re-adds it
        with sscstub.mock_ssc():
            pass
        assert len(mine()) == 1
        client = botocore.session.get_session().create_client("iam", region_name="us-east-1")
        with sscstub.mock_ssc(users=["jane"]):
            client.create_service_specific_credential(UserName="jane", ServiceName="codecommit.amazonaws.com")
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"},
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_register_builtins_is_idempotent() -> None:
    import botocore.handlers

    before = list(botocore.handlers.BUILTIN_HANDLERS)
    _hooks.register_builtins()
    _hooks.register_builtins()
    assert before == botocore.handlers.BUILTIN_HANDLERS
    assert sum(entry[1] is _hooks.dispatch for entry in before) == 1
