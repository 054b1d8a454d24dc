"""The two error families: AWS-shaped errors the simulator answers with, and library misuse."""

from __future__ import annotations

#: The page each section an error message cites is on (a test holds every one to a heading).
DOCS = {
    "ways-to-use-it": "README.md",
    "options": "README.md",
    "the-test-api": "README.md",
    "how-it-hooks-botocore": "README.md",
    "with-moto": "README.md",
    "the-local-endpoint": "docs/endpoint.md",
    "durable-state---state-file": "docs/endpoint.md",
    "with-moto-and-other-endpoints": "docs/endpoint.md",
    "where-the-credentials-are-used": "docs/how-it-works.md",
    "keyspaces-over-cql": "docs/endpoint.md",
}


class SscStubError(Exception):
    """sscstub was used in a way it does not support; the message says what to do instead."""

    def __init__(self, what: str, todo: str, anchor: str = "") -> None:
        self.what = what
        self.todo = todo
        see = f" (see {DOCS.get(anchor, 'README.md')}#{anchor})" if anchor else ""
        super().__init__(f"{what} {todo}{see}")


class UnknownOptionError(SscStubError, TypeError):
    """An option sscstub does not have (a TypeError, as Python's own for a wrong keyword)."""


class UnsimulatedOperationError(SscStubError):
    """A strict stub saw an IAM operation it does not simulate, so it stopped the call."""

    def __init__(self, operation: str, why: str = "") -> None:
        self.operation = operation
        what = f"IAM operation {operation}" if ":" not in operation else operation
        answer = "Bedrock's calls" if ":" in operation else "the other IAM operations"
        super().__init__(
            (f"{why} " if why else "")
            + f"{what} is not simulated by sscstub, and the active stub is"
            " strict, so the call was stopped before it could reach AWS.",
            f"To have {answer} answered in the test, compose with moto: activate moto's"
            " mock_aws too (sscstub keeps the service-specific credentials), or serve(moto=True)"
            " for the endpoint. strict=False would instead let every such call through to"
            " botocore, and so to real AWS unless something else answers it.",
            "with-moto",
        )


class AwsError(Exception):
    """An error the simulated IAM endpoint answers with (internal: becomes a ClientError)."""

    __slots__ = ("code", "message")

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class UnknownUser(AwsError):
    """IAM's NoSuchEntity for a user that does not exist (the engine adds a hint to the log)."""

    __slots__ = ("user",)

    def __init__(self, user: str) -> None:
        super().__init__("NoSuchEntity", f"The user with name {user} cannot be found.")
        self.user = user
