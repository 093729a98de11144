"""API tokens: one named token per integration, stored only as a hash."""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TOKEN_PREFIX = "rgy_"  # noqa: S105 (a marker, not a secret)


# How stale `last_used_at` may get before an authenticated request refreshes it: one write
# per token per minute instead of one per request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    """The stored form of a secret (hex SHA-256); the secret itself is high-entropy."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, *, now: datetime.datetime | None = None) -> ApiTokenQuerySet:
        """Tokens that authenticate right now: not revoked, not expired, active user."""
        now = now or timezone.now()
        return self.filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now),
            revoked_at__isnull=True,
            user__is_active=True,
        )


class ApiToken(models.Model):
    """A named credential of one integration (or script) for `Authorization: Token …`."""

    name = models.CharField(
        _("name"),
        max_length=100,
        unique=True,
        help_text=_("Shown in history as the actor of every change made with this token."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text=_("Whose roles the token carries, usually a user of the integration group."),
    )
    source = models.CharField(
        _("source"),
        max_length=60,
        blank=True,
        help_text=_(
            "The sync source this token may write (e.g. jira); an integration token only "
            "writes initiatives of its own source."
        ),
    )
    can_create_tags = models.BooleanField(
        _("may create tags"),
        default=False,
        help_text=_(
            "Sync and import with this token create the tags they name that do not exist "
            "yet; without it, an unknown tag refuses the item."
        ),
    )
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(
        _("key prefix"),
        max_length=12,
        editable=False,
        help_text=_("The first characters of the secret, to recognise it."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        app_label = "registry"
        ordering = ["name"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(name=""),
                name="registry_apitoken_named",
                violation_error_message=_("An API token needs a name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now: datetime.datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def set_secret(self, secret: str) -> None:
        self.key_hash = hash_secret(secret)
        self.key_prefix = secret[: len(TOKEN_PREFIX) + 4]
