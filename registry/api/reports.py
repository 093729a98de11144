"""The report endpoints: `/api/v1/reports/<report>/`, as JSON or CSV.

Thin: each endpoint validates `vision` and `period`, calls the report in
`registry.selectors.reports`
with the requesting user (confidential initiatives count only for those who may see them),
renders it through its response serializer and, for `?format=csv` / `Accept: text/csv`,
flattens it into one row per figure, initiative or member.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from registry import choices
from registry.api.core.fields import NullableChoiceField
from registry.api.core.permissions import ReadOnly
from registry.api.core.renderers import LIST_SEPARATOR, CSVRenderer
from registry.api.initiatives.serializers import OverlapReasonSerializer
from registry.models import Vision
from registry.quarters import quarter_bounds
from registry.selectors import journey, learning, reports
from registry.selectors import overlaps as overlap_scoring

Rows = list[dict[str, Any]]


def _portfolio_rows(body: Mapping[str, Any]) -> Rows:
    totals = body["totals"]
    rows: Rows = [
        {
            "dimension": "total",
            **{key: totals[key] for key in PORTFOLIO_TOTAL_COLUMNS},
            "share_aligned": totals["share_aligned"],
        }
    ]
    for dimension, breakdown in body["breakdowns"].items():
        rows.extend({"dimension": dimension, **row} for row in breakdown)
    return rows


def _matrix_rows(body: Mapping[str, Any]) -> Rows:
    goal_titles = {goal["code"]: goal["title"] for goal in body["goals"]}
    department_names = {column["slug"]: column["name"] for column in body["departments"]}
    rows: Rows = [
        {
            **cell,
            "goal_title": goal_titles.get(cell["goal"]),
            "department_name": department_names.get(cell["department"]),
        }
        for cell in body["cells"]
    ]
    rows.extend(
        {
            **row,
            "goal": None,
            "goal_title": None,
            "department_name": department_names.get(row["department"]),
            "max_strength": 0,
            "alignment_level": "none",
        }
        for row in body["unaligned"]
    )
    return rows


def _overlap_rows(body: Mapping[str, Any]) -> Rows:
    """One row per member; its pairs within the group, each with score and reasons."""
    rows: Rows = []
    for number, group in enumerate(body["results"], start=1):
        for member in group["members"]:
            mine = [pair for pair in group["pairs"] if member["key"] in pair["keys"]]
            rows.append(
                {
                    "group": number,
                    **member,
                    "group_departments": group["departments"],
                    "score": max(pair["score"] for pair in mine),
                    "reasons": LIST_SEPARATOR.join(
                        "{} ({:.2f}): {}".format(
                            next(key for key in pair["keys"] if key != member["key"]),
                            pair["score"],
                            ", ".join(overlap_scoring.reason_text(r) for r in pair["reasons"]),
                        )
                        for pair in mine
                    ),
                }
            )
    return rows


def _system_rows(body: Mapping[str, Any]) -> Rows:
    rows: Rows = []
    for system in body["results"]:
        head = {key: value for key, value in system.items() if key != "by_department"}
        rows.extend(
            {
                **head,
                "department": part["department"],
                "department_name": part["department_name"],
                "department_initiative_count": part["count"],
                "initiatives": part["initiatives"],
            }
            for part in system["by_department"]
        )
    return rows


def _results(body: Mapping[str, Any]) -> Rows:
    return list(body["results"])


def _voice_rows(body: Mapping[str, Any]) -> Rows:
    return [
        {**row, "touchpoints": LIST_SEPARATOR.join(row["touchpoints"])} for row in body["results"]
    ]


PORTFOLIO_TOTAL_COLUMNS = (
    "count",
    "aligned_count",
    "budget_planned",
    "budget_spent",
    "budget_planned_unaligned",
    "budget_spent_unaligned",
    "coverage_gap_count",
)


def _fields(serializer: type[serializers.Serializer], *, without: tuple[str, ...] = ()) -> tuple:
    return tuple(name for name in serializer().fields if name not in without)


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


@dataclass(frozen=True)
class Report:
    """One report endpoint: what it computes, how it is shaped and flattened."""

    name: str
    compute: Callable[..., Any]
    serializer: type[serializers.Serializer]
    csv_columns: tuple[str, ...]
    csv_rows: Callable[[Mapping[str, Any]], Rows]
    description: str | Promise
    listing: bool = True
    parameters: type[serializers.Serializer] = ReportParametersSerializer
    # Adds links that need the request (e.g. the API list behind a journey-map cell).
    linked: Callable[[Request, Any], None] | None = None


class SystemsParametersSerializer(ReportParametersSerializer):
    min_initiatives = serializers.IntegerField(
        required=False,
        min_value=1,
        default=2,
        help_text=_("List systems used by at least this many open initiatives (default 2)."),
    )


def nullable_text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(allow_null=True, **kwargs)


class ReportVisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=choices.VisionStatus.choices)


class ReportScopeSerializer(serializers.Serializer):
    """What a report is about: the vision (null when there is no active one) and quarter."""

    vision = ReportVisionSerializer(allow_null=True)
    period = nullable_text(help_text=_("The quarter asked for, or null for the whole portfolio."))


def money(**kwargs: Any) -> serializers.DecimalField:
    # Sums of many budgets need more digits than one budget.
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


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


class BreakdownRowSerializer(serializers.Serializer):
    code = nullable_text(help_text=_("The vocabulary code, slug or goal code; null: none."))
    name = nullable_text(help_text=_("Department name or goal title where there is one."))
    count = serializers.IntegerField()
    aligned_count = serializers.IntegerField()
    budget_planned = money()
    budget_spent = money()


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
    paused_from = NullableChoiceField(choices=choices.Stage.choices)
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


class VoiceReviewGapSerializer(serializers.Serializer):
    """An open customer-facing AI whose latest voice review did not pass (or that has none)."""

    key = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=choices.Kind.choices)
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    touchpoints = serializers.ListField(child=serializers.ChoiceField(choices.Touchpoint.choices))
    customer_facing = serializers.BooleanField()
    lead_department = nullable_text()
    lead_department_name = nullable_text()
    owner_name = nullable_text()
    owner_email = nullable_text()
    latest_voice_outcome = NullableChoiceField(
        choices=choices.VoiceReviewOutcome.choices,
        help_text=_("The latest voice review's outcome; null when it was never reviewed."),
    )
    latest_voice_reviewed_at = serializers.DateTimeField(allow_null=True)


class VoiceReviewGapsReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = VoiceReviewGapSerializer(many=True)


class OverlapMemberSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    lead_department = serializers.CharField()
    lead_department_name = serializers.CharField()


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


class GoalProgressReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = GoalProgressRowSerializer(many=True)


class CoverageReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = CoverageGapSerializer(many=True)


class SilosReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = SiloSerializer(many=True)


class OverlapPairSerializer(serializers.Serializer):
    """Two initiatives of different lead departments scored as an overlap, and why."""

    keys = serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2)
    score = serializers.FloatField()
    reasons = OverlapReasonSerializer(many=True)


class OverlapGroupSerializer(serializers.Serializer):
    """Open initiatives of different lead departments that do the same thing: candidates
    for merging, largest groups first. Members are joined by the scored pairs between them.
    """

    members = OverlapMemberSerializer(many=True)
    departments = serializers.ListField(child=serializers.CharField())
    score = serializers.FloatField(help_text=_("The best pair's score."))
    pairs = OverlapPairSerializer(many=True)


class OverlapsReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = OverlapGroupSerializer(many=True)


class SystemsReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = SharedSystemSerializer(many=True)


class GateGapsReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = GateGapSerializer(many=True)


class TeamParametersSerializer(ReportParametersSerializer):
    stage = serializers.ChoiceField(
        choices=choices.Stage.choices,
        required=False,
        default=choices.Stage.PILOT,
        help_text=_("The stage whose customer-facing teams are looked at (default: pilot)."),
    )


class StageCountSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    count = serializers.IntegerField()


class LevelCountSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=choices.AlignmentLevel.choices)
    count = serializers.IntegerField()


class JourneyCellSerializer(serializers.Serializer):
    """Open initiatives serving one touchpoint at one journey stage."""

    touchpoint = serializers.ChoiceField(choices=choices.Touchpoint.choices)
    journey_stage = serializers.ChoiceField(choices=choices.JourneyStage.choices)
    count = serializers.IntegerField()
    stages = StageCountSerializer(many=True, help_text=_("The stage mix (non-zero only)."))
    alignment_level = serializers.ChoiceField(
        choices=choices.AlignmentLevel.choices, help_text=_("The strongest in the cell.")
    )
    alignment_levels = LevelCountSerializer(many=True)
    departments = serializers.ListField(
        child=serializers.CharField(), help_text=_("Lead departments (slugs).")
    )
    no_shared_goal = serializers.BooleanField(
        help_text=_("Several lead departments work here and no goal is served by two of them.")
    )
    initiatives = serializers.ListField(child=serializers.CharField())
    list_url = serializers.URLField(help_text=_("The initiative list filtered to this cell."))


class FragmentGroupSerializer(serializers.Serializer):
    initiatives = serializers.ListField(child=serializers.CharField())
    touchpoints = serializers.ListField(
        child=serializers.ChoiceField(choices=choices.Touchpoint.choices)
    )


class FragmentedJourneySerializer(serializers.Serializer):
    """A journey stage served on several touchpoints by groups of initiatives that share
    no system and no team member."""

    journey_stage = serializers.ChoiceField(choices=choices.JourneyStage.choices)
    touchpoints = serializers.ListField(
        child=serializers.ChoiceField(choices=choices.Touchpoint.choices)
    )
    groups = FragmentGroupSerializer(many=True)


class DepartmentConflictSerializer(serializers.Serializer):
    touchpoint = serializers.ChoiceField(choices=choices.Touchpoint.choices)
    journey_stage = serializers.ChoiceField(choices=choices.JourneyStage.choices)
    departments = serializers.ListField(child=serializers.CharField())
    initiatives = serializers.ListField(child=serializers.CharField())


class UnservedCellSerializer(serializers.Serializer):
    """A cell (or a whole touchpoint or stage) a goal of the vision names that no open
    initiative serves."""

    touchpoint = NullableChoiceField(choices=choices.Touchpoint.choices)
    journey_stage = NullableChoiceField(choices=choices.JourneyStage.choices)
    goals = serializers.ListField(child=serializers.CharField())


class JourneyFlagCountsSerializer(serializers.Serializer):
    fragmented = serializers.IntegerField()
    department_conflicts = serializers.IntegerField()
    unserved = serializers.IntegerField()


class JourneyMapReportSerializer(ReportScopeSerializer):
    """Touchpoints × journey stages over the open initiatives, with the journey's flags."""

    touchpoints = serializers.ListField(
        child=serializers.ChoiceField(choices=choices.Touchpoint.choices)
    )
    journey_stages = serializers.ListField(
        child=serializers.ChoiceField(choices=choices.JourneyStage.choices)
    )
    count = serializers.IntegerField(help_text=_("Open initiatives in scope."))
    unplaced_count = serializers.IntegerField(
        help_text=_("Of those, the ones without a touchpoint or a journey stage.")
    )
    cells = JourneyCellSerializer(many=True)
    fragmented = FragmentedJourneySerializer(many=True)
    department_conflicts = DepartmentConflictSerializer(many=True)
    unserved = UnservedCellSerializer(many=True)
    flag_counts = JourneyFlagCountsSerializer()


