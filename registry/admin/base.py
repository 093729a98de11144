"""What every registry admin shares: refused rules shown on the form, versions bumped on save,
and rows that belong to an initiative hidden and writable with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pgtrigger
from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, router, transaction
from django.db.models import F, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from registry import permissions
from registry.admin.changelist import ExactCountChangeList
from registry.admin.history import TriggerHistoryMixin
from registry.i18n.rule_messages import rule_message
from registry.models import (
    Initiative,
)
from registry.permissions import Actor
from registry.selectors.counting import ExactCountPaginator
from registry.selectors.visibility import visible_rows
from registry.services.errors import RefusedError
from registry.services.lifecycle import StaleVersionError, TransitionError
from registry.services.parts import OWNING_INITIATIVE, part_delete, part_save

if TYPE_CHECKING:  # mixins below are only ever mixed into these
    _AdminBase = admin.ModelAdmin
    _InlineBase = admin.options.InlineModelAdmin
else:
    _AdminBase = _InlineBase = object


ADMIN_CSS = {"all": ("registry/admin.css",)}


class ConstraintViolation:
    """A refused save: the rule's name, the model it guards and the message for people."""

    def __init__(
        self, name: str, message: str, model: type | None = None, field: str | None = None
    ) -> None:
        self.name = name
        self.message = message
        self.model = model or _model_for_constraint(name)
        self.field = field
        self.reported = False

    @classmethod
    def from_error(cls, exc: DatabaseError) -> ConstraintViolation | None:
        """The registry rule behind a database error, or None if it is not one of ours."""
        diag = getattr(exc.__cause__, "diag", None)
        name = getattr(diag, "constraint_name", None) or ""
        if not name.startswith("registry_"):
            return None
        # Constraints and trigger-raised rules alike, in the user's language.
        message = rule_message(name)
        return cls(name, message or getattr(diag, "message_primary", None) or str(exc))


def _model_for_constraint(name: str) -> type | None:
    # Rules are named `registry_<model>_<rule>` (CONVENTIONS §Habits 3).
    parts = name.split("_")
    if len(parts) < 3:
        return None
    try:
        return apps.get_model("registry", parts[1])
    except LookupError:
        return None


def _deferred_trigger_uris() -> list[str]:
    return [
        f"{model._meta.label}:{trigger.name}"
        for model, trigger in pgtrigger.registered()
        if trigger.timing and model._meta.app_label == "registry"
    ]


def check_deferred_rules(using: str) -> None:
    """Run the deferred rule triggers now, inside the admin's transaction, then defer again.

    Without this, "exactly one primary alignment" would only be checked at COMMIT, outside
    anything the admin can turn into a form error.
    """
    uris = _deferred_trigger_uris()
    if uris:
        pgtrigger.constraints(pgtrigger.Immediate, *uris, databases=[using])
        pgtrigger.constraints(pgtrigger.Deferred, *uris, databases=[using])


class SaveRefusedError(Exception):
    """Raised by an admin save hook when a domain service refuses the write."""

    def __init__(self, message: str, *, code: str, model: type, field: str | None = None) -> None:
        super().__init__(message)
        self.violation = ConstraintViolation(code, message, model, field)


# What a save can be refused with: a database rule, or a service's refusal.
REFUSALS = (IntegrityError, SaveRefusedError, RefusedError, StaleVersionError, TransitionError)


def _violation(exc: Exception) -> ConstraintViolation | None:
    if isinstance(exc, SaveRefusedError):
        return exc.violation
    if isinstance(exc, RefusedError):
        return ConstraintViolation(exc.code, exc.message, None, exc.field)
    if isinstance(exc, TransitionError):
        return ConstraintViolation(exc.code, exc.message, None)
    if isinstance(exc, StaleVersionError):
        return ConstraintViolation(
            "stale",
            str(
                _(
                    "Someone changed this initiative while you were editing it (now "
                    "version %(current)s, you started from %(loaded)s). Open it again "
                    "to see their changes, then redo yours."
                )
                % {"current": exc.current_version, "loaded": exc.expected_version}
            ),
            None,
        )
    if isinstance(exc, IntegrityError):
        return ConstraintViolation.from_error(exc)
    return None


VIOLATION_ATTR = "_registry_constraint_violation"


