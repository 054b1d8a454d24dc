"""`Controls`: the test API and the ``with`` protocol that `SSCStub` and `Server` share.

What a test does to the simulated IAM and reads from it (users, credentials, the call log,
injected errors, snapshots), over the one `Engine` its object owns. A subclass says how it
starts and stops, and whether setup made while stopped is kept for the next start.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from ._errors import AwsError, SscStubError

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._durable import Snapshot
    from ._engine import Engine
    from ._store import Call, Credential


class Controls:
    """The test API over one engine (a base class of `SSCStub` and `Server`)."""

    _engine: Engine
    _pending: list[Callable[[], None]]  # setup made while stopped, made again at start

    def _own(self, engine: Engine) -> None:
        """Take ``engine``, with no setup pending (each subclass's __init__ calls this)."""
        self._engine = engine
        self._pending = []

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def add_user(self, name: str) -> None:
        """Make an IAM user exist. While inactive, it is kept for the next activation too."""
        # Not imported at the top: `dataclasses` (and so `inspect`) would triple what
        # `import sscstub` costs; by now the stub's __init__ has loaded it anyway.
        from ._options import check_user_name

        check_user_name(name)
        self._setup(lambda: self._engine.add_user(name))

    def remove_user(self, name: str) -> None:
        """Delete a user, refused (as IAM's DeleteUser is) while it has credentials."""
        _need_str("remove_user", "name", name, "a user name, e.g. 'jane'")
        try:
            self._engine.remove_user(name)
        except AwsError as error:
            raise SscStubError(
                f"remove_user({name!r}): {error.code}: {error.message}",
                "Delete the user's service-specific credentials first, as IAM requires."
                if error.code == "DeleteConflict"
                else "Pass a user that exists (stub.users lists them).",
                "the-test-api",
            ) from None

    @property
    def users(self) -> frozenset[str]:
        return self._engine.users()

    @property
    def credentials(self) -> tuple[Credential, ...]:
        """Every stored credential, oldest first, with its status as of now; no secrets."""
        return self._engine.credentials()

    @property
    def calls(self) -> tuple[Call, ...]:
        """Every call served since activation, in order (read-only)."""
        return self._engine.calls

    @property
    def dropped_calls(self) -> int:
        """How many calls a server's bounded log has let go (a stub keeps every call: 0)."""
        return self._engine.dropped_calls

    def authenticate(
        self, service_user_name: str, password: str, *, service_name: str | None = None
    ) -> bool:
        """True only for the current password of an Active, unexpired credential."""
        _need_str("authenticate", "service_user_name", service_user_name, "e.g. 'jane-at-…'")
        _need_str("authenticate", "password", password, "the ServicePassword a call returned")
        if service_name is not None:
            _need_str("authenticate", "service_name", service_name, "or None")
        return self._engine.authenticate_password(service_user_name, password, service_name)

    def authenticate_api_key(self, api_key: str, *, service_name: str | None = None) -> bool:
        """True only for the current secret of an Active, unexpired API key, in the format of
        the service it was issued for (of ``service_name``, when given)."""
        _need_str("authenticate_api_key", "api_key", api_key, "the ServiceCredentialSecret")
        if service_name is not None:
            _need_str("authenticate_api_key", "service_name", service_name, "or None")
        return self._engine.authenticate_api_key(api_key, service_name)

    def inject_error(
        self, operation: str, code: str, message: str | None = None, *, times: int | None = 1
    ) -> None:
        """Make the next ``times`` calls of ``operation`` fail with ``code`` (None: every call).

        ``operation`` is an API name or a client method name; ``code`` is any error the IAM model
        defines or a common AWS one (``Throttling``); it gets its HTTP status and fault type.
        While inactive, it is kept for the next activation.
        """
        _need_str(
            "inject_error", "operation", operation, "e.g. 'create_service_specific_credential'"
        )
        _need_str("inject_error", "code", code, "an error code such as 'Throttling'")
        if message is not None:
            _need_str("inject_error", "message", message, "or None for IAM's default")
        self._engine.check_fault(operation, code, times)  # misuse fails now, not at start()
        self._setup(lambda: self._engine.inject(operation, code, message, times))

    def snapshot(self) -> Snapshot:
        """The users and credentials now (secret digests included; not the call log), for
        `restore`: build a slow fixture's state once, restore it in each test."""
        return self._engine.snapshot()

    def restore(self, snapshot: Snapshot) -> None:
        """Bring back exactly the users and credentials of ``snapshot``; the current secrets
        then authenticate again. Calls and injected errors are left as they are."""
        self._engine.restore(snapshot)

    def reset(self) -> None:
        """Forget all credentials, calls and injected errors; keep the configured users."""
        self._pending.clear()
        self._engine.reset()

    def _setup(self, change: Callable[[], None]) -> None:
        change()
        if self._keeps_setup():  # start() begins afresh: keep it for then
            self._pending.append(change)

    def _keeps_setup(self) -> bool:
        """Whether setup made now is made again at the next start (it begins afresh)."""
        return False


def _need_str(method: str, name: str, value: object, example: str) -> None:
    if not isinstance(value, str):
        raise SscStubError(
            f"{method}() got {name}={value!r}, which is not a str.",
            f"Pass a str: {example}.",
            "the-test-api",
        )
