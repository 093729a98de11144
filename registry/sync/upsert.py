"""Sync for other tools: idempotent upserts of initiatives keyed by (source, external_id).

One code path for the single PUT, the batch POST and the spreadsheet importer. A batch is
validated whole before anything is written; writes are set-based (a handful of statements
per batch, not per item). Concurrent syncs of one source are serialised by an advisory lock
taken before any row is read, so they can neither deadlock nor create duplicates.
"""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.choices import (
    BEYOND_PROPOSED,
    CLOSED_STAGES,
    MAIN_TRANSITIONS,
    OPEN_STAGES,
    STAGE_ORDER,
    AlignmentStrength,
    Channel,
    RiskTier,
    Stage,
    VisionStatus,
)
from registry.models import (
    Alignment,
    Department,
    Goal,
    Initiative,
    Person,
    StageChange,
    System,
    Tag,
    tag_slug,
)
from registry.models.initiatives import INITIATIVE_RELATED_FIELDS, INITIATIVE_WRITABLE_FIELDS
from registry.permissions import Actor
from registry.selectors import reports
from registry.services import lifecycle
from registry.services.history import history_context
from registry.services.initiatives import initiative_write_refusal
from registry.services.tags import may_create_tags, tags_create_missing
from registry.sync import bulk

MAX_BATCH_ITEMS = 5000

# Plain fields a tool may send, validated by the model's own field definitions.
# What a tool may send: the initiative's writable fields (its sync identity is the URL's or
# the batch's), and its alignments. Plain fields are validated by the model's own fields.
SCALAR_FIELDS: tuple[str, ...] = tuple(
    name
    for name in INITIATIVE_WRITABLE_FIELDS
    if name not in INITIATIVE_RELATED_FIELDS and name not in ("source", "external_id")
)
RELATED_FIELDS: tuple[str, ...] = (*INITIATIVE_RELATED_FIELDS, "alignments")
ACCEPTED_FIELDS: frozenset[str] = frozenset(
    {*SCALAR_FIELDS, *RELATED_FIELDS, "stage", "external_id", "note"}
)
REQUIRED_ON_CREATE: tuple[str, ...] = ("name", "kind")
M2M_MODELS = {"departments": Department, "systems": System, "tags": Tag}
STRENGTH_WORDS = {label.lower(): value for value, label in AlignmentStrength.choices} | {
    "weak": 1,
    "moderate": 2,
    "strong": 3,
}


class SyncError(Exception):
    """The request as a whole cannot be synced (too many items, duplicate ids, …)."""

    def __init__(self, message: str, *, code: str, attr: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.attr = attr


@dataclass
class ItemError:
    attr: str | None
    code: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"attr": self.attr, "code": self.code, "detail": self.detail}


@dataclass
class ItemResult:
    """What happened to one item; `result` is created, updated, unchanged or error."""

    index: int
    external_id: str
    result: str = ""
    key: str | None = None
    version: int | None = None
    stage: str | None = None
    errors: list[ItemError] = field(default_factory=list)
    gate_gaps: list[str] = field(default_factory=list)
    initiative_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def wants_overlaps(self) -> bool:
        """Join or justify is about open initiatives that were just written."""
        return self.result in ("created", "updated") and self.stage not in CLOSED_STAGES

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "external_id": self.external_id,
            "result": self.result,
            "key": self.key,
        }
        if self.errors:
            data["errors"] = [error.as_dict() for error in self.errors]
        else:
            data.update(version=self.version, stage=self.stage, gate_gaps=self.gate_gaps)
        return data


@dataclass
class BatchResult:
    source: str
    atomic: bool
    items: list[ItemResult]
    written: bool

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("created", "updated", "unchanged", "error"), 0)
        for item in self.items:
            counts[item.result] += 1
        return counts

    @property
    def has_errors(self) -> bool:
        return any(not item.ok for item in self.items)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "atomic": self.atomic,
            "written": self.written,
            "counts": self.counts(),
            "items": [item.as_dict() for item in self.items],
        }


@dataclass
class AlignmentPlan:
    goal_id: int
    strength: int
    is_primary: bool
    rationale: str
    expected_impact: Decimal | None


@dataclass
class ItemPlan:
    """A validated item: the values to write, in database terms."""

    result: ItemResult
    values: dict[str, Any] = field(default_factory=dict)
    m2m: dict[str, set[int]] = field(default_factory=dict)
    alignments: list[AlignmentPlan] | None = None
    new_owner: tuple[str, str] | None = None  # (email, name) of a person to create
    stage: str | None = None
    note: str = ""
    existing: Initiative | None = None
    moves: list[tuple[str, str]] = field(default_factory=list)
    # Moves that take work contradicting the proactive stance past proposed (the note says why).
    stance_exceptions: set[tuple[str, str]] = field(default_factory=set)
    changed_fields: set[str] = field(default_factory=set)
    new_tags: dict[str, str] = field(default_factory=dict)  # slug -> name, created on write


# Join or justify lists at most this many overlapping initiatives per item (the best scored)
# beside their count: in a dense portfolio one initiative overlaps thousands.
OVERLAPS_SHOWN = 20


def join_or_justify(items: Sequence[ItemResult], *, user: Any) -> dict[str, reports.ItemOverlaps]:
    """The overlaps of the written items that want them, by key, in one query however many."""
    keys = [item.key for item in items if item.key and item.wants_overlaps]
    return reports.overlaps_by_key(keys, user=user, limit=OVERLAPS_SHOWN) if keys else {}


