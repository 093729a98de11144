"""Voice reviews and learnings in the admin: inlines on the initiative page, and the learning
library's changelist (full-text search, filters by outcome, kind, touchpoint and quarter).

Writes go through `registry.services.learning` (who records, which initiatives); rows are
narrowed by `registry.selectors.visibility` like every other part of an initiative.
Voice reviews are records (added, never edited or deleted); learnings are corrected, never
deleted.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from registry import choices, permissions
from registry.admin.base import (
    InitiativeChildInline,
    InitiativePartAdminMixin,
    RegistryModelAdmin,
    SaveRefusedError,
)
from registry.models import Learning, VoiceReview
from registry.permissions import Actor
from registry.quarters import quarter_of
from registry.selectors import learning as selectors
from registry.services.errors import RefusedError
from registry.services.learning import learning_record, learning_update, voice_review_record


def _refused(refused: RefusedError, model: type) -> SaveRefusedError:
    return SaveRefusedError(refused.message, code=refused.code, model=model, field=refused.field)


class _OnSavedInitiativeInline(InitiativeChildInline):
    """Shown once the initiative exists; its new rows saved through a service (`save_rows`)."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and super().has_view_permission(request, obj)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any):
        formset_class = super().get_formset(request, obj, **kwargs)
        formset_class.save_rows = self.save_rows  # type: ignore[attr-defined]
        return formset_class

    def save_rows(self, request: HttpRequest, formset: Any) -> None:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        try:
            for child in formset.forms:
                if child in formset.deleted_forms or not child.has_changed():
                    continue
                formset.new_objects.append(self.save_row(request, formset.instance, child))
        except RefusedError as refused:
            raise _refused(refused, self.model) from refused

    def save_row(self, request: HttpRequest, initiative: Any, child: Any) -> Any:
        raise NotImplementedError


class VoiceReviewInline(_OnSavedInitiativeInline, admin.TabularInline):
    """The PMO records how a customer-facing AI speaks; earlier reviews stay as they were."""

    model = VoiceReview
    fields = ("reviewed_at", "outcome", "note", "reviewer_name")
    readonly_fields = ("reviewer_name",)
    ordering = ("-reviewed_at", "-id")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_record_voice_review(request.user) and super().has_add_permission(
            request, obj
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_row(self, request: HttpRequest, initiative: Any, child: Any) -> Any:
        data = child.cleaned_data
        return voice_review_record(
            actor=Actor(user=request.user),
            initiative=initiative,
            outcome=data["outcome"],
            note=data.get("note", ""),
            reviewed_at=data.get("reviewed_at"),
        )


class LearningInline(_OnSavedInitiativeInline, admin.StackedInline):
    """What the initiative's pilot taught; corrected on the learning's own page."""

    model = Learning
    fields = (("outcome", "recorded_on"), "hypothesis", "effect", "lesson", "review_decision")
    # An id, not a list of every decision of every review.
    raw_id_fields = ("review_decision",)
    ordering = ("-recorded_on", "-id")
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_row(self, request: HttpRequest, initiative: Any, child: Any) -> Any:
        data = {name: child.cleaned_data.get(name) for name in child._meta.fields or ()}
        data = {name: value for name, value in data.items() if value is not None}
        return learning_record(actor=Actor(user=request.user), initiative=initiative, data=data)


class QuarterFilter(admin.SimpleListFilter):
    title = _("quarter")
    parameter_name = "quarter"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (row["period"], row["period"])
            for row in selectors.learning_outcomes_by_quarter(request.user, quarters=8)
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        try:
            return selectors.in_quarter(queryset, value)
        except ValueError:
            return queryset.none()


class TouchpointFilter(admin.SimpleListFilter):
    title = _("touchpoint")
    parameter_name = "touchpoint"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(choices.Touchpoint.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value not in choices.Touchpoint.values:
            return queryset
        return queryset.filter(initiative__touchpoints__contains=[value])


@admin.register(Learning)
class LearningAdmin(InitiativePartAdminMixin, RegistryModelAdmin):
    """The learning library: what pilots, stopped initiatives and review decisions taught."""

    list_display = ("recorded_on", "quarter", "initiative", "outcome", "hypothesis_short")
    list_filter = ("outcome", QuarterFilter, "initiative__kind", TouchpointFilter)
    list_select_related = ("initiative",)
    search_fields = ("initiative__key",)
    search_help_text = _("Full text over hypothesis, effect and lesson, or an initiative's key.")
    autocomplete_fields = ("initiative",)
    raw_id_fields = ("review_decision",)
    readonly_fields = ("recorded_by", "version", "created_at", "updated_at")
    fields = (
        "initiative",
        "review_decision",
        ("outcome", "recorded_on"),
        "hypothesis",
        "effect",
        "lesson",
        "recorded_by",
        "version",
    )

    @admin.display(description=_("quarter"), ordering="recorded_on")
    def quarter(self, obj: Learning) -> str:
        return quarter_of(obj.recorded_on)

    @admin.display(description=_("hypothesis"))
    def hypothesis_short(self, obj: Learning) -> str:
        return obj.hypothesis if len(obj.hypothesis) <= 80 else obj.hypothesis[:79] + "…"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        by_key = queryset.filter(initiative__key__iexact=term)
        matches = selectors.search_learnings(queryset, term).values("pk")
        return queryset.filter(pk__in=matches) | by_key, False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "initiative") if obj is not None else readonly

    def may_write(self, request: HttpRequest, obj: Any) -> bool:
        return permissions.can_record_learning(request.user, obj.initiative)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Learning, form: Any, change: bool) -> None:
        actor = Actor(user=request.user)
        names = [n for n in form._meta.fields or () if n in form.cleaned_data]
        try:
            if change:
                data = {n: form.cleaned_data[n] for n in names if n in form.changed_data}
                stored = Learning.objects.get(pk=obj.pk)
                row = learning_update(actor=actor, learning=stored, data=data)
            else:
                data = {n: form.cleaned_data[n] for n in names if n != "initiative"}
                row = learning_record(
                    actor=actor, initiative=form.cleaned_data["initiative"], data=data
                )
        except RefusedError as refused:
            raise _refused(refused, Learning) from refused
        obj.pk = row.pk
        obj._state.adding = False
        for field in Learning._meta.concrete_fields:
            if field.name != "search_vector":
                setattr(obj, field.attname, getattr(row, field.attname))


def tell_similar_learnings(model_admin: Any, request: HttpRequest, initiative: Any) -> None:
    """At intake and on each save ("join or justify"): what earlier pilots like this one
    taught, as a message above the form."""
    found = selectors.similar_learnings(request.user, initiative)
    if not found["count"]:
        return
    items = format_html_join(
        "",
        "<li>{} · {}: {}</li>",
        ((row.initiative.key, row.get_outcome_display(), row.lesson) for row in found["results"]),
    )
    model_admin.message_user(
        request,
        format_html(
            '{} {} <ul class="registry-similar-learnings">{}</ul>',
            _("Before you start: what earlier pilots like %(key)s taught.")
            % {"key": initiative.key},
            found["summary"],
            items,
        ),
        messages.INFO,
    )
