"""Tags named by tools and spreadsheets: created on first use, when the actor may.

Sync and import name tags by label ("Classical ML") or slug (`classical-ml`); both stand for
one tag, found by slug. A label nobody has used yet becomes a tag only for an actor that may
create tags (`permissions.can_create_tags`: the PMO, and integrations whose token allows it);
otherwise sync refuses the item and lists the unknown labels. No user is a command's run,
which its operator answers for (as `services.errors.require_pmo`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from registry import permissions as rules
from registry.models import Tag
from registry.permissions import Actor
from registry.services.errors import ForbiddenError


def may_create_tags(actor: Any) -> bool:
    """Whether this actor's sync or import creates the tags it names."""
    who = Actor.of(actor)
    return who.user is None or rules.can_create_tags(who.user, who.token)


def tags_create_missing(*, actor: Any, labels: Mapping[str, str]) -> dict[str, int]:
    """Create the tags (slug -> name) that do not exist yet; the ids of all of them by slug.

    Tolerates a concurrent sync creating the same tag: the first name given wins.
    """
    if not may_create_tags(actor):
        raise ForbiddenError(_("You may not create tags."), code="permission_denied")
    wanted = {slug: name for slug, name in labels.items() if slug}
    Tag.objects.bulk_create(
        [Tag(slug=slug, name=name[:100]) for slug, name in sorted(wanted.items())],
        ignore_conflicts=True,
    )
    return dict(Tag.objects.filter(slug__in=list(wanted)).values_list("slug", "id"))
