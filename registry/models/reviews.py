"""Quarterly reviews and their decisions; a closed review never changes (database triggers)."""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry import choices
from registry.models.base import TimestampedModel, event_indexes
from registry.models.initiatives import Initiative
from registry.models.strategy import Vision
from registry.quarters import QUARTER_SQL_PATTERN


class Review(TimestampedModel):
    """A quarterly portfolio review; once closed, it and its decisions never change."""

    vision = models.ForeignKey(
        Vision, verbose_name=_("vision"), on_delete=models.PROTECT, related_name="reviews"
    )
    period = models.CharField(
        _("period"),
        max_length=7,
        validators=[RegexValidator(r"\A[0-9]{4}-Q[1-4]\Z", _("Use a quarter like 2026-Q4."))],
    )
    held_on = models.DateField(_("held on"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=choices.ReviewStatus.choices,
        default=choices.ReviewStatus.OPEN,
    )
    summary = models.TextField(_("summary"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-period"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.UniqueConstraint(
                fields=["vision", "period"],
                name="registry_review_unique_period",
                violation_error_message=_("This vision already has a review for that quarter."),
            ),
            models.CheckConstraint(
                condition=Q(period__regex=QUARTER_SQL_PATTERN),
                name="registry_review_period_is_quarter",
                violation_error_message=_("The period must be a quarter like 2026-Q4."),
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | Q(status="closed", closed_at__isnull=False),
                name="registry_review_closed_at_matches_status",
                violation_error_message=_("A closed review has a closing time; an open one not."),
            ),
        ]
        triggers = [
            # A closed review is a record of the quarter: it is never reopened or edited.
            pgtrigger.Protect(
                name="review_frozen_when_closed",
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=pgtrigger.Q(old__status="closed"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} · {self.vision}"

    @property
    def is_closed(self) -> bool:
        return self.status == choices.ReviewStatus.CLOSED


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    meta=event_indexes("decision"),
)
class ReviewDecision(models.Model):
    """The review's verdict on one initiative, with a snapshot frozen when it was made."""

    review = models.ForeignKey(
        Review, verbose_name=_("review"), on_delete=models.CASCADE, related_name="decisions"
    )
    initiative = models.ForeignKey(
        Initiative,
        verbose_name=_("initiative"),
        on_delete=models.PROTECT,
        related_name="review_decisions",
    )
    decision = models.CharField(_("decision"), max_length=10, choices=choices.Decision.choices)
    rationale = models.TextField(_("rationale"), blank=True)
    snapshot = models.JSONField(_("snapshot"), default=dict, editable=False)
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["review", "initiative"]
        verbose_name = _("review decision")
        verbose_name_plural = _("review decisions")
        constraints = [
            models.UniqueConstraint(
                fields=["review", "initiative"],
                name="registry_reviewdecision_unique",
                violation_error_message=_("This review already has a decision on this initiative."),
            ),
        ]
        triggers = [
            # A closed review is a record of the quarter: its decisions never change again.
            pgtrigger.Trigger(
                name="reviewdecision_frozen_when_closed",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
                func="""
                    IF EXISTS (
                        SELECT 1 FROM registry_review r
                        WHERE r.id IN (NEW.review_id, OLD.review_id)
                          AND r.status = 'closed'
                    ) THEN
                        RAISE EXCEPTION USING
                            ERRCODE = 'check_violation',
                            CONSTRAINT = 'registry_reviewdecision_frozen_when_closed',
                            MESSAGE = 'The review is closed; its decisions can no longer change.';
                    END IF;
                    RETURN COALESCE(NEW, OLD);
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.review.period} · {self.initiative_id}: {self.get_decision_display()}"
