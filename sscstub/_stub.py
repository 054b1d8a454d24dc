"""`SSCStub`: one object that is a context manager, a decorator and (through the plugin) a
pytest fixture, around a stateful simulator of IAM service-specific credentials."""

from __future__ import annotations

import functools
import os
import sys
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast, overload

from . import _hooks
from ._controls import Controls
from ._errors import SscStubError, UnknownOptionError

if TYPE_CHECKING:
    from inspect import Signature

    from typing_extensions import ParamSpec, Self

    from ._engine import Engine
    from ._secrets import Seed

    P = ParamSpec("P")

R = TypeVar("R")
C = TypeVar("C", bound=type)

_activation = threading.Lock()
# SSCStub's keywords (tests/test_options.py holds them to `Options`' fields)
_OPTION_NAMES = frozenset(
    ("users", "account_id", "caller", "strict", "seed", "services", "wire", "state", "moto")
    + ("upstream",)
)


def _fresh_lock_after_fork() -> None:
    global _activation
    _activation = threading.Lock()  # a parent's thread may have held it at fork time


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_lock_after_fork)


class _InitSignature:
    """What ``inspect.signature(SSCStub)`` (and so ``help``) shows: ``__init__``'s keywords,
    not ``__new__``'s catch-all; made on first use (``import sscstub`` imports no `inspect`)."""

    def __get__(self, instance: object, owner: type) -> Signature:
        import inspect

        signature = inspect.signature(SSCStub.__init__)
        return signature.replace(parameters=list(signature.parameters.values())[1:])


