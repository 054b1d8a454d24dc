# examples/test_time_travel.py
import boto3
import pytest
from freezegun import freeze_time


@pytest.mark.ssc_stub(users=["jane"])
def test_a_one_day_key_expires(ssc_stub):
    iam = boto3.client("iam", region_name="us-east-1")
    with freeze_time("2026-01-01") as clock:
        key = iam.create_service_specific_credential(
            UserName="jane", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=1
        )["ServiceSpecificCredential"]
        clock.tick(60 * 60 * 48)
        listed = iam.list_service_specific_credentials(UserName="jane")[
            "ServiceSpecificCredentials"
        ]
        assert listed[0]["Status"] == "Expired"
        assert not ssc_stub.authenticate_api_key(key["ServiceCredentialSecret"])
