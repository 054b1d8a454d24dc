"""`Options`: what a stub is configured with, validated once, shared by every front end.

`SSCStub` (and so `mock_ssc`), the pytest marker, ``sscstub serve`` and the AWS CLI plugin all
build one of these. Each field declares once how the text front ends take it (`FieldDoc`): the
marker's help line, the ``sscstub serve`` flags and the plugin's ``SSCSTUB_*`` variables are
made from these fields, and a test holds `SSCStub.__init__` and `StubOptions` to them, so a new
option is a field here and a parameter of `SSCStub.__init__`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import Field, dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from typing_extensions import TypedDict, Unpack

    class StubOptions(TypedDict, total=False):
        """`SSCStub`'s keyword options, for ``**options`` elsewhere (a test holds it to them)."""

        users: Iterable[str]
        account_id: str | None
        caller: str | None
        strict: bool
        seed: Seed | None
        services: Mapping[str, str] | None
        wire: bool
        state: str | os.PathLike[str] | None
        moto: bool | None
        upstream: str | None


from ._errors import SscStubError, UnknownOptionError
from ._operations import DEFAULT_SERVICES, valid_service_name, valid_user_name
from ._secrets import Seed
from ._store import API_KEY, PASSWORD

DEFAULT_ACCOUNT = "123456789012"


def names_in(text: str) -> list[str]:
    """``"jane, bob"`` -> ``["jane", "bob"]``."""
    return [name for name in (part.strip() for part in text.split(",")) if name]


def services_in(text: str) -> dict[str, str]:
    """``"x.amazonaws.com=api-key,y.amazonaws.com"`` -> kinds (``password`` by default)."""
    out = {}
    for item in names_in(text):
        service, _, kind = item.partition("=")
        out[service.strip()] = kind.strip() or PASSWORD
    return out


def flag_in(text: str) -> bool:
    """``0``, ``false``, ``no`` and ``off`` are False; anything else is True."""
    return text.strip().lower() not in ("0", "false", "no", "off")


class FieldDoc(NamedTuple):
    """How the text front ends take one option."""

    help: str
    serve: bool = True  # a flag of `sscstub serve`
    plugin: bool = True  # an SSCSTUB_* variable of the AWS CLI plugin
    parse: Callable[[str], Any] = str  # from the text of a flag or variable
    switch: bool = False  # a flag of `sscstub serve` that takes no value (sets True)
    repeat: bool = False  # a flag of `sscstub serve` given once per value (a list)
    command_default: Any = None  # `sscstub serve`'s default, where it differs from Python's

    def variable(self, name: str) -> str:
        return f"SSCSTUB_{name.upper()}"

    def flag(self, name: str) -> str:
        return f"--{name.replace('_', '-')}"


def _doc(text: str, **how: Any) -> dict[str, FieldDoc]:
    return {"doc": FieldDoc(text, **how)}


