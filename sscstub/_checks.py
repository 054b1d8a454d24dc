"""botocore shapes compiled into straight-line Python checks, once per process.

Every served response is checked against every constraint its output shape states, and every
request against its input shape, so the checks sit on the hot path. Two things keep them cheap:

* they are generated code (one function per structure, a few comparisons per member) rather
  than a walk over the model;
* a string or timestamp that passed a member's full check is remembered (a bounded set per
  member), so the next response holding the same value (ids, names, dates: they repeat) passes
  with one set lookup. Equality with a remembered value implies the same type, length, pattern
  and enum membership, so the result is the one the full check would give. Secrets (``sensitive``
  members) are never remembered.

The generated source is kept on each function (``__source__``) for debugging.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.model import ListShape, Shape, StructureShape

from ._codegen import LIMIT, Source

OutputCheck = Callable[[Any], "tuple[str, str] | None"]
InputReader = Callable[[Any], "tuple[dict[str, Any], list[str] | tuple[()]] | tuple[None, None]"]


def pattern_of(shape: Shape) -> re.Pattern[str] | None:
    # AWS patterns are Java regexes, where \w is ASCII-only.
    pattern = shape.metadata.get("pattern")
    return re.compile(pattern, re.ASCII) if pattern is not None else None


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _remembering(
    problem: Callable[[Any], str | None], sensitive: bool
) -> tuple[set[Any], Callable[[Any], str | None]]:
    """A set of values known to pass, and the full check that fills it."""
    accepted: set[Any] = set()
    if sensitive:
        return accepted, problem

    def check(value: Any) -> str | None:
        found = problem(value)
        if found is None:
            if len(accepted) >= LIMIT:  # bounded; inline, as a call costs more than the add
                accepted.clear()
            accepted.add(value)
        return found

    return accepted, check


# --- output: returns None, or (path, problem) -----------------------------------------------------


def output_check(
    shape: StructureShape | None, relaxed: frozenset[str] = frozenset()
) -> OutputCheck:
    """The check for one output shape. Members in ``relaxed`` are not required: an older model
    requires what real IAM no longer always sends (an API key has no ServiceUserName)."""
    src = Source(_MISSING=_MISSING)
    if shape is None:
        src.emit(0, "def check(v):")
        src.emit(1, "if v: return ('', 'no output is modeled, yet it holds ' + repr(sorted(v)))")
        src.emit(1, "return None")
        return src.build("check")  # type: ignore[no-any-return]
    done: dict[str, str] = {}
    top = _structure(src, shape, done, relaxed)
    src.emit(0, f"check = {top}")
    return src.build("check")  # type: ignore[no-any-return]


def _structure(
    src: Source, shape: StructureShape, done: dict[str, str], relaxed: frozenset[str]
) -> str:
    if shape.name in done:
        return done[shape.name]
    name = done[shape.name] = f"check_{shape.name}"
    nested: dict[str, str] = {}
    for member, sub in shape.members.items():
        if isinstance(sub, StructureShape):
            nested[member] = _structure(src, sub, done, relaxed)
        elif isinstance(sub, ListShape):
            if not isinstance(sub.member, StructureShape):
                raise NotImplementedError("sscstub checks lists of structures only")
            nested[member] = _structure(src, sub.member, done, relaxed)
    known = src.const(frozenset(shape.members))
    src.emit(0, f"def {name}(v):")
    src.emit(1, "if type(v) is not dict:")
    src.emit(2, f"return ('', 'expected a dict for {shape.name}, got ' + type(v).__name__)")
    memo = _memoizable(shape)
    if memo:
        # A dict equal to one that passed, value for value, passes: for members that are all
        # strings and timestamps, equality implies the same type and the same constraints met.
        seen = src.const(set())
        src.emit(1, "items = tuple(v.items())")
        src.emit(1, "try:")
        src.emit(2, f"if items in {seen}: return None")
        src.emit(1, "except TypeError:  # an unhashable value: the full check will say what")
        src.emit(2, "items = None")
    src.emit(1, f"if not {known}.issuperset(v):")
    src.emit(2, f"return ('', 'not members of {shape.name}: ' + repr(sorted(set(v) - {known})))")
    src.emit(1, "get = v.get")
    for member, sub in shape.members.items():
        required = member in shape.required_members and member not in relaxed
        if member in nested:
            src.emit(1, f"x = get({member!r}, _MISSING)")
            if required:
                src.emit(1, f"if x is _MISSING: return ('', 'required member {member} is missing')")
            src.emit(1, "if x is not _MISSING:")
            if isinstance(sub, ListShape):
                src.emit(2, "if type(x) is not list:")
                src.emit(3, f"return ('.{member}', 'expected a list, got ' + type(x).__name__)")
                src.emit(2, "for i, item in enumerate(x):")
                src.emit(3, f"r = {nested[member]}(item)")
                src.emit(3, f"if r is not None: return ('.{member}[' + str(i) + ']' + r[0], r[1])")
            else:
                src.emit(2, f"r = {nested[member]}(x)")
                src.emit(2, f"if r is not None: return ('.{member}' + r[0], r[1])")
            continue
        fast, (accepted, full) = _scalar(sub, member, required)
        if not required:
            fast += " and x is not _MISSING"
        src.emit(1, f"x = get({member!r}, _MISSING)")
        if "ACCEPTED" in fast:  # a set lookup, which an unhashable value must not break
            src.emit(1, "try:")
            src.emit(2, f"known = x in {src.const(accepted)}")
            src.emit(1, "except TypeError:")
            src.emit(2, "known = False")
            fast = fast.replace("x not in ACCEPTED", "not known")
        src.emit(1, f"if {fast}:")
        src.emit(2, f"r = {src.const(full)}(x)")
        src.emit(2, f"if r is not None: return ('.{member}', r)")
    if memo:
        src.emit(1, "if items is not None:")
        src.emit(2, f"if len({seen}) >= {LIMIT}: {seen}.clear()")
        src.emit(2, f"{seen}.add(items)")
    src.emit(1, "return None")
    return name


def _memoizable(shape: StructureShape) -> bool:
    return all(
        sub.type_name in ("string", "timestamp") and not sub.metadata.get("sensitive")
        for sub in shape.members.values()
    )


def _scalar(
    shape: Shape, member: str, required: bool
) -> tuple[str, tuple[set[Any], Callable[[Any], str | None]]]:
    """The fast test (True when the full check must run) and the full check for one member."""
    meta = shape.metadata
    kind = shape.type_name

    def problem(x: Any) -> str | None:
        if x is _MISSING:
            return f"required member {member} is missing" if required else None
        if kind == "string":
            if type(x) is not str:
                return f"expected str, got {type(x).__name__}"
            low, high = meta.get("min", 0), meta.get("max")
            if len(x) < low or (high is not None and len(x) > high):
                return f"length {len(x)} is outside {low}..{high}"
            pattern = compiled
            if pattern is not None and pattern.fullmatch(x) is None:
                return f"does not match {pattern.pattern!r}"
            if "enum" in meta and x not in meta["enum"]:
                return f"{x!r} is not one of {sorted(meta['enum'])!r}"
            return None
        if kind == "timestamp":
            if not isinstance(x, datetime) or x.tzinfo is None or x.microsecond:
                return f"expected a whole-second aware datetime, got {x!r}"
            return None
        # a boolean: the only other kind (checked below, before this is ever made)
        return None if type(x) is bool else f"expected bool, got {type(x).__name__}"

    if kind not in ("string", "timestamp", "boolean"):
        raise NotImplementedError(f"sscstub cannot check IAM output members of type {kind}")
    compiled = pattern_of(shape) if kind == "string" else None
    constrained = kind == "timestamp" or any(k in meta for k in ("min", "max", "pattern", "enum"))
    if kind == "boolean":
        return "type(x) is not bool", (set(), problem)
    if not constrained:  # a plain string: the type is the whole check
        return "type(x) is not str", (set(), problem)
    return "x not in ACCEPTED", _remembering(problem, bool(meta.get("sensitive")))


# --- input: IAM's server-side validation messages -------------------------------------------------

_NOT_NULL = "Member must not be null"


def input_reader(shape: StructureShape, custom_pattern: frozenset[str]) -> InputReader:
    """A function from the query body botocore serialised to ``(params, problems)``: the API
    parameters typed as the model says, and IAM's constraint messages (empty when valid).

    It reads what goes on the wire, so clients with ``parameter_validation=False`` get IAM's
    answers; a value that does not parse is kept as it is, and a problem reports it. Members in
    ``custom_pattern`` skip the pattern check: IAM checks them later with its own text.

    A value that is neither str nor int (a raw client's None, bool, list or dict) is not what
    the wire carries: the reader then returns ``(None, None)``, and the caller reads again from
    the form botocore would send (`_query.read_query` of `_query.wire_form`).
    """
    src = Source()
    src.emit(0, "def read(b):")
    src.emit(1, "p = {}")
    src.emit(1, "out = ()")
    for member, sub in shape.members.items():
        camel = member[0].lower() + member[1:]
        parse = _member_reader(sub, camel, member in custom_pattern)
        src.emit(1, f"x = b.get({member!r})")
        src.emit(1, "if x is None:")
        src.emit(2, f"if {member!r} in b: return None, None  # None itself: the wire says 'None'")
        if member in shape.required_members:
            message = f"Value null at '{camel}' failed to satisfy constraint: {_NOT_NULL}"
            src.emit(2, f"out = [*out, {message!r}]")
        else:
            src.emit(2, "pass")
        if sub.type_name == "string":  # a string seen before is known to be valid as it is
            accepted, full = _remembering_strings(parse)
            src.emit(1, f"elif type(x) is str and x in {src.const(accepted)}:")
            src.emit(2, f"p[{member!r}] = x")
        else:
            full = parse
        src.emit(1, "else:")
        src.emit(2, "if type(x) is not str and type(x) is not int: return None, None")
        src.emit(2, f"x, problems = {src.const(full)}(x)")
        src.emit(2, f"p[{member!r}] = x")
        src.emit(2, "if problems: out = [*out, *problems]")
    src.emit(1, "return p, out")
    return src.build("read")  # type: ignore[no-any-return]


Parse = Callable[[Any], "tuple[Any, list[str]]"]


def _remembering_strings(parse: Parse) -> tuple[set[str], Parse]:
    accepted: set[str] = set()

    def check(value: Any) -> tuple[Any, list[str]]:
        typed, problems = parse(value)
        if not problems and type(value) is str and typed == value:
            if len(accepted) >= LIMIT:
                accepted.clear()
            accepted.add(value)
        return typed, problems

    return accepted, check


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _member_reader(shape: Shape, camel: str, skip_pattern: bool) -> Parse:
    """Type one wire value as the model says, and list IAM's messages for it."""
    meta = shape.metadata
    kind = shape.type_name
    prefix = f"Value at '{camel}' failed to satisfy constraint: Member must "
    pattern = None if skip_pattern else pattern_of(shape)
    enum = frozenset(meta.get("enum", ()))

    def parse(x: Any) -> tuple[Any, list[str]]:
        problems = []
        if kind == "string":
            if type(x) is not str:
                x = str(x)
            if "min" in meta and len(x) < meta["min"]:
                problems.append(f"have length greater than or equal to {meta['min']}")
            if "max" in meta and len(x) > meta["max"]:
                problems.append(f"have length less than or equal to {meta['max']}")
            if pattern is not None and pattern.fullmatch(x) is None:
                problems.append(f"satisfy regular expression pattern: {meta['pattern']}")
            if enum and x not in enum:
                problems.append("satisfy enum value set")
        elif kind == "integer":
            if isinstance(x, str) and _INTEGER.fullmatch(x):
                x = int(x)
            if type(x) is not int:
                problems.append("be a number")
            else:
                if "min" in meta and x < meta["min"]:
                    problems.append(f"have value greater than or equal to {meta['min']}")
                if "max" in meta and x > meta["max"]:
                    problems.append(f"have value less than or equal to {meta['max']}")
        elif kind == "boolean":
            x = True if x == "true" else False if x == "false" else x
            if type(x) is not bool:
                problems.append("be a boolean")
        else:
            raise NotImplementedError(f"sscstub cannot read IAM input members of type {kind}")
        return x, [prefix + p for p in problems]

    return parse
