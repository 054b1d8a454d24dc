"""One endpoint for all of AWS, through real clients: the AWS CLI v2 and v1 against the real
``sscstub serve --moto`` command and against ``sscstub serve --upstream`` in front of a real
``moto_server``; the JavaScript SDK v3 (AWS_ENDPOINT_URL) and v2 (its ``endpoint`` option); the
CLI plugin beside a moto server (SSCSTUB_UPSTREAM); and Bedrock API keys checked on the
JavaScript SDK v3's own BedrockRuntimeClient calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from clients import CLIENTS, HERE, RAN, ROOT, clean_env, need, run

import sscstub

pytest.importorskip("moto.server", reason="moto[server] is in the test group")
sys.path.insert(0, str(ROOT))
from tests.upstreams import moto_server_process  # noqa: E402

CC = "codecommit.amazonaws.com"
EXITS = {"aws-cli-v2": 254, "aws-cli-v1": 255}
CLIENTS.setdefault("javascript-sdk-v2", HERE / "js" / "node_modules" / "aws-sdk")
CLIENTS.setdefault(
    "javascript-sdk-v3-bedrock",
    HERE / "js" / "node_modules" / "@aws-sdk" / "client-bedrock-runtime",
)


@contextmanager
def sscstub_serve(*flags: str) -> Iterator[str]:
    """The real ``sscstub serve`` command on a free port; its URL, once it says it is ready."""
    command = [str(Path(sys.executable).parent / "sscstub"), "serve", "--port", "0", *flags]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("sscstub serving IAM at "), first + process.stderr.read()
        yield first.split(" at ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server_process() as url:
        yield url


@pytest.fixture(params=["--moto", "--upstream"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "--moto":
        with sscstub_serve("--moto") as url:
            yield url
    else:
        upstream = request.getfixturevalue("moto_url")
        subprocess.run(["curl", "-s", "-X", "POST", f"{upstream}/moto-api/reset"], check=True)
        with sscstub_serve("--upstream", upstream) as url:
            yield url


@pytest.mark.parametrize("client", ["aws-cli-v2", "aws-cli-v1"])
def test_the_aws_cli_runs_a_whole_script_against_one_endpoint(
    endpoint: str, tmp_path: Path, client: str
) -> None:
    need(client)
    # Every service to the endpoint: AWS_ENDPOINT_URL for v1 (botocore reads it); Debian's v2
    # (2.9) predates it (2.13), so --endpoint-url there.
    env = clean_env(tmp_path, AWS_ENDPOINT_URL=endpoint)
    flags = ["--endpoint-url", endpoint] if client == "aws-cli-v2" else []

    def aws(*args: str, ok: bool = True) -> Any:
        done = run([str(CLIENTS[client]), "--output", "json", *flags, *args], env)
        assert (done.returncode == 0) == ok, done.stderr
        return json.loads(done.stdout) if ok and done.stdout.strip() else done

    aws("iam", "create-user", "--user-name", "bob")
    made = aws(
        "iam", "create-service-specific-credential", "--user-name", "bob", "--service-name", CC
    )
    cid = made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    listed = aws("iam", "list-service-specific-credentials", "--user-name", "bob")
    assert [c["ServiceSpecificCredentialId"] for c in listed["ServiceSpecificCredentials"]] == [cid]
    refused = aws("iam", "delete-user", "--user-name", "bob", ok=False)
    assert refused.returncode == EXITS[client]
    assert "An error occurred (DeleteConflict) when calling the DeleteUser operation" in (
        refused.stderr
    )
    assert aws("iam", "get-user", "--user-name", "bob")["User"]["UserName"] == "bob"
    aws(
        "iam",
        "delete-service-specific-credential",
        "--user-name",
        "bob",
        "--service-specific-credential-id",
        cid,
    )
    aws("iam", "delete-user", "--user-name", "bob")
    aws("ssm", "put-parameter", "--name", "/app/url", "--value", "x", "--type", "String")
    assert aws("ssm", "get-parameter", "--name", "/app/url")["Parameter"]["Value"] == "x"


def test_aws_endpoint_url_iam_alone_reaches_the_endpoint(tmp_path: Path) -> None:
    need("aws-cli-v1")
    with sscstub_serve("--moto") as url:
        env = clean_env(tmp_path, AWS_ENDPOINT_URL_IAM=url)
        for args in (
            ["iam", "create-user", "--user-name", "bob"],
            ["iam", "create-service-specific-credential", "--user-name", "bob"]
            + ["--service-name", CC],
        ):
            done = run([str(CLIENTS["aws-cli-v1"]), "--output", "json", *args], env)
            assert done.returncode == 0, done.stderr


def test_the_javascript_sdk_v3_with_aws_endpoint_url(endpoint: str, tmp_path: Path) -> None:
    need("javascript-sdk-v3")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_ENDPOINT_URL": endpoint}

    def send(command: str, **params: Any) -> Any:
        done = run(["node", str(HERE / "js" / "iam.mjs"), command, json.dumps(params)], env)
        return json.loads(done.stdout)

    assert send("CreateUser", UserName="carol")["User"]["UserName"] == "carol"
    made = send("CreateServiceSpecificCredential", UserName="carol", ServiceName=CC)
    assert made["ServiceSpecificCredential"]["ServiceUserName"].startswith("carol-at-")
    assert send("DeleteUser", UserName="carol")["error"]["name"] == "DeleteConflictException"


def test_the_javascript_sdk_v2_with_its_endpoint_option(endpoint: str, tmp_path: Path) -> None:
    need("javascript-sdk-v2")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}

    def send(operation: str, **params: Any) -> Any:
        script = str(HERE / "js" / "iam-v2.cjs")
        done = run(["node", script, endpoint, operation, json.dumps(params)], env)
        return json.loads(done.stdout)

    assert send("createUser", UserName="dave")["User"]["UserName"] == "dave"
    made = send("createServiceSpecificCredential", UserName="dave", ServiceName=CC)
    cid = made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    assert send("deleteUser", UserName="dave")["error"] == {
        "code": "DeleteConflict",
        "message": "Cannot delete entity, must remove referenced objects first.",
        "status": 409,
    }
    send("deleteServiceSpecificCredential", UserName="dave", ServiceSpecificCredentialId=cid)
    assert send("deleteUser", UserName="dave") == {}


def test_the_cli_plugin_beside_a_moto_server(moto_url: str, tmp_path: Path) -> None:
    need("aws-cli-v2")
    subprocess.run(["curl", "-s", "-X", "POST", f"{moto_url}/moto-api/reset"], check=True)
    config = tmp_path / "config"
    config.write_text(f"[plugins]\ncli_legacy_plugin_path = {ROOT}\nsscstub = sscstub.awscli\n")
    env = clean_env(
        tmp_path,
        AWS_CONFIG_FILE=str(config),
        SSCSTUB_STATE=str(tmp_path / "state.db"),
        SSCSTUB_UPSTREAM=moto_url,  # no SSCSTUB_USERS: moto's users are looked up
    )

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(CLIENTS["aws-cli-v2"]), "--endpoint-url", moto_url, "--output", "json"]
        return run([*argv, "iam", *args], env)

    assert aws("create-user", "--user-name", "erin").returncode == 0
    made = aws("create-service-specific-credential", "--user-name", "erin", "--service-name", CC)
    assert made.returncode == 0, made.stderr
    refused = aws("delete-user", "--user-name", "erin")
    assert refused.returncode == 254 and "(DeleteConflict)" in refused.stderr
    assert aws("get-user", "--user-name", "erin").returncode == 0  # moto's user survived
    missing = aws("create-service-specific-credential", "--user-name", "zed", "--service-name", CC)
    assert missing.returncode == 254 and "(NoSuchEntity)" in missing.stderr


# --- Bedrock API keys on the JavaScript SDK v3's own calls ---------------------------------------


@pytest.mark.parametrize("how", ["AWS_BEARER_TOKEN_BEDROCK", "token option"])
def test_bedrock_runtime_client_keys_are_checked_at_the_endpoint(tmp_path: Path, how: str) -> None:
    need("javascript-sdk-v3-bedrock")
    with sscstub.serve(users=["jane"]) as server:
        from test_server import client_for

        iam = client_for(server.url)
        made = iam.create_service_specific_credential(
            UserName="jane", ServiceName="bedrock.amazonaws.com"
        )["ServiceSpecificCredential"]
        old = made["ServiceCredentialSecret"]
        cid = made["ServiceSpecificCredentialId"]
        new = iam.reset_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=cid
        )["ServiceSpecificCredential"]["ServiceCredentialSecret"]

        def converse(key: str) -> Any:
            env = {
                "PATH": os.environ["PATH"],
                "HOME": str(tmp_path),
                "AWS_REGION": "us-east-1",
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.url,
            }
            args = []
            if how == "AWS_BEARER_TOKEN_BEDROCK":
                env["AWS_BEARER_TOKEN_BEDROCK"] = key
            else:
                args = [key]
            done = run(["node", str(HERE / "js" / "bedrock.mjs"), *args], env)
            return json.loads(done.stdout)["error"]

        assert converse(old) == {
            "name": "AccessDeniedException",
            "message": "Authentication failed: Please make sure your API Key is valid.",
            "status": 403,
        }
        accepted = converse(new)
        assert (accepted["name"], accepted["status"]) == ("NotImplemented", 501)
        assert "bedrock-runtime Converse" in accepted["message"]
        checked = [(c.operation, c.error_code) for c in server.calls][-2:]
        assert checked == [
            ("bedrock-runtime:Converse", "AccessDeniedException"),
            ("bedrock-runtime:Converse", None),
        ]
    RAN.setdefault("javascript-sdk-v3-bedrock", "ran")
