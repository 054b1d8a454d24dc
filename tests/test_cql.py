"""Keyspaces passwords where they are used: the Python Cassandra driver (``cassandra-driver``,
its default options) signing in to the endpoint's CQL listener, through ``sscstub serve`` and
through the ``ssc_server`` fixture: the current password reads ``system.local``, and a reset,
Inactive, deleted or another user's password is refused as Keyspaces refuses it."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import client_for
from served import locked_while, serve_process

import sscstub

cassandra = pytest.importorskip(
    "cassandra.cluster", reason="the Python Cassandra driver (cassandra-driver) is not installed"
)
from cassandra import AuthenticationFailed  # noqa: E402
from cassandra.auth import PlainTextAuthProvider  # noqa: E402
from cassandra.cluster import Cluster, NoHostAvailable  # noqa: E402

KEYSPACES = "cassandra.amazonaws.com"


@pytest.fixture(autouse=True)
def _quiet_driver() -> Iterator[None]:
    """The driver warns of each protocol step-down and missing policy: true, and noise here."""
    logger = logging.getLogger("cassandra")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


class Endpoint:
    """Either way of serving: an IAM URL and a CQL address (and a CA file with TLS)."""

    def __init__(self, url: str, cql: tuple[str, int], ca_file: str | None = None) -> None:
        self.url, self.cql, self.ca_file = url, cql, ca_file
        self.iam = client_for(url)

    def credential(self, user: str = "jane") -> dict[str, Any]:
        made: dict[str, Any] = self.iam.create_service_specific_credential(
            UserName=user, ServiceName=KEYSPACES
        )["ServiceSpecificCredential"]
        return made

    @contextlib.contextmanager
    def session(self, login: str, password: str, **options: Any) -> Iterator[Any]:
        """A signed-in session of a driver with its default options (and ``options``)."""
        if self.ca_file is not None:
            options.setdefault("ssl_context", ssl.create_default_context(cafile=self.ca_file))
        host, port = self.cql
        cluster = Cluster(
            [host], port=port, auth_provider=PlainTextAuthProvider(login, password), **options
        )
        try:
            yield cluster.connect()
        finally:
            cluster.shutdown()

    def refused(self, login: str, password: str) -> str:
        """The driver's error for a sign-in that must fail."""
        with pytest.raises(NoHostAvailable) as failed, self.session(login, password):
            pass
        errors = list(failed.value.errors.values())
        assert len(errors) == 1 and isinstance(errors[0], AuthenticationFailed), errors
        return str(errors[0])


@pytest.fixture(params=["sscstub serve", "ssc_server fixture"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    if request.param == "sscstub serve":
        with serve_process("--users", "jane,bob", "--cql-port", "0") as process:
            assert process.cql is not None
            yield Endpoint(process.url, process.cql)
    else:  # the fixture, configured by its marker as a user's test would be
        request.applymarker(pytest.mark.ssc_server(users=["jane", "bob"], cql_port=0))
        server: sscstub.Server = request.getfixturevalue("ssc_server")
        assert server.cql_address is not None
        yield Endpoint(server.url, server.cql_address)


def test_the_new_password_signs_in_and_reads_system_local(endpoint: Endpoint) -> None:
    made = endpoint.credential()
    with endpoint.session(made["ServiceUserName"], made["ServicePassword"]) as session:
        row = session.execute("SELECT release_version, cluster_name FROM system.local").one()
        assert (row.release_version, row.cluster_name) == ("3.11.2", "Amazon Keyspaces")
        cluster = session.cluster
        assert cluster.protocol_version == 4  # the driver stepped down from DSE v2 and v5
        assert set(cluster.metadata.keyspaces) >= {"system", "system_schema"}


def _bad(endpoint: Endpoint, made: dict[str, Any], how: str) -> tuple[str, str]:
    """A login and password that must be refused, made ``how``."""
    cid, login = made["ServiceSpecificCredentialId"], made["ServiceUserName"]
    iam = endpoint.iam
    if how == "reset":
        iam.reset_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=cid)
    elif how == "Inactive":
        iam.update_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=cid, Status="Inactive"
        )
    elif how == "deleted":
        iam.delete_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=cid)
    elif how == "wrong":
        password = made["ServicePassword"]
        return login, password[:-1] + ("B" if password[-1] == "A" else "A")
    elif how == "another user's":
        return endpoint.credential("bob")["ServiceUserName"], made["ServicePassword"]
    elif how == "another service's":
        git = iam.create_service_specific_credential(
            UserName="jane", ServiceName="codecommit.amazonaws.com"
        )["ServiceSpecificCredential"]
        return git["ServiceUserName"], git["ServicePassword"]
    return login, made["ServicePassword"]


