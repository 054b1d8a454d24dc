# examples/test_bedrock_key_rotation.py
import boto3
import pytest
from botocore.stub import Stubber


def ask_bedrock() -> str:
    """The application: a Bedrock client that takes its key from AWS_BEARER_TOKEN_BEDROCK."""
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as bedrock:  # stands in for Bedrock's answer to an accepted key
        bedrock.add_response(
            "converse",
            {
                "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                "metrics": {"latencyMs": 1},
            },
        )
        answer = client.converse(
            modelId="anthropic.claude-3-haiku-20240307-v1:0",
            messages=[{"role": "user", "content": [{"text": "hello"}]}],
        )
    return answer["stopReason"]


@pytest.mark.ssc_stub(users=["app"])
def test_after_rotation_the_old_key_is_refused_by_bedrock(ssc_stub, monkeypatch):
    iam = boto3.client("iam", region_name="us-east-1")
    made = iam.create_service_specific_credential(
        UserName="app", ServiceName="bedrock.amazonaws.com"
    )["ServiceSpecificCredential"]
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", made["ServiceCredentialSecret"])
    assert ask_bedrock() == "end_turn"

    iam.reset_service_specific_credential(  # the rotation under test
        UserName="app", ServiceSpecificCredentialId=made["ServiceSpecificCredentialId"]
    )
    with pytest.raises(Exception, match="AccessDeniedException.*API Key is valid"):
        ask_bedrock()  # the old key, still in the environment, is refused as Bedrock would
