"""Everything sscstub registers with botocore, declared once as data.

One dispatcher, on ``before-call.*.*`` and registered first (so it runs before a Stubber's
handler there), answers every IAM operation and checks the long-term API key of every call to
Bedrock (``check_api_key``); any other call costs it two string tests.
It holds no state: it asks the single active engine, and returns None (botocore carries on as
if sscstub did not exist) while no stub is active.

It reaches clients in three ways:

* it is appended to ``botocore.handlers.BUILTIN_HANDLERS``, which botocore copies into every
  Session it creates; each client copies its session's handlers when it is created
  (``botocore/args.py``: ``copy.copy(self._event_emitter)``), so all clients made after
  ``import sscstub`` carry it, whether they are created before or after a stub is activated;
* at the first activation in a process, it is registered on every botocore emitter that exists
  then (found through the garbage collector), so sessions and clients made before
  ``import sscstub`` are served too;
* ``SSCStub.attach()`` registers it on one emitter for the activations of one stub.

How the dispatcher gets into ``BUILTIN_HANDLERS`` is in `_botocore_internals`; how an answer is
shaped for botocore is in `_botocore_front`, which is imported at the first activation (it
pulls in botocore's response classes: ``import sscstub`` stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ._botocore_internals import add_builtin_handlers, existing_emitters
from ._errors import UnsimulatedOperationError

if TYPE_CHECKING:
    from types import ModuleType

    from ._engine import Engine


class Emitter(Protocol):
    def register(self, event_name: str, handler: Any, unique_id: str | None = ...) -> None: ...

    def unregister(
        self, event_name: str, handler: Any = ..., unique_id: str | None = ...
    ) -> Any: ...


_active: Engine | None = None
_front: ModuleType | Any = None  # `_botocore_front`, from the first activation on
_answer_call: Any = None  # its answer_call, for one global lookup per call on the hot path


def active() -> Engine | None:
    return _active


def set_active(engine: Engine | None) -> None:
    """Make ``engine`` the one the dispatchers ask (None: no stub is active)."""
    global _active, _front, _answer_call
    if engine is not None and _front is None:
        from . import _botocore_front

        _front, _answer_call = _botocore_front, _botocore_front.answer_call
    _active = engine


_MODEL_KEY = "sscstub_operation_model"
_BEDROCK_EVENTS = ("before-call.bedrock-runtime.", "before-call.bedrock.")
_KEY_ACCEPTED = "sscstub_api_key_accepted"
_RENAME_KEY = "sscstub_rename"


def dispatch(event_name: str, model: Any, params: Any, context: Any = None, **kwargs: Any) -> Any:
    """``before-call.*.*``, registered first (before a Stubber's): for IAM, answer with
    ``(http_response, parsed)`` while a stub is active (in wire mode, only stop what strict mode
    stops, and leave the answer to `dispatch_wire`); for Bedrock, check the call's long-term
    API key (`check_api_key`); any other call costs two string tests."""
    engine = _active
    if engine is None:
        return None
    if not event_name.startswith("before-call.iam."):
        if event_name.startswith(_BEDROCK_EVENTS):
            return check_api_key(engine, model, context, kwargs.get("request_signer"))
        return None
    if model.name == "UpdateUser" and context is not None:  # followed after moto renames
        body = params.get("body", {})
        context[_RENAME_KEY] = (body.get("UserName"), body.get("NewUserName"))
    if engine.wire:
        _front.screen(engine, model.name, kwargs.get("request_signer"))
        if context is not None:
            context[_MODEL_KEY] = model  # travels with the request to before-send
        return None
    return _answer_call(engine, model.name, params, model)


def dispatch_wire(request: Any, **kwargs: Any) -> Any:
    """``before-send.iam``: in wire mode, answer with IAM's XML in an HTTP response, which
    botocore then parses, retries and hands to after-call as if it came from AWS."""
    engine = _active
    if engine is None or not engine.wire:
        return None
    context = getattr(request, "context", None) or {}
    return _front.answer_request(engine, request, context.get(_MODEL_KEY))


def follow_rename(http_response: Any, context: Any = None, **kwargs: Any) -> None:
    """``after-call.iam.UpdateUser``: when moto (or the upstream) renamed a user, its
    credentials follow."""
    engine = _active
    if engine is None or context is None or getattr(http_response, "status_code", 0) != 200:
        return
    old, new = context.get(_RENAME_KEY) or (None, None)
    if isinstance(old, str) and isinstance(new, str) and engine.passes_on():
        engine.rename_user(old, new)


def check_api_key(engine: Engine, model: Any, context: Any, request_signer: Any) -> Any:
    """A Bedrock call signed with a long-term API key, checked against the active stub's keys
    before anything else can answer it (botocore calls ``before-call.*.*`` handlers, a
    Stubber's among them, before service-specific ones)."""
    return _front.check_api_key(engine, model, request_signer, context, _KEY_ACCEPTED)


def stop_accepted_key(request: Any, event_name: str = "", **kwargs: Any) -> Any:
    """``before-send.bedrock*``: in strict mode, a call whose key was accepted and that nothing
    answered does not reach the network (unless moto's mock is there to answer it).

    botocore before 1.44 prepares the request for ``before-send`` without the call's
    ``context``, where `check_api_key` leaves its mark; there, the request's own bearer token
    says it (a refused key never gets this far) and the event names the operation."""
    engine = _active
    if engine is None or not engine.strict:
        return None
    context = getattr(request, "context", None) or {}
    operation = context.get(_KEY_ACCEPTED)
    if operation is None and _front.signs_with_long_term_key(request):
        _, _, service_operation = event_name.partition(".")
        operation = service_operation.replace(".", ":", 1)
    if operation is not None and not engine.composes_with_moto():
        raise UnsimulatedOperationError(
            operation,
            "The Bedrock API key was accepted (sscstub issued it, and it is current), but"
            " Bedrock's own answer is not simulated, and nothing else answered the call.",
        )
    return None


# (event, handler, registered first)
EVENTS: tuple[tuple[str, Any, bool], ...] = (
    ("before-call.*.*", dispatch, True),
    ("before-send.iam", dispatch_wire, False),
    ("after-call.iam.UpdateUser", follow_rename, False),
    ("before-send.bedrock-runtime", stop_accepted_key, False),
    ("before-send.bedrock", stop_accepted_key, False),
)


def install(emitter: Emitter, unique_id: str) -> None:
    for event_name, handler, first in EVENTS:
        register = _first(emitter) if first else emitter.register
        register(event_name, handler, unique_id=f"{unique_id}:{event_name}")


def _first(emitter: Any) -> Any:
    """``register_first`` of an emitter, or of a botocore Session's (which has none itself)."""
    first = getattr(emitter, "register_first", None)
    if first is None and hasattr(emitter, "get_component"):
        first = emitter.get_component("event_emitter").register_first
    return first if first is not None else emitter.register


def uninstall(emitter: Emitter, unique_id: str) -> None:
    for event_name, _handler, _first in reversed(EVENTS):
        emitter.unregister(event_name, unique_id=f"{unique_id}:{event_name}")


EARLY_ID = "sscstub-dispatch"
_reached = [False]


def reach_existing_emitters(once: bool = True) -> int:
    """Register the dispatcher on every emitter that exists already (sessions and clients made
    before ``import sscstub``, which BUILTIN_HANDLERS does not reach); returns how many. Done at
    the first activation in a process (clients made after the import carry the dispatcher
    anyway). Idempotent: botocore ignores a second registration under the same unique id."""
    if once and _reached[0]:
        return 0
    _reached[0] = True
    emitters = existing_emitters(dispatch)
    for emitter in emitters:
        install(emitter, EARLY_ID)
    return len(emitters)


def skip_existing_emitters() -> None:
    """For a caller that attaches every emitter it needs itself (the AWS CLI plugin)."""
    _reached[0] = True


def register_builtins() -> None:
    """Put the dispatcher in BUILTIN_HANDLERS now, or as soon as botocore.handlers is imported."""
    add_builtin_handlers(EVENTS)
