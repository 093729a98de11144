"""Stored first answers of POSTs carrying an Idempotency-Key."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy

MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an Idempotency-Key, kept for a day."""

    owner = models.CharField(gettext_lazy("owner"), max_length=80)
    key = models.CharField(gettext_lazy("key"), max_length=MAX_KEY_LENGTH)
    method = models.CharField(gettext_lazy("method"), max_length=10)
    path = models.CharField(gettext_lazy("path"), max_length=500)
    request_hash = models.CharField(gettext_lazy("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(gettext_lazy("status code"))
    response_body = models.JSONField(gettext_lazy("response body"), null=True)
    response_headers = models.JSONField(gettext_lazy("response headers"), default=dict)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)

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
