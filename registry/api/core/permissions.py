"""DRF permission classes: thin adapters over the rule functions in `registry.permissions`.

Every role reads (an integration account only with its token); what each role may write
is decided by the rules, never here. Confidential initiatives are filtered out of the
querysets (`visible_to`), so for those who may not see them they are a 404, not a 403.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from registry import permissions as rules
from registry.api.core.authentication import request_token
from registry.services.parts import OWNING_INITIATIVE

READ_REFUSED = _(
    "Your account has no registry role (PMO, contributor, viewer), or it is an integration "
    "account, which must use its API token."
)


class RegistryPermission(BasePermission):
    """Reads for every role; subclasses decide writes."""

    message: Any = READ_REFUSED
    code = "permission_denied"

    def has_permission(self, request: Request, view: Any) -> bool:
        if not rules.can_read(request.user, request_token(request)):
            self.message = READ_REFUSED
            return False
        if request.method in SAFE_METHODS:
            return True
        return self.may_write(request, view)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return self.may_write_object(request, view, obj)

    def may_write(self, request: Request, view: Any) -> bool:
        return False

    def may_write_object(self, request: Request, view: Any, obj: Any) -> bool:
        return False


class ReadOnly(RegistryPermission):
    """Read-only resources (stage changes, the change feed): the views have no write
    handlers, so a write answers 405.
    """

    def may_write(self, request: Request, view: Any) -> bool:
        return True


class PMOWrites(RegistryPermission):
    """Reference data: visions, goals, measurements, organisation, systems, tags, reviews."""

    def may_write(self, request: Request, view: Any) -> bool:
        self.message = _("Only the PMO changes this resource.")
        return rules.can_write_reference_data(request.user, request_token(request))

    def may_write_object(self, request: Request, view: Any, obj: Any) -> bool:
        return self.may_write(request, view)


class TagWrites(PMOWrites):
    """Tags: the PMO; an integration whose token may create tags may also add new ones."""

    def may_write(self, request: Request, view: Any) -> bool:
        if getattr(view, "action", None) == "create" and rules.can_create_tags(
            request.user, request_token(request)
        ):
            return True
        return super().may_write(request, view)

    def may_write_object(self, request: Request, view: Any, obj: Any) -> bool:
        return super().may_write(request, view)


class InitiativeAccess(RegistryPermission):
    """Create: PMO or an integration (for its own source, checked on the payload); anyone
    else with a role proposes an idea.
    Change and transition: `can_change_initiative`. Archive and restore:
    `can_archive_initiative`.
    """

    archive_actions = frozenset({"destroy", "restore"})

    def may_write(self, request: Request, view: Any) -> bool:
        if view.action == "create":
            # The PMO and integrations register; everyone else with a role proposes an idea
            # (the initiative service holds what a proposal may say).
            token = request_token(request)
            self.message = _("Your role may not register or propose initiatives.")
            return rules.can_propose_initiative(request.user, token) or (
                rules.is_integration(request.user) and token is not None
            )
        return True  # decided per object

    def may_write_object(self, request: Request, view: Any, obj: Any) -> bool:
        token = request_token(request)
        if view.action in self.archive_actions:
            self.message = _(
                "Only the PMO (or the integration that syncs it) archives or restores %(key)s."
            ) % {"key": obj.key}
            return rules.can_archive_initiative(request.user, obj, token)
        self.message = _(
            "You may not change %(key)s: it is neither yours nor one you are accountable or "
            "responsible for (integrations: not of your token's source)."
        ) % {"key": obj.key}
        return rules.can_change_initiative(request.user, obj, token)


class InitiativePartAccess(RegistryPermission):
    """Alignments, team roles and dependencies follow the initiative they belong to.

    A request-level answer before anything is read from the body; the service
    (`registry.services.parts`) checks the stored and the requested initiative.
    """

    def may_write(self, request: Request, view: Any) -> bool:
        self.message = _("Your role may not change initiatives.")
        return rules.can_change_any_initiative(request.user, request_token(request))

    def may_write_object(self, request: Request, view: Any, obj: Any) -> bool:
        initiative = getattr(obj, OWNING_INITIATIVE[type(obj)])
        self.message = _("You may not change %(key)s.") % {"key": initiative.key}
        return rules.can_change_initiative(request.user, initiative, request_token(request))


class NoteAccess(InitiativePartAccess):
    """Notes follow their initiative; notes on goals and reviews are the PMO's; only the
    PMO deletes a note.
    """

    def may_write_object(self, request: Request, view: Any, obj: Any) -> bool:
        if view.action == "destroy":
            self.message = _("Only the PMO deletes notes.")
            return rules.is_pmo(request.user)
        self.message = _("Only the PMO or the note's author may change it.")
        return rules.can_write_note(request.user, obj, request_token(request))
