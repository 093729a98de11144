"""The organisation: departments (the silos), people, systems and tags."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
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


class Tag(models.Model):
    """A free label the PMO manages (e.g. `gdpr`, `quick-win`)."""

    name = models.SlugField(_("name"), max_length=60, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name
