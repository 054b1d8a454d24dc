"""Secrets and identifiers: seeded and unseeded entropy, salted digests, ids that carry the account."""

from __future__ import annotations

import copy

import pytest

from sscstub import _secrets


def test_seeded_entropy_is_reproducible_and_unseeded_is_not() -> None:
    assert (
        _secrets.Entropy(1).bytes(8) == _secrets.Entropy(1).bytes(8) != _secrets.Entropy(2).bytes(8)
    )
    assert (
        _secrets.Entropy(b"1").bytes(8)
        != _secrets.Entropy(1).bytes(8)
        != _secrets.Entropy("1").bytes(8)
    )
    assert _secrets.Entropy(None).bytes(16) != _secrets.Entropy(None).bytes(16)


@pytest.mark.parametrize(
    ("seed", "first", "refilled"),
    [
        (7, "a1de7c7cd26cdb8e", "48748196746bc3ff"),
        ("7", "829e68fd48bfe575", "6191c5809676c9a7"),
        (b"7", "e2a6d01615533a77", "12a17daa6e7c4b3a"),
    ],
)
def test_a_seed_gives_the_same_stream_in_every_release(
    seed: object, first: str, refilled: str
) -> None:
    """Values a suite pinned with ``seed`` depend on this stream: a change to it must be a
    decision, not an accident. The second draw does not fit the first 4 KiB block, so it ends
    in the next one."""
    entropy = _secrets.Entropy(seed)  # type: ignore[arg-type]
    assert entropy.bytes(8).hex() == first
    assert entropy.bytes(4096)[-8:].hex() == refilled


def test_secret_digests_are_salted_and_compare() -> None:
    entropy = _secrets.Entropy(None)
    first, second = _secrets.digest("pw", entropy), _secrets.digest("pw", entropy)
    assert first != second and len(first) == 48
    assert _secrets.matches(first, "pw") and not _secrets.matches(first, "pW")


@pytest.mark.parametrize(
    "account", ["000000000000", "000000000001", "123456789012", "999999999999"]
)
def test_ids_round_trip_the_account(account: str) -> None:
    """Every id, whatever its random part (a parity character of either half, any tail)."""
    entropy = _secrets.Entropy(b"ids")
    for _ in range(200):
        credential_id = _secrets.credential_id(account, entropy)
        assert _secrets.account_of(credential_id) == account and len(credential_id) == 21


def test_the_random_part_of_ids_uses_the_whole_alphabet() -> None:
    """Each of the 9 random characters (the parity character's low half, and the 8 after it)
    takes every value it can: real ids are random across base 32."""
    entropy = _secrets.Entropy(b"alphabet")
    ids = [_secrets.credential_id("123456789012", entropy) for _ in range(3000)]
    assert {i[12] for i in ids} == set(_secrets._B32[:16])  # an even account: the low half
    for position in range(13, 21):
        assert {i[position] for i in ids} == set(_secrets._B32), position


def test_the_repr_says_where_bytes_come_from_and_never_shows_a_seed() -> None:
    assert repr(_secrets.Entropy(None)) == "<Entropy secrets>"
    assert repr(_secrets.Entropy(b"my seed")) == "<Entropy seeded>"
    assert "my seed" not in repr(_secrets.Entropy("my seed"))


@pytest.mark.parametrize("seed", [None, 7], ids=["secrets", "seeded"])
def test_after_a_fork_a_child_never_repeats_its_parents_random_bytes(seed: int | None) -> None:
    """A fork copies the pool (a deep copy stands for it here): the child draws afresh from
    `secrets`; a seeded stream goes on in the child as in the parent (reproducible)."""
    parent = _secrets.Entropy(seed)
    parent.bytes(10)  # the pool is full, and part used
    child = copy.deepcopy(parent)
    child.after_fork()
    mine, theirs = child.bytes(64), parent.bytes(64)
    assert (mine == theirs) is (seed is not None)


def sets_holding(values: set[str]) -> list[object]:
    """Every set or frozenset in memory, other than ``values``, that holds one of them."""
    import gc

    return [
        o
        for o in gc.get_objects()
        if isinstance(o, (set, frozenset)) and o is not values and o & values
    ]


def test_no_secret_is_kept_in_a_cache_of_checked_values() -> None:
    """The model checks remember values they accepted, to skip checking them again; a value
    the model marks sensitive (a password, an API key) is never remembered."""
    import boto3

    import sscstub

    with sscstub.mock_ssc(users=["jane"]):
        iam = boto3.client(
            "iam", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
        )
        made = []
        for service in ("codecommit.amazonaws.com", "bedrock.amazonaws.com"):
            made.append(
                iam.create_service_specific_credential(UserName="jane", ServiceName=service)[
                    "ServiceSpecificCredential"
                ]
            )
        secrets = {made[0]["ServicePassword"], made[1]["ServiceCredentialSecret"]}
        assert sets_holding(secrets) == []


def test_a_sensitive_constrained_member_is_never_remembered_either() -> None:
    """IAM's sensitive members are unconstrained today, so no cache could see them; this holds
    for a model where one is constrained (a constrained member that passed is remembered)."""
    from botocore.model import ShapeResolver

    from sscstub._checks import output_check

    shapes = ShapeResolver(
        {
            "Made": {"type": "structure", "members": {"Key": {"shape": "K"}, "Id": {"shape": "I"}}},
            "K": {"type": "string", "min": 8, "sensitive": True},
            "I": {"type": "string", "min": 8},
        }
    )
    check = output_check(shapes.get_shape_by_name("Made"))
    key, name = "s3cret-" + "k" * 20, "public-" + "i" * 20
    assert check({"Key": key, "Id": name}) is None
    assert sets_holding({key, name}) == [{name}]
