"""The call log: what each call was, its error code and request id; a server's keeps only the
most recent calls, with long values (and names) cut, so it never grows without bound."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

Entry = tuple[str, Mapping[str, Any], "str | None", str]  # operation, params, error code, id
MAX_LOGGED_VALUE = 4096  # characters of a parameter value a bounded log keeps


class CallLog(deque[Entry]):
    """A server's call log: the most recent calls, long values cut, and a count of those
    dropped (a stub's log is a plain list: tests expect every call as it was made)."""

    def __init__(self, max_calls: int) -> None:
        super().__init__(maxlen=max_calls)
        self.dropped = 0

    def append(self, entry: Entry) -> None:
        if len(self) == self.maxlen:
            self.dropped += 1
        operation, params, code, request_id = entry
        for value in params.values():
            if isinstance(value, str) and len(value) > MAX_LOGGED_VALUE:
                params = {k: cut(v) for k, v in params.items()}
                break
        if len(operation) > MAX_LOGGED_VALUE:  # a path, for a call a consumer names by it
            operation = cut(operation)
        super().append((operation, params, code, request_id))


def cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_LOGGED_VALUE:
        return f"{value[:MAX_LOGGED_VALUE]}... ({len(value) - MAX_LOGGED_VALUE} more characters)"
    return value
