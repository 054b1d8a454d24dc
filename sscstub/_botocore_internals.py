"""Every place sscstub leans on a botocore detail that is not public API, in one module.

* ``botocore.handlers.BUILTIN_HANDLERS``: the list botocore copies into every Session it creates
  (``botocore/session.py::_register_builtin_handlers``). sscstub appends its one dispatcher to it.
* ``botocore.awsrequest.HeadersDict``: the case-insensitive dict botocore's responses carry.
* ``botocore.parsers.DEFAULT_TIMESTAMP_PARSER``: what botocore's query parser turns an XML
  timestamp into (its tzinfo type depends on the machine's zone).

``import sscstub`` does not import ``botocore.handlers`` (it pulls in most of botocore, ~100 ms):
if it is not imported yet, a one-shot import hook appends the dispatcher as soon as it is.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

# Nothing from botocore at import time: `_hooks` imports this module when sscstub is imported,
# and `import sscstub` must stay cheap.


def timestamp_parser() -> Callable[[str], datetime]:
    from botocore.parsers import DEFAULT_TIMESTAMP_PARSER

    parse: Callable[[str], datetime] = DEFAULT_TIMESTAMP_PARSER
    return parse


def existing_emitters(lacking: Any) -> list[Any]:
    """Every botocore event emitter alive now (sessions' and clients': a client's
    ``meta.events`` wraps one) that does not carry ``lacking`` at ``before-call.iam`` yet. None
    can exist before botocore.hooks is imported, so that costs nothing then; otherwise it is one
    pass over the garbage collector's objects. (Emitters run every ``before-send`` handler, so
    a second registration would answer twice.)"""
    hooks = sys.modules.get("botocore.hooks")
    if hooks is None:
        return []
    import gc

    emitter_class = hooks.HierarchicalEmitter
    return [
        o
        for o in gc.get_objects()
        if isinstance(o, emitter_class)
        and lacking not in o._handlers.prefix_search("before-call.iam.ListUsers")
    ]


def wire_form(body: Mapping[str, Any]) -> str:
    """The form botocore sends for a query-protocol body dict (``AWSRequestPreparer``:
    ``urlencode(body, doseq=True)``): a list becomes repeated keys, None the text "None"."""
    from botocore.compat import urlencode

    form: str = urlencode(body, doseq=True)
    return form


def wire_response(url: str, status: int, headers: dict[str, str], data: bytes) -> Any:
    """An ``AWSResponse`` botocore reads as if it came off the network: its body is set where
    ``AWSResponse.content`` keeps what it read from the raw stream."""
    from botocore.awsrequest import AWSResponse

    response = AWSResponse(url, status, headers, None)  # type: ignore[arg-type]
    response._content = data  # type: ignore[attr-defined]
    return response


_CACHE_ATTRIBUTE = "_sscstub_compiled_iam"


def cached_on(service_model: Any) -> Any:
    """What `cache_on` kept on a botocore ServiceModel (an attribute of ours on its object)."""
    return getattr(service_model, _CACHE_ATTRIBUTE, None)


def cache_on(service_model: Any, value: Any) -> None:
    setattr(service_model, _CACHE_ATTRIBUTE, value)


def headers_dict(plain: dict[str, str]) -> Any:
    from botocore.awsrequest import HeadersDict

    return HeadersDict(plain)


# --- BUILTIN_HANDLERS --------------------------------------------------------------------------


def _add_builtins(handlers_module: ModuleType, entries: Sequence[tuple[str, Any]]) -> None:
    builtins: list[Any] = handlers_module.BUILTIN_HANDLERS
    for entry in entries:
        if entry not in builtins:
            builtins.append(entry)


def add_builtin_handlers(entries: Sequence[tuple[str, Any]]) -> None:
    """Put ``entries`` in BUILTIN_HANDLERS now, or as soon as botocore.handlers is imported."""
    handlers_module = sys.modules.get("botocore.handlers")
    if handlers_module is not None:
        _add_builtins(handlers_module, entries)
    elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(tuple(entries)))


class _AfterImport:
    """A meta-path finder that wraps botocore.handlers' loader once, then removes itself."""

    def __init__(self, entries: tuple[tuple[str, Any], ...]) -> None:
        self._entries = entries

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
            spec.loader = _Chained(spec.loader, self._entries)  # type: ignore[assignment]
        return spec


class _Chained:
    def __init__(self, loader: Any, entries: tuple[tuple[str, Any], ...]) -> None:
        self._loader = loader
        self._entries = entries

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _add_builtins(module, self._entries)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ... for inspect & co.
        return getattr(self._loader, name)