class StanceConflictSerializer(serializers.Serializer):
    touchpoint = serializers.ChoiceField(choices=choices.Touchpoint.choices)
    journey_stage = serializers.CharField(
        allow_blank=True, help_text=_("The stance's journey stage; empty: the whole touchpoint.")
    )
    stance = serializers.ChoiceField(choices=choices.Stance.choices)


class StanceContradictionSerializer(serializers.Serializer):
    """An open customer-facing initiative that contradicts the vision's proactive stance."""

    key = serializers.CharField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    interaction_mode = serializers.ChoiceField(choices=choices.InteractionMode.choices)
    lead_department = nullable_text()
    lead_department_name = nullable_text()
    owner_name = nullable_text()
    conflicts = StanceConflictSerializer(many=True)
    exception = serializers.BooleanField(
        help_text=_("Moved past proposed anyway, with a note that justifies the exception.")
    )
    exception_note = nullable_text()
    exception_at = serializers.DateTimeField(allow_null=True)


class StanceExceptionSerializer(serializers.Serializer):
    """A move that took contradicting work past proposed, and the note that justified it."""

    key = serializers.CharField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    from_stage = serializers.ChoiceField(choices=choices.Stage.choices)
    to_stage = serializers.ChoiceField(choices=choices.Stage.choices)
    at = serializers.DateTimeField()
    quarter = serializers.CharField()
    actor_name = serializers.CharField(allow_blank=True)
    note = serializers.CharField()


