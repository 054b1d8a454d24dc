"""The store: records, indexes and paging, without a client."""

from __future__ import annotations

from datetime import datetime, timezone

from sscstub._store import OrderedIndex, Record, Store


def _record(seq: int, user: str = "u", service: str = "codecommit.amazonaws.com") -> Record:
    return Record(f"ACCA{seq:017d}", user, service, "password", f"{user}-at-1", 0, None, b"", seq)


def test_ordered_index_pages_from_a_sequence_number_and_squeezes_holes() -> None:
    index = OrderedIndex()
    records = [_record(i) for i in range(1, 201)]
    for record in records:
        index.append(record)
    for record in records[:150:3] + records[1:150:3] + records[2:150:3]:
        index.remove(record)
    assert len(index) == 50 and len(index._seqs) == 99  # holes were squeezed out once
    page, resume = index.page(0, 3)
    assert [r.seq for r in page] == [151, 152, 153] and resume == 154
    page, resume = index.page(resume, 1000)
    assert len(page) == 47 and resume is None
    assert index.page(10_000, 5) == ([], None)


def test_store_indexes_stay_consistent() -> None:
    store = Store(("u", "v"))
    a, b, c = _record(1), _record(2, "v"), _record(3, service="bedrock.amazonaws.com")
    for record in (a, b, c):
        store.add(record)
    assert len(store) == 3 and store.of_user("u") == [a, c] and a.id in store
    assert store.page("bedrock.amazonaws.com", 0, 10) == ([c], None)
    assert store.page("never.used", 0, 10) == ([], None)
    store.remove(b)
    assert store.of_user("v") == [] and "v" not in store._by_user and store.records() == [a, c]


def test_records_render_in_model_member_order() -> None:
    record = Record(
        "ACCA" + "A" * 17, "u", "bedrock.amazonaws.com", "api-key", "u-at-1", 0, 86400, b"", 1
    )
    stamp = lambda ts: datetime.fromtimestamp(ts, timezone.utc)  # noqa: E731
    assert list(record.to_credential_shape(0, stamp, "s")) == [
        "CreateDate",
        "ExpirationDate",
        "ServiceName",
        "ServiceCredentialAlias",
        "ServiceCredentialSecret",
        "ServiceSpecificCredentialId",
        "UserName",
        "Status",
    ]
    assert record.to_credential_shape(86400, stamp)[
        "Status"
    ] == "Expired" and "ServiceCredentialSecret" not in record.to_credential_shape(0, stamp)
    assert list(record.to_metadata_shape(0, stamp))[:3] == [
        "UserName",
        "Status",
        "ServiceCredentialAlias",
    ]
    assert "secret" not in repr(record).lower()
