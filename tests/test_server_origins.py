"""A web page the developer has open cannot drive the endpoint: the Host, Origin and
Content-Type rules, through raw HTTP as a browser would send it (clients and SDKs, which send
neither Origin nor a foreign Host, are tested unchanged in test_server.py and tests/clients)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import raw

import sscstub

FORM = b"Action=CreateServiceSpecificCredential&UserName=jane&ServiceName=codecommit.amazonaws.com"
FORM_TYPE = "application/x-www-form-urlencoded"


@pytest.fixture
def server() -> Iterator[sscstub.Server]:
    with sscstub.serve(users=["jane"], allow_hosts=["iam.local"]) as running:
        yield running


def here(server: sscstub.Server) -> str:
    return f"127.0.0.1:{server.port}"


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),
        ({"Host": "{here}"}, True),
        ({"Host": "localhost:{port}"}, True),
        ({"Host": "iam.local:{port}"}, True),  # --allow-host
        ({"Host": "attacker.example:{port}"}, False),  # DNS rebinding
        ({"Host": "127.0.0.1.attacker.example"}, False),
        ({"Origin": "http://{here}"}, True),
        ({"Origin": "http://localhost:3000"}, False),  # another local app's page
        ({"Origin": "https://attacker.example"}, False),
        ({"Origin": "null"}, False),  # a sandboxed frame or a file:// page
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),  # a page on localhost:3000 (its <img>, say)
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Sec-Fetch-Site": "none"}, True),  # the user typed the URL
    ],
)
def test_iam_requests_from_web_pages_are_refused_and_change_nothing(
    server: sscstub.Server, headers: dict[str, str], allowed: bool
) -> None:
    sent = {
        name: value.format(here=here(server), port=server.port) for name, value in headers.items()
    }
    status, _, data = raw(server.url, "POST", "/", FORM, **{"Content-Type": FORM_TYPE, **sent})
    if allowed:
        assert status == 200 and len(server.credentials) == 1
    else:
        assert status == 403 and b"<Code>AccessDenied</Code>" in data and b"--allow-host" in data
        assert server.credentials == () and server.calls == ()


@pytest.mark.parametrize(
    ("route", "body", "content_type"),
    [
        ("reset", b"{}", "text/plain"),  # a cross-site "simple" request needs no preflight
        ("errors", b'{"operation": "create_service_specific_credential", "code": "Throttling",'
         b' "times": null}', "text/plain"),
        ("users", b'{"name": "mallory"}', FORM_TYPE),
        ("users", b'{"name": "mallory"}', None),
    ],
)  # fmt: skip
def test_test_api_writes_need_json_content(
    server: sscstub.Server, route: str, body: bytes, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    status, _, data = raw(server.url, "POST", f"/_sscstub/{route}", body, **headers)
    assert status == 415 and "application/json" in json.loads(data)["error"]
    assert server.users == {"jane"}
    assert server.calls == ()
    status, _, _ = raw(server.url, "POST", "/", FORM, **{"Content-Type": FORM_TYPE})
    assert status == 200  # no fault was injected


def test_test_api_reads_from_a_rebinding_page_are_refused(server: sscstub.Server) -> None:
    for route in ("credentials", "calls", "users"):
        status, headers, data = raw(
            server.url, "GET", f"/_sscstub/{route}", Host=f"attacker.example:{server.port}"
        )
        assert status == 403 and "allow" in json.loads(data)["error"]
        assert not any(name.lower().startswith("access-control") for name in headers)


def test_no_cors_header_is_ever_sent(server: sscstub.Server) -> None:
    origin = {"Origin": f"http://{here(server)}"}
    for method, target in (("OPTIONS", "/"), ("GET", "/_sscstub/health"), ("POST", "/")):
        _, headers, _ = raw(server.url, method, target, b"", **origin)
        assert not any(name.lower().startswith("access-control") for name in headers)


def test_an_empty_host_is_refused_and_a_warning_names_the_risk_of_other_hosts() -> None:
    import subprocess
    import sys

    with pytest.raises(sscstub.SscStubError, match="every interface"):
        sscstub.serve(host="")
    done = subprocess.run(
        [sys.executable, "-m", "sscstub", "serve", "--host", "", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    from sscstub._cli import _loopback as is_loopback

    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::")  # noqa: S104
