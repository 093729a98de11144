"""Sync endpoints for other tools: parse the request, call `registry.sync.upsert`, answer.

- `PUT /initiatives/sync/{source}/{external_id}/` creates (201) or updates (200) one
  initiative; the same body again answers 200 with `"result": "unchanged"` and writes
  nothing. The external id may contain slashes and any other character (percent-encoded).
- `POST /initiatives/sync/` takes `{"source", "items", "atomic"}` and answers item by item.

Who may sync: the PMO, or an integration whose token belongs to that source. History names
the token (or user) as the actor and `sync` as the channel (set by `registry.sync.upsert`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from registry import permissions as rules
from registry.api import sync_serializers as bodies
from registry.api.core.authentication import request_token
from registry.api.core.concurrency import etag_for
from registry.api.core.errors import Conflict
from registry.api.core.idempotency import idempotent
from registry.api.core.permissions import RegistryPermission
from registry.api.views import acting_user, actor_name
from registry.middleware.observability import record_sync_items
from registry.selectors import reports
from registry.sync import upsert as sync

# Item errors that are refusals by the stored state or the lifecycle, not bad input: 409.
CONFLICT_CODES = frozenset(
    {"gate_not_met", "transition_not_allowed", "prohibited_risk", "archived"}
)


class SyncAccess(RegistryPermission):
    """PMO, or an integration token of the very source being synced."""

    def may_write(self, request: Request, view: Any) -> bool:
        source = view.requested_source(request)
        self.message = gettext_lazy(
            "Only the PMO, or the integration whose token belongs to source '%(source)s', "
            "syncs its initiatives."
        ) % {"source": source or "—"}
        token = request_token(request)
        return rules.can_create_initiative(request.user, source=source, token=token)


def sync_error_to_api(error: sync.SyncError) -> exceptions.ValidationError:
    return exceptions.ValidationError(
        {error.attr or "non_field_errors": [exceptions.ErrorDetail(error.message, code=error.code)]}
    )


def item_errors_to_api(errors: list[sync.ItemError]) -> exceptions.APIException:
    """One item's refusal: 409 when the lifecycle or the stored state refuses, else 400."""
    if all(error.code in CONFLICT_CODES for error in errors):
        first = errors[0]
        return Conflict(detail=first.detail, code=first.code, attr=first.attr)
    by_attr: dict[str, list[exceptions.ErrorDetail]] = {}
    for error in errors:
        if error.code in CONFLICT_CODES:
            continue  # bad input is reported first; the conflict may vanish once it is fixed
        by_attr.setdefault(error.attr or "non_field_errors", []).append(
            exceptions.ErrorDetail(error.detail, code=error.code)
        )
    return exceptions.ValidationError(by_attr)


def initiative_url(request: Request, key: str | None) -> str | None:
    return reverse("api:initiative-detail", kwargs={"key": key}, request=request) if key else None


def counts_of(batch: sync.BatchResult) -> dict[str, int]:
    counts = dict.fromkeys(("created", "updated", "unchanged", "error", "not_written"), 0)
    for item in batch.items:
        counts[item.result or "not_written"] += 1
    return counts


def overlap_fields(item: sync.ItemResult, found: dict[str, reports.ItemOverlaps]) -> dict:
    """`overlaps` (the first `sync.OVERLAPS_SHOWN` by key) and `overlaps_count` of one item."""
    mine = found.get(item.key or "") if item.wants_overlaps else None
    return {
        "overlaps": mine.overlaps if mine else [],
        "overlaps_count": mine.count if mine else 0,
    }


class SyncViewMixin:
    """Shared by both endpoints: who acts, and what they may sync."""

    def requested_source(self, request: Request) -> str:
        raise NotImplementedError

    def sync_options(self, request: Request) -> dict[str, Any]:
        return {"actor": acting_user(request), "actor_name": actor_name(request)}


