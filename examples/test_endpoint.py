# examples/test_endpoint.py
import os
import subprocess
import sys

import boto3
import pytest

import sscstub


@pytest.mark.ssc_stub(users=["jane"])
def test_a_subprocess_rotates_through_the_endpoint(ssc_server, tmp_path):
    # The code under test runs in another process: it only needs the endpoint's URL.
    script = tmp_path / "rotate.py"
    script.write_text(
        "import boto3, os\n"
        "iam = boto3.client('iam', region_name='us-east-1', endpoint_url=os.environ['URL'],\n"
        "                   aws_access_key_id='t', aws_secret_access_key='t')\n"
        "iam.create_service_specific_credential(UserName='jane',\n"
        "                                       ServiceName='codecommit.amazonaws.com')\n"
    )
    subprocess.run([sys.executable, script], env={**os.environ, "URL": ssc_server.url}, check=True)
    assert [c.service_user_name for c in ssc_server.credentials] == ["jane-at-123456789012"]


def test_serve_as_a_context_manager():
    with sscstub.serve(users=["jane"]) as server:  # a free loopback port, a thread
        iam = boto3.client(
            "iam",
            region_name="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id="t",
            aws_secret_access_key="t",
        )
        server.inject_error("list_service_specific_credentials", "Throttling", times=1)
        listed = iam.list_service_specific_credentials(UserName="jane")  # retried once
        assert listed["ResponseMetadata"]["RetryAttempts"] == 1
