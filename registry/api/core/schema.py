"""OpenAPI details drf-spectacular cannot infer: natural-key fields, ETag/If-Match, and the
409/412/428 answers of writes (in the same error shape as every other 4xx).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AutoSchema(StandardizedErrorsAutoSchema):
    """Documents 409 on every write, and ETag / If-Match / 412 / 428 where a view declares
    `versioned = True` (initiatives, goals, alignments).
    """

    def _versioned_write(self) -> bool:
        actions: frozenset[str] = getattr(self.view, "if_match_actions", frozenset())
        return bool(getattr(self.view, "versioned", False)) and (
            getattr(self.view, "action", None) in actions
        )

    def _versioned_read_or_write(self) -> bool:
        actions: frozenset[str] = getattr(self.view, "etag_actions", frozenset())
        return bool(getattr(self.view, "versioned", False)) and (
            getattr(self.view, "action", None) in actions
        )

    def _honours_idempotency_key(self) -> bool:
        """The operation's handler is wrapped by `registry.api.core.idempotency.idempotent`."""
        action = getattr(self.view, "action", None) or self.method.lower()
        handler = getattr(self.view, action, None)
        return bool(getattr(handler, "honours_idempotency_key", False))

    def _get_allowed_error_status_codes(self) -> list[str]:
        codes = list(super()._get_allowed_error_status_codes())
        if self._honours_idempotency_key():
            codes.append("422")
        return codes

    def _get_error_response_serializer(self, status_code: str) -> Any:
        if status_code == "422":
            return ErrorResponse422Serializer
        return super()._get_error_response_serializer(status_code)

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code == "409":
            return self.method in WRITE_METHODS and status_code not in responses
        if status_code in ("412", "428"):
            return self._versioned_write() and status_code not in responses
        return super()._should_add_error_response(responses, status_code)

    def get_override_parameters(self) -> list:
        parameters = list(super().get_override_parameters())
        if self._honours_idempotency_key():
            parameters.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description=_(
                        "Any unique string (≤ 255 characters, e.g. a UUID) to make a retry "
                        "safe: repeating the request with the same key and body within 24 hours "
                        "answers the first response again (header `Idempotent-Replayed: true`) "
                        "and writes nothing; the same key with another body answers 422. Keys "
                        "are scoped to your token or user."
                    ),
                )
            )
        if self._versioned_write():
            parameters.append(
                OpenApiParameter(
                    "If-Match",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description=_(
                        'The ETag you read, e.g. "7". A stale one answers 412 and changes '
                        "nothing; where REGISTRY_REQUIRE_IF_MATCH is on, leaving it out "
                        "answers 428."
                    ),
                )
            )
        if self._versioned_read_or_write():
            parameters.append(
                OpenApiParameter(
                    "ETag",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    response=[200, 201],
                    description=_('The stored version, e.g. "7"; send it back as If-Match.'),
                )
            )
        return parameters


class NaturalKeyRelatedFieldExtension(OpenApiSerializerFieldExtension):
    """Requests name the object by natural key (or id); responses carry its brief form."""

    target_class = "registry.api.core.fields.NaturalKeyRelatedField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict:
        field = self.target
        if direction == "response":
            return auto_schema.resolve_serializer(field.brief_serializer, direction).ref
        if field.natural_key == "id":
            return {"type": "integer"}
        if field.allow_id:
            return {"oneOf": [{"type": "string"}, {"type": "integer"}]}
        return {"type": "string"}


class Error422Serializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("idempotency_key_reused"))
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse422Serializer(serializers.Serializer):
    """The same Idempotency-Key was sent before with a different body (or path)."""

    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error422Serializer(many=True)  # type: ignore[assignment]
