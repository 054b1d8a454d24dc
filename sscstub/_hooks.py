"""Everything sscstub registers with botocore, declared once as data.

One dispatcher answers ``before-call.iam`` (so every IAM operation, and no other service).
It holds no state: it asks the single active engine, and returns None (botocore carries on as
if sscstub did not exist) while no stub is active.

It reaches clients in two ways:

* it is appended to ``botocore.handlers.BUILTIN_HANDLERS``, which botocore copies into every
  Session it creates; each client copies its session's handlers when it is created
  (``botocore/args.py``: ``copy.copy(self._event_emitter)``), so all clients made after
  ``import sscstub`` carry it, whether they are created before or after a stub is activated;
* ``SSCStub.attach()`` registers it on one existing client or session for one activation.

``import sscstub`` does not import ``botocore.handlers`` (it pulls in most of botocore, ~100 ms):
if it is not imported yet, a one-shot import hook appends the dispatcher as soon as it is.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ._engine import Engine


class Emitter(Protocol):
    def register(self, event_name: str, handler: Any, unique_id: str | None = ...) -> None: ...

    def unregister(
        self, event_name: str, handler: Any = ..., unique_id: str | None = ...
    ) -> Any: ...


_active: Engine | None = None


def active() -> Engine | None:
    return _active


def set_active(engine: Engine | None) -> None:
    global _active
    _active = engine


def dispatch(model: Any, params: Any, **kwargs: Any) -> Any:
    """``before-call.iam.*``: answer with ``(http_response, parsed)`` while a stub is active."""
    engine = _active
    if engine is None:
        return None
    return engine.serve(model.name, params, model)


EVENTS: tuple[tuple[str, Any], ...] = (("before-call.iam", dispatch),)


def install(emitter: Emitter, unique_id: str) -> None:
    for event_name, handler in EVENTS:
        emitter.register(event_name, handler, unique_id=f"{unique_id}:{event_name}")


def uninstall(emitter: Emitter, unique_id: str) -> None:
    for event_name, _handler in reversed(EVENTS):
        emitter.unregister(event_name, unique_id=f"{unique_id}:{event_name}")


# --- BUILTIN_HANDLERS --------------------------------------------------------------------------


def _add_builtins(handlers_module: ModuleType) -> None:
    builtins: list[Any] = handlers_module.BUILTIN_HANDLERS
    for entry in EVENTS:
        if entry not in builtins:
            builtins.append(entry)


def register_builtins() -> None:
    """Put the dispatcher in BUILTIN_HANDLERS now, or as soon as botocore.handlers is imported."""
    handlers_module = sys.modules.get("botocore.handlers")
    if handlers_module is not None:
        _add_builtins(handlers_module)
    elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())


class _AfterImport:
    """A meta-path finder that wraps botocore.handlers' loader once, then removes itself."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "botocore.handlers":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        from importlib.util import find_spec

        spec = find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _Chained(spec.loader)  # type: ignore[assignment]
        return spec


class _Chained:
    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _add_builtins(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ... for inspect & co.
        return getattr(self._loader, name)
