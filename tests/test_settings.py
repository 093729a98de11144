"""Settings come from the environment, and every variable is documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def variables_read_by_settings() -> set[str]:
    source = (ROOT / "portfolio" / "settings.py").read_text() + (
        ROOT / "portfolio" / "db.py"
    ).read_text()
    return set(
        re.findall(r"""(?:env\.\w+\(|os\.environ\.get\()\s*["']([A-Z][A-Z0-9_]+)["']""", source)
    )


def test_settings_read_the_documented_variables():
    read = variables_read_by_settings()
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "TIME_ZONE"} <= read


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_variable_is_documented(document):
    text = (ROOT / document).read_text()
    missing = sorted(name for name in variables_read_by_settings() if name not in text)
    assert missing == [], f"{document} does not mention {missing}"


def run_settings(**environment: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key != "DATABASE_URL"
    }
    env["DJANGO_ENV_FILE"] = ""  # the environment alone, not a developer's .env
    env.update(environment)
    env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; from django.conf import settings; "
            "django.setup(); print(settings.DEBUG, settings.ALLOWED_HOSTS)",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "portfolio.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_start_up_fails_clearly_without_a_secret_outside_debug():
    result = run_settings()
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_debug_is_off_unless_asked():
    result = run_settings(DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="registry.example.com")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ['registry.example.com']"


def test_debug_runs_without_a_secret():
    result = run_settings(DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("True")


@pytest.mark.django_db
def test_the_application_connections_run_without_jit():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
