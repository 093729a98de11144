"""README's commands work as written: its ```sh blocks run in order, in one fresh bash, against
a live server, and answer what README says they answer.

What stands in for the newcomer's machine:
- `make run` → `manage.py runserver` (the server `make run` starts) on a free port, on the test
  database with the demo portfolio and logins (`manage.py load_demo`, as `make run` loads them).
  README's `http://127.0.0.1:8000` becomes that port; nothing else in a block is changed.
- the `.env` that `make` writes → the same Makefile rule, writing into a temporary folder
  (DJANGO_ENV_FILE points there, so a developer's own .env plays no part).
- a new shell → `bash --noprofile --norc` with only PATH, HOME (empty, temporary) and LANG,
  plus DATABASE_URL naming the test database where `make run` would use `.pgdata/`. Its
  folder is a temporary copy of the project's top level: `manage.py` and `.venv` link to the
  real ones, so files the commands write (unaligned.csv) land there.

Blocks not run, and why (both asserted below, so no other block is ever left out):
- `make run` / `make test`: the two commands this test stands inside; `make run` is what the
  server above stands for.
- `docker compose up`: needs Docker and serves until stopped (the deployment, not the API tour).
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command

from reliability.pg import free_port
from tests import processes
from tests.processes import database_url

ROOT = Path(__file__).resolve().parent.parent
README_URL = "http://127.0.0.1:8000"
NOT_RUN = {
    "make run": "the two commands the test stands inside; the test's server replaces make run",
    "docker compose up": "needs Docker, and serves until stopped",
}


def shell_blocks() -> list[str]:
    """Every ```sh block of README, in order."""
    text = (ROOT / "README.md").read_text()
    return [match.group(1) for match in re.finditer(r"^```sh\n(.*?)^```$", text, re.M | re.S)]


def not_run_reason(block: str) -> str | None:
    for marker, reason in NOT_RUN.items():
        if marker in block:
            return reason
    return None


def json_documents(text: str) -> list[Any]:
    """The JSON objects and arrays in a block's output, in order (other lines are skipped)."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    position = 0
    while position < len(text):
        if text[position] in "{[":
            try:
                document, position = decoder.raw_decode(text, position)
            except ValueError:
                position += 1
            else:
                documents.append(document)
        else:
            position += 1
    return documents


@pytest.fixture
def new_shell_env(tmp_path) -> dict[str, str]:
    """What a new shell in the project folder has after `make run` (see the module's doc)."""
    dotenv = tmp_path / "dotenv" / ".env"
    dotenv.parent.mkdir()
    processes.run(["make", "-s", "-C", str(ROOT), f"DOTENV={dotenv}", str(dotenv)], timeout=60)
    assert "DJANGO_DEBUG=true" in dotenv.read_text()
    home = tmp_path / "home"
    home.mkdir()
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(
        part
        for part in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if part != venv_bin
    )
    return {
        "PATH": path,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DATABASE_URL": database_url(),
        "DJANGO_ENV_FILE": str(dotenv),
    }


@pytest.fixture
def project_folder(tmp_path) -> Path:
    """A folder where `.venv/bin/python manage.py …` runs this project's code."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "manage.py").symlink_to(ROOT / "manage.py")
    (folder / ".venv").symlink_to(Path(sys.prefix))
    assert (folder / ".venv" / "bin" / "python").exists(), sys.prefix
    return folder


@pytest.fixture
def server(transactional_db, new_shell_env, tmp_path):
    """`make run`'s server: runserver on the test database, demo portfolio and logins loaded."""
    call_command("load_demo", stdout=io.StringIO())
    port = free_port()
    log_path = tmp_path / "runserver.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (this project's manage.py, no shell)
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env={**new_shell_env, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, url, log_path)
        yield url
    finally:
        stop(process)


def wait_until_serving(process: subprocess.Popen, url: str, log_path: Path) -> None:
    for _attempt in range(300):
        if process.poll() is not None:
            pytest.fail(f"runserver exited with {process.returncode}:\n{processes.tail(log_path)}")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"runserver did not answer /healthz within a minute:\n{processes.tail(log_path)}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_readme_has_the_blocks_this_test_expects():
    blocks = shell_blocks()
    left_out = [block.splitlines()[0] for block in blocks if not_run_reason(block)]
    assert len(left_out) == len(NOT_RUN), left_out
    assert len(blocks) - len(left_out) == 5, blocks


def test_every_readme_command_works_in_a_new_shell(server, new_shell_env, project_folder):
    blocks = [block for block in shell_blocks() if not not_run_reason(block)]
    script = [
        "set -eEuo pipefail",
        # Name the failing command; the test prints it with everything before it.
        "trap 'echo \"README command failed (exit $?): $BASH_COMMAND\" >&2' ERR",
    ]
    for number, block in enumerate(blocks):
        script.append(f"echo '@@@ block {number}'")
        script.append(block.replace(README_URL, server))
    script.append("echo '@@@ end'")
    result = processes.run(
        ["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
        cwd=project_folder,
        env=new_shell_env,
        timeout=240,
        check=False,
    )
    # JSON answers end without a newline, so a marker may follow one on the same line.
    report = (
        f"exit {result.returncode}\nstdout (the end):\n{result.stdout[-4000:]}\n"
        f"stderr:\n{result.stderr[-4000:]}"
    )
    assert result.returncode == 0, report
    outputs = re.split(r"@@@ block \d+\n", result.stdout.split("@@@ end")[0])[1:]
    assert len(outputs) == len(blocks), report
    token, queries, lifecycle, sync, reports = outputs

    # The token block prints nothing: the secret goes into $TOKEN, which the rest relies on.
    assert token.strip() == "", report

    # Unaligned pilots, unaligned as CSV (into unaligned.csv), NPS goal in 2026-Q4.
    pilots, serving_nps = json_documents(queries)
    assert pilots["count"] > 0, report
    assert all(item["stage"] == "pilot" for item in pilots["results"]), report
    assert serving_nps["count"] > 0, report
    csv_lines = (project_folder / "unaligned.csv").read_text().splitlines()
    assert "key" in csv_lines[0].lower(), csv_lines[:2]
    assert len(csv_lines) > 1, csv_lines

    # Created, aligned, hypothesis set with If-Match, moved through the gates to pilot.
    key = re.search(r"^(AI-\d+)$", lifecycle, re.M)
    assert key, report
    alignment, patched, *moves = json_documents(lifecycle)
    assert alignment["initiative"]["key"] == key.group(1), report
    assert "hypothesis" in patched, report
    assert patched["hypothesis"].startswith("Proactive outage messages"), report
    assert [move["stage"] for move in moves] == ["proposed", "approved", "pilot"], report

    # The same sync twice: 201 "created", then 200 "unchanged"; a batch; the change feed.
    assert re.findall(r"\} (\d{3})$", sync, re.M) == ["201", "200"], report
    first, again, batch, feed = json_documents(sync)
    assert (first["result"], again["result"]) == ("created", "unchanged"), report
    assert [item["result"] for item in batch["items"]] == ["created"], report
    assert feed["results"], report  # oldest change first, with a cursor to resume from
    assert feed["resume"], report

    # Portfolio report, alignment matrix, overlap candidates, journey map, team composition.
    assert len(json_documents(reports)) == 5, report
