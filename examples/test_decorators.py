# examples/test_decorators.py
import asyncio
import unittest

import boto3

from sscstub import mock_ssc

ssc = mock_ssc(users=["jane"])  # one object; every decorated test gets fresh state


@ssc
def test_function():
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_service_specific_credential(UserName="jane", ServiceName="cassandra.amazonaws.com")
    assert len(ssc.credentials) == 1


@ssc
async def rotate():
    iam = boto3.client("iam", region_name="us-east-1")
    return iam.list_service_specific_credentials(UserName="jane")["ServiceSpecificCredentials"]


def test_async_function():
    assert asyncio.run(rotate()) == []


@ssc
class TestPlainClass:
    def test_method(self):
        assert ssc.active and ssc.credentials == ()


@ssc
class TestCaseClass(unittest.TestCase):
    def setUp(self):  # active from before setUp until after the cleanups
        self.iam = boto3.client("iam", region_name="us-east-1")

    def test_list(self):
        self.assertEqual(
            self.iam.list_service_specific_credentials(UserName="jane")["IsTruncated"], False
        )
