"""What every registry model shares: timestamps, the history tables' indexes and the
initiative key sequence.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

INITIATIVE_KEY_SEQUENCE = "registry_initiative_key_seq"


def event_indexes(
    name: str, *, per_object: bool = True, tombstones: bool = False
) -> dict[str, list[models.Index]]:
    """Meta of a history event table: the change feed pages it in (pgh_created_at, pgh_id)
    order, and finds an event's previous one (its diff's "before") by (pgh_obj, pgh_id).
    Where the keyset list merges in tombstones (`api.feeds.deletions_of`), a partial index
    holds the few delete events, which a scan of every event would otherwise find.
    """
    indexes = [
        models.Index(fields=["pgh_created_at", "pgh_id"], name=f"registry_{name}ev_feed_idx")
    ]
    if per_object:
        indexes.append(
            models.Index(fields=["pgh_obj", "pgh_id"], name=f"registry_{name}ev_prev_idx")
        )
    if tombstones:
        indexes.append(
            models.Index(
                fields=["pgh_obj"],
                condition=Q(pgh_label="delete"),
                name=f"registry_{name}ev_delete_idx",
            )
        )
    return {"indexes": indexes}


class NextInitiativeKey(models.Func):
    """`AI-0001`, `AI-0002`, … from a sequence, so a key is never reused, even after deletes."""

    function = "registry_next_initiative_key"
    template = "%(function)s()"
    output_field = models.CharField()


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True
