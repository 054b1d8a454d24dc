"""Forks: a child process gets fresh locks, fresh randomness and its own state file
connection; a fork waits for durable calls in flight to commit first."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Protocol


class Forked(Protocol):
    """What a fork needs of an engine (`_engine.Engine`, above this module)."""

    @property
    def durable(self) -> Any: ...  # the state file's connection, or None in memory

    @property
    def lock(self) -> threading.Lock: ...

    def after_fork(self) -> None: ...


_engines: weakref.WeakSet[Forked] = weakref.WeakSet()


_inherited: list[object] = []  # a parent's connections, kept (never closed) in a forked child


def track(engine: Forked) -> None:
    """Look after ``engine`` across forks."""
    _engines.add(engine)


def keep(connection: object) -> None:
    """Keep a parent's state-file connection alive in a child, never used nor closed (SQLite
    must not touch it across a fork)."""
    _inherited.append(connection)


FORK_WAIT = 5.0  # seconds a fork waits for a durable call in flight to commit

_held_for_fork: list[threading.Lock] = []


def _before_fork() -> None:
    """A fork waits for the durable calls in flight to end: SQLite keeps one lock table per
    process, and a child forked inside a transaction would see its parent's write lock as its
    own process's for good (and could never write). Calls hold their engine's lock for the
    whole transaction, so holding those locks across the fork is enough. A fork from inside a
    call (or one that waits longer than FORK_WAIT) goes ahead; its child answers 503."""
    for engine in list(_engines):
        if engine.durable is not None and engine.lock.acquire(timeout=FORK_WAIT):
            _held_for_fork.append(engine.lock)


def _after_fork_in_parent() -> None:
    while _held_for_fork:
        _held_for_fork.pop().release()


def _reinit_after_fork() -> None:
    _held_for_fork.clear()  # the child replaces the locks
    for engine in list(_engines):
        engine.after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_reinit_after_fork,
    )
