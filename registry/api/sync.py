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

from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from registry import choices
from registry import permissions as rules
from registry.api.core.authentication import request_actor, request_token
from registry.api.core.concurrency import etag_for
from registry.api.core.errors import Conflict, RequestErrorEnum
from registry.api.core.idempotency import idempotent
from registry.api.core.permissions import RegistryPermission
from registry.api.core.viewsets import actor_name
from registry.api.initiatives.serializers import OverlapSerializer
from registry.metrics import record_sync_items
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
    """`overlaps` (the best `sync.OVERLAPS_SHOWN` by score) and `overlaps_count` of one item."""
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
        return {"actor": request_actor(request), "actor_name": actor_name(request)}


OWNER_SCHEMA = {
    "oneOf": [
        {"type": "string", "format": "email", "description": "A registered person's e-mail."},
        {
            "type": "object",
            "properties": {
                "email": {"type": "string", "format": "email"},
                "name": {"type": "string"},
            },
            "required": ["email"],
            "description": "With a name, an unknown person is created.",
        },
    ],
    "nullable": True,
}


@extend_schema_field(OWNER_SCHEMA)
class OwnerField(serializers.JSONField):
    """An e-mail, or {email, name} to create the person when unknown."""


STRENGTH_SCHEMA = {
    "oneOf": [
        {"type": "integer", "enum": [1, 2, 3]},
        {"type": "string", "enum": ["weak", "moderate", "strong"]},
    ],
    "description": "1/weak, 2/moderate (default) or 3/strong.",
}


@extend_schema_field(STRENGTH_SCHEMA)
class StrengthField(serializers.JSONField):
    """1/2/3 or weak/moderate/strong."""


class SyncAlignmentSerializer(serializers.Serializer):
    goal = serializers.CharField(help_text=_("The goal's code, e.g. G-NPS."))
    strength = StrengthField(required=False)
    is_primary = serializers.BooleanField(
        required=False,
        help_text=_("Exactly one per initiative; when none is marked, the strongest leads."),
    )
    expected_impact = serializers.DecimalField(
        max_digits=14, decimal_places=4, required=False, allow_null=True
    )
    rationale = serializers.CharField(required=False, allow_blank=True)


def _list_of(child: serializers.Field, help_text: Any) -> serializers.ListField:
    return serializers.ListField(child=child, required=False, help_text=help_text)


class SyncItemSerializer(serializers.Serializer):
    """One initiative as another tool sends it. Every field is optional on update (fields
    not sent stay as they are); `name` and `kind` are needed to create.
    """

    external_id = serializers.CharField(
        max_length=200,
        required=False,
        help_text=_("The tool's own id: required in a batch; in the PUT, equal to the URL's."),
    )
    name = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=choices.Kind.choices, required=False)
    stage = serializers.ChoiceField(
        choices=choices.Stage.choices,
        required=False,
        help_text=_(
            "On create: the stage it already has elsewhere (recorded as imported; missing "
            "evidence shows as gate gaps). On update: moved through the lifecycle gates."
        ),
    )
    note = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Why, for a stage move that needs a note.")
    )
    owner = OwnerField(required=False)
    lead_department = serializers.CharField(
        required=False, allow_null=True, help_text=_("A department's slug.")
    )
    departments = _list_of(serializers.CharField(), _("Participating departments' slugs."))
    systems = _list_of(serializers.CharField(), _("Systems' slugs."))
    tags = _list_of(
        serializers.CharField(),
        _(
            "Tags by name or slug ('Classical ML' or classical-ml); unknown ones are created "
            "when the token may create tags, else the item is refused naming them."
        ),
    )
    alignments = SyncAlignmentSerializer(
        many=True, required=False, help_text=_("Replaces the initiative's alignments.")
    )
    touchpoints = _list_of(serializers.ChoiceField(choices=choices.Touchpoint.choices), None)
    journey_stages = _list_of(serializers.ChoiceField(choices=choices.JourneyStage.choices), None)
    customer_segments = _list_of(serializers.CharField(max_length=60), None)
    interaction_mode = serializers.ChoiceField(
        choices=choices.InteractionMode.choices, required=False
    )
    autonomy = serializers.ChoiceField(choices=choices.Autonomy.choices, required=False)
    budget_planned = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    budget_spent = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    currency = serializers.CharField(max_length=3, required=False)
    expected_benefit = serializers.CharField(required=False, allow_blank=True)
    start_date = serializers.DateField(required=False, allow_null=True)
    target_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    risk_tier = serializers.ChoiceField(choices=choices.RiskTier.choices, required=False)
    customer_facing = serializers.BooleanField(required=False)
    uses_personal_data = serializers.BooleanField(required=False)
    confidential = serializers.BooleanField(required=False)
    hypothesis = serializers.CharField(required=False, allow_blank=True)
    success_criteria = serializers.CharField(required=False, allow_blank=True)
    learnings = serializers.CharField(required=False, allow_blank=True)
    external_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


@extend_schema_field(OverlapSerializer(many=True))
class OverlapsField(serializers.Field):
    """Join or justify as `reports.overlaps_by_key` answers it, passed through unchanged.

    The rows are plain JSON already, in `OverlapSerializer`'s shape (the schema documents them
    so). A serializer per overlap and reason cost more than the batch's writes: a batch of
    5,000 items lists up to 100,000 overlaps. Answers only, never read from a request.
    """

    def to_representation(self, value: Any) -> Any:
        return value


