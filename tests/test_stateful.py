"""Random sequences of the five operations, checked step by step against a small reference model.

Hypothesis drives valid and invalid parameters through a validating client and a client with
``parameter_validation=False``, interleaved with time travel and injected faults. After every
step the simulator must agree with `Reference` on which credentials exist, their status and
expiry, and which secrets authenticate; every call must end in a parsed response, a
``ParamValidationError`` or a modeled ``ClientError``, never anything else.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError, ParamValidationError
from conftest import ACCOUNT, make_client
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

import sscstub

PASSWORD = ["codecommit.amazonaws.com", "cassandra.amazonaws.com"]
API_KEY = [
    "bedrock.amazonaws.com",
    "logs.amazonaws.com",
    "cloudwatch.amazonaws.com",
    "aws-external-anthropic.amazonaws.com",
    "xray.amazonaws.com",
]
USERS = ["jane", "bob"]
START = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
DAY = 86_400
PVE = "ParamValidationError"  # raised by botocore's client before anything is sent

OWNER = "<owner of the credential>"
# A list is what a client without parameter validation may send: botocore's query serializer
# puts `UserName=jane` on the wire (urlencode with doseq), so IAM reads "jane".
BAD_USERS = ["ghost", "a b", "", "x" * 65, None, ["jane"]]
USER_PATTERN = re.compile(r"[\w+=,.@-]+", re.ASCII)
users = st.sampled_from([*USERS, *USERS, *BAD_USERS])
owners = st.sampled_from([OWNER, OWNER, OWNER, *USERS, *BAD_USERS])
# IAM reads service names without regard to case, and refuses characters outside [a-zA-Z0-9.-]
SERVICE_PATTERN = re.compile(r"[a-zA-Z0-9.-]*")
services = st.sampled_from(
    [*PASSWORD, *API_KEY, "s3.amazonaws.com", "CODECOMMIT.AMAZONAWS.COM", "Bedrock.AmazonAWS.com"]
    + ["code_commit.amazonaws.com"]
)
ages = st.sampled_from([None, None, 1, 2, 36600, 0, 36601])
clients = st.sampled_from(["checked", "raw"])
OPS = ["Create", "Reset", "Update", "Delete", "List"]
METHODS = {
    "Create": "create_service_specific_credential",
    "Reset": "reset_service_specific_credential",
    "Update": "update_service_specific_credential",
    "Delete": "delete_service_specific_credential",
    "List": "list_service_specific_credentials",
}
API = {name: f"{name}ServiceSpecificCredential" for name in OPS}
API["List"] = "ListServiceSpecificCredentials"
_clients: dict[str, Any] = {}


def client(kind: str) -> Any:
    if kind not in _clients:
        # One attempt: in wire mode botocore would otherwise retry an injected fault away.
        _clients[kind] = make_client(
            parameter_validation=kind == "checked", retries={"total_max_attempts": 1}
        )
    return _clients[kind]


@dataclass
class Cred:
    id: str
    user: str
    service: str
    login: str
    created: int
    expires: int | None
    status: str = "Active"
    secret: str = ""

    def status_at(self, now: int) -> str:
        return "Expired" if self.expires is not None and now >= self.expires else self.status


class Reference:
    """What IAM should answer, in the order IAM checks things (README: Fidelity)."""

    def __init__(self) -> None:
        self.creds: dict[str, Cred] = {}
        self.faults: dict[str, list[str]] = {op: [] for op in OPS}
        self.retired: list[tuple[Cred, str]] = []  # (credential, a secret it no longer accepts)

    # --- validation: botocore's client, then IAM's server ------------------------------------

    @staticmethod
    def client_rejects(op: str, p: dict[str, Any]) -> bool:
        """What botocore's ParamValidator checks: required members, min length, min value."""
        user, cid = p.get("UserName"), p.get("ServiceSpecificCredentialId")
        return (
            (op == "Create" and user is None)
            or (user is not None and (not isinstance(user, str) or len(user) < 1))
            or ("ServiceSpecificCredentialId" in p and len(cid) < 20)
            or p.get("CredentialAgeDays", 1) < 1
            or p.get("MaxItems", 1) < 1
        )

    @staticmethod
    def server_rejects(p: dict[str, Any]) -> bool:
        """IAM's ``1 validation error detected`` constraints (UserName's pattern comes later)."""
        user, cid = p.get("UserName"), p.get("ServiceSpecificCredentialId")
        return (
            (user is not None and not 1 <= len(str(user)) <= 64)
            or (cid is not None and not (20 <= len(cid) <= 128 and cid.isalnum()))
            or p.get("Status", "Active") not in ("Active", "Inactive", "Expired")
            or not 1 <= p.get("CredentialAgeDays", 1) <= 36600
            or not 1 <= p.get("MaxItems", 1) <= 1000
        )

    @staticmethod
    def user_error(user: str | None) -> str | None:
        if user is None or not USER_PATTERN.fullmatch(str(user)):
            return "ValidationError"  # no caller configured; or a name IAM's pattern rejects
        return None if user in USERS else "NoSuchEntity"

    def expect(self, op: str, kind: str, p: dict[str, Any], now: int) -> str | None:
        if kind == "checked" and self.client_rejects(op, p):
            return PVE
        p = {k: v[0] if isinstance(v, list) else v for k, v in p.items() if v != []}
        if self.faults[op]:
            return self.faults[op].pop(0)
        if self.server_rejects(p):
            return "ValidationError"
        user = p.get("UserName")
        if op == "Update" and p["Status"] == "Expired":
            return "InvalidInput"
        service = p.get("ServiceName", PASSWORD[0])
        if op == "List" and p.get("AllUsers") and user is not None:
            return "InvalidInput"
        if not SERVICE_PATTERN.fullmatch(service):
            return "ValidationError"  # checked before any lookup
        service = service.lower()
        if op == "List":
            if not p.get("AllUsers") and self.user_error(user):
                return self.user_error(user)
            return "NoSuchEntity" if service not in PASSWORD + API_KEY else None
        if self.user_error(user):
            return self.user_error(user)
        if op == "Create":
            if service not in PASSWORD + API_KEY:
                return "NoSuchEntity"
            mine = [c for c in self.creds.values() if (c.user, c.service) == (user, service)]
            return "LimitExceeded" if len(mine) >= 2 else None
        cred = self.creds.get(p["ServiceSpecificCredentialId"])
        if cred is None:
            return "NoSuchEntity"
        if cred.user != user:
            return "ValidationError"  # another user's credential
        if op == "Reset" and cred.status_at(now) == "Expired":
            return "InvalidInput"
        return None

    def login_for(self, user: str, service: str) -> str:
        taken = {c.login for c in self.creds.values() if (c.user, c.service) == (user, service)}
        free = [
            f"{user}{n}-at-{ACCOUNT}" for n in ("", "+1") if f"{user}{n}-at-{ACCOUNT}" not in taken
        ]
        return free[0] if free else ""


