"""Stored first answers of POSTs carrying an Idempotency-Key."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

MAX_KEY_LENGTH = 255


def retention() -> datetime.timedelta:
    """How long a first answer is replayed (setting REGISTRY_IDEMPOTENCY_HOURS, 24 by default)."""
    return datetime.timedelta(hours=settings.REGISTRY_IDEMPOTENCY_HOURS)


class IdempotencyRecordQuerySet(models.QuerySet):
    def cutoff(self, now: datetime.datetime | None = None) -> datetime.datetime:
        return (now or timezone.now()) - retention()

    def fresh(self, now: datetime.datetime | None = None) -> IdempotencyRecordQuerySet:
        """Records still replayed: younger than the retention."""
        return self.filter(created_at__gte=self.cutoff(now))

    def expired(self, now: datetime.datetime | None = None) -> IdempotencyRecordQuerySet:
        """Records past the retention: their keys count as new, the worker deletes them."""
        return self.filter(created_at__lt=self.cutoff(now))


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an Idempotency-Key, kept for the retention."""

    owner = models.CharField(gettext_lazy("owner"), max_length=80)
    key = models.CharField(gettext_lazy("key"), max_length=MAX_KEY_LENGTH)
    method = models.CharField(gettext_lazy("method"), max_length=10)
    path = models.CharField(gettext_lazy("path"), max_length=500)
    request_hash = models.CharField(gettext_lazy("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(gettext_lazy("status code"))
    response_body = models.JSONField(gettext_lazy("response body"), null=True)
    response_headers = models.JSONField(gettext_lazy("response headers"), default=dict)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)

    objects = IdempotencyRecordQuerySet.as_manager()

    class Meta:
        app_label = "registry"
        verbose_name = gettext_lazy("idempotency record")
        verbose_name_plural = gettext_lazy("idempotency records")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "key"], name="registry_idempotencyrecord_unique_key"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="registry_idem_created_idx")]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"
