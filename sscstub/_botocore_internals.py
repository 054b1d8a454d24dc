"""Every place sscstub leans on a botocore detail that is not public API, in one module.

* ``botocore.handlers.BUILTIN_HANDLERS``: the list botocore copies into every Session it creates
  (``botocore/session.py::_register_builtin_handlers``). sscstub appends its one dispatcher to it.
* ``botocore.awsrequest.HeadersDict``: the case-insensitive dict botocore's responses carry.
* ``botocore.parsers.DEFAULT_TIMESTAMP_PARSER``: what botocore's query parser turns an XML
  timestamp into (its tzinfo type depends on the machine's zone): `stamper` makes the same.
* ``botocore.awsrequest.AWSResponse``: built with its body where ``content`` keeps what it read
  (`wire_response`). (`_botocore_front.respond` also sets its attributes without ``__init__``,
  inline there: a function call on that path costs ~800 instructions a request.)

``import sscstub`` does not import ``botocore.handlers`` (it pulls in most of botocore, ~100 ms):
if it is not imported yet, a one-shot import hook appends the dispatcher as soon as it is.
"""

from __future__ import annotations

import datetime as _datetime_module
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._codegen import put

if TYPE_CHECKING:
    from ._store import Stamp

# Nothing from botocore at import time: `_hooks` imports this module when sscstub is imported,
# and `import sscstub` must stay cheap.


def timestamp_parser() -> Callable[[str], datetime]:
    from botocore.parsers import DEFAULT_TIMESTAMP_PARSER

    parse: Callable[[str], datetime] = DEFAULT_TIMESTAMP_PARSER
    return parse


def existing_emitters(lacking: Any) -> list[Any]:
    """Every botocore event emitter alive now (sessions' and clients': a client's
    ``meta.events`` wraps one) that does not carry ``lacking`` for IAM's ``before-call`` yet. None
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


def wire_response(url: str, status: int, headers: dict[str, str], data: bytes) -> Any:
    """An ``AWSResponse`` botocore reads as if it came off the network: its body is set where
    ``AWSResponse.content`` keeps what it read from the raw stream."""
    from botocore.awsrequest import AWSResponse

    response = AWSResponse(url, status, headers, None)  # type: ignore[arg-type]
    response._content = data  # type: ignore[attr-defined]
    return response


#: The attribute of ours on a botocore ServiceModel that `cache_on` sets (read inline on the hot
#: path, with ``getattr(model, CACHE_ATTRIBUTE, None)``: a call costs more than the read).
CACHE_ATTRIBUTE = "_sscstub_compiled_iam"


def cache_on(service_model: Any, value: Any, attribute: str = CACHE_ATTRIBUTE) -> None:
    setattr(service_model, attribute, value)


_cache_generation = [0]


def next_cache_attribute() -> str:
    """A new attribute name for compiled models, so those kept under the old one are ignored
    (`_model.clear_caches`); the stamper cache goes too."""
    global _stamp_cache
    _stamp_cache = None
    _cache_generation[0] += 1
    return f"{CACHE_ATTRIBUTE}_{_cache_generation[0]}"


def headers_dict(plain: dict[str, str]) -> Any:
    from botocore.awsrequest import HeadersDict

    return HeadersDict(plain)


# --- BUILTIN_HANDLERS --------------------------------------------------------------------------


def _add_builtins(handlers_module: ModuleType, entries: Sequence[tuple[Any, ...]]) -> None:
    """Entries are (event, handler) or (event, handler, True): the latter registered first."""
    builtins: list[Any] = handlers_module.BUILTIN_HANDLERS
    for event_name, handler, *first in entries:
        entry: tuple[Any, ...] = (event_name, handler)
        if first and first[0]:
            entry = (event_name, handler, handlers_module.REGISTER_FIRST)
        if entry not in builtins:
            builtins.append(entry)


def add_builtin_handlers(entries: Sequence[tuple[Any, ...]]) -> None:
    """Put ``entries`` in BUILTIN_HANDLERS now, or as soon as botocore.handlers is imported."""
    handlers_module = sys.modules.get("botocore.handlers")
    if handlers_module is not None:
        _add_builtins(handlers_module, entries)
    elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(tuple(entries)))


class _AfterImport:
    """A meta-path finder that wraps botocore.handlers' loader once, then removes itself."""

    def __init__(self, entries: tuple[tuple[Any, ...], ...]) -> None:
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
    def __init__(self, loader: Any, entries: tuple[tuple[Any, ...], ...]) -> None:
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


# --- timestamps exactly as botocore's parser makes them ----------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# freezegun swaps module attributes that are the real datetime class; inside a tuple it stays real.
_REAL = (datetime,)
_stamp_cache: tuple[Any, Stamp] | None = None


def bearer_token(request_signer: Any) -> str | None:
    """The bearer token a client will sign with (``AWS_BEARER_TOKEN_BEDROCK`` for Bedrock), read
    at before-call, before signing: botocore's ``RequestSigner`` keeps it in ``_auth_token``, a
    frozen token or a provider of one (``botocore/signers.py``)."""
    auth = getattr(request_signer, "_auth_token", None)
    if auth is None:
        return None
    if hasattr(auth, "get_frozen_token"):
        auth = auth.get_frozen_token()
    token = getattr(auth, "token", None)
    return token if isinstance(token, str) else None


def stamper() -> Stamp:
    """A function from epoch seconds to the datetime botocore's query parser would produce.

    dateutil gives ``tzlocal()`` when the machine's zone is named UTC and ``tzutc()`` otherwise
    (``dateutil.parser._build_tzaware``); the answer is cached per ``time.tzname``.
    """
    global _stamp_cache
    key = time.tzname
    cached = _stamp_cache
    if cached is None or cached[0] != key:
        cached = _stamp_cache = (key, _make_stamper(key))
    return cached[1]


def _make_stamper(key: tuple[str, str]) -> Stamp:
    parse = timestamp_parser()

    def iso(ts: int) -> str:
        return (_EPOCH + timedelta(seconds=ts)).strftime("%Y-%m-%dT%H:%M:%SZ")

    if "UTC" in key and key[0] != key[1]:
        # A zone whose standard or summer name alone is UTC: dateutil's choice depends on the
        # instant, so ask the parser each time (exact, slower, and rare).
        def exact(ts: int) -> datetime:
            parsed: datetime = parse(iso(ts))
            return parsed

        return exact
    tz: tzinfo | None = parse(iso(0)).tzinfo
    cache: dict[int, datetime] = {}  # datetimes are immutable; a record's repeat

    def fast(ts: int) -> datetime:
        cls = _datetime_module.datetime  # freezegun swaps the class; botocore's parser follows it
        value = cache.get(ts)
        if value is not None and type(value) is cls:
            return value
        value = (_EPOCH + timedelta(seconds=ts)).replace(tzinfo=tz)
        if cls is not _REAL[0]:
            value = cls(*value.timetuple()[:6], tzinfo=tz)
        return put(cache, ts, value)

    return fast
