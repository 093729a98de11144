"""Request body parsing: DRF's JSON parser, bounded.

Python's decoder recurses once per nesting level, so a 2 KB body of 1,000 brackets raised
RecursionError (a 500) and anything just under the interpreter's limit went on to recurse
again in the serializers. The registry's deepest real body is a sync batch (envelope →
items → item → alignments → alignment: 5 levels; an owner object adds none beyond that), so
a body nested deeper than MAX_JSON_DEPTH is refused as a parse error (400) before anything
reads it. Numbers that overflow to infinity (`1e999`) are refused too: `NaN`, `Infinity`
as bare constants already are (DRF's strict JSON), and an infinite float would otherwise
reach a decimal field as a value no column holds.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Ample for every body the API takes (a sync batch is 5 deep), tight enough that no parser
# or serializer recursion comes near the interpreter's limit.
MAX_JSON_DEPTH = 32
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def nesting_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests lists and objects deeper than `limit` (a scalar is depth 0).

    Iterative, so the check itself cannot recurse; it stops at the first container too deep.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(_("The number %(number)s is out of range.") % {"number": text[:40]})
    return number


def _refuse_constant(name: str) -> None:
    raise ValueError(_("%(name)s is not valid JSON.") % {"name": name})


def loads(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict JSON: no NaN/Infinity, no number that overflows, at most `max_depth` deep, no
    lone surrogate. Raises ValueError (RecursionError included) on anything else."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError(_("The JSON is nested too deeply.")) from None
    if nesting_depth_exceeds(data, max_depth):
        raise ValueError(
            _("The JSON is nested deeper than %(limit)d levels.") % {"limit": max_depth}
        )
    # `"\ud800"` decodes to a lone surrogate, which no database text holds (the write failed
    # with a 500). Only an escape can make one: decoded UTF-8 never holds surrogates.
    if SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(_("The JSON holds an unpaired surrogate escape.")) from None
    return data


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser with the bounds above; every failure is a 400 `parse_error`."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            return loads(text)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from None
