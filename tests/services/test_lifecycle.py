"""Lifecycle gates: every move of DESIGN §2's table allows and refuses exactly as written.

Each move is tried with exactly the evidence its gate names (it must pass, so the gate asks
for nothing more) and with each piece of that evidence taken away (it must be refused with a
message naming the missing piece, and nothing may change).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from registry import choices, models, permissions
from registry.choices import Gate, Stage
from registry.services import lifecycle
from registry.services.lifecycle import StaleVersionError, TransitionError
from tests import factories

pytestmark = pytest.mark.django_db

OPEN = (Stage.IDEA, Stage.PROPOSED, Stage.APPROVED, Stage.PILOT, Stage.SCALING, Stage.PRODUCTION)
NOTE = "Steering committee, 2026-10-02."
GATE_MESSAGES = {
    Gate.OWNER: "an owner",
    Gate.SUMMARY: "a summary",
    Gate.PRIMARY_ALIGNMENT: "a primary alignment to a goal of the active vision",
    Gate.RISK_NOT_PROHIBITED: "a risk tier other than prohibited",
    Gate.HYPOTHESIS: "a hypothesis",
    Gate.SUCCESS_CRITERIA: "success criteria",
    Gate.LEARNINGS: "recorded learnings",
    Gate.NOTE: "a note explaining the move",
}


@dataclass(frozen=True)
class Move:
    """One row of the gate table: from, to (a paused initiative records where it left)."""

    from_stage: str
    to_stage: str
    gates: tuple[str, ...]
    paused_from: str = ""

    def __str__(self) -> str:
        origin = f"paused({self.paused_from})" if self.paused_from else self.from_stage
        return f"{origin}->{self.to_stage}"


# DESIGN §2, written out move by move.
GATE_TABLE: list[Move] = [
    Move(Stage.IDEA, Stage.PROPOSED, (Gate.OWNER, Gate.SUMMARY)),
    Move(Stage.PROPOSED, Stage.APPROVED, (Gate.PRIMARY_ALIGNMENT, Gate.RISK_NOT_PROHIBITED)),
    Move(Stage.APPROVED, Stage.PILOT, (Gate.HYPOTHESIS, Gate.SUCCESS_CRITERIA)),
    Move(Stage.PILOT, Stage.SCALING, (Gate.LEARNINGS,)),
    Move(Stage.PILOT, Stage.STOPPED, (Gate.LEARNINGS, Gate.NOTE)),
    Move(Stage.SCALING, Stage.PRODUCTION, ()),
    Move(Stage.PRODUCTION, Stage.RETIRED, ()),
    *(Move(stage, Stage.PAUSED, (Gate.NOTE,)) for stage in OPEN),
    *(Move(stage, Stage.STOPPED, (Gate.NOTE,)) for stage in OPEN if stage != Stage.PILOT),
    *(Move(Stage.PAUSED, stage, (Gate.NOTE,), paused_from=stage) for stage in OPEN),
]
GATE_CASES = [(move, gate) for move in GATE_TABLE for gate in move.gates]

ILLEGAL_MOVES: list[tuple[str, str, str]] = [
    # (from, paused_from, to)
    (Stage.IDEA, "", Stage.PILOT),
    (Stage.IDEA, "", Stage.APPROVED),
    (Stage.IDEA, "", Stage.PRODUCTION),
    (Stage.IDEA, "", Stage.IDEA),
    (Stage.PROPOSED, "", Stage.PILOT),
    (Stage.PROPOSED, "", Stage.IDEA),
    (Stage.APPROVED, "", Stage.SCALING),
    (Stage.PILOT, "", Stage.PRODUCTION),
    (Stage.PILOT, "", Stage.APPROVED),
    (Stage.SCALING, "", Stage.RETIRED),
    (Stage.PRODUCTION, "", Stage.SCALING),
    *((Stage.RETIRED, "", stage) for stage in Stage.values),
    *((Stage.STOPPED, "", stage) for stage in Stage.values),
    # A paused initiative goes back where it left, nowhere else.
    (Stage.PAUSED, Stage.PILOT, Stage.SCALING),
    (Stage.PAUSED, Stage.PILOT, Stage.APPROVED),
    (Stage.PAUSED, Stage.PILOT, Stage.IDEA),
    (Stage.PAUSED, Stage.PILOT, Stage.PAUSED),
    (Stage.PAUSED, Stage.IDEA, Stage.PROPOSED),
]


# --- building initiatives with exactly the evidence wanted -------------------------------------


@pytest.fixture
def vision(active_vision):
    return active_vision


@pytest.fixture
def user(db):
    # The lifecycle service checks the actor's permission itself: the PMO may move any.
    return factories.UserFactory(username="ines.pmo", groups=[permissions.PMO])


def build(
    *,
    stage: str,
    evidence: set[str],
    vision: models.Vision,
    paused_from: str = "",
    **fields,
) -> models.Initiative:
    """An initiative at `stage` that has the gate evidence in `evidence` and nothing else."""
    values = {
        "stage": stage,
        "paused_from": paused_from,
        "owner": factories.PersonFactory() if Gate.OWNER in evidence else None,
        "lead_department": factories.DepartmentFactory(),
        "summary": "Answers billing questions in chat." if Gate.SUMMARY in evidence else "",
        "hypothesis": "Chat deflects 20% of billing calls." if Gate.HYPOTHESIS in evidence else "",
        "success_criteria": (
            "AHT -10% at CSAT >= 4.2." if Gate.SUCCESS_CRITERIA in evidence else ""
        ),
        "learnings": "Customers want a human hand-over." if Gate.LEARNINGS in evidence else "",
        "risk_tier": (
            choices.RiskTier.LIMITED
            if Gate.RISK_NOT_PROHIBITED in evidence
            else choices.RiskTier.PROHIBITED
        ),
    }
    initiative = factories.InitiativeFactory(**{**values, **fields})
    if Gate.PRIMARY_ALIGNMENT in evidence:
        factories.AlignmentFactory(
            initiative=initiative, goal=factories.GoalFactory(vision=vision), is_primary=True
        )
    return initiative


def evidence_for(move: Move, *, without: str | None = None) -> tuple[set[str], str]:
    """The move's own evidence (minus `without`), and the note to send with it."""
    evidence = set(move.gates)
    # A prohibited initiative cannot exist beyond proposed, so the risk tier is only ever
    # taken away where the table asks about it.
    evidence.add(Gate.RISK_NOT_PROHIBITED)
    evidence.discard(without)
    note = NOTE if Gate.NOTE in evidence else ""
    return evidence, note


