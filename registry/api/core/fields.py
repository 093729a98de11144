"""Related objects: read in a brief form, written by natural key (e-mail, slug, code, key) or id."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.request import Request


class NaturalKeyRelatedField(serializers.RelatedField):
    """Accepts `"<natural key>"`, an integer id (where allowed) or the brief object itself,
    so a client can send back what it read. Unknown values are a 400 naming the value.

    `queryset` may be a callable taking the request, for objects whose visibility depends
    on the user (confidential initiatives).
    """

    default_error_messages = {
        "does_not_exist": _("No {model} with {field} '{value}'."),
        "invalid": _("Give the {field} of a {model} (a string){or_id}."),
    }

    def __init__(
        self,
        *,
        natural_key: str,
        brief_serializer: type[serializers.Serializer],
        queryset: QuerySet | Callable[[Request | None], QuerySet] | None = None,
        allow_id: bool = True,
        case_insensitive: bool = False,
        **kwargs: Any,
    ) -> None:
        self.natural_key = natural_key
        self.brief_serializer = brief_serializer
        self.allow_id = allow_id
        self.case_insensitive = case_insensitive
        self.queryset_factory = None if isinstance(queryset, QuerySet) else queryset
        static = queryset if isinstance(queryset, QuerySet) else None
        if kwargs.get("read_only"):
            static = None
        elif static is None and self.queryset_factory is None:
            raise ValueError("A writable NaturalKeyRelatedField needs a queryset.")
        super().__init__(queryset=static, **kwargs)

    def get_queryset(self) -> QuerySet:
        if self.queryset_factory is not None:
            return self.queryset_factory(self.context.get("request"))
        queryset = super().get_queryset()
        assert queryset is not None, "read-only fields are never asked for their queryset"
        return queryset

    def _names(self) -> tuple[str, str]:
        model = self.get_queryset().model
        return str(model._meta.verbose_name), self.natural_key

    def to_internal_value(self, data: Any) -> Model:
        if isinstance(data, Mapping):
            data = data.get(self.natural_key, data.get("id"))
        queryset = self.get_queryset()
        model_name, field = self._names()
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail(
                "invalid",
                field=field,
                model=model_name,
                or_id=_(" or its id (an integer)") if self.allow_id else "",
            )
        if isinstance(data, int):
            if not self.allow_id:
                self.fail("invalid", field=field, model=model_name, or_id="")
            lookup = {"pk": data}
        else:
            value = data.strip()
            lookup = {f"{field}__iexact" if self.case_insensitive else field: value}
        try:
            return queryset.get(**lookup)
        except (queryset.model.DoesNotExist, ValueError, TypeError):
            # ValueError: a string where the natural key is the integer id ("null", "{}").
            self.fail(
                "does_not_exist",
                model=model_name,
                field="id" if isinstance(data, int) else field,
                value=data,
            )
        raise AssertionError("unreachable")

    def to_representation(self, value: Any) -> Any:
        return self.brief_serializer(value, context=self.context).data

    def get_choices(self, cutoff: int | None = None) -> dict:
        # The browsable API renders a <select>; label options by natural key.
        queryset = self.get_queryset()
        if cutoff is not None:
            queryset = queryset[:cutoff]
        return {getattr(obj, self.natural_key): str(obj) for obj in queryset}


class NullableChoiceField(serializers.ChoiceField):
    """A choice the model stores as "" for none (a paused initiative's `paused_from`, the
    first stage change's `from_stage`), answered as null: "" is no member of the enum the
    schema names, and a typed client refuses it.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return None if value in ("", None) else super().to_representation(value)
