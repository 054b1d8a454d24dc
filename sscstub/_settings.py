"""`Settings`: how an endpoint serves, declared once, as `Options` are: `sscstub.serve`'s
keywords, the ``ssc_server`` marker's and the ``sscstub serve`` flags are made from these fields
(a test holds `serve`'s signature to them)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ._errors import SscStubError
from ._options import FieldDoc


def _port(text: str) -> int:
    port = int(text) if text.strip().isdigit() else -1
    if not 0 <= port <= 65535:
        raise ValueError(f"{text!r} is not a TCP port (0 to 65535; 0: a free one)")
    return port


def _doc(text: str, **how: Any) -> dict[str, FieldDoc]:
    return {"doc": FieldDoc(text, plugin=False, **how)}


DEFAULT_PORT = 4599  # `sscstub serve`'s; in Python, 0 (a free port)


@dataclass(frozen=True)
class Settings:
    """How one endpoint serves. Build it with keywords; bad values raise `SscStubError`."""

    host: str = field(default="127.0.0.1", metadata=_doc("address to bind"))
    port: int = field(
        default=0,
        metadata=_doc("port; 0 picks a free one", parse=_port, command_default=DEFAULT_PORT),
    )
    allow_hosts: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "a Host name besides loopback's that requests may carry (repeatable)", repeat=True
        ),
    )
    max_calls: int = field(
        default=10_000, metadata=_doc("calls the log keeps (the most recent)", parse=int)
    )
    idle_timeout: float = field(
        default=5.0,
        metadata=_doc("seconds an idle connection, or an unfinished request, is kept", parse=float),
    )
    max_connections: int | None = field(
        default=None,
        metadata=_doc(
            "connections open at once, past which a new one gets 503 (default: half the"
            " open-file limit, 1,000 at most)",
            parse=int,
        ),
    )
    create_repos: bool = field(
        default=False,
        metadata=_doc(
            "a git push to a repository at /v1/repos/NAME that does not exist creates it",
            switch=True,
        ),
    )
    verbose: bool = field(default=False, metadata=_doc("log each request to stderr", switch=True))
    cql_port: int | None = field(
        default=None,
        metadata=_doc(
            "a port for Amazon Keyspaces' CQL, where Cassandra drivers sign in with Keyspaces"
            " passwords; 0 picks a free one",
            parse=_port,
        ),
    )
    cql_tls: bool = field(
        default=False,
        metadata=_doc(
            "serve CQL over TLS, as Keyspaces does, with a certificate from a throwaway CA",
            switch=True,
        ),
    )

    def __post_init__(self) -> None:
        if not self.host:
            raise SscStubError(
                "host='' would bind every interface.",
                "Pass an address: 127.0.0.1 (the default) keeps the endpoint on this machine.",
                "the-local-endpoint",
            )
        _check_port("port", self.port, "Pass 0 to 65535 (0: a free one).", "the-local-endpoint")
        if self.cql_port is not None:
            _check_port(
                "cql_port",
                self.cql_port,
                "Pass 0 to 65535 (0: a free one), or None for no CQL listener.",
                "keyspaces-over-cql",
            )
        if self.cql_tls and self.cql_port is None:
            raise SscStubError(
                "cql_tls=True without a CQL listener.",
                "Pass cql_port=0 (--cql-port 0) too.",
                "keyspaces-over-cql",
            )
        allow: Any = self.allow_hosts
        if isinstance(allow, str):
            allow = (allow,)
        object.__setattr__(self, "allow_hosts", tuple(allow))
        for name in ("max_calls", "idle_timeout"):
            value: Any = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise SscStubError(
                    f"{name}={value!r} is not a positive number.",
                    f"Pass a number above 0 (default {_default(name)}).",
                    "the-local-endpoint",
                )
        if self.max_connections is None:
            object.__setattr__(self, "max_connections", default_max_connections())
        elif isinstance(self.max_connections, bool) or self.max_connections < 1:
            raise SscStubError(
                f"max_connections={self.max_connections!r}.",
                "Pass a whole number above 0, or None for half the open-file limit.",
                "the-local-endpoint",
            )

    @classmethod
    def documented(cls) -> list[tuple[str, FieldDoc]]:
        """Every setting's name and how the command line takes it, in declaration order."""
        return [(f.name, f.metadata["doc"]) for f in fields(cls)]


def _check_port(name: str, port: Any, todo: str, anchor: str) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise SscStubError(f"{name}={port!r} is not a TCP port.", todo, anchor)


def _default(name: str) -> Any:
    return next(f.default for f in fields(Settings) if f.name == name)


def default_max_connections() -> int:
    """Well below the open-file limit, so accepting never fails for lack of descriptors."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 512
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(8, min(1000, soft // 2))


SETTING_NAMES = tuple(f.name for f in fields(Settings))
