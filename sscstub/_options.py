"""`Options`: what a stub is configured with, validated once, shared by every front end.

`SSCStub` (and so `mock_ssc`), the pytest marker and the command line all build one of these;
a new option is a new field here, a parameter of `SSCStub.__init__`, and nothing else (a test
checks that the two agree).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from typing_extensions import TypedDict

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


from ._errors import SscStubError
from ._operations import DEFAULT_SERVICES, valid_user_name
from ._secrets import Seed
from ._store import API_KEY, PASSWORD

DEFAULT_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Options:
    """The validated options of one stub. Build it with keywords; bad values raise
    `SscStubError` saying what to pass instead."""

    users: tuple[str, ...] = ()
    # moto's account when its MOTO_ACCOUNT_ID says one (so composed stubs agree), else IAM's
    # documentation's example account.
    account_id: str = field(
        default_factory=lambda: os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT
    )
    caller: str | None = None
    strict: bool = True
    seed: Seed | None = None
    services: Mapping[str, str] = field(default_factory=lambda: DEFAULT_SERVICES)
    wire: bool = False
    state: str | None = None
    moto: bool | None = None

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
        services = dict(self.services)
        for service, kind in services.items():
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
            object.__setattr__(self, "state", os.fspath(state))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def check_user_name(name: object) -> None:
    if not valid_user_name(name):
        raise SscStubError(
            f"{name!r} is not a user name IAM would accept.",
            "Use 1 to 64 characters from letters, digits and +=,.@_- (for example 'jane').",
            "options",
        )