def snapshot(initiative: models.Initiative) -> tuple:
    row = models.Initiative.objects.get(pk=initiative.pk)
    return (
        row.stage,
        row.paused_from,
        row.version,
        row.updated_at,
        row.end_date,
        models.StageChange.objects.filter(initiative=initiative).count(),
    )


# --- the table --------------------------------------------------------------------------------


@pytest.mark.parametrize("move", GATE_TABLE, ids=str)
def test_move_passes_with_exactly_the_evidence_its_gate_names(vision, user, move):
    evidence, note = evidence_for(move)
    initiative = build(
        stage=move.from_stage, paused_from=move.paused_from, evidence=evidence, vision=vision
    )
    before = models.Initiative.objects.get(pk=initiative.pk)

    change = lifecycle.initiative_transition(
        initiative=initiative, to_stage=move.to_stage, actor=user, note=note
    )

    stored = models.Initiative.objects.get(pk=initiative.pk)
    assert stored.stage == move.to_stage
    assert stored.version == before.version + 1
    assert stored.updated_by == user
    assert stored.paused_from == (move.from_stage if move.to_stage == Stage.PAUSED else "")
    # The caller's copy follows the stored row.
    assert (initiative.stage, initiative.version) == (stored.stage, stored.version)

    changes = list(models.StageChange.objects.filter(initiative=initiative))
    assert changes == [change]
    assert (change.from_stage, change.to_stage) == (move.from_stage, move.to_stage)
    assert change.by == user
    assert change.actor_name == "ines.pmo"
    assert change.note == note
    assert change.imported_from == ""


