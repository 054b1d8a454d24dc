"""The main example: rotation code a team would ship, exercised against sscstub's simulated IAM
over 40 simulated days, with a short report. Run it with `make example`."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import boto3
from freezegun import freeze_time

import sscstub

# --- the code under test: rotate a long-term Bedrock API key and a CodeCommit git password ---


def rotate_api_key(iam, user: str, service: str, days: int) -> str:
    """Issue a fresh key, deactivate the previous ones, delete what is inactive or expired."""
    listed = iam.list_service_specific_credentials(UserName=user, ServiceName=service)
    old = listed["ServiceSpecificCredentials"]
    for cred in old:
        if cred["Status"] != "Active":
            iam.delete_service_specific_credential(
                UserName=user, ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"]
            )
    new = iam.create_service_specific_credential(
        UserName=user, ServiceName=service, CredentialAgeDays=days
    )["ServiceSpecificCredential"]
    for cred in old:
        if cred["Status"] == "Active":
            iam.update_service_specific_credential(
                UserName=user,
                ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"],
                Status="Inactive",
            )
    return new["ServiceCredentialSecret"]


def rotate_git_password(iam, user: str, credential_id: str) -> str:
    reset = iam.reset_service_specific_credential(
        UserName=user, ServiceSpecificCredentialId=credential_id
    )
    return reset["ServiceSpecificCredential"]["ServicePassword"]


# --- the scenario --------------------------------------------------------------------------------


def main() -> None:
    start = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
    bedrock, codecommit = "bedrock.amazonaws.com", "codecommit.amazonaws.com"
    lines = []
    with freeze_time(start) as clock, sscstub.mock_ssc(users=["ci-bot"], seed=2026) as stub:
        iam = boto3.client("iam", region_name="us-east-1")

        def day() -> int:
            return (datetime.now(timezone.utc) - start).days

        key1 = rotate_api_key(iam, "ci-bot", bedrock, days=30)
        git = iam.create_service_specific_credential(UserName="ci-bot", ServiceName=codecommit)
        git_id = git["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
        git_user = git["ServiceSpecificCredential"]["ServiceUserName"]
        git_pw1 = git["ServiceSpecificCredential"]["ServicePassword"]
        lines.append(f"day {day():>2}  issued a 30-day Bedrock key and git user {git_user}")

        clock.tick(timedelta(days=25))
        key2 = rotate_api_key(iam, "ci-bot", bedrock, days=30)
        git_pw2 = rotate_git_password(iam, "ci-bot", git_id)
        lines.append(f"day {day():>2}  rotated both; the old key is now Inactive")

        clock.tick(timedelta(days=15))
        listed = iam.list_service_specific_credentials(UserName="ci-bot", ServiceName=bedrock)
        statuses = [c["Status"] for c in listed["ServiceSpecificCredentials"]]
        lines.append(f"day {day():>2}  Bedrock keys read {statuses}")
        stub.inject_error("create_service_specific_credential", "Throttling")
        try:
            rotate_api_key(iam, "ci-bot", bedrock, days=30)
        except iam.exceptions.ClientError as error:
            lines.append(
                f"day {day():>2}  rotation hit {error.response['Error']['Code']}; retried:"
            )
        key3 = rotate_api_key(iam, "ci-bot", bedrock, days=30)

        checks = {
            "first key works": stub.authenticate_api_key(key1),
            "second key works": stub.authenticate_api_key(key2),
            "third key works": stub.authenticate_api_key(key3),
            "old git password works": stub.authenticate(git_user, git_pw1),
            "new git password works": stub.authenticate(git_user, git_pw2),
        }
        served = Counter(
            re.sub("ServiceSpecificCredentials?$", "", c.operation) for c in stub.calls
        )
        errors = [call.error_code for call in stub.calls if call.error_code]
        remaining = [(c.service_name.split(".")[0], c.status) for c in stub.credentials]

    print(f"sscstub rotation report: account {stub.account_id}, simulated IAM, no network")
    print("\n".join(lines))
    for check, ok in checks.items():
        print(f"  {check:<24} {'yes' if ok else 'no'}")
    print(f"calls served: {sum(served.values())} {dict(sorted(served.items()))}, errors: {errors}")
    print(f"credentials left: {remaining}")
    assert list(checks.values()) == [False, False, True, False, True], checks


if __name__ == "__main__":
    main()