@pytest.mark.parametrize(
    "how", ["reset", "Inactive", "deleted", "wrong", "another user's", "another service's"]
)
def test_a_password_that_is_not_current_is_refused_with_code_0100(
    endpoint: Endpoint, how: str
) -> None:
    made = endpoint.credential()
    with endpoint.session(made["ServiceUserName"], made["ServicePassword"]):
        pass  # it was good
    login, password = _bad(endpoint, made, how)
    message = endpoint.refused(login, password)
    assert "code=0100 [Bad credentials]" in message
    assert f"Provided username {login} and/or password are incorrect" in message


def test_after_a_reset_the_new_password_signs_in_and_the_old_one_is_refused(
    endpoint: Endpoint,
) -> None:
    made = endpoint.credential()
    new = endpoint.iam.reset_service_specific_credential(
        UserName="jane", ServiceSpecificCredentialId=made["ServiceSpecificCredentialId"]
    )["ServiceSpecificCredential"]
    with endpoint.session(new["ServiceUserName"], new["ServicePassword"]) as session:
        assert session.execute("SELECT key FROM system.local").one().key == "local"
    endpoint.refused(made["ServiceUserName"], made["ServicePassword"])


def test_each_sign_in_is_logged_without_its_password() -> None:
    with sscstub.serve(users=["jane"], cql_port=0) as server:
        assert server.cql_address is not None
        endpoint = Endpoint(server.url, server.cql_address)
        made = endpoint.credential()
        with endpoint.session(made["ServiceUserName"], made["ServicePassword"], protocol_version=4):
            pass
        endpoint.refused(made["ServiceUserName"], "not it")
        uses = [c for c in server.calls if c.operation == "cassandra:Authenticate"]
        assert [(c.params["Accepted"], c.error_code) for c in uses][-1] == (
            False,
            "AuthenticationFailed",
        )
        assert {c.params["ServiceUserName"] for c in uses} == {made["ServiceUserName"]}
        assert True in [c.params["Accepted"] for c in uses]
        assert made["ServicePassword"] not in repr(server.calls)


def test_tls_with_the_servers_ca_file() -> None:
    with serve_process("--users", "jane", "--cql-port", "0", "--cql-tls") as process:
        assert process.cql is not None and process.ca_file is not None
        endpoint = Endpoint(process.url, process.cql, process.ca_file)
        made = endpoint.credential()
        with endpoint.session(made["ServiceUserName"], made["ServicePassword"]) as session:
            assert session.execute("SELECT release_version FROM system.local").one()[0] == "3.11.2"
        untrusted = ssl.create_default_context()  # without the CA, the certificate is not trusted
        with (
            pytest.raises(NoHostAvailable),
            endpoint.session(
                made["ServiceUserName"], made["ServicePassword"], ssl_context=untrusted
            ),
        ):
            pass


def test_the_plain_port_answers_a_tls_hello_with_an_error_and_closes() -> None:
    hello = bytes.fromhex("16030100c4010000c00303") + bytes(range(32))
    with sscstub.serve(cql_port=0) as server:
        assert server.cql_address is not None
        with socket.create_connection(server.cql_address, timeout=5) as raw:
            raw.sendall(hello)
            answer = b""
            while chunk := raw.recv(65536):
                answer += chunk
        assert answer[:1] == b"\x84" and answer[4] == 0  # an ERROR frame
        assert b"Invalid or unsupported protocol version (22)" in answer


def test_system_tables_answer_and_other_keyspaces_are_refused(endpoint: Endpoint) -> None:
    from cassandra import InvalidRequest

    made = endpoint.credential()
    with endpoint.session(made["ServiceUserName"], made["ServicePassword"]) as session:
        assert session.execute("SELECT * FROM system.peers").all() == []
        prepared = session.prepare("SELECT * FROM system_schema.tables WHERE keyspace_name = ?")
        tables = {r.table_name for r in session.execute(prepared, ["system"])}
        assert tables == {"local", "peers"}
        with pytest.raises(InvalidRequest, match="not table data"):
            session.execute("SELECT * FROM orders.by_customer")
        with pytest.raises(InvalidRequest, match="Column family local is not writable"):
            session.execute("INSERT INTO system.local (key) VALUES ('x')")
        with pytest.raises(InvalidRequest, match="unconfigured table peers_v2"):
            session.execute("SELECT * FROM system.peers_v2")


