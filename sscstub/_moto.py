"""Composition with moto: every reach into moto's internals, in one module.

While moto's ``mock_aws`` is active, IAM operations sscstub does not simulate are left to moto
(it answers at ``before-send``, after sscstub's ``before-call``), users are moto's IAM users, and
``DeleteUser`` of a user who still has service-specific credentials gets IAM's
``DeleteConflict``. Nothing here imports moto unless it is already imported.
"""

from __future__ import annotations

import sys
from typing import Any

from ._errors import AwsError

MODULES = sys.modules
MOCK_MODULE = "moto.core.models"  # where moto keeps its mock's switch


def mock_on() -> bool:
    """Whether moto's mock (decorator, context manager or server-less mode) is on now."""
    models = MODULES.get(MOCK_MODULE)
    if models is None:
        return False
    return bool(getattr(getattr(models, "botocore_stubber", None), "enabled", False))


def _iam_backends() -> Any:
    """moto's BackendDict for IAM, as its module holds it now (not cached: a module that was
    imported again, as pytester's in-process runs make happen, holds a new one)."""
    models = MODULES.get("moto.iam.models")
    if models is None:
        from moto.backends import get_backend

        return get_backend("iam")
    return models.iam_backends


def backend(account_id: str) -> Any:
    """moto's IAM backend of the account. Its BackendDict and the account's backends are dicts
    (moto >= 4): once made, they are read as dicts, past the lock moto's ``__getitem__`` takes
    to make them (a call's user lookup, every call)."""
    backends = _iam_backends()
    account = dict.get(backends, account_id)
    backend = None if account is None else dict.get(account, "aws")
    return backend if backend is not None else backends[account_id]["global"]


def find_user(account_id: str, name: str) -> str | None:
    """The moto user's name as created, matching ``name`` without regard to case, or None."""
    return find_in(backend(account_id).users, name)


def find_in(users: Any, name: str) -> str | None:
    """`find_user` in a backend's users (its dict: the same until moto starts afresh)."""
    if name in users:
        return name
    folded = name.lower()
    return next((user for user in users if user.lower() == folded), None)


def create_user(account_id: str, name: str) -> None:
    """Create ``name`` in moto's IAM, unless a user of that name exists."""
    if find_user(account_id, name) is None:
        backend(account_id).create_user(region_name="us-east-1", user_name=name)


def user_names(account_id: str) -> frozenset[str]:
    """The names of moto's IAM users in the account, as created."""
    return frozenset(backend(account_id).users)


def delete_user(account_id: str, name: str) -> None:
    """Delete a moto user as moto's DeleteUser does: refused while it has policies, with IAM's
    code and message (moto's error, as an `AwsError`)."""
    try:
        backend(account_id).delete_user(name)
    except Exception as error:
        code = getattr(error, "error_type", None)  # moto's RESTError
        if not isinstance(code, str):
            raise
        raise AwsError(code, str(getattr(error, "message", error))) from None


# Where an answered request is pointed, so that moto's stubber returns None for it.
_ANSWERED_URL = "http://sscstub.invalid/answered-by-sscstub"


def leave_answered(request: Any) -> None:
    """botocore calls every ``before-send`` handler and keeps the first answer, so moto's
    stubber still runs for a request sscstub answered in wire mode, and raises
    NotImplementedError for an action it lacks (or deletes a user sscstub refused to).
    Pointing the request, once answered, at a URL moto serves nothing at (not
    ``*.amazonaws.com``) makes its stubber return None; botocore reads nothing of the request
    after the answer (each attempt prepares a new one)."""
    if mock_on():
        request.url = _ANSWERED_URL