class SSCStub(Controls):
    """A local, stateful IAM that answers the service-specific credential operations.

    Activate it with ``with``, as a decorator, or through the ``ssc_stub`` pytest fixture;
    every activation starts from fresh state. All options are keyword-only:

    :param users: IAM user names that exist.
    :param account_id: the 12-digit account the credentials belong to (default: moto's
        ``MOTO_ACCOUNT_ID`` if set, else 123456789012).
    :param caller: the IAM user the caller is (what an omitted ``UserName`` means); it exists.
    :param strict: stop any other IAM operation with `UnsimulatedOperationError` (default) or
        let it through to botocore (``False``).
    :param seed: make ids, secrets and request ids reproducible for this stub.
    :param services: service name -> ``"password"`` or ``"api-key"``, replacing the services
        IAM supports today (`sscstub.DEFAULT_SERVICES`).
    :param wire: answer at ``before-send`` with IAM's XML, so botocore's parser, retries and
        ``after-call`` handlers run as against AWS (slower; the default answers at
        ``before-call``).
    :param state: a SQLite file to keep the state in (users, credentials, secret digests): it
        survives restarts and may be shared by several processes (`sscstub serve --state`, the
        AWS CLI plugin). Without it, the state lives in memory.
    :param moto: compose with moto's ``mock_aws``: other IAM operations go to moto, users are
        moto's, ``DeleteUser`` gets ``DeleteConflict`` while credentials exist. ``None``
        (default): while moto's mock is on; ``False``: never (strict mode raises).
    :param upstream: an endpoint URL (a moto server) whose IAM has the users: a user sscstub
        does not know is looked up there with ``GetUser``, ``DeleteUser`` gets
        ``DeleteConflict`` while credentials exist, and other IAM operations go on to it.

    The validated options are on ``.options`` (an `Options`). ``mock_ssc`` is this class.
    """

    __signature__: ClassVar[_InitSignature] = _InitSignature()

    def __new__(cls, *args: object, **options: object) -> Self:
        """Check the options first, so that a misspelt one is named with the nearest (Python's
        own TypeError names neither); `__init__` holds the signature type checkers read."""
        if args:
            raise UnknownOptionError(
                f"mock_ssc() takes keyword options only, and got {len(args)} positional.",
                "Name each option, e.g. mock_ssc(users=['jane']).",
                "options",
            )
        if not _OPTION_NAMES.issuperset(options):
            from ._options import check_keywords, option_names

            check_keywords("mock_ssc()", options, option_names())
        return super().__new__(cls)

    def __init__(
        self,
        *,
        users: Iterable[str] = (),
        account_id: str | None = None,
        caller: str | None = None,
        strict: bool = True,
        seed: Seed | None = None,
        services: Mapping[str, str] | None = None,
        wire: bool = False,
        state: str | os.PathLike[str] | None = None,
        moto: bool | None = None,
        upstream: str | None = None,
    ) -> None:
        # Imported here, not at the top, for import cost: the engine pulls in the model compiler
        # and the options `dataclasses` (and so `inspect`), and `import sscstub` must stay cheap
        # (the pytest plugin runs it in every test process).
        from ._engine import Engine
        from ._options import Options

        self.options: Options = Options.from_keywords(
            users=users,
            account_id=account_id,
            caller=caller,
            strict=strict,
            seed=seed,
            services=services,
            wire=wire,
            state=state,
            moto=moto,
            upstream=upstream,
        )
        lookup = _user_lookup(self.options)
        self._own(Engine(self.options, elsewhere=lookup))
        if lookup is not None:
            lookup.own = self._engine.own_user
        self._attached: list[weakref.ref[Any]] = []
        self._installed: list[_hooks.Emitter] = []
        self._id = f"sscstub-{id(self):x}"

    def __repr__(self) -> str:
        state = "active" if self.active else "inactive"
        count = len(self._engine.credentials())
        return f"<SSCStub {state} account={self.account_id} credentials={count}>"

    # --- activation -----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return _hooks.active() is self._engine

    @property
    def account_id(self) -> str:
        return self._engine.account_id

    def start(self) -> Self:
        """Activate with fresh state (plus the setup made while inactive). Prefer ``with`` or
        the decorator, which always stop."""
        with _activation:
            current = _hooks.active()
            if current is not None:
                raise _already_active(current, current is self._engine)
            engine = self._engine
            engine.activate()
            try:
                for setup in self._pending:
                    setup()
                self._pending.clear()
                _hooks.register_builtins()
                _hooks.reach_existing_emitters()  # the first activation only
                for ref in self._attached:
                    emitter = ref()
                    if emitter is not None:
                        _hooks.install(emitter, self._id)
                        self._installed.append(emitter)
            except BaseException:
                self._uninstall()
                engine.close()
                raise
            engine.owner = weakref.ref(self)
            engine.started_at = _caller()
            _hooks.set_active(engine)
        return self

    def stop(self) -> None:
        """Deactivate, remove what `start` installed and close the state file. Idempotent;
        state stays readable."""
        with _activation:
            try:
                if _hooks.active() is self._engine:
                    _hooks.set_active(None)
                    self._engine.retire()
            finally:
                self._uninstall()
                self._engine.close()

    def _uninstall(self) -> None:
        while self._installed:
            _hooks.uninstall(self._installed.pop(), self._id)

    def _keeps_setup(self) -> bool:
        return not self.active

    def attach(self, target: Any) -> None:
        """Serve a client (or boto3 resource, or session) whose emitter sscstub's dispatcher
        cannot reach by itself (see the docs), for every activation of this stub."""
        emitter = _emitter_of(target)
        # Drop the dead, and do not attach the same emitter twice.
        self._attached = [r for r in self._attached if r() is not None and r() is not emitter]
        self._attached.append(weakref.ref(emitter))
        if self.active:
            with _activation:
                if not any(e is emitter for e in self._installed):
                    _hooks.install(emitter, self._id)
                    self._installed.append(emitter)

    # --- the decorator --------------------------------------------------------------------------

    @overload
    def __call__(self, func: C) -> C: ...

    @overload
    def __call__(
        self, func: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, func: Any) -> Any:
        """Decorate a test function (sync or ``async def``) or a test class."""
        import inspect  # here, not at import: `import sscstub` stays cheap

        if isinstance(func, type):
            return self._decorate_class(func)
        if not callable(func):
            raise SscStubError(
                f"mock_ssc() cannot decorate {func!r}.",
                "Decorate a function, an async function or a class, or use `with mock_ssc():`.",
                "ways-to-use-it",
            )
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            wrapped: Any = async_wrapper
        elif inspect.isasyncgenfunction(func):
            # Active while the generator runs, not just while it is created (as time-machine).
            @functools.wraps(func)
            async def async_gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self:
                    async for item in func(*args, **kwargs):
                        yield item

            wrapped = async_gen_wrapper
        elif inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return (yield from func(*args, **kwargs))

            wrapped = gen_wrapper
        else:

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return func(*args, **kwargs)

            wrapped = wrapper
        wrapped.__sscstub__ = self
        return wrapped

    def _decorate_class(self, cls: C) -> C:
        import inspect

        unittest = sys.modules.get("unittest")  # a TestCase subclass means it is imported
        if unittest is not None and issubclass(cls, unittest.TestCase):
            return cast("C", self._decorate_test_case(cls))
        # What pytest collects: test* functions, static and class methods, inherited ones too
        # (set on this class, so a base class is left as it was). A method a decorated base
        # already wraps keeps its own stub.
        for name in dir(cls):
            if not name.startswith("test"):
                continue
            member = inspect.getattr_static(cls, name)
            if isinstance(member, (staticmethod, classmethod)):
                function = member.__func__
                if inspect.isfunction(function) and not hasattr(function, "__sscstub__"):
                    setattr(cls, name, type(member)(self(function)))
            elif inspect.isfunction(member) and not hasattr(member, "__sscstub__"):
                setattr(cls, name, self(member))
        return cls

    def _decorate_test_case(self, cls: type[Any]) -> type[Any]:
        # Active from before setUp until after the cleanups, which run even when setUp fails.
        original_setup: Callable[[Any], None] = cls.setUp

        @functools.wraps(original_setup)
        def setUp(case: Any) -> None:  # noqa: N802
            self.start()
            case.addCleanup(self.stop)
            original_setup(case)

        cls.setUp = setUp
        return cls


