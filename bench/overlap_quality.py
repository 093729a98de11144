"""Precision and recall of overlap scoring on the labelled pairs (docs/OVERLAPS.md).

`tests/selectors/overlap_pairs.csv` lists pairs of initiatives, each labelled an overlap (1) or
not (0) by reading both descriptions: the demo portfolio (`fixtures/demo_portfolio.yaml`, named
by initiative name) and the 2023 US federal AI use-case inventory (by Use_Case_ID), where
several departments report the same kind of system. The inventory carries no kind, touchpoints
or journey stages, so it tests what the texts alone can do.

`load_federal_inventory` puts the inventory into the registry as open initiatives led by their
federal department; `evaluate` runs the overlap scoring
(`registry.selectors.overlaps.scored_candidates`, the path every surface uses, candidates from
the indexes) for the initiatives of the labelled pairs, as the PMO sees them, and scores each
labelled pair as flagged (in either direction) or not.

    python -m bench.overlap_quality   # a scratch database bench_overlap_quality

loads the demo and the inventory into a scratch database and prints the figures.
"""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAIRS_FILE = ROOT / "tests" / "selectors" / "overlap_pairs.csv"
FEDERAL_FILE = Path(
    os.environ.get("FEDERAL_INVENTORY", "/work/shared/data/us-federal-ai-inventory-2023.csv")
)
FEDERAL_SOURCE = "us-federal-2023"


@dataclass(frozen=True)
class Quality:
    """The outcome on the labelled set."""

    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    misses: list[tuple[str, str, str]]
    false_alarms: list[tuple[str, str, str]]

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 0.0


def read_pairs(path: Path = PAIRS_FILE) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_federal_inventory(path: Path = FEDERAL_FILE) -> int:
    """The inventory as open initiatives (stage idea, kind other) led by their department."""
    from registry.models import Department, Initiative

    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    departments = {}
    for row in rows:
        code = row["Department_Code"].strip()
        if code and code not in departments:
            departments[code] = Department.objects.get_or_create(
                slug=f"us-{code.lower()}",
                defaults={"name": row["Department"].strip()[:100] or code, "function": "other"},
            )[0]
    Initiative.objects.bulk_create(
        [
            Initiative(
                name=row["Title"].strip()[:200] or row["Use_Case_ID"],
                summary=row["Summary"].strip(),
                kind="other",
                lead_department=departments.get(row["Department_Code"].strip()),
                source=FEDERAL_SOURCE,
                external_id=row["Use_Case_ID"].strip(),
            )
            for row in rows
        ]
    )
    return len(rows)


def settle_indexes() -> None:
    """Statistics and merged GIN pending lists after a bulk load, as autovacuum would leave
    them; works inside a transaction (tests), unlike VACUUM."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_initiative")
        cursor.execute("SELECT gin_clean_pending_list('registry_init_search_gin'::regclass)")


def _keys() -> dict[tuple[str, str], str]:
    from registry.models import Initiative

    keys: dict[tuple[str, str], str] = {}
    for key, name, source, external_id in Initiative.objects.values_list(
        "key", "name", "source", "external_id"
    ):
        if source == FEDERAL_SOURCE:
            keys[("federal", external_id)] = key
        else:
            keys[("demo", name)] = key
    return keys


def evaluate(user: Any, pairs: list[dict[str, str]] | None = None) -> Quality:
    """Score the labelled pairs with the portfolio's overlap pairs as `user` sees them."""
    from registry.selectors.overlaps import scored_candidates, subjects_by_key

    rows = pairs if pairs is not None else read_pairs()
    keys = _keys()
    wanted = sorted({keys[(row["set"], row[side])] for row in rows for side in ("a", "b")})
    subjects = list(subjects_by_key(wanted).values())
    flagged = {
        tuple(sorted((str(subject.key), candidate["key"])))
        for subject, found in zip(subjects, scored_candidates(subjects, user=user), strict=True)
        for candidate in found
    }
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    misses, false_alarms = [], []
    for row in rows:
        a, b = keys[(row["set"], row["a"])], keys[(row["set"], row["b"])]
        hit = tuple(sorted((a, b))) in flagged
        if row["overlap"] == "1":
            counts["tp" if hit else "fn"] += 1
            if not hit:
                misses.append((row["a"], row["b"], row["note"]))
        else:
            counts["fp" if hit else "tn"] += 1
            if hit:
                false_alarms.append((row["a"], row["b"], row["note"]))
    return Quality(
        true_positives=counts["tp"],
        false_positives=counts["fp"],
        false_negatives=counts["fn"],
        true_negatives=counts["tn"],
        misses=misses,
        false_alarms=false_alarms,
    )


def report(quality: Quality) -> str:
    lines = [
        f"precision {quality.precision:.2f}  recall {quality.recall:.2f}  "
        f"(tp {quality.true_positives}, fp {quality.false_positives}, "
        f"fn {quality.false_negatives}, tn {quality.true_negatives})"
    ]
    lines += [f"  missed: {a} ~ {b} ({note})" for a, b, note in quality.misses]
    lines += [f"  false alarm: {a} ~ {b} ({note})" for a, b, note in quality.false_alarms]
    return "\n".join(lines)


def main() -> int:
    import django
    import psycopg

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from bench.seed import _conninfo, create_database

    config = settings.DATABASES["default"]
    config["NAME"] = "bench_overlap_quality"
    connection.close()
    with psycopg.connect(_conninfo(config, "postgres"), autocommit=True) as admin:
        admin.execute('DROP DATABASE IF EXISTS "bench_overlap_quality"')
    create_database(config)
    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0)
    load_federal_inventory()
    settle_indexes()
    pmo = get_user_model().objects.filter(is_superuser=True).first()
    print(report(evaluate(pmo)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
