"""Who may see and change what: the roles of the registry, as plain functions.

Roles are Django groups (kept in sync by registry.roles): PMO (all writes), contributor (writes to
initiatives they own or are accountable/responsible for), viewer (read only) and integration
(token-only; writes initiatives of its own source).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PMO = "PMO"
CONTRIBUTOR = "contributor"
VIEWER = "viewer"
INTEGRATION = "integration"
ROLE_GROUPS: tuple[str, ...] = (PMO, CONTRIBUTOR, VIEWER, INTEGRATION)


@dataclass(frozen=True)
class Actor:
    """Who writes: a person's login, or an integration's login with the token it used.

    Every service takes one; the surfaces build it from the request (admin, board pages,
    API), the token (sync) or the command's user.
    """

    user: Any = None
    token: Any = None

    @property
    def name(self) -> str:
        """As history and the stage journal name the actor: the token's name or the login."""
        if self.token is not None:
            return str(self.token.name)
        if getattr(self.user, "is_authenticated", False):
            return str(self.user.get_username())
        return ""

    @classmethod
    def of(cls, who: Any) -> Actor:
        """An Actor as it is, or a user (or None) as an actor without a token."""
        return who if isinstance(who, Actor) else cls(user=who)

    @property
    def login(self) -> Any:
        """The user to store in `created_by`/`updated_by` (None when anonymous)."""
        return self.user if getattr(self.user, "is_authenticated", False) else None


def group_names(user: Any) -> frozenset[str]:
    """The role groups of a user, read once per request object."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_registry_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._registry_groups = cached
    return cached


def is_pmo(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or PMO in group_names(user)


def is_integration(user: Any) -> bool:
    """An integration account (and nothing more): it acts only through its API token."""
    return INTEGRATION in group_names(user) and not is_pmo(user)


def can_read(user: Any, token: Any = None) -> bool:
    """Any role reads the registry; an integration account only with its token."""
    if not getattr(user, "is_authenticated", False):
        return False
    if is_pmo(user):
        return True
    if is_integration(user) and token is None:
        return False
    return bool(group_names(user) & set(ROLE_GROUPS))


def can_write_reference_data(user: Any, token: Any = None) -> bool:
    """Visions, goals, measurements, organisation, systems, tags and reviews: PMO only."""
    return is_pmo(user)


def can_create_tags(user: Any, token: Any = None) -> bool:
    """New tags by name: the PMO, and integrations whose token is allowed to (sync, import)."""
    if is_pmo(user):
        return True
    return is_integration(user) and bool(getattr(token, "can_create_tags", False))


def _token_owns_source(token: Any, source: str) -> bool:
    token_source = getattr(token, "source", "")
    return bool(token_source) and token_source == source


def is_initiative_writer(user: Any, initiative: Any) -> bool:
    """The initiative's owner, or an accountable/responsible member of its team."""
    from registry.choices import WRITING_TEAM_ROLES
    from registry.models import Person, TeamRole

    if not getattr(user, "is_authenticated", False):
        return False
    if initiative.owner_id is not None:
        if "owner" in initiative._state.fields_cache:
            owner = initiative.owner
            if owner is not None and owner.user_id == user.pk:
                return True
        elif Person.objects.filter(pk=initiative.owner_id, user=user).exists():
            return True
    return TeamRole.objects.filter(
        initiative=initiative, person__user=user, role__in=WRITING_TEAM_ROLES
    ).exists()


def can_change_initiative(user: Any, initiative: Any, token: Any = None) -> bool:
    """Edit, move through the lifecycle, align, staff and link one initiative.

    PMO: any. Integration: only initiatives of its token's source. Contributor: those they
    own or are accountable/responsible for. Viewer: none.
    """
    if is_pmo(user):
        return True
    if is_integration(user):
        return token is not None and _token_owns_source(token, initiative.source)
    if CONTRIBUTOR in group_names(user):
        return is_initiative_writer(user, initiative)
    return False


