"""Hostile input against a live registry: every query parameter of every list, report and
feed in the OpenAPI schema, and the sync batch body, with what an attacker sends rather than
what the schema describes — deep JSON, huge numbers, non-finite decimals, invalid UTF-8,
NUL, full-width and combining characters, 10,000 parameters. Every answer must be a 4xx
or a clean 2xx; a 5xx (or a dropped connection) is a finding.

`python -m reliability.hostile` starts a disposable PostgreSQL, the demo portfolio and
gunicorn with DEBUG off (as `make fuzz` does), runs every case as the PMO and the
integration, and writes `reliability/results/hostile.json`; `tests/reliability/test_hostile.py`
runs the same cases in CI against gunicorn on the test database. Schemathesis
(`reliability/fuzz.py`) stays beside it: it explores what the schema allows, this what it
does not.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

import requests

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_DIR / "reliability" / "results"
API = "/api/v1"

DEEP = "[" * 1000 + "]" * 1000
# (label, value) of a query parameter; bytes are sent percent-encoded as they are.
QUERY_VALUES: list[tuple[str, str | bytes]] = [
    ("deep json", DEEP),
    ("deep json cursor", "eyJ0Ijog" + "W1tb" * 300),
    ("huge integer", "9" * 5000),
    ("big integer", str(2**64)),
    ("negative big", str(-(2**63) - 1)),
    ("1e20", "1e20"),
    ("1e400", "1e400"),
    ("NaN", "NaN"),
    ("sNaN", "sNaN"),
    ("Infinity", "Infinity"),
    ("-Infinity", "-Infinity"),
    ("invalid utf-8", b"\xff\xfe\xc3\x28"),
    ("overlong utf-8", b"\xc0\xaf"),
    ("lone surrogate", b"\xed\xa0\x80"),
    ("NUL", "\x00"),
    ("NUL inside", "key\x00name"),
    ("control", "\x01\x1b[31m"),
    ("fullwidth", "ｋｅｙ"),
    ("fullwidth date", "２０２６-０１-０１"),
    ("fullwidth digits", "１２３"),
    ("combining", "ke\u0301y\u0338"),
    ("zalgo", "k" + "\u0300" * 500),
    ("rtl override", "\u202ekey"),
    ("empty terms", ",,,"),
    ("trailing comma", "key,"),
    ("sql", "' OR 1=1 --"),
    ("long", "x" * 3000),
    ("quarter far", "99999-Q9"),
    ("date far", "99999-12-31"),
    ("datetime tz", "2026-01-01T00:00:00+99:00"),
    ("percent", "%"),
    ("newline", "a\r\nSet-Cookie: x=1"),
]
# Values for fields of a sync item.
BODY_VALUES: list[tuple[str, object]] = [
    ("deep list", json.loads("[" * 30 + "]" * 30)),
    ("deep object", json.loads('{"a":' * 30 + "1" + "}" * 30)),
    ("huge integer", 10**100),
    ("big integer", 2**64),
    ("float 1e308", 1e308),
    ("1e20 text", "1e20"),
    ("NaN text", "NaN"),
    ("sNaN text", "sNaN"),
    ("Infinity text", "Infinity"),
    ("-Infinity text", "-Infinity"),
    ("NUL", "a\x00b"),
    ("control", "\x01\x02\x1b"),
    ("fullwidth", "ｃｈａｔｂｏｔ"),
    ("combining", "ch\u0301atbot"),
    ("lone surrogate", "\ud800"),
    ("emoji", "🤖" * 100),
    ("long", "x" * 100_000),
    ("empty object", {}),
    ("list of objects", [{"goal": "G-NPS"}] * 3),
    ("boolean", True),
    ("null", None),
]
SYNC_FIELDS = [
    "external_id",
    "name",
    "summary",
    "kind",
    "stage",
    "note",
    "owner",
    "lead_department",
    "departments",
    "systems",
    "tags",
    "alignments",
    "touchpoints",
    "journey_stages",
    "customer_segments",
    "interaction_mode",
    "autonomy",
    "budget_planned",
    "budget_spent",
    "currency",
    "expected_benefit",
    "start_date",
    "target_date",
    "end_date",
    "risk_tier",
    "customer_facing",
    "uses_personal_data",
    "confidential",
    "hypothesis",
    "success_criteria",
    "learnings",
    "external_url",
]
ALIGNMENT_FIELDS = ["goal", "strength", "is_primary", "expected_impact", "rationale"]
MANY = 10_000


@dataclass
class Case:
    """One request."""

    label: str
    method: str
    path: str
    query: str = ""
    body: bytes | None = None
    content_type: str = "application/json"


@dataclass
class Findings:
    cases: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[dict] = field(default_factory=list)
    by_kind: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "cases": self.cases,
            "server_errors": len(self.server_errors),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "by_kind": dict(self.by_kind),
            "first_server_errors": self.server_errors[:20],
        }


def encoded(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return quote_from_bytes(value, safe="")
    return quote(value, safe="")


def query_operations(schema: dict) -> list[tuple[str, list[str]]]:
    """(path, query parameter names) of every GET without path parameters: lists, reports,
    feeds."""
    found = []
    for path, item in schema["paths"].items():
        get = item.get("get")
        if get is None or "{" in path:
            continue
        names = [p["name"] for p in get.get("parameters", []) if p.get("in") == "query"]
        found.append((path, sorted(set(names) | {"format"})))
    return found


def query_cases(schema: dict) -> Iterator[Case]:
    for path, names in query_operations(schema):
        for name in names:
            for label, value in QUERY_VALUES:
                yield Case(f"query {label}", "GET", path, f"{name}={encoded(value)}")
            yield Case("query repeated", "GET", path, "&".join([f"{name}=a"] * 300))
        # 10,000 parameters: in the query (the web server's line limit answers) and as a
        # form body (Django's field limit answers).
        many = "&".join(f"p{n}=1" for n in range(MANY))
        yield Case("query 10,000 parameters", "GET", path, many)
        yield Case(
            "form 10,000 fields",
            "POST",
            path,
            body=many.encode(),
            content_type="application/x-www-form-urlencoded",
        )


def _batch(items: list, **envelope: object) -> bytes:
    return json.dumps({"source": "jira", "items": items, **envelope}).encode()


def sync_cases() -> Iterator[Case]:
    path = f"{API}/initiatives/sync/"
    base = {"name": "Hostile", "kind": "chatbot"}
    for atomic in (False, True):
        for name in SYNC_FIELDS:
            items = [
                {**base, "external_id": f"H-{name}-{n}", name: value}
                for n, (_label, value) in enumerate(BODY_VALUES)
            ]
            if name == "external_id":
                items = [{**base, "external_id": value} for _label, value in BODY_VALUES]
            yield Case(
                f"sync item field{'' if atomic else ' non-atomic'}",
                "POST",
                path,
                body=_batch(items, atomic=atomic),
            )
        for name in ALIGNMENT_FIELDS:
            items = [
                {
                    **base,
                    "external_id": f"A-{name}-{n}",
                    "alignments": [{"goal": "G-NPS", "strength": 2, name: value}],
                }
                for n, (_label, value) in enumerate(BODY_VALUES)
            ]
            yield Case("sync alignment field", "POST", path, body=_batch(items, atomic=atomic))
    for _label, value in BODY_VALUES:
        for envelope in ("source", "items", "atomic"):
            body = {"source": "jira", "items": [], "atomic": False, envelope: value}
            yield Case(f"sync envelope {envelope}", "POST", path, body=json.dumps(body).encode())
        yield Case("sync item itself", "POST", path, body=_batch([value]))
        yield Case(
            "sync one",
            "PUT",
            f"{API}/initiatives/sync/jira/{encoded('ｈ-1')}/",
            body=json.dumps({**base, "summary": value}).encode(),
        )
    raw_bodies = [
        ("deep json 1,000", DEEP.encode()),
        ("deep json 100,000", b"[" * 100_000 + b"]" * 100_000),
        ("deep object", b'{"items":' * 2000 + b"1" + b"}" * 2000),
        ("invalid utf-8", b'{"source": "\xff\xfe", "items": []}'),
        ("utf-16", '{"source": "jira", "items": []}'.encode("utf-16")),
        ("NUL", b'{"source": "jira\x00", "items": []}'),
        ("escaped NUL", b'{"source": "jira\\u0000", "items": []}'),
        ("lone surrogate", b'{"source": "\\ud800", "items": []}'),
        ("NaN", b'{"source": "jira", "items": [], "atomic": NaN}'),
        ("1e400", b'{"source": "jira", "items": [{"external_id": "x", "budget_planned": 1e400}]}'),
        (
            "huge integer",
            b'{"source": "jira", "items": [{"external_id": "x", "budget_planned": '
            + b"9" * 5000
            + b"}]}",
        ),
        ("duplicate keys", b'{"source": "jira", "source": "other", "items": []}'),
        ("not json", b"source=jira&items=1"),
        ("empty", b""),
        ("10,000 items of nothing", _batch([{}] * MANY)),
        ("5,001 items", _batch([{"external_id": str(n)} for n in range(5001)])),
    ]
    for label, body in raw_bodies:
        yield Case(f"sync raw {label}", "POST", path, body=body)
    yield Case(
        "sync form 10,000 fields",
        "POST",
        path,
        body="&".join(f"p{n}=1" for n in range(MANY)).encode(),
        content_type="application/x-www-form-urlencoded",
    )


def all_cases(schema: dict) -> list[Case]:
    return [*query_cases(schema), *sync_cases()]


def send(session: requests.Session, base_url: str, case: Case) -> int | None:
    url = base_url + case.path + (f"?{case.query}" if case.query else "")
    headers = {"Content-Type": case.content_type} if case.body is not None else {}
    try:
        response = session.request(
            case.method, url, data=case.body, headers=headers, timeout=120, allow_redirects=False
        )
    except requests.RequestException:
        return None
    return response.status_code


def run(base_url: str, tokens: dict[str, str], *, roles: Iterable[str] = ("pmo",)) -> dict:
    """Every case in every role; the figures, with the first server errors in detail."""
    schema = requests.get(
        f"{base_url}/api/schema/?format=json",
        headers={"Authorization": f"Token {tokens['pmo']}"},
        timeout=120,
    ).json()
    cases = all_cases(schema)
    findings = Findings()
    started = time.monotonic()
    for role in roles:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {tokens[role]}"
        for case in cases:
            status = send(session, base_url, case)
            findings.cases += 1
            findings.statuses[status or "no answer"] += 1
            findings.by_kind[case.label.split(" ")[0]] += 1
            if status is None or status >= 500:
                findings.server_errors.append(
                    {
                        "role": role,
                        "label": case.label,
                        "method": case.method,
                        "path": case.path,
                        "query": case.query[:200],
                        "body": (case.body or b"")[:200].decode("utf-8", "replace"),
                        "status": status,
                    }
                )
    summary = findings.as_dict()
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["roles"] = list(roles)
    summary["operations"] = len(query_operations(schema))
    summary["parameters"] = sum(len(names) for _path, names in query_operations(schema))
    return summary


def main(argv: list[str] | None = None) -> int:
    from reliability.fuzz import serve_scratch_registry

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", default="pmo,integration")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "hostile.json")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="registry-hostile-"))
    pg, server, tokens, _metrics_token = serve_scratch_registry(workdir)
    try:
        summary = run(server.url, tokens, roles=args.roles.split(","))
    finally:
        server.stop()
        pg.remove()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(
        f"hostile: {summary['cases']} cases over {summary['operations']} operations "
        f"({summary['parameters']} query parameters) and the sync body, "
        f"{summary['server_errors']} server errors, {summary['seconds']} s"
    )
    for error in summary["first_server_errors"]:
        print("  ", error)
    return 1 if summary["server_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
