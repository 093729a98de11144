"""What every board page shares: who may read it, the vision and quarter it shows, and the
links into the initiative changelist.

The dashboard, the journey page and the review walkthrough all import from here, so that
no board page imports another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import wraps
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry import permissions
from registry.choices import CLOSED_STAGES, AlignmentLevel, Stage
from registry.models import Vision
from registry.quarters import quarter_bounds, quarter_of, quarters_between

# Colours of the alignment levels, as the admin's badges show them.
LEVEL_COLOURS: dict[str, str] = {
    AlignmentLevel.NONE: "#c62828",
    AlignmentLevel.WEAK: "#ef6c00",
    AlignmentLevel.MODERATE: "#9acd32",
    AlignmentLevel.STRONG: "#2e7d32",
}
OPEN_STAGE_CODES = [stage for stage in Stage.values if stage not in CLOSED_STAGES]


# --- access -----------------------------------------------------------------------------------


def reader_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff login through the admin, then any registry role (the board reads too)."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not permissions.can_read(request.user):
            raise PermissionDenied(_("The dashboard is for the registry's roles."))
        return view(request, *args, **kwargs)

    return admin.site.admin_view(checked)


class ActiveInFilter(admin.SimpleListFilter):
    """Initiatives whose dates overlap a quarter (the dashboard's links carry it)."""

    title = gettext_lazy("active in quarter")
    parameter_name = "active_in"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        today = timezone.localdate()
        around = quarters_between(
            today.replace(year=today.year - 1, month=1, day=1),
            today.replace(year=today.year + 1, month=12, day=31),
        )
        chosen = self.value()
        if chosen and chosen not in around:
            around.append(chosen)
        return [(quarter, quarter) for quarter in sorted(around)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if not self.value():
            return None
        try:
            return queryset.active_in(self.value())  # type: ignore[attr-defined]
        except ValueError as error:
            raise IncorrectLookupParameters(str(error)) from error


# --- the choice of vision and quarter ---------------------------------------------------------


class DashboardForm(forms.Form):
    vision = forms.ModelChoiceField(
        queryset=Vision.objects.order_by("-horizon_start", "pk"),
        required=False,
        label=gettext_lazy("Vision"),
        empty_label=None,
    )
    period = forms.CharField(
        required=False,
        label=gettext_lazy("Quarter"),
        help_text=gettext_lazy("Empty: the whole live portfolio."),
    )

    def clean_period(self) -> str | None:
        period = (self.cleaned_data.get("period") or "").strip().upper()
        if not period:
            return None
        try:
            quarter_bounds(period)
        except ValueError:
            raise forms.ValidationError(
                _("'%(value)s' is not a quarter like 2026-Q4.") % {"value": period}
            ) from None
        return period


def chosen_scope(request: HttpRequest) -> tuple[DashboardForm, Vision | None, str | None]:
    """The vision (default: the active one) and quarter (default: this one) of the page."""
    data = request.GET.copy()
    if "period" not in data:
        data["period"] = quarter_of(timezone.localdate())
    if not data.get("vision"):
        active = Vision.objects.active().first()
        if active is not None:
            data["vision"] = str(active.pk)
    form = DashboardForm(data)
    if form.is_valid():
        return form, form.cleaned_data["vision"], form.cleaned_data["period"]
    return form, form.cleaned_data.get("vision"), None


# --- money and links --------------------------------------------------------------------------


def money(value: Decimal | int | float | None, currencies: Iterable[str] = ("EUR",)) -> str:
    """`607,000 EUR`; mixed currencies are summed as stored and said so."""
    codes = list(currencies)
    unit = codes[0] if len(codes) == 1 else _("(mixed currencies)")
    amount = formats.number_format(value or 0, decimal_pos=0, force_grouping=True)
    return f"{amount} {unit}"


def changelist_url(**params: Any) -> str:
    query = QueryDict(mutable=True)
    for name, value in params.items():
        if value not in (None, ""):
            query[name] = str(value)
    return f"{reverse('admin:registry_initiative_changelist')}?{query.urlencode()}"


def lead_department_filter(department_id: int | None) -> dict[str, Any]:
    """The changelist's own filter for a lead department, or for none."""
    if department_id is None:
        return {"lead_department__isnull": "True"}
    return {"lead_department__id__exact": department_id}


def change_url(pk: int | None) -> str | None:
    return reverse("admin:registry_initiative_change", args=[pk]) if pk else None