class CredentialMachine(RuleBasedStateMachine):
    ids = Bundle("ids")
    wire = False

    def __init__(self) -> None:
        super().__init__()
        self.ref = Reference()
        self.gone: dict[str, Cred] = {}
        self.traveller = time_machine.travel(START, tick=False)
        self.clock = self.traveller.start()
        self.stub = sscstub.mock_ssc(users=USERS, wire=self.wire).start()

    def teardown(self) -> None:
        self.stub.stop()
        self.traveller.stop()

    @property
    def now(self) -> int:
        return int(datetime.now(timezone.utc).timestamp())

    def call(self, op: str, kind: str, params: dict[str, Any]) -> dict[str, Any] | None:
        p = {k: v for k, v in params.items() if v is not None}
        expected = self.ref.expect(op, kind, p, self.now)
        before = len(self.stub.calls)
        try:
            response = getattr(client(kind), METHODS[op])(**p)
        except ParamValidationError:
            outcome, response = PVE, None
        except ClientError as exc:
            outcome, response = exc.response["Error"]["Code"], None
            assert exc.response["Error"]["Type"] in ("Sender", "Receiver")
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] >= 400
        else:
            outcome = None
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert outcome == expected, f"{op}({p}) via {kind}: got {outcome}, expected {expected}"
        event(f"{op} -> {outcome or 'ok'}")
        served = self.stub.calls[before:]
        assert len(served) == (0 if outcome == PVE else 1)
        if served:
            assert (served[0].operation, served[0].error_code) == (API[op], outcome)
        return response

    # --- rules --------------------------------------------------------------------------------

    @rule(target=ids, kind=clients, user=users, service=services, age=ages)
    def create(self, kind: str, user: str | None, service: str, age: int | None) -> Any:
        params = {"UserName": user, "ServiceName": service, "CredentialAgeDays": age}
        if isinstance(user, list):  # what reaches IAM (see BAD_USERS)
            user = user[0]
        login = self.ref.login_for(user or "", service.lower())
        response = self.call("Create", kind, params)
        if response is None:
            return multiple()  # nothing for the bundle
        got = response["ServiceSpecificCredential"]
        now = self.now
        cred = Cred(
            id=got["ServiceSpecificCredentialId"],
            user=str(user),
            service=service.lower(),
            login=login,
            created=now,
            expires=None if age is None else now + age * DAY,
        )
        assert cred.id not in self.ref.creds
        assert got.get("ServiceUserName", got.get("ServiceCredentialAlias")) == login
        cred.secret = got.get("ServicePassword") or got["ServiceCredentialSecret"]
        self.ref.creds[cred.id] = cred
        return cred.id

    def owner(self, user: str | None, cid: str) -> str | None:
        """``OWNER`` stands for the user the credential belongs to (or belonged to)."""
        if user != OWNER:
            return user
        cred = self.ref.creds.get(cid) or self.gone.get(cid)
        return cred.user if cred else "jane"

    @rule(
        kind=clients, user=owners, cid=ids | st.sampled_from(["SHORT", "ACCA-NOT-ALPHANUMERIC-1"])
    )
    def reset(self, kind: str, user: str | None, cid: str) -> None:
        user = self.owner(user, cid)
        response = self.call("Reset", kind, {"UserName": user, "ServiceSpecificCredentialId": cid})
        if response is not None:
            cred = self.ref.creds[cid]
            got = response["ServiceSpecificCredential"]
            assert got["ServiceSpecificCredentialId"] == cid and got["Status"] == cred.status
            self.ref.retired.append((cred, cred.secret))
            cred.secret = got.get("ServicePassword") or got["ServiceCredentialSecret"]

    @rule(
        kind=clients,
        user=owners,
        cid=ids,
        status=st.sampled_from(["Active", "Inactive", "Active", "Inactive", "Expired", "Paused"]),
    )
    def update(self, kind: str, user: str | None, cid: str, status: str) -> None:
        user = self.owner(user, cid)
        params = {"UserName": user, "ServiceSpecificCredentialId": cid, "Status": status}
        if self.call("Update", kind, params) is not None:
            self.ref.creds[cid].status = status

    @rule(kind=clients, user=owners, cid=ids)
    def delete(self, kind: str, user: str | None, cid: str) -> None:
        user = self.owner(user, cid)
        params = {"UserName": user, "ServiceSpecificCredentialId": cid}
        if self.call("Delete", kind, params) is not None:
            cred = self.gone[cid] = self.ref.creds.pop(cid)
            self.ref.retired.append((cred, cred.secret))

    @rule(
        kind=clients,
        user=users,
        all_users=st.sampled_from([None, True]),
        service=st.none() | services,
        max_items=st.sampled_from([None, 1, 1000, 0, 1001]),
    )
    def list(
        self,
        kind: str,
        user: str | None,
        all_users: bool | None,
        service: str | None,
        max_items: int | None,
    ) -> None:
        params = {
            "UserName": user,
            "AllUsers": all_users,
            "ServiceName": service,
            "MaxItems": max_items,
        }
        response = self.call("List", kind, params)
        if response is None:
            return
        if isinstance(user, list):  # what reached IAM (see BAD_USERS)
            user = user[0]
        now = self.now
        expected = [
            c
            for c in self.ref.creds.values()  # dicts keep creation order, as IAM's list does
            if (all_users or c.user == user) and (service is None or service.lower() == c.service)
        ][: max_items or 100]
        got = response["ServiceSpecificCredentials"]
        assert [m["ServiceSpecificCredentialId"] for m in got] == [c.id for c in expected]
        assert [m["Status"] for m in got] == [c.status_at(now) for c in expected]
        assert not any("ServicePassword" in m or "ServiceCredentialSecret" in m for m in got)

    @rule(seconds=st.sampled_from([1, 3600, DAY - 1, DAY, 2 * DAY + 5]))
    def travel(self, seconds: int) -> None:
        self.clock.shift(timedelta(seconds=seconds))

    @rule(cid=ids, offset=st.sampled_from([-1, 0]))
    def travel_to_expiry(self, cid: str, offset: int) -> None:
        """The second before a key expires, or the very second it does."""
        cred = self.ref.creds.get(cid)
        if cred is not None and cred.expires is not None and cred.expires + offset > self.now:
            self.clock.shift(timedelta(seconds=cred.expires + offset - self.now))

    @rule(
        op=st.sampled_from(OPS),
        code=st.sampled_from(["ServiceFailure", "Throttling", "LimitExceeded", "NoSuchEntity"]),
    )
    def inject(self, op: str, code: str) -> None:
        self.stub.inject_error(METHODS[op], code)
        self.ref.faults[op].append(code)

    # --- after every step ---------------------------------------------------------------------

    @invariant()
    def agrees_with_the_reference(self) -> None:
        now = self.now
        stored = {c.service_specific_credential_id: c for c in self.stub.credentials}
        assert set(stored) == set(self.ref.creds)
        for cid, ref in self.ref.creds.items():
            got = stored[cid]
            assert (got.user_name, got.service_name) == (ref.user, ref.service)
            assert got.status == ref.status_at(now)
            expires = (
                None if ref.expires is None else datetime.fromtimestamp(ref.expires, timezone.utc)
            )
            assert got.expiration_date == expires
            assert self.authenticates(ref, ref.secret) is (ref.status_at(now) == "Active")
        for cred, old in self.ref.retired[-5:]:
            assert not self.authenticates(cred, old)

    def authenticates(self, cred: Cred, secret: str) -> bool:
        if cred.service in PASSWORD:
            return self.stub.authenticate(cred.login, secret)
        return self.stub.authenticate_api_key(secret, service_name=cred.service)


CredentialMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SSC_TEST_HYPOTHESIS_EXAMPLES", "300")),
    stateful_step_count=50,
    deadline=None,
    database=None,  # no shared files between xdist workers
    derandomize=os.environ.get("CI") == "true",  # CI is reproducible; local runs explore
)
# Any warning fails the test, except boto3 announcing the end of its support for an old Python.
TestSimulation = pytest.mark.filterwarnings("error", "ignore:Boto3 will no longer support")(
    CredentialMachine.TestCase
)


class WireCredentialMachine(CredentialMachine):
    """The same machine in wire mode: the same reference, so both modes answer alike, for the
    validating client and for the raw one (parameter_validation=False)."""

    wire = True


WireCredentialMachine.TestCase.settings = settings(
    CredentialMachine.TestCase.settings,
    max_examples=int(os.environ.get("SSC_TEST_HYPOTHESIS_EXAMPLES", "100")),
)
TestSimulationOnTheWire = pytest.mark.filterwarnings(
    "error", "ignore:Boto3 will no longer support"
)(WireCredentialMachine.TestCase)
