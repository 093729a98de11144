"""The image and the compose file run what the tests ran: read, not built (CI has no Docker
engine). The Dockerfile installs with constraints.txt as `make` does, on the Python the
project requires, as a non-root user; docker-compose.yml sets only settings the registry
reads, and runs the PostgreSQL major version the tests use.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
SETTINGS = "".join(
    (PROJECT_DIR / "portfolio" / name).read_text() for name in ("settings.py", "db.py")
)


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = (PROJECT_DIR / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def compose() -> dict:
    return yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())


def pip_installs(arguments: str) -> list[list[str]]:
    commands = []
    for part in arguments.split("&&"):
        words = shlex.split(part)
        if words[:2] == ["pip", "install"] or words[:4] == ["python", "-m", "pip", "install"]:
            commands.append(words)
    return commands


def test_the_image_installs_the_pinned_versions_like_make():
    steps = dockerfile()
    copied = " ".join(arguments for instruction, arguments in steps if instruction == "COPY")
    assert "constraints.txt" in copied.split()
    installs = [
        words
        for instruction, arguments in steps
        if instruction == "RUN"
        for words in pip_installs(arguments)
    ]
    assert installs, "the Dockerfile installs nothing with pip"
    for words in installs:
        assert "-c" in words, words
        assert words[words.index("-c") + 1] == "constraints.txt", words
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert "pip install --quiet -c constraints.txt -e '.[dev]'" in makefile


def test_the_image_runs_the_required_python_as_a_non_root_user():
    steps = dockerfile()
    base = next(arguments for instruction, arguments in steps if instruction == "FROM")
    image_python = re.match(r"python:(\d+\.\d+)", base)
    assert image_python, base
    requires = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"][
        "requires-python"
    ]
    assert f">={image_python[1]}" in requires, (base, requires)
    users = [arguments for instruction, arguments in steps if instruction == "USER"]
    assert users, "no USER: the image would run as root"
    assert users[-1] not in ("root", "0"), users
    last_user = max(i for i, (instruction, _a) in enumerate(steps) if instruction == "USER")
    last_run = max(i for i, (instruction, _a) in enumerate(steps) if instruction == "RUN")
    assert last_user > last_run  # nothing runs as root after the switch, and the app does not


def test_compose_sets_only_settings_the_registry_reads():
    services = compose()["services"]
    names: set[str] = set()
    for service in ("web", "worker", "migrate"):
        names |= set(services[service].get("environment") or {})
    assert names
    # Read by the registry (settings.py) or by gunicorn/Prometheus in the image.
    outside_settings = {"WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR"}
    unknown = sorted(name for name in names - outside_settings if f'"{name}"' not in SETTINGS)
    assert not unknown, f"docker-compose.yml sets what the registry never reads: {unknown}"
    readme = (PROJECT_DIR / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in names - outside_settings)
    assert services["web"]["environment"]["DJANGO_DEBUG"] == "false"


def test_compose_runs_the_postgresql_the_tests_use():
    import pgserver

    postgres = Path(pgserver.__file__).parent / "pginstall" / "bin" / "postgres"
    version = subprocess.run(  # noqa: S603
        [str(postgres), "--version"], capture_output=True, text=True, check=True
    ).stdout
    major = re.search(r"(\d+)\.\d+", version)[1]
    image = compose()["services"]["db"]["image"]
    assert image.split(":")[1].split(".")[0] == major, (image, version)


def test_the_image_serves_the_wsgi_application_the_tests_use():
    steps = dockerfile()
    command = next(arguments for instruction, arguments in steps if instruction == "CMD")
    assert "gunicorn portfolio.wsgi:application" in command
    assert (PROJECT_DIR / "portfolio" / "wsgi.py").is_file()
    assert 'WSGI_APPLICATION = "portfolio.wsgi.application"' in SETTINGS
