"""Keyspaces passwords on the CQL port through clients nobody here wrote: cqlsh (PyPI) with
``-u``/``-p``, and the Node.js Cassandra driver (npm) with ``PlainTextAuthProvider``. Each signs
in with the current password and is refused after a reset and after a deactivation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clients import CLIENTS, HERE, clean_env, need, run

import sscstub

KEYSPACES = "cassandra.amazonaws.com"


@pytest.fixture
def server() -> Iterator[sscstub.Server]:
    with sscstub.serve(users=["jane"], cql_port=0) as running:
        yield running


def cqlsh(server: sscstub.Server, tmp_path: Path, login: str, password: str) -> Any:
    assert server.cql_address is not None
    host, port = server.cql_address
    argv = [str(CLIENTS["cqlsh"]), host, str(port), "-u", login, "-p", password]
    return run([*argv, "-e", "SELECT release_version FROM system.local"], clean_env(tmp_path))


def node(server: sscstub.Server, tmp_path: Path, login: str, password: str) -> dict[str, Any]:
    assert server.cql_address is not None
    host, port = server.cql_address
    done = run(["node", str(HERE / "js" / "cql.cjs"), host, str(port), login, password],
               clean_env(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _credential(server: sscstub.Server) -> tuple[Any, dict[str, Any]]:
    from conftest import client_for

    iam = client_for(server.url)
    made = iam.create_service_specific_credential(UserName="jane", ServiceName=KEYSPACES)
    return iam, made["ServiceSpecificCredential"]


@pytest.mark.parametrize("change", ["reset", "deactivation"])
def test_cqlsh_signs_in_and_is_refused_after_a_change(
    server: sscstub.Server, tmp_path: Path, change: str
) -> None:
    need("cqlsh")
    iam, made = _credential(server)
    login, password = made["ServiceUserName"], made["ServicePassword"]
    done = cqlsh(server, tmp_path, login, password)
    assert done.returncode == 0, done.stderr
    assert "3.11.2" in done.stdout and "(1 rows)" in done.stdout
    _change(iam, made, change)
    refused = cqlsh(server, tmp_path, login, password)
    assert refused.returncode != 0
    assert "code=0100 [Bad credentials]" in refused.stderr
    assert f"Provided username {login} and/or password are incorrect" in refused.stderr


@pytest.mark.parametrize("change", ["reset", "deactivation"])
def test_the_node_cassandra_driver_signs_in_and_is_refused_after_a_change(
    server: sscstub.Server, tmp_path: Path, change: str
) -> None:
    need("node-cassandra-driver")
    iam, made = _credential(server)
    login, password = made["ServiceUserName"], made["ServicePassword"]
    assert node(server, tmp_path, login, password) == {"release_version": "3.11.2"}
    _change(iam, made, change)
    refused = node(server, tmp_path, login, password)
    assert refused["error"] == "AuthenticationError"
    assert refused["message"] == f"Provided username {login} and/or password are incorrect"


def _change(iam: Any, made: dict[str, Any], change: str) -> None:
    cid = made["ServiceSpecificCredentialId"]
    if change == "reset":
        iam.reset_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=cid)
    else:
        iam.update_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=cid, Status="Inactive"
        )
