"""The five operations, one function each, over the simulated account's state (`IamState`).

Each takes already-validated API parameters and either raises `AwsError` or returns the response
body (model member order) with the change it will make, not yet made: the engine checks the body
against the caller's model and only then applies the change, so a failed call, or an answer that
would break the model, leaves the store as it was. None sees a botocore object.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import _secrets
from ._errors import AwsError, UnknownUser
from ._store import API_KEY, EXPIRED, PASSWORD, Record, Stamp, Store

#: The services IAM issues service-specific credentials for, and which kind each gets.
DEFAULT_SERVICES: Mapping[str, str] = MappingProxyType(
    {
        "codecommit.amazonaws.com": PASSWORD,
        "cassandra.amazonaws.com": PASSWORD,
        "bedrock.amazonaws.com": API_KEY,
        "logs.amazonaws.com": API_KEY,
        "cloudwatch.amazonaws.com": API_KEY,
        "aws-external-anthropic.amazonaws.com": API_KEY,
        "xray.amazonaws.com": API_KEY,
    }
)
PER_SERVICE_LIMIT = 2
DEFAULT_MAX_ITEMS = 100
_DAY = 86_400
_USER_NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)
_SERVICE_NAME = re.compile(r"[a-zA-Z0-9.-]*")
#: IAM's name for the per-user, per-service quota (observed 2026-09-11).
QUOTA_NAME = "ContextSpecificCredentialsPerUserPerContext"
_MARKER_PREFIX = "sscstub:"


@dataclass
class IamState:
    """Everything an operation may read or change: one simulated account."""

    account_id: str
    caller: str | None
    services: Mapping[str, str]
    entropy: _secrets.Entropy
    store: Store = field(default_factory=Store)
    id_prefix: str = ""
    # Where users live when they are not sscstub's own (moto's IAM): name -> name as created.
    find_user: Callable[[str], str | None] | None = None

    def __post_init__(self) -> None:
        self.id_prefix = _secrets.account_prefix(self.account_id)


#: What an operation returns: the response body (model member order), and the change to make
#: once that body has passed the model check (None: the operation changes nothing).
Outcome = tuple[dict[str, Any], Callable[[], None] | None]
Operation = Callable[[IamState, Mapping[str, Any], int, Stamp], Outcome]

#: The last second a datetime can hold (9999-12-31T23:59:59Z).
MAX_TIMESTAMP = 253_402_300_799


def valid_service_name(name: str) -> bool:
    return bool(name) and _SERVICE_NAME.fullmatch(name) is not None


def valid_user_name(name: object) -> bool:
    return isinstance(name, str) and 0 < len(name) <= 64 and _USER_NAME.fullmatch(name) is not None


# --- the checks every operation shares, in IAM's order ------------------------------------------


def _user(sim: IamState, params: Mapping[str, Any]) -> str:
    name = params.get("UserName")
    if name is None:
        if sim.caller is None:
            raise AwsError(
                "ValidationError", "Must specify userName when calling with non-User credentials"
            )
        name = sim.caller
    find = sim.find_user
    found = sim.store.user(name) if find is None else find(name)  # names there are valid
    if found is not None:
        return found
    if not _USER_NAME.fullmatch(name):
        raise AwsError(
            "ValidationError",
            "The specified value for userName is invalid. It must contain only alphanumeric"
            " characters and/or the following: +=,.@_-",
        )
    raise UnknownUser(name)


def service_name_of(params: Mapping[str, Any]) -> str | None:
    """The request's ServiceName as IAM reads it: not distinguished by case (answered in lower
    case); characters outside ``[a-zA-Z0-9.-]`` are a ValidationError, before any lookup."""
    name: str | None = params.get("ServiceName")
    if name is None:
        return None
    if not _SERVICE_NAME.fullmatch(name):
        raise AwsError("ValidationError", "ServiceName must match [a-zA-Z0-9.-]*")
    return name.lower()


def _kind(sim: IamState, service_name: str) -> str:
    kind = sim.services.get(service_name)
    if kind is None:
        raise AwsError(
            "NoSuchEntity",
            f"No such service {service_name} is supported for Service Specific Credentials",
        )
    return kind


def _credential(sim: IamState, params: Mapping[str, Any]) -> Record:
    """The credential the request names, which must be the user's."""
    user = _user(sim, params)
    credential_id = params["ServiceSpecificCredentialId"]
    record = sim.store.get(credential_id)
    if record is None:
        raise AwsError("NoSuchEntity", f"No such credential {credential_id} exists")
    if record.user_name != user:
        raise AwsError(
            "ValidationError",
            f"User {params.get('UserName') or user} does not have a service specific"
            f" credential with id {credential_id}",
        )
    return record


def _new_secret(sim: IamState, record: Record) -> str:
    if record.kind == PASSWORD:
        return _secrets.password(sim.entropy)
    return _secrets.api_key(record.service_name, record.login, sim.entropy)


def _login(sim: IamState, user: str, service: str) -> str:
    """jane-at-<account>, then jane+1-at-<account>, ...: the lowest name no credential of that
    service in the account holds, so a deleted one's name is reused and a user named ``jane+1``
    never gets the name of jane's second credential."""
    suffix = 0
    while True:
        login = f"{user}{f'+{suffix}' if suffix else ''}-at-{sim.account_id}"
        if sim.store.by_login(service, login) is None:
            return login
        suffix += 1


