# examples/context_manager.py
import boto3

from sscstub import mock_ssc

iam = boto3.client("iam", region_name="us-east-1")  # made before activation: served all the same

with mock_ssc(users=["jane"], account_id="111122223333") as stub:
    key = iam.create_service_specific_credential(
        UserName="jane", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=90
    )["ServiceSpecificCredential"]
    print(key["ServiceCredentialAlias"], key["ExpirationDate"] - key["CreateDate"])
    assert stub.authenticate_api_key(key["ServiceCredentialSecret"])

assert [c.service_name for c in stub.credentials] == [
    "bedrock.amazonaws.com"
]  # readable after exit
