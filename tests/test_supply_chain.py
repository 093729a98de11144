"""Supply chain, in CI: bandit finds nothing beyond the reviewed baseline, pip-audit knows no
vulnerability in the installed packages, and every dependency is pinned by constraints.txt.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def requirement_name(line: str) -> str:
    return re.split(r"[<>=!~;\[ ]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pinned() -> dict[str, str]:
    pins = {}
    for line in (PROJECT_DIR / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_every_dependency_is_pinned_by_the_constraints():
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    wanted += [
        line
        for line in (PROJECT_DIR / "reliability" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pins = pinned()
    missing = sorted(
        {requirement_name(line) for line in wanted} - set(pins),
    )
    assert not missing, f"not in constraints.txt (run `make constraints`): {missing}"
    assert "ai-cx-portfolio" not in pins  # the project itself is installed from the tree


def test_the_installed_versions_are_the_pinned_ones():
    from importlib.metadata import version

    pins = pinned()
    for name in ("django", "djangorestframework", "psycopg", "gunicorn", "schemathesis"):
        assert version(name) == pins[name], name


def test_bandit_finds_nothing_beyond_the_reviewed_baseline():
    result = subprocess.run(  # noqa: S603
        [
            str(BIN / "bandit"),
            "-q",
            "-r",
            "registry",
            "portfolio",
            "reliability",
            "-c",
            "reliability/bandit.yaml",
            "-b",
            "reliability/bandit-baseline.json",
            "-f",
            "json",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    report = json.loads(result.stdout)
    findings = [
        f"{r['test_id']} {r['filename']}:{r['line_number']} {r['issue_text']}"
        for r in report["results"]
    ]
    assert not findings, "\n".join(findings)
    assert report["metrics"]["_totals"]["loc"] > 10_000  # it did scan the code


def test_pip_audit_knows_no_vulnerable_package():
    result = subprocess.run(  # noqa: S603
        [str(BIN / "pip-audit"), "--local", "--progress-spinner", "off", "-f", "json"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    report = json.loads(result.stdout or "{}")
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    if dependencies and not audited:
        pytest.skip("the vulnerability service (PyPI's JSON API) is unreachable from here")
    vulnerable = {d["name"]: [v["id"] for v in d["vulns"]] for d in audited if d.get("vulns")}
    assert not vulnerable, vulnerable
    assert len(audited) > 40
