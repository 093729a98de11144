"""Saved import mappings and the builder's import runs: the PMO's, written here only.

A mapping is stored as the YAML text the command line reads, and only after it parses as a
mapping: `validate` is the spreadsheet layer's parser (`registry.spreadsheets.imports.
parse_mapping`), handed in because that layer sits above the services. A name that a shipped
mapping already has is refused, so `--mapping NAME` never means two things.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import yaml
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from registry.models import ImportMapping, ImportRun
from registry.permissions import Actor
from registry.services.errors import InvalidError, StateConflictError, require_pmo

MAPPINGS_ARE_THE_PMOS = _("Import mappings are the PMO's.")
MAX_YAML_CHARS = 200_000


def import_mapping_check(
    *,
    actor: Any,
    name: str,
    yaml_text: str,
    validate: Callable[[Any], object],
    reserved: Collection[str] = (),
    mapping: ImportMapping | None = None,
) -> str:
    """Refuse what `import_mapping_save` would refuse; the name it would store."""
    require_pmo(actor, MAPPINGS_ARE_THE_PMOS)
    clean_name = slugify(name or "")[:80]
    if not clean_name:
        raise InvalidError(
            _("Give the mapping a name (letters, digits, dashes)."), code="required", field="name"
        )
    if clean_name in reserved:
        raise StateConflictError(
            _("A mapping shipped with the registry is called '%s'; choose another name.")
            % clean_name,
            code="reserved",
            field="name",
        )
    taken = ImportMapping.objects.filter(name=clean_name)
    if mapping is not None:
        taken = taken.exclude(pk=mapping.pk)
    if taken.exists():
        raise StateConflictError(
            _("A saved mapping is already called '%s'; choose another name.") % clean_name,
            code="unique",
            field="name",
        )
    if len(yaml_text) > MAX_YAML_CHARS:
        raise InvalidError(_("The mapping is too long."), code="too_long", field="yaml")
    try:
        data = yaml.safe_load(yaml_text)
    except yaml.YAMLError as error:
        raise InvalidError(
            _("The mapping is not valid YAML: %s") % error, code="invalid", field="yaml"
        ) from error
    try:
        validate(data)
    except ValueError as error:  # MappingError: an unknown key, a target outside our words, …
        raise InvalidError(str(error), code="invalid", field="yaml") from error
    return clean_name


@transaction.atomic
def import_mapping_save(
    *,
    actor: Any,
    name: str,
    yaml_text: str,
    validate: Callable[[Any], object],
    reserved: Collection[str] = (),
    mapping: ImportMapping | None = None,
) -> ImportMapping:
    """Create a saved mapping, or change `mapping`; refused as `import_mapping_check` says."""
    if mapping is not None:
        mapping = ImportMapping.objects.select_for_update().get(pk=mapping.pk)
    clean_name = import_mapping_check(
        actor=actor,
        name=name,
        yaml_text=yaml_text,
        validate=validate,
        reserved=reserved,
        mapping=mapping,
    )
    if mapping is None:
        mapping = ImportMapping(created_by=Actor.of(actor).login)
    mapping.name, mapping.yaml = clean_name, yaml_text
    mapping.save()
    return mapping


@transaction.atomic
def import_mapping_delete(*, actor: Any, mapping: ImportMapping) -> None:
    """Delete a saved mapping (the files it imported stay as they are)."""
    require_pmo(actor, MAPPINGS_ARE_THE_PMOS)
    ImportMapping.objects.select_for_update().filter(pk=mapping.pk).delete()


# --- the builder's import runs -----------------------------------------------------------------


def import_run_start(*, actor: Any, token: str, filename: str) -> ImportRun:
    """Record an import the PMO started; its progress is written as it goes."""
    require_pmo(actor, MAPPINGS_ARE_THE_PMOS)
    return ImportRun.objects.create(
        token=token, created_by=Actor.of(actor).login, filename=filename[:255]
    )


class ImportRunProgress:
    """Writes how far a run is, as `imports.import_file`'s progress callback.

    On a database connection of its own, committed at once: the import itself is one open
    transaction until its last row (all or nothing), yet the page polls from other requests,
    possibly other app processes.
    """

    def __init__(self, run: ImportRun) -> None:
        self.run_id = run.pk
        self.connection = connections.create_connection(DEFAULT_DB_ALIAS)

    def __call__(self, phase: str, done: int, total: int) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                # ImportRun's table (tests/services/test_import_mappings.py reads it back).
                "UPDATE registry_importrun SET phase = %s, done = %s, total = %s, "
                "updated_at = now() WHERE id = %s AND status = %s",
                [phase[:20], done, total, self.run_id, ImportRun.Status.RUNNING],
            )

    def close(self) -> None:
        self.connection.close()


def import_run_finish(
    *, run: ImportRun, report: dict[str, Any] | None = None, rows: int = 0, error: str = ""
) -> None:
    """The run's end: its report and the rows it read, or why it failed."""
    ended: dict[str, Any] = {"status": ImportRun.Status.FAILED, "error": error}
    if not error:
        ended = {"status": ImportRun.Status.DONE, "phase": "finished", "done": rows, "total": rows}
    ImportRun.objects.filter(pk=run.pk).update(report=report or {}, **ended)