@pytest.mark.parametrize(("move", "gate"), GATE_CASES, ids=lambda v: str(v))
def test_move_is_refused_without_each_piece_of_its_evidence(vision, user, move, gate):
    evidence, note = evidence_for(move, without=gate)
    initiative = build(
        stage=move.from_stage, paused_from=move.paused_from, evidence=evidence, vision=vision
    )
    before = snapshot(initiative)

    with pytest.raises(TransitionError) as excinfo:
        lifecycle.initiative_transition(
            initiative=initiative, to_stage=move.to_stage, actor=user, note=note
        )

    error = excinfo.value
    assert error.code == "gate_not_met"
    assert error.missing == (gate,)
    assert GATE_MESSAGES[gate] in error.message
    assert initiative.key in error.message
    assert str(Stage(move.to_stage).label) in error.message
    assert snapshot(initiative) == before
    assert initiative.stage == move.from_stage


def test_refusal_names_every_missing_piece(vision):
    initiative = build(stage=Stage.IDEA, evidence=set(), vision=vision)
    initiative.risk_tier = choices.RiskTier.MINIMAL

    with pytest.raises(TransitionError) as excinfo:
        lifecycle.initiative_transition(initiative=initiative, to_stage=Stage.PROPOSED)

    assert excinfo.value.missing == (Gate.OWNER, Gate.SUMMARY)
    assert "needs an owner and a summary" in excinfo.value.message


@pytest.mark.parametrize("note", ["", "   \n\t"])
def test_blank_note_is_no_note(vision, note):
    initiative = build(stage=Stage.PILOT, evidence={Gate.RISK_NOT_PROHIBITED}, vision=vision)
    with pytest.raises(TransitionError) as excinfo:
        lifecycle.initiative_transition(initiative=initiative, to_stage=Stage.PAUSED, note=note)
    assert excinfo.value.missing == (Gate.NOTE,)


@pytest.mark.parametrize(
    ("field", "gate"),
    [
        ("summary", Gate.SUMMARY),
        ("hypothesis", Gate.HYPOTHESIS),
        ("success_criteria", Gate.SUCCESS_CRITERIA),
    ],
)
def test_whitespace_is_not_evidence(vision, field, gate):
    stage = Stage.IDEA if gate == Gate.SUMMARY else Stage.APPROVED
    to_stage = Stage.PROPOSED if gate == Gate.SUMMARY else Stage.PILOT
    everything = {*Gate.values}
    initiative = build(stage=stage, evidence=everything, vision=vision, **{field: "  \n "})
    with pytest.raises(TransitionError) as excinfo:
        lifecycle.initiative_transition(initiative=initiative, to_stage=to_stage)
    assert excinfo.value.missing == (gate,)


# --- what counts as a primary alignment to the active vision -----------------------------------


def proposed(vision) -> models.Initiative:
    return build(
        stage=Stage.PROPOSED,
        evidence={Gate.OWNER, Gate.SUMMARY, Gate.RISK_NOT_PROHIBITED},
        vision=vision,
    )


def _primary_to_draft_vision(initiative, vision):
    draft = factories.VisionFactory(status=choices.VisionStatus.DRAFT)
    factories.AlignmentFactory(initiative=initiative, goal=factories.GoalFactory(vision=draft))


def _primary_to_retired_vision(initiative, vision):
    retired = factories.VisionFactory(status=choices.VisionStatus.RETIRED)
    factories.AlignmentFactory(initiative=initiative, goal=factories.GoalFactory(vision=retired))


def _primary_to_archived_goal(initiative, vision):
    goal = factories.GoalFactory(vision=vision, archived_at=timezone.now())
    factories.AlignmentFactory(initiative=initiative, goal=goal)


