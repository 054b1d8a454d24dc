"""Code as users write it, checked by `mypy --strict` in `make test` (never run by pytest).

Everything a test annotates or calls through sscstub's public API must type-check here.
"""

from __future__ import annotations

import asyncio
import unittest
from datetime import datetime

import botocore.session
import pytest

import sscstub
from sscstub import DEFAULT_SERVICES, Call, Credential, Options, SSCStub, mock_ssc


def client() -> object:
    return botocore.session.get_session().create_client("iam", region_name="us-east-1")


@pytest.mark.ssc_stub(users=["jane"], seed=1)
def test_fixture(ssc_stub: SSCStub) -> None:
    ssc_stub.add_user("bob")
    ssc_stub.inject_error("create_service_specific_credential", "Throttling", times=2)
    credentials: tuple[Credential, ...] = ssc_stub.credentials
    calls: tuple[Call, ...] = ssc_stub.calls
    created: datetime = credentials[0].create_date
    error: str | None = calls[0].error_code
    ok: bool = ssc_stub.authenticate("jane-at-123456789012", "pw", service_name="x")
    ok = ok and ssc_stub.authenticate_api_key("ABSK...")
    assert ok or created or error


@mock_ssc(users=["jane"])
def decorated_sync(n: int) -> str:
    return str(n)


@mock_ssc(users=["jane"])
async def decorated_async(n: int) -> int:
    await asyncio.sleep(0)
    return n


@mock_ssc(users=["jane"])
class TestDecoratedClass:
    def test_it(self) -> None:
        pass


@sscstub.mock_ssc()
class DecoratedCase(unittest.TestCase):
    def test_it(self) -> None:
        pass


def use_all() -> None:
    text: str = decorated_sync(1)
    number: int = asyncio.run(decorated_async(2))
    with mock_ssc(users=["jane"], services=dict(DEFAULT_SERVICES)) as stub:
        stub.attach(client())
        options: Options = stub.options
        account: str = options.account_id
        print(text, number, account, stub.users, stub.active)
    stub.reset()
    stub.start()
    stub.stop()
    try:
        mock_ssc(users="jane")  # a str type-checks (it is an Iterable[str]); it raises
    except sscstub.SscStubError as error:
        print(error.what, error.todo)