@dataclass(frozen=True)
class Options:
    """The validated options of one stub. Build it with keywords; bad values raise
    `SscStubError` saying what to pass instead."""

    users: tuple[str, ...] = field(
        default=(), metadata=_doc("IAM user names that exist, comma-separated", parse=names_in)
    )
    # moto's account when its MOTO_ACCOUNT_ID says one (so composed stubs agree), else IAM's
    # documentation's example account.
    account_id: str = field(
        default_factory=lambda: os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT,
        metadata=_doc(f"the 12-digit account (default: $MOTO_ACCOUNT_ID, else {DEFAULT_ACCOUNT})"),
    )
    caller: str | None = field(
        default=None, metadata=_doc("the IAM user an omitted UserName means")
    )
    strict: bool = field(
        default=True,
        metadata=_doc(
            "stop other IAM operations (0 lets them through)", serve=False, parse=flag_in
        ),
    )
    seed: Seed | None = field(default=None, metadata=_doc("make ids and secrets reproducible"))
    services: Mapping[str, str] = field(
        default_factory=lambda: DEFAULT_SERVICES,
        metadata=_doc(
            "replace the supported services (default: the seven IAM supports):"
            " name=password|api-key, comma-separated",
            parse=services_in,
        ),
    )
    wire: bool = field(
        default=False,
        metadata=_doc("answer with IAM's XML at before-send", serve=False, plugin=False),
    )
    state: str | None = field(
        default=None,
        metadata=_doc("a SQLite file that keeps the state across processes (default: in memory)"),
    )
    moto: bool | None = field(
        default=None,
        metadata=_doc(
            "compose with moto: in process, with its mock_aws (None: while it is on); an"
            " endpoint serves every other request with moto's own dispatch",
            plugin=False,
            switch=True,
        ),
    )
    upstream: str | None = field(
        default=None,
        metadata=_doc(
            "an endpoint URL (a moto server, LocalStack) that has the IAM users, and to which an"
            " endpoint relays every other request"
        ),
    )

    def __post_init__(self) -> None:
        users: Any = self.users
        if isinstance(users, str):
            raise SscStubError(
                f"users={users!r} is a single string.",
                f"Pass a list of user names: users=[{users!r}].",
                "options",
            )
        object.__setattr__(self, "users", tuple(users))
        seen: dict[str, str] = {}
        for name in (*self.users, *([self.caller] if self.caller is not None else [])):
            check_user_name(name)
            other = seen.setdefault(name.lower(), name)
            if other != name:
                raise SscStubError(
                    f"users {other!r} and {name!r} differ only in case, and IAM user names are"
                    " not distinguished by case.",
                    "Give each user once, in the case it was created with.",
                    "options",
                )
        account_id: Any = self.account_id
        if not (
            isinstance(account_id, str)
            and len(account_id) == 12
            and account_id.isascii()
            and account_id.isdigit()
        ):
            raise SscStubError(
                f"account_id={account_id!r} is not an AWS account id.",
                'Pass 12 digits (ASCII 0-9) as a string, e.g. account_id="123456789012".',
                "options",
            )
        seed: Any = self.seed
        if seed is not None and not isinstance(seed, (int, str, bytes)):
            raise SscStubError(
                f"seed={seed!r} cannot seed sscstub.", "Pass an int, str or bytes.", "options"
            )
        services = {}
        for service, kind in dict(self.services).items():
            if not isinstance(service, str) or not valid_service_name(service):
                raise SscStubError(
                    f"services has the name {service!r}, which IAM would refuse.",
                    "Use letters, digits, '.' and '-', e.g. 'codecommit.amazonaws.com'.",
                    "options",
                )
            services[service.lower()] = kind  # IAM reads service names without regard to case
            if kind not in (PASSWORD, API_KEY):
                raise SscStubError(
                    f"services[{service!r}] is {kind!r}.",
                    'Each service must be "password" or "api-key".',
                    "options",
                )
        object.__setattr__(self, "services", MappingProxyType(services))
        object.__setattr__(self, "strict", bool(self.strict))
        object.__setattr__(self, "wire", bool(self.wire))
        if self.moto not in (None, True, False):
            raise SscStubError(
                f"moto={self.moto!r}.",
                "Pass None (compose while moto's mock is on), True or False.",
                "options",
            )
        state: Any = self.state
        if state is not None:
            if not isinstance(state, (str, os.PathLike)):
                raise SscStubError(
                    f"state={state!r} is not a path.",
                    'Pass the path of a SQLite file, e.g. state="ssc-state.db".',
                    "options",
                )
            path = os.fspath(state)
            if path in ("", ":memory:") or path.startswith("file::memory:"):
                raise SscStubError(
                    f"state={path!r} keeps nothing: SQLite takes it as a database in memory.",
                    'Pass the path of a file, e.g. state="ssc-state.db" (or no state at all).',
                    "options",
                )
            object.__setattr__(self, "state", path)
        upstream: Any = self.upstream
        if upstream is not None:
            if not isinstance(upstream, str) or not upstream.startswith(("http://", "https://")):
                raise SscStubError(
                    f"upstream={upstream!r} is not an endpoint URL.",
                    'Pass one like "http://127.0.0.1:5000" (a moto server).',
                    "with-moto-and-other-endpoints",
                )
            if self.moto:
                raise SscStubError(
                    "moto=True and upstream= both say where other requests go.",
                    "Pass one: moto=True serves them with moto in this process, upstream= relays"
                    " them to another endpoint.",
                    "with-moto-and-other-endpoints",
                )

    @classmethod
    def documented(cls) -> list[tuple[str, FieldDoc]]:
        """Every option's name and how the text front ends take it, in declaration order."""
        return [(f.name, _field_doc(f)) for f in fields(cls)]

    @classmethod
    def from_text(cls, texts: Mapping[str, str]) -> dict[str, Any]:
        """Keywords for `from_keywords` from option texts (flags, variables) by option name;
        a text that cannot be read raises `SscStubError` naming the option."""
        docs = dict(cls.documented())
        out = {}
        for name, text in texts.items():
            try:
                out[name] = docs[name].parse(text)
            except ValueError as error:
                raise SscStubError(
                    f"{name}={text!r} cannot be read: {error}.", docs[name].help, "options"
                ) from None
        return out

    @classmethod
    def from_keywords(cls, **options: Unpack[StubOptions]) -> Options:
        """The options of `SSCStub`'s keywords (there, None means the default)."""
        values: dict[str, Any] = dict(options)  # any iterable of users: made a tuple
        check_keywords("sscstub", values, option_names())
        if values.get("account_id") is None:
            values.pop("account_id", None)  # the field's default: MOTO_ACCOUNT_ID, or IAM's
        if values.get("services") is None:
            values["services"] = DEFAULT_SERVICES
        return cls(**values)


def check_keywords(where: str, given: Iterable[str], known: Iterable[str]) -> None:
    """Raise `UnknownOptionError` for a name in ``given`` that is not ``known``, naming
    ``where`` it was given and the nearest option."""
    names = list(known)
    unknown = [name for name in given if name not in names]
    if not unknown:
        return
    import difflib

    close = difflib.get_close_matches(unknown[0], names, n=1, cutoff=0.6)
    hint = f"Did you mean {close[0]}? " if close else ""
    raise UnknownOptionError(
        f"{where} got {unknown[0]!r}, which is not one of its options.",
        f"{hint}They are: {', '.join(names)}.",
        "options",
    )


def option_names() -> list[str]:
    """Every option's name, in declaration order."""
    return [name for name, _ in Options.documented()]


def check_user_name(name: object) -> None:
    if not valid_user_name(name):
        raise SscStubError(
            f"{name!r} is not a user name IAM would accept.",
            "Use 1 to 64 characters from letters, digits and +=,.@_- (for example 'jane').",
            "options",
        )


def _field_doc(f: Field[Any]) -> FieldDoc:
    doc: FieldDoc = f.metadata["doc"]
    return doc
