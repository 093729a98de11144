"""`manage.py import_initiatives FILE --source NAME --mapping MAPPING.yaml [--dry-run]`."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from registry.spreadsheets import imports
from registry.sync import upsert as sync

PHASE_LABELS = {
    "reading": gettext_lazy("Reading"),
    "checking": gettext_lazy("Checking"),
    "importing": gettext_lazy("Importing"),
}
LIST_LIMIT = 50


class ProgressBar:
    """A one-line progress bar on stderr; plain lines when stderr is not a terminal."""

    def __init__(self, stream: OutputWrapper | TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.interactive = stream.isatty()
        self.phase = ""
        self.started = time.monotonic()

    def write(self, text: str) -> None:
        if isinstance(self.stream, OutputWrapper):
            self.stream.write(text, ending="")
        else:
            self.stream.write(text)
        self.stream.flush()

    def __call__(self, phase: str, done: int, total: int) -> None:
        label = str(PHASE_LABELS.get(phase, phase.title()))
        if phase != self.phase:
            if self.phase and self.interactive:
                self.write("\n")
            self.phase, self.started = phase, time.monotonic()
        filled = self.width * done // total if total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        rows = _("%(done)s/%(total)s rows") % {"done": done, "total": total}
        line = f"{label:<10} [{bar}] {rows}  {time.monotonic() - self.started:.1f}s"
        if self.interactive:
            self.write("\r" + line)
        elif done == total:
            self.write(line + "\n")

    def close(self) -> None:
        if self.phase and self.interactive:
            self.write("\n")


class Command(BaseCommand):
    help = (
        "Import initiatives from a CSV or XLSX file through the sync module, using a column "
        "mapping (a YAML file, or the name of a shipped one such as us-federal-2023)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV or XLSX file.")
        parser.add_argument(
            "--source",
            help="Sync source the initiatives belong to (default: the mapping's source).",
        )
        parser.add_argument(
            "--mapping",
            required=True,
            help="Mapping YAML file, or a shipped mapping's name: "
            + ", ".join(path.stem for path in sorted(imports.MAPPINGS_DIR.glob("*.yaml"))),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would happen; write nothing."
        )
        parser.add_argument(
            "--atomic",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="All rows or none (default). --no-atomic writes good rows, reports bad ones.",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=imports.DEFAULT_CHUNK_SIZE,
            help=f"Rows per sync batch (at most {sync.MAX_BATCH_ITEMS}).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the full report as JSON instead."
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar."
        )
        parser.add_argument(
            "--report",
            metavar="REPORT.csv",
            help="Also write the full report as CSV: every row's outcome, one line per issue.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("There is no file %(path)s.") % {"path": path})
        if not 1 <= options["chunk_size"] <= sync.MAX_BATCH_ITEMS:
            raise CommandError(
                _("--chunk-size must be between 1 and %(max)s.") % {"max": sync.MAX_BATCH_ITEMS}
            )
        try:
            mapping = imports.load_mapping(options["mapping"])
        except imports.MappingError as error:
            raise CommandError(_("Mapping: %(error)s") % {"error": error}) from error
        source = options["source"] or mapping.default_source
        progress = None if options["no_progress"] else ProgressBar(self.stderr)
        try:
            report = imports.import_file(
                path.read_bytes(),
                mapping=mapping,
                source=source,
                filename=path.name,
                actor_name=f"import:{source}",
                dry_run=options["dry_run"],
                atomic=options["atomic"],
                chunk_size=options["chunk_size"],
                progress=progress,
            )
        except (imports.ImportFileError, sync.SyncError) as error:
            raise CommandError(str(error)) from error
        finally:
            if progress:
                progress.close()
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            self.write_summary(report)
        if options["report"]:
            with Path(options["report"]).open("w", encoding="utf-8", newline="") as stream:
                imports.write_report_csv(report, stream)
            self.stderr.write(_("Report written to %(path)s.") % {"path": options["report"]})
        if report.failed:
            rejected = len(report.rejected)
            if report.dry_run:
                message = ngettext(
                    "%(n)s row rejected; nothing would be written. Fix it, or import with "
                    "--no-atomic to write the good rows.",
                    "%(n)s rows rejected; nothing would be written. Fix them, or import with "
                    "--no-atomic to write the good rows.",
                    rejected,
                )
            else:
                message = ngettext(
                    "%(n)s row rejected; nothing written. Fix it, or import with --no-atomic "
                    "to write the good rows.",
                    "%(n)s rows rejected; nothing written. Fix them, or import with --no-atomic "
                    "to write the good rows.",
                    rejected,
                )
            raise CommandError(message % {"n": rejected})

    def write_summary(self, report: imports.ImportReport) -> None:
        out = self.stdout
        counts = report.counts()
        if report.dry_run:
            mode = _("Dry run (nothing written; the counts are what an import would do)")
        else:
            mode = _("Imported") if report.written else _("Nothing written")
        encoding = f", {report.encoding}" if report.encoding else ""
        out.write(
            _(
                "%(mode)s: %(file)s (%(format)s) as source '%(source)s' "
                "with the mapping '%(mapping)s'"
            )
            % {
                "mode": mode,
                "file": report.filename,
                "format": f"{report.file_format}{encoding}",
                "source": report.source,
                "mapping": _(report.mapping),  # a shipped mapping's name is in the catalogue
            }
            + ("" if report.atomic else _(", good rows kept (--no-atomic)"))
        )

        rows: list[tuple[str, Any, str]] = [
            (_("rows read"), counts["rows"], ""),
            (_("created"), counts["created"], ""),
            (_("updated"), counts["updated"], ""),
            (_("unchanged"), counts["unchanged"], ""),
            (_("rejected"), counts["rejected"], ""),
            (_("duplicates"), counts["duplicates"], _("(skipped)")),
        ]
        if counts["not_written"]:
            rows.append(
                (_("not written"), counts["not_written"], _("(fine, but the import was refused)"))
            )
        rows.append((_("derived ids"), counts["derived_ids"], ""))
        if report.blank_rows:
            rows.append((_("blank rows"), report.blank_rows, _("(ignored)")))
        if counts["owners_left_unset"]:
            rows.append(
                (
                    _("owner unset"),
                    counts["owners_left_unset"],
                    _("(e-mail of no registered person and no name in the file)"),
                )
            )
        # The counts line up in any language (13 is the English column); the lists of new
        # departments and tags may stick out.
        width = max(13, *(len(label) for label, _value, _remark in rows))
        for label, created in (
            (_("new departments"), report.departments_created),
            (_("new tags"), report.tags_created),
        ):
            if created:
                shown = ", ".join(created[:10]) + (" …" if len(created) > 10 else "")
                rows.append((label, len(created), f"({shown})"))
        for label, value, remark in rows:
            out.write(f"  {label:<{width}} {value}" + (f" {remark}" if remark else ""))
        gaps = report.gate_gap_labels()
        if gaps:
            out.write(_("Gate gaps of the created/updated initiatives (evidence to collect):"))
            for label, count in gaps:
                out.write(f"  {count:>5}  {label}")
        for notice in report.notices:
            out.write(self.style.WARNING(notice.message))
        self.write_groups(
            _("Rejected, by cause"), report.rejection_groups(), style=self.style.ERROR
        )
        self.write_groups(
            _("Adjusted, by cause"), report.warning_groups(), style=self.style.WARNING
        )
        self.write_issues(_("Rejected"), report.rejections(), style=self.style.ERROR)
        self.write_issues(_("Warnings"), report.warnings(), style=self.style.WARNING)
        if report.duplicates:
            out.write(_("Duplicates (skipped):"))
            for row in report.duplicates[:LIST_LIMIT]:
                out.write(
                    _("  row %(row)s (%(id)s): same as row %(first)s")
                    % {"row": row.row, "id": row.external_id, "first": row.duplicate_of}
                )

    def write_groups(self, title: str, groups: list[dict[str, Any]], *, style: Any) -> None:
        if not groups:
            return
        self.stdout.write(style(f"{title}:"))
        for group in groups:
            where = group["field"] + (f" [{group['column']}]" if group["column"] else "")
            rows = ", ".join(str(row) for row in group["rows"])
            more = " …" if group["count"] > len(group["rows"]) else ""
            self.stdout.write(
                _("  %(count)5d  %(code)s, %(where)s: rows %(rows)s; e.g. %(example)s")
                % {
                    "count": group["count"],
                    "code": group["code"],
                    "where": where,
                    "rows": rows + more,
                    "example": group["example"],
                }
            )

    def write_issues(self, title: str, issues: list[dict[str, Any]], *, style: Any) -> None:
        if not issues:
            return
        self.stdout.write(style(f"{title} ({len(issues)}):"))
        for issue in issues[:LIST_LIMIT]:
            where = issue["field"] + (f" [{issue['column']}]" if issue["column"] else "")
            self.stdout.write(
                _("  row %(row)s (%(id)s) %(where)s: %(message)s")
                % {
                    "row": issue["row"],
                    "id": issue["external_id"] or _("no id"),
                    "where": where,
                    "message": issue["message"],
                }
            )
        if len(issues) > LIST_LIMIT:
            self.stdout.write(
                _("  … and %(n)s more (see --json)") % {"n": len(issues) - LIST_LIMIT}
            )
