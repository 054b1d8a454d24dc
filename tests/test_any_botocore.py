"""What must hold on every botocore sscstub supports, from today's back to the oldest declared
in pyproject.toml (`make unit-oldest-botocore` runs this file there, in its own venv): the whole
lifecycle through a real boto3 client, with exactly the members that botocore's model defines."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_client

import sscstub

CC = "codecommit.amazonaws.com"


def model_members(iam: Any, shape: str) -> set[str]:
    return set(iam.meta.service_model.shape_for(shape).members)


def test_the_lifecycle_on_this_botocore() -> None:
    with sscstub.mock_ssc(users=["jane"]) as stub:
        iam = make_client()
        first = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)[
            "ServiceSpecificCredential"
        ]
        assert set(first) <= model_members(iam, "ServiceSpecificCredential")
        assert first["ServiceUserName"] == "jane-at-123456789012"
        cid = first["ServiceSpecificCredentialId"]
        second = iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        assert second["ServiceSpecificCredential"]["ServiceUserName"].startswith("jane+1-at-")
        with pytest.raises(iam.exceptions.LimitExceededException):
            iam.create_service_specific_credential(UserName="jane", ServiceName=CC)
        reset = iam.reset_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=cid
        )
        password = reset["ServiceSpecificCredential"]["ServicePassword"]
        assert stub.authenticate("jane-at-123456789012", password)
        iam.update_service_specific_credential(
            UserName="jane", ServiceSpecificCredentialId=cid, Status="Inactive"
        )
        listed = iam.list_service_specific_credentials(UserName="jane")
        assert set(listed) - {"ResponseMetadata"} <= model_members(
            iam, "ListServiceSpecificCredentialsResponse"
        )
        assert [c["Status"] for c in listed["ServiceSpecificCredentials"]] == ["Inactive", "Active"]
        iam.delete_service_specific_credential(UserName="jane", ServiceSpecificCredentialId=cid)
        with pytest.raises(iam.exceptions.NoSuchEntityException, match="cannot be found"):
            iam.list_service_specific_credentials(UserName="nobody")
        assert [c.error_code for c in stub.calls].count(None) == 6


def test_an_api_key_answers_in_this_botocores_terms() -> None:
    """Before botocore 1.39 the model had no API-key members: IAM sends them and the old parser
    drops them, so the old client sees a credential without alias or secret, and no error."""
    with sscstub.mock_ssc(users=["jane"]) as stub:
        iam = make_client()
        key = iam.create_service_specific_credential(
            UserName="jane", ServiceName="bedrock.amazonaws.com"
        )["ServiceSpecificCredential"]
        assert set(key) <= model_members(iam, "ServiceSpecificCredential")
        assert ("ServiceCredentialSecret" in key) == (
            "ServiceCredentialSecret" in model_members(iam, "ServiceSpecificCredential")
        )
        assert len(stub.credentials) == 1 and stub.calls[0].error_code is None
