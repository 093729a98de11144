"""The organisation: departments (the silos), people, systems and tags."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from registry import choices
from registry.models.base import TimestampedModel


class Department(TimestampedModel):
    """An organisational unit: the silos the registry wants to see across."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    function = models.CharField(
        _("function"), max_length=20, choices=choices.DepartmentFunction.choices
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class Person(TimestampedModel):
    """An owner, sponsor or team member; may or may not have a login."""

    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"))
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="people",
    )
    title = models.CharField(_("job title"), max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="registry_person_unique_email",
                violation_error_message=_("A person with this e-mail already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)


class System(TimestampedModel):
    """A platform or data asset initiatives use: where personalization meets integration."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    category = models.CharField(
        _("category"), max_length=20, choices=choices.SystemCategory.choices
    )
    owner_department = models.ForeignKey(
        Department,
        verbose_name=_("owner department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="systems",
    )
    vendor = models.CharField(_("vendor"), max_length=120, blank=True)
    contains_personal_data = models.BooleanField(_("contains personal data"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("system")
        verbose_name_plural = _("systems")

    def __str__(self) -> str:
        return self.name


TAG_SLUG_LENGTH = 60


def tag_slug(label: str) -> str:
    """The slug a tag label stands for: 'Classical ML' and 'classical-ml' are one tag.

    A label with nothing slugify keeps (only punctuation, or a script it drops) gets a slug
    from its digest, so every label has one and the same label always the same one.
    """
    text = " ".join(str(label).split())
    slug = slugify(text)[:TAG_SLUG_LENGTH].strip("-")
    if slug or not text:
        return slug
    return "tag-" + hashlib.blake2b(text.casefold().encode(), digest_size=4).hexdigest()


class Tag(models.Model):
    """A free label (e.g. `GDPR`, `Law Enforcement`): a name people read, a slug tools use.

    The slug is derived from the name when a tag is made without one (also in bulk_create),
    and stays when the name is edited, so links and synced references keep working.
    """

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=TAG_SLUG_LENGTH, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(slug="") & ~models.Q(name=""),
                name="registry_tag_named",
                violation_error_message=_("A tag needs a name."),
            ),
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read the loaded values only: touching a deferred field would query for it.
        values = self.__dict__
        if "slug" in values and not values["slug"] and values.get("name"):
            self.slug = tag_slug(self.name)
        if "name" in values and not values["name"] and values.get("slug"):
            self.name = self.slug

    def __str__(self) -> str:
        return self.name
