"""Join or justify for many initiatives at once: what each one overlaps, in constant queries.

`reports.overlaps_for` answers for one initiative (one query per initiative). A sync batch of
thousands must not cost thousands of queries, so this module reads the portfolio's overlap
groups once (`reports.overlaps`, the same rule) and derives each initiative's overlaps from
them. A pair overlaps exactly when both sit in a group under different lead departments; its
reasons are the union of those groups' reasons. The result equals `overlaps_for` for every
open initiative (tests keep it so); a closed or archived initiative overlaps nothing, because
the rule compares open initiatives only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from registry import reports

RULE_ORDER = {reports.RULE_KIND_TOUCHPOINT_JOURNEY: 1, reports.RULE_GOAL_SYSTEM: 2}


def _reason_order(reason: dict[str, Any]) -> tuple:
    """The order `overlaps_for` lists reasons in: rule, then its values."""
    if reason.get("rule") == reports.RULE_KIND_TOUCHPOINT_JOURNEY:
        values = (reason.get("kind"), reason.get("touchpoint"), reason.get("journey_stage"))
    else:
        values = (reason.get("goal"), reason.get("system"), None)
    return (RULE_ORDER.get(reason.get("rule", ""), 9), *((v is None, v or "") for v in values))


def overlaps_by_key(keys: Iterable[str], *, user: Any) -> dict[str, list[dict[str, Any]]]:
    """For each key, the open initiatives of other lead departments it overlaps, and why.

    Same shape as `reports.overlaps_for` (key, name, stage, lead_department,
    lead_department_name, reasons; by key). Keys without overlaps map to an empty list.
    """
    wanted = set(keys)
    found: dict[str, dict[str, dict[str, Any]]] = {key: {} for key in wanted}
    if not wanted:
        return {}
    for group in reports.overlaps(user=user):
        members = group["members"]
        for subject in members:
            if subject["key"] not in wanted:
                continue
            for other in members:
                if other["lead_department"] == subject["lead_department"]:
                    continue
                entry = found[subject["key"]].setdefault(other["key"], {**other, "reasons": []})
                for reason in group["reasons"]:
                    if reason not in entry["reasons"]:
                        entry["reasons"].append(reason)
    result: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key in wanted:
        for other_key in sorted(found[key]):
            entry = found[key][other_key]
            entry["reasons"].sort(key=_reason_order)
            result[key].append(entry)
    return {key: result.get(key, []) for key in wanted}