class TeamRowSerializer(serializers.Serializer):
    """A customer-facing initiative's team: UX, data and departments."""

    key = serializers.CharField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    kind = serializers.ChoiceField(choices=choices.Kind.choices)
    lead_department = nullable_text()
    lead_department_name = nullable_text()
    owner_name = nullable_text()
    spanned_departments = serializers.IntegerField()
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=choices.TeamRoleKind.choices)
    )
    has_ux = serializers.BooleanField()
    has_data = serializers.BooleanField()
    flags = serializers.ListField(child=serializers.ChoiceField(choices=journey.TEAM_FLAGS))
    cross_functional = serializers.BooleanField()


class TeamFlagCountsSerializer(serializers.Serializer):
    no_ux = serializers.IntegerField()
    no_data = serializers.IntegerField()
    single_department = serializers.IntegerField()


class TeamCompositionReportSerializer(ReportScopeSerializer):
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    count = serializers.IntegerField()
    cross_functional_count = serializers.IntegerField()
    share_cross_functional = serializers.FloatField(
        allow_null=True, help_text=_("cross_functional_count / count, 0–1; null: none.")
    )
    flag_counts = TeamFlagCountsSerializer()
    results = TeamRowSerializer(many=True)


class StanceConflictsReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = StanceContradictionSerializer(many=True)


