"""The strategy: the CX vision, its measurable goals and their measurements."""

from __future__ import annotations

from decimal import Decimal

import pghistory
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
