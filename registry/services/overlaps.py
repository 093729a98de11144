"""Keeping the overlap scores that whole-portfolio pages read (`registry.models.overlaps`).

The worker calls `overlaps_refresh` when it has nothing else to do, a batch at a time;
`manage.py refresh_overlaps` runs it to the end (after a bulk load or a seeded benchmark).
A scan of an initiative replaces every kept pair it is part of, from either side, with what
its own scan finds; the score of a pair is the same from both sides, only which candidates
the full-text probe reaches differs, so a pair that only the other's words reach returns when
the other is scanned again.
"""

from __future__ import annotations

from django.db import models, transaction

from registry.models import Initiative, OverlapCandidate, OverlapScan
from registry.selectors.overlaps import (
    EVERYTHING,
    SCAN_FIELDS,
    scan_subjects,
    scored_candidates,
    unscanned,
)


def overlaps_refresh(*, limit: int | None = 200) -> int:
    """Score up to `limit` (None: all) open initiatives changed since their last scan, oldest
    change first; returns how many were scanned."""
    rows = list(unscanned().order_by("updated_at", "pk").values(*SCAN_FIELDS, "updated_at")[:limit])
    if not rows:
        return 0
    vision, subjects = scan_subjects([{name: row[name] for name in SCAN_FIELDS} for row in rows])
    found = scored_candidates(subjects, user=EVERYTHING, vision=vision)
    ids_by_key = dict(
        Initiative.objects.filter(
            key__in={candidate["key"] for candidates in found for candidate in candidates}
        ).values_list("key", "pk")
    )
    scanned = [row["pk"] for row in rows]
    with transaction.atomic():
        OverlapCandidate.objects.filter(
            models.Q(initiative_id__in=scanned) | models.Q(other_id__in=scanned)
        ).delete()
        OverlapCandidate.objects.bulk_create(
            [
                OverlapCandidate(
                    initiative_id=subject.pk,
                    other_id=ids_by_key[candidate["key"]],
                    score=candidate["score"],
                    reasons=candidate["reasons"],
                )
                for subject, candidates in zip(subjects, found, strict=True)
                for candidate in candidates
                if candidate["key"] in ids_by_key
            ],
            ignore_conflicts=True,
        )
        OverlapScan.objects.bulk_create(
            [OverlapScan(initiative_id=row["pk"], scanned_at=row["updated_at"]) for row in rows],
            update_conflicts=True,
            unique_fields=["initiative"],
            update_fields=["scanned_at"],
        )
    return len(rows)
