"""Requests checked against the OpenAPI document before pydantic sees them.

pydantic is lenient where the document is not: it reads ``"5"`` as the integer 5,
``"yes"`` as true and ``"0"`` or ``0.5`` as a date or a time (seconds since 1970). The
document says an integer is digits, a boolean is ``true`` or ``false`` and a date is
``YYYY-MM-DD``; a request the document calls invalid must be refused, so each query
parameter and each JSON body is first checked here against the schemas the document
publishes for it (generated from the same models): the types, the ``date`` and
``date-time`` formats and string patterns. pydantic then checks everything else (ranges,
lengths, required fields, enums) and converts.

Only the JSON Schema keywords the document uses are understood: ``$ref``, ``anyOf``,
``oneOf``, ``type``, ``format``, ``pattern``, ``properties``, ``additionalProperties``
and ``items``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Issue", "ParameterCheck", "check_query_text", "check_value"]

_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_FORMATS = {
    "date": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
    "date-time": re.compile(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
    ),
}
_FORMAT_NAMES = {
    "date": "a date, YYYY-MM-DD",
    "date-time": "a date and time with its offset (RFC 3339), e.g. 2025-01-31T08:00:00Z",
}
_PATTERNS: dict[str, re.Pattern[str]] = {}


@dataclass(frozen=True)
class Issue:
    """One reason a value does not match its documented schema."""

    loc: tuple[str, ...]
    msg: str
    type: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


def _resolve(schema: Mapping[str, Any], components: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = components[str(schema["$ref"]).rsplit("/", 1)[-1]]
    return schema


def _pattern(text: str) -> re.Pattern[str]:
    found = _PATTERNS.get(text)
    if found is None:
        found = _PATTERNS[text] = re.compile(text)
    return found


def _string_issue(value: str, schema: Mapping[str, Any], loc: tuple[str, ...]) -> Issue | None:
    form = schema.get("format")
    checker = _FORMATS.get(form) if isinstance(form, str) else None
    if checker is not None and not checker.fullmatch(value):
        return Issue(loc, f"must be {_FORMAT_NAMES[str(form)]}", f"{form}_format")
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not _pattern(pattern).search(value):
        return Issue(loc, f"must match {pattern}", "string_pattern_mismatch")
    return None


def _type_issue(value: Any, kind: str, loc: tuple[str, ...]) -> Issue | None:
    if kind == "null":
        ok = value is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "integer":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "string":
        ok = isinstance(value, str)
    elif kind == "array":
        ok = isinstance(value, list)
    elif kind == "object":
        ok = isinstance(value, dict)
    else:
        ok = True
    return None if ok else Issue(loc, f"must be of type {kind}", f"{kind}_type")


def check_value(
    value: Any,
    schema: Mapping[str, Any],
    components: Mapping[str, Any],
    loc: tuple[str, ...] = (),
) -> list[Issue]:
    """What makes ``value`` (parsed JSON) break ``schema``'s types, formats and patterns."""
    schema = _resolve(schema, components)
    chosen = _discriminated(value, schema)
    if chosen is not None:
        return check_value(value, chosen, components, loc)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if options:
            found: list[Issue] = []
            for option in options:
                problems = check_value(value, option, components, loc)
                if not problems:
                    break
                found = found or problems
            else:
                return found
    kind = schema.get("type")
    if isinstance(kind, str):
        issue = _type_issue(value, kind, loc)
        if issue is not None:
            return [issue]
    if isinstance(value, str):
        issue = _string_issue(value, schema, loc)
        return [] if issue is None else [issue]
    issues: list[Issue] = []
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            sub = properties.get(name, extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                issues += check_value(item, sub, components, (*loc, str(name)))
            elif extra is False:
                issues.append(Issue((*loc, str(name)), "is not a field here", "extra_forbidden"))
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for n, item in enumerate(value):
            issues += check_value(item, schema["items"], components, (*loc, str(n)))
    return issues


def _discriminated(value: Any, schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The one ``oneOf`` branch a discriminator names for ``value``, if it names one."""
    discriminator = schema.get("discriminator")
    if not isinstance(discriminator, Mapping) or not isinstance(value, dict):
        return None
    tag = value.get(discriminator.get("propertyName"))
    mapping = discriminator.get("mapping", {})
    if not isinstance(tag, str) or tag not in mapping:
        return None
    return {"$ref": mapping[tag]}


def _text_issue(
    text: str, schema: Mapping[str, Any], components: Mapping[str, Any], loc: tuple[str, ...]
) -> Issue | None:
    """What makes a query string's ``text`` break ``schema`` (a scalar's schema)."""
    schema = _resolve(schema, components)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        issues = [_text_issue(text, option, components, loc) for option in options]
        if all(issues):
            return issues[0]
    kind = schema.get("type")
    if kind == "integer" and not _INTEGER.fullmatch(text):
        return Issue(loc, "must be a whole number in digits", "int_parsing")
    if kind == "number" and not _NUMBER.fullmatch(text):
        return Issue(loc, "must be a number", "float_parsing")
    if kind == "boolean" and text not in ("true", "false"):
        return Issue(loc, "must be true or false", "bool_parsing")
    if kind == "string":
        return _string_issue(text, schema, loc)
    enum = schema.get("enum")
    if enum is not None and text not in [str(e) for e in enum]:
        return Issue(loc, f"must be one of {', '.join(map(str, enum))}", "enum")
    return None


@dataclass(frozen=True)
class ParameterCheck:
    """A query parameter as the document states it."""

    name: str
    schema: Mapping[str, Any]


def check_query_text(
    parameters: Sequence[ParameterCheck],
    values: Mapping[str, Sequence[str]],
    components: Mapping[str, Any],
) -> list[Issue]:
    """What makes the query's documented parameters break their schemas. ``values``: every
    value given for each name (a scalar given twice is refused: which one was meant?)."""
    issues: list[Issue] = []
    for parameter in parameters:
        given = values.get(parameter.name, ())
        loc = ("query", parameter.name)
        schema = _resolve(parameter.schema, components)
        if schema.get("type") == "array":  # repeated: sku=A&sku=B
            for text in given:
                issue = _text_issue(text, schema.get("items", {}), components, loc)
                if issue is not None:
                    issues.append(issue)
                    break
            continue
        if len(given) > 1:
            issues.append(Issue(loc, "is given more than once", "repeated"))
        elif given:
            issue = _text_issue(given[0], parameter.schema, components, loc)
            if issue is not None:
                issues.append(issue)
    return issues
