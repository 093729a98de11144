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
from registry.selectors import overlaps as overlap_scoring
from registry.selectors import reports

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
