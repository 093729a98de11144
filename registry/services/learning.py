"""Recording voice reviews and learnings: the one write path for the admin, the API and the demo.

Voice reviews are the PMO's (`permissions.can_record_voice_review`): a passed one opens the
pilot → scaling gate of customer-facing AI, so the team cannot grant it to itself. A review
is a judgement at a time and is never edited; a later one supersedes it.

Learnings are written by whoever may change the initiative (`permissions.can_record_learning`),
for a pilot (or what a pilot became), a stopped initiative, or a review decision on the
initiative. They may be corrected later; the version goes up in the database.

An archived initiative takes neither until it is restored. Each write runs under the
initiative's row lock, so it cannot race an archive or a lifecycle move.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from registry import permissions as rules
from registry.choices import LEARNING_STAGES, LearningOutcome, Stage, VoiceReviewOutcome
from registry.models import (
    Initiative,
    Learning,
    ReviewDecision,
    VoiceReview,
    speaks_to_customers,
)
from registry.permissions import Actor
from registry.services.errors import ForbiddenError, InvalidError, StateConflictError

LEARNING_FIELDS = ("hypothesis", "outcome", "effect", "lesson", "recorded_on", "review_decision")


def _locked_initiative(initiative: Initiative) -> Initiative:
    locked = Initiative.objects.select_for_update().get(pk=initiative.pk)
    if locked.archived_at is not None:
        raise StateConflictError(
            _("%(key)s is archived; restore it first.") % {"key": locked.key}, code="archived"
        )
    return locked


@transaction.atomic
def voice_review_record(
    *,
    actor: Any,
    initiative: Initiative,
    outcome: str,
    note: str = "",
    reviewed_at: datetime.datetime | None = None,
) -> VoiceReview:
    """Record the PMO's review of how a customer-facing AI speaks."""
    who = Actor.of(actor)
    if who.user is not None and not rules.can_record_voice_review(who.user, who.token):
        raise ForbiddenError(_("Only the PMO records voice reviews."), code="permission_denied")
    locked = _locked_initiative(initiative)
    if not speaks_to_customers(locked):
        raise InvalidError(
            _(
                "%(key)s does not speak to customers: voice reviews are for customer-facing "
                "chatbots, voicebots and generative content."
            )
            % {"key": locked.key},
            code="not_customer_facing",
            field="initiative",
        )
    if outcome not in VoiceReviewOutcome.values:
        raise InvalidError(
            _("'%(value)s' is not a voice review outcome.") % {"value": outcome},
            code="invalid_choice",
            field="outcome",
        )
    return VoiceReview.objects.create(
        initiative=locked,
        outcome=outcome,
        note=note,
        reviewed_at=reviewed_at or timezone.now(),
        reviewer=who.login,
        reviewer_name=who.name,
    )


def _learning_refusal(actor: Actor, initiative: Initiative, data: dict[str, Any]) -> None:
    if actor.user is not None and not rules.can_record_learning(
        actor.user, initiative, actor.token
    ):
        raise ForbiddenError(
            _("You may not record learnings of %(key)s.") % {"key": initiative.key},
            code="permission_denied",
        )
    decision: ReviewDecision | None = data.get("review_decision")
    if decision is not None and decision.initiative_id != initiative.pk:
        raise InvalidError(
            _("That review decision is about another initiative, not %(key)s.")
            % {"key": initiative.key},
            code="other_initiative",
            field="review_decision",
        )
    stage = initiative.paused_from if initiative.stage == Stage.PAUSED else initiative.stage
    if decision is None and stage not in LEARNING_STAGES:
        raise InvalidError(
            _(
                "%(key)s is at %(stage)s: learnings are recorded for pilots (and what they "
                "became), stopped initiatives and review decisions."
            )
            % {"key": initiative.key, "stage": Stage(initiative.stage).label},
            code="not_tried_yet",
            field="initiative",
        )
    for name in ("hypothesis", "lesson"):
        if name in data and not str(data[name] or "").strip():
            raise InvalidError(_("This field may not be blank."), code="blank", field=name)
    if "outcome" in data and data["outcome"] not in LearningOutcome.values:
        raise InvalidError(
            _("'%(value)s' is not a learning outcome.") % {"value": data["outcome"]},
            code="invalid_choice",
            field="outcome",
        )


@transaction.atomic
def learning_record(*, actor: Any, initiative: Initiative, data: dict[str, Any]) -> Learning:
    """Record what a pilot, a stopped initiative or a review decision taught."""
    who = Actor.of(actor)
    locked = _locked_initiative(initiative)
    values = {name: data[name] for name in LEARNING_FIELDS if name in data}
    for required in ("hypothesis", "outcome", "lesson"):
        values.setdefault(required, "")
    _learning_refusal(who, locked, values)
    return Learning.objects.create(initiative=locked, recorded_by=who.login, **values)


@transaction.atomic
def learning_update(*, actor: Any, learning: Learning, data: dict[str, Any]) -> Learning:
    """Correct a recorded learning (its initiative stays); the version goes up."""
    who = Actor.of(actor)
    stored = Learning.objects.select_for_update().get(pk=learning.pk)
    locked = _locked_initiative(stored.initiative)
    values = {name: data[name] for name in LEARNING_FIELDS if name in data}
    merged = {"review_decision": stored.review_decision, **values}
    _learning_refusal(who, locked, merged)
    for name, value in values.items():
        setattr(stored, name, value)
    stored.version = F("version") + 1
    stored.save(update_fields=[*values, "version", "updated_at"])
    stored.refresh_from_db()
    return stored
