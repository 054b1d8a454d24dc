"""The two error families: AWS-shaped errors the simulator answers with, and library misuse."""

from __future__ import annotations


class SscStubError(Exception):
    """sscstub was used in a way it does not support; the message says what to do instead."""

    def __init__(self, what: str, todo: str, anchor: str = "") -> None:
        self.what = what
        self.todo = todo
        see = f" (README: #{anchor})" if anchor else ""
        super().__init__(f"{what} {todo}{see}")


class UnsimulatedOperationError(SscStubError):
    """A strict stub saw an IAM operation it does not simulate, so it stopped the call."""

    def __init__(self, operation: str, why: str = "") -> None:
        self.operation = operation
        what = f"IAM operation {operation}" if ":" not in operation else operation
        super().__init__(
            (f"{why} " if why else "")
            + f"{what} is not simulated by sscstub, and the active stub is"
            " strict, so the call was stopped before it could reach AWS.",
            "Pass strict=False to mock_ssc() (or the ssc_stub marker; SSCSTUB_STRICT=0 for the"
            " AWS CLI plugin) to let other IAM operations through to botocore, or serve them"
            " with another fake such as moto.",
            "how-it-hooks-botocore",
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
