"""Messages of the database's named rules, in the language of the request.

Constraints carry a lazy `violation_error_message`; rules enforced by triggers raise an
English text from PL/pgSQL, so their message for people is kept here. The admin and the API
both look a refused rule up by name, never by the database's wording.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.apps import apps
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

TRIGGER_RULE_MESSAGES: dict[str, Promise] = {
    "registry_alignment_has_primary": _(
        "An aligned initiative needs exactly one primary alignment."
    ),
    "registry_dependency_no_cycle": _("This dependency would create a cycle."),
    "registry_reviewdecision_frozen_when_closed": _(
        "The review is closed; its decisions can no longer change."
    ),
}


@cache
def _lazy_rule_messages() -> dict[str, Any]:
    messages: dict[str, Any] = dict(TRIGGER_RULE_MESSAGES)
    for model in apps.get_app_config("registry").get_models():
        for constraint in model._meta.constraints:
            messages[constraint.name] = constraint.violation_error_message
    return messages


def rule_message(name: str) -> str | None:
    """The message of the named constraint or trigger rule, or None if it is not ours.

    The lazy messages are cached, not their text, so every request gets its own language.
    """
    message = _lazy_rule_messages().get(name)
    return None if message is None else str(message)


def rule_messages() -> dict[str, str]:
    """Every named rule and its message, in the active language."""
    return {name: str(message) for name, message in _lazy_rule_messages().items()}
