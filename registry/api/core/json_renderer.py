"""JSON rendering with orjson where it is installed: the same JSON as DRF's renderer (compact,
UTF-8), several times faster on a page of 100 initiatives. Falls back to DRF's renderer for
what orjson does not take (an indent asked for in the Accept header, unknown types), and
entirely when orjson is not installed.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Mapping
from typing import Any

from django.utils.encoding import force_str
from django.utils.functional import Promise
from rest_framework.renderers import JSONRenderer

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is optional
    orjson = None


def _default(value: Any) -> Any:
    """What DRF's encoder turns into JSON besides the basic types."""
    if isinstance(value, Promise):
        return force_str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)  # as DRF's encoder (serializers already give money as text)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.timedelta):
        return str(value.total_seconds())
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, set | frozenset | tuple) or hasattr(value, "__iter__"):
        return list(value)
    raise TypeError(type(value).__name__)


class FastJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer, with orjson doing the encoding when it can."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if orjson is None or data is None:
            return super().render(data, accepted_media_type, renderer_context)
        if self.get_indent(accepted_media_type or "", renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            text = orjson.dumps(data, default=_default)
        except TypeError:
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF: U+2028/U+2029 escaped, so the JSON is also valid JavaScript.
        return text.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
