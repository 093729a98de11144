"""Template filters that show vocabulary codes as labels in the reader's language.

`{% load registry_labels %}` then `{{ row.stage|label_of:"stage" }}`,
`{{ snapshot.applied_move|move_label }}`, `{{ delta|signed_number:1 }}`.
"""

from __future__ import annotations

from typing import Any

from django import template

from registry.i18n import labels

register = template.Library()


@register.filter(name="label_of")
def label_of(code: Any, vocabulary: str) -> str:
    return labels.label_of(vocabulary, code)


@register.filter(name="move_label")
def move_label(move: Any) -> str:
    return labels.move_label(move if isinstance(move, dict) else None)


@register.filter(name="signed_number")
def signed_number(value: Any, decimal_pos: int = 1) -> str:
    return labels.signed_number(value, int(decimal_pos))
