"""The endpoint in front of the rest of AWS: ``serve(moto=True)`` (moto's own dispatch, in
process) and ``serve(upstream=URL)`` (a relay to a real ``moto_server`` process), through real
boto3 clients: the five operations are sscstub's, every other request is moto's, and the two
agree about users, DeleteUser and renames, as in-process composition does."""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import raw

import sscstub
from tests.upstreams import moto_server_process, recording_upstream, send

pytest.importorskip("moto.server", reason="moto[server] is in the test group: pip install")

CC = "codecommit.amazonaws.com"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def client(service: str, url: str, **config: Any) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=url,
        config=Config(**config) if config else None,
        **KEYS,
    )


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server_process() as url:
        yield url


@pytest.fixture(params=["moto", "upstream"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[sscstub.Server]:
    """The endpoint both ways, on a freshly reset moto."""
    if request.param == "moto":
        options: dict[str, Any] = {"moto": True}
    else:
        options = {"upstream": request.getfixturevalue("moto_url")}
    with sscstub.serve(**options) as server:
        assert raw(server.url, "POST", "/moto-api/reset")[0] == 200  # relayed to moto either way
        yield server


def code_of(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_users_whole_life_through_one_endpoint(endpoint: sscstub.Server) -> None:
    iam = client("iam", endpoint.url)
    iam.create_user(UserName="bob")  # moto's
    made = iam.create_service_specific_credential(UserName="bob", ServiceName=CC)
    cid = made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    listed = iam.list_service_specific_credentials(UserName="bob")["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in listed] == [cid]

    with pytest.raises(ClientError) as refused:
        iam.delete_user(UserName="bob")
    assert code_of(refused.value) == ("DeleteConflict", 409)
    assert iam.get_user(UserName="bob")["User"]["UserName"] == "bob"  # moto's user survived

    iam.delete_service_specific_credential(UserName="bob", ServiceSpecificCredentialId=cid)
    iam.delete_user(UserName="bob")
    with pytest.raises(ClientError) as gone:
        iam.create_service_specific_credential(UserName="bob", ServiceName=CC)
    assert code_of(gone.value) == ("NoSuchEntity", 404)
    assert [c.operation for c in endpoint.calls].count("CreateServiceSpecificCredential") == 2


def test_a_user_moto_never_had_is_not_found(endpoint: sscstub.Server) -> None:
    with pytest.raises(ClientError) as missing:
        client("iam", endpoint.url).list_service_specific_credentials(UserName="nobody")
    assert code_of(missing.value) == ("NoSuchEntity", 404)


def test_a_rename_is_followed(endpoint: sscstub.Server) -> None:
    iam = client("iam", endpoint.url)
    iam.create_user(UserName="bob")
    iam.create_service_specific_credential(UserName="bob", ServiceName=CC)
    iam.update_user(UserName="bob", NewUserName="robert")
    listed = iam.list_service_specific_credentials(UserName="robert")["ServiceSpecificCredentials"]
    assert [c["UserName"] for c in listed] == ["robert"]
    assert [c.user_name for c in endpoint.credentials] == ["robert"]


def test_other_services_are_moto_s(endpoint: sscstub.Server) -> None:
    ssm = client("ssm", endpoint.url)
    ssm.put_parameter(Name="/app/db", Value="secret", Type="SecureString")
    value = ssm.get_parameter(Name="/app/db", WithDecryption=True)["Parameter"]["Value"]
    assert value == "secret"
    s3 = client("s3", endpoint.url)
    s3.create_bucket(Bucket="sscstub-bucket")
    big = bytes(range(256)) * 12_000  # 3 MB: streamed through, in both directions
    s3.put_object(Bucket="sscstub-bucket", Key="big", Body=big)
    assert s3.get_object(Bucket="sscstub-bucket", Key="big")["Body"].read() == big
    assert s3.head_object(Bucket="sscstub-bucket", Key="big")["ContentLength"] == len(big)
    sts = client("sts", endpoint.url)
    assert sts.get_caller_identity()["Account"] == endpoint.account_id


def test_moto_s_account_is_moto_account_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    with sscstub.serve(moto=True) as server:
        assert server.account_id == "111122223333"
        made = client("iam", server.url).create_service_specific_credential(
            UserName=_moto_user(server, "jane"), ServiceName=CC
        )
    assert made["ServiceSpecificCredential"]["ServiceUserName"] == "jane-at-111122223333"


def _moto_user(server: sscstub.Server, name: str) -> str:
    client("iam", server.url).create_user(UserName=name)
    return name


def test_users_are_moto_s_from_the_start_and_through_the_test_api() -> None:
    with sscstub.serve(moto=True, users=["carol"]) as server:
        iam = client("iam", server.url)
        assert iam.get_user(UserName="carol")["User"]["UserName"] == "carol"  # the first call
        assert raw(server.url, "POST", "/moto-api/reset")[0] == 200  # moto starts afresh:
        assert iam.get_user(UserName="carol")["User"]["UserName"] == "carol"  # made again
        json_headers = {"Content-Type": "application/json"}
        added = raw(server.url, "POST", "/_sscstub/users", b'{"name": "dan"}', **json_headers)
        assert added[0] == 200 and iam.get_user(UserName="dan")["User"]["UserName"] == "dan"
        iam.create_service_specific_credential(UserName="dan", ServiceName=CC)
        iam.create_user(UserName="erin")  # moto's own: the endpoint's users are moto's
        listed = json.loads(raw(server.url, "GET", "/_sscstub/users")[2])["users"]
        assert listed == ["carol", "dan", "erin"] and server.users == {"carol", "dan", "erin"}
        refused = raw(server.url, "DELETE", "/_sscstub/users/dan", **json_headers)
        assert refused[0] == 400 and b"DeleteConflict" in refused[2]
        assert raw(server.url, "DELETE", "/_sscstub/users/erin", **json_headers)[0] == 200
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_user(UserName="erin")


def test_the_marker_serves_with_moto(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import boto3, pytest

        @pytest.mark.ssc_server(moto=True)
        def test_it(ssc_server):
            iam = boto3.client("iam", region_name="us-east-1", endpoint_url=ssc_server.url,
                               aws_access_key_id="t", aws_secret_access_key="t")
            iam.create_user(UserName="dave")
            iam.create_service_specific_credential(
                UserName="dave", ServiceName="codecommit.amazonaws.com")
            assert ssc_server.options.moto is True
        """
    )
    # In a subprocess: an in-process run drops the modules it imported first, and the next
    # test's server would mix two imports of sscstub's modules.
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=1)


def test_without_moto_serve_moto_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['moto'] = None\n"
        "from sscstub._cli import main\n"
        "sys.exit(main(['serve', '--moto', '--port', '0']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'sscstub[moto]'" in lines[0], done.stderr


def test_moto_and_upstream_together_are_refused() -> None:
    with pytest.raises(sscstub.SscStubError, match="Pass one"):
        sscstub.serve(moto=True, upstream="http://127.0.0.1:1")


# --- the upstream relay ----------------------------------------------------------------------


def test_configured_users_stay_local_behind_an_upstream(moto_url: str) -> None:
    with sscstub.serve(upstream=moto_url, users=["jane"]) as server:
        iam = client("iam", server.url)
        iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        with pytest.raises(ClientError) as refused:
            iam.delete_user(UserName="jane")  # checked here first, whatever moto has
        assert code_of(refused.value) == ("DeleteConflict", 409)


def test_an_upstream_that_goes_away_gets_502_and_sscstub_still_serves() -> None:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(moto_server_process())
        server = sscstub.serve(upstream=url, users=["jane"])  # outlives the moto server
        iam = client("iam", server.url, retries={"max_attempts": 1})
        iam.create_user(UserName="bob")
        iam.create_service_specific_credential(UserName="bob", ServiceName=CC)
    try:  # the moto server has stopped; the same endpoint goes on
        with pytest.raises(ClientError) as relayed:
            iam.list_users()
        assert code_of(relayed.value) == ("BadGateway", 502)
        assert url in relayed.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as lookup:
            iam.create_service_specific_credential(UserName="bob", ServiceName=CC)
        assert code_of(lookup.value) == ("BadGateway", 502)
        iam.create_service_specific_credential(UserName="jane", ServiceName=CC)  # still served
        assert [c.user_name for c in server.credentials] == ["bob", "jane"]
    finally:
        server.stop()


def _iam_form(action: str, **params: str) -> bytes:
    from urllib.parse import urlencode

    return urlencode({"Action": action, "Version": "2010-05-08", **params}).encode()


def _signed(service: str, key: str = "AKIDCALLER") -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={key}/20261202/us-east-1/{service}/aws4_request,"
        " SignedHeaders=host;x-amz-date, Signature=abc"
    )


def test_the_relay_passes_end_to_end_headers_and_drops_hop_by_hop_ones() -> None:
    def answer(handler: Any, body: bytes) -> None:
        send(
            handler,
            200,
            b'{"ok": true}',
            [("Connection", "X-Hop"), ("X-Hop", "1"), ("Keep-Alive", "timeout=5"), ("X-End", "2")],
        )

    with recording_upstream(answer) as (url, seen), sscstub.serve(upstream=url) as server:
        status, headers, data = raw(
            server.url,
            "POST",
            "/some/path?x=1",
            b'{"Name": "p"}',
            **{
                "Authorization": _signed("ssm"),
                "X-Amz-Target": "AmazonSSM.GetParameter",
                "Connection": "keep-alive, X-Private",
                "X-Private": "drop me",
                "Keep-Alive": "timeout=5",
                "TE": "trailers",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
    assert (status, data) == (200, b'{"ok": true}')
    names = {name.lower() for name in headers}
    assert "x-end" in names and not names & {"x-hop", "keep-alive"}
    method, path, received, body = seen.requests[0]
    got = {name.lower(): value for name, value in received}
    assert (method, path, body) == ("POST", "/some/path?x=1", b'{"Name": "p"}')
    assert got["authorization"] == _signed("ssm")  # the signature, unchanged
    assert got["x-amz-target"] == "AmazonSSM.GetParameter"
    assert got["host"].startswith("127.0.0.1:")  # as the client signed it
    assert not got.keys() & {"x-private", "keep-alive", "te"}
    assert got.get("connection", "keep-alive").lower() != "x-private"


def test_a_chunked_upstream_answer_is_streamed_through_whole() -> None:
    big = b"0123456789abcdef" * 40_000

    def answer(handler: Any, body: bytes) -> None:
        send(handler, 200, big, [("Content-Type", "application/octet-stream")], chunked=True)

    with recording_upstream(answer) as (url, _seen), sscstub.serve(upstream=url) as server:
        status, headers, data = raw(server.url, "GET", "/bucket/key", Authorization=_signed("s3"))
    assert status == 200 and data == big
    assert ("transfer-encoding", "chunked") in [(n.lower(), v) for n, v in headers.items()]


def test_a_slow_upstream_holds_up_none_of_sscstubs_operations() -> None:
    def answer(handler: Any, body: bytes) -> None:
        send(handler, 200, b"{}")

    with (
        recording_upstream(answer) as (url, seen),
        sscstub.serve(upstream=url, users=["jane"]) as server,
    ):
        seen.release.clear()  # the upstream holds every request until released
        relayed: list[Any] = []
        thread = threading.Thread(
            target=lambda: relayed.append(raw(server.url, "GET", "/", Authorization=_signed("s3")))
        )
        thread.start()
        assert seen.arrived.wait(30)
        iam = client("iam", server.url)
        iam.create_service_specific_credential(UserName="jane", ServiceName=CC)  # meanwhile
        assert not relayed  # the relayed request is still held upstream
        seen.release.set()
        thread.join(30)
    assert relayed[0][0] == 200


def test_an_upstream_that_does_not_answer_in_time_gets_504(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sscstub import _relay

    monkeypatch.setattr(_relay, "TIMEOUT", 0.5)

    def answer(handler: Any, body: bytes) -> None:
        send(handler, 200, b"{}")

    with recording_upstream(answer) as (url, seen), sscstub.serve(upstream=url) as server:
        seen.release.clear()
        status, _headers, data = raw(server.url, "GET", "/", Authorization=_signed("s3"))
    assert status == 504 and b"<Code>GatewayTimeout</Code>" in data and url.encode() in data


def test_the_user_lookup_is_signed_with_the_callers_access_key() -> None:
    user = (
        b"<GetUserResponse><GetUserResult><User><UserName>Bob</UserName></User>"
        b"</GetUserResult></GetUserResponse>"
    )

    def answer(handler: Any, body: bytes) -> None:
        send(handler, 200, user, [("Content-Type", "text/xml")])

    with recording_upstream(answer) as (url, seen), sscstub.serve(upstream=url) as server:
        form = _iam_form("CreateServiceSpecificCredential", UserName="bob", ServiceName=CC)
        status, _headers, data = raw(
            server.url,
            "POST",
            "/",
            form,
            **{
                "Authorization": _signed("iam", "AKIDCALLER"),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
    assert status == 200, data
    assert b"<UserName>Bob</UserName>" in data  # the name as the upstream has it
    [(_method, _path, headers, body)] = seen.requests  # one lookup, nothing relayed
    assert b"Action=GetUser" in body and b"UserName=bob" in body
    assert "Credential=AKIDCALLER/" in dict(headers)["Authorization"]


# --- the in-process stub beside an upstream (what SSCSTUB_UPSTREAM gives the CLI plugin) --------


def test_an_in_process_stub_learns_users_from_the_upstream(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw(moto_url, "POST", "/moto-api/reset")
    iam = client("iam", moto_url)
    with sscstub.mock_ssc(upstream=moto_url) as stub:
        iam.create_user(UserName="erin")  # goes on to the upstream
        iam.create_service_specific_credential(UserName="erin", ServiceName=CC)  # sscstub's
        with pytest.raises(ClientError) as refused:
            iam.delete_user(UserName="erin")
        assert code_of(refused.value) == ("DeleteConflict", 409)
        assert "erin" in [u["UserName"] for u in iam.list_users()["Users"]]
        iam.update_user(UserName="erin", NewUserName="erin2")
        assert [c.user_name for c in stub.credentials] == ["erin2"]
    assert json.loads(json.dumps(sorted(stub.options.users))) == []


@pytest.mark.parametrize(
    "garbage",
    [b"NOT HTTP AT ALL\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", b""],
)
def test_an_upstream_that_answers_garbage_gets_502_or_a_cut_answer(
    garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken answer is cut on its way, and not logged as an app failure (uvicorn's
    "Exception in ASGI application", with a traceback, in the user's captured logs)."""

    def answer(handler: Any, body: bytes) -> None:
        handler.wfile.write(garbage)
        handler.close_connection = True

    with (
        recording_upstream(answer) as (url, _seen),
        sscstub.serve(upstream=url, users=["jane"]) as server,
    ):
        try:
            status, _headers, data = raw(server.url, "GET", "/", Authorization=_signed("s3"))
        except http.client.IncompleteRead:  # the upstream's answer broke off: so does ours
            status = 0
        assert status in (0, 502)
        client("iam", server.url).create_service_specific_credential(
            UserName="jane", ServiceName=CC
        )  # sscstub still serves
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")]


# --- Bedrock API keys on the endpoint ---------------------------------------------------------


def _bedrock_key(server: sscstub.Server) -> str:
    made = client("iam", server.url).create_service_specific_credential(
        UserName="jane", ServiceName="bedrock.amazonaws.com"
    )
    return made["ServiceSpecificCredential"]["ServiceCredentialSecret"]  # type: ignore[no-any-return]


CONVERSE = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"


def test_an_accepted_key_is_relayed_and_a_refused_one_is_not() -> None:
    def answer(handler: Any, body: bytes) -> None:
        send(handler, 200, b'{"stopReason": "end_turn"}', [("Content-Type", "application/json")])

    with (
        recording_upstream(answer) as (url, seen),
        sscstub.serve(upstream=url, users=["jane"]) as server,
    ):
        key = _bedrock_key(server)
        status, _headers, data = raw(
            server.url, "POST", CONVERSE, b"{}", Authorization=f"Bearer {key}"
        )
        assert (status, data) == (200, b'{"stopReason": "end_turn"}')
        received = {name.lower(): value for name, value in seen.requests[0][2]}
        assert received["authorization"] == f"Bearer {key}"  # unchanged
        status, headers, data = raw(
            server.url, "POST", CONVERSE, b"{}", Authorization="Bearer ABSK" + "x" * 40
        )
        assert status == 403
        assert ("x-amzn-errortype", "AccessDeniedException") in [
            (n.lower(), v) for n, v in headers.items()
        ]
        assert json.loads(data) == {
            "Message": "Authentication failed: Please make sure your API Key is valid."
        }
        assert len(seen.requests) == 1  # the refused call never reached the upstream
        checked = [c for c in server.calls if c.operation == "bedrock-runtime:Converse"]
        assert [c.error_code for c in checked] == [None, "AccessDeniedException"]  # once each


def test_short_term_tokens_are_not_checked() -> None:
    with sscstub.serve(users=["jane"]) as server:
        status, _headers, data = raw(
            server.url, "POST", CONVERSE, b"{}", Authorization="Bearer bedrock-api-key-abc"
        )
        assert status == 501 and b"bedrock-runtime Converse" in data
        assert [c.operation for c in server.calls] == []  # nothing checked, nothing logged
