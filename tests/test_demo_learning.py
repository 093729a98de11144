"""The demo portfolio shows how the AI speaks and what pilots taught: voice principles on the
active vision, voice reviews (one customer-facing pilot scaled only after its passed review,
others still waiting or failed), and learnings of every outcome across recent quarters — a
confidential one among them, which outsiders never count.
"""

from __future__ import annotations

import pytest

from registry import permissions
from registry.choices import LearningOutcome, Stage
from registry.models import Learning, Vision, VoiceReview
from registry.selectors import learning as selectors
from tests.api.support import make_user
from tests.test_demo import demo, initiative  # noqa: F401


@pytest.mark.django_db
class TestDemoVoiceAndLearnings:
    def test_the_vision_speaks_with_principles(self, demo):  # noqa: F811
        vision = Vision.objects.active().get()
        for field in ("voice_tone", "voice_language", "voice_ai_disclosure", "voice_handover"):
            assert len(getattr(vision, field)) > 40, field

    def test_the_billing_bot_scaled_after_a_passed_voice_review(self, demo):  # noqa: F811
        bot = initiative(demo, "billing-assistant")
        assert bot.stage == Stage.SCALING
        outcomes = list(
            VoiceReview.objects.filter(initiative=bot)
            .order_by("reviewed_at")
            .values_list("outcome", flat=True)
        )
        assert outcomes == ["needs_changes", "passed"]

    def test_the_voice_gaps_name_real_customer_facing_ai(self, demo):  # noqa: F811
        pmo = make_user("demo-voice-pmo", permissions.PMO)
        gaps = {row["key"]: row for row in selectors.voice_review_gaps(user=pmo)}
        voicebot = initiative(demo, "meter-voicebot")
        assert gaps[voicebot.key]["latest_voice_outcome"] == "failed"
        assert initiative(demo, "app-invoice-bot").key in gaps
        assert initiative(demo, "billing-assistant").key not in gaps
        assert initiative(demo, "call-summaries").key not in gaps  # for agents, not customers

    def test_learnings_of_every_outcome_and_a_confidential_one(self, demo):  # noqa: F811
        assert set(Learning.objects.values_list("outcome", flat=True)) == set(
            LearningOutcome.values
        )
        pmo = make_user("demo-learning-pmo", permissions.PMO)
        viewer = make_user("demo-learning-viewer", permissions.VIEWER)
        everything = selectors.visible_learnings(pmo).count()
        seen = selectors.visible_learnings(viewer).count()
        assert everything == Learning.objects.count() == seen + 1  # payment defaults: confidential
