"""Saved views: named, shareable filter sets of the initiative list."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.http import QueryDict
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _


class SavedView(models.Model):
    """A named filter set of the initiative list, private to its owner or shared."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(
        _("slug"),
        max_length=60,
        blank=True,
        help_text=_(
            "Names the view in URLs (?view=unaligned-pilots); made from the name if empty."
        ),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    shared = models.BooleanField(
        _("shared"), default=False, help_text=_("Shared views are listed for everyone.")
    )
    query = models.CharField(
        _("filters"),
        max_length=2000,
        blank=True,
        help_text=_(
            "The initiative list's filters as a query string, in the API's names, e.g. "
            "stage=pilot&aligned=false or risk_tier=high&customer_facing=true."
        ),
    )
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "slug"],
                name="registry_savedview_unique_slug",
                violation_error_message=_("You already have a saved view with this slug."),
            ),
            # `?view=<slug>` names one shared view, never several (the review's standing
            # queries are addressed by slug).
            models.UniqueConstraint(
                fields=["slug"],
                condition=Q(shared=True),
                name="registry_savedview_unique_shared_slug",
                violation_error_message=_(
                    "A shared view already has this slug; choose another one."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.slug = self.slug or slugify(self.name)[:60]
        super().save(*args, **kwargs)

    def filters(self) -> QueryDict:
        """The stored filters, parsed (lists for repeatable ones)."""
        return QueryDict(self.query)
