"""Amazon Keyspaces' system tables, as a signed-in CQL client reads them: ``system.local`` with
Keyspaces' columns and values, an empty ``system.peers``, ``system_schema`` listing the system
keyspaces, and the SELECTs drivers and cqlsh send (``*`` or columns, ``WHERE col = value``, ``IN``,
``?`` markers, ``LIMIT``). Everything else is refused as docs/fidelity.md records. No I/O.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import struct
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from . import _cql
from ._cql import _NO_DATA, CQL_VERSION, INVALID

RELEASE = "3.11.2"
PARTITIONER = "com.amazonaws.cassandra.DefaultPartitioner"
CLUSTER = "Amazon Keyspaces"
KEYSPACES = ("system", "system_schema", "system_schema_mcs", "system_multiregion_info")

_BASIC = {"blob": 3, "boolean": 4, "double": 7, "int": 9, "timestamp": 11, "uuid": 12,
          "text": 13, "inet": 16}  # fmt: skip
_SYSTEM_OPTIONS = {"class": "org.apache.cassandra.locator.LocalStrategy"}


def type_option(kind: str) -> bytes:
    """A CQL type (``set<text>``, ``frozen<map<text, text>>``) as a result's column spec."""
    kind = kind.strip()
    if kind.startswith("frozen<"):
        return type_option(kind[7:-1])
    for name, code in (("list<", 0x20), ("set<", 0x22)):
        if kind.startswith(name):
            return code.to_bytes(2, "big") + type_option(kind[len(name) : -1])
    if kind.startswith("map<"):
        key, _, item = kind[4:-1].partition(",")
        return (0x21).to_bytes(2, "big") + type_option(key) + type_option(item)
    return _BASIC[kind].to_bytes(2, "big")


def encode(kind: str, data: Any) -> bytes | None:
    """One cell's bytes, as the protocol carries a value of ``kind``."""
    if data is None:
        return None
    kind = kind.removeprefix("frozen<").removesuffix(">") if kind.startswith("frozen<") else kind
    if kind.startswith(("set<", "list<")):
        item = kind[kind.index("<") + 1 : -1]
        return _collection([encode(item, x) for x in data])
    if kind.startswith("map<"):
        key, _, item = kind[4:-1].partition(",")
        pairs = [(encode(key.strip(), k), encode(item.strip(), v)) for k, v in data.items()]
        return _collection([part for pair in pairs for part in pair], len(pairs))
    if kind == "text":
        return str(data).encode("utf-8")
    if kind == "inet":
        return ipaddress.ip_address(data).packed
    if kind == "uuid":
        return uuid.UUID(str(data)).bytes
    if kind == "int":
        return int(data).to_bytes(4, "big", signed=True)
    if kind == "boolean":
        return b"\x01" if data else b"\x00"
    if kind == "double":
        return struct.pack(">d", data)
    return bytes(data)  # blob


def _collection(items: list[bytes | None], count: int | None = None) -> bytes:
    head = (len(items) if count is None else count).to_bytes(4, "big")
    return head + b"".join(len(x or b"").to_bytes(4, "big") + (x or b"") for x in items)


class Table(NamedTuple):
    keyspace: str
    name: str
    columns: list[tuple[str, str]]  # name, CQL type
    keys: tuple[str, ...]  # the partition key, then the clustering columns
    rows: Callable[[Context], list[dict[str, Any]]]


class Context(NamedTuple):
    """What the rows depend on: the address the client reached, the region, the server's ids."""

    address: str
    region: str
    host_id: str
    schema_version: str


def _local(context: Context) -> list[dict[str, Any]]:
    address = context.address
    return [{
        "key": "local", "bootstrapped": "COMPLETED", "broadcast_address": address,
        "cluster_name": CLUSTER, "cql_version": CQL_VERSION, "data_center": context.region,
        "gossip_generation": 0, "host_id": context.host_id, "listen_address": address,
        "native_protocol_version": "4", "partitioner": PARTITIONER, "rack": f"{context.region}a",
        "release_version": RELEASE, "rpc_address": address,
        "schema_version": context.schema_version, "thrift_version": "20.1.0", "tokens": set(),
        "truncated_at": None,
    }]  # fmt: skip


def _schema(
    name: str, columns: str, keys: tuple[str, ...], rows: Callable[[Context], Any] | None = None
) -> Table:
    pairs = [c.strip().rsplit(" ", 1) for c in columns.split(";")]
    return Table("system_schema", name, [(n, k) for k, n in pairs], keys, rows or _none)


