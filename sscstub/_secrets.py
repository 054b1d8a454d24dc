"""Identifiers, passwords and API keys: how they are made, and the salted hashes kept instead."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import TypeAlias

Seed: TypeAlias = int | str | bytes

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_PAIRS = [a + b for a in _B32 for b in _B32]  # base64.b32encode is a Python loop
_SALT_BYTES = 16
# 44 random bytes: base64 of that is 60 characters ending in one "=", the length of real
# ServicePasswords (LocalStack, validated against AWS in 2025) and of an API key's inner secret.
_SECRET_BYTES = 44

#: How each service's long-term API keys begin (observed on real IAM, 2026-09-11; X-Ray's is
#: not published: chosen, see docs/fidelity.md). A key is the prefix, then base64 of
#: ``<alias>:<secret>``. Each prefix is whole base64 quanta, so a key is base64 as a whole too:
#: Claude Platform's ``AEAA`` is base64 of the framing bytes ``\x00@\x00`` that its keys
#: begin with (as the public key-inspection tool ``bks`` decodes them).
API_KEY_PREFIXES = {
    "bedrock.amazonaws.com": "ABSK",
    "logs.amazonaws.com": "ACWL",
    "cloudwatch.amazonaws.com": "APIAACWM",
    "aws-external-anthropic.amazonaws.com": "AEAA",
    "xray.amazonaws.com": "AXRY",
}
#: The prefix of an API-key service configured through ``services=`` that IAM does not have.
OTHER_API_KEY_PREFIX = "ASSC"
_PREFIXES = (*API_KEY_PREFIXES.values(), OTHER_API_KEY_PREFIX)


_POOL = 4096


class Entropy:
    """Random bytes from `secrets` or, with a seed, from a SHAKE-256 stream reproducible per stub.

    Bytes are drawn from a pool refilled 4 KiB at a time (one syscall instead of several per
    call), and zeroed in the pool as they are handed out: passwords are made from them, and
    nothing a stub holds may let a secret be rebuilt. Callers hold the engine's lock, so the pool
    needs none of its own.
    """

    __slots__ = ("_counter", "_offset", "_pool", "_seed")

    def __init__(self, seed: Seed | None) -> None:
        if seed is None:
            self._seed: bytes | None = None
        elif isinstance(seed, bytes):
            self._seed = b"b" + seed
        else:
            self._seed = (type(seed).__name__[0] + str(seed)).encode()
        self._counter = 0
        self._pool = bytearray()
        self._offset = 0

    def __repr__(self) -> str:
        return f"<Entropy {'seeded' if self._seed is not None else 'secrets'}>"

    def after_fork(self) -> None:
        """In a forked child: draw fresh bytes from `secrets`, never the parent's pool. A
        seeded stream goes on from where the parent was (each child repeats the same values)."""
        if self._seed is None:
            self._pool[:] = bytes(len(self._pool))
            self._offset = len(self._pool)

    def bytes(self, n: int) -> bytes:
        start = self._offset
        end = start + n
        if end > len(self._pool):
            self._refill(n)
            start, end = 0, n
        self._offset = end
        pool = self._pool
        out = bytes(pool[start:end])
        pool[start:end] = bytes(n)
        return out

    def _refill(self, n: int) -> None:
        size = max(n, _POOL)
        if self._seed is None:
            self._pool = bytearray(secrets.token_bytes(size))
        else:
            self._counter += 1
            block = self._seed + self._counter.to_bytes(8, "big")
            self._pool = bytearray(hashlib.shake_256(block).digest(size))


def account_prefix(account_id: str) -> str:
    """`ACCA` and the 8 characters that encode the account (see `credential_id`)."""
    return "ACCA" + base64.b32encode((int(account_id) // 2 + 2**39).to_bytes(5, "big")).decode()


def credential_id(account_id: str, entropy: Entropy, prefix: str | None = None) -> str:
    """`ACCA` + 17 base-32 characters that encode the account as IAM's unique ids do.

    Characters 5-12 are base 32 of ``account // 2 + 2**39``; character 13 carries the account's
    parity in its top bit; the last 8 are random (moto ``generate_access_key_id_from_account_id``,
    checked against real ids in the README's Fidelity table).
    """
    rand = entropy.bytes(6)
    parity_char = _B32[(int(account_id[-1]) & 1) * 16 + (rand[0] & 15)]
    n = int.from_bytes(rand[1:], "big")  # 40 bits: 8 base-32 characters, two per lookup
    pairs = _B32_PAIRS
    tail = pairs[n >> 30] + pairs[(n >> 20) & 1023] + pairs[(n >> 10) & 1023] + pairs[n & 1023]
    return (prefix or account_prefix(account_id)) + parity_char + tail


def account_of(credential_id: str) -> str:
    """The account number an IAM unique id encodes (the inverse of `credential_id`)."""
    half = int.from_bytes(base64.b32decode(credential_id[4:12]), "big") - 2**39
    return f"{half * 2 + (_B32.index(credential_id[12]) >= 16):012d}"


def password(entropy: Entropy) -> str:
    return binascii.b2a_base64(entropy.bytes(_SECRET_BYTES), newline=False).decode()


def api_key_prefix(service_name: str) -> str:
    """How the long-term API keys of ``service_name`` begin."""
    return API_KEY_PREFIXES.get(service_name, OTHER_API_KEY_PREFIX)


def api_key(service_name: str, alias: str, entropy: Entropy) -> str:
    """A long-term API key of ``service_name``: its prefix, then base64 of ``alias:secret``."""
    inner = f"{alias}:{password(entropy)}".encode()
    return api_key_prefix(service_name) + base64.b64encode(inner).decode()


def long_term_prefix(token: str) -> str | None:
    """The API-key prefix ``token`` begins with, or None (a short-term key, or no key)."""
    return next((p for p in _PREFIXES if token.startswith(p)), None)


def read_api_key(api_key: str) -> tuple[str, str] | None:
    """``(prefix, alias)`` of a long-term API key, or None when the text is not shaped like
    one of any service's."""
    prefix = long_term_prefix(api_key)
    if prefix is None:
        return None
    try:
        inner = base64.b64decode(api_key[len(prefix) :], validate=True).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        return None
    alias, sep, _ = inner.partition(":")
    return (prefix, alias) if sep and alias else None


def digest(secret: str, entropy: Entropy) -> bytes:
    """A fresh 16-byte salt followed by BLAKE2b-256 of the secret with that salt: all that is
    kept of a secret. (BLAKE2b takes the salt as a parameter, and CPython carries its own
    implementation, much smaller than OpenSSL's SHA-256 path, which matters on a cold cache.)"""
    salt = entropy.bytes(_SALT_BYTES)
    return salt + _blake2b(secret.encode(), digest_size=32, salt=salt).digest()


def matches(stored: bytes, candidate: str) -> bool:
    """Whether ``candidate`` is the secret ``stored`` was made from, compared in constant time."""
    salt = stored[:_SALT_BYTES]
    computed = _blake2b(candidate.encode(), digest_size=32, salt=salt).digest()
    return hmac.compare_digest(stored[_SALT_BYTES:], computed)


_blake2b = hashlib.blake2b


def make_request_ids(entropy: Entropy, count: int) -> list[str]:
    """Version-4 UUIDs, as IAM's request ids are."""
    raw = entropy.bytes(16 * count).hex()
    return [
        f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:]}"
        for x in (raw[i : i + 32] for i in range(0, 32 * count, 32))
    ]


_VARIANT = {f"{i:x}": "89ab"[i & 3] for i in range(16)}  # RFC 4122 variant bits