class StanceExceptionsReportSerializer(ReportScopeSerializer):
    count = serializers.IntegerField()
    results = StanceExceptionSerializer(many=True)


def _journey_rows(body: Mapping[str, Any]) -> Rows:
    fragmented = {entry["journey_stage"] for entry in body["fragmented"]}
    rows: Rows = [
        {
            **{key: cell[key] for key in ("touchpoint", "journey_stage", "count")},
            "stages": LIST_SEPARATOR.join(f"{s['stage']}:{s['count']}" for s in cell["stages"]),
            "alignment_level": cell["alignment_level"],
            "departments": cell["departments"],
            "no_shared_goal": cell["no_shared_goal"],
            "fragmented_stage": cell["journey_stage"] in fragmented,
            "unserved_goals": [],
            "initiatives": cell["initiatives"],
        }
        for cell in body["cells"]
    ]
    rows.extend(
        {
            "touchpoint": entry["touchpoint"],
            "journey_stage": entry["journey_stage"],
            "count": 0,
            "unserved_goals": entry["goals"],
        }
        for entry in body["unserved"]
    )
    return rows


def _stance_rows(body: Mapping[str, Any]) -> Rows:
    return [
        {
            **{key: value for key, value in row.items() if key != "conflicts"},
            "conflicts": LIST_SEPARATOR.join(
                f"{c['touchpoint']}/{c['journey_stage'] or '*'}: {c['stance']}"
                for c in row["conflicts"]
            ),
        }
        for row in body["results"]
    ]


def _link_cells(request: Request, body: dict[str, Any]) -> None:
    """Each cell links to the initiative list filtered to it (open stages, the quarter)."""
    base = reverse("api:initiative-list", request=request)
    scope = [
        ("stage", stage) for stage in choices.Stage.values if stage not in choices.CLOSED_STAGES
    ]
    if body.get("period"):
        scope.append(("active_in", body["period"]))
    for cell in body["cells"]:
        query = QueryDict(mutable=True)
        query["touchpoint"] = cell["touchpoint"]
        query["journey_stage"] = cell["journey_stage"]
        for name, value in scope:
            query.appendlist(name, value)
        cell["list_url"] = f"{base}?{query.urlencode()}"


REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report(
            name="portfolio",
            compute=reports.portfolio_summary,
            serializer=PortfolioReportSerializer,
            csv_columns=(
                "dimension",
                "code",
                "name",
                *PORTFOLIO_TOTAL_COLUMNS[:4],
                "share_aligned",
                *PORTFOLIO_TOTAL_COLUMNS[4:],
            ),
            csv_rows=_portfolio_rows,
            listing=False,
            description=gettext_lazy(
                "Headline figures and breakdowns of the live portfolio: counts and planned/spent "
                "budget by stage, kind, lead department, primary goal, alignment level, risk "
                "tier, interaction mode and currency. CSV: a `total` row, then one row per "
                "breakdown entry."
            ),
        ),
        Report(
            name="alignment-matrix",
            compute=reports.alignment_matrix,
            serializer=AlignmentMatrixReportSerializer,
            csv_columns=(
                "goal",
                "goal_title",
                "department",
                "department_name",
                "count",
                "budget_planned",
                "max_strength",
                "alignment_level",
            ),
            csv_rows=_matrix_rows,
            listing=False,
            description=gettext_lazy(
                "Goals of the vision × lead departments over the open initiatives (a heatmap): "
                "count, planned budget and strongest alignment per cell, and per department "
                "the work that serves no goal. CSV: one row per non-empty cell, then one row "
                "per department's unaligned work (empty goal)."
            ),
        ),
        Report(
            name="goal-progress",
            compute=reports.goal_progress,
            serializer=GoalProgressReportSerializer,
            csv_columns=_fields(GoalProgressRowSerializer),
            csv_rows=_results,
            description=gettext_lazy(
                "Each goal of the vision: baseline, latest measurement, target, progress in % "
                "and whether it is on track against a straight line from baseline date to "
                "target date; the open initiatives contributing to it."
            ),
        ),
        Report(
            name="coverage",
            compute=reports.coverage_gaps,
            serializer=CoverageReportSerializer,
            csv_columns=_fields(CoverageGapSerializer),
            csv_rows=_results,
            description=gettext_lazy(
                "Coverage gaps: goals of the vision that no open initiative serves, highest "
                "weight first."
            ),
        ),
        Report(
            name="silos",
            compute=reports.silos,
            serializer=SilosReportSerializer,
            csv_columns=_fields(SiloSerializer),
            csv_rows=_results,
            description=gettext_lazy(
                "Open initiatives whose lead, participating departments and team span a single "
                "department."
            ),
        ),
        Report(
            name="overlaps",
            compute=reports.overlaps,
            serializer=OverlapsReportSerializer,
            csv_columns=(
                "group",
                *_fields(OverlapMemberSerializer),
                "group_departments",
                "score",
                "reasons",
            ),
            csv_rows=_overlap_rows,
            description=gettext_lazy(
                "Groups of open initiatives of different lead departments that do the same "
                "thing — pairs scored from their names and texts with their structured keys, "
                "each with its reasons (docs/OVERLAPS.md) — candidates for merging, largest "
                "first. CSV: one row per member, with its group number, best score and pairs."
            ),
        ),
        Report(
            name="systems",
            compute=reports.shared_systems,
            serializer=SystemsReportSerializer,
            csv_columns=(
                *_fields(SharedSystemSerializer, without=("by_department",)),
                "department",
                "department_name",
                "department_initiative_count",
                "initiatives",
            ),
            csv_rows=_system_rows,
            parameters=SystemsParametersSerializer,
            description=gettext_lazy(
                "Shared-system hot spots: systems that many open initiatives use, most used "
                "first, with the departments using them. CSV: one row per system and "
                "department."
            ),
        ),
        Report(
            name="gate-gaps",
            compute=reports.gate_gaps,
            serializer=GateGapsReportSerializer,
            csv_columns=_fields(GateGapSerializer),
            csv_rows=_results,
            description=gettext_lazy(
                "Open initiatives brought in by sync or import at a stage they had elsewhere "
                "that still lack the evidence of its gates (owner, summary, primary alignment, "
                "hypothesis, success criteria, learnings), so the PMO can close the gaps."
            ),
        ),
        Report(
            name="journey-map",
            compute=journey.journey_map,
            serializer=JourneyMapReportSerializer,
            csv_columns=(
                "touchpoint",
                "journey_stage",
                "count",
                "stages",
                "alignment_level",
                "departments",
                "no_shared_goal",
                "fragmented_stage",
                "unserved_goals",
                "initiatives",
            ),
            csv_rows=_journey_rows,
            listing=False,
            linked=_link_cells,
            description=gettext_lazy(
                "The journey map: touchpoints × journey stages over the open initiatives, each "
                "cell with its count, stage mix, strongest alignment and a link to the filtered "
                "initiative list; flags journey stages served on several touchpoints by "
                "initiatives sharing no system and no team member (fragmented), cells where "
                "several departments work without a shared goal, and cells the vision's goals "
                "name that nobody serves. CSV: one row per cell, then one per unserved cell."
            ),
        ),
        Report(
            name="proactive-stance",
            compute=journey.stance_conflicts_report,
            serializer=StanceConflictsReportSerializer,
            csv_columns=_fields(StanceContradictionSerializer),
            csv_rows=_stance_rows,
            description=gettext_lazy(
                "Open customer-facing initiatives whose touchpoints or interaction mode "
                "contradict the vision's proactive stance (AI where it wants none, proactive AI "
                "where it allows only reactive), with the exception granted if they went past "
                "proposed anyway."
            ),
        ),
        Report(
            name="stance-exceptions",
            compute=journey.stance_exceptions,
            serializer=StanceExceptionsReportSerializer,
            csv_columns=_fields(StanceExceptionSerializer),
            csv_rows=_results,
            description=gettext_lazy(
                "Exceptions to the proactive stance granted in the quarter (by the day of the "
                "move): each move past proposed of work that contradicts the stance, with the "
                "note that justified it, newest first."
            ),
        ),
        Report(
            name="team-composition",
            compute=journey.team_composition,
            serializer=TeamCompositionReportSerializer,
            csv_columns=_fields(TeamRowSerializer),
            csv_rows=_results,
            listing=False,
            parameters=TeamParametersSerializer,
            description=gettext_lazy(
                "Customer-facing initiatives at a stage (default: pilots) and whether their "
                "teams are cross-functional: a UX / service-design role, a data role (data "
                "scientist, analyst) and more than one department; flags what is missing and "
                "gives the share of cross-functional teams."
            ),
        ),
        Report(
            name="voice-review-gaps",
            compute=learning.voice_review_gaps,
            serializer=VoiceReviewGapsReportSerializer,
            csv_columns=_fields(VoiceReviewGapSerializer),
            csv_rows=_voice_rows,
            description=gettext_lazy(
                "Customer-facing AI (chatbots, voicebots, generative content that customers "
                "meet) that is still open and whose latest voice review did not pass, or that "
                "was never reviewed: pilots first, as they cannot scale without one."
            ),
        ),
    )
}


