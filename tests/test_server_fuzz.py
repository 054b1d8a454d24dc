"""Raw HTTP thrown at the endpoint: every answer is IAM's XML (a response or an ErrorResponse),
the server keeps serving, and a rejected request changes nothing."""

from __future__ import annotations

import http.client
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sscstub

ACTIONS = [
    "CreateServiceSpecificCredential",
    "ResetServiceSpecificCredential",
    "UpdateServiceSpecificCredential",
    "ListServiceSpecificCredentials",
    "DeleteServiceSpecificCredential",
    "GetUser",
    "Frobnicate",
    "",
]
KEYS = ["UserName", "ServiceName", "ServiceSpecificCredentialId", "Status", "CredentialAgeDays",
        "AllUsers", "Marker", "MaxItems", "Version", "Action", "Bogus"]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(
        [
            "jane",
            "ghost",
            "codecommit.amazonaws.com",
            "bedrock.amazonaws.com",
            "Active",
            "Expired",
            "true",
            "0",
            "36601",
            "A" * 21,
            "",
        ]
    ),  # fmt: skip
    st.text(max_size=30),
)
NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"


@pytest.fixture(scope="module")
def server() -> Iterator[sscstub.Server]:
    with sscstub.serve(users=["jane"]) as running:
        yield running


def _form(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)


def _send(url: str, method: str, target: str, body: bytes, headers: dict[str, str]) -> Any:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _well_formed(status: int, data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    if status == 200:
        assert root.tag.endswith("Response") and root.find(f"{NS}ResponseMetadata") is not None
    else:
        assert root.tag == f"{NS}ErrorResponse", data
        error = root.find(f"{NS}Error")
        assert (
            error is not None
            and error.findtext(f"{NS}Code")
            and error.findtext(f"{NS}Type") in ("Sender", "Receiver")
        )
        assert root.findtext(f"{NS}RequestId")
    return root


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    action=st.sampled_from(ACTIONS),
    pairs=st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=6),
    method=st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE", "PATCH"]),
    encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]),
    in_query=st.booleans(),
    extra_headers=st.dictionaries(
        st.sampled_from(["X-Amz-Date", "Authorization", "Content-Type", "Expect"]),
        st.text(alphabet="abc/=;- ", max_size=20),
        max_size=3,
    ),
)
def test_any_request_gets_iams_xml_and_rejected_ones_change_nothing(
    server: sscstub.Server,
    action: str,
    pairs: list[tuple[str, str]],
    method: str,
    encoding: str,
    in_query: bool,
    extra_headers: dict[str, str],
) -> None:
    extra_headers.pop("Expect", None)  # http.client would wait for 100-continue
    form = _form([("Action", action), *pairs]) if action else _form(pairs)
    try:
        body = form.encode(encoding)
    except UnicodeEncodeError:
        body = form.encode("utf-8")
    target = f"/?{form}" if in_query else "/"
    before = server.credentials
    status, data = _send(server.url, method, target, b"" if in_query else body, extra_headers)
    _well_formed(status, data)
    if status != 200:
        assert server.credentials == before


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nAction=List",  # truncated
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # bad chunk
        b"GARBAGE\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999\r\n\r\n",  # oversized
        b"\xff\xfe\r\n\r\n",
    ],
)
def test_broken_http_never_stops_the_server(server: sscstub.Server, request_bytes: bytes) -> None:
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as raw:
        raw.sendall(request_bytes)
        raw.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    if answer.startswith(b"HTTP/1.1 4") and b"<ErrorResponse" in answer:
        _well_formed(400, answer.split(b"\r\n\r\n", 1)[1])
    status, data = _send(
        server.url, "GET", "/?Action=ListServiceSpecificCredentials&UserName=jane", b"", {}
    )
    assert status == 200 and _well_formed(status, data) is not None


def test_chunked_bodies_are_read(server: sscstub.Server) -> None:
    body = b"Action=ListServiceSpecificCredentials&UserName=jane"
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as raw:
        raw.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + chunked
        )
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and b"<IsTruncated>false</IsTruncated>" in answer


def test_pipelined_partial_and_odd_cased_requests_are_read(server: sscstub.Server) -> None:
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as raw:
        raw.sendall(  # two requests in one write, the second arriving in two pieces
            b"POST / HTTP/1.1\r\nHOST: 127.0.0.1\r\nContent-LENGTH: 51\r\n\r\n"
            b"Action=ListServiceSpecificCredentials&UserName=jane"
            b"GET /?Action=ListServiceSpecificCredentials&UserName=jane HTTP/1.1\r\nHo"
        )
        time.sleep(0.1)
        raw.sendall(b"st: 127.0.0.1\r\nConnection: Close\r\n\r\n")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.count(b"HTTP/1.1 200 OK") == 2 and answer.count(b"<IsTruncated>") == 2
    assert answer.rstrip().endswith(b"</ListServiceSpecificCredentialsResponse>")