def advisory_key(*parts: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_source(source: str, external_ids: Sequence[str], *, exclusive: bool) -> None:
    """Serialise syncs that touch the same ids; always source lock first, so no deadlock.

    A batch takes the source exclusively; a single upsert shares the source and takes its
    one id exclusively, so single upserts of different ids run in parallel.
    """
    with connection.cursor() as cursor:
        if exclusive:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [advisory_key("sync", source)])
            return
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [advisory_key("sync", source)])
        for external_id in sorted(external_ids):
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [advisory_key("sync", source, external_id)]
            )


def normalise_external_id(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def sync_batch(
    *,
    source: str,
    items: Sequence[Mapping[str, Any]],
    actor: Any = None,
    actor_name: str = "",
    atomic: bool = True,
    channel: str = Channel.SYNC,
    dry_run: bool = False,
    create_tags: bool = True,
) -> BatchResult:
    """Create or update every item by (source, external_id); see the module docstring.

    Tags are named by label or slug; unknown ones are created if `create_tags` and the actor
    may create tags (`services.tags`), else the item is refused with the unknown labels.
    """
    source = (source or "").strip()
    if not source:
        raise SyncError(_("A sync needs a source."), code="required", attr="source")
    if len(source) > Initiative._meta.get_field("source").max_length:
        raise SyncError(_("The source name is too long."), code="max_length", attr="source")
    if len(items) > MAX_BATCH_ITEMS:
        raise SyncError(
            _("A batch holds at most %(max)d items; this one has %(count)d.")
            % {"max": MAX_BATCH_ITEMS, "count": len(items)},
            code="too_many_items",
            attr="items",
        )
    external_ids = [
        normalise_external_id(item.get("external_id") if isinstance(item, Mapping) else None)
        for item in items
    ]
    duplicates = sorted(eid for eid, count in Counter(external_ids).items() if eid and count > 1)
    if duplicates:
        raise SyncError(
            _("Duplicate external ids in one batch: %(ids)s.") % {"ids": ", ".join(duplicates)},
            code="duplicate_external_id",
            attr="items",
        )
    who = Actor.of(actor)
    actor_name = actor_name or who.name
    with transaction.atomic(), history_context(channel=channel, actor=actor_name):
        lock_source(source, [eid for eid in external_ids if eid], exclusive=len(items) > 1)
        plans = plan_items(
            source=source,
            items=items,
            external_ids=external_ids,
            actor=who,
            create_tags=create_tags,
        )
        results = [plan.result for plan in plans]
        has_errors = any(not result.ok for result in results)
        if dry_run:
            # Report what a real run would do (created / updated / unchanged), writing nothing.
            preview_plans([plan for plan in plans if plan.result.ok])
            return BatchResult(source=source, atomic=atomic, items=results, written=False)
        if atomic and has_errors:
            return BatchResult(source=source, atomic=atomic, items=results, written=False)
        good = [plan for plan in plans if plan.result.ok]
        write_plans(source=source, plans=good, actor=who.login, actor_name=actor_name, acting=who)
        return BatchResult(source=source, atomic=atomic, items=results, written=True)


def sync_one(
    *,
    source: str,
    external_id: str,
    item: Mapping[str, Any],
    actor: Any = None,
    actor_name: str = "",
    channel: str = Channel.SYNC,
) -> ItemResult:
    """Create or update a single initiative; the body's external_id, if any, must agree."""
    body_id = item.get("external_id")
    if body_id is not None and normalise_external_id(body_id) != external_id:
        raise SyncError(
            _("The body's external_id does not match the URL."),
            code="external_id_mismatch",
            attr="external_id",
        )
    batch = sync_batch(
        source=source,
        items=[{**item, "external_id": external_id}],
        actor=actor,
        actor_name=actor_name,
        channel=channel,
    )
    return batch.items[0]


# --- planning: validate everything before writing anything ------------------------------------


@dataclass
class Lookups:
    """Natural keys of the whole batch resolved with one query per kind."""

    people: dict[str, int]
    departments: dict[str, int]
    systems: dict[str, int]
    tags: dict[str, int]  # slug -> id
    goals: dict[str, tuple[int, bool]]  # code -> (id, belongs to the active vision)
    create_tags: bool = False  # unknown tag labels become new tags when written


def _owner_email(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("email")
    return str(value or "").strip().lower()


def resolve_lookups(items: Sequence[Mapping[str, Any]], *, create_tags: bool = False) -> Lookups:
    emails: set[str] = set()
    slugs: dict[str, set[str]] = defaultdict(set)
    goal_codes: set[str] = set()
    for item in items:
        if item.get("owner"):
            emails.add(_owner_email(item["owner"]))
        if item.get("lead_department"):
            slugs["departments"].add(str(item["lead_department"]))
        for name in ("departments", "systems"):
            if isinstance(item.get(name), list):
                slugs[name].update(str(value) for value in item[name])
        if isinstance(item.get("tags"), list):
            slugs["tags"].update(tag_slug(str(value)) for value in item["tags"])
        if isinstance(item.get("alignments"), list):
            goal_codes.update(
                str(a.get("goal")) for a in item["alignments"] if isinstance(a, Mapping)
            )
    return Lookups(
        people=dict(
            Person.objects.filter(email__in=emails).values_list("email", "id") if emails else ()
        ),
        departments=dict(
            Department.objects.filter(slug__in=slugs["departments"]).values_list("slug", "id")
        )
        if slugs["departments"]
        else {},
        systems=dict(System.objects.filter(slug__in=slugs["systems"]).values_list("slug", "id"))
        if slugs["systems"]
        else {},
        tags=dict(Tag.objects.filter(slug__in=slugs["tags"]).values_list("slug", "id"))
        if slugs["tags"]
        else {},
        create_tags=create_tags,
        goals={
            code: (goal_id, status == VisionStatus.ACTIVE and archived is None)
            for code, goal_id, status, archived in Goal.objects.filter(
                code__in=goal_codes
            ).values_list("code", "id", "vision__status", "archived_at")
        }
        if goal_codes
        else {},
    )


def load_existing(
    source: str, external_ids: Iterable[str], *, lock: bool = True
) -> dict[str, Initiative]:
    """Live initiatives of the source by external id, with what a diff needs loaded.

    Locked (`FOR UPDATE`) for the rest of the batch's transaction, in id order, so an API
    write of the same initiative waits for the batch and the batch for it: each write starts
    from the version the other left.
    """
    rows = Initiative.objects.filter(
        source=source, external_id__in=list(external_ids), archived_at__isnull=True
    ).order_by("pk")
    if lock:
        rows = rows.select_for_update(of=("self",))
    return {row.external_id: row for row in load_for_diff(rows)}


@dataclass(frozen=True)
class StoredAlignment:
    """A stored alignment as the diff compares it; `live`: to a live goal of the active vision."""

    goal_id: int
    strength: int
    is_primary: bool
    rationale: str
    expected_impact: str
    live: bool


@dataclass
class StoredRelations:
    """What `diff_existing` reads of an initiative's relations: ids and values, no models."""

    departments: set[int] = field(default_factory=set)
    systems: set[int] = field(default_factory=set)
    tags: set[int] = field(default_factory=set)
    alignments: list[StoredAlignment] = field(default_factory=list)


def load_for_diff(rows: QuerySet[Initiative]) -> list[Initiative]:
    """The initiatives of `rows`, each with `sync_relations`, in five queries however many.

    Plain values rather than `prefetch_related`: a prefetch builds a queryset and model
    instances per initiative and relation, which cost a 5,000-item batch seconds.
    """
    initiatives = list(rows.select_related("owner"))
    stored = {initiative.id: StoredRelations() for initiative in initiatives}
    if stored:
        ids = list(stored)
        for name, model in M2M_MODELS.items():
            through = getattr(Initiative, name).through
            pairs = through.objects.filter(initiative_id__in=ids).values_list(
                "initiative_id", f"{model._meta.model_name}_id"
            )
            for initiative_id, target in pairs:
                getattr(stored[initiative_id], name).add(target)
        alignments = Alignment.objects.filter(initiative_id__in=ids).values_list(
            "initiative_id",
            "goal_id",
            "strength",
            "is_primary",
            "rationale",
            "expected_impact",
            "goal__archived_at",
            "goal__vision__status",
        )
        for (
            initiative_id,
            goal_id,
            strength,
            primary,
            rationale,
            impact,
            archived,
            status,
        ) in alignments:
            stored[initiative_id].alignments.append(
                StoredAlignment(
                    goal_id=goal_id,
                    strength=strength,
                    is_primary=primary,
                    rationale=rationale,
                    expected_impact=impact,
                    live=status == VisionStatus.ACTIVE and archived is None,
                )
            )
    for initiative in initiatives:
        initiative.sync_relations = stored[initiative.id]
    return initiatives


def archived_external_ids(source: str, external_ids: Iterable[str]) -> set[str]:
    return set(
        Initiative.objects.filter(
            source=source, external_id__in=list(external_ids), archived_at__isnull=False
        ).values_list("external_id", flat=True)
    )


def plan_items(
    *,
    source: str,
    items: Sequence[Mapping[str, Any]],
    external_ids: Sequence[str],
    actor: Actor | None = None,
    lock: bool = True,
    create_tags: bool = True,
) -> list[ItemPlan]:
    lookups = resolve_lookups(
        [item for item in items if isinstance(item, Mapping)],
        create_tags=create_tags and may_create_tags(actor),
    )
    valid_ids = [eid for eid in external_ids if eid]
    existing = load_existing(source, valid_ids, lock=lock)
    archived = archived_external_ids(source, set(valid_ids) - set(existing))
    plans = []
    for index, (item, external_id) in enumerate(zip(items, external_ids, strict=True)):
        plan = ItemPlan(result=ItemResult(index=index, external_id=external_id))
        plans.append(plan)
        if not isinstance(item, Mapping):
            plan.result.errors.append(ItemError(None, "invalid", _("Each item must be an object.")))
        elif not external_id:
            plan.result.errors.append(
                ItemError("external_id", "required", _("Each item needs an external_id."))
            )
        elif external_id in archived:
            plan.result.errors.append(
                ItemError(
                    "external_id",
                    "archived",
                    _("The initiative with this external id is archived; restore it first."),
                )
            )
        else:
            plan.existing = existing.get(external_id)
            parse_item(plan, item, lookups)
            if plan.result.ok:
                check_item(plan, source=source, actor=actor)
        if plan.result.errors:
            plan.result.result = "error"
    return plans


def _trimmed(value: Any) -> Any:
    """Text as the API's serializers and the admin's forms take it: without leading and
    trailing white space. Sync kept it, so a name starting with a tab or a carriage return
    before `=` reached exports as a formula the escaping did not see."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [item.strip() if isinstance(item, str) else item for item in value]
    return value


def _clean_field(name: str, value: Any) -> Any:
    model_field = Initiative._meta.get_field(name)
    if value is None and not model_field.null:
        if model_field.blank and model_field.get_internal_type() in ("TextField", "CharField"):
            return ""
        if model_field.get_internal_type() == "ArrayField":
            return []
    return model_field.clean(_trimmed(value), None)


def parse_item(plan: ItemPlan, item: Mapping[str, Any], lookups: Lookups) -> None:
    errors = plan.result.errors
    for name in item:
        if name not in ACCEPTED_FIELDS:
            errors.append(ItemError(name, "unknown_field", _("Unknown field '%s'.") % name))
    for name in SCALAR_FIELDS:
        if name not in item:
            continue
        try:
            plan.values[name] = _clean_field(name, item[name])
        except ValidationError as error:
            for message in error.messages:
                errors.append(ItemError(name, getattr(error, "code", None) or "invalid", message))
        except (TypeError, ValueError):  # e.g. a number where a date string belongs
            errors.append(ItemError(name, "invalid", _("Not a valid value for this field.")))
    if plan.existing is None:
        for name in REQUIRED_ON_CREATE:
            if name not in item:
                errors.append(ItemError(name, "required", _("This field is required to create.")))
    if "owner" in item:
        parse_owner(plan, item["owner"], lookups)
    if "lead_department" in item:
        slug = item["lead_department"]
        if slug in (None, ""):
            plan.values["lead_department_id"] = None
        elif str(slug) in lookups.departments:
            plan.values["lead_department_id"] = lookups.departments[str(slug)]
        else:
            errors.append(
                ItemError("lead_department", "does_not_exist", _("Unknown department '%s'.") % slug)
            )
    if "tags" in item:
        parse_tags(plan, item["tags"], lookups)
    for name, mapping in (
        ("departments", lookups.departments),
        ("systems", lookups.systems),
    ):
        if name not in item:
            continue
        values = item[name]
        if not isinstance(values, list):
            errors.append(ItemError(name, "not_a_list", _("Expected a list.")))
            continue
        unknown = sorted({str(v) for v in values} - set(mapping))
        if unknown:
            errors.append(
                ItemError(name, "does_not_exist", _("Unknown values: %s.") % ", ".join(unknown))
            )
        else:
            plan.m2m[name] = {mapping[str(v)] for v in values}
    if "alignments" in item:
        parse_alignments(plan, item["alignments"], lookups)
    if "stage" in item:
        stage = item["stage"]
        if stage not in Stage.values:
            errors.append(
                ItemError(
                    "stage",
                    "invalid_choice",
                    _("'%(value)s' is not a stage; use one of %(choices)s.")
                    % {"value": stage, "choices": ", ".join(Stage.values)},
                )
            )
        else:
            plan.stage = stage
    plan.note = str(item.get("note") or "").strip()


def parse_tags(plan: ItemPlan, values: Any, lookups: Lookups) -> None:
    """Tags by name or slug; unknown ones are created on write if the actor may, else refused."""
    if not isinstance(values, list):
        plan.result.errors.append(ItemError("tags", "not_a_list", _("Expected a list.")))
        return
    labels: dict[str, str] = {}
    for value in values:
        label = " ".join(str(value).split())
        slug = tag_slug(label)
        if not slug:
            plan.result.errors.append(ItemError("tags", "blank", _("A tag needs a name.")))
            return
        labels.setdefault(slug, label)
    unknown = {slug: label for slug, label in labels.items() if slug not in lookups.tags}
    if unknown and not lookups.create_tags:
        plan.result.errors.append(
            ItemError(
                "tags",
                "does_not_exist",
                _("Unknown tags: %(tags)s. Ask the PMO to create them, or for a token that may.")
                % {"tags": ", ".join(sorted(unknown.values()))},
            )
        )
        return
    plan.m2m["tags"] = {lookups.tags[slug] for slug in labels if slug in lookups.tags}
    plan.new_tags = unknown


def create_tags(plans: list[ItemPlan], *, actor: Actor) -> None:
    """Create the new tags the plans name (once each) and add them to the plans' tags."""
    wanted: dict[str, str] = {}
    for plan in plans:
        for slug, label in plan.new_tags.items():
            wanted.setdefault(slug, label)
    if not wanted:
        return
    ids = tags_create_missing(actor=actor, labels=wanted)
    for plan in plans:
        if plan.new_tags:
            plan.m2m.setdefault("tags", set()).update(ids[slug] for slug in plan.new_tags)


def parse_owner(plan: ItemPlan, value: Any, lookups: Lookups) -> None:
    if value in (None, ""):
        plan.values["owner_id"] = None
        return
    email = _owner_email(value)
    if email in lookups.people:
        plan.values["owner_id"] = lookups.people[email]
        return
    name = str(value.get("name") or "").strip() if isinstance(value, Mapping) else ""
    try:
        Person._meta.get_field("email").clean(email, None)
    except ValidationError:
        plan.result.errors.append(
            ItemError("owner", "invalid", _("'%s' is not a valid e-mail address.") % email)
        )
        return
    if name:
        plan.new_owner = (email, name)
    else:
        plan.result.errors.append(
            ItemError(
                "owner",
                "does_not_exist",
                _("Unknown person '%s'; send name and email to create them.") % email,
            )
        )


def _clean_impact(value: Any) -> Decimal | None:
    """An alignment's expected impact by the model field's rules (finite, 14 digits, 4 of
    them decimals); empty is none. Anything else raises ValidationError."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(_("A number is required."), code="invalid")
    return Alignment._meta.get_field("expected_impact").clean(value, None)


def parse_alignments(plan: ItemPlan, value: Any, lookups: Lookups) -> None:
    errors = plan.result.errors
    if not isinstance(value, list):
        errors.append(ItemError("alignments", "not_a_list", _("Expected a list.")))
        return
    parsed: list[AlignmentPlan] = []
    seen: set[int] = set()
    for position, entry in enumerate(value):
        attr = f"alignments.{position}"
        if not isinstance(entry, Mapping) or not entry.get("goal"):
            errors.append(ItemError(attr, "invalid", _("Each alignment needs a goal code.")))
            continue
        code = str(entry["goal"])
        if code not in lookups.goals:
            errors.append(
                ItemError(f"{attr}.goal", "does_not_exist", _("Unknown goal '%s'.") % code)
            )
            continue
        goal_id = lookups.goals[code][0]
        if goal_id in seen:
            errors.append(ItemError(f"{attr}.goal", "unique", _("Goal '%s' appears twice.") % code))
            continue
        seen.add(goal_id)
        strength = entry.get("strength", AlignmentStrength.MODERATE)
        strength = STRENGTH_WORDS.get(str(strength).lower(), strength)
        try:
            strength = int(strength)
            if strength not in (1, 2, 3):
                raise ValueError
        except (TypeError, ValueError):
            errors.append(
                ItemError(
                    f"{attr}.strength",
                    "invalid_choice",
                    _("Strength must be 1/weak, 2/moderate or 3/strong."),
                )
            )
            continue
        try:
            impact = _clean_impact(entry.get("expected_impact"))
        except ValidationError as error:
            # Non-finite (NaN, sNaN, Infinity) and out-of-range values are this item's error,
            # named by field, as the model's own field defines them: not a database error
            # that fails the whole batch.
            errors.extend(
                ItemError(f"{attr}.expected_impact", each.code or "invalid", each.messages[0])
                for each in error.error_list
            )
            continue
        parsed.append(
            AlignmentPlan(
                goal_id=goal_id,
                strength=strength,
                is_primary=bool(entry.get("is_primary", False)),
                rationale=str(entry.get("rationale") or "").strip(),
                expected_impact=impact,
            )
        )
    primaries = [a for a in parsed if a.is_primary]
    if len(primaries) > 1:
        errors.append(
            ItemError(
                "alignments", "one_primary", _("An initiative has only one primary alignment.")
            )
        )
    elif parsed and not primaries:
        # The strongest alignment leads when the tool does not say which one is primary.
        max(parsed, key=lambda a: a.strength).is_primary = True
    plan.alignments = parsed
    plan.values["_active_goal_ids"] = {
        goal_id for goal_id, active in lookups.goals.values() if active
    }


def merged_value(plan: ItemPlan, name: str) -> Any:
    if name in plan.values:
        return plan.values[name]
    if plan.existing is not None:
        return getattr(plan.existing, name)
    return Initiative._meta.get_field(name).get_default()


def check_item(plan: ItemPlan, *, source: str, actor: Actor | None = None) -> None:
    """Cross-field rules (the named constraints), the initiative service's write rules and
    the lifecycle's gates and permissions, before any write."""
    errors = plan.result.errors
    # No user: the registry's own run (a command), which its operator answers for.
    if actor is not None and actor.user is not None and plan.existing is not None:
        refusal = initiative_write_refusal(
            actor=actor, initiative=plan.existing, changes=_rule_changes(plan)
        )
        if refusal is not None:
            errors.append(ItemError(refusal.field, refusal.code, refusal.message))
            return
    if merged_value(plan, "budget_planned") < 0 or merged_value(plan, "budget_spent") < 0:
        attr = "budget_planned" if merged_value(plan, "budget_planned") < 0 else "budget_spent"
        errors.append(ItemError(attr, "min_value", _("Budgets cannot be negative.")))
    start = merged_value(plan, "start_date")
    for name, message in (
        ("target_date", _("The target date must not precede the start date.")),
        ("end_date", _("The end date must not precede the start date.")),
    ):
        other = merged_value(plan, name)
        if isinstance(start, datetime.date) and isinstance(other, datetime.date) and other < start:
            errors.append(ItemError(name, "date_order", message))
    if plan.existing is None:
        stage = plan.stage or Stage.IDEA
        if merged_value(plan, "risk_tier") == RiskTier.PROHIBITED and stage in BEYOND_PROPOSED:
            errors.append(
                ItemError(
                    "stage",
                    "prohibited_risk",
                    _("An initiative of the prohibited risk tier cannot go beyond proposed."),
                )
            )
        return
    if plan.stage and plan.stage != plan.existing.stage:
        refusal = lifecycle.transition_refusal(
            plan.existing,
            plan.stage,
            user=getattr(actor, "user", None),
            token=getattr(actor, "token", None),
        )
        if refusal is not None:
            errors.append(ItemError("stage", refusal.code, refusal.message))
            return
        plan_moves(plan)
    elif (
        merged_value(plan, "risk_tier") == RiskTier.PROHIBITED
        and plan.existing.stage in BEYOND_PROPOSED
    ):
        errors.append(
            ItemError(
                "risk_tier",
                "prohibited_risk",
                _("An initiative of the prohibited risk tier cannot go beyond proposed."),
            )
        )


def _rule_changes(plan: ItemPlan) -> dict[str, Any]:
    """The item's plain values and relations as the initiative service's rules read them
    (ids for relations; many-to-many fields carry no rule of their own)."""
    changes = {
        name: value
        for name, value in plan.values.items()
        if not name.startswith("_") and name in INITIATIVE_WRITABLE_FIELDS
    }
    for name in ("owner", "lead_department"):
        if f"{name}_id" in plan.values:
            changes[name] = plan.values[f"{name}_id"]
    return changes


def stage_path(from_stage: str, to_stage: str) -> list[tuple[str, str]] | None:
    """The moves from one stage to another: one side move, or forward along the main line."""
    if (from_stage, to_stage) in MAIN_TRANSITIONS:
        return [(from_stage, to_stage)]
    if to_stage in (Stage.PAUSED, Stage.STOPPED) and from_stage in OPEN_STAGES:
        return [(from_stage, to_stage)]
    if from_stage in STAGE_ORDER and to_stage in STAGE_ORDER:
        start, end = STAGE_ORDER.index(from_stage), STAGE_ORDER.index(to_stage)
        if start < end:
            return [(STAGE_ORDER[i], STAGE_ORDER[i + 1]) for i in range(start, end)]
    return None


def planned_primary_alignment(plan: ItemPlan) -> bool:
    """Whether the item, once written, has a primary alignment to a goal of the active vision."""
    if plan.alignments is not None:
        active_ids = plan.values.get("_active_goal_ids", set())
        return any(a.is_primary and a.goal_id in active_ids for a in plan.alignments)
    if plan.existing is None:
        return False
    return any(a.is_primary and a.live for a in plan.existing.sync_relations.alignments)


# What the proactive stance gate reads on an item (`lifecycle.active_stance_conflicts`).
STANCE_FIELDS: tuple[str, ...] = (
    "touchpoints",
    "journey_stages",
    "interaction_mode",
    "customer_facing",
)


def plan_moves(plan: ItemPlan) -> None:
    """Check each move of an update's stage change against the gates, on the merged values."""
    existing = plan.existing
    assert existing is not None
    candidate = Initiative(
        **{
            name: merged_value(plan, name)
            for name in (
                *("summary", "hypothesis", "success_criteria", "learnings", "risk_tier"),
                *STANCE_FIELDS,
                "kind",  # with touchpoints: whether it speaks to customers (voice review)
            )
        },
        owner_id=merged_value(plan, "owner_id") if plan.new_owner is None else -1,
        id=existing.pk,  # the stored team, for the optional team gate (never saved)
        key=existing.key,
        stage=existing.stage,
        paused_from=existing.paused_from,
    )
    has_primary = planned_primary_alignment(plan)
    path = (
        [(Stage.PAUSED, plan.stage)]
        if existing.stage == Stage.PAUSED and plan.stage == existing.paused_from
        else stage_path(existing.stage, plan.stage or existing.stage)
    )
    if path is None:
        try:
            lifecycle.check_move(candidate, plan.stage or "", note=plan.note)
        except lifecycle.TransitionError as error:
            plan.result.errors.append(ItemError("stage", error.code, error.message))
        return
    for from_stage, to_stage in path:
        candidate.stage = from_stage
        try:
            move = lifecycle.check_move(
                candidate, to_stage, note=plan.note, has_primary_alignment=has_primary
            )
        except lifecycle.TransitionError as error:
            plan.result.errors.append(ItemError("stage", error.code, error.message))
            return
        if lifecycle.is_stance_exception(move, candidate):
            plan.stance_exceptions.add((from_stage, to_stage))
    plan.moves = path


def preview_plans(plans: list[ItemPlan]) -> None:
    """Fill each valid plan's result as a write would, without writing (for dry runs).

    A created item has no key yet: keys come from a sequence, and drawing one here would
    burn it. Versions, final stages and gate gaps are those the write would produce.
    """
    for plan in plans:
        existing = plan.existing
        if existing is None:
            plan.result.result = "created"
            plan.result.version = 1
            stage, paused_from = plan.stage or Stage.IDEA, ""
        else:
            diff_existing(plan)
            fill_result(plan, existing)
            stage, paused_from = existing.stage, existing.paused_from
            if plan.moves:
                stage = plan.moves[-1][1]
                paused_from = plan.moves[-1][0] if stage == Stage.PAUSED else ""
            if plan.changed_fields:
                plan.result.result = "updated"
                plan.result.version = existing.version + 1
            else:
                # A real run leaves unchanged items alone and reports their current gate gaps.
                plan.result.result = "unchanged"
                plan.result.gate_gaps = stored_gate_gaps(existing)
                continue
        plan.result.stage = stage
        candidate = Initiative(
            **{
                name: merged_value(plan, name)
                for name in ("summary", "hypothesis", "success_criteria", "learnings", "risk_tier")
            },
            owner_id=merged_value(plan, "owner_id") if plan.new_owner is None else -1,
            stage=stage,
            paused_from=paused_from,
        )
        plan.result.gate_gaps = lifecycle.gate_gaps(
            candidate, has_primary_alignment=planned_primary_alignment(plan)
        )


# --- writing: set-based ------------------------------------------------------------------------


def _alignment_tuple(a: StoredAlignment | AlignmentPlan) -> tuple:
    return (a.goal_id, a.strength, a.is_primary, a.rationale, a.expected_impact)


def diff_existing(plan: ItemPlan) -> None:
    existing = plan.existing
    assert existing is not None
    for name, value in plan.values.items():
        if name.startswith("_"):
            continue
        if getattr(existing, name) != value:
            plan.changed_fields.add(name)
    if plan.new_owner is not None:
        plan.changed_fields.add("owner_id")
    if plan.new_tags:
        plan.changed_fields.add("tags")
    stored = existing.sync_relations
    for name, ids in plan.m2m.items():
        if getattr(stored, name) != ids:
            plan.changed_fields.add(name)
    if plan.alignments is not None:
        current = sorted(_alignment_tuple(a) for a in stored.alignments)
        wanted = sorted(_alignment_tuple(a) for a in plan.alignments)
        if current != wanted:
            plan.changed_fields.add("alignments")
    if plan.moves:
        plan.changed_fields.add("stage")


def write_plans(
    *,
    source: str,
    plans: list[ItemPlan],
    actor: Any,
    actor_name: str,
    acting: Actor | None = None,
) -> None:
    now = timezone.now()
    user = actor if getattr(actor, "is_authenticated", False) else None
    create_owners(plans)
    create_tags(plans, actor=acting or Actor(user=user))
    creates = [plan for plan in plans if plan.existing is None]
    updates, unchanged = [], []
    for plan in plans:
        if plan.existing is None:
            continue
        diff_existing(plan)
        if plan.changed_fields:
            updates.append(plan)
        else:
            plan.result.result = "unchanged"
            fill_result(plan, plan.existing)
            unchanged.append(plan)
    insert_initiatives(creates, source=source, user=user, now=now)
    update_initiatives(updates, user=user, now=now)
    write_m2m([plan for plan in creates + updates if plan.m2m])
    write_alignments([plan for plan in creates + updates if plan.alignments is not None])
    write_stage_changes(creates, updates, source=source, user=user, actor_name=actor_name, now=now)
    compute_gate_gaps(creates + updates, unchanged=unchanged)


def create_owners(plans: list[ItemPlan]) -> None:
    wanted = {plan.new_owner[0]: plan.new_owner[1] for plan in plans if plan.new_owner}
    if not wanted:
        return
    people = Person.objects.bulk_create(
        [Person(email=email, name=name) for email, name in sorted(wanted.items())]
    )
    ids = {person.email: person.id for person in people}
    for plan in plans:
        if plan.new_owner:
            plan.values["owner_id"] = ids[plan.new_owner[0]]


def _model_values(plan: ItemPlan) -> dict[str, Any]:
    return {name: value for name, value in plan.values.items() if not name.startswith("_")}


def insert_initiatives(plans: list[ItemPlan], *, source: str, user: Any, now) -> None:
    if not plans:
        return
    objects = [
        Initiative(
            # A key-addressed import (registry.spreadsheets.exports) brings key, source and external
            # id.
            **{"source": source, "external_id": plan.result.external_id, **_model_values(plan)},
            stage=plan.stage or Stage.IDEA,
            created_by=user,
            updated_by=user,
        )
        for plan in plans
    ]
    Initiative.objects.bulk_create(objects, batch_size=1000)
    for plan, initiative in zip(plans, objects, strict=True):
        plan.result.result = "created"
        fill_result(plan, initiative)


def update_initiatives(plans: list[ItemPlan], *, user: Any, now) -> None:
    if not plans:
        return
    fields: set[str] = {"updated_at", "updated_by"}
    objects = []
    for plan in plans:
        initiative = plan.existing
        assert initiative is not None
        for name, value in _model_values(plan).items():
            setattr(initiative, name, value)
            fields.add(name)
        if plan.moves:
            final_stage = plan.moves[-1][1]
            initiative.paused_from = plan.moves[-1][0] if final_stage == Stage.PAUSED else ""
            initiative.stage = final_stage
            if final_stage in (Stage.RETIRED, Stage.STOPPED) and initiative.end_date is None:
                initiative.end_date = now.date()
                fields.add("end_date")
            fields.update({"stage", "paused_from"})
        initiative.updated_at = now
        initiative.updated_by = user
        objects.append(initiative)
        plan.result.result = "updated"
    # The version goes up in the database, under the rows' locks (load_existing).
    bulk.bulk_update(objects, sorted(fields), increment=["version"])
    for plan in plans:
        assert plan.existing is not None
        fill_result(plan, plan.existing)


def write_m2m(plans: list[ItemPlan]) -> None:
    for name in M2M_MODELS:
        through = getattr(Initiative, name).through
        column = f"{M2M_MODELS[name]._meta.model_name}_id"
        affected = [plan for plan in plans if name in plan.m2m]
        if not affected:
            continue
        wanted = {
            (plan.result.initiative_id, target) for plan in affected for target in plan.m2m[name]
        }
        current = set(
            through.objects.filter(
                initiative_id__in=[plan.result.initiative_id for plan in affected]
            ).values_list("initiative_id", column)
        )
        stale = current - wanted
        if stale:
            stale_by_initiative: dict[int, list[int]] = defaultdict(list)
            for initiative_id, target in stale:
                stale_by_initiative[initiative_id].append(target)
            for initiative_id, targets in stale_by_initiative.items():
                through.objects.filter(
                    initiative_id=initiative_id, **{f"{column}__in": targets}
                ).delete()
        through.objects.bulk_create(
            [through(initiative_id=i, **{column: t}) for i, t in sorted(wanted - current)]
        )


def write_alignments(plans: list[ItemPlan]) -> None:
    if not plans:
        return
    initiative_ids = [plan.result.initiative_id for plan in plans]
    current = {
        (a.initiative_id, a.goal_id): a
        for a in Alignment.objects.filter(initiative_id__in=initiative_ids)
    }
    wanted: dict[tuple[int, int], AlignmentPlan] = {
        (plan.result.initiative_id, a.goal_id): a for plan in plans for a in plan.alignments or ()
    }
    stale_ids = [a.id for pair, a in current.items() if pair not in wanted]
    if stale_ids:
        Alignment.objects.filter(id__in=stale_ids).delete()
    changed = []
    for pair, a in current.items():
        target = wanted.get(pair)
        if target is not None and _alignment_tuple(a) != _alignment_tuple(target):
            a.strength, a.is_primary = target.strength, target.is_primary
            a.rationale, a.expected_impact = target.rationale, target.expected_impact
            # bulk_update skips auto_now; the alignment feed pages by updated_at.
            a.updated_at = timezone.now()
            changed.append(a)
    if changed:
        # Clear primaries first: the one-primary unique index is checked row by row.
        Alignment.objects.filter(id__in=[a.id for a in changed], is_primary=True).update(
            is_primary=False
        )
        bulk.bulk_update(
            changed,
            ["strength", "is_primary", "rationale", "expected_impact", "updated_at"],
            increment=["version"],
        )
    Alignment.objects.bulk_create(
        [
            Alignment(
                initiative_id=pair[0],
                goal_id=a.goal_id,
                strength=a.strength,
                is_primary=a.is_primary,
                rationale=a.rationale,
                expected_impact=a.expected_impact,
            )
            for pair, a in wanted.items()
            if pair not in current
        ]
    )


def write_stage_changes(
    creates: list[ItemPlan],
    updates: list[ItemPlan],
    *,
    source: str,
    user: Any,
    actor_name: str,
    now,
) -> None:
    rows = [
        StageChange(
            initiative_id=plan.result.initiative_id,
            from_stage="",
            to_stage=plan.stage or Stage.IDEA,
            at=now,
            by=user,
            actor_name=actor_name,
            imported_from=source,
            note=plan.note,
        )
        for plan in creates
    ]
    rows += [
        StageChange(
            initiative_id=plan.result.initiative_id,
            from_stage=from_stage,
            to_stage=to_stage,
            at=now,
            by=user,
            actor_name=actor_name,
            note=plan.note,
            stance_exception=(from_stage, to_stage) in plan.stance_exceptions,
        )
        for plan in updates
        for from_stage, to_stage in plan.moves
    ]
    StageChange.objects.bulk_create(rows)


def fill_result(plan: ItemPlan, initiative: Initiative) -> None:
    plan.result.initiative_id = initiative.id
    plan.result.key = initiative.key
    plan.result.version = initiative.version
    plan.result.stage = initiative.stage


def stored_gate_gaps(initiative: Initiative) -> list[str]:
    """Gate gaps of an initiative as `load_existing` loaded (and locked) it, without a query."""
    has_primary = any(a.is_primary and a.live for a in initiative.sync_relations.alignments)
    return lifecycle.gate_gaps(initiative, has_primary_alignment=has_primary)


def compute_gate_gaps(plans: list[ItemPlan], *, unchanged: Sequence[ItemPlan] = ()) -> None:
    """Every item's current gate gaps, whatever the sync did to it, in a constant number of
    queries: the written initiatives read back (two queries), the unchanged ones from the rows
    loaded and locked for the diff (none) — those rows are what the initiative still is.
    """
    for plan in unchanged:
        assert plan.existing is not None
        plan.result.gate_gaps = stored_gate_gaps(plan.existing)
    if not plans:
        return
    ids = [plan.result.initiative_id for plan in plans]
    with_primary = set(
        Alignment.objects.filter(
            initiative_id__in=ids,
            is_primary=True,
            goal__vision__status=VisionStatus.ACTIVE,
            goal__archived_at__isnull=True,
        ).values_list("initiative_id", flat=True)
    )
    initiatives = Initiative.objects.in_bulk(ids)
    for plan in plans:
        initiative = initiatives[plan.result.initiative_id]
        plan.result.gate_gaps = lifecycle.gate_gaps(
            initiative, has_primary_alignment=initiative.id in with_primary
        )
