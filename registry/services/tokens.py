"""API tokens: one named token per integration, stored only as a hash.

The plain secret is shown once, when the token is created (admin or `create_token`); the
database keeps its SHA-256, so a leaked database dump cannot be replayed against the API.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.models.tokens import LAST_USED_RESOLUTION, ApiToken, hash_secret, new_secret
from registry.services.errors import require_pmo

# Tokens act for an integration: creating and revoking them is the PMO's.
TOKENS_ARE_THE_PMOS = _("API tokens are the PMO's.")


@transaction.atomic
def api_token_create(
    *,
    name: str,
    user: Any,
    source: str = "",
    can_create_tags: bool = False,
    expires_at: datetime.datetime | None = None,
    actor: Any = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its plain secret, which is never stored."""
    require_pmo(actor, TOKENS_ARE_THE_PMOS)
    secret = new_secret()
    token = ApiToken(
        name=name,
        user=user,
        source=source,
        can_create_tags=can_create_tags,
        expires_at=expires_at,
    )
    token.set_secret(secret)
    token.full_clean()
    token.save()
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Any = None) -> ApiToken:
    """Revoke a token for good; the row stays so history keeps naming it."""
    require_pmo(actor, TOKENS_ARE_THE_PMOS)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(secret: str) -> ApiToken | None:
    """The usable token for a presented secret (None if unknown, revoked or expired).

    Refreshes `last_used_at` at most once per LAST_USED_RESOLUTION with a single UPDATE.
    """
    now = timezone.now()
    token = (
        ApiToken.objects.usable(now=now)
        .select_related("user")
        .filter(key_hash=hash_secret(secret))
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
