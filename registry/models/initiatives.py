"""Initiatives and what hangs on them: alignments to goals, dependencies, team roles, notes
and the stage journal.
"""

from __future__ import annotations

from decimal import Decimal

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry import choices
from registry.choices import (
    ALIGNMENT_LEVEL_BY_STRENGTH,
    BEYOND_PROPOSED,
    CLOSED_STAGES,
    Stage,
)
from registry.models.base import NextInitiativeKey, TimestampedModel, event_indexes
from registry.models.organisation import Department, Person, System, Tag
from registry.models.strategy import Goal
from registry.quarters import quarter_bounds

# What a person or a tool writes on an initiative, in the order forms and exports show it
# (the stage moves through the lifecycle; key, version and timestamps are the registry's).
# One declaration: the API's serializers, the admin, sync and the read paths derive theirs.
INITIATIVE_WRITABLE_FIELDS: tuple[str, ...] = (
    "name",
    "summary",
    "kind",
    "owner",
    "lead_department",
    "departments",
    "touchpoints",
    "journey_stages",
    "interaction_mode",
    "systems",
    "customer_segments",
    "autonomy",
    "budget_planned",
    "budget_spent",
    "currency",
    "expected_benefit",
    "start_date",
    "target_date",
    "end_date",
    "risk_tier",
    "customer_facing",
    "uses_personal_data",
    "confidential",
    "hypothesis",
    "success_criteria",
    "learnings",
    "tags",
    "source",
    "external_id",
    "external_url",
)
# The initiative's many-to-many fields, which writes set as lists (of objects or ids).
INITIATIVE_MANY_FIELDS: tuple[str, ...] = ("departments", "systems", "tags")
# Its relations, written by natural key or id.
INITIATIVE_RELATED_FIELDS: tuple[str, ...] = ("owner", "lead_department", *INITIATIVE_MANY_FIELDS)


class _DistinctIdCount(models.Func):
    """How many distinct non-null ids the given id arrays hold together."""

    template = "(SELECT count(DISTINCT u.id) FROM unnest(%(expressions)s) AS u(id))"
    arg_joiner = " || "
    output_field = models.IntegerField()


def _spanned_departments() -> models.Func:
    """Distinct departments an initiative touches: lead, participating and its team's people.

    Built from OuterRef, not raw SQL naming the table, so it still refers to the right row
    when the queryset is nested in a report's subquery. The ids are gathered with two
    index-only array subqueries and counted once, so the cost per initiative does not grow
    with the number of departments (a scan of every department per row did).
    """
    initiative = OuterRef("pk")
    return _DistinctIdCount(
        models.Func(F("lead_department_id"), template="ARRAY[%(expressions)s]::bigint[]"),
        ArraySubquery(
            Initiative.departments.through.objects.filter(initiative_id=initiative).values(
                "department_id"
            )
        ),
        ArraySubquery(
            TeamRole.objects.filter(initiative_id=initiative).values("person__department_id")
        ),
    )


