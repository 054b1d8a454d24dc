"""A user's first day: a marker alone stubs a test, and every misuse says what to do, in words
this file pins."""

from __future__ import annotations

import ast
import logging
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import make_client

import sscstub
from sscstub._errors import DOCS

ROOT = Path(__file__).parents[1]

GUARD = """
import socket, pytest

REACHED = []

@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    real = socket.socket.connect
    def connect(sock, address):
        if not str(address[0]).startswith("127."):
            REACHED.append(address)
            raise ConnectionRefusedError("the network")
        return real(sock, address)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    yield
    assert REACHED == [], "a call reached the network"
"""


def test_a_marker_alone_stubs_or_serves_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(GUARD)
    pytester.makepyfile(
        """
        import boto3, pytest, sscstub

        def iam(**kw):
            return boto3.client("iam", region_name="us-east-1", **kw)

        @pytest.mark.ssc_stub(users=["jane"])
        def test_marked_test_is_served():
            made = iam().create_service_specific_credential(
                UserName="jane", ServiceName="codecommit.amazonaws.com")
            assert made["ServiceSpecificCredential"]["UserName"] == "jane"

        @pytest.mark.ssc_stub(users=["jane"])
        class TestMarkedClass:
            def test_method(self):
                assert iam().list_service_specific_credentials(UserName="jane")["IsTruncated"] is False

        @pytest.mark.ssc_stub(users=["jane"])
        def test_strict_other_iam_calls_stop_here():
            with pytest.raises(sscstub.UnsimulatedOperationError):
                iam().get_user(UserName="jane")

        @pytest.mark.ssc_server(users=["jane"])
        def test_marked_server_runs(request):
            server = request.getfixturevalue("ssc_server")  # already running: the marker
            made = iam(endpoint_url=server.url).create_service_specific_credential(
                UserName="jane", ServiceName="codecommit.amazonaws.com")
            assert made["ServiceSpecificCredential"]["UserName"] == "jane"
            assert not sscstub._hooks.active()  # the server alone, no in-process stub

        def test_unmarked_is_untouched():
            assert not sscstub._hooks.active()
        """
    )
    pytester.makepyfile(
        test_module_marker="""
        import boto3, pytest

        pytestmark = pytest.mark.ssc_stub(users=["bob"])

        def test_module_marker_serves():
            iam = boto3.client("iam", region_name="us-east-1")
            iam.create_service_specific_credential(UserName="bob", ServiceName="bedrock.amazonaws.com")
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=6)


def test_the_fixture_and_a_decorator_name_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from sscstub import mock_ssc

        @pytest.mark.ssc_stub(users=["jane"])
        @mock_ssc()
        def test_both():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*This test already has an active stub: the ssc_stub fixture of"
            " test_the_fixture_and_a_decorator_name_the_fixture.py::test_both started it*",
        ]
    )
    assert "fixtures.py" not in result.stdout.str()


def test_a_misspelt_cli_plugin_variable_names_the_nearest() -> None:
    from sscstub.awscli import options_from_environment

    with pytest.raises(TypeError) as caught:
        options_from_environment({"SSCSTUB_USER": "jane", "HOME": "/root"})
    assert str(caught.value).startswith(
        "The sscstub AWS CLI plugin got 'SSCSTUB_USER', which is not one of its options."
        " Did you mean SSCSTUB_USERS?"
    )
    assert options_from_environment({"SSCSTUB_USERS": "jane"}) == {"users": ["jane"]}


def test_an_unknown_user_is_iams_error_and_a_hint_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="sscstub")
    with sscstub.mock_ssc(users=["jane"]):
        iam: Any = make_client()
        with pytest.raises(iam.exceptions.NoSuchEntityException) as caught:
            iam.create_service_specific_credential(
                UserName="ghost", ServiceName="bedrock.amazonaws.com"
            )
    assert caught.value.response["Error"]["Message"] == "The user with name ghost cannot be found."
    (record,) = [r for r in caplog.records if r.name == "sscstub"]
    assert record.levelname == "WARNING"
    assert record.getMessage() == (
        "IAM user 'ghost' does not exist, so CreateServiceSpecificCredential answered"
        " NoSuchEntity, as IAM would: it was never added: pass users=['ghost'] to mock_ssc() (or"
        " the ssc_stub marker), or call stub.add_user('ghost')."
    )


def test_strict_mode_suggests_moto_and_says_what_strict_false_does() -> None:
    with sscstub.mock_ssc(), pytest.raises(sscstub.UnsimulatedOperationError) as caught:
        make_client().get_user(UserName="jane")  # type: ignore[attr-defined]
    todo = caught.value.todo
    assert todo.startswith(
        "To have the other IAM operations answered in the test, compose with moto"
    )
    assert (
        "strict=False would instead let every such call through to botocore, and so to real AWS"
        in todo
    )


def test_a_port_in_use_is_named_with_port_0_as_the_way_out() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(sscstub.SscStubError) as caught:
            sscstub.serve(port=port)
        assert (
            caught.value.what
            == f"Port {port} on 127.0.0.1 is in use (another sscstub serve, or another server)."
        )
        assert "--port 0" in caught.value.todo
        cli = subprocess.run(
            [sys.executable, "-m", "sscstub", "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert cli.returncode == 2 and f"Port {port} on 127.0.0.1 is in use" in cli.stderr
    finally:
        taken.close()


def test_help_shows_every_default() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "sscstub", "serve", "--help"],
        capture_output=True, text=True, timeout=60,
    ).stdout.split("options:", 1)[1]  # fmt: skip
    flags = re.findall(r"^  (--[a-z-]+)", help_text, re.M)
    words = " ".join(help_text.split())
    assert len(flags) >= 14 and "--port PORT port; 0 picks a free one (default: 4599)" in words
    for flag, following in zip(flags, [*flags[1:], None], strict=True):
        entry = words.split(f" {flag} ", 1)[1]
        entry = entry.split(f" {following} ", 1)[0] if following else entry
        assert "(default:" in entry, f"{flag} shows no default: {entry}"


def test_a_state_path_in_a_missing_folder_or_a_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "state.db"
    with pytest.raises(sscstub.SscStubError) as caught:
        sscstub.mock_ssc(state=missing)
    assert (
        caught.value.what == f"state={str(missing)!r}: its folder {missing.parent} does not exist."
    )
    with pytest.raises(sscstub.SscStubError) as caught:
        sscstub.mock_ssc(state=tmp_path)
    assert (
        caught.value.what
        == f"state={str(tmp_path)!r} is a directory, and the state is one SQLite file."
    )
    assert list(tmp_path.iterdir()) == []  # nothing made


def _cited_anchors() -> set[str]:
    """Every anchor sscstub's error messages cite (the third argument of every SscStubError
    and subclass), found in the source."""
    found = set()
    for path in (ROOT / "sscstub").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "").endswith("Error"):
                args = [*node.args[2:3], *(k.value for k in node.keywords if k.arg == "anchor")]
                found |= {a.value for a in args if isinstance(a, ast.Constant) and a.value}
    return found


def test_every_anchor_a_message_cites_exists() -> None:
    from test_docs import anchors

    cited = _cited_anchors() | {"with-moto"}  # UnsimulatedOperationError's
    assert len(cited) >= 6
    assert cited <= set(DOCS), f"cited but not placed: {cited - set(DOCS)}"
    for anchor, page in DOCS.items():
        assert anchor in anchors(ROOT / page), f"{page} has no heading #{anchor}"
