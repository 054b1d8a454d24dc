"""The pytest plugin (entry point ``pytest11``): the ``ssc_stub`` fixture and its marker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from . import SSCStub, SscStubError, _hooks, stop_all

if TYPE_CHECKING:
    from ._server import Server


def pytest_configure(config: pytest.Config) -> None:
    from ._options import Options

    names = ", ".join(name for name, _ in Options.documented())
    config.addinivalue_line(
        "markers",
        f"ssc_stub(**options): options for the ssc_stub and ssc_server fixtures: {names}",
    )
    config.addinivalue_line(
        "markers",
        "ssc_server(**options): options for the ssc_server fixture alone, over ssc_stub's: the"
        " same, and sscstub.serve's (moto=True serves every other request with moto)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """A stub the test's body started and never stopped is stopped here and reported by name,
    so the next test does not fail for it."""
    before = _hooks.active()
    try:
        return (yield)
    finally:
        engine = _hooks.active()
        if engine is not None and engine is not before:
            where = engine.started_at
            orphan = stop_all()
            name = repr(orphan) if orphan is not None else "no longer referenced"
            raise SscStubError(
                f"{item.nodeid} started an sscstub stub ({name}) at {where} and never stopped"
                " it; sscstub stopped it now.",
                "Use `with mock_ssc(...)`, the decorator or the ssc_stub fixture, or call"
                " stop() in a finally block.",
                "ways-to-use-it",
            )


def marker_options(node: Any, name: str = "ssc_stub") -> dict[str, Any]:
    """The node's ``name`` markers' options; the nearest marker wins. A misspelt option is
    named, with the nearest, before anything starts."""
    __tracebackhide__ = True
    from ._errors import UnknownOptionError
    from ._options import check_keywords, option_names

    known = option_names()
    if name == "ssc_server":
        from ._settings import SETTING_NAMES

        known += SETTING_NAMES
    options: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers(name))):
        if marker.args:
            raise UnknownOptionError(
                f"@pytest.mark.{name} takes keyword options only.",
                f"Name each option, e.g. @pytest.mark.{name}(users=['jane']).",
                "options",
            )
        check_keywords(f"@pytest.mark.{name}", marker.kwargs, known)
        options.update(marker.kwargs)
    return options


def active_stub(node: Any) -> Iterator[SSCStub]:
    """The fixture's body: an active stub configured by the node's ``ssc_stub`` markers."""
    __tracebackhide__ = True
    from ._stub import FIXTURE

    with SSCStub(**marker_options(node)) as stub:
        stub._engine.started_at = f"{FIXTURE} of {node.nodeid}"
        yield stub


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A marked test (or class, or module) is stubbed or served for its whole run whether or
    not it names the fixture, as ``usefixtures`` would (time-machine's marker does the same):
    a test that reads ``@pytest.mark.ssc_stub`` as "stubbed" never reaches AWS. An ssc_stub
    marker on a test that uses the server only configures the server."""
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is None:
            continue
        server = item.get_closest_marker("ssc_server") is not None
        if server and "ssc_server" not in names:
            names.insert(0, "ssc_server")
        if (
            item.get_closest_marker("ssc_stub") is not None
            and "ssc_stub" not in names
            and "ssc_server" not in names
        ):
            names.insert(0, "ssc_stub")


@pytest.fixture
def ssc_stub(request: pytest.FixtureRequest) -> Iterator[SSCStub]:
    """An active `SSCStub`, fresh for each test, configured by ``@pytest.mark.ssc_stub(...)``."""
    yield from active_stub(request.node)


@pytest.fixture
def ssc_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A local IAM endpoint (`sscstub.serve`) on a free loopback port, fresh for each test and
    configured by ``@pytest.mark.ssc_stub(...)``, then ``@pytest.mark.ssc_server(...)`` (for
    the server alone: ``moto=True``, ``upstream=``, ``allow_hosts=``); clients take
    ``ssc_server.url``."""
    from . import serve

    options = {**marker_options(request.node), **marker_options(request.node, "ssc_server")}
    with serve(**options) as server:
        yield server
