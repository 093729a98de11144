"""Import mappings the PMO builds in the admin, kept by name for the next quarter's file.

The text is the same YAML as the shipped mappings in `registry/spreadsheets/mappings/`, so the
admin's import, the mapping builder and `manage.py import_initiatives --mapping NAME` read a
saved mapping exactly as they read a shipped one: one mechanism, two places to keep it.
Written only through `registry.services.import_mappings`, which parses the YAML first.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportMapping(models.Model):
    """A named spreadsheet mapping (YAML), saved from the mapping builder."""

    name = models.SlugField(
        _("name"),
        max_length=80,
        unique=True,
        help_text=_(
            "How the import page and the command line name it "
            "(manage.py import_initiatives FILE --mapping NAME)."
        ),
    )
    yaml = models.TextField(_("mapping (YAML)"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")

    def __str__(self) -> str:
        return self.name


class ImportRun(models.Model):
    """One import started from the mapping builder: its progress while it runs in the
    background, and its report when it is done, read by the page that polls it."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    token = models.CharField(_("token"), max_length=40, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    filename = models.CharField(_("file"), max_length=255)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    phase = models.CharField(_("phase"), max_length=20, blank=True)
    done = models.PositiveIntegerField(_("rows done"), default=0)
    total = models.PositiveIntegerField(_("rows in all"), default=0)
    report = models.JSONField(_("report"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"
