"""Vocabularies of the registry and the lifecycle transition table, as data."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class VisionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    # A retired vision is superseded; a retired initiative is out of service (two words in German).
    RETIRED = "retired", pgettext_lazy("vision status", "Retired")


class DepartmentFunction(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SALES = "sales", _("Sales")
    SERVICE = "service", _("Customer service")
    IT = "it", _("IT")
    DATA = "data", _("Data & analytics")
    PRODUCT = "product", _("Product")
    OPERATIONS = "operations", _("Operations")
    LEGAL = "legal", _("Legal & compliance")
    OTHER = "other", _("Other")


class Metric(models.TextChoices):
    NPS = "nps", _("Net Promoter Score")
    CSAT = "csat", _("Customer satisfaction (CSAT)")
    CES = "ces", _("Customer effort score (CES)")
    CHURN_RATE = "churn_rate", _("Churn rate")
    FCR = "fcr", _("First-contact resolution")
    AHT = "aht", _("Average handling time")
    SELF_SERVICE_SHARE = "self_service_share", _("Digital self-service share")
    CONVERSION = "conversion", _("Conversion rate")
    TIME_TO_ANSWER = "time_to_answer", _("Time to answer")
    RETENTION = "retention", _("Retention rate")
    REVENUE_PER_CUSTOMER = "revenue_per_customer", _("Revenue per customer")
    OTHER = "other", _("Other")


class Direction(models.TextChoices):
    INCREASE = "increase", _("Increase")
    DECREASE = "decrease", _("Decrease")


class SystemCategory(models.TextChoices):
    CRM = "crm", _("CRM")
    CDP = "cdp", _("Customer data platform")
    CONTACT_CENTRE = "contact_centre", _("Contact centre")
    DATA_WAREHOUSE = "data_warehouse", _("Data warehouse")
    ECOMMERCE = "ecommerce", _("E-commerce")
    ERP = "erp", _("ERP")
    MODEL_PROVIDER = "model_provider", _("Model / LLM provider")
    VENDOR_PRODUCT = "vendor_product", _("Vendor product")
    OTHER = "other", _("Other")


class Kind(models.TextChoices):
    CHATBOT = "chatbot", _("Chatbot / virtual agent")
    VOICEBOT = "voicebot", _("Voicebot")
    AGENT_ASSIST = "agent_assist", _("Agent assist")
    AUTOMATION = "automation", _("Automation (process, RPA, triage)")
    PREDICTIVE_ANALYTICS = "predictive_analytics", _("Predictive analytics")
    PERSONALIZATION = "personalization", _("Personalization (next best action)")
    GENERATIVE_CONTENT = "generative_content", _("Generative content")
    SENTIMENT_ANALYTICS = "sentiment_analytics", _("Sentiment analytics (voice of the customer)")
    OTHER = "other", _("Other")


class Stage(models.TextChoices):
    IDEA = "idea", _("Idea")
    PROPOSED = "proposed", _("Proposed")
    APPROVED = "approved", _("Approved")
    PILOT = "pilot", _("Pilot")
    SCALING = "scaling", _("Scaling")
    PRODUCTION = "production", _("Production")
    RETIRED = "retired", _("Retired")
    PAUSED = "paused", _("Paused")
    STOPPED = "stopped", _("Stopped")


# The main line, in order; paused and stopped are side stages.
STAGE_ORDER: tuple[str, ...] = (
    Stage.IDEA,
    Stage.PROPOSED,
    Stage.APPROVED,
    Stage.PILOT,
    Stage.SCALING,
    Stage.PRODUCTION,
    Stage.RETIRED,
)
# Stages in which an initiative is still being worked on (can be paused or stopped).
OPEN_STAGES: frozenset[str] = frozenset(
    {Stage.IDEA, Stage.PROPOSED, Stage.APPROVED, Stage.PILOT, Stage.SCALING, Stage.PRODUCTION}
)
CLOSED_STAGES: frozenset[str] = frozenset({Stage.RETIRED, Stage.STOPPED})
# A prohibited-risk initiative may never be in one of these.
BEYOND_PROPOSED: tuple[str, ...] = (
    Stage.APPROVED,
    Stage.PILOT,
    Stage.SCALING,
    Stage.PRODUCTION,
    Stage.RETIRED,
)


class Gate(models.TextChoices):
    """Evidence a lifecycle move can require; the label is the refusal's wording."""

    OWNER = "owner", _("an owner")
    SUMMARY = "summary", _("a summary")
    PRIMARY_ALIGNMENT = "primary_alignment", _("a primary alignment to a goal of the active vision")
    HYPOTHESIS = "hypothesis", _("a hypothesis")
    SUCCESS_CRITERIA = "success_criteria", _("success criteria")
    LEARNINGS = "learnings", _("recorded learnings")
    NOTE = "note", _("a note explaining the move")
    RISK_NOT_PROHIBITED = "risk_not_prohibited", _("a risk tier other than prohibited")
    # Met unless the initiative contradicts the active vision's proactive stance.
    STANCE_EXCEPTION = (
        "stance_exception",
        _("a note justifying the exception to the vision's proactive stance"),
    )
    VOICE_REVIEW = "voice_review", _("a passed voice review (it speaks to customers)")
    # Met unless REGISTRY_TEAM_GATE is on and a customer-facing team lacks UX, data or breadth.
    CROSS_FUNCTIONAL_TEAM = (
        "cross_functional_team",
        _(
            "a cross-functional team (a UX / service-design role, a data role and people from "
            "more than one department)"
        ),
    )