class RegistryAdminForm(forms.ModelForm):
    """Base admin form; shows a rule the database refused on the previous save attempt."""

    registry_violation: ConstraintViolation | None = None

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        violation = self.registry_violation
        if violation is not None and violation.model in (None, self._meta.model):
            violation.reported = True
            if violation.field in self.fields:
                self.add_error(violation.field, violation.message)
            else:
                raise ValidationError(violation.message, code=violation.name)
        return cleaned


class RegistryInlineFormSet(BaseInlineFormSet):
    """Base inline formset; the first formset of the refused rule's model shows its message."""

    registry_violation: ConstraintViolation | None = None

    def clean(self) -> None:
        super().clean()
        violation = self.registry_violation
        if violation is not None and violation.model is self.model and not violation.reported:
            violation.reported = True
            raise ValidationError(violation.message, code=violation.name)


class ConstraintFeedbackMixin(_AdminBase):
    """Turns a refused save or delete into a form error or message instead of a 500.

    The save runs in the admin's transaction; when the database refuses it, the whole
    attempt is rolled back and the form is shown again with the user's input and the rule's
    message on the form or inline it concerns.
    """

    form = RegistryAdminForm

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        form_class.registry_violation = getattr(  # type: ignore[attr-defined]
            request, VIOLATION_ATTR, None
        )
        return form_class

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS as exc:
            violation = _violation(exc)
            if violation is None or request.method != "POST":
                raise
        inline_models = {inline.model for inline in self.inlines}
        if violation.model not in inline_models:
            violation.model = self.model
        setattr(request, VIOLATION_ATTR, violation)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS:
            # The refused rule's form was not on the page (e.g. no permission for that inline).
            self.message_user(request, violation.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        check_deferred_rules(router.db_for_write(self.model))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        check_deferred_rules(router.db_for_write(self.model))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic(using=router.db_for_write(self.model)):
            super().delete_queryset(request, queryset)
            check_deferred_rules(router.db_for_write(self.model))

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except REFUSALS as exc:
            violation = _violation(exc)
            if violation is None:
                raise
        self.message_user(request, violation.message, messages.ERROR)
        return HttpResponseRedirect(request.path.rsplit("/delete/", 1)[0] + "/change/")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        try:
            return super().changelist_view(request, extra_context)
        except REFUSALS as exc:
            violation = _violation(exc)
            if violation is None:
                raise
        self.message_user(request, violation.message, messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())


class VisibleRowsMixin(_InlineBase):
    """Every queryset of the page — the admin's own rows, an inline's rows and the choices of
    each foreign key — is narrowed by the selector of its model
    (`registry.selectors.visibility`), so a confidential initiative is neither listed nor
    accepted as a choice (a posted id of one answers "Select a valid choice", as an unknown
    id does).
    """

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return visible_rows(self.model, request.user, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        return _visible_choices(
            super().formfield_for_foreignkey(db_field, request, **kwargs), db_field, request
        )

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        return _visible_choices(
            super().formfield_for_manytomany(db_field, request, **kwargs), db_field, request
        )


def _visible_choices(formfield: Any, db_field: Any, request: HttpRequest) -> Any:
    if formfield is not None and hasattr(formfield, "queryset"):
        formfield.queryset = visible_rows(db_field.related_model, request.user, formfield.queryset)
    return formfield


class RegistryInline(VisibleRowsMixin):
    """Inline base: shows only visible rows and choices, and a refused rule on the formset it
    concerns."""

    formset = RegistryInlineFormSet
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs):
        formset_class = super().get_formset(request, obj, **kwargs)
        formset_class.registry_violation = getattr(  # type: ignore[attr-defined]
            request, VIOLATION_ATTR, None
        )
        return formset_class


class RegistryModelAdmin(
    VisibleRowsMixin, TriggerHistoryMixin, ConstraintFeedbackMixin, admin.ModelAdmin
):
    """Base for every registry model admin."""

    list_per_page = 50
    # Both counts exact ("N results (M total)"), over primary keys, in one statement.
    paginator = ExactCountPaginator
    show_full_result_count = True

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ExactCountChangeList

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        """An initiative's parts through `registry.services.parts`; other inlines (a goal's
        measurements) with their versions bumped in the database."""
        save_rows = getattr(formset, "save_rows", None)
        if save_rows is not None:  # an inline that saves through its own service
            save_rows(request, formset)
            return
        if formset.model in OWNING_INITIATIVE:
            save_parts(request, formset)
            return
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        changed = {id(obj) for obj, _fields in formset.changed_objects}
        for obj in instances:
            if obj.pk is not None and id(obj) in changed and _has_field(obj, "version"):
                obj.version = F("version") + 1
            obj.save()
        formset.save_m2m()


def save_parts(request: HttpRequest, formset: Any) -> None:
    """Save an inline of an initiative's parts row by row through the part service, and
    record what happened as Django's formset.save() would (for the change message)."""
    actor = Actor(user=request.user)
    model = formset.model
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    try:
        for child in formset.deleted_forms:
            if child.instance.pk is not None:
                part_delete(actor=actor, part=child.instance)
                formset.deleted_objects.append(child.instance)
        for child in formset.forms:
            if child in formset.deleted_forms or not child.has_changed():
                continue
            new = child.instance.pk is None
            names = child._meta.fields or []
            data = {
                name: child.cleaned_data[name]
                for name in names
                if name in child.cleaned_data and (new or name in child.changed_data)
            }
            data[formset.fk.name] = formset.instance
            row = part_save(
                actor=actor, model=model, part=None if new else child.instance, data=data
            )
            if new:
                formset.new_objects.append(row)
            else:
                formset.changed_objects.append((row, child.changed_data))
    except RefusedError as refused:
        raise SaveRefusedError(
            refused.message, code=refused.code, model=model, field=refused.field
        ) from refused


def _has_field(obj: Any, name: str) -> bool:
    return any(field.name == name for field in obj._meta.concrete_fields)


def can_write_initiative(user: Any, initiative: Initiative | None) -> bool:
    """The role rule of `registry.permissions`, on top of the admin's model permission.

    Cached on the initiative: the change page asks once per inline and button.
    """
    if not user.has_perm("registry.change_initiative"):
        return False
    if initiative is None or initiative.pk is None:
        return True
    cache = initiative.__dict__.setdefault("_registry_writable", {})
    if user.pk not in cache:
        cache[user.pk] = permissions.can_change_initiative(user, initiative)
    return cache[user.pk]


class InitiativePartAdminMixin(_AdminBase):
    """Rows that belong to an initiative: writable where it is (hidden with it by
    `VisibleRowsMixin`). `write_path` is the initiative whose write permission the row follows.
    """

    write_path: str | None = "initiative"

    def may_write(self, request: HttpRequest, obj: Any) -> bool:
        if self.write_path is None or permissions.is_pmo(request.user):
            return True
        initiative = getattr(obj, self.write_path, None)
        return initiative is not None and can_write_initiative(request.user, initiative)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and (
            obj is None or self.may_write(request, obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (
            obj is None or self.may_write(request, obj)
        )

    def save_model(self, request: HttpRequest, obj: Any, form, change: bool) -> None:
        """Through `registry.services.parts`, which holds every rule of the part."""
        if self.model not in OWNING_INITIATIVE:
            super().save_model(request, obj, form, change)
            return
        data = {
            name: form.cleaned_data[name]
            for name in form._meta.fields or []
            if name in form.cleaned_data and (not change or name in form.changed_data)
        }
        stored = self.model._default_manager.get(pk=obj.pk) if change else None
        row = part_save(actor=Actor(user=request.user), model=self.model, part=stored, data=data)
        obj.pk = row.pk
        obj._state.adding = False
        for field in self.model._meta.concrete_fields:
            setattr(obj, field.attname, getattr(row, field.attname))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        if self.model not in OWNING_INITIATIVE:
            super().delete_model(request, obj)
            return
        part_delete(actor=Actor(user=request.user), part=obj)
        check_deferred_rules(router.db_for_write(self.model))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        if self.model not in OWNING_INITIATIVE:
            super().delete_queryset(request, queryset)
            return
        with transaction.atomic(using=router.db_for_write(self.model)):
            for obj in queryset:
                part_delete(actor=Actor(user=request.user), part=obj)
            check_deferred_rules(router.db_for_write(self.model))


class InitiativeChildInline(RegistryInline):
    """An inline on the initiative page: writable only where the initiative is."""

    def _parent_writable(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or can_write_initiative(request.user, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and self._parent_writable(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._parent_writable(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._parent_writable(request, obj)
