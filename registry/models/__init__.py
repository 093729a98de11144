"""The registry's domain, one module per concept group; importing this package loads them all.

Invariants live in the database as named constraints (and a few triggers where a constraint
cannot express the rule); derived values are QuerySet annotations so they filter and order
in SQL. Nothing here registers an admin or imports a surface.
"""

from registry.models.base import (
    INITIATIVE_KEY_SEQUENCE,
    NextInitiativeKey,
    TimestampedModel,
    event_indexes,
)
from registry.models.idempotency import IdempotencyRecord
from registry.models.import_mappings import ImportMapping, ImportRun
from registry.models.initiatives import (
    INITIATIVE_MANY_FIELDS,
    INITIATIVE_RELATED_FIELDS,
    INITIATIVE_WRITABLE_FIELDS,
    Alignment,
    Dependency,
    Initiative,
    InitiativeQuerySet,
    Note,
    StageChange,
    TeamRole,
)
from registry.models.learning import (
    Learning,
    VoiceReview,
    speaks_to_customers,
    speaks_to_customers_condition,
)
from registry.models.organisation import Department, Person, System, Tag, tag_slug
from registry.models.overlaps import OverlapCandidate, OverlapScan
from registry.models.reviews import Review, ReviewDecision
from registry.models.rollup import AlignmentRollup, InitiativeRollup, PortfolioRollup
from registry.models.saved_views import SavedView
from registry.models.strategy import (
    Goal,
    GoalQuerySet,
    Measurement,
    ProactiveStance,
    Vision,
    VisionQuerySet,
    stance_conflicts,
)
from registry.models.tokens import ApiToken
from registry.models.webhooks import (
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
    WorkerHeartbeat,
)

__all__ = [
    "OverlapCandidate",
    "OverlapScan",
    "INITIATIVE_KEY_SEQUENCE",
    "INITIATIVE_MANY_FIELDS",
    "INITIATIVE_RELATED_FIELDS",
    "INITIATIVE_WRITABLE_FIELDS",
    "Alignment",
    "AlignmentRollup",
    "ApiToken",
    "Department",
    "Dependency",
    "Goal",
    "GoalQuerySet",
    "IdempotencyRecord",
    "ImportMapping",
    "ImportRun",
    "Initiative",
    "InitiativeQuerySet",
    "InitiativeRollup",
    "Learning",
    "Measurement",
    "NextInitiativeKey",
    "Note",
    "OutboxEvent",
    "Person",
    "PortfolioRollup",
    "ProactiveStance",
    "Review",
    "ReviewDecision",
    "SavedView",
    "StageChange",
    "System",
    "Tag",
    "tag_slug",
    "TeamRole",
    "TimestampedModel",
    "Vision",
    "VisionQuerySet",
    "VoiceReview",
    "WebhookDelivery",
    "WebhookSubscription",
    "WorkerHeartbeat",
    "event_indexes",
    "stance_conflicts",
    "speaks_to_customers",
    "speaks_to_customers_condition",
]
