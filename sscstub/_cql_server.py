"""The CQL listener: a second listener of `Server`, on its event loop, where Cassandra drivers
sign in with Amazon Keyspaces passwords. The protocol is `_cql`'s and the tables `_keyspaces`';
this module reads and writes the bytes, keeps the limits, and asks the engine about passwords
as git's route does (``cassandra:Authenticate`` in the call log).

Limits, as the HTTP side's: a frame's body is 1 MiB at most; a frame begun must arrive within
the idle timeout; a connection not signed in within it is closed, one signed in after a minute
without a request (drivers send OPTIONS every 30 s on an idle connection); a client that stops
reading is dropped after the idle timeout; past the connection cap a new connection is closed
at once. Hostile bytes get a protocol error and a close, and never stop the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import tempfile
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _cql, _keyspaces
from ._errors import AwsError, SscStubError
from ._routes import within

if TYPE_CHECKING:
    from ._engine import Engine

KEYSPACES_SERVICE = "cassandra.amazonaws.com"
SIGNED_IN_IDLE = 60.0  # seconds a signed-in connection may stay silent (2 heartbeats)
REGION = "us-east-1"  # system.local's data centre (docs/fidelity.md)
PREPARED = 1024  # statements kept prepared (the oldest go first)


def tls_context() -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for 127.0.0.1, ::1 and localhost from a throwaway
    CA (trustme), and the CA's PEM in a temporary folder (the folder is the caller's)."""
    try:
        import trustme
    except ImportError:
        raise SscStubError(
            "--cql-tls needs trustme, which is not installed.",
            "Install sscstub with its cql extra: pip install 'sscstub[cql]'.",
            "keyspaces-over-cql",
        ) from None
    authority = trustme.CA(organization_name="sscstub throwaway CA")
    issued = authority.issue_cert("127.0.0.1", "::1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issued.configure_cert(context)
    folder = Path(tempfile.mkdtemp(prefix="sscstub-cql-"))
    path = folder / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return context, path


class CqlListener:
    """Accepts on ``sock`` once `start` runs on the server's loop; `close` ends it all."""

    def __init__(
        self,
        engine: Engine,
        in_state: Callable[[Callable[[bool], Any]], Awaitable[Any]],
        sock: socket.socket,
        idle: float,
        max_connections: int,
        tls: ssl.SSLContext | None,
    ) -> None:
        self.engine, self.in_state, self.sock = engine, in_state, sock
        self.idle, self.max_connections, self.tls = idle, max_connections, tls
        self.prepared: OrderedDict[bytes, str] = OrderedDict()
        self.host_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sscstub:{engine.account_id}"))
        self.schema_version = str(uuid.uuid5(uuid.NAMESPACE_URL, "sscstub:keyspaces-schema"))
        self._open: set[asyncio.Task[Any]] = set()
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._connection,
            sock=self.sock,
            ssl=self.tls,
            ssl_handshake_timeout=self.idle if self.tls else None,
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._open):
            task.cancel()
        if self._open:
            await asyncio.wait(list(self._open), timeout=2)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if len(self._open) >= self.max_connections or task is None:
            writer.transport.abort()  # past the cap: closed before a byte is read
            return
        self._open.add(task)
        address = (writer.get_extra_info("sockname") or ("127.0.0.1",))[0]
        context = _keyspaces.Context(address, REGION, self.host_id, self.schema_version)
        try:
            await self._converse(reader, writer, _cql.CqlConnection(), context)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the client left, or broke TLS: nothing to answer
        finally:
            self._open.discard(task)
            writer.transport.abort()

    async def _converse(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: _cql.CqlConnection,
        context: _keyspaces.Context,
    ) -> None:
        loop = asyncio.get_running_loop()
        began: float | None = None  # when the first byte of an unfinished frame arrived
        while True:
            limit = SIGNED_IN_IDLE if connection.state == "READY" else self.idle
            if began is not None:
                limit = min(limit, began + self.idle - loop.time())
            try:
                data = await within(reader.read(65536), limit)
            except TimeoutError:
                return
            if not data:
                return
            arrived, answered = loop.time(), False
            connection.receive(data)
            try:
                while (event := connection.next_event()) is not None:
                    writer.write(await self._answer(connection, event, context))
                    answered = True
            except _cql.ProtocolError as refused:
                writer.write(_cql.error(refused.stream, refused.code, refused.message))
                with contextlib.suppress(TimeoutError):
                    await within(writer.drain(), self.idle)
                return
            if not connection.buffered:
                began = None
            elif answered or began is None:  # the unfinished frame began in this read
                began = arrived
            await within(writer.drain(), self.idle)  # a client that stops reading: dropped

    async def _answer(
        self, connection: _cql.CqlConnection, event: _cql.Event, context: _keyspaces.Context
    ) -> bytes:
        stream = event.stream
        if isinstance(event, _cql.Options):
            return _cql.supported(stream)
        if isinstance(event, _cql.Startup):
            return _cql.authenticate(stream)
        if isinstance(event, _cql.Register):
            return _cql.ready(stream)
        if isinstance(event, _cql.Credentials):
            return await self._sign_in(connection, event)
        if event.prepared is not None:
            query = self.prepared.get(event.prepared)
            if query is None:
                return _cql.unprepared(stream, event.prepared)
            event = event._replace(query=query)
        outcome = _keyspaces.run(event.query, connection.keyspace, context, event.values)
        if isinstance(outcome, _keyspaces.Refusal):
            return _cql.error(stream, outcome.code, outcome.message)
        if isinstance(outcome, _keyspaces.SetKeyspace):
            if event.prepare:
                return _cql.error(stream, _cql.INVALID, "USE cannot be prepared here.")
            connection.keyspace = outcome.keyspace
            return _cql.set_keyspace(stream, outcome.keyspace)
        if event.prepare:
            query_id = _keyspaces.statement_id(event.query)
            self.prepared[query_id] = event.query
            self.prepared.move_to_end(query_id)
            while len(self.prepared) > PREPARED:
                self.prepared.popitem(last=False)
            return _keyspaces.prepared_answer(stream, query_id, outcome)
        return _keyspaces.rows_answer(stream, outcome, event.skip_metadata)

    async def _sign_in(self, connection: _cql.CqlConnection, event: _cql.Credentials) -> bytes:
        login, password = event.login, event.password

        def check(wait: bool) -> bool:
            return self.engine.check_password(
                "cassandra:Authenticate", login, password, KEYSPACES_SERVICE, wait
            )

        try:
            accepted = await self.in_state(check)
        except AwsError as error:  # the state file locked by another process, or full
            return _cql.error(event.stream, _cql.SERVER_ERROR, error.message)
        if not accepted:
            return _cql.error(
                event.stream,
                _cql.BAD_CREDENTIALS,
                f"Provided username {login[:200]} and/or password are incorrect",
            )
        connection.accept(login)
        return _cql.auth_success(event.stream)
