# examples/attach.py  (attach: harmless where it is not needed)
import boto3

early = boto3.Session(region_name="us-east-1").client("iam")

import sscstub  # noqa: E402  (imported late on purpose)

stub = sscstub.mock_ssc(users=["jane"])
stub.attach(early)  # for every activation of this stub; removed again at each exit
with stub:
    early.create_service_specific_credential(
        UserName="jane", ServiceName="codecommit.amazonaws.com"
    )
print(f"{len(stub.credentials)} credential created through a client made before import")