# (from, to) -> gates. Moves to paused/stopped and back from paused are added by rule below.
MAIN_TRANSITIONS: dict[tuple[str, str], tuple[str, ...]] = {
    (Stage.IDEA, Stage.PROPOSED): (Gate.OWNER, Gate.SUMMARY),
    (Stage.PROPOSED, Stage.APPROVED): (
        Gate.PRIMARY_ALIGNMENT,
        Gate.RISK_NOT_PROHIBITED,
        Gate.STANCE_EXCEPTION,
    ),
    (Stage.APPROVED, Stage.PILOT): (
        Gate.HYPOTHESIS,
        Gate.SUCCESS_CRITERIA,
        Gate.CROSS_FUNCTIONAL_TEAM,
    ),
    (Stage.PILOT, Stage.SCALING): (Gate.LEARNINGS, Gate.VOICE_REVIEW),
    (Stage.PILOT, Stage.STOPPED): (Gate.LEARNINGS, Gate.NOTE),
    (Stage.SCALING, Stage.PRODUCTION): (),
    (Stage.PRODUCTION, Stage.RETIRED): (),
}
SIDE_STAGE_GATES: tuple[str, ...] = (Gate.NOTE,)

# Cumulative evidence an initiative at a stage is expected to have (for gate gaps).
EVIDENCE_BY_STAGE: dict[str, tuple[str, ...]] = {
    Stage.IDEA: (),
    Stage.PROPOSED: (Gate.OWNER, Gate.SUMMARY),
    Stage.APPROVED: (Gate.OWNER, Gate.SUMMARY, Gate.PRIMARY_ALIGNMENT),
    Stage.PILOT: (
        Gate.OWNER,
        Gate.SUMMARY,
        Gate.PRIMARY_ALIGNMENT,
        Gate.HYPOTHESIS,
        Gate.SUCCESS_CRITERIA,
    ),
}
for _later in (Stage.SCALING, Stage.PRODUCTION, Stage.RETIRED):
    EVIDENCE_BY_STAGE[_later] = (*EVIDENCE_BY_STAGE[Stage.PILOT], Gate.LEARNINGS)


class Touchpoint(models.TextChoices):
    WEB = "web", _("Web")
    APP = "app", _("App")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    MESSAGING = "messaging", _("Messaging")
    SOCIAL = "social", _("Social media")
    STORE = "store", _("Store")
    FIELD = "field", _("Field service")
    SELF_SERVICE_PORTAL = "self_service_portal", _("Self-service portal")


class JourneyStage(models.TextChoices):
    AWARENESS = "awareness", _("Awareness")
    CONSIDERATION = "consideration", _("Consideration")
    PURCHASE = "purchase", _("Purchase")
    ONBOARDING = "onboarding", _("Onboarding")
    USAGE = "usage", _("Usage")
    SUPPORT = "support", _("Support")
    BILLING = "billing", _("Billing")
    RENEWAL = "renewal", _("Renewal")
    CHURN_WINBACK = "churn_winback", _("Churn / win-back")


class InteractionMode(models.TextChoices):
    REACTIVE = "reactive", _("Reactive")
    PROACTIVE = "proactive", _("Proactive")


class Stance(models.TextChoices):
    """What the vision allows AI to do at a touchpoint (optionally a journey stage)."""

    PROACTIVE = "proactive", _("AI may act proactively")
    REACTIVE = "reactive", _("AI only reacts")
    NO_AI = "no_ai", _("No AI")


class Autonomy(models.TextChoices):
    HUMAN_IN_THE_LOOP = "human_in_the_loop", _("Human in the loop")
    HUMAN_ON_THE_LOOP = "human_on_the_loop", _("Human on the loop")
    AUTONOMOUS = "autonomous", _("Autonomous")


