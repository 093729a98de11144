"""Helpers for tests that start other processes (a worker, gunicorn, runserver, pg_dump,
schemathesis, a shell).

`database_url()` is the test database as a URL another process can use, whether the tests run
on a server over TCP (DATABASE_URL set) or on the embedded PostgreSQL, which listens only on
a Unix socket. The other helpers make sure no test waits on a child forever: every wait has a
timeout, and a test that gives up on a child fails with what the child printed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

# How long a finished or killed child may take to hand over the rest of its output.
OUTPUT_TIMEOUT = 10


def database_url(name: str | None = None, settings_dict: Mapping[str, Any] | None = None) -> str:
    """`postgresql://…` of the test database (or of database `name` on the same server).

    A socket directory as host becomes `postgresql://user@/name?host=/socket/dir`, which
    libpq, psycopg, pg_dump and the settings' DATABASE_URL parsing all accept.
    """
    if settings_dict is None:
        from django.db import connection

        settings_dict = connection.settings_dict
    options = settings_dict.get("OPTIONS") or {}
    host = str(settings_dict.get("HOST") or options.get("host") or "")
    port = str(settings_dict.get("PORT") or options.get("port") or "")
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    database = quote(str(name or settings_dict["NAME"]), safe="")
    if not host or host.startswith("/"):
        query = {key: value for key, value in (("host", host), ("port", port)) if value}
        suffix = f"?{urlencode(query, safe='/')}" if query else ""
        return f"postgresql://{credentials}/{database}{suffix}"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"postgresql://{credentials}{host}{f':{port}' if port else ''}/{database}"


def output_of(process: subprocess.Popen, timeout: float = OUTPUT_TIMEOUT) -> str:
    """Everything a child printed to its stdout pipe: kill it if it still runs, then read,
    never waiting longer than `timeout` (a grandchild may hold the pipe open).
    """
    if process.poll() is None:
        process.kill()
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        output = expired.output
        return f"{_text(output)}\n[output still open after {timeout} s; read what had come]"
    except ValueError:  # the pipe was already read to its end and closed
        return ""
    return _text(output)


def run(
    command: Sequence[str], *, timeout: float, check: bool = True, **kwargs: Any
) -> subprocess.CompletedProcess:
    """`subprocess.run` with captured text output and a timeout that fails the test with the
    child's output so far (and, with `check`, a non-zero exit that fails it with all of it).
    """
    try:
        result = subprocess.run(  # noqa: S603 (the tests' own commands, no shell)
            list(command), capture_output=True, text=True, timeout=timeout, **kwargs
        )
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(
            f"{' '.join(map(str, command))} still running after {timeout} s; killed.\n"
            f"stdout:\n{_text(expired.stdout)}\nstderr:\n{_text(expired.stderr)}"
        ) from None
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, command))} exited with {result.returncode}.\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def tail(path: Path, characters: int = 5000) -> str:
    """The end of a child's log file, for an assertion message."""
    try:
        return path.read_text(errors="replace")[-characters:]
    except OSError:
        return ""


def _text(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output
