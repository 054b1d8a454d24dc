# examples/test_faults.py
import boto3
import pytest

import sscstub


@pytest.mark.ssc_stub(users=["jane"])
def test_rotation_survives_a_throttled_create(ssc_stub):
    iam = boto3.client("iam", region_name="us-east-1")
    ssc_stub.inject_error("create_service_specific_credential", "Throttling", times=1)
    with pytest.raises(iam.exceptions.ClientError, match="Throttling"):
        iam.create_service_specific_credential(UserName="jane", ServiceName="bedrock.amazonaws.com")
    iam.create_service_specific_credential(UserName="jane", ServiceName="bedrock.amazonaws.com")
    assert [call.error_code for call in ssc_stub.calls] == ["Throttling", None]


@pytest.mark.ssc_stub(users=["jane"])  # strict by default: no other IAM call slips through to AWS
def test_other_iam_operations_are_stopped(ssc_stub):
    iam = boto3.client("iam", region_name="us-east-1")
    with pytest.raises(sscstub.UnsimulatedOperationError, match="GetUser"):
        iam.get_user(UserName="jane")