class RiskTier(models.TextChoices):
    MINIMAL = "minimal", _("Minimal")
    LIMITED = "limited", _("Limited")
    HIGH = "high", _("High")
    PROHIBITED = "prohibited", _("Prohibited")


class AlignmentStrength(models.IntegerChoices):
    WEAK = 1, _("Weak")
    MODERATE = 2, _("Moderate")
    STRONG = 3, _("Strong")


class AlignmentLevel(models.TextChoices):
    """Derived: the strongest alignment of an initiative to a goal of the active vision."""

    NONE = "none", _("None")
    WEAK = "weak", _("Weak")
    MODERATE = "moderate", _("Moderate")
    STRONG = "strong", _("Strong")


ALIGNMENT_LEVEL_BY_STRENGTH: dict[int, str] = {
    0: AlignmentLevel.NONE,
    1: AlignmentLevel.WEAK,
    2: AlignmentLevel.MODERATE,
    3: AlignmentLevel.STRONG,
}


def alignment_level(strengths: Iterable[int]) -> str:
    """The alignment level rule: the strongest of an initiative's alignments to live goals of
    the vision in question (the active one unless a report names another); none without one.

    The database keeps the same rule for the active vision (the report rollups of migration
    0009) and the reports state it in SQL for any vision; a test proves all three agree on
    every combination.
    """
    return ALIGNMENT_LEVEL_BY_STRENGTH[max(strengths, default=0)]


class TeamRoleKind(models.TextChoices):
    ACCOUNTABLE = "accountable", _("Accountable")
    RESPONSIBLE = "responsible", _("Responsible")
    CONSULTED = "consulted", _("Consulted")
    INFORMED = "informed", _("Informed")
    PRODUCT_OWNER = "product_owner", _("Product owner")
    DATA_SCIENTIST = "data_scientist", _("Data scientist")
    ENGINEER = "engineer", _("Engineer")
    UX_DESIGNER = "ux_designer", _("UX / service designer")
    ANALYST = "analyst", _("Analyst")
    SPONSOR = "sponsor", _("Sponsor")


# Role categories the team-composition report looks for: a cross-functional AI team has
# UX / service design and data expertise (the source article's demand).
UX_ROLES: frozenset[str] = frozenset({TeamRoleKind.UX_DESIGNER})
DATA_ROLES: frozenset[str] = frozenset({TeamRoleKind.DATA_SCIENTIST, TeamRoleKind.ANALYST})

# Roles that may change an initiative (besides its owner).
WRITING_TEAM_ROLES: frozenset[str] = frozenset({TeamRoleKind.ACCOUNTABLE, TeamRoleKind.RESPONSIBLE})


class NoteKind(models.TextChoices):
    INFO = "info", _("Info")
    DECISION = "decision", _("Decision")
    RISK = "risk", _("Risk")
    LEARNING = "learning", _("Learning")


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Decision(models.TextChoices):
    CONTINUE = "continue", _("Continue")
    SCALE = "scale", _("Scale")
    PIVOT = "pivot", _("Pivot")
    PAUSE = "pause", _("Pause")
    STOP = "stop", _("Stop")


class Channel(models.TextChoices):
    """Where a change came from, recorded in history."""

    ADMIN = "admin", _("Admin")
    API = "api", _("API")
    SYNC = "sync", _("Sync")
    IMPORT = "import", _("Import")
    COMMAND = "command", _("Command")


# Kinds of AI that talk to customers in the company's name: when customer-facing, how they
# speak is reviewed against the vision's voice principles (`registry.models.learning`).
SPEAKING_KINDS: frozenset[str] = frozenset({Kind.CHATBOT, Kind.VOICEBOT, Kind.GENERATIVE_CONTENT})
# Of those, the ones that hold conversations: at a touchpoint, they talk to customers there.
CONVERSATIONAL_KINDS: frozenset[str] = frozenset({Kind.CHATBOT, Kind.VOICEBOT})


class VoiceReviewOutcome(models.TextChoices):
    PASSED = "passed", _("Passed")
    NEEDS_CHANGES = "needs_changes", _("Needs changes")
    FAILED = "failed", _("Failed")


class LearningOutcome(models.TextChoices):
    """What became of a pilot's hypothesis."""

    CONFIRMED = "confirmed", _("Confirmed")
    REFUTED = "refuted", _("Refuted")
    INCONCLUSIVE = "inconclusive", _("Inconclusive")


# Stages at which an initiative has been tried (a pilot, or was one) or stopped: the ones
# that have something to teach. A learning tied to a review decision may come from any stage.
LEARNING_STAGES: frozenset[str] = frozenset(
    {Stage.PILOT, Stage.SCALING, Stage.PRODUCTION, Stage.RETIRED, Stage.STOPPED}
)