@extend_schema(tags=["initiatives"])
class InitiativeSyncView(SyncViewMixin, APIView):
    """Create or update one initiative by the tool's own id."""

    permission_classes = [SyncAccess]

    def requested_source(self, request: Request) -> str:
        return str(self.kwargs.get("source") or "")

    @extend_schema(
        operation_id="initiatives_sync_one",
        summary=_("Upsert one initiative by (source, external id)"),
        description=_(
            "Creates (201) or updates (200) the live initiative of `source` with this "
            '`external_id`; sending the same body again answers 200 with `"result": '
            '"unchanged"` and writes nothing (same version, no history). Fields not sent stay '
            "as they are. Related objects by natural key; unknown ones are a 400 naming each "
            "value (a person with name and e-mail is created). A `stage` on update moves "
            "through the lifecycle gates (refusal: 409 with the lifecycle's code); on create "
            "it is the stage the initiative already has elsewhere, recorded as imported, and "
            "the missing evidence shows as `gate_gaps`. The external id may contain slashes "
            "and any character (percent-encoded)."
        ),
        parameters=[
            OpenApiParameter("source", str, OpenApiParameter.PATH, description=_("e.g. jira")),
            OpenApiParameter(
                "external_id",
                str,
                OpenApiParameter.PATH,
                description=_("The tool's id; may contain '/'."),
            ),
        ],
        request=bodies.SyncItemSerializer,
        responses={
            201: OpenApiResponse(bodies.SyncResultSerializer, description=_("Created.")),
            200: OpenApiResponse(
                bodies.SyncResultSerializer, description=_("Updated, or unchanged.")
            ),
        },
    )
    def put(self, request: Request, source: str, external_id: str) -> Response:
        if not isinstance(request.data, Mapping):
            raise exceptions.ValidationError(
                {"non_field_errors": [_("Send the initiative as a JSON object.")]}, code="invalid"
            )
        try:
            result = sync.sync_one(
                source=source,
                external_id=external_id,
                item=request.data,
                **self.sync_options(request),
            )
        except sync.SyncError as error:
            raise sync_error_to_api(error) from None
        record_sync_items({result.result: 1}, source=source)
        if result.errors:
            raise item_errors_to_api(result.errors)
        body = bodies.SyncResultSerializer(
            {
                **result.as_dict(),
                "url": initiative_url(request, result.key),
                **overlap_fields(result, sync.join_or_justify([result], user=request.user)),
            }
        ).data
        created = result.result == "created"
        headers = {"ETag": etag_for(result.version or 0)}
        if created:
            headers["Location"] = body["url"]
        return Response(
            body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK, headers=headers
        )


@extend_schema(tags=["initiatives"])
class InitiativeSyncBatchView(SyncViewMixin, APIView):
    """Create or update many initiatives of one source."""

    permission_classes = [SyncAccess]

    def requested_source(self, request: Request) -> str:
        data = request.data
        return str(data.get("source") or "") if isinstance(data, Mapping) else ""

    @extend_schema(
        operation_id="initiatives_sync_batch",
        summary=_("Upsert a batch of initiatives of one source"),
        description=_(
            "Up to 5,000 items, one result each (created / updated / unchanged / error). "
            "All-or-nothing by default: one bad item answers 400 with every item's errors "
            '(`attr` = items.<index>.<field>) and writes nothing. With `"atomic": false` the '
            "good items are written and the bad ones reported in a 200. Duplicate external ids "
            "and more than 5,000 items are a 400 naming them. Concurrent batches of a source "
            "are serialised, so they neither deadlock nor duplicate. Writes are set-based: the "
            "number of queries does not grow with the batch, overlaps included (one query for "
            "the whole batch; each item lists the first 20 by key and counts them all)."
        ),
        request=bodies.SyncBatchRequestSchemaSerializer,
        responses={
            200: bodies.SyncBatchResponseSerializer,
            400: OpenApiResponse(
                bodies.SyncBatchRefusedSerializer,
                description=_("The batch or (atomic) one of its items was refused."),
            ),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        envelope = bodies.SyncBatchRequestSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        source = envelope.validated_data["source"]
        atomic = envelope.validated_data["atomic"]
        try:
            batch = sync.sync_batch(
                source=source,
                items=envelope.validated_data["items"],
                atomic=atomic,
                **self.sync_options(request),
            )
        except sync.SyncError as error:
            raise sync_error_to_api(error) from None
        counts = counts_of(batch)
        record_sync_items(counts, source=batch.source)
        overlaps = sync.join_or_justify(batch.items, user=request.user)
        items = bodies.SyncItemResultSerializer(
            [self.item_payload(request, item, overlaps) for item in batch.items], many=True
        ).data
        if not batch.written and batch.has_errors:
            return Response(
                {
                    "type": "validation_error",
                    "errors": [
                        {
                            "code": error.code,
                            "detail": error.detail,
                            "attr": f"items.{item.index}.{error.attr}"
                            if error.attr
                            else f"items.{item.index}",
                        }
                        for item in batch.items
                        for error in item.errors
                    ],
                    "items": items,
                    "counts": counts,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = {
            "source": batch.source,
            "atomic": batch.atomic,
            "written": batch.written,
            "counts": counts,
            "items": items,
        }
        return Response(bodies.SyncBatchResponseSerializer(body).data)

    def item_payload(
        self, request: Request, item: sync.ItemResult, overlaps: dict[str, reports.ItemOverlaps]
    ) -> dict[str, Any]:
        data = item.as_dict()
        data["result"] = item.result or "not_written"
        data["url"] = initiative_url(request, item.key)
        if item.ok:
            data.update(overlap_fields(item, overlaps))
        return data
