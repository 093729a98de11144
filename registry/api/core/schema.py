"""OpenAPI details drf-spectacular cannot infer: natural-key fields, ETag/If-Match, the
409/412/428 answers of writes (in the same error shape as every other 4xx), which operations
can answer 400/413/415 at all, and the two page shapes of the lists that become change feeds.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent, build_array_type, force_instance
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers

from registry.api.core.keyset import KeysetPagination

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class AutoSchema(StandardizedErrorsAutoSchema):
    """Documents 409 on every write, and ETag / If-Match / 412 / 428 where a view declares
    `versioned = True` (initiatives, goals, alignments); 400 where a body or a parameter can
    be refused, 413/415 where a body is read, 503 everywhere, every error as JSON; and for
    the lists that become change feeds, the numbered page and the feed page side by side.
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

    def _reads_body(self) -> bool:
        """The operation parses a request body (and so may refuse it as 400, 413 or 415)."""
        return self.method in BODY_METHODS and self.get_request_serializer() is not None

    def _takes_parameters(self) -> bool:
        """Query parameters (filters, pages, report options) or an Idempotency-Key, which a
        400 may name.
        """
        return self._honours_idempotency_key() or any(
            p["in"] == "query" for p in self._get_parameters()
        )

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code in responses:
            return False
        if status_code == "409":
            return self.method in WRITE_METHODS
        if status_code in ("412", "428"):
            return self._versioned_write()
        if status_code == "400":
            # Any write may break a rule (a database constraint, one primary alignment); a
            # read answers 400 only for a bad parameter: DRF parses no body for it.
            return self.method in WRITE_METHODS or self._takes_parameters()
        if status_code in ("413", "415"):
            return self._reads_body()
        if status_code == "503":
            return True  # any request may find the database unreachable for a moment
        return super()._should_add_error_response(responses, status_code)

    def get_paginated_name(self, serializer_name: str) -> str:
        # A feed page (`resume`, no `count`) and a numbered page of the same rows (the change
        # feed and an initiative's history) are different shapes, hence different names.
        if isinstance(self._get_paginator(), KeysetPagination):
            return f"Paginated{serializer_name}FeedList"
        return super().get_paginated_name(serializer_name)

    def _get_response_for_code(
        self,
        serializer: Any,
        status_code: str,
        media_types: Any = None,
        direction: str = "response",
    ) -> dict:
        if direction == "response" and status_code[:1] in ("4", "5"):
            # Errors keep the one JSON shape, whatever format (CSV, XLSX) was asked for.
            media_types = ["application/json"]
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        tombstone = getattr(self.view, "tombstone_serializer_class", None)
        content = response.get("content", {}).get("application/json")
        if (
            tombstone is None
            or content is None
            or direction != "response"
            or not status_code.startswith("2")
            or getattr(self.view, "action", None) != "list"
        ):
            return response
        row = serializer.response if isinstance(serializer, OpenApiResponse) else serializer
        content["schema"] = {"oneOf": [content["schema"], self._feed_page(row, tombstone)]}
        return response

    def _feed_page(self, row: Any, tombstone: Any) -> dict:
        """The page of a list in feed mode (`updated_since` / `cursor`): keyset links, and
        rows or tombstones. Numbered pages of the same list hold rows only.
        """
        row_component = self.resolve_serializer(force_instance(row), "response")
        item = ResolvedComponent(
            name=f"{row_component.name}FeedItem",
            type=ResolvedComponent.SCHEMA,
            schema={
                "oneOf": [row_component.ref, self.resolve_serializer(tombstone, "response").ref]
            },
            object=f"{row_component.name}FeedItem",
        )
        self.registry.register_on_missing(item)
        page = ResolvedComponent(
            name=f"Paginated{item.name}List",
            type=ResolvedComponent.SCHEMA,
            schema=KeysetPagination().get_paginated_response_schema(build_array_type(item.ref)),
            object=f"Paginated{item.name}List",
        )
        self.registry.register_on_missing(page)
        return page.ref

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


def document_request_id(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Postprocessing hook: every error body carries the `request_id` the observability
    middleware adds (registry.middleware.observability), so every error schema names it.
    """
    schemas = result.get("components", {}).get("schemas", {})
    names = {
        content["schema"]["$ref"].rsplit("/", 1)[1]
        for item in result.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict)
        for status, response in operation.get("responses", {}).items()
        if status[:1] in ("4", "5")
        for content in response.get("content", {}).values()
        if "$ref" in content.get("schema", {})
    }
    for name in sorted(names):
        component = schemas[name]
        component.setdefault("properties", {})["request_id"] = {
            "type": "string",
            "description": str(_("The request's id, as in the X-Request-ID header and the log.")),
        }
        component["required"] = sorted({*component.get("required", []), "request_id"})
    return result
