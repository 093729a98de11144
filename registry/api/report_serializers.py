"""Response shapes of the report endpoints, so the OpenAPI schema documents every field.

The reports (`registry.selectors.reports`) return plain dicts with vocabulary codes; these
serializers
only render them (money as decimal strings, like every other budget in the API) and never
compute anything.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from registry import choices
from registry.quarters import quarter_bounds
from registry.selectors import reports

REPORT_RULES = [reports.RULE_KIND_TOUCHPOINT_JOURNEY, reports.RULE_GOAL_SYSTEM]


def money(**kwargs: Any) -> serializers.DecimalField:
    # Sums of many budgets need more digits than one budget.
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


def nullable_text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(allow_null=True, **kwargs)


# --- parameters ---------------------------------------------------------------------------------


class ReportParametersSerializer(serializers.Serializer):
    """Query parameters every report takes; a bad value is a 400 naming the parameter."""

    vision = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=_("Id of the vision to report on; default: the active vision."),
    )
    period = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=_(
            "A quarter such as 2026-Q4: only initiatives whose dates overlap it. Default: "
            "the whole live portfolio."
        ),
    )

    def validate_period(self, value: str) -> str | None:
        value = value.strip().upper()
        if not value:
            return None
        try:
            quarter_bounds(value)
        except ValueError:
            raise serializers.ValidationError(
                _("'%(value)s' is not a quarter like 2026-Q4.") % {"value": value},
                code="invalid",
            ) from None
        return value


class SystemsParametersSerializer(ReportParametersSerializer):
    min_initiatives = serializers.IntegerField(
        required=False,
        min_value=1,
        default=2,
        help_text=_("List systems used by at least this many open initiatives (default 2)."),
    )


# --- shared pieces ------------------------------------------------------------------------------


class ReportVisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=choices.VisionStatus.choices)


class ReportScopeSerializer(serializers.Serializer):
    """What a report is about: the vision (null when there is no active one) and quarter."""

    vision = ReportVisionSerializer(allow_null=True)
    period = nullable_text(help_text=_("The quarter asked for, or null for the whole portfolio."))


# --- portfolio summary --------------------------------------------------------------------------


class BreakdownRowSerializer(serializers.Serializer):
    code = nullable_text(help_text=_("The vocabulary code, slug or goal code; null: none."))
    name = nullable_text(help_text=_("Department name or goal title where there is one."))
    count = serializers.IntegerField()
    aligned_count = serializers.IntegerField()
    budget_planned = money()
    budget_spent = money()


class PortfolioTotalsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    aligned_count = serializers.IntegerField()
    share_aligned = serializers.FloatField(
        allow_null=True, help_text=_("aligned_count / count, 0–1; null for an empty portfolio.")
    )
    budget_planned = money()
    budget_spent = money()
    budget_planned_unaligned = money(help_text=_("Planned budget of work that serves no goal."))
    budget_spent_unaligned = money()
    coverage_gap_count = serializers.IntegerField(help_text=_("Goals no open initiative serves."))
    currencies = serializers.ListField(child=serializers.CharField())


class PortfolioBreakdownsSerializer(serializers.Serializer):
    """Each breakdown adds up to the totals; vocabularies list every code (zeros included)."""

    stage = BreakdownRowSerializer(many=True)
    kind = BreakdownRowSerializer(many=True)
    lead_department = BreakdownRowSerializer(many=True)
    primary_goal = BreakdownRowSerializer(many=True)
    alignment_level = BreakdownRowSerializer(many=True)
    risk_tier = BreakdownRowSerializer(many=True)
    interaction_mode = BreakdownRowSerializer(many=True)
    currency = BreakdownRowSerializer(many=True)


class PortfolioReportSerializer(ReportScopeSerializer):
    """Counts and budget of the live portfolio by stage, kind, department, goal, alignment
    level, risk tier, interaction mode and currency.
    """

    totals = PortfolioTotalsSerializer()
    breakdowns = PortfolioBreakdownsSerializer()


# --- alignment matrix ---------------------------------------------------------------------------


class MatrixGoalSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    theme = serializers.CharField(allow_blank=True)
    weight = serializers.IntegerField()
    count = serializers.IntegerField()
    budget_planned = money()
    max_strength = serializers.IntegerField(help_text=_("0 (none) to 3 (strong)."))
    alignment_level = serializers.ChoiceField(choices=choices.AlignmentLevel.choices)


class MatrixDepartmentSerializer(serializers.Serializer):
    slug = nullable_text(help_text=_("null: initiatives without a lead department."))
    name = nullable_text()
    count = serializers.IntegerField()
    aligned_count = serializers.IntegerField()
    budget_planned = money()


class MatrixCellSerializer(serializers.Serializer):
    goal = serializers.CharField()
    department = nullable_text()
    count = serializers.IntegerField()
    budget_planned = money()
    max_strength = serializers.IntegerField()
    alignment_level = serializers.ChoiceField(choices=choices.AlignmentLevel.choices)


class MatrixUnalignedSerializer(serializers.Serializer):
    department = nullable_text()
    count = serializers.IntegerField()
    budget_planned = money()


class AlignmentMatrixReportSerializer(ReportScopeSerializer):
    """Goals × lead departments over the open initiatives: the heatmap of who serves what."""

    goals = MatrixGoalSerializer(many=True)
    departments = MatrixDepartmentSerializer(many=True)
    cells = MatrixCellSerializer(many=True)
    unaligned = MatrixUnalignedSerializer(many=True)


# --- goal progress and coverage -----------------------------------------------------------------


class GoalProgressRowSerializer(serializers.Serializer):
    """Each live goal of the vision: baseline, latest measurement, target and the straight
    line from baseline date to target date it should follow.
    """

    code = serializers.CharField()
    title = serializers.CharField()
    theme = serializers.CharField(allow_blank=True)
    # Declared fields leave the class, so `parent` and `source` shadow nothing at run time.
    parent = nullable_text()  # type: ignore[assignment]
    metric = serializers.ChoiceField(choices=choices.Metric.choices)
    unit = serializers.CharField()
    direction = serializers.ChoiceField(choices=choices.Direction.choices)
    weight = serializers.IntegerField()
    baseline = serializers.DecimalField(max_digits=14, decimal_places=4)
    baseline_date = serializers.DateField()
    current = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    current_on = serializers.DateField(allow_null=True)
    target = serializers.DecimalField(max_digits=14, decimal_places=4)
    target_date = serializers.DateField()
    progress_pct = serializers.FloatField(allow_null=True)
    expected_pct = serializers.FloatField()
    on_track = serializers.BooleanField(allow_null=True)
    contributing_count = serializers.IntegerField()
    contributing_keys = serializers.ListField(child=serializers.CharField())


class CoverageGapSerializer(serializers.Serializer):
    """A goal of the vision that no open initiative serves, highest weight first."""

    code = serializers.CharField()
    title = serializers.CharField()
    theme = serializers.CharField(allow_blank=True)
    metric = serializers.ChoiceField(choices=choices.Metric.choices)
    weight = serializers.IntegerField()
    target = serializers.DecimalField(max_digits=14, decimal_places=4)
    target_date = serializers.DateField()
    owner_name = nullable_text()
    owner_email = nullable_text()


# --- initiatives: silos, gate gaps --------------------------------------------------------------


class SiloSerializer(serializers.Serializer):
    """An open initiative whose lead, participating departments and team span one department."""

    key = serializers.CharField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    kind = serializers.ChoiceField(choices=choices.Kind.choices)
    lead_department = nullable_text()
    lead_department_name = nullable_text()
    owner_name = nullable_text()
    owner_email = nullable_text()
    spanned_departments = serializers.IntegerField()
    alignment_level = serializers.ChoiceField(choices=choices.AlignmentLevel.choices)
    budget_planned = money()
    currency = serializers.CharField()


class GateGapSerializer(serializers.Serializer):
    """An open initiative brought in by sync or import at its stage that still lacks the
    evidence that stage's gates ask for.
    """

    key = serializers.CharField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    paused_from = serializers.CharField(allow_blank=True)
    source = serializers.CharField(allow_blank=True)  # type: ignore[assignment]
    external_id = nullable_text()
    imported_from = serializers.CharField(help_text=_("The source that brought it in."))
    lead_department = nullable_text()
    lead_department_name = nullable_text()
    owner_name = nullable_text()
    owner_email = nullable_text()
    gate_gaps = serializers.ListField(
        child=serializers.ChoiceField(choices=choices.Gate.choices),
        help_text=_("The missing evidence, in lifecycle order."),
    )


# --- overlaps -----------------------------------------------------------------------------------


class OverlapMemberSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    lead_department = serializers.CharField()
    lead_department_name = serializers.CharField()


class OverlapGroupReasonSerializer(serializers.Serializer):
    """Same kind, touchpoint and journey stage; or same primary goal and system."""

    rule = serializers.ChoiceField(choices=REPORT_RULES)
    kind = serializers.CharField(required=False)
    touchpoint = serializers.CharField(required=False)
    journey_stage = serializers.CharField(required=False)
    goal = serializers.CharField(required=False)
    system = serializers.CharField(required=False)


class OverlapGroupSerializer(serializers.Serializer):
    """Open initiatives of different lead departments that do the same thing: candidates
    for merging, largest groups first.
    """

    members = OverlapMemberSerializer(many=True)
    departments = serializers.ListField(child=serializers.CharField())
    reasons = OverlapGroupReasonSerializer(many=True)


# --- shared systems -----------------------------------------------------------------------------


class SystemDepartmentSerializer(serializers.Serializer):
    department = nullable_text()
    department_name = nullable_text()
    count = serializers.IntegerField()
    initiatives = serializers.ListField(child=serializers.CharField())


class SharedSystemSerializer(serializers.Serializer):
    """A system many open initiatives use: an integration and data-protection hot spot."""

    slug = serializers.CharField()
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=choices.SystemCategory.choices)
    owner_department = nullable_text()
    contains_personal_data = serializers.BooleanField()
    initiative_count = serializers.IntegerField()
    department_count = serializers.IntegerField()
    by_department = SystemDepartmentSerializer(many=True)


# --- the listing reports: {vision, period, count, results} ---------------------------------------


class GoalProgressReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = GoalProgressRowSerializer(many=True)


class CoverageReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = CoverageGapSerializer(many=True)


class SilosReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = SiloSerializer(many=True)


class OverlapsReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = OverlapGroupSerializer(many=True)


class SystemsReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = SharedSystemSerializer(many=True)


class GateGapsReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = GateGapSerializer(many=True)


class ReportIndexSerializer(serializers.Serializer):
    """Where each report is served."""

    portfolio = serializers.URLField()
    alignment_matrix = serializers.URLField()
    goal_progress = serializers.URLField()
    coverage = serializers.URLField()
    silos = serializers.URLField()
    overlaps = serializers.URLField()
    systems = serializers.URLField()
    gate_gaps = serializers.URLField()