def _none(context: Context) -> list[dict[str, Any]]:
    return []


def _keyspace_rows(context: Context) -> list[dict[str, Any]]:
    return [
        {"keyspace_name": name, "durable_writes": True, "replication": _SYSTEM_OPTIONS}
        for name in KEYSPACES
    ]


def _table_rows(context: Context) -> list[dict[str, Any]]:
    defaults = {
        "bloom_filter_fp_chance": 0.01, "caching": {"keys": "ALL", "rows_per_partition": "NONE"},
        "cdc": False, "comment": "", "compaction": {}, "compression": {}, "crc_check_chance": 1.0,
        "dclocal_read_repair_chance": 0.0, "default_time_to_live": 0, "extensions": {},
        "gc_grace_seconds": 0, "max_index_interval": 2048, "memtable_flush_period_in_ms": 0,
        "min_index_interval": 128, "read_repair_chance": 0.0, "speculative_retry": "NONE",
        "flags": {"compound"},
    }  # fmt: skip
    return [
        {**defaults, "keyspace_name": t.keyspace, "table_name": t.name,
         "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sscstub:{t.keyspace}.{t.name}"))}
        for t in TABLES
    ]  # fmt: skip


def _column_rows(context: Context) -> list[dict[str, Any]]:
    out = []
    for t in TABLES:
        for name, kind in t.columns:
            place = t.keys.index(name) if name in t.keys else -1
            role = "partition_key" if place == 0 else "clustering" if place > 0 else "regular"
            out.append({
                "keyspace_name": t.keyspace, "table_name": t.name, "column_name": name,
                "clustering_order": "asc" if role == "clustering" else "none",
                "column_name_bytes": name.encode(), "kind": role,
                "position": place - 1 if place > 0 else place if place < 0 else 0,
                "type": kind,
            })  # fmt: skip
    return out


_MAP, _FLAGS, _LIST = "frozen<map<text, text>>", "frozen<set<text>>", "frozen<list<text>>"
_OPTIONS = (
    f"double bloom_filter_fp_chance;{_MAP} caching;boolean cdc;text comment;{_MAP} compaction;"
    f"{_MAP} compression;double crc_check_chance;double dclocal_read_repair_chance;"
    "int default_time_to_live;frozen<map<text, blob>> extensions;int gc_grace_seconds;uuid id;"
    "int max_index_interval;int memtable_flush_period_in_ms;int min_index_interval;"
    "double read_repair_chance;text speculative_retry"
)
TABLES = [
    Table("system", "local", [
        ("key", "text"), ("bootstrapped", "text"), ("broadcast_address", "inet"),
        ("cluster_name", "text"), ("cql_version", "text"), ("data_center", "text"),
        ("gossip_generation", "int"), ("host_id", "uuid"), ("listen_address", "inet"),
        ("native_protocol_version", "text"), ("partitioner", "text"), ("rack", "text"),
        ("release_version", "text"), ("rpc_address", "inet"), ("schema_version", "uuid"),
        ("thrift_version", "text"), ("tokens", "set<text>"), ("truncated_at", "map<uuid, blob>"),
    ], ("key",), _local),
    Table("system", "peers", [
        ("peer", "inet"), ("data_center", "text"), ("host_id", "uuid"), ("preferred_ip", "inet"),
        ("rack", "text"), ("release_version", "text"), ("rpc_address", "inet"),
        ("schema_version", "uuid"), ("tokens", "set<text>"),
    ], ("peer",), _none),
    _schema("keyspaces", f"text keyspace_name;boolean durable_writes;{_MAP} replication",
            ("keyspace_name",), _keyspace_rows),
    _schema("tables", f"text keyspace_name;text table_name;{_OPTIONS};{_FLAGS} flags",
            ("keyspace_name", "table_name"), _table_rows),
    _schema("columns", "text keyspace_name;text table_name;text column_name;text clustering_order;"
            "blob column_name_bytes;text kind;int position;text type",
            ("keyspace_name", "table_name", "column_name"), _column_rows),
    _schema("types", f"text keyspace_name;text type_name;{_LIST} field_names;{_LIST} field_types",
            ("keyspace_name", "type_name")),
    _schema("functions", f"text keyspace_name;text function_name;{_LIST} argument_types;"
            f"{_LIST} argument_names;text body;boolean called_on_null_input;text language;"
            "text return_type", ("keyspace_name", "function_name", "argument_types")),
    _schema("aggregates", f"text keyspace_name;text aggregate_name;{_LIST} argument_types;"
            "text final_func;text initcond;text return_type;text state_func;text state_type",
            ("keyspace_name", "aggregate_name", "argument_types")),
    _schema("triggers", f"text keyspace_name;text table_name;text trigger_name;{_MAP} options",
            ("keyspace_name", "table_name", "trigger_name")),
    _schema("indexes", "text keyspace_name;text table_name;text index_name;text kind;"
            f"{_MAP} options",
            ("keyspace_name", "table_name", "index_name")),
    _schema("views", f"text keyspace_name;text view_name;uuid base_table_id;text base_table_name;"
            f"{_OPTIONS};boolean include_all_columns;text where_clause",
            ("keyspace_name", "view_name")),
    _schema("dropped_columns", "text keyspace_name;text table_name;text column_name;"
            "timestamp dropped_time;text type", ("keyspace_name", "table_name", "column_name")),
]  # fmt: skip
BY_NAME = {(t.keyspace, t.name): t for t in TABLES}


