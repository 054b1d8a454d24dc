# examples/test_marker.py
import boto3
import pytest


@pytest.mark.ssc_stub(users=["jane"])  # the marker alone stubs the test: nothing reaches AWS
def test_a_git_password_for_jane():
    iam = boto3.client("iam", region_name="us-east-1")
    made = iam.create_service_specific_credential(
        UserName="jane", ServiceName="codecommit.amazonaws.com"
    )
    assert made["ServiceSpecificCredential"]["ServiceUserName"] == "jane-at-123456789012"
