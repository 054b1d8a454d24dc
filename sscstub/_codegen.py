"""Two small tools the hot path is built from: generated Python source (`Source`), which the
model's checks and IAM's XML writers are compiled into once per model, and the size-capped
caches (plain dicts filled by `put`; the checks' sets of values known to pass are bounded by the
same `LIMIT` inline, where a call would cost more than the add) that keep values so a repeat
costs one lookup."""

from __future__ import annotations

from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Entries a cache holds before it starts over (so a long run's memory stays bounded).
LIMIT = 4096


class Source:
    """Lines of Python source, built up and then compiled into one function."""

    def __init__(self, **namespace: Any) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = namespace

    def const(self, value: Any) -> str:
        """A name the generated code can use for ``value``."""
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def build(self, name: str) -> Any:
        """Compile the lines and return the function called ``name`` (its source is kept on it,
        as ``__source__``, for debugging)."""
        source = "\n".join(self.lines)
        exec(compile(source, f"<sscstub generated {name}>", "exec"), self.namespace)
        function = self.namespace[name]
        function.__source__ = source
        return function


def put(cache: dict[K, V], key: K, value: V) -> V:
    """Add to a size-capped cache (a plain dict: a subclass would make every lookup slower),
    emptying it first when it is full; returns ``value``."""
    if len(cache) >= LIMIT:
        cache.clear()
    cache[key] = value
    return value
