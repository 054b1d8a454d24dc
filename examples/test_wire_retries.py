# examples/test_wire_retries.py
import boto3
import pytest
from botocore.config import Config


def rotate(iam, user):
    """A rotation job: a new Bedrock key, relying on botocore to retry throttles."""
    made = iam.create_service_specific_credential(
        UserName=user, ServiceName="bedrock.amazonaws.com", CredentialAgeDays=30
    )
    return made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"], made


@pytest.mark.ssc_stub(users=["jane"], wire=True)  # answered at before-send, as XML
def test_rotation_survives_two_throttles(ssc_stub):
    ssc_stub.inject_error("create_service_specific_credential", "Throttling", times=2)
    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id="testing",  # wire mode signs requests: any credentials do
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard"}),
    )
    key_id, made = rotate(iam, "jane")
    assert made["ResponseMetadata"]["RetryAttempts"] == 2  # botocore retried twice
    assert [c.error_code for c in ssc_stub.calls] == ["Throttling", "Throttling", None]
    assert ssc_stub.credentials[0].service_specific_credential_id == key_id
