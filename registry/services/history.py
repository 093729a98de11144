"""History context: who changed what, through which channel.

django-pghistory records every row change with database triggers (so bulk writes are seen
too); this module attaches the actor, channel and request id to those events.
"""

from __future__ import annotations

from typing import Any

import pghistory

from registry.choices import Channel


def actor_label(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return user.get_username()


def history_context(*, channel: str, actor: str = "", **extra: Any) -> pghistory.context:
    """Enter (or extend) the history context for the writes that follow."""
    return pghistory.context(channel=channel, actor=actor, **extra)


def channel_for_path(path: str) -> str:
    if path.startswith("/api/"):
        return Channel.API
    return Channel.ADMIN
