# examples/test_endpoint_moto.py  (pip install 'sscstub[moto]'; code that calls a subprocess)
import subprocess
import sys

import pytest

SCRIPT = """
import boto3
iam = boto3.client("iam")  # AWS_ENDPOINT_URL: every service to the endpoint
iam.create_user(UserName="bob")
iam.create_service_specific_credential(UserName="bob", ServiceName="codecommit.amazonaws.com")
boto3.client("ssm").put_parameter(Name="/app/user", Value="bob", Type="String")
"""


@pytest.mark.ssc_server(moto=True)  # the ssc_server fixture, with moto for the rest of AWS
def test_a_script_against_one_endpoint(ssc_server):
    env = {"AWS_ENDPOINT_URL": ssc_server.url, "AWS_DEFAULT_REGION": "us-east-1"}
    env |= {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "PATH": ""}
    subprocess.run([sys.executable, "-c", SCRIPT], env=env, check=True)
    [credential] = ssc_server.credentials
    assert credential.user_name == "bob"