def _user_lookup(options: Any) -> Any:
    """With ``upstream=``: users the stub does not have are asked of the upstream's IAM
    (``GetUser``, signed with the caller's access key id, as the AWS CLI plugin has it)."""
    if options.upstream is None:
        return None
    from ._relay import Upstream, UserLookup

    upstream = Upstream(options.upstream)
    return UserLookup(lambda name: upstream.find_user(name, os.environ.get("AWS_ACCESS_KEY_ID")))


def stop_all() -> SSCStub | None:
    """Stop whichever stub is active (one started and never stopped, say); return it, or None."""
    engine = _hooks.active()
    stub = engine.owner() if engine is not None and engine.owner is not None else None
    if stub is not None:
        stub.stop()
    elif engine is not None:  # its stub is gone: only the slot is left to clear
        with _activation:
            _hooks.set_active(None)
            engine.retire()
    return stub


FIXTURE = "the ssc_stub fixture"  # how a fixture's stub names where it started


def _already_active(current: Engine, same: bool) -> SscStubError:
    holder = current.owner() if current.owner is not None else None
    started = current.started_at
    if started.startswith(FIXTURE):
        return SscStubError(
            f"This test already has an active stub: {started} started it (the test names"
            " ssc_stub, or has an ssc_stub marker).",
            "Use that one: take ssc_stub as the test's argument and configure it with"
            " @pytest.mark.ssc_stub(...), and remove the decorator or `with mock_ssc()`.",
            "ways-to-use-it",
        )
    where = f", started at {started}" if started else ""
    return SscStubError(
        f"This stub is already active{where}."
        if same
        else f"Another sscstub stub is already active: {holder!r}{where}.",
        "Stubs do not nest: exit the active one first, or share one stub (for example"
        " through the ssc_stub fixture) instead of activating a second;"
        " sscstub.stop_all() stops a stub that was started and never stopped.",
        "ways-to-use-it",
    )


def _caller() -> str:
    """Where the user's code started a stub: the first frame outside sscstub and contextlib."""
    frame = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename.startswith(_HERE) or "contextlib" in frame.f_code.co_filename
    ):
        frame = frame.f_back  # type: ignore[assignment]
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "?"


_HERE = os.path.dirname(__file__)


#: ``mock_ssc(...)`` reads well at a call site; it is `SSCStub` itself (as time-machine's
#: ``travel`` is its class), so the options are declared once.
mock_ssc = SSCStub


def _emitter_of(target: Any) -> _hooks.Emitter:
    meta = getattr(target, "meta", None)
    if meta is not None and hasattr(meta, "events"):  # botocore/boto3 client
        return cast("_hooks.Emitter", meta.events)
    if meta is not None and hasattr(meta, "client"):  # boto3 resource
        return cast("_hooks.Emitter", meta.client.meta.events)
    events = getattr(target, "events", None)
    if events is not None and hasattr(events, "register"):  # boto3 Session
        return cast("_hooks.Emitter", events)
    if callable(getattr(target, "register", None)) and callable(
        getattr(target, "unregister", None)
    ):
        return cast("_hooks.Emitter", target)  # botocore Session or an emitter
    raise SscStubError(
        f"attach() cannot find botocore's event emitter on {target!r}.",
        "Pass a botocore or boto3 client, a boto3 resource, or a boto3/botocore Session.",
        "how-it-hooks-botocore",
    )
