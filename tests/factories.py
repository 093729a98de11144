"""factory_boy factories for the registry's models."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from registry import choices, models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        for name in extracted or ():
            self.groups.add(Group.objects.get(name=name))


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Department
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Department {n}")
    slug = factory.Sequence(lambda n: f"department-{n}")
    function = choices.DepartmentFunction.SERVICE


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Person

    name = factory.Sequence(lambda n: f"Person {n}")
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    department = factory.SubFactory(DepartmentFactory)
    title = "Manager"


class SystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.System

    name = factory.Sequence(lambda n: f"System {n}")
    slug = factory.Sequence(lambda n: f"system-{n}")
    category = choices.SystemCategory.CRM


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")


class VisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Vision

    title = factory.Sequence(lambda n: f"CX vision {n}")
    statement = "Effortless, personal service on every channel."
    horizon_start = datetime.date(2026, 1, 1)
    horizon_end = datetime.date(2028, 12, 31)
    status = choices.VisionStatus.ACTIVE


def active_vision() -> models.Vision:
    """The active vision, created on first use: there can only be one."""
    return models.Vision.objects.active().first() or VisionFactory()


class GoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Goal

    vision = factory.LazyFunction(active_vision)
    code = factory.Sequence(lambda n: f"G-{n}")
    title = factory.Sequence(lambda n: f"Goal {n}")
    theme = "loyalty"
    metric = choices.Metric.NPS
    unit = "points"
    direction = choices.Direction.INCREASE
    baseline = Decimal("20")
    baseline_date = datetime.date(2026, 1, 1)
    target = Decimal("40")
    target_date = datetime.date(2027, 12, 31)


class MeasurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Measurement

    goal = factory.SubFactory(GoalFactory)
    observed_on = datetime.date(2026, 6, 30)
    value = Decimal("25")


class InitiativeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Initiative

    name = factory.Sequence(lambda n: f"Initiative {n}")
    summary = "Answers billing questions in chat."
    kind = choices.Kind.CHATBOT
    owner = factory.SubFactory(PersonFactory)
    lead_department = factory.SelfAttribute("owner.department")


def bulk_initiatives(count: int, **fields: Any) -> list[models.Initiative]:
    """`count` initiatives in one INSERT (keys from the database's sequence): enough rows for
    counts above any limit without building each one through a factory.
    """
    fields.setdefault("kind", choices.Kind.OTHER)
    return models.Initiative.objects.bulk_create(
        models.Initiative(name=f"Bulk {n}", **fields) for n in range(count)
    )


class AlignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Alignment

    initiative = factory.SubFactory(InitiativeFactory)
    goal = factory.SubFactory(GoalFactory)
    strength = choices.AlignmentStrength.STRONG
    is_primary = True


class TeamRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.TeamRole

    initiative = factory.SubFactory(InitiativeFactory)
    person = factory.SubFactory(PersonFactory)
    role = choices.TeamRoleKind.RESPONSIBLE


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Review

    vision = factory.LazyFunction(active_vision)
    period = "2026-Q4"
