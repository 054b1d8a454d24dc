# examples/test_readme.py  (run it: pytest examples/test_readme.py)
import boto3


def test_reset_invalidates_the_old_key(ssc_stub):  # ssc_stub: the fixture sscstub installs
    ssc_stub.add_user("jane")
    iam = boto3.client("iam", region_name="us-east-1")
    k = iam.create_service_specific_credential(UserName="jane", ServiceName="bedrock.amazonaws.com")
    key_id = k["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    new = iam.reset_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=key_id)
    assert ssc_stub.authenticate_api_key(
        new["ServiceSpecificCredential"]["ServiceCredentialSecret"]
    )
    assert not ssc_stub.authenticate_api_key(
        k["ServiceSpecificCredential"]["ServiceCredentialSecret"]
    )
