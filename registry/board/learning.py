"""The dashboard's voice and learning panels: which customer-facing AI has no passed voice
review, and what each recent quarter's pilots taught (hypotheses confirmed, refuted, left
open) — each figure one click from the list behind it.

Figures come from `registry.selectors.learning`, as the API's report and list do, so the
dashboard, the report and the learning list always agree; two queries whatever the size.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.urls import reverse

from registry.choices import LearningOutcome, Stage, VoiceReviewOutcome
from registry.selectors import learning as selectors

VOICE_ROWS_SHOWN = 10


def learnings_url(**params: Any) -> str:
    """The learning library's changelist, filtered."""
    query = QueryDict(mutable=True)
    for name, value in params.items():
        if value not in (None, ""):
            query[name] = str(value)
    return f"{reverse('admin:registry_learning_changelist')}?{query.urlencode()}"


def voice_panel(*, user: Any, period: str | None) -> dict[str, Any]:
    rows = selectors.voice_review_gaps(user=user, period=period)
    shown = [
        {
            **row,
            "stage_label": Stage(row["stage"]).label,
            "outcome_label": (
                VoiceReviewOutcome(row["latest_voice_outcome"]).label
                if row["latest_voice_outcome"]
                else None
            ),
            "url": reverse("admin:registry_initiative_change", args=[row["id"]]),
        }
        for row in rows[:VOICE_ROWS_SHOWN]
    ]
    report = reverse("api:report-voice-review-gaps")
    return {
        "count": len(rows),
        "rows": shown,
        "report_url": f"{report}?period={period}" if period else report,
    }


def learning_panel(*, user: Any) -> dict[str, Any]:
    quarters = []
    for row in selectors.learning_outcomes_by_quarter(user):
        cells = [
            {
                "outcome": outcome,
                "label": LearningOutcome(outcome).label,
                "count": row[outcome],
                "url": learnings_url(quarter=row["period"], outcome__exact=outcome),
            }
            for outcome in LearningOutcome.values
        ]
        quarters.append(
            {
                "period": row["period"],
                "cells": cells,
                "total": row["total"],
                "url": learnings_url(quarter=row["period"]),
            }
        )
    return {"quarters": quarters, "url": learnings_url()}


def learning_panels(*, user: Any, period: str | None) -> dict[str, Any]:
    """The dashboard context of both panels."""
    return {
        "voice_gaps": voice_panel(user=user, period=period),
        "learning_quarters": learning_panel(user=user),
    }
