"""Durable state: the store kept in SQLite (the standard library's ``sqlite3``, WAL mode).

Every successful change is committed before its answer is sent: the engine runs a call inside
one `Durable.transaction` (``BEGIN IMMEDIATE``, which takes SQLite's write lock, so several
processes on one file serialize their changes and the two-per-service limit holds across them),
which reloads the store first when another connection has committed since (``PRAGMA
data_version``) and writes the store's journal before ``COMMIT``. No lock of our own. The schema
is versioned with ``PRAGMA user_version``. Whoever opens a `Durable` closes it.

The same rows are the format of `snapshot`/`restore`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ._errors import AwsError, SscStubError
from ._store import Journal, Record, Store

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE users (name_lower TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    user_name TEXT NOT NULL,
    service_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    login TEXT NOT NULL,
    create_ts INTEGER NOT NULL,
    expire_ts INTEGER,
    status TEXT NOT NULL,
    secret BLOB NOT NULL,
    UNIQUE (service_name, login)
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

Row = tuple[Any, ...]


def record_row(record: Record) -> Row:
    return (
        record.id,
        record.seq,
        record.user_name,
        record.service_name,
        record.kind,
        record.login,
        record.create_ts,
        record.expire_ts,
        record.status,
        record.secret,
    )


class Snapshot:
    """What `SSCStub.snapshot` returns: users and credentials (ids, names, statuses, dates,
    secret digests, creation order) as the state file keeps them; not the call log. Opaque:
    hand it to `SSCStub.restore`."""

    __slots__ = ("account_id", "rows", "users")

    account_id: str
    users: tuple[str, ...]
    rows: tuple[Row, ...]

    def __init__(self, account_id: str, users: tuple[str, ...], rows: tuple[Row, ...]) -> None:
        self.account_id = account_id
        self.users = users
        self.rows = rows

    def __repr__(self) -> str:
        return f"<sscstub.Snapshot {len(self.users)} users, {len(self.rows)} credentials>"


def snapshot_of(account_id: str, store: Store) -> Snapshot:
    users = tuple(sorted(store.users.values()))
    return Snapshot(account_id, users, tuple(record_row(r) for r in store.records()))


def store_from(users: Iterable[str], rows: Iterable[Row]) -> Store:
    store = Store(tuple(users))
    for row in sorted(rows, key=lambda r: r[1]):  # creation order
        store.add(_record(row))
    return store


def _record(row: Row) -> Record:
    rid, seq, user, service, kind, login, created, expires, status, secret = row
    record = Record(rid, user, service, kind, login, created, expires, bytes(secret), seq)
    record.status = status
    return record


def _check_path(path: str) -> None:
    """Say what is wrong with a path that cannot hold a state file, in its own words."""
    folder = os.path.dirname(os.path.abspath(path))
    todo = "Nothing was changed."
    if os.path.isdir(path):
        raise SscStubError(
            f"state={path!r} is a directory, and the state is one SQLite file.",
            f"Pass a file's path, e.g. state={os.path.join(path, 'ssc-state.db')!r}. {todo}",
            "durable-state---state-file",
        )
    if not os.path.isdir(folder):
        raise SscStubError(
            f"state={path!r}: its folder {folder} does not exist.",
            f"Create the folder first (mkdir -p {folder}), or pass a path in one that exists."
            f" {todo}",
            "durable-state---state-file",
        )


class StateUnavailable(AwsError):
    """The state file cannot be read or written now (another process holds its lock, the disk
    is full): IAM's 503 ``ServiceUnavailable``, with SQLite's reason. Nothing was changed."""

    def __init__(self, path: str, reason: object) -> None:
        super().__init__(
            "ServiceUnavailable",
            f"The sscstub state file {path} cannot be used now: {reason}"
            + (" (another process holds its lock)." if "locked" in str(reason) else "."),
        )


class StateBusy(StateUnavailable):
    """Another connection holds the write lock, and the caller asked not to wait."""


LOCK_WAIT = 1.0  # seconds a call waits for another process's write lock on the file


class Durable:
    """One connection to a state file, owned by one engine (used under its lock)."""

    def __init__(self, path: str, account_id: str) -> None:
        self.path = path
        _check_path(path)
        try:
            _check_before_writing(path, account_id)
            if not os.path.exists(path):  # created by us, readable by us alone (and so its
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # -wal and -shm)
            self._db = sqlite3.connect(
                path, timeout=LOCK_WAIT, isolation_level=None, check_same_thread=False
            )
        except (sqlite3.DatabaseError, OSError) as error:
            raise SscStubError(
                f"state={path!r} cannot be opened as sscstub state: {error}.",
                "Pass a path sscstub may create, or a file it wrote before. Nothing was changed.",
                "options",
            ) from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across a kill -9
            self._open(path, account_id)
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise SscStubError(
                f"state={path!r} cannot be opened as sscstub state: {error}.",
                "Pass a path sscstub may create, or a file it wrote before.",
                "options",
            ) from None
        except BaseException:
            self._db.close()
            raise
        self._seen: int | None = None  # data_version of the store in memory; None: reload

    def _open(self, path: str, account_id: str) -> None:
        """Give a new file the schema (an existing one was checked, read-only, before)."""
        db = self._db
        if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return  # no write lock taken: another connection may hold it (a parent at fork)
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if version == 0 and tables == 0:
                for statement in _SCHEMA.split(";"):  # executescript would COMMIT first
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO meta VALUES ('account_id', ?)", (account_id,))
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()

    # --- transactions ------------------------------------------------------------------------

    @contextmanager
    def transaction(
        self, store: Store, configured: Iterable[str], write: bool = True, wait: bool = True
    ) -> Iterator[Store]:
        """One transaction on the file (``BEGIN IMMEDIATE`` when writing). It yields the store
        as the file holds it: ``store`` itself, unless another connection has committed since it
        was read (``configured`` users are added to the file then). On a clean exit, what the
        yielded store's journal noted is written and committed; on an exception, everything is
        rolled back and the store is read afresh by the next transaction. Without ``wait``, a
        lock held elsewhere raises `StateBusy` at once (nothing was done) instead of waiting."""
        db = self._db
        try:
            if wait:
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            else:
                db.execute("PRAGMA busy_timeout = 0")
                try:
                    db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                except sqlite3.OperationalError as error:
                    raise StateBusy(self.path, error) from None
                finally:
                    db.execute(f"PRAGMA busy_timeout = {int(LOCK_WAIT * 1000)}")
            fresh = self._fresh(configured)
            current = store if fresh is None else fresh
            yield current
            self._write(current.journal)
            db.execute("COMMIT")
            # Our own commit does not move data_version: the store in memory stays current.
        except BaseException as error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if not isinstance(error, StateBusy):
                self._seen = None
            if isinstance(error, sqlite3.OperationalError):  # locked, full, read-only
                raise StateUnavailable(self.path, error) from None
            raise

    def replace(self, users: Iterable[str], rows: Iterable[Row]) -> None:
        """Make the file hold exactly these users and credentials (reset and restore), in one
        transaction; the next transaction reads them back."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM credentials")
            db.execute("DELETE FROM users")
            db.executemany(
                "INSERT INTO users VALUES (?, ?)", [(name.lower(), name) for name in users]
            )
            db.executemany("INSERT INTO credentials VALUES (?,?,?,?,?,?,?,?,?,?)", list(rows))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            self._seen = None

    def _fresh(self, configured: Iterable[str]) -> Store | None:
        """The store as the file holds it, if another connection changed it since we read it
        (or we never did); None when the one in memory is current."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version == self._seen:
            return None
        self._seen = version
        db = self._db
        for name in configured:  # users given as options exist in the file too
            db.execute("INSERT OR IGNORE INTO users VALUES (?, ?)", (name.lower(), name))
        users = [row[0] for row in db.execute("SELECT name FROM users")]
        store = store_from(users, db.execute("SELECT * FROM credentials"))
        store.journal = []
        return store

    def _write(self, journal: list[tuple[Journal, Any]] | None) -> None:
        if not journal:
            return
        db = self._db
        for kind, item in journal:
            if kind is Journal.PUT:
                db.execute(
                    "INSERT OR REPLACE INTO credentials VALUES (?,?,?,?,?,?,?,?,?,?)",
                    record_row(item),
                )
            elif kind is Journal.DELETE:
                db.execute("DELETE FROM credentials WHERE id = ?", (item,))
            elif kind is Journal.ADD_USER:
                db.execute("INSERT OR REPLACE INTO users VALUES (?, ?)", (item.lower(), item))
            else:
                assert kind is Journal.REMOVE_USER
                db.execute("DELETE FROM users WHERE name_lower = ?", (item.lower(),))
        journal.clear()


def _check_before_writing(path: str, account_id: str) -> None:
    """Refuse a file that is not sscstub's state (of this account and schema) with read-only
    checks, before anything is written to it or beside it."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if version != SCHEMA_VERSION or tables != {"users", "credentials", "meta"}:
            found = f"schema version {version}" if version else "not sscstub's tables"
            raise SscStubError(
                f"state={path!r} is not sscstub's state file ({found}; this sscstub reads schema"
                f" version {SCHEMA_VERSION}).",
                "Use the file sscstub wrote (with the sscstub version that wrote it), or a new"
                " path. Nothing was changed.",
                "options",
            )
        stored = db.execute("SELECT value FROM meta WHERE key = 'account_id'").fetchone()
        if stored is not None and stored[0] != account_id:
            raise SscStubError(
                f"state={path!r} holds account {stored[0]}, not {account_id}.",
                f"Pass account_id={stored[0]!r}, or another file. Nothing was changed.",
                "options",
            )
    finally:
        db.close()


class NoWait:
    """A lock taken only if it is free: else `StateBusy`, as for the state file's own lock."""

    __slots__ = ("_lock", "_path")

    def __init__(self, lock: threading.Lock, path: str) -> None:
        self._lock, self._path = lock, path

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):
            raise StateBusy(self._path, "another call is using it")

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