# --- the operations ----------------------------------------------------------------------------


def create_credential(
    sim: IamState, params: Mapping[str, Any], now: int, stamp: Stamp
) -> tuple[dict[str, Any], Callable[[], None]]:
    service = service_name_of(params)
    user = _user(sim, params)
    assert service is not None  # required: the model check said so already
    kind = _kind(sim, service)
    age = params.get("CredentialAgeDays")  # honoured for every service (observed 2026-09-11)
    expire_ts = None if age is None else now + age * _DAY
    if expire_ts is not None and expire_ts > MAX_TIMESTAMP:
        raise AwsError(
            "InvalidInput",
            f"CredentialAgeDays {age} puts the expiration date past 9999-12-31T23:59:59Z.",
        )
    store = sim.store
    mine = [r for r in store.of_user(user) if r.service_name == service]
    if len(mine) >= PER_SERVICE_LIMIT:
        raise AwsError(
            "LimitExceeded", f"Cannot exceed quota for {QUOTA_NAME}: {PER_SERVICE_LIMIT}"
        )
    login = _login(sim, user, service)
    credential_id = _secrets.credential_id(sim.account_id, sim.entropy, sim.id_prefix)
    while credential_id in store:
        credential_id = _secrets.credential_id(sim.account_id, sim.entropy, sim.id_prefix)
    seq = store.next_seq()
    record = Record(credential_id, user, service, kind, login, now, expire_ts, b"", seq)
    secret = _new_secret(sim, record)
    record.secret = _secrets.digest(secret, sim.entropy)
    body = {"ServiceSpecificCredential": record.to_credential_shape(now, stamp, secret)}
    return body, lambda: store.add(record)


def reset_credential(
    sim: IamState, params: Mapping[str, Any], now: int, stamp: Stamp
) -> tuple[dict[str, Any], Callable[[], None]]:
    record = _credential(sim, params)
    if record.status_at(now) == EXPIRED:
        raise AwsError(
            "InvalidInput",
            f"The service-specific credential {record.id} has expired and cannot be reset."
            " Delete it and create a new one.",
        )
    secret = _new_secret(sim, record)
    digest = _secrets.digest(secret, sim.entropy)
    body = {"ServiceSpecificCredential": record.to_credential_shape(now, stamp, secret)}

    def apply() -> None:
        record.secret = digest
        sim.store.touch(record)

    return body, apply


def update_credential(
    sim: IamState, params: Mapping[str, Any], now: int, stamp: Stamp
) -> tuple[dict[str, Any], Callable[[], None]]:
    status = params["Status"]
    if status == EXPIRED:
        raise AwsError("InvalidInput", "Operation does not support status Expired")
    record = _credential(sim, params)

    def apply() -> None:
        record.status = status
        sim.store.touch(record)

    return {}, apply


def delete_credential(
    sim: IamState, params: Mapping[str, Any], now: int, stamp: Stamp
) -> tuple[dict[str, Any], Callable[[], None]]:
    record = _credential(sim, params)
    return {}, lambda: sim.store.remove(record)


def list_credentials(
    sim: IamState, params: Mapping[str, Any], now: int, stamp: Stamp
) -> tuple[dict[str, Any], None]:
    all_users = params.get("AllUsers") is True
    if all_users and params.get("UserName") is not None:
        raise AwsError(
            "InvalidInput", "Cannot list credentials for all users if a username is given"
        )
    service = service_name_of(params)
    start = _decode_marker(params.get("Marker"))
    limit = params.get("MaxItems") or DEFAULT_MAX_ITEMS
    if all_users:
        if service is not None:
            _kind(sim, service)
        page, resume = sim.store.page(service, start, limit)
    else:
        user = _user(sim, params)
        if service is not None:
            _kind(sim, service)
        mine = sim.store.of_user(user)
        if start or service is not None:
            mine = [
                r for r in mine if r.seq >= start and (service is None or r.service_name == service)
            ]
        page, resume = mine[:limit], (mine[limit].seq if len(mine) > limit else None)
    out: dict[str, Any] = {
        "ServiceSpecificCredentials": [r.to_metadata_shape(now, stamp) for r in page]
    }
    if resume is not None:
        out["Marker"] = base64.b64encode(f"{_MARKER_PREFIX}{resume}".encode()).decode()
    out["IsTruncated"] = resume is not None
    return out, None


_MARKER = re.compile(rf"{_MARKER_PREFIX}([0-9]{{1,18}})")


def _decode_marker(marker: str | None) -> int:
    if marker is None:
        return 0
    try:
        text = base64.b64decode(marker, validate=True).decode()
    except ValueError:
        text = ""
    found = _MARKER.fullmatch(text)  # ASCII digits only: int() takes "²" and friends
    if found is None:
        raise AwsError(
            "InvalidInput",
            "Invalid value for Marker: pass the Marker a previous response returned.",
        )
    return int(found[1])


#: The operation functions by API name (botocore's ``OperationModel.name``).
OPERATIONS: Mapping[str, Operation] = MappingProxyType(
    {
        "CreateServiceSpecificCredential": create_credential,
        "ResetServiceSpecificCredential": reset_credential,
        "UpdateServiceSpecificCredential": update_credential,
        "ListServiceSpecificCredentials": list_credentials,
        "DeleteServiceSpecificCredential": delete_credential,
    }
)
