"""The command line: ``sscstub serve`` (also ``python -m sscstub serve``)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from ._errors import SscStubError


def _add_flags(serve: argparse.ArgumentParser, documented: Any, defaults: Any = None) -> None:
    """Flags made from `Settings`' and `Options`' declarations (`FieldDoc`); ``defaults``: the
    values to show (settings: their own; options: None, their help says what None means)."""
    for name, doc in documented:
        if not doc.serve:
            continue
        default = doc.command_default
        if default is None and defaults is not None:
            default = defaults.get(name)
        flag = doc.flag(name)
        if doc.switch:
            serve.add_argument(flag, dest=name, action="store_true", default=None, help=doc.help)
        elif doc.repeat:
            serve.add_argument(
                flag.rstrip("s"), dest=name, action="append", metavar="NAME", help=doc.help
            )
        else:
            parse = doc.parse

            def typed(text: str, parse: Any = parse) -> Any:
                try:
                    return parse(text)
                except ValueError as error:
                    raise argparse.ArgumentTypeError(str(error)) from None

            serve.add_argument(flag, dest=name, type=typed, default=default, help=doc.help)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="sscstub",
        description="IAM service-specific credentials, simulated locally.",
    )
    from . import __version__

    top.add_argument("--version", action="version", version=f"sscstub {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        formatter_class=_Defaults,
        help="run a local IAM endpoint (query protocol) for the AWS CLI, SDKs and curl",
        description="Serve IAM's five service-specific credential operations over HTTP, with"
        " the test API as JSON under /_sscstub/. No authentication: loopback only.",
    )
    from dataclasses import fields

    from ._options import Options  # the flags are made from their declarations
    from ._settings import Settings

    _add_flags(serve, Settings.documented(), {f.name: f.default for f in fields(Settings)})
    _add_flags(serve, Options.documented())
    return top


def _loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the endpoint on this machine."""
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def banner(url: str, cql: tuple[str, int] | None = None, ca_file: Any = None) -> str:
    """How clients reach the endpoint: the flag every AWS CLI and SDK takes, then the variable,
    which AWS CLI v2 reads only from 2.13 (an older one would call real IAM): the line to
    paste says so itself. Then CQL's address and CA file, when served."""
    lines = (
        f"sscstub serving IAM at {url}\n"
        f"  every AWS CLI and SDK:  aws iam ... --endpoint-url {url}\n"
        f"export AWS_ENDPOINT_URL_IAM={url}"
        "  # AWS CLI v1, v2 from 2.13, the SDKs; an older v2 ignores it: use --endpoint-url"
    )
    if cql is not None:
        host, port = cql
        lines += f"\ncql {host}:{port}" + (" (TLS)" if ca_file else "")
        if ca_file:
            lines += f"\n  the CA that signed its certificate: {ca_file}"
    return lines


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Every flag's help ends with its default ("none" or "off" where there is none)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or not action.option_strings or action.dest == "help":
            return text
        value = action.default
        if action.nargs == 0:
            value = "on" if value else "off"
        elif value in (None, [], ()):
            value = "none"
        return f"{text} (default: {value})"


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from ._options import Options
    from ._settings import Settings

    given = {
        name: getattr(args, name)
        for name, doc in [*Settings.documented(), *Options.documented()]
        if doc.serve
    }
    given = {name: value for name, value in given.items() if value is not None}
    host = given.setdefault("host", "127.0.0.1")
    if host and not _loopback(host):
        print(
            f"sscstub: warning: --host {host} makes the endpoint reachable from other"
            " machines; it has no authentication, so anyone who reaches it can read and change"
            " its credentials.",
            file=sys.stderr,
        )
    try:
        from ._server import serve  # the server's imports only when serving

        server = serve(**given)
    except (SscStubError, OSError) as error:
        print(f"sscstub: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with server:
        print(banner(server.url, server.cql_address, server.cql_ca_file))
        print("sscstub: ready (Ctrl-C stops)", flush=True)
        while not stop.wait(0.5):
            pass
    print("sscstub: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
