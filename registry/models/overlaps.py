"""Scored overlaps kept between requests (`registry.selectors.overlaps`).

Scoring one initiative against the portfolio reads the full-text index word by word: tens of
milliseconds at 10,000 initiatives, half a second at 100,000. Intake, sync and an
initiative's own candidates score the few initiatives they are about; the pages that show
every overlap of the portfolio (the dashboard, the overlaps report, the changelist's filter)
would score all of them per request — 190 s at 10,000. Above a size they read these rows,
which `services.overlaps.overlaps_refresh` (the worker, or `manage.py refresh_overlaps`)
writes for each initiative changed since its last scan. Derived data, like the report
rollups: no history, no outbox, never shown without the reader's visibility applied.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.models.initiatives import Initiative


class OverlapCandidate(models.Model):
    """One scored pair, as the scan of `initiative` found `other` (the score is symmetric)."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("score"))
    reasons = models.JSONField(_("reasons"), default=list)

    class Meta:
        verbose_name = _("overlap candidate")
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "other"], name="registry_overlapcandidate_unique"
            )
        ]
        indexes = [models.Index(fields=["other"], name="registry_overlap_other_idx")]

    def __str__(self) -> str:
        return f"{self.initiative_id} ~ {self.other_id} ({self.score:.2f})"


class OverlapScan(models.Model):
    """When an initiative's overlaps were last scored: its `updated_at` at that scan."""

    initiative = models.OneToOneField(
        Initiative, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    scanned_at = models.DateTimeField(_("scanned at"))

    class Meta:
        verbose_name = _("overlap scan")

    def __str__(self) -> str:
        return f"{self.initiative_id} @ {self.scanned_at:%Y-%m-%d %H:%M}"
