"""The initiative changelist's quick filters: the portfolio's warning flags as list filters,
and a row of chips above the results that sets them with one click.

The stock sidebar put "Alignment level: None" some 1,700 px down the page, under every
department and goal; the questions a review starts from (what serves no goal, what overlaps,
what is a silo, what was imported without its evidence, what is high-risk) are one click
from the top instead. Each chip is a link to a real filter of the changelist, so it combines
with the sidebar, the search and the export buttons; the rules come from
`registry.selectors.flags`, the ones the dashboard's lists use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from registry.choices import AlignmentLevel, RiskTier
from registry.selectors import flags


class _YesNoFilter(admin.SimpleListFilter):
    """A flag: `yes` keeps the flagged initiatives, `no` the others; anything else is a 400."""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def flagged(self, request: HttpRequest) -> QuerySet:
        raise NotImplementedError

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        if value is None:
            return None
        if value not in ("yes", "no"):
            raise IncorrectLookupParameters(value)
        flagged_ids = self.flagged(request).values("pk")
        if value == "yes":
            return queryset.filter(pk__in=flagged_ids)
        return queryset.exclude(pk__in=flagged_ids)


class SiloFilter(_YesNoFilter):
    """Open initiatives whose lead, participating departments and team are one department."""

    title = _("silo")
    parameter_name = "silo"

    def flagged(self, request: HttpRequest) -> QuerySet:
        return flags.silo_initiatives(user=request.user, period=None)


class GateGapFilter(_YesNoFilter):
    """Open initiatives imported at a stage whose evidence they still lack."""

    title = _("imported with gate gaps")
    parameter_name = "gate_gaps"

    def flagged(self, request: HttpRequest) -> QuerySet:
        return flags.gate_gap_initiatives(user=request.user, period=None)


class OverlapFilter(_YesNoFilter):
    """Open initiatives in an overlap group (two departments building the same thing)."""

    title = _("overlap")
    parameter_name = "overlap"

    def flagged(self, request: HttpRequest) -> QuerySet:
        return flags.overlap_initiatives(user=request.user)


@dataclass(frozen=True)
class Chip:
    """One quick filter: its label and the changelist parameters it sets."""

    label: Any
    params: dict[str, str]


QUICK_FILTERS: tuple[Chip, ...] = (
    Chip(_("Serving no goal"), {"alignment": AlignmentLevel.NONE}),
    Chip(_("Weakly aligned"), {"alignment": AlignmentLevel.WEAK}),
    Chip(_("Strongly aligned"), {"alignment": AlignmentLevel.STRONG}),
    Chip(_("Overlaps"), {"overlap": "yes"}),
    Chip(_("Silos"), {"silo": "yes"}),
    Chip(_("Gate gaps"), {"gate_gaps": "yes"}),
    Chip(_("High risk"), {"risk_tier__exact": RiskTier.HIGH}),
    Chip(_("Prohibited"), {"risk_tier__exact": RiskTier.PROHIBITED}),
)


def quick_filter_chips(changelist: Any) -> list[dict[str, Any]]:
    """The chips for a changelist: label, link (keeping every other filter), selected; a
    selected chip's link removes it again."""
    current = changelist.params
    chips = []
    for chip in QUICK_FILTERS:
        selected = all(current.get(name) in (value, [value]) for name, value in chip.params.items())
        if selected:
            query = changelist.get_query_string(remove=list(chip.params))
        else:
            query = changelist.get_query_string(new_params=dict(chip.params))
        chips.append({"label": chip.label, "url": query, "selected": selected})
    return chips


class QuickFiltersMixin(admin.ModelAdmin):
    """Puts the chips on the changelist (`cl.quick_filters`) for the template to show."""

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        changelist.quick_filters = quick_filter_chips(changelist)
        return changelist


__all__ = [
    "QUICK_FILTERS",
    "QuickFiltersMixin",
    "GateGapFilter",
    "OverlapFilter",
    "SiloFilter",
    "quick_filter_chips",
]