# --- statements -------------------------------------------------------------------------------


class Refusal(NamedTuple):
    code: int
    message: str


class Rows(NamedTuple):
    table: Table
    columns: list[tuple[str, str]]
    rows: list[list[Any]]
    markers: list[tuple[str, str]]  # the ? markers' columns, in order


class SetKeyspace(NamedTuple):
    keyspace: str


Outcome = Rows | SetKeyspace | Refusal

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<quoted>\"(?:[^\"]|\"\")+\")|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<mark>\?|:[A-Za-z_]\w*)|(?P<symbol>[*,.=();])"
    r"|(?P<other>\S))"
)
_WRITES = {"INSERT", "UPDATE", "DELETE", "TRUNCATE"}


def _tokens(text: str) -> list[tuple[str, str]] | None:
    out, at = [], 0
    text = text.rstrip()
    while at < len(text):
        found = _TOKEN.match(text, at)
        if found is None or found.end() == at:
            return None
        kind = found.lastgroup or ""
        piece = found.group(kind)
        if kind == "string":
            piece = piece[1:-1].replace("''", "'")
        elif kind == "quoted":
            kind, piece = "name", piece[1:-1].replace('""', '"')
        elif kind == "word":
            kind, piece = "name", piece.lower()
        out.append((kind, piece))
        at = found.end()
    return [t for t in out if t != ("symbol", ";")]


def _invalid(message: str) -> Refusal:
    return Refusal(INVALID, message)


def run(text: str, keyspace: str | None, context: Context, values: list[bytes | None]) -> Outcome:
    """The outcome of one statement, with ``values`` for its ``?`` markers (None: PREPARE)."""
    tokens = _tokens(text)
    if not tokens:
        return _invalid(f"line 1:0 no viable alternative at input {text[:40]!r}")
    first = tokens[0][1].upper()
    if first == "USE" and len(tokens) == 2:
        name = tokens[1][1]
        return (
            SetKeyspace(name)
            if name in KEYSPACES
            else _invalid(f"Keyspace '{name}' does not exist")
        )
    if first != "SELECT":
        target = _target(tokens, keyspace)
        if first in _WRITES and target is not None and target[0] in KEYSPACES:
            return _invalid(f"Column family {target[1]} is not writable")
        return _invalid(_NO_DATA)
    return _select(tokens, keyspace, context, values)


def _target(tokens: list[tuple[str, str]], keyspace: str | None) -> tuple[str, str] | None:
    """The keyspace and table a write names (``INSERT INTO ks.t``, ``UPDATE t``, ...)."""
    names = [t[1] for t in tokens]
    for word in ("into", "from", "update", "truncate", "table"):
        if word in names:
            at = names.index(word) + 1
            if names[at : at + 1] == ["table"]:
                at += 1
            if names[at + 1 : at + 2] == ["."] and at + 2 < len(names):
                return names[at], names[at + 2]
            if at < len(names):
                return keyspace or "", names[at]
    return None


