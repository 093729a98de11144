"""The quarterly review in the admin: go through the initiatives one by one and decide, close
the review, compare it with the previous one, print the board summary, export it.

Thin pages over `registry.services.reviews` (open, decide with snapshot and lifecycle move, close,
compare): a closed review is shown read-only and every write to it is refused there.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from registry import permissions
from registry.board.scope import money, reader_view
from registry.choices import Decision, Gate, Stage
from registry.i18n.labels import export_value, move_label
from registry.models import Initiative, Review, ReviewDecision, Vision
from registry.selectors import reports
from registry.selectors.reviews import (
    comparison_visible_to,
    review_compare,
    review_initiatives,
    undecided_keys,
)
from registry.selectors.visibility import visible_initiatives
from registry.services import lifecycle, reviews
from registry.spreadsheets.cells import xlsx_text
from registry.spreadsheets.xlsx_locale import format_cells

DECISION_ORDER = list(Decision.values)


def writer_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The review's writes (open, decide, close) are the PMO's, as in the API."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not permissions.can_write_reference_data(request.user):
            raise PermissionDenied(_("Only the PMO opens, decides and closes reviews."))
        return view(request, *args, **kwargs)

    return reader_view(checked)


def review_url(review: Review, initiative: str | None = None) -> str:
    url = reverse("registry_board:review", args=[review.pk])
    return f"{url}?initiative={initiative}" if initiative else url


def _rows(review: Review, user: Any) -> list[Initiative]:
    """The review's initiatives the user may see, with derived values, decision and snapshot."""
    decisions = ReviewDecision.objects.filter(review=review, initiative=OuterRef("pk"))
    return list(
        review_initiatives(review, user=user).annotate(
            snapshot=Subquery(decisions.values("snapshot")[:1], output_field=models.JSONField()),
            decided_by_name=Subquery(decisions.values("decided_by__username")[:1]),
        )
    )


# --- forms ------------------------------------------------------------------------------------