def test_a_credential_made_by_another_process_on_the_same_state_signs_in(tmp_path: Any) -> None:
    state = str(tmp_path / "state.db")
    with sscstub.mock_ssc(users=["jane"], state=state):
        import boto3

        made = boto3.client("iam", region_name="us-east-1").create_service_specific_credential(
            UserName="jane", ServiceName=KEYSPACES
        )["ServiceSpecificCredential"]
    with serve_process("--state", state, "--cql-port", "0") as process:
        assert process.cql is not None
        endpoint = Endpoint(process.url, process.cql)
        with endpoint.session(made["ServiceUserName"], made["ServicePassword"]) as session:
            assert session.execute("SELECT release_version FROM system.local").one()


def test_under_moto_a_user_made_in_motos_iam_signs_in_until_deleted() -> None:
    """Composition as for git: the user is moto's (made with IAM's CreateUser through the same
    endpoint), the credential sscstub's, and deleting it refuses the next sign-in."""
    pytest.importorskip("moto", reason="moto (sscstub[moto]) is not installed")
    with sscstub.serve(moto=True, cql_port=0) as server:
        assert server.cql_address is not None
        endpoint = Endpoint(server.url, server.cql_address)
        endpoint.iam.create_user(UserName="maya")
        made = endpoint.credential("maya")
        login, password = made["ServiceUserName"], made["ServicePassword"]
        with endpoint.session(login, password) as session:
            assert session.execute("SELECT release_version FROM system.local").one()
        endpoint.iam.delete_service_specific_credential(
            UserName="maya", ServiceSpecificCredentialId=made["ServiceSpecificCredentialId"]
        )
        assert "are incorrect" in endpoint.refused(login, password)


def test_a_state_file_that_cannot_be_read_answers_a_server_error_naming_the_lock(
    tmp_path: Any,
) -> None:
    """As for git (tests/test_findings_http.py): the server's reads fail as a locked file fails
    them while a flag file exists. The sign-in gets a server error that says so, not a hang."""
    state, flag = tmp_path / "s.db", tmp_path / "locked"
    launcher = locked_while(flag)
    flags = ("--users", "jane", "--state", str(state), "--cql-port", "0")
    with serve_process(*flags, launcher=launcher) as process:
        assert process.cql is not None
        endpoint = Endpoint(process.url, process.cql)
        made = endpoint.credential()
        flag.touch()
        with (
            pytest.raises(NoHostAvailable) as failed,
            endpoint.session(made["ServiceUserName"], made["ServicePassword"]),
        ):
            pass
        assert "code=0000 [Server error]" in str(failed.value) and "is locked" in str(failed.value)
        flag.unlink()
        with endpoint.session(made["ServiceUserName"], made["ServicePassword"]):
            pass


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"cql_port": -1}, "cql_port=-1 is not a TCP port"),
        ({"cql_port": "9142"}, "is not a TCP port"),
        ({"cql_tls": True}, "cql_tls=True without a CQL listener"),
    ],
)
def test_bad_cql_settings_say_what_to_do(settings: dict[str, Any], words: str) -> None:
    with pytest.raises(sscstub.SscStubError, match=words) as refused:
        sscstub.serve(**settings)
    assert "keyspaces-over-cql" in str(refused.value)


def test_tls_without_trustme_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "trustme", None)  # as when it is not installed
    with pytest.raises(sscstub.SscStubError, match=r"pip install 'sscstub\[cql\]'"):
        sscstub.serve(cql_port=0, cql_tls=True)


def test_the_command_line_takes_the_cql_flags_and_prints_the_port_and_ca() -> None:
    with serve_process("--cql-port", "0", "--cql-tls") as process:
        assert process.cql is not None and process.cql[0] == "127.0.0.1"
        assert process.ca_file is not None and process.ca_file.endswith("ca.pem")
        with open(process.ca_file) as pem:
            assert pem.read().startswith("-----BEGIN CERTIFICATE-----")