class InitiativeQuerySet(models.QuerySet):
    def live(self) -> InitiativeQuerySet:
        return self.filter(archived_at__isnull=True)

    def open(self) -> InitiativeQuerySet:
        """Live initiatives still being worked on (neither retired nor stopped)."""
        return self.live().exclude(stage__in=CLOSED_STAGES)

    def with_alignment_level(self) -> InitiativeQuerySet:
        """Annotate `alignment_strength` (0–3) and `alignment_level` (none … strong).

        Counted against the live goals of the active vision only: an alignment to a retired
        vision's goal no longer steers anything. The database keeps the strongest one per
        initiative (`registry.selectors.rollup.InitiativeRollup`), so this is a join, not a
        subquery.
        """
        # The level is looked up by strength in an array, in SQL, so it can filter and order.
        levels = ", ".join(f"'{ALIGNMENT_LEVEL_BY_STRENGTH[n]}'" for n in range(4))
        return self.annotate(
            alignment_strength=Coalesce(F("rollup__alignment_strength"), 0)
        ).annotate(
            alignment_level=models.Func(
                F("alignment_strength"),
                template=f"(ARRAY[{levels}]::varchar[])[%(expressions)s + 1]",
                output_field=models.CharField(),
            )
        )

    def alignment_level_in(self, levels: list[str]) -> InitiativeQuerySet:
        """Initiatives whose alignment level is one of `levels` (`with_alignment_level`'s
        rule), on the kept strength, which an index serves.
        """
        strength_of = {str(level): n for n, level in ALIGNMENT_LEVEL_BY_STRENGTH.items()}
        wanted = sorted({strength_of[str(level)] for level in levels})
        if wanted == [0, 1, 2, 3]:
            return self  # every level
        condition = Q(rollup__alignment_strength__in=wanted)
        if 0 in wanted:
            condition |= Q(rollup__isnull=True)
        return self.filter(condition)

    def with_primary_goal(self) -> InitiativeQuerySet:
        """Annotate `primary_goal_id` and `primary_goal_code`: the primary alignment's goal,
        if it is a live goal of the active vision (kept like the strength).
        """
        return self.annotate(
            primary_goal_id=F("rollup__primary_goal_id"),
            primary_goal_code=F("rollup__primary_goal__code"),
        )

    def with_silo_flag(self) -> InitiativeQuerySet:
        """Annotate `spanned_departments` and `is_silo` (one department or fewer)."""
        return self.annotate(spanned_departments=_spanned_departments()).annotate(
            is_silo=models.ExpressionWrapper(
                Q(spanned_departments__lte=1), output_field=models.BooleanField()
            )
        )

    def with_derived(self) -> InitiativeQuerySet:
        return self.with_alignment_level().with_primary_goal().with_silo_flag()

    def active_in(self, period: str) -> InitiativeQuerySet:
        """Initiatives whose start/end dates overlap the quarter (open ends count as open)."""
        return self.filter(active_in_condition(period))