def _only_non_primary_to_active_vision(initiative, vision):
    # The primary serves last year's vision; the strong link to today's goal is secondary.
    _primary_to_retired_vision(initiative, vision)
    factories.AlignmentFactory(
        initiative=initiative,
        goal=factories.GoalFactory(vision=vision),
        is_primary=False,
        strength=choices.AlignmentStrength.STRONG,
    )


@pytest.mark.parametrize(
    "align",
    [
        _primary_to_draft_vision,
        _primary_to_retired_vision,
        _primary_to_archived_goal,
        _only_non_primary_to_active_vision,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_approval_needs_the_primary_alignment_to_serve_the_active_vision(vision, align):
    initiative = proposed(vision)
    align(initiative, vision)
    before = snapshot(initiative)

    with pytest.raises(TransitionError) as excinfo:
        lifecycle.initiative_transition(initiative=initiative, to_stage=Stage.APPROVED)

    assert excinfo.value.code == "gate_not_met"
    assert excinfo.value.missing == (Gate.PRIMARY_ALIGNMENT,)
    assert "a primary alignment to a goal of the active vision" in excinfo.value.message
    assert snapshot(initiative) == before


def test_approval_follows_the_vision_that_is_active_now(vision):
    initiative = proposed(vision)
    draft = factories.VisionFactory(status=choices.VisionStatus.DRAFT)
    factories.AlignmentFactory(initiative=initiative, goal=factories.GoalFactory(vision=draft))

    vision.status = choices.VisionStatus.RETIRED
    vision.save(update_fields=["status"])
    draft.status = choices.VisionStatus.ACTIVE
    draft.save(update_fields=["status"])

    lifecycle.initiative_transition(initiative=initiative, to_stage=Stage.APPROVED)
    assert models.Initiative.objects.get(pk=initiative.pk).stage == Stage.APPROVED


def test_prohibited_initiative_is_refused_approval_even_when_aligned(vision):
    initiative = build(
        stage=Stage.PROPOSED,
        evidence={Gate.OWNER, Gate.SUMMARY, Gate.PRIMARY_ALIGNMENT},
        vision=vision,
    )
    with pytest.raises(TransitionError) as excinfo:
        lifecycle.initiative_transition(initiative=initiative, to_stage=Stage.APPROVED)
    assert excinfo.value.missing == (Gate.RISK_NOT_PROHIBITED,)
    assert "a risk tier other than prohibited" in excinfo.value.message


def test_paused_initiative_reclassified_prohibited_cannot_resume_beyond_proposed(vision):
    """Paused is not 'beyond proposed', so the tier can change while paused; resuming must
    then be refused by the gate (a 409 naming the reason), not by a database error."""
    initiative = build(stage=Stage.APPROVED, evidence={*Gate.values}, vision=vision)
    lifecycle.initiative_transition(initiative=initiative, to_stage=Stage.PAUSED, note=NOTE)
    models.Initiative.objects.filter(pk=initiative.pk).update(risk_tier=choices.RiskTier.PROHIBITED)
    initiative.refresh_from_db()
    before = snapshot(initiative)

    with pytest.raises(TransitionError) as excinfo:
        lifecycle.initiative_transition(initiative=initiative, to_stage=Stage.APPROVED, note=NOTE)

    assert excinfo.value.code == "gate_not_met"
    assert excinfo.value.missing == (Gate.RISK_NOT_PROHIBITED,)
    assert snapshot(initiative) == before


# --- moves the table does not have ------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_stage", "paused_from", "to_stage"),
    ILLEGAL_MOVES,
    ids=lambda v: v or "-",
)
def test_moves_outside_the_table_are_not_allowed(vision, from_stage, paused_from, to_stage):
    initiative = build(
        stage=from_stage, paused_from=paused_from, evidence={*Gate.values}, vision=vision
    )
    before = snapshot(initiative)

    with pytest.raises(TransitionError) as excinfo:
        lifecycle.initiative_transition(initiative=initiative, to_stage=to_stage, note=NOTE)

    assert excinfo.value.code == "transition_not_allowed"
    assert excinfo.value.missing == ()
    assert initiative.key in excinfo.value.message
    assert snapshot(initiative) == before


def test_not_allowed_message_lists_the_allowed_next_stages(vision):
    initiative = build(stage=Stage.IDEA, evidence={*Gate.values}, vision=vision)
    with pytest.raises(TransitionError) as excinfo:
        lifecycle.check_move(initiative, Stage.PILOT)
    assert "allowed next: Proposed, Paused, Stopped" in excinfo.value.message

    initiative = build(stage=Stage.RETIRED, evidence={*Gate.values}, vision=vision)
    with pytest.raises(TransitionError) as excinfo:
        lifecycle.check_move(initiative, Stage.PRODUCTION)
    assert "allowed next: none" in excinfo.value.message


def test_unknown_stage_is_refused(vision):
    initiative = build(stage=Stage.IDEA, evidence={*Gate.values}, vision=vision)
    with pytest.raises(TransitionError) as excinfo:
        lifecycle.initiative_transition(initiative=initiative, to_stage="done", note=NOTE)
    assert excinfo.value.code == "unknown_stage"
    assert "'done' is not a stage" in excinfo.value.message


@pytest.mark.parametrize(
    ("from_stage", "paused_from", "expected"),
    [
        (Stage.IDEA, "", [Stage.PROPOSED, Stage.PAUSED, Stage.STOPPED]),
        (Stage.PROPOSED, "", [Stage.APPROVED, Stage.PAUSED, Stage.STOPPED]),
        (Stage.PILOT, "", [Stage.SCALING, Stage.PAUSED, Stage.STOPPED]),
        (Stage.PRODUCTION, "", [Stage.RETIRED, Stage.PAUSED, Stage.STOPPED]),
        (Stage.PAUSED, Stage.SCALING, [Stage.SCALING]),
        (Stage.RETIRED, "", []),
        (Stage.STOPPED, "", []),
    ],
)
def test_next_stages(vision, from_stage, paused_from, expected):
    initiative = build(
        stage=from_stage, paused_from=paused_from, evidence={*Gate.values}, vision=vision
    )
    assert lifecycle.next_stages(initiative) == expected


# --- pausing, stopping, retiring --------------------------------------------------------------


def test_pause_and_resume_returns_to_the_stage_it_left(vision, user):
    initiative = build(stage=Stage.PILOT, evidence={*Gate.values}, vision=vision)

    lifecycle.initiative_transition(
        initiative=initiative, to_stage=Stage.PAUSED, actor=user, note="Budget freeze."
    )
    stored = models.Initiative.objects.get(pk=initiative.pk)
    assert (stored.stage, stored.paused_from) == (Stage.PAUSED, Stage.PILOT)
    assert lifecycle.next_stages(stored) == [Stage.PILOT]

    lifecycle.initiative_transition(
        initiative=initiative, to_stage=Stage.PILOT, actor=user, note="Budget released."
    )
    stored = models.Initiative.objects.get(pk=initiative.pk)
    assert (stored.stage, stored.paused_from, stored.version) == (Stage.PILOT, "", 3)
    assert list(
        models.StageChange.objects.filter(initiative=initiative).values_list(
            "from_stage", "to_stage", "note"
        )
    ) == [
        (Stage.PILOT, Stage.PAUSED, "Budget freeze."),
        (Stage.PAUSED, Stage.PILOT, "Budget released."),
    ]


@pytest.mark.parametrize(
    ("from_stage", "to_stage"),
    [(Stage.IDEA, Stage.STOPPED), (Stage.PRODUCTION, Stage.RETIRED)],
)
def test_closing_moves_record_the_end_date(vision, from_stage, to_stage):
    initiative = build(stage=from_stage, evidence={*Gate.values}, vision=vision)
    lifecycle.initiative_transition(initiative=initiative, to_stage=to_stage, note=NOTE)
    assert models.Initiative.objects.get(pk=initiative.pk).end_date == timezone.localdate()


def test_closing_move_keeps_a_recorded_end_date(vision):
    planned_end = datetime.date(2026, 3, 31)
    initiative = build(
        stage=Stage.PRODUCTION,
        evidence={*Gate.values},
        vision=vision,
        start_date=datetime.date(2025, 1, 1),
        end_date=planned_end,
    )
    lifecycle.initiative_transition(initiative=initiative, to_stage=Stage.RETIRED)
    assert models.Initiative.objects.get(pk=initiative.pk).end_date == planned_end


def test_stopping_before_the_planned_start_is_not_a_database_error(vision):
    """An idea planned for next year and stopped today must not end before it starts."""
    start = timezone.localdate() + datetime.timedelta(days=120)
    initiative = build(stage=Stage.IDEA, evidence={*Gate.values}, vision=vision, start_date=start)

    lifecycle.initiative_transition(initiative=initiative, to_stage=Stage.STOPPED, note=NOTE)

    stored = models.Initiative.objects.get(pk=initiative.pk)
    assert stored.stage == Stage.STOPPED
    assert stored.end_date is not None
    assert stored.end_date >= stored.start_date


# --- audit trail and optimistic locking -------------------------------------------------------


def test_stage_change_records_an_integration_by_name(vision):
    initiative = build(stage=Stage.SCALING, evidence={*Gate.values}, vision=vision)
    change = lifecycle.initiative_transition(
        initiative=initiative, to_stage=Stage.PRODUCTION, actor_name="jira-sync"
    )
    assert change.by is None
    assert change.actor_name == "jira-sync"
    assert models.Initiative.objects.get(pk=initiative.pk).updated_by is None


def test_stale_version_is_refused_and_changes_nothing(vision, user):
    initiative = build(stage=Stage.SCALING, evidence={*Gate.values}, vision=vision)
    lifecycle.initiative_transition(
        initiative=initiative, to_stage=Stage.PRODUCTION, expected_version=1, actor=user
    )
    assert initiative.version == 2
    before = snapshot(initiative)

    # A second client still holding version 1 tries to retire it.
    with pytest.raises(StaleVersionError) as excinfo:
        lifecycle.initiative_transition(
            initiative=initiative, to_stage=Stage.RETIRED, expected_version=1, actor=user
        )

    assert excinfo.value.current_version == 2
    assert snapshot(initiative) == before

    lifecycle.initiative_transition(
        initiative=initiative, to_stage=Stage.RETIRED, expected_version=2, actor=user
    )
    assert models.Initiative.objects.get(pk=initiative.pk).version == 3


def test_gates_read_the_stored_row_not_the_callers_copy(vision):
    """Evidence set only on an unsaved copy does not count: the gate reads what is stored."""
    initiative = build(stage=Stage.APPROVED, evidence={Gate.RISK_NOT_PROHIBITED}, vision=vision)
    initiative.hypothesis = "Unsaved."
    initiative.success_criteria = "Unsaved."
    with pytest.raises(TransitionError) as excinfo:
        lifecycle.initiative_transition(initiative=initiative, to_stage=Stage.PILOT)
    assert excinfo.value.missing == (Gate.HYPOTHESIS, Gate.SUCCESS_CRITERIA)


# --- gate gaps of imported initiatives --------------------------------------------------------


def test_gate_gaps_list_what_an_imported_production_initiative_lacks(vision):
    initiative = factories.InitiativeFactory(
        stage=Stage.PRODUCTION,
        owner=None,
        lead_department=factories.DepartmentFactory(),
        summary="",
        source="servicenow",
        external_id="AIUC-17",
    )
    change = lifecycle.record_initial_stage(
        initiative=initiative, actor_name="servicenow", imported_from="servicenow"
    )

    assert (change.from_stage, change.to_stage) == ("", Stage.PRODUCTION)
    assert (change.imported_from, change.actor_name, change.by) == (
        "servicenow",
        "servicenow",
        None,
    )
    assert list(models.StageChange.objects.filter(initiative=initiative)) == [change]
    assert lifecycle.gate_gaps(initiative) == [
        Gate.OWNER,
        Gate.SUMMARY,
        Gate.PRIMARY_ALIGNMENT,
        Gate.HYPOTHESIS,
        Gate.SUCCESS_CRITERIA,
        Gate.LEARNINGS,
    ]

    # The PMO closes the gaps one by one.
    initiative.owner = factories.PersonFactory()
    initiative.summary = "Routes IT tickets."
    initiative.hypothesis = "Routing cuts resolution time."
    initiative.save()
    factories.AlignmentFactory(initiative=initiative, goal=factories.GoalFactory(vision=vision))
    assert lifecycle.gate_gaps(initiative) == [Gate.SUCCESS_CRITERIA, Gate.LEARNINGS]

    initiative.success_criteria = "Resolution time -15%."
    initiative.learnings = "Agents trust the routing when it explains itself."
    initiative.save()
    assert lifecycle.gate_gaps(initiative) == []


@pytest.mark.parametrize(
    ("stage", "paused_from", "expected"),
    [
        (Stage.IDEA, "", []),
        (Stage.PROPOSED, "", [Gate.OWNER, Gate.SUMMARY]),
        (Stage.APPROVED, "", [Gate.OWNER, Gate.SUMMARY, Gate.PRIMARY_ALIGNMENT]),
        (Stage.PAUSED, Stage.APPROVED, [Gate.OWNER, Gate.SUMMARY, Gate.PRIMARY_ALIGNMENT]),
        (
            Stage.PILOT,
            "",
            [
                Gate.OWNER,
                Gate.SUMMARY,
                Gate.PRIMARY_ALIGNMENT,
                Gate.HYPOTHESIS,
                Gate.SUCCESS_CRITERIA,
            ],
        ),
    ],
)
def test_gate_gaps_follow_the_stage(vision, stage, paused_from, expected):
    initiative = build(
        stage=stage, paused_from=paused_from, evidence={Gate.RISK_NOT_PROHIBITED}, vision=vision
    )
    assert lifecycle.gate_gaps(initiative) == expected


def test_gate_gaps_do_not_count_an_alignment_to_an_old_vision(vision):
    retired = factories.VisionFactory(status=choices.VisionStatus.RETIRED)
    initiative = build(
        stage=Stage.APPROVED,
        evidence={Gate.OWNER, Gate.SUMMARY, Gate.RISK_NOT_PROHIBITED},
        vision=vision,
    )
    factories.AlignmentFactory(initiative=initiative, goal=factories.GoalFactory(vision=retired))
    assert lifecycle.gate_gaps(initiative) == [Gate.PRIMARY_ALIGNMENT]


def test_bulk_callers_may_pass_the_primary_alignment_evidence(vision, django_assert_num_queries):
    """Sync plans whole batches: it fetches alignments once and passes the answer in."""
    aligned = build(stage=Stage.PROPOSED, evidence={*Gate.values}, vision=vision)
    unaligned = build(
        stage=Stage.APPROVED,
        evidence={Gate.OWNER, Gate.SUMMARY, Gate.RISK_NOT_PROHIBITED},
        vision=vision,
    )

    with django_assert_num_queries(0):
        assert lifecycle.gate_gaps(unaligned, has_primary_alignment=True) == []
        with pytest.raises(TransitionError) as excinfo:
            lifecycle.check_move(aligned, Stage.APPROVED, has_primary_alignment=False)
    assert excinfo.value.missing == (Gate.PRIMARY_ALIGNMENT,)
    assert lifecycle.gate_gaps(unaligned) == [Gate.PRIMARY_ALIGNMENT]
    assert lifecycle.check_move(aligned, Stage.APPROVED).to_stage == Stage.APPROVED
