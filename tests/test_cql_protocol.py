"""CQL's protocol code without sockets (`_cql`, `_keyspaces`): requests encoded by the Python
Cassandra driver's own encoder, answers decoded by its own decoder, and hypothesis throwing
bytes and statements at both."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sscstub import _cql, _keyspaces

protocol = pytest.importorskip(
    "cassandra.protocol", reason="the Python Cassandra driver (cassandra-driver) is not installed"
)
Handler = protocol.ProtocolHandler
CONTEXT = _keyspaces.Context("127.0.0.1", "us-east-1", "1" * 32, "2" * 32)


def request(message: Any, stream: int = 1, version: int = 4) -> bytes:
    """The bytes the driver sends for ``message``."""
    return bytes(Handler.encode_message(message, stream, version, None, False))


def decode(frame: bytes, metadata: Any = None) -> Any:
    """What the driver makes of one of our frames."""
    version, flags, stream, opcode, length = _cql._HEAD.unpack_from(frame)
    assert version == 0x84 and length == len(frame) - 9
    return Handler.decode_message(4, {}, stream, flags, opcode, frame[9:], None, metadata)


def events(*messages: Any) -> list[Any]:
    connection = _cql.CqlConnection()
    for message in messages:
        connection.receive(request(message))
    out = []
    while (event := connection.next_event()) is not None:
        out.append(event)
        if isinstance(event, _cql.Credentials):
            connection.accept(event.login)
    return out


def test_a_sign_in_conversation_as_the_driver_speaks_it() -> None:
    found = events(
        protocol.OptionsMessage(),
        protocol.StartupMessage("3.4.4", {"DRIVER_NAME": "x"}),
        protocol.AuthResponseMessage(b"\x00jane-at-123456789012\x00secret"),
        protocol.RegisterMessage(["TOPOLOGY_CHANGE"]),
        protocol.QueryMessage("SELECT * FROM system.local WHERE key='local'", 1),
    )
    assert [type(e).__name__ for e in found] == [
        "Options", "Startup", "Credentials", "Register", "Statement",
    ]  # fmt: skip
    assert found[2].login == "jane-at-123456789012" and found[2].password == "secret"
    assert "secret" not in repr(found[2])
    supported = decode(_cql.supported(0))
    assert supported.cql_versions == ["3.4.4"] and supported.options["COMPRESSION"] == []
    assert decode(_cql.authenticate(0)).authenticator == _cql.AUTHENTICATOR
    assert isinstance(decode(_cql.auth_success(0)), protocol.AuthSuccessMessage)
    assert isinstance(decode(_cql.ready(0)), protocol.ReadyMessage)


@pytest.mark.parametrize("version", [0x42, 0x41, 5, 3])
def test_other_versions_get_the_error_that_makes_a_driver_step_down(version: int) -> None:
    connection = _cql.CqlConnection()
    connection.receive(request(protocol.OptionsMessage(), stream=0, version=4)[:0] + bytes(
        [version, 0, 0, 0, _cql.OPTIONS, 0, 0, 0, 0]
    ))  # fmt: skip
    with pytest.raises(_cql.ProtocolError) as refused:
        connection.next_event()
    answer = decode(_cql.error(refused.value.stream, refused.value.code, refused.value.message))
    assert isinstance(answer, protocol.ProtocolException)
    assert "unsupported protocol version" in answer.message  # the driver's own test


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (bytes([4, 0, 0, 1, 7]) + (2 * 1024 * 1024).to_bytes(4, "big"), "Request is too big"),
        (bytes([4, 0, 0, 1, 0x33, 0, 0, 0, 0]), "Unexpected message 51"),
        (bytes([4, 1, 0, 1, 5, 0, 0, 0, 0]), "Compression was not negotiated"),
        (request(protocol.QueryMessage("SELECT 1", 1)), "Unexpected message QUERY, expecting"),
        (b"GET / HTTP/1.1\r\n\r\n", "unsupported protocol version (71)"),
    ],
    ids=["too big", "unknown opcode", "compressed", "query first", "HTTP"],
)
def test_frames_that_cannot_be_served_are_protocol_errors(frame: bytes, words: str) -> None:
    connection = _cql.CqlConnection()
    connection.receive(frame)
    with pytest.raises(_cql.ProtocolError, match=words.replace("(", r"\(").replace(")", r"\)")):
        connection.next_event()


def test_a_token_that_is_not_sasl_plain_is_a_protocol_error() -> None:
    with pytest.raises(_cql.ProtocolError, match="SASL PLAIN"):
        events(
            protocol.StartupMessage("3.4.4", {}),
            protocol.AuthResponseMessage(b"just-a-password"),
        )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20), st.booleans())
def test_any_bytes_give_events_or_a_protocol_error_and_never_grow_past_a_frame(
    pieces: list[bytes], signed_in: bool
) -> None:
    connection = _cql.CqlConnection()
    if signed_in:
        connection.accept("jane")
    for piece in pieces:
        connection.receive(bytes([4]) + piece if not connection.buffered else piece)
        try:
            while connection.next_event() is not None:
                pass
        except _cql.ProtocolError as refused:
            assert isinstance(refused.message, str) and refused.code in (
                _cql.PROTOCOL_ERROR, _cql.INVALID,
            )  # fmt: skip
            return
        assert connection.buffered <= 9 + _cql.MAX_FRAME


@pytest.mark.parametrize("table", _keyspaces.TABLES, ids=lambda t: f"{t.keyspace}.{t.name}")
def test_every_system_table_decodes_in_the_driver(table: _keyspaces.Table) -> None:
    outcome = _keyspaces.run(f"SELECT * FROM {table.keyspace}.{table.name}", None, CONTEXT, [])
    assert isinstance(outcome, _keyspaces.Rows)
    answer = decode(_keyspaces.rows_answer(3, outcome, bare=False))
    assert answer.column_names == [name for name, _ in table.columns]
    assert len(answer.parsed_rows) == len(outcome.rows)


def test_system_local_carries_keyspaces_values() -> None:
    outcome = _keyspaces.run("SELECT * FROM system.local WHERE key = 'local'", None, CONTEXT, [])
    assert isinstance(outcome, _keyspaces.Rows)
    answer = decode(_keyspaces.rows_answer(3, outcome, bare=False))
    row = dict(zip(answer.column_names, answer.parsed_rows[0], strict=True))
    assert row["cluster_name"] == "Amazon Keyspaces" and row["release_version"] == "3.11.2"
    assert row["cql_version"] == "3.4.4" and row["native_protocol_version"] == "4"
    assert row["partitioner"] == "com.amazonaws.cassandra.DefaultPartitioner"
    assert row["data_center"] == "us-east-1" and row["rpc_address"] == "127.0.0.1"


def test_a_prepared_select_decodes_and_its_execution_skips_metadata() -> None:
    text = "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?"
    outcome = _keyspaces.run(text, None, CONTEXT, [])
    assert isinstance(outcome, _keyspaces.Rows)
    query_id = _keyspaces.statement_id(text)
    prepared = decode(_keyspaces.prepared_answer(4, query_id, outcome))
    assert prepared.query_id == query_id and len(prepared.bind_metadata) == 1
    ran = _keyspaces.run(text, None, CONTEXT, [b"system"])
    assert isinstance(ran, _keyspaces.Rows)
    rows = decode(_keyspaces.rows_answer(5, ran, bare=True), prepared.column_metadata)
    assert sorted(r[0] for r in rows.parsed_rows) == ["local", "peers"]
    connection = _cql.CqlConnection()
    connection.accept("jane")
    connection.receive(request(protocol.ExecuteMessage(query_id, [b"system"], 1)))
    assert connection.next_event() == _cql.Statement(1, "", [b"system"], False, prepared=query_id)
    skipping = len(query_id).to_bytes(2, "big") + query_id + b"\x00\x01\x03\x00\x01"
    skipping += _cql.value(b"system")  # consistency ONE, flags: values, skip metadata
    connection.receive(_cql._HEAD.pack(4, 0, 2, _cql.EXECUTE, len(skipping)) + skipping)
    assert connection.next_event() == _cql.Statement(2, "", [b"system"], True, prepared=query_id)


@pytest.mark.parametrize(
    ("statement", "code", "words"),
    [
        ("SELECT * FROM shop.orders", _cql.INVALID, "not table data"),
        ("INSERT INTO system.local (key) VALUES ('x')", _cql.INVALID, "local is not writable"),
        ("UPDATE system.peers SET rack = 'r' WHERE peer = '1.2.3.4'", _cql.INVALID, "peers is not"),
        (
            "DELETE FROM system_schema.tables WHERE keyspace_name = 'x'",
            _cql.INVALID,
            "not writable",
        ),
        ("TRUNCATE system.local", _cql.INVALID, "local is not writable"),
        ("CREATE KEYSPACE shop WITH replication = {}", _cql.INVALID, "not table data"),
        ("SELECT * FROM system.peers_v2", _cql.INVALID, "unconfigured table peers_v2"),
        ("SELECT nope FROM system.local", _cql.INVALID, "Undefined column name nope"),
        ("SELECT * FROM local", _cql.INVALID, "No keyspace has been specified"),
        ("USE shop", _cql.INVALID, "Keyspace 'shop' does not exist"),
        ("", _cql.INVALID, "no viable alternative"),
    ],
)
def test_statements_refused_as_keyspaces_refuses_them(
    statement: str, code: int, words: str
) -> None:
    outcome = _keyspaces.run(statement, None, CONTEXT, [])
    assert isinstance(outcome, _keyspaces.Refusal) and outcome.code == code
    assert words in outcome.message


@pytest.mark.parametrize(
    ("statement", "count"),
    [
        ("select * from system.local where key='local'", 1),
        ("SELECT key FROM system.local WHERE key = 'other'", 0),
        ('SELECT "key" FROM "system"."local" LIMIT 1;', 1),
        ("SELECT keyspace_name FROM system_schema.keyspaces", 4),
        ("SELECT * FROM system_schema.keyspaces WHERE keyspace_name IN ('system', 'x')", 1),
        ("SELECT * FROM system_schema.columns WHERE keyspace_name = 'system' AND table_name = "
         "'local' ALLOW FILTERING", 18),
    ],
)  # fmt: skip
def test_the_selects_drivers_and_cqlsh_send(statement: str, count: int) -> None:
    outcome = _keyspaces.run(statement, None, CONTEXT, [])
    assert isinstance(outcome, _keyspaces.Rows) and len(outcome.rows) == count


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120), st.lists(st.one_of(st.none(), st.binary(max_size=8)), max_size=3))
def test_any_statement_gets_an_outcome(statement: str, values: list[bytes | None]) -> None:
    outcome = _keyspaces.run(statement, None, CONTEXT, values)
    assert isinstance(outcome, _keyspaces.Rows | _keyspaces.Refusal | _keyspaces.SetKeyspace)
    if isinstance(outcome, _keyspaces.Rows):
        decode(_keyspaces.rows_answer(1, outcome, bare=False))
