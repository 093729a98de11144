"""The strategy: the CX vision, its measurable goals and their measurements, and the vision's
proactive stance — per touchpoint (optionally per journey stage) whether AI may act
proactively, only react, or not be used at all.

The stance rule (`stance_conflicts`) is a plain function over the stance table and an
initiative's own fields, so the lifecycle gate, sync's dry run on an unsaved candidate and the
reports all apply the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

from registry import choices
from registry.models.base import TimestampedModel, event_indexes
from registry.models.organisation import Person


class VisionQuerySet(models.QuerySet):
    def active(self) -> VisionQuerySet:
        return self.filter(status=choices.VisionStatus.ACTIVE)


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    meta=event_indexes("vision"),
)
class Vision(TimestampedModel):
    """The company-level CX vision; at most one is active."""

    title = models.CharField(_("title"), max_length=200)
    statement = models.TextField(_("statement"))
    horizon_start = models.DateField(_("horizon start"))
    horizon_end = models.DateField(_("horizon end"))
    executive_sponsor = models.ForeignKey(
        Person,
        verbose_name=_("executive sponsor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sponsored_visions",
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=choices.VisionStatus.choices,
        default=choices.VisionStatus.DRAFT,
    )
    # How customer-facing AI speaks in the company's name; voice reviews check against these.
    voice_tone = models.TextField(_("tone of voice"), blank=True)
    voice_language = models.TextField(
        _("language"), blank=True, help_text=_("Languages, register, words used and avoided.")
    )
    voice_ai_disclosure = models.TextField(
        _("AI disclosure"), blank=True, help_text=_("How customers learn that they talk to an AI.")
    )
    voice_handover = models.TextField(
        _("hand-over to a person"),
        blank=True,
        help_text=_("When and how the conversation passes to a person."),
    )

    objects = VisionQuerySet.as_manager()

    class Meta:
        ordering = ["-horizon_start"]
        verbose_name = _("vision")
        verbose_name_plural = _("visions")
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active"),
                name="registry_vision_one_active",
                violation_error_message=_("Another vision is already active; retire it first."),
            ),
            models.CheckConstraint(
                condition=Q(horizon_end__gte=F("horizon_start")),
                name="registry_vision_horizon_ordered",
                violation_error_message=_("The horizon must end after it starts."),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class GoalQuerySet(models.QuerySet):
    def live(self) -> GoalQuerySet:
        return self.filter(archived_at__isnull=True)

    def of_active_vision(self) -> GoalQuerySet:
        return self.live().filter(vision__status=choices.VisionStatus.ACTIVE)

    def with_progress(self) -> GoalQuerySet:
        """Annotate `current` (latest measurement), `current_on` and `progress` (0..1 = on target).

        progress = (current − baseline) / (target − baseline); it is direction-neutral because
        a decrease goal has target < baseline.
        """
        latest = Measurement.objects.filter(goal=OuterRef("pk")).order_by("-observed_on", "-id")
        return self.annotate(
            current=Subquery(latest.values("value")[:1]),
            current_on=Subquery(latest.values("observed_on")[:1]),
        ).annotate(
            progress=models.ExpressionWrapper(
                (F("current") - F("baseline"))
                / models.functions.NullIf(F("target") - F("baseline"), Decimal(0)),
                output_field=models.DecimalField(max_digits=20, decimal_places=6),
            )
        )


GOAL_CODE_VALIDATOR = RegexValidator(
    r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$",
    _("Use upper-case letters, digits and dashes, e.g. G-NPS."),
)


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    meta=event_indexes("goal", tombstones=True),
)
class Goal(TimestampedModel):
    """A measurable CX goal under a vision; may refine a parent goal."""

    vision = models.ForeignKey(
        Vision, verbose_name=_("vision"), on_delete=models.PROTECT, related_name="goals"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent goal"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    code = models.CharField(_("code"), max_length=30, unique=True, validators=[GOAL_CODE_VALIDATOR])
    title = models.CharField(_("title"), max_length=200)
    theme = models.CharField(_("theme"), max_length=80, blank=True)
    metric = models.CharField(_("metric"), max_length=30, choices=choices.Metric.choices)
    unit = models.CharField(_("unit"), max_length=30, help_text=_("e.g. points, %, seconds"))
    direction = models.CharField(_("direction"), max_length=10, choices=choices.Direction.choices)
    baseline = models.DecimalField(_("baseline"), max_digits=14, decimal_places=4)
    baseline_date = models.DateField(_("baseline date"))
    target = models.DecimalField(_("target"), max_digits=14, decimal_places=4)
    target_date = models.DateField(_("target date"))
    weight = models.PositiveSmallIntegerField(
        _("weight"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("Priority among the vision's goals, 1 (low) to 10 (high)."),
    )
    owner = models.ForeignKey(
        Person,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_goals",
    )
    # The journey cells the goal is about; the journey map flags those no initiative serves.
    touchpoints = ArrayField(
        models.CharField(max_length=30, choices=choices.Touchpoint.choices),
        verbose_name=_("touchpoints"),
        default=list,
        blank=True,
        help_text=_("Where customers should feel the goal; empty: not tied to a touchpoint."),
    )
    journey_stages = ArrayField(
        models.CharField(max_length=30, choices=choices.JourneyStage.choices),
        verbose_name=_("journey stages"),
        default=list,
        blank=True,
        help_text=_("Which journey stages the goal is about; empty: not tied to a stage."),
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True, editable=False)

    objects = GoalQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("CX goal")
        verbose_name_plural = _("CX goals")
        indexes = [
            models.Index(fields=["updated_at", "id"], name="registry_goal_feed_idx"),
            models.Index(fields=["theme"], name="registry_goal_theme_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_date__gte=F("baseline_date")),
                name="registry_goal_dates_ordered",
                violation_error_message=_("The target date must not precede the baseline date."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(direction="increase", target__gt=F("baseline"))
                    | Q(direction="decrease", target__lt=F("baseline"))
                ),
                name="registry_goal_target_matches_direction",
                violation_error_message=_(
                    "The target must lie above the baseline for an increase goal and below it "
                    "for a decrease goal."
                ),
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=1, weight__lte=10),
                name="registry_goal_weight_range",
                violation_error_message=_("The weight must be between 1 and 10."),
            ),
            models.CheckConstraint(
                condition=~Q(parent=F("id")),
                name="registry_goal_not_own_parent",
                violation_error_message=_("A goal cannot refine itself."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.title}"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    meta=event_indexes("measure"),
)
class Measurement(models.Model):
    """An observed value of a goal's metric."""

    goal = models.ForeignKey(
        Goal, verbose_name=_("goal"), on_delete=models.CASCADE, related_name="measurements"
    )
    observed_on = models.DateField(_("observed on"))
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=4)
    source = models.CharField(_("source"), max_length=120, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["goal", "-observed_on"]
        verbose_name = _("measurement")
        verbose_name_plural = _("measurements")
        constraints = [
            models.UniqueConstraint(
                fields=["goal", "observed_on"],
                name="registry_measurement_one_per_day",
                violation_error_message=_("This goal already has a measurement on that day."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.goal.code} {self.observed_on}: {self.value}"


# (touchpoint, journey stage or "") -> stance code
StanceTable = Mapping[tuple[str, str], str]


class ProactiveStanceQuerySet(models.QuerySet):
    def table(self, vision_id: int | None) -> dict[tuple[str, str], str]:
        """The vision's stances keyed by (touchpoint, journey stage or "")."""
        if vision_id is None:
            return {}
        rows = self.filter(vision_id=vision_id).values_list("touchpoint", "journey_stage", "stance")
        return {(touchpoint, stage): stance for touchpoint, stage, stance in rows}


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    meta=event_indexes("stance"),
)
class ProactiveStance(TimestampedModel):
    """Leadership's decision where AI may act proactively, only react, or not act at all."""

    vision = models.ForeignKey(
        Vision, verbose_name=_("vision"), on_delete=models.CASCADE, related_name="stances"
    )
    touchpoint = models.CharField(
        _("touchpoint"), max_length=30, choices=choices.Touchpoint.choices
    )
    journey_stage = models.CharField(
        _("journey stage"),
        max_length=30,
        choices=choices.JourneyStage.choices,
        blank=True,
        help_text=_("Empty: every journey stage at this touchpoint."),
    )
    stance = models.CharField(_("stance"), max_length=10, choices=choices.Stance.choices)
    rationale = models.TextField(_("rationale"))
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = ProactiveStanceQuerySet.as_manager()

    class Meta:
        ordering = ["vision", "touchpoint", "journey_stage"]
        verbose_name = _("proactive stance")
        verbose_name_plural = _("proactive stances")
        constraints = [
            models.UniqueConstraint(
                fields=["vision", "touchpoint", "journey_stage"],
                name="registry_proactivestance_unique_cell",
                violation_error_message=_(
                    "The vision already has a stance for this touchpoint and journey stage."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(rationale__regex=r"^\s*$"),
                name="registry_proactivestance_rationale_set",
                violation_error_message=_("A stance needs a rationale."),
            ),
        ]

    def __str__(self) -> str:
        where = self.get_touchpoint_display()
        if self.journey_stage:
            where = f"{where} · {self.get_journey_stage_display()}"
        return f"{where}: {self.get_stance_display()}"


def stance_conflicts(
    stances: StanceTable,
    *,
    touchpoints: Iterable[str],
    journey_stages: Iterable[str],
    interaction_mode: str,
    customer_facing: bool,
) -> list[dict[str, str]]:
    """Where a customer-facing initiative contradicts the stance: AI at a touchpoint (stage)
    where the vision wants none, or proactive AI where it allows only reactive AI.

    The most specific stance wins: (touchpoint, stage) before the touchpoint's own. Work that
    does not face the customer contradicts nothing: the stance is about how AI meets them.
    Each conflict names the stance's cell (journey_stage "" = the whole touchpoint).
    """
    if not customer_facing or not stances:
        return []
    stages = list(journey_stages) or [""]
    conflicts: list[dict[str, str]] = []
    for touchpoint in touchpoints:
        for stage in stages:
            cell = (touchpoint, stage) if (touchpoint, stage) in stances else (touchpoint, "")
            stance = stances.get(cell)
            contradicts = stance == choices.Stance.NO_AI or (
                stance == choices.Stance.REACTIVE
                and interaction_mode == choices.InteractionMode.PROACTIVE
            )
            conflict = {"touchpoint": cell[0], "journey_stage": cell[1], "stance": str(stance)}
            if contradicts and conflict not in conflicts:
                conflicts.append(conflict)
    return conflicts
