"""The simulator's state: credential records and the indexes that keep every lookup cheap.

Nothing here imports botocore, knows about HTTP or takes a lock: the engine does all three.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

Stamp = Callable[[int], datetime]

ACTIVE, INACTIVE, EXPIRED = "Active", "Inactive", "Expired"
PASSWORD, API_KEY = "password", "api-key"


class Journal(enum.Enum):
    """What a store's journal notes, for durable state to write out."""

    PUT = "put"  # a record, added or changed
    DELETE = "delete"  # a credential id
    ADD_USER = "add-user"  # a user name
    REMOVE_USER = "remove-user"  # a user name


@dataclass(frozen=True)
class Credential:
    """A service-specific credential as IAM describes it now; never holds a secret.

    The attributes mirror botocore's ``ServiceSpecificCredential`` shape in snake_case.
    """

    service_specific_credential_id: str
    user_name: str
    service_name: str
    status: str
    create_date: datetime
    expiration_date: datetime | None
    service_user_name: str | None
    service_credential_alias: str | None


@dataclass(frozen=True)
class Call:
    """One call the stub served: its API parameters and, when it failed, the error code."""

    operation: str
    params: Mapping[str, Any]  # read-only: the log is history
    error_code: str | None
    request_id: str


class Record:
    """One stored credential. The secret is kept only as a salt and the salted BLAKE2b digest."""

    __slots__ = (
        "create_ts",
        "expire_ts",
        "id",
        "kind",
        "login",
        "secret",
        "seq",
        "service_name",
        "status",
        "user_name",
    )

    def __init__(
        self,
        id: str,
        user_name: str,
        service_name: str,
        kind: str,
        login: str,
        create_ts: int,
        expire_ts: int | None,
        secret: bytes,
        seq: int,
    ) -> None:
        self.id = id
        self.user_name = user_name
        self.service_name = service_name
        self.kind = kind
        self.login = login  # ServiceUserName for passwords, ServiceCredentialAlias for API keys
        self.status = ACTIVE  # as last set; reads as Expired once expire_ts has passed
        self.create_ts = create_ts
        self.expire_ts = expire_ts
        self.secret = secret
        self.seq = seq

    def __repr__(self) -> str:
        return f"<Record {self.id} {self.user_name} {self.service_name} {self.status}>"

    def status_at(self, now: int, status: str | None = None) -> str:
        """The status as of ``now`` (``status``: as last set, if read earlier)."""
        expire = self.expire_ts
        return EXPIRED if expire is not None and now >= expire else status or self.status

    def to_credential_shape(
        self, now: int, stamp: Stamp, secret: str | None = None
    ) -> dict[str, Any]:
        """The ``ServiceSpecificCredential`` dict, in model member order; ``secret`` only on
        Create and Reset."""
        out: dict[str, Any] = {"CreateDate": stamp(self.create_ts)}
        if self.expire_ts is not None:
            out["ExpirationDate"] = stamp(self.expire_ts)
        out["ServiceName"] = self.service_name
        if self.kind == PASSWORD:
            out["ServiceUserName"] = self.login
            if secret is not None:
                out["ServicePassword"] = secret
        else:
            out["ServiceCredentialAlias"] = self.login
            if secret is not None:
                out["ServiceCredentialSecret"] = secret
        out["ServiceSpecificCredentialId"] = self.id
        out["UserName"] = self.user_name
        out["Status"] = self.status_at(now)
        return out

    def to_metadata_shape(self, now: int, stamp: Stamp) -> dict[str, Any]:
        """The ``ServiceSpecificCredentialMetadata`` dict List returns, in model member order."""
        out: dict[str, Any] = {"UserName": self.user_name, "Status": self.status_at(now)}
        out["ServiceUserName" if self.kind == PASSWORD else "ServiceCredentialAlias"] = self.login
        out["CreateDate"] = stamp(self.create_ts)
        if self.expire_ts is not None:
            out["ExpirationDate"] = stamp(self.expire_ts)
        out["ServiceSpecificCredentialId"] = self.id
        out["ServiceName"] = self.service_name
        return out

    def to_credential(self, now: int, status: str | None = None) -> Credential:
        def utc(ts: int | None) -> datetime | None:
            return None if ts is None else datetime.fromtimestamp(ts, timezone.utc)

        return Credential(
            service_specific_credential_id=self.id,
            user_name=self.user_name,
            service_name=self.service_name,
            status=self.status_at(now, status),
            create_date=datetime.fromtimestamp(self.create_ts, timezone.utc),
            expiration_date=utc(self.expire_ts),
            service_user_name=self.login if self.kind == PASSWORD else None,
            service_credential_alias=self.login if self.kind == API_KEY else None,
        )


