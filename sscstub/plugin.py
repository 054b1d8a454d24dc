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


def marker_options(node: Any) -> dict[str, Any]:
    """The node's ``ssc_stub`` markers' options; the nearest marker wins."""
    __tracebackhide__ = True
    options: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("ssc_stub"))):
        if marker.args:
            raise TypeError("@pytest.mark.ssc_stub takes keyword options only, e.g. users=['jane']")
        options.update(marker.kwargs)
    return options


def active_stub(node: Any) -> Iterator[SSCStub]:
    """The fixture's body: an active stub configured by the node's ``ssc_stub`` markers."""
    __tracebackhide__ = True
    with SSCStub(**marker_options(node)) as stub:
        yield stub


@pytest.fixture
def ssc_stub(request: pytest.FixtureRequest) -> Iterator[SSCStub]:
    """An active `SSCStub`, fresh for each test, configured by ``@pytest.mark.ssc_stub(...)``."""
    yield from active_stub(request.node)


@pytest.fixture
def ssc_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A local IAM endpoint (`sscstub.serve`) on a free loopback port, fresh for each test and
    configured by ``@pytest.mark.ssc_stub(...)``; clients take ``ssc_server.url``."""
    from . import serve

    with serve(**marker_options(request.node)) as server:
        yield server