def active_in_condition(period: str) -> Q:
    """`InitiativeQuerySet.active_in`'s rule on the start and end dates, for any row that has
    them (a deleted initiative's history too)."""
    start, end = quarter_bounds(period)
    return (Q(start_date__isnull=True) | Q(start_date__lte=end)) & (
        Q(end_date__isnull=True) | Q(end_date__gte=start)
    )


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    exclude=["search_vector"],
    meta=event_indexes("init", tombstones=True),
)
class Initiative(TimestampedModel):
    """One AI initiative in customer experience."""

    key = models.CharField(
        _("key"), max_length=20, unique=True, editable=False, db_default=NextInitiativeKey()
    )
    name = models.CharField(_("name"), max_length=200)
    summary = models.TextField(_("summary"), blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=choices.Kind.choices)
    stage = models.CharField(
        _("stage"), max_length=20, choices=Stage.choices, default=Stage.IDEA, editable=False
    )
    paused_from = models.CharField(
        _("paused from"),
        max_length=20,
        choices=Stage.choices,
        blank=True,
        editable=False,
        help_text=_("The stage a paused initiative returns to."),
    )
    owner = models.ForeignKey(
        Person,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_initiatives",
    )
    lead_department = models.ForeignKey(
        Department,
        verbose_name=_("lead department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_initiatives",
    )
    departments = models.ManyToManyField(
        Department,
        verbose_name=_("participating departments"),
        blank=True,
        related_name="initiatives",
    )
    touchpoints = ArrayField(
        models.CharField(max_length=30, choices=choices.Touchpoint.choices),
        verbose_name=_("touchpoints"),
        default=list,
        blank=True,
    )
    journey_stages = ArrayField(
        models.CharField(max_length=30, choices=choices.JourneyStage.choices),
        verbose_name=_("journey stages"),
        default=list,
        blank=True,
    )
    interaction_mode = models.CharField(
        _("interaction mode"),
        max_length=10,
        choices=choices.InteractionMode.choices,
        default=choices.InteractionMode.REACTIVE,
    )
    systems = models.ManyToManyField(
        System, verbose_name=_("systems used"), blank=True, related_name="initiatives"
    )
    customer_segments = ArrayField(
        models.CharField(max_length=60),
        verbose_name=_("customer segments"),
        default=list,
        blank=True,
    )
    autonomy = models.CharField(
        _("autonomy"),
        max_length=20,
        choices=choices.Autonomy.choices,
        default=choices.Autonomy.HUMAN_IN_THE_LOOP,
    )
    budget_planned = models.DecimalField(
        _("planned budget"), max_digits=14, decimal_places=2, default=Decimal(0)
    )
    budget_spent = models.DecimalField(
        _("budget spent"), max_digits=14, decimal_places=2, default=Decimal(0)
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="EUR",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use an ISO 4217 code such as EUR."))],
    )
    expected_benefit = models.TextField(_("expected benefit"), blank=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    target_date = models.DateField(_("target date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    risk_tier = models.CharField(
        _("risk tier"),
        max_length=12,
        choices=choices.RiskTier.choices,
        default=choices.RiskTier.MINIMAL,
        help_text=_("EU AI Act risk tier."),
    )
    customer_facing = models.BooleanField(_("customer-facing"), default=False)
    uses_personal_data = models.BooleanField(_("uses personal data"), default=False)
    confidential = models.BooleanField(
        _("confidential"),
        default=False,
        help_text=_("Visible only to the PMO and the initiative's team."),
    )
    hypothesis = models.TextField(_("hypothesis"), blank=True)
    success_criteria = models.TextField(_("success criteria"), blank=True)
    learnings = models.TextField(_("learnings"), blank=True)
    tags = models.ManyToManyField(
        Tag, verbose_name=_("tags"), blank=True, related_name="initiatives"
    )
    source = models.CharField(
        _("source"),
        max_length=60,
        blank=True,
        default="",
        help_text=_("The tool this initiative is synced from, e.g. jira."),
    )
    external_id = models.CharField(_("external id"), max_length=200, null=True, blank=True)
    external_url = models.URLField(_("external URL"), max_length=500, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True, editable=False)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("archived by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    search_vector = models.GeneratedField(
        expression=SearchVector(
            "key", "name", "summary", "hypothesis", "learnings", config="english"
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    objects = InitiativeQuerySet.as_manager()

    class Meta:
        ordering = ["key"]
        verbose_name = _("initiative")
        verbose_name_plural = _("initiatives")
        indexes = [
            models.Index(fields=["stage"], name="registry_init_stage_idx"),
            models.Index(fields=["kind"], name="registry_init_kind_idx"),
            models.Index(fields=["risk_tier"], name="registry_init_risk_idx"),
            models.Index(fields=["updated_at", "id"], name="registry_init_feed_idx"),
            models.Index(fields=["target_date"], name="registry_init_target_idx"),
            models.Index(fields=["budget_planned"], name="registry_init_budget_idx"),
            models.Index(fields=["start_date", "end_date"], name="registry_init_dates_idx"),
            models.Index(
                fields=["key"],
                condition=Q(archived_at__isnull=True),
                name="registry_init_live_idx",
            ),
            # Exact counts of the live portfolio read indexes, not the table (see
            # registry.selectors.counting), with what visibility reads (confidential, owner).
            # The live ids, for filters that join or semi-join (goal, alignment, department,
            # tag, …):
            models.Index(
                fields=["id"],
                include=["confidential", "owner"],
                condition=Q(archived_at__isnull=True),
                name="registry_init_live_id_idx",
            ),
            # … and the filters on the initiative's own short columns, stage leading: at a
            # million initiatives a count by stage reads a range of it, by kind, risk tier or
            # source all of it (77 MB), instead of the 1 GB table.
            models.Index(
                fields=["stage", "kind", "risk_tier", "source", "id"],
                include=["confidential", "owner"],
                condition=Q(archived_at__isnull=True),
                name="registry_init_live_dims_idx",
            ),
            GinIndex(fields=["touchpoints"], name="registry_init_touch_gin"),
            GinIndex(fields=["journey_stages"], name="registry_init_journey_gin"),
            GinIndex(fields=["customer_segments"], name="registry_init_segment_gin"),
            GinIndex(fields=["search_vector"], name="registry_init_search_gin"),
            # Kind × touchpoint × journey stage, the first overlap rule's key (DESIGN §2): the
            # batch overlap lookup probes it once per initiative. Function: migration 0010.
            GinIndex(
                models.Func(
                    F("kind"),
                    F("touchpoints"),
                    F("journey_stages"),
                    function="registry_overlap_keys",
                    output_field=ArrayField(models.CharField(max_length=30)),
                ),
                name="registry_init_overlap_gin",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(external_id__isnull=False, archived_at__isnull=True),
                name="registry_initiative_unique_external_id",
                violation_error_message=_(
                    "An initiative with this external id already exists for this source."
                ),
            ),
            models.CheckConstraint(
                condition=Q(budget_planned__gte=0) & Q(budget_spent__gte=0),
                name="registry_initiative_budget_not_negative",
                violation_error_message=_("Budgets cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(target_date__isnull=True)
                | Q(target_date__gte=F("start_date")),
                name="registry_initiative_target_after_start",
                violation_error_message=_("The target date must not precede the start date."),
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="registry_initiative_end_after_start",
                violation_error_message=_("The end date must not precede the start date."),
            ),
            models.CheckConstraint(
                condition=~Q(risk_tier=choices.RiskTier.PROHIBITED, stage__in=BEYOND_PROPOSED),
                name="registry_initiative_prohibited_not_beyond_proposed",
                violation_error_message=_(
                    "An initiative of the prohibited risk tier cannot go beyond proposed."
                ),
            ),
            models.CheckConstraint(
                condition=Q(external_id__isnull=True) | ~Q(source=""),
                name="registry_initiative_external_id_needs_source",
                violation_error_message=_("An external id needs a source."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} · {self.name}" if self.key else self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:registry_initiative_change", args=[self.pk])

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


pghistory.track(
    pghistory.InsertEvent("department.add"),
    pghistory.DeleteEvent("department.remove"),
    obj_field=None,
    model_name="InitiativeDepartmentEvent",
    app_label="registry",
    meta=event_indexes("initdept", per_object=False),
)(Initiative.departments.through)
pghistory.track(
    pghistory.InsertEvent("system.add"),
    pghistory.DeleteEvent("system.remove"),
    obj_field=None,
    model_name="InitiativeSystemEvent",
    app_label="registry",
    meta=event_indexes("initsys", per_object=False),
)(Initiative.systems.through)
pghistory.track(
    pghistory.InsertEvent("tag.add"),
    pghistory.DeleteEvent("tag.remove"),
    obj_field=None,
    model_name="InitiativeTagEvent",
    app_label="registry",
    meta=event_indexes("inittag", per_object=False),
)(Initiative.tags.through)


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    meta=event_indexes("align"),
)
class Alignment(TimestampedModel):
    """How an initiative serves a CX goal."""

    initiative = models.ForeignKey(
        Initiative,
        verbose_name=_("initiative"),
        on_delete=models.CASCADE,
        related_name="alignments",
    )
    goal = models.ForeignKey(
        Goal, verbose_name=_("goal"), on_delete=models.PROTECT, related_name="alignments"
    )
    strength = models.PositiveSmallIntegerField(
        _("strength"), choices=choices.AlignmentStrength.choices
    )
    is_primary = models.BooleanField(_("primary"), default=False)
    expected_impact = models.DecimalField(
        _("expected impact"),
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("In the goal's unit."),
    )
    rationale = models.TextField(_("rationale"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    class Meta:
        ordering = ["initiative", "-is_primary", "-strength"]
        verbose_name = _("alignment")
        verbose_name_plural = _("alignments")
        indexes = [
            # With the initiative, so that a goal filter's count reads this index only.
            models.Index(
                fields=["goal", "strength"],
                include=["initiative"],
                name="registry_align_goal_idx",
            ),
            models.Index(fields=["updated_at", "id"], name="registry_align_feed_idx"),
            # Primary goal → initiatives, index-only: the goal-and-system overlap rule
            # (DESIGN §2) joins a batch's goals with its systems. Migration 0010.
            models.Index(
                fields=["goal", "initiative"],
                condition=Q(is_primary=True),
                name="registry_align_primary_goal",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "goal"],
                name="registry_alignment_unique_goal",
                violation_error_message=_("This initiative is already aligned to this goal."),
            ),
            models.UniqueConstraint(
                fields=["initiative"],
                condition=Q(is_primary=True),
                name="registry_alignment_one_primary",
                violation_error_message=_("An initiative has only one primary alignment."),
            ),
            models.CheckConstraint(
                condition=Q(strength__gte=1, strength__lte=3),
                name="registry_alignment_strength_range",
                violation_error_message=_("Strength must be 1 (weak), 2 (moderate) or 3 (strong)."),
            ),
        ]
        triggers = [
            # "Exactly one primary": the unique constraint gives at most one; this deferred
            # check gives at least one, once the transaction's writes are all done.
            pgtrigger.Trigger(
                name="alignment_has_primary",
                when=pgtrigger.After,
                operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
                timing=pgtrigger.Deferred,
                func="""
                    IF EXISTS (
                        SELECT 1 FROM registry_alignment a
                        WHERE a.initiative_id IN (NEW.initiative_id, OLD.initiative_id)
                        GROUP BY a.initiative_id
                        HAVING NOT bool_or(a.is_primary)
                    ) THEN
                        RAISE EXCEPTION USING
                            ERRCODE = 'check_violation',
                            CONSTRAINT = 'registry_alignment_has_primary',
                            MESSAGE = 'An aligned initiative needs exactly one primary alignment.';
                    END IF;
                    RETURN NULL;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id} → {self.goal_id} ({self.get_strength_display()})"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    meta=event_indexes("dep"),
)
class Dependency(models.Model):
    """Initiative `from_initiative` needs initiative `to_initiative`."""

    from_initiative = models.ForeignKey(
        Initiative,
        verbose_name=_("initiative"),
        on_delete=models.CASCADE,
        related_name="dependencies",
    )
    to_initiative = models.ForeignKey(
        Initiative,
        verbose_name=_("depends on"),
        on_delete=models.CASCADE,
        related_name="dependents",
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dependency")
        verbose_name_plural = _("dependencies")
        constraints = [
            models.UniqueConstraint(
                fields=["from_initiative", "to_initiative"],
                name="registry_dependency_unique",
                violation_error_message=_("This dependency already exists."),
            ),
            models.CheckConstraint(
                condition=~Q(from_initiative=F("to_initiative")),
                name="registry_dependency_not_self",
                violation_error_message=_("An initiative cannot depend on itself."),
            ),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="dependency_no_cycle",
                when=pgtrigger.After,
                operation=pgtrigger.Insert | pgtrigger.Update,
                func="""
                    IF EXISTS (
                        WITH RECURSIVE reachable(id) AS (
                            SELECT NEW.to_initiative_id
                            UNION
                            SELECT d.to_initiative_id FROM registry_dependency d
                            JOIN reachable r ON d.from_initiative_id = r.id
                        )
                        SELECT 1 FROM reachable WHERE id = NEW.from_initiative_id
                    ) THEN
                        RAISE EXCEPTION USING
                            ERRCODE = 'check_violation',
                            CONSTRAINT = 'registry_dependency_no_cycle',
                            MESSAGE = 'This dependency would create a cycle.';
                    END IF;
                    RETURN NULL;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_initiative_id} → {self.to_initiative_id}"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    meta=event_indexes("team"),
)
class TeamRole(models.Model):
    """A person's role on an initiative."""

    initiative = models.ForeignKey(
        Initiative, verbose_name=_("initiative"), on_delete=models.CASCADE, related_name="team"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="team_roles"
    )
    role = models.CharField(_("role"), max_length=20, choices=choices.TeamRoleKind.choices)

    class Meta:
        ordering = ["initiative", "role", "person"]
        verbose_name = _("team role")
        verbose_name_plural = _("team roles")
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "person", "role"],
                name="registry_teamrole_unique",
                violation_error_message=_("This person already has this role on the initiative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_role_display()}"


class Note(models.Model):
    """A dated journal entry on an initiative, a goal or a review."""

    initiative = models.ForeignKey(
        Initiative,
        verbose_name=_("initiative"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notes",
    )
    goal = models.ForeignKey(
        Goal,
        verbose_name=_("goal"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notes",
    )
    review = models.ForeignKey(
        "Review",
        verbose_name=_("review"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notes",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(
        _("kind"), max_length=10, choices=choices.NoteKind.choices, default=choices.NoteKind.INFO
    )
    text = models.TextField(_("text"))

    class Meta:
        ordering = ["-at"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(initiative__isnull=False, goal__isnull=True, review__isnull=True)
                    | Q(initiative__isnull=True, goal__isnull=False, review__isnull=True)
                    | Q(initiative__isnull=True, goal__isnull=True, review__isnull=False)
                ),
                name="registry_note_one_subject",
                violation_error_message=_(
                    "A note belongs to exactly one initiative, goal or review."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.at:%Y-%m-%d}"


class StageChange(models.Model):
    """One lifecycle transition; written by the lifecycle module, never edited."""

    initiative = models.ForeignKey(
        Initiative,
        verbose_name=_("initiative"),
        on_delete=models.CASCADE,
        related_name="stage_changes",
    )
    from_stage = models.CharField(_("from stage"), max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("to stage"), max_length=20, choices=Stage.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(_("actor"), max_length=150, blank=True)
    imported_from = models.CharField(
        _("imported from"),
        max_length=60,
        blank=True,
        help_text=_("Set when the initiative was brought in at this stage by sync or import."),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["initiative", "at", "id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        triggers = [
            pgtrigger.Protect(name="stagechange_append_only", operation=pgtrigger.Update),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or '∅'} → {self.to_stage}"
