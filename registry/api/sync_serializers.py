"""Request and response bodies of the sync endpoints, for the OpenAPI schema.

`registry.sync.upsert` validates items itself (so a batch can answer item by item, and the importer
gets the same rules); these serializers describe the bodies exactly and render the answers.
Only the batch envelope (`source`, `items`, `atomic`) is validated here.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from drf_standardized_errors.openapi_serializers import ValidationErrorEnum
from rest_framework import serializers

from registry import choices
from registry.api.serializers import OverlapSerializer
from registry.sync import upsert as sync

RESULTS = ("created", "updated", "unchanged", "error", "not_written")

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
STRENGTH_SCHEMA = {
    "oneOf": [
        {"type": "integer", "enum": [1, 2, 3]},
        {"type": "string", "enum": ["weak", "moderate", "strong"]},
    ],
    "description": "1/weak, 2/moderate (default) or 3/strong.",
}


@extend_schema_field(OWNER_SCHEMA)
class OwnerField(serializers.JSONField):
    """An e-mail, or {email, name} to create the person when unknown."""


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
    tags = _list_of(serializers.CharField(), _("Tag names."))
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


class SyncItemErrorSerializer(serializers.Serializer):
    attr = serializers.CharField(
        allow_null=True, help_text=_("The field, e.g. owner or alignments.0.goal.")
    )
    code = serializers.CharField(help_text=_("e.g. required, does_not_exist, gate_not_met."))
    detail = serializers.CharField()


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
            "(created and updated items; empty when unchanged), the first 20 by key."
        ),
    )
    overlaps_count = serializers.IntegerField(
        help_text=_("How many open initiatives of other departments it overlaps in all.")
    )


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
        help_text=_("Join or justify, as for one initiative: the first 20 by key."),
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
    plus the per-item results when items were checked.
    """

    type = serializers.ChoiceField(choices=ValidationErrorEnum.choices)
    errors = SyncBatchErrorSerializer(many=True)  # type: ignore[assignment]
    items = SyncItemResultSerializer(many=True, required=False)
    counts = SyncCountsSerializer(required=False)