def _report_schema(name: str) -> Callable:
    report = REPORTS[name]
    return extend_schema(
        description=str(report.description),
        parameters=[report.parameters],
        responses={
            (200, "application/json"): report.serializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description=_("`?format=csv` or `Accept: text/csv`.")
            ),
        },
    )


@extend_schema_serializer(many=False)  # the `list` action answers one object, not an array
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
    journey_map = serializers.URLField()
    proactive_stance = serializers.URLField()
    stance_exceptions = serializers.URLField()
    team_composition = serializers.URLField()
    voice_review_gaps = serializers.URLField()


class ReportViewSet(viewsets.GenericViewSet):
    """Portfolio reports for a vision (default: the active one) and a quarter."""

    permission_classes = [ReadOnly]
    filter_backends: list = []
    pagination_class = None
    csv_columns: tuple[str, ...] = ()

    def get_renderers(self) -> list[BaseRenderer]:
        renderers: list[BaseRenderer] = [JSONRenderer(), BrowsableAPIRenderer()]
        if getattr(self, "action", None) != "list":
            renderers.append(CSVRenderer())
        return renderers

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and getattr(renderer, "format", None) == "csv":
            # Errors keep the one JSON error shape, even when CSV was asked for.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def report(self, request: Request, name: str) -> Response:
        report = REPORTS[name]
        parameters = report.parameters(data=request.query_params)
        parameters.is_valid(raise_exception=True)
        values = dict(parameters.validated_data)
        vision = self.vision(values.pop("vision", None))
        result = report.compute(user=request.user, vision=vision, **values)
        if report.listing:
            result = {
                "vision": None
                if vision is None
                else {"id": vision.pk, "title": vision.title, "status": vision.status},
                "period": values.get("period"),
                "count": len(result),
                "results": result,
            }
        if report.linked is not None:
            report.linked(request, result)
        body = report.serializer(result).data
        renderer = getattr(request, "accepted_renderer", None)
        if getattr(renderer, "format", None) != "csv":
            return Response(body)
        self.csv_columns = report.csv_columns
        period = values.get("period")
        filename = f"{name}-{period}.csv" if period else f"{name}.csv"
        return Response(
            report.csv_rows(body),
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @staticmethod
    def vision(vision_id: int | None) -> Vision | None:
        """The vision asked for (400 naming `vision` if there is none), else the active one."""
        if vision_id is None:
            return reports.resolve_vision(None)
        vision = Vision.objects.filter(pk=vision_id).first()
        if vision is None:
            raise serializers.ValidationError(
                {"vision": [_("No vision with id %(id)s.") % {"id": vision_id}]},
                code="does_not_exist",
            )
        return vision

    @extend_schema(
        responses=ReportIndexSerializer,
        description=_("Where each report is served."),
    )
    def list(self, request: Request) -> Response:
        return Response(
            {
                name.replace("-", "_"): reverse(f"api:report-{name}", request=request)
                for name in REPORTS
            }
        )

    @_report_schema("portfolio")
    @action(detail=False, methods=["get"])
    def portfolio(self, request: Request) -> Response:
        return self.report(request, "portfolio")

    @_report_schema("alignment-matrix")
    @action(detail=False, methods=["get"], url_path="alignment-matrix")
    def alignment_matrix(self, request: Request) -> Response:
        return self.report(request, "alignment-matrix")

    @_report_schema("goal-progress")
    @action(detail=False, methods=["get"], url_path="goal-progress")
    def goal_progress(self, request: Request) -> Response:
        return self.report(request, "goal-progress")

    @_report_schema("coverage")
    @action(detail=False, methods=["get"])
    def coverage(self, request: Request) -> Response:
        return self.report(request, "coverage")

    @_report_schema("silos")
    @action(detail=False, methods=["get"])
    def silos(self, request: Request) -> Response:
        return self.report(request, "silos")

    @_report_schema("overlaps")
    @action(detail=False, methods=["get"])
    def overlaps(self, request: Request) -> Response:
        return self.report(request, "overlaps")

    @_report_schema("systems")
    @action(detail=False, methods=["get"])
    def systems(self, request: Request) -> Response:
        return self.report(request, "systems")

    @_report_schema("gate-gaps")
    @action(detail=False, methods=["get"], url_path="gate-gaps")
    def gate_gaps(self, request: Request) -> Response:
        return self.report(request, "gate-gaps")

    @_report_schema("journey-map")
    @action(detail=False, methods=["get"], url_path="journey-map")
    def journey_map(self, request: Request) -> Response:
        return self.report(request, "journey-map")

    @_report_schema("proactive-stance")
    @action(detail=False, methods=["get"], url_path="proactive-stance")
    def proactive_stance(self, request: Request) -> Response:
        return self.report(request, "proactive-stance")

    @_report_schema("stance-exceptions")
    @action(detail=False, methods=["get"], url_path="stance-exceptions")
    def stance_exceptions(self, request: Request) -> Response:
        return self.report(request, "stance-exceptions")

    @_report_schema("team-composition")
    @action(detail=False, methods=["get"], url_path="team-composition")
    def team_composition(self, request: Request) -> Response:
        return self.report(request, "team-composition")

    @_report_schema("voice-review-gaps")
    @action(detail=False, methods=["get"], url_path="voice-review-gaps")
    def voice_review_gaps(self, request: Request) -> Response:
        return self.report(request, "voice-review-gaps")
