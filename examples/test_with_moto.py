# examples/test_with_moto.py
import boto3
import pytest
from moto import mock_aws

from sscstub import mock_ssc


@mock_aws  # users, policies and every other IAM call: moto
@mock_ssc()  # service-specific credentials: sscstub, for moto's users
def test_a_deploy_bot_gets_a_git_credential_then_leaves():
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="deploy-bot")
    made = iam.create_service_specific_credential(
        UserName="deploy-bot", ServiceName="codecommit.amazonaws.com"
    )["ServiceSpecificCredential"]
    with pytest.raises(iam.exceptions.DeleteConflictException):  # as IAM: not with a credential
        iam.delete_user(UserName="deploy-bot")
    iam.delete_service_specific_credential(
        UserName="deploy-bot", ServiceSpecificCredentialId=made["ServiceSpecificCredentialId"]
    )
    iam.delete_user(UserName="deploy-bot")
