"""Admins of the strategy: visions with their proactive stance, CX goals with their progress
(and the journey cells they name), and measurements.

The stance is written through `registry.services.strategy` (PMO only, row lock, version,
history), row by row from the vision's inline, like an initiative's parts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from registry.admin.base import (
    RegistryAdminForm,
    RegistryInline,
    RegistryModelAdmin,
    SaveRefusedError,
)
from registry.choices import JourneyStage, Touchpoint
from registry.models import (
    Goal,
    GoalQuerySet,
    Measurement,
    ProactiveStance,
    Vision,
)
from registry.permissions import Actor
from registry.services.errors import RefusedError
from registry.services.strategy import stance_delete, stance_save


class ProactiveStanceInline(RegistryInline, admin.TabularInline):
    model = ProactiveStance
    fields = ("touchpoint", "journey_stage", "stance", "rationale")
    ordering = ("touchpoint", "journey_stage")
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 50})}
    }


def save_stances(request: HttpRequest, formset: Any) -> None:
    """The vision's stance inline, row by row through the stance service."""
    actor = Actor(user=request.user)
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    try:
        for child in formset.deleted_forms:
            if child.instance.pk is not None:
                stance_delete(actor=actor, stance=child.instance)
                formset.deleted_objects.append(child.instance)
        for child in formset.forms:
            if child in formset.deleted_forms or not child.has_changed():
                continue
            new = child.instance.pk is None
            data = {
                name: child.cleaned_data[name]
                for name in ProactiveStanceInline.fields
                if name in child.cleaned_data
            }
            data["vision"] = formset.instance
            row = stance_save(actor=actor, stance=None if new else child.instance, data=data)
            if new:
                formset.new_objects.append(row)
            else:
                formset.changed_objects.append((row, child.changed_data))
    except RefusedError as refused:
        raise SaveRefusedError(
            refused.message, code=refused.code, model=ProactiveStance, field=refused.field
        ) from refused


@admin.register(Vision)
class VisionAdmin(RegistryModelAdmin):
    list_display = ("title", "status", "horizon_start", "horizon_end", "executive_sponsor")
    list_filter = ("status",)
    list_select_related = ("executive_sponsor",)
    search_fields = ("title", "statement")
    autocomplete_fields = ("executive_sponsor",)
    readonly_fields = ("created_at", "updated_at")
    inlines = (ProactiveStanceInline,)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is ProactiveStance:
            save_stances(request, formset)
            return
        super().save_formset(request, form, formset, change)


class MeasurementInline(RegistryInline, admin.TabularInline):
    model = Measurement
    fields = ("observed_on", "value", "source", "note")
    ordering = ("-observed_on",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("goal")


def _number(value: Decimal) -> str:
    """`20` rather than `20.0000` or `2E+1`."""
    return format(value.normalize(), "f")


class GoalAdminForm(RegistryAdminForm):
    """Checkbox lists for the journey cells a goal names."""

    touchpoints = forms.TypedMultipleChoiceField(
        label=_("touchpoints"),
        choices=Touchpoint.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    journey_stages = forms.TypedMultipleChoiceField(
        label=_("journey stages"),
        choices=JourneyStage.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


@admin.register(Goal)
class GoalAdmin(RegistryModelAdmin):
    form = GoalAdminForm
    list_display = (
        "code",
        "title",
        "vision",
        "metric",
        "baseline_value",
        "current_value",
        "target_value",
        "progress_percent",
        "target_date",
    )
    list_filter = ("vision__status", "vision", "metric", "direction", "theme")
    list_select_related = ("vision",)
    search_fields = ("code", "title", "theme")
    autocomplete_fields = ("vision", "parent", "owner")
    inlines = (MeasurementInline,)
    fieldsets = (
        (None, {"fields": ("vision", "parent", "code", "title", "theme", "owner", "weight")}),
        (
            _("Metric"),
            {
                "fields": (
                    "metric",
                    "unit",
                    "direction",
                    ("baseline", "baseline_date"),
                    ("target", "target_date"),
                    ("current_value", "progress_percent"),
                )
            },
        ),
        (_("Customer journey"), {"fields": ("touchpoints", "journey_stages")}),
        (
            _("Record"),
            {
                "classes": ("collapse",),
                "fields": ("version", "archived_at", "created_at", "updated_at"),
            },
        ),
    )
    readonly_fields = (
        "current_value",
        "progress_percent",
        "version",
        "archived_at",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return cast(GoalQuerySet, super().get_queryset(request)).with_progress()

    @admin.display(description=_("baseline"), ordering="baseline")
    def baseline_value(self, obj: Goal) -> str:
        return f"{_number(obj.baseline)} {obj.unit}"

    @admin.display(description=_("target"), ordering="target")
    def target_value(self, obj: Goal) -> str:
        return f"{_number(obj.target)} {obj.unit}"

    @admin.display(description=_("current"), ordering="current")
    def current_value(self, obj: Goal) -> Any:
        current = getattr(obj, "current", None)
        if current is None:
            return "–"
        observed_on = getattr(obj, "current_on", "")
        return format_html("{} {} <small>({})</small>", _number(current), obj.unit, observed_on)

    @admin.display(description=_("progress"), ordering="progress")
    def progress_percent(self, obj: Goal) -> str:
        progress = getattr(obj, "progress", None)
        if progress is None:
            return "–"
        return f"{progress * 100:.0f} %"

    def save_model(self, request: HttpRequest, obj: Goal, form, change: bool) -> None:
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)


@admin.register(Measurement)
class MeasurementAdmin(RegistryModelAdmin):
    list_display = ("goal", "observed_on", "value", "source")
    list_filter = (("goal", admin.RelatedOnlyFieldListFilter), "observed_on")
    list_select_related = ("goal",)
    search_fields = ("goal__code", "goal__title", "source")
    autocomplete_fields = ("goal",)
    date_hierarchy = "observed_on"
    readonly_fields = ("created_at",)