class OrderedIndex:
    """Records in creation order, where a page costs the page, not everything before it.

    Removal leaves a hole (found by bisecting on the sequence numbers); holes are squeezed out
    once they outnumber the records, so the lists stay at most twice the live size.
    """

    __slots__ = ("_holes", "_records", "_seqs")

    def __init__(self) -> None:
        self._seqs: list[int] = []
        self._records: list[Record | None] = []
        self._holes = 0

    def __len__(self) -> int:
        return len(self._seqs) - self._holes

    def append(self, record: Record) -> None:
        self._seqs.append(record.seq)
        self._records.append(record)

    def remove(self, record: Record) -> None:
        index = bisect.bisect_left(self._seqs, record.seq)
        self._records[index] = None
        self._holes += 1
        if self._holes > 32 and self._holes * 2 > len(self._seqs):
            live = [r for r in self._records if r is not None]
            self._records = list(live)
            self._seqs = [r.seq for r in live]
            self._holes = 0

    def page(self, start: int, limit: int) -> tuple[list[Record], int | None]:
        """Up to ``limit`` records whose seq is >= ``start``, and the seq to resume from."""
        records = self._records
        index = bisect.bisect_left(self._seqs, start)
        page: list[Record] = []
        while index < len(records):
            record = records[index]
            index += 1
            if record is None:
                continue
            if len(page) == limit:
                return page, record.seq
            page.append(record)
        return page, None


class Store:
    """Users and credentials, indexed by id, by user and in creation order (overall and per
    service)."""

    __slots__ = ("_by_id", "_by_login", "_by_user", "_order", "_seq", "journal", "users")

    def __init__(self, users: Iterator[str] | tuple[str, ...] = ()) -> None:
        # IAM user names are not distinguished by case: the key is the lowercased name, the
        # value the name as it was created.
        self.users: dict[str, str] = {name.lower(): name for name in users}
        self._by_id: dict[str, Record] = {}
        self._by_login: dict[tuple[str, str], Record] = {}
        self._by_user: dict[str, list[Record]] = {}
        self._order: dict[str | None, OrderedIndex] = {None: OrderedIndex()}
        self._seq = 0
        # With durable state, every change is also noted here, for the file to take.
        self.journal: list[tuple[Journal, Any]] | None = None

    def __len__(self) -> int:
        return len(self._by_id)

    def touch(self, record: Record) -> None:
        """Note that ``record`` changed (its status or secret)."""
        if self.journal is not None:
            self.journal.append((Journal.PUT, record))

    def add_user(self, name: str) -> None:
        self.users[name.lower()] = name
        if self.journal is not None:
            self.journal.append((Journal.ADD_USER, name))

    def remove_user(self, name: str) -> None:
        del self.users[name.lower()]
        if self.journal is not None:
            self.journal.append((Journal.REMOVE_USER, name))

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def get(self, credential_id: str) -> Record | None:
        return self._by_id.get(credential_id)

    def __contains__(self, credential_id: str) -> bool:
        return credential_id in self._by_id

    def of_user(self, user_name: str) -> list[Record]:
        return self._by_user.get(user_name, [])

    def user(self, name: str) -> str | None:
        """The user's name as created, whatever the case of ``name``; None if there is none."""
        return self.users.get(name.lower())

    def by_login(self, service_name: str, login: str) -> Record | None:
        """The credential whose ServiceUserName (or alias) for that service is ``login``."""
        return self._by_login.get((service_name, login))

    def add(self, record: Record) -> None:
        if self.journal is not None:
            self.journal.append((Journal.PUT, record))
        self._seq = max(self._seq, record.seq)
        self._by_id[record.id] = record
        self._by_login[record.service_name, record.login] = record
        self._by_user.setdefault(record.user_name, []).append(record)
        self._order[None].append(record)
        self._order.setdefault(record.service_name, OrderedIndex()).append(record)

    def remove(self, record: Record) -> None:
        if self.journal is not None:
            self.journal.append((Journal.DELETE, record.id))
        del self._by_id[record.id]
        del self._by_login[record.service_name, record.login]
        mine = self._by_user[record.user_name]
        mine.remove(record)
        if not mine:
            del self._by_user[record.user_name]
        self._order[None].remove(record)
        self._order[record.service_name].remove(record)

    def page(
        self, service_name: str | None, start: int, limit: int
    ) -> tuple[list[Record], int | None]:
        index = self._order.get(service_name)
        return index.page(start, limit) if index is not None else ([], None)

    def records(self) -> list[Record]:
        return self._order[None].page(0, len(self._by_id))[0]
