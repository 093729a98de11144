"""The active vision's report figures, kept current by the database on every write
(`registry.selectors.rollup` reads them; migration 0009 holds the triggers).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.models.initiatives import Initiative
from registry.models.strategy import Goal


class InitiativeRollup(models.Model):
    """What one initiative contributes to the report rollups (written by triggers only)."""

    initiative = models.OneToOneField(
        Initiative,
        primary_key=True,
        on_delete=models.DO_NOTHING,  # the initiatives' delete trigger removes it
        db_constraint=False,
        related_name="rollup",
    )
    live = models.BooleanField()
    confidential = models.BooleanField()
    open = models.BooleanField()
    start_quarter = models.IntegerField(null=True)
    end_quarter = models.IntegerField(null=True)
    stage = models.CharField(max_length=20)
    kind = models.CharField(max_length=30)
    lead_department_id = models.BigIntegerField(null=True)
    risk_tier = models.CharField(max_length=12)
    interaction_mode = models.CharField(max_length=10)
    currency = models.CharField(max_length=3)
    budget_planned = models.DecimalField(max_digits=14, decimal_places=2)
    budget_spent = models.DecimalField(max_digits=14, decimal_places=2)
    alignment_strength = models.PositiveSmallIntegerField(
        help_text=_("Strongest alignment to a live goal of the active vision; 0 for none.")
    )
    goal_ids = ArrayField(models.BigIntegerField())
    goal_strengths = ArrayField(models.SmallIntegerField())
    # Last, as the table has it (registry_rollup_state returns rows of this table's type).
    primary_goal = models.ForeignKey(
        Goal,
        null=True,
        on_delete=models.DO_NOTHING,  # goals are protected while aligned
        db_constraint=False,
        related_name="+",
    )

    class Meta:
        verbose_name = _("initiative rollup")
        indexes = [
            models.Index(fields=["alignment_strength"], name="registry_irollup_strength_idx"),
        ]

    def __str__(self) -> str:
        return f"rollup of initiative {self.initiative_id}"


class PortfolioRollup(models.Model):
    """Deltas of the portfolio report per breakdown cell and slice; summed on read."""

    dimension = models.CharField(max_length=20)
    code = models.TextField(null=True)
    confidential = models.BooleanField()
    open = models.BooleanField()
    aligned = models.BooleanField()
    start_quarter = models.IntegerField(null=True)
    end_quarter = models.IntegerField(null=True)
    initiatives = models.BigIntegerField()
    budget_planned = models.DecimalField(max_digits=20, decimal_places=2)
    budget_spent = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta:
        verbose_name = _("portfolio rollup")

    def __str__(self) -> str:
        return f"{self.dimension}={self.code}: {self.initiatives:+d}"


class AlignmentRollup(models.Model):
    """Deltas of the alignment matrix per (goal, lead department, strength); summed on read."""

    goal_id = models.BigIntegerField()
    lead_department_id = models.BigIntegerField(null=True)
    strength = models.PositiveSmallIntegerField()
    confidential = models.BooleanField()
    start_quarter = models.IntegerField(null=True)
    end_quarter = models.IntegerField(null=True)
    initiatives = models.BigIntegerField()
    budget_planned = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta:
        verbose_name = _("alignment rollup")

    def __str__(self) -> str:
        return f"goal {self.goal_id} × department {self.lead_department_id}: {self.initiatives:+d}"