def can_create_initiative(user: Any, *, source: str = "", token: Any = None) -> bool:
    """PMO registers initiatives; an integration only those of its own source."""
    if is_pmo(user):
        return True
    if is_integration(user):
        return token is not None and _token_owns_source(token, source)
    return False


def can_propose_initiative(user: Any, token: Any = None) -> bool:
    """Anyone with a role proposes an idea, owned by themselves in their own department, so
    ideas from the departments reach the registry instead of bypassing it. (Integrations
    register their source's initiatives instead.)"""
    return can_read(user, token) and not is_integration(user)


def can_archive_initiative(user: Any, initiative: Any, token: Any = None) -> bool:
    """Archiving takes an initiative out of the portfolio: PMO, or the syncing integration."""
    if is_pmo(user):
        return True
    if is_integration(user):
        return token is not None and _token_owns_source(token, initiative.source)
    return False


def can_write_note(user: Any, note: Any, token: Any = None) -> bool:
    """Notes on an initiative follow the initiative; on goals and reviews, PMO only.

    An existing note is edited by the PMO or by its author while they may still write to
    its initiative.
    """
    if is_pmo(user):
        return True
    if note.initiative_id is None:
        return False
    if note.pk is not None and note.author_id != getattr(user, "pk", None):
        return False
    return can_change_initiative(user, note.initiative, token)


def own_department_id(user: Any) -> int | None:
    """The department of the person record linked to a login (None without one)."""
    from registry.models import Person

    if not getattr(user, "is_authenticated", False):
        return None
    return Person.objects.filter(user=user).values_list("department_id", flat=True).first()


def can_hand_over_to(user: Any, *, department_id: int | None, token: Any = None) -> bool:
    """May this user make a person of `department_id` an initiative's owner, or that
    department its lead department?

    PMO and integrations (for their source): anyone. A contributor only within their own
    department: moving accountability into another silo is the PMO's decision, and handing an
    initiative away must not be a way around it.
    """
    if is_pmo(user) or is_integration(user):
        return True
    own = own_department_id(user)
    return own is not None and department_id == own


def can_change_confidentiality(user: Any) -> bool:
    """Clearing `confidential` publishes an initiative; setting it hides it from everyone
    outside its team: the PMO's decision, not the team's."""
    return is_pmo(user)


def can_resume_after_board_pause(user: Any) -> bool:
    """An initiative the quarterly review paused is resumed by the PMO, not by its team."""
    return is_pmo(user)


def can_change_any_initiative(user: Any, token: Any = None) -> bool:
    """Whether the role writes initiatives at all (which ones is `can_change_initiative`)."""
    if is_pmo(user):
        return True
    if is_integration(user):
        return token is not None
    return CONTRIBUTOR in group_names(user)


def can_keep_saved_views(user: Any, token: Any = None) -> bool:
    """Saved views are kept by people with a role; an integration's would be no one's."""
    return can_read(user, token) and not (token is not None and is_integration(user))


def can_share_saved_view(user: Any) -> bool:
    """A shared view is listed in everyone's filter list: the PMO curates that list."""
    return is_pmo(user)


def can_change_saved_view(user: Any, view: Any) -> bool:
    """A saved view is changed (or deleted) by its owner; the PMO manages all of them."""
    if is_pmo(user):
        return True
    return getattr(user, "is_authenticated", False) and view.owner_id == user.pk


def can_record_voice_review(user: Any, token: Any = None) -> bool:
    """Voice reviews are the PMO's: a passed review opens the pilot → scaling gate, so a
    team (or its syncing tool) passing its own chatbot would make the gate meaningless."""
    return is_pmo(user)


def can_record_learning(user: Any, initiative: Any, token: Any = None) -> bool:
    """A learning is written by whoever may change its initiative (the PMO, its writers, the
    integration of its source): the people who ran the experiment."""
    return can_change_initiative(user, initiative, token)
