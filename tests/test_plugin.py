"""The pytest plugin, run in pytester sandboxes as users would run it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

CONFTEST = """
import boto3, pytest

@pytest.fixture
def iam():
    return boto3.client("iam", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
"""


def test_fixture_marker_and_fresh_state(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        import pytest
        import boto3

        MODULE_CLIENT = boto3.client("iam", region_name="us-east-1", aws_access_key_id="a",
                                     aws_secret_access_key="b")  # made at import time

        pytestmark = pytest.mark.ssc_stub(users=["jane"], account_id="111122223333")

        def test_module_level_client_is_served(ssc_stub):
            out = MODULE_CLIENT.create_service_specific_credential(
                UserName="jane", ServiceName="codecommit.amazonaws.com")
            assert out["ServiceSpecificCredential"]["ServiceUserName"] == "jane-at-111122223333"
            assert ssc_stub.active

        def test_fresh_state(ssc_stub):
            assert ssc_stub.credentials == () and ssc_stub.calls == ()

        @pytest.mark.ssc_stub(users=["bob"], caller="bob")
        def test_nearest_marker_wins(ssc_stub, iam):
            assert ssc_stub.users == {"bob"} and ssc_stub.account_id == "111122223333"
            assert iam.list_service_specific_credentials()["ServiceSpecificCredentials"] == []

        def test_failure_still_tears_down(ssc_stub):
            raise AssertionError("boom")

        def test_after_failure(ssc_stub, iam):
            iam.create_service_specific_credential(UserName="jane", ServiceName="codecommit.amazonaws.com")
            assert len(ssc_stub.credentials) == 1
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=4, failed=1)


def test_marker_typo_is_a_clear_setup_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ssc_stub(user=["jane"])
        def test_typo(ssc_stub):
            pass

        @pytest.mark.ssc_stub(["jane"])
        def test_positional(ssc_stub):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    # One line each, in either order: pytest-randomly may run the two tests either way round.
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.ssc_stub got 'user', which is not one of its options. Did you mean users?*"]
    )
    result.stdout.fnmatch_lines(["*@pytest.mark.ssc_stub takes keyword options only*"])


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.ssc_stub(**options):*"])


def test_without_plugin_autoload_load_it_by_name(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile("def test_it(ssc_stub):\n    assert ssc_stub.active\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(
        errors=1
    )  # fixture 'ssc_stub' not found
    pytester.runpytest("-p", "sscstub.plugin").assert_outcomes(passed=1)


def test_a_stub_left_running_by_a_test_is_stopped_and_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sscstub

        KEPT = sscstub.mock_ssc(users=["jane"])

        def test_forgets_to_stop():
            KEPT.start()

        def test_forgets_an_unreferenced_one():
            sscstub.mock_ssc().start()

        def test_next_one_is_not_blamed(ssc_stub):
            assert ssc_stub.active
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        ["*test_forgets_to_stop started an sscstub stub (<SSCStub inactive*>) at *.py:6*"]
    )
    result.stdout.fnmatch_lines(["*started an sscstub stub (no longer referenced) at *.py:9*"])