def _select(
    tokens: list[tuple[str, str]], keyspace: str | None, context: Context,
    values: list[bytes | None],
) -> Outcome:  # fmt: skip
    names = [t[1] for t in tokens]
    if "from" not in names:
        return _invalid("SELECT without FROM")
    at = names.index("from")
    wanted = tokens[1:at]
    ks, name, at = (names[at + 1], names[at + 3], at + 4) if names[at + 2 : at + 3] == ["."] else (
        keyspace, names[at + 1], at + 2)  # fmt: skip
    if ks is None:
        return _invalid(
            "No keyspace has been specified. USE a keyspace, or explicitly specify"
            " keyspace.tablename"
        )
    if ks not in KEYSPACES:
        return _invalid(_NO_DATA)
    table = BY_NAME.get((ks, name))
    if table is None:
        return _invalid(f"unconfigured table {name}")
    kinds = dict(table.columns)
    if [w[1] for w in wanted] == ["*"]:
        columns = table.columns
    else:
        picked = [w[1] for w in wanted if w[0] == "name"]
        unknown = [c for c in picked if c not in kinds]
        if unknown or not picked:
            return _invalid(f"Undefined column name {(unknown or ['?'])[0]}")
        columns = [(c, kinds[c]) for c in picked]
    conditions, markers, limit = _where(tokens[at:], kinds)
    if isinstance(conditions, Refusal):
        return conditions
    given = iter(values)
    wanted_values: dict[str, set[str]] = {}
    for column, terms in conditions.items():
        accepted = set()
        for term in terms:
            if term is _MARK:
                raw = next(given, None)
                term = raw.decode("utf-8", "replace") if raw is not None else None
            accepted.add(str(term))
        wanted_values[column] = accepted
    rows = [
        [row.get(c) for c, _ in columns]
        for row in table.rows(context)
        if all(str(row.get(c)) in v for c, v in wanted_values.items())
    ]
    return Rows(table, columns, rows[:limit], markers)


_MARK = object()


def _where(
    tokens: list[tuple[str, str]], kinds: dict[str, str]
) -> tuple[dict[str, list[Any]] | Refusal, list[tuple[str, str]], int | None]:
    conditions: dict[str, list[Any]] = {}
    markers: list[tuple[str, str]] = []
    limit: int | None = None
    at = 0
    if tokens[:1] == [("name", "where")]:
        at = 1
        while at < len(tokens):
            if tokens[at][0] != "name" or tokens[at][1] not in kinds:
                return _invalid(f"Undefined column name {tokens[at][1]}"), [], None
            column = tokens[at][1]
            if tokens[at + 1 : at + 2] == [("symbol", "=")]:
                terms, at = [tokens[at + 2]] if at + 2 < len(tokens) else [], at + 3
            elif tokens[at + 1 : at + 3] == [("name", "in"), ("symbol", "(")]:
                end = next(
                    (i for i in range(at + 3, len(tokens)) if tokens[i] == ("symbol", ")")),
                    len(tokens),
                )
                terms, at = [t for t in tokens[at + 3 : end] if t != ("symbol", ",")], end + 1
            else:
                return _invalid("Only = and IN relations are supported on system tables"), [], None
            values: list[Any] = []
            for kind, piece in terms:
                if kind == "mark":
                    markers.append((column, kinds[column]))
                    values.append(_MARK)
                else:
                    values.append(piece)
            conditions[column] = values
            if tokens[at : at + 1] != [("name", "and")]:
                break
            at += 1
    rest = [t[1] for t in tokens[at:]]
    if rest[:1] == ["limit"] and len(rest) > 1 and rest[1].isdigit():
        limit, rest = int(rest[1]), rest[2:]
    if rest not in ([], ["allow", "filtering"]):
        return _invalid(f"line 1: no viable alternative at input {' '.join(rest)[:40]!r}"), [], None
    return conditions, markers, limit


def statement_id(text: str) -> bytes:
    """A prepared statement's id: the MD5 of its text, as Cassandra makes it."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).digest()


def _specs(columns: list[tuple[str, str]]) -> list[tuple[str, bytes]]:
    return [(name, type_option(kind)) for name, kind in columns]


def rows_answer(stream: int, outcome: Rows, bare: bool) -> bytes:
    """A SELECT's RESULT frame."""
    table, columns = outcome.table, outcome.columns
    kinds = [kind for _, kind in columns]
    cells = [
        [encode(kind, cell) for kind, cell in zip(kinds, row, strict=True)] for row in outcome.rows
    ]
    return _cql.rows(stream, table.keyspace, table.name, _specs(columns), cells, bare)


def prepared_answer(stream: int, query_id: bytes, outcome: Rows) -> bytes:
    """A PREPARE's RESULT frame: its id, its markers, the columns it will give."""
    table = outcome.table
    return _cql.prepared(
        stream, query_id, table.keyspace, table.name, _specs(outcome.markers),
        _specs(outcome.columns),
    )  # fmt: skip
