"""Optimistic concurrency over HTTP: `ETag` from a row's `version`, checked by `If-Match`.

The ETag is strong (`"7"`): it names the stored version of the row, which every write bumps.
`If-Match` is compared under the row lock the write holds, so two clients that read version
7 cannot both write it. With REGISTRY_REQUIRE_IF_MATCH, a write without If-Match gets 428.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.request import Request

from registry.api.core.errors import PreconditionFailed, PreconditionRequired


def etag_for(version: int) -> str:
    return f'"{version}"'


def parse_if_match(header: str) -> set[str] | None:
    """The entity tags of an If-Match header (W/ prefixes dropped); None for `*`."""
    tags: set[str] = set()
    for raw in header.split(","):
        tag = raw.strip()
        if tag == "*":
            return None
        if tag.startswith("W/"):
            tag = tag[2:]
        tags.add(tag.strip().strip('"'))
    return tags


def if_match_required() -> bool:
    return bool(getattr(settings, "REGISTRY_REQUIRE_IF_MATCH", False))


def check_if_match(request: Request, current_version: int) -> None:
    """Refuse the write (412) if the client's If-Match does not name the current version.

    Call it after taking the row lock, so the comparison holds until the write commits.
    """
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        if if_match_required():
            raise PreconditionRequired()
        return
    tags = parse_if_match(header)
    if tags is not None and str(current_version) not in tags:
        raise PreconditionFailed(
            _(
                "Your copy (If-Match %(sent)s) is out of date: the stored version is "
                "%(current)s. Fetch it again and retry."
            )
            % {"sent": header.strip(), "current": etag_for(current_version)},
            current_version=current_version,
        )
