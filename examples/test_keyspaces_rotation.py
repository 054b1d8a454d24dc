# examples/test_keyspaces_rotation.py  (pip install 'sscstub[cql]' cassandra-driver)
import boto3
import pytest
from cassandra import AuthenticationFailed
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable


def release_version(address, login, password):
    """The application's own Cassandra driver, signing in as it does against Keyspaces."""
    host, port = address
    cluster = Cluster([host], port=port, auth_provider=PlainTextAuthProvider(login, password))
    try:
        session = cluster.connect()
        return session.execute("SELECT release_version FROM system.local").one()[0]
    finally:
        cluster.shutdown()


@pytest.mark.ssc_server(users=["app"], cql_port=0)  # a CQL port beside the IAM endpoint
def test_after_rotation_keyspaces_refuses_the_old_password(ssc_server):
    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=ssc_server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    made = iam.create_service_specific_credential(
        UserName="app", ServiceName="cassandra.amazonaws.com"
    )["ServiceSpecificCredential"]
    login, old = made["ServiceUserName"], made["ServicePassword"]
    assert release_version(ssc_server.cql_address, login, old) == "3.11.2"

    new = iam.reset_service_specific_credential(  # the rotation under test
        UserName="app", ServiceSpecificCredentialId=made["ServiceSpecificCredentialId"]
    )["ServiceSpecificCredential"]["ServicePassword"]
    assert release_version(ssc_server.cql_address, login, new) == "3.11.2"
    with pytest.raises(NoHostAvailable) as refused:
        release_version(ssc_server.cql_address, login, old)
    (error,) = refused.value.errors.values()
    assert isinstance(error, AuthenticationFailed) and "code=0100" in str(error)