class SyncResultSerializer(serializers.Serializer):
    """What the single PUT did."""

    external_id = serializers.CharField()
    result = serializers.ChoiceField(choices=["created", "updated", "unchanged"])
    key = serializers.CharField(help_text=_("The registry's key, e.g. AI-0042."))
    url = serializers.URLField()
    version = serializers.IntegerField()
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    gate_gaps = serializers.ListField(
        child=serializers.ChoiceField(choices=choices.Gate.choices),
        help_text=_("Gate evidence the initiative lacks at its stage (e.g. imported at it)."),
    )
    overlaps = OverlapsField(
        help_text=_(
            "Join or justify: open initiatives of other departments this one overlaps "
            "(created and updated items; empty when unchanged), the 20 with the best score."
        ),
    )
    overlaps_count = serializers.IntegerField(
        help_text=_("How many open initiatives of other departments it overlaps in all.")
    )


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
        request=SyncItemSerializer,
        responses={
            201: OpenApiResponse(SyncResultSerializer, description=_("Created.")),
            200: OpenApiResponse(SyncResultSerializer, description=_("Updated, or unchanged.")),
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
        body = SyncResultSerializer(
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


class SyncBatchRequestSerializer(serializers.Serializer):
    """`POST /initiatives/sync/`: the envelope is checked here, each item by
    `registry.sync.upsert`."""

    source = serializers.CharField(  # type: ignore[assignment]
        max_length=60,
        help_text=_("The tool, e.g. jira; an integration token may send only its own."),
    )
    items = serializers.ListField(
        # Items are checked one by one by registry.sync.upsert, so a bad one is reported in its
        # place (and, with "atomic": false, does not hold the others back).
        child=serializers.JSONField(),
        max_length=sync.MAX_BATCH_ITEMS,
        allow_empty=True,
        help_text=_("Up to 5,000 items; external ids must be unique within the batch."),
        error_messages={"max_length": _("A batch holds at most {max_length} items.")},
    )
    atomic = serializers.BooleanField(
        default=True,
        help_text=_(
            "true (default): one bad item refuses the batch (400) and nothing is written. "
            "false: good items are written, bad ones reported."
        ),
    )


@extend_schema_serializer(component_name="SyncBatch")
class SyncBatchRequestSchemaSerializer(SyncBatchRequestSerializer):
    """The same envelope, with the item documented field by field."""

    items = SyncItemSerializer(  # type: ignore[assignment]
        many=True,
        max_length=sync.MAX_BATCH_ITEMS,  # type: ignore[call-arg]
    )


RESULTS = ("created", "updated", "unchanged", "error", "not_written")


class SyncItemErrorSerializer(serializers.Serializer):
    attr = serializers.CharField(
        allow_null=True, help_text=_("The field, e.g. owner or alignments.0.goal.")
    )
    code = serializers.CharField(help_text=_("e.g. required, does_not_exist, gate_not_met."))
    detail = serializers.CharField()


class SyncItemResultSerializer(serializers.Serializer):
    """One item of a batch: what happened to it, or why not."""

    index = serializers.IntegerField(help_text=_("Position in the request's items."))
    external_id = serializers.CharField()
    result = serializers.ChoiceField(
        choices=RESULTS,
        help_text=_("not_written: valid, but an all-or-nothing batch was refused."),
    )
    key = serializers.CharField(allow_null=True)
    url = serializers.URLField(allow_null=True)
    version = serializers.IntegerField(allow_null=True, required=False)
    stage = serializers.ChoiceField(choices=choices.Stage.choices, allow_null=True, required=False)
    gate_gaps = serializers.ListField(
        child=serializers.ChoiceField(choices=choices.Gate.choices), required=False
    )
    overlaps = OverlapsField(
        required=False,
        help_text=_("Join or justify, as for one initiative: the 20 with the best score."),
    )
    overlaps_count = serializers.IntegerField(
        required=False,
        help_text=_("How many open initiatives of other departments it overlaps in all."),
    )
    errors = SyncItemErrorSerializer(many=True, required=False)  # type: ignore[assignment]


class SyncCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    error = serializers.IntegerField()
    not_written = serializers.IntegerField()


class SyncBatchResponseSerializer(serializers.Serializer):
    source = serializers.CharField()  # type: ignore[assignment]
    atomic = serializers.BooleanField()
    written = serializers.BooleanField(help_text=_("Whether anything was written."))
    counts = SyncCountsSerializer()
    items = SyncItemResultSerializer(many=True)


class SyncBatchErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(
        allow_null=True, help_text=_("items.<index>.<field>, or items / source for the batch.")
    )


class SyncBatchRefusedSerializer(serializers.Serializer):
    """400: the standard error shape (every item's errors, `attr` = items.<index>.<field>),
    plus the per-item results when items were checked; `client_error` for a body that is
    no JSON.
    """

    type = serializers.ChoiceField(choices=RequestErrorEnum.choices)
    errors = SyncBatchErrorSerializer(many=True)  # type: ignore[assignment]
    items = SyncItemResultSerializer(many=True, required=False)
    counts = SyncCountsSerializer(required=False)


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
            "number of queries does not grow with the batch, overlaps included (scored in one "
            "statement for the whole batch; each item lists the 20 with the best score and "
            "counts them all)."
        ),
        request=SyncBatchRequestSchemaSerializer,
        responses={
            200: SyncBatchResponseSerializer,
            400: OpenApiResponse(
                SyncBatchRefusedSerializer,
                description=_("The batch or (atomic) one of its items was refused."),
            ),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        envelope = SyncBatchRequestSerializer(data=request.data)
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
        items = SyncItemResultSerializer(
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
        return Response(SyncBatchResponseSerializer(body).data)

    def item_payload(
        self, request: Request, item: sync.ItemResult, overlaps: dict[str, reports.ItemOverlaps]
    ) -> dict[str, Any]:
        data = item.as_dict()
        data["result"] = item.result or "not_written"
        data["url"] = initiative_url(request, item.key)
        if item.ok:
            data.update(overlap_fields(item, overlaps))
        return data
