"""How the AI speaks, and what pilots teach: voice reviews and the learning library.

The article asks two things that a list of projects does not hold. Customer-facing AI speaks
in the company's name, so before a chatbot, voicebot or generative-content pilot scales, the
PMO reviews how it speaks against the vision's voice principles (a `VoiceReview`; the
pilot → scaling gate asks for a passed one). And pilots are experiments: each records what it
set out to show, what came of it and the lesson (`Learning`), searchable so the next team
with the same idea finds it ("three pilots tried this; two refuted it").

Which initiatives speak to customers is one rule, `speaks_to_customers` (Python, for one
row) and `speaks_to_customers_condition` (SQL, for lists): a chatbot or voicebot marked
customer-facing or serving a touchpoint, or generative content marked customer-facing.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry import choices
from registry.models.base import TimestampedModel, event_indexes
from registry.models.initiatives import Initiative
from registry.models.reviews import ReviewDecision


def speaks_to_customers(initiative: Initiative) -> bool:
    """A chatbot or voicebot that customers meet (marked customer-facing, or serving a
    touchpoint: a bot at a touchpoint talks there), or generative content marked
    customer-facing (call summaries for agents are generated too, but customers never read
    them)."""
    if initiative.kind in choices.CONVERSATIONAL_KINDS:
        return bool(initiative.customer_facing) or bool(initiative.touchpoints)
    return initiative.kind in choices.SPEAKING_KINDS and bool(initiative.customer_facing)


def speaks_to_customers_condition(prefix: str = "") -> Q:
    """`speaks_to_customers` as a condition on initiatives (at `prefix`, e.g. "initiative__")."""
    facing = Q(**{f"{prefix}customer_facing": True})
    conversational = Q(**{f"{prefix}kind__in": sorted(choices.CONVERSATIONAL_KINDS)}) & (
        facing | ~Q(**{f"{prefix}touchpoints": []})
    )
    return conversational | (Q(**{f"{prefix}kind__in": sorted(choices.SPEAKING_KINDS)}) & facing)


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    meta=event_indexes("voice"),
)
class VoiceReview(TimestampedModel):
    """The PMO's check of how a customer-facing AI speaks, against the voice principles.

    A record of a judgement at a time: never edited; a later review supersedes it.
    """

    initiative = models.ForeignKey(
        Initiative,
        verbose_name=_("initiative"),
        on_delete=models.CASCADE,
        related_name="voice_reviews",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), default=timezone.now)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=choices.VoiceReviewOutcome.choices
    )
    note = models.TextField(
        _("note"),
        blank=True,
        help_text=_("What was checked: tone, language, AI disclosure, hand-over to a person."),
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    reviewer_name = models.CharField(_("reviewer"), max_length=150, blank=True, editable=False)

    class Meta:
        ordering = ["initiative", "-reviewed_at", "-id"]
        verbose_name = _("voice review")
        verbose_name_plural = _("voice reviews")
        indexes = [
            models.Index(
                fields=["initiative", "-reviewed_at", "-id"], name="registry_voicerev_latest_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} · {self.reviewed_at:%Y-%m-%d}"


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    exclude=["search_vector"],
    meta=event_indexes("learning"),
)
class Learning(TimestampedModel):
    """What a pilot, a stopped initiative or a review decision taught: the hypothesis, what
    came of it, the measured effect against the success criteria, and the lesson."""

    initiative = models.ForeignKey(
        Initiative,
        verbose_name=_("initiative"),
        on_delete=models.CASCADE,
        related_name="learning_records",
    )
    review_decision = models.ForeignKey(
        ReviewDecision,
        verbose_name=_("review decision"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="learnings",
    )
    hypothesis = models.TextField(_("hypothesis"))
    outcome = models.CharField(_("outcome"), max_length=20, choices=choices.LearningOutcome.choices)
    effect = models.TextField(
        _("measured effect"),
        blank=True,
        help_text=_("What was measured, against the success criteria."),
    )
    lesson = models.TextField(_("lesson"))
    recorded_on = models.DateField(
        _("recorded on"),
        default=timezone.localdate,
        help_text=_("The day the learning was drawn; its quarter is the one it reports in."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    search_vector = models.GeneratedField(
        expression=SearchVector("hypothesis", "effect", "lesson", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-recorded_on", "-id"]
        verbose_name = _("learning")
        verbose_name_plural = _("learnings")
        indexes = [
            GinIndex(fields=["search_vector"], name="registry_learning_search_gin"),
            models.Index(fields=["recorded_on", "outcome"], name="registry_learning_quarter_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} · {self.hypothesis[:60]}"
