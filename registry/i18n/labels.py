"""Stable codes (stage, kind, decision …) as the words a reader of the active language sees.

Reports, snapshots and exports carry vocabulary codes so they never change; pages, the
board summary and the review exports show these labels instead, so a German board reads
"Skalierung", never "scaling".
"""

from __future__ import annotations

from typing import Any

from django.db.models import Choices
from django.utils import formats

from registry.choices import (
    AlignmentLevel,
    AlignmentStrength,
    Autonomy,
    Decision,
    Gate,
    InteractionMode,
    JourneyStage,
    Kind,
    Metric,
    NoteKind,
    ReviewStatus,
    RiskTier,
    Stage,
    Stance,
    TeamRoleKind,
    Touchpoint,
    VisionStatus,
)

VOCABULARIES: dict[str, type[Choices]] = {
    "stage": Stage,
    "kind": Kind,
    "decision": Decision,
    "alignment_level": AlignmentLevel,
    "strength": AlignmentStrength,
    "risk_tier": RiskTier,
    "touchpoint": Touchpoint,
    "journey_stage": JourneyStage,
    "interaction_mode": InteractionMode,
    "autonomy": Autonomy,
    "metric": Metric,
    "gate": Gate,
    "note_kind": NoteKind,
    "review_status": ReviewStatus,
    "vision_status": VisionStatus,
    "stance": Stance,
    "team_role": TeamRoleKind,
}


def label_of(vocabulary: str, code: Any) -> str:
    """The label of `code` in the named vocabulary; unknown codes are shown as they are."""
    if code is None or code == "":
        return ""
    choices = VOCABULARIES[vocabulary]
    try:
        return str(choices(code).label)
    except ValueError:
        return str(code)


def move_label(move: dict[str, Any] | None) -> str:
    """`{"from": "pilot", "to": "scaling"}` as `Pilot → Skalierung`."""
    if not move:
        return ""
    return " → ".join(label_of("stage", move.get(end)) for end in ("from", "to") if move.get(end))


def signed_number(value: Any, decimal_pos: int = 1) -> str:
    """`+2,5` / `−1,0`: a change, with its sign, in the active locale."""
    if value is None or value == "":
        return ""
    number = float(value)
    text = formats.number_format(abs(number), decimal_pos=decimal_pos, use_l10n=True)
    return ("+" if number >= 0 else "−") + text


# Columns of the review exports that hold a vocabulary code.
EXPORT_VOCABULARIES: dict[str, str] = {
    "decision": "decision",
    "stage": "stage",
    "alignment_level": "alignment_level",
    "risk_tier": "risk_tier",
    "kind": "kind",
}


def export_value(column: str, value: Any) -> Any:
    """A cell of a review export: vocabulary codes become labels, the rest stays as it is."""
    vocabulary = EXPORT_VOCABULARIES.get(column)
    return label_of(vocabulary, value) if vocabulary else value