class DecisionForm(forms.Form):
    initiative = forms.CharField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"), choices=Decision.choices, widget=forms.RadioSelect
    )
    rationale = forms.CharField(
        label=gettext_lazy("Rationale"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    apply_move = forms.BooleanField(
        label=gettext_lazy("Also make the move (scale, pause or stop) through the lifecycle gates"),
        required=False,
    )
    note = forms.CharField(
        label=gettext_lazy("Note for the move"),
        required=False,
        help_text=gettext_lazy("Pausing and stopping need one; default: the rationale."),
    )


class CloseForm(forms.Form):
    summary = forms.CharField(
        label=gettext_lazy("Summary for the record"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    held_on = forms.DateField(
        label=gettext_lazy("Held on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class OpenReviewForm(forms.Form):
    vision = forms.ModelChoiceField(queryset=Vision.objects.all())
    period = forms.CharField()


# --- the review page --------------------------------------------------------------------------


def _context(request: HttpRequest, title: str, review: Review, **extra: Any) -> dict[str, Any]:
    return {
        **admin.site.each_context(request),
        "title": title,
        "review": review,
        "opts": Review._meta,
        "may_write": permissions.can_write_reference_data(request.user) and not review.is_closed,
        **extra,
    }


def _current(rows: list[Initiative], key: str | None) -> Initiative | None:
    if key:
        found = next((row for row in rows if row.key == key), None)
        if found is None:
            raise Http404(_("%(key)s is not part of this review.") % {"key": key})
        return found
    undecided = (row for row in rows if row.decision is None)  # type: ignore[attr-defined]
    return next(undecided, rows[0] if rows else None)


def _facts(row: Initiative, user: Any) -> dict[str, Any]:
    """What the board looks at for the one initiative on screen: once decided, the frozen
    snapshot (as the board saw it); before, the initiative as it stands.
    """
    snap = row.snapshot or {}  # type: ignore[attr-defined]
    has_primary = row.primary_goal_id is not None  # type: ignore[attr-defined]
    live_progress = row.goal_progress  # type: ignore[attr-defined]
    if snap:
        progress = (snap.get("goal_progress") or {}).get("progress_pct")
        stage = snap.get("stage") or row.stage
        owner = (snap.get("owner") or {}).get("name")
    else:
        progress = None if live_progress is None else round(float(live_progress) * 100, 1)
        stage = row.stage
        owner = row.owner.name if row.owner else None
    currency = snap.get("currency") or row.currency
    return {
        "from_snapshot": bool(snap),
        "stage": Stage(stage).label if stage in Stage.values else stage,
        "stage_now": Stage(row.stage).label if snap and stage != row.stage else None,
        "alignment_level": snap.get("alignment_level", row.alignment_level),  # type: ignore[attr-defined]
        "primary_goal": snap.get("primary_goal", row.primary_goal_code),  # type: ignore[attr-defined]
        "goal_progress_pct": progress,
        "owner": owner,
        "budget": money(Decimal(str(snap.get("budget_planned", row.budget_planned))), [currency]),
        "spent": money(Decimal(str(snap.get("budget_spent", row.budget_spent))), [currency]),
        "is_silo": snap.get("is_silo", row.is_silo),  # type: ignore[attr-defined]
        "risk_tier": snap.get("risk_tier", row.risk_tier),
        "gate_gaps": [
            str(Gate(gap).label)
            for gap in lifecycle.gate_gaps(row, has_primary_alignment=has_primary)
        ],
        "overlaps": reports.overlaps_for(row, user=user),
        "scale_to": (
            str(Stage(reviews.SCALE_MOVES[row.stage]).label)
            if row.stage in reviews.SCALE_MOVES
            else None
        ),
        "change_url": reverse("admin:registry_initiative_change", args=[row.pk]),
    }


def _render_review(
    request: HttpRequest,
    review: Review,
    *,
    key: str | None = None,
    form: DecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = _rows(review, request.user)
    current = _current(rows, key)
    index = rows.index(current) if current is not None else -1
    decided = sum(row.decision is not None for row in rows)  # type: ignore[attr-defined]
    if form is None and current is not None:
        form = DecisionForm(
            initial={
                "initiative": current.key,
                "decision": current.decision,  # type: ignore[attr-defined]
                "rationale": current.rationale or "",  # type: ignore[attr-defined]
            }
        )
    undecided = undecided_keys(review) if not review.is_closed else []
    context = _context(
        request,
        _("Review %(period)s") % {"period": review.period},
        review,
        rows=rows,
        current=current,
        facts=_facts(current, request.user) if current is not None else None,
        previous_key=rows[index - 1].key if index > 0 else None,
        next_key=rows[index + 1].key if 0 <= index < len(rows) - 1 else None,
        position=index + 1,
        decided=decided,
        undecided_count=len(undecided),
        form=form,
        close_form=CloseForm(initial={"held_on": review.held_on or timezone.localdate()}),
    )
    return render(request, "registry/review/review.html", context, status=status)


@require_GET
def review_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One initiative at a time (`?initiative=AI-0042`; default: the first undecided)."""
    review = get_object_or_404(Review.objects.select_related("vision"), pk=pk)
    return _render_review(request, review, key=request.GET.get("initiative") or None)


@require_POST
def review_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(Review.objects.select_related("vision"), pk=pk)
    form = DecisionForm(request.POST)
    key = request.POST.get("initiative") or None
    if review.is_closed:
        messages.error(
            request,
            _("The %(period)s review is closed; it can no longer change.")
            % {"period": review.period},
        )
        return HttpResponseRedirect(review_url(review, key))
    if not form.is_valid():
        return _render_review(request, review, key=key, form=form, status=400)
    initiative = visible_initiatives(request.user).filter(key=key).first()
    if initiative is None:
        raise Http404(_("No initiative %(key)s.") % {"key": key})
    data = form.cleaned_data
    try:
        decision = reviews.review_decide(
            review=review,
            initiative=initiative,
            decision=data["decision"],
            rationale=data["rationale"],
            apply_move=data["apply_move"],
            note=data["note"],
            actor=request.user,
        )
    except (reviews.ReviewError, lifecycle.TransitionError) as error:
        form.add_error(None, error.message)
        return _render_review(request, review, key=key, form=form, status=409)
    moved = decision.snapshot.get("applied_move")
    text = _("%(key)s: %(decision)s.") % {"key": key, "decision": decision.get_decision_display()}
    if moved:
        text += " " + _("Moved from %(from)s to %(to)s.") % {
            "from": Stage(moved["from"]).label,
            "to": Stage(moved["to"]).label,
        }
    messages.success(request, text)
    keys = [row.key for row in _rows(review, request.user) if row.decision is None]  # type: ignore[attr-defined]
    following = next((k for k in keys if k > (key or "")), keys[0] if keys else key)
    return HttpResponseRedirect(review_url(review, following))


@require_POST
def review_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(Review, pk=pk)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return HttpResponseRedirect(review_url(review))
    try:
        reviews.review_close(
            review=review,
            actor=request.user,
            summary=form.cleaned_data["summary"],
            held_on=form.cleaned_data["held_on"],
        )
    except reviews.ReviewError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The %(period)s review is closed: it is now a record and never changes.")
            % {"period": review.period},
        )
    return HttpResponseRedirect(review_url(review))


@require_POST
def review_open_view(request: HttpRequest) -> HttpResponse:
    form = OpenReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a vision and a quarter."))
        return HttpResponseRedirect(reverse("registry_board:dashboard"))
    try:
        review = reviews.review_open(
            vision=form.cleaned_data["vision"],
            period=form.cleaned_data["period"].strip().upper(),
            actor=request.user,
        )
    except reviews.ReviewError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(reverse("registry_board:dashboard"))
    messages.success(request, _("The %(period)s review is open.") % {"period": review.period})
    return HttpResponseRedirect(review_url(review))


# --- compare ----------------------------------------------------------------------------------


def _comparison(request: HttpRequest, review: Review) -> tuple[dict[str, Any], list[Review]]:
    others = list(
        Review.objects.filter(vision_id=review.vision_id).exclude(pk=review.pk).order_by("-period")
    )
    raw = request.GET.get("previous", "")
    previous = next((r for r in others if str(r.pk) == raw), None) if raw else None
    comparison = review_compare(review=review, previous=previous)
    return comparison_visible_to(comparison, user=request.user), others


@require_GET
def review_compare_view(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(Review.objects.select_related("vision"), pk=pk)
    comparison, others = _comparison(request, review)
    return render(
        request,
        "registry/review/compare.html",
        _context(
            request,
            _("Review %(period)s compared") % {"period": review.period},
            review,
            comparison=comparison,
            others=others,
        ),
    )


# --- the board summary and exports ------------------------------------------------------------

EXPORT_COLUMNS: list[tuple[str, Any]] = [
    ("key", gettext_lazy("Key")),
    ("name", gettext_lazy("Initiative")),
    ("decision", gettext_lazy("Decision")),
    ("rationale", gettext_lazy("Rationale")),
    ("applied_move", gettext_lazy("Move applied")),
    ("stage", gettext_lazy("Stage")),
    ("alignment_level", gettext_lazy("Alignment")),
    ("primary_goal", gettext_lazy("Primary goal")),
    ("goal_progress_pct", gettext_lazy("Goal progress %")),
    ("lead_department", gettext_lazy("Lead department")),
    ("owner", gettext_lazy("Owner")),
    ("budget_planned", gettext_lazy("Planned budget")),
    ("budget_spent", gettext_lazy("Budget spent")),
    ("currency", gettext_lazy("Currency")),
    ("risk_tier", gettext_lazy("Risk tier")),
    ("is_silo", gettext_lazy("Silo")),
    ("decided_at", gettext_lazy("Decided at")),
    ("decided_by", gettext_lazy("Decided by")),
]


def export_rows(review: Review, user: Any) -> list[dict[str, Any]]:
    """One row per initiative: as the board saw it when deciding (the frozen snapshot), or as
    it stands now while it is still undecided.
    """
    rows = []
    for row in _rows(review, user):
        snap = row.snapshot or {}  # type: ignore[attr-defined]
        progress = (snap.get("goal_progress") or {}).get("progress_pct")
        if not snap and row.goal_progress is not None:  # type: ignore[attr-defined]
            progress = round(float(row.goal_progress) * 100, 2)  # type: ignore[attr-defined]
        owner = snap.get("owner") if snap else None
        moved = snap.get("applied_move")
        rows.append(
            {
                "key": row.key,
                "name": snap.get("name") or row.name,
                "decision": row.decision or "",  # type: ignore[attr-defined]
                "rationale": row.rationale or "",  # type: ignore[attr-defined]
                "applied_move": move_label(moved),  # stage labels, in the reader's language
                "stage": snap.get("stage", row.stage),
                "alignment_level": snap.get("alignment_level", row.alignment_level),  # type: ignore[attr-defined]
                "primary_goal": snap.get("primary_goal", row.primary_goal_code) or "",  # type: ignore[attr-defined]
                "goal_progress_pct": progress,
                "lead_department": snap.get(
                    "lead_department", row.lead_department.slug if row.lead_department else None
                )
                or "",
                "owner": (owner or {}).get("name")
                if snap
                else (row.owner.name if row.owner else ""),
                "budget_planned": snap.get("budget_planned", str(row.budget_planned)),
                "budget_spent": snap.get("budget_spent", str(row.budget_spent)),
                "currency": snap.get("currency", row.currency),
                "risk_tier": snap.get("risk_tier", row.risk_tier),
                "is_silo": snap.get("is_silo", row.is_silo),  # type: ignore[attr-defined]
                "decided_at": row.decided_at,  # type: ignore[attr-defined]
                "decided_by": row.decided_by_name or "",  # type: ignore[attr-defined]
            }
        )
    return rows


def _filename(review: Review, extension: str) -> str:
    return f"review-{review.period}.{extension}"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, str | Promise):
        return xlsx_text(value)  # never a formula (registry.spreadsheets.cells)
    return value


@require_GET
def review_export_csv(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(Review, pk=pk)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(str(label)) for _name, label in EXPORT_COLUMNS])
    for row in export_rows(review, request.user):
        writer.writerow([_cell(export_value(name, row[name])) for name, _label in EXPORT_COLUMNS])
    response = HttpResponse(
        ("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(review, "csv")}"'
    return response


@require_GET
def review_export_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    review = get_object_or_404(Review.objects.select_related("vision"), pk=pk)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = review.period
    sheet.append([_cell(str(label)) for _name, label in EXPORT_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    numeric = {"budget_planned", "budget_spent", "goal_progress_pct"}
    for row in export_rows(review, request.user):
        sheet.append(
            [
                float(row[name])
                if name in numeric and row[name] not in (None, "")
                else _cell(export_value(name, row[name]))
                for name, _label in EXPORT_COLUMNS
            ]
        )
    # Amounts, percentages and dates in the formats of the reader's language.
    kinds = {
        index: "percent" if name == "goal_progress_pct" else "money"
        for index, (name, _label) in enumerate(EXPORT_COLUMNS, start=1)
        if name in numeric
    }
    format_cells(sheet.iter_rows(min_row=2), kinds)
    sheet.freeze_panes = "C2"
    for index, (name, _label) in enumerate(EXPORT_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = (
            40 if name in ("name", "rationale") else 16
        )
    about = workbook.create_sheet(_("About"))
    for label, value in (
        (_("Vision"), review.vision.title),
        (_("Quarter"), review.period),
        (_("Status"), review.get_status_display()),
        (_("Held on"), review.held_on),
        (_("Summary"), review.summary),
    ):
        about.append([_cell(label), _cell(value)])
    format_cells(about.iter_rows())
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(review, "xlsx")}"'
    return response


@require_GET
def review_summary(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable board summary: decisions by kind, with what changed since last quarter."""
    review = get_object_or_404(Review.objects.select_related("vision"), pk=pk)
    rows = export_rows(review, request.user)
    groups: list[dict[str, Any]] = []
    for decision in DECISION_ORDER:
        members = [row for row in rows if row["decision"] == decision]
        if members:
            groups.append(
                {"decision": decision, "label": Decision(decision).label, "rows": members}
            )
    undecided = [row for row in rows if not row["decision"]]
    comparison, _others = _comparison(request, review)
    return render(
        request,
        "registry/review/summary.html",
        {
            "review": review,
            "groups": groups,
            "undecided": undecided,
            "counts": [(group["label"], len(group["rows"])) for group in groups],
            "comparison": comparison,
            "printed_at": timezone.localtime(),
        },
    )
