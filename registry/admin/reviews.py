"""The quarterly review in the admin: reviews and their decisions, each decision recorded
through the review service, which freezes its snapshot; a closed review is a record.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from registry.admin.base import (
    ADMIN_CSS,
    InitiativePartAdminMixin,
    RegistryInline,
    RegistryModelAdmin,
    SaveRefusedError,
)
from registry.choices import (
    ReviewStatus,
)
from registry.i18n.snapshots import snapshot_rows
from registry.models import (
    Initiative,
    Review,
    ReviewDecision,
)
from registry.services import lifecycle, reviews


def _snapshot_html(snapshot: dict | None) -> str:
    if not snapshot:
        return "–"
    rows = snapshot_rows(snapshot)  # labelled and formatted in the reader's language
    return format_html(
        '<dl class="registry-snapshot">{}</dl>',
        format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows),
    )


def _decide(
    request: HttpRequest,
    *,
    review: Review,
    initiative: Initiative,
    decision: str,
    rationale: str,
    replaces: ReviewDecision | None = None,
) -> ReviewDecision:
    """Record a decision through `registry.services.reviews`, which takes the frozen snapshot."""
    try:
        if replaces is not None and replaces.pk and replaces.initiative_id != initiative.pk:
            replaces.delete()
        return reviews.review_decide(
            review=review,
            initiative=initiative,
            decision=decision,
            rationale=rationale,
            actor=request.user,
        )
    except (reviews.ReviewError, lifecycle.TransitionError) as exc:
        raise SaveRefusedError(exc.message, code=exc.code, model=ReviewDecision) from exc


class ReviewDecisionInline(RegistryInline, admin.TabularInline):
    model = ReviewDecision
    fields = ("initiative", "decision", "rationale", "snapshot_display", "decided_at", "decided_by")
    readonly_fields = ("snapshot_display", "decided_at", "decided_by")
    autocomplete_fields = ("initiative",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("initiative", "decided_by")

    @admin.display(description=_("snapshot"))
    def snapshot_display(self, obj: ReviewDecision) -> str:
        return _snapshot_html(obj.snapshot)

    def _open(self, obj: Review | None) -> bool:
        return obj is None or not obj.is_closed

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and self._open(obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._open(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._open(obj)


@admin.register(Review)
class ReviewAdmin(RegistryModelAdmin):
    """Reviews open, decide and close through `registry.services.reviews`; a closed one is a
    record."""

    list_display = ("period", "vision", "status", "held_on", "decision_count", "closed_at")
    list_filter = ("status", "vision")
    list_select_related = ("vision",)
    search_fields = ("period", "summary", "vision__title")
    autocomplete_fields = ("vision",)
    fields = ("vision", "period", "held_on", "summary", "status", "closed_at")
    readonly_fields = ("status", "closed_at", "created_at", "updated_at")
    inlines = (ReviewDecisionInline,)
    actions = ("close_selected",)

    class Media:
        css = ADMIN_CSS

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(decision_total=Count("decisions"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # Vision and quarter identify a review; once opened they stay.
        return readonly if obj is None else ("vision", "period", *readonly)

    @admin.display(description=_("decisions"), ordering="decision_total")
    def decision_count(self, obj: Review) -> int:
        return getattr(obj, "decision_total", 0)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or not obj.is_closed)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or not obj.is_closed)

    def save_model(self, request: HttpRequest, obj: Review, form, change: bool) -> None:
        try:
            if change:
                reviews.review_update(
                    review=obj, actor=request.user, summary=obj.summary, held_on=obj.held_on
                )
                return
            opened = reviews.review_open(
                vision=obj.vision,
                period=obj.period,
                held_on=obj.held_on,
                summary=obj.summary,
                actor=request.user,
            )
        except reviews.ReviewError as exc:
            raise SaveRefusedError(exc.message, code=exc.code, model=Review) from exc
        obj.pk = opened.pk
        obj.status, obj.closed_at = opened.status, opened.closed_at
        obj.created_at, obj.updated_at = opened.created_at, opened.updated_at
        obj._state.adding = False

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not ReviewDecision:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for decision_form in formset.forms:
            if not decision_form.has_changed() or formset._should_delete_form(decision_form):
                continue
            data = decision_form.cleaned_data
            _decide(
                request,
                review=form.instance,
                initiative=data["initiative"],
                decision=data["decision"],
                rationale=data.get("rationale", ""),
                replaces=decision_form.instance if decision_form.instance.pk else None,
            )

    @admin.action(description=_("Close selected reviews"), permissions=["change"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        closed = 0
        for review in queryset.filter(status=ReviewStatus.OPEN):
            try:
                reviews.review_close(review=review, actor=request.user)
            except reviews.ReviewError as exc:
                self.message_user(request, f"{review.period}: {exc.message}", messages.ERROR)
            else:
                closed += 1
        if closed:
            self.message_user(
                request,
                ngettext("Closed %(count)d review.", "Closed %(count)d reviews.", closed)
                % {"count": closed},
                messages.SUCCESS,
            )


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(InitiativePartAdminMixin, RegistryModelAdmin):
    write_path = None  # decisions are the PMO's, by model permission
    list_display = ("review", "initiative", "decision", "decided_at", "decided_by")
    list_filter = ("decision", "review__status", "review__period")
    list_select_related = ("review__vision", "initiative", "decided_by")
    search_fields = ("initiative__key", "initiative__name", "review__period", "rationale")
    autocomplete_fields = ("initiative",)
    fields = (
        "review",
        "initiative",
        "decision",
        "rationale",
        "snapshot_display",
        "decided_at",
        "decided_by",
    )
    readonly_fields = ("snapshot_display", "decided_at", "decided_by")

    class Media:
        css = ADMIN_CSS

    @admin.display(description=_("snapshot"))
    def snapshot_display(self, obj: ReviewDecision) -> str:
        return _snapshot_html(obj.snapshot)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if obj is None else ("review", "initiative", *readonly)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "review":
            kwargs["queryset"] = Review.objects.filter(status=ReviewStatus.OPEN).select_related(
                "vision"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _open(self, obj: ReviewDecision | None) -> bool:
        return obj is None or not obj.review.is_closed

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._open(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._open(obj)

    def save_model(self, request: HttpRequest, obj: ReviewDecision, form, change: bool) -> None:
        record = _decide(
            request,
            review=obj.review,
            initiative=obj.initiative,
            decision=obj.decision,
            rationale=obj.rationale,
        )
        obj.pk = record.pk
        obj.snapshot, obj.decided_at, obj.decided_by = (
            record.snapshot,
            record.decided_at,
            record.decided_by,
        )
        obj._state.adding = False
