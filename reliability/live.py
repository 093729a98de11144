"""A live registry under gunicorn on a loopback port, started and stopped by the caller.

The server runs in its own process group, so stopping it (or killing it with SIGKILL in a
fault run) reaches exactly the master and the workers started here, nothing else.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import requests

from reliability.pg import free_port

PROJECT_DIR = Path(__file__).resolve().parent.parent


def production_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a production-like process on loopback: DEBUG off, a real secret,
    plain HTTP (no TLS proxy here), no throttling unless asked for.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "REGISTRY_", "PYTEST", "REDIS_URL"))
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "portfolio.settings",
            "DJANGO_ENV_FILE": "",  # nothing from a developer's .env
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            "DJANGO_HSTS_SECONDS": "0",
            "REGISTRY_THROTTLE_USER": "",
            "READYZ_REQUIRE_WORKER": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


class LiveServer:
    """`gunicorn portfolio.wsgi` with `workers` processes on 127.0.0.1:`port`."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        workers: int = 2,
        port: int | None = None,
        timeout: int = 120,
        log_path: Path | None = None,
        source_dir: Path | None = None,
    ) -> None:
        self.env = dict(env)
        # Serve another copy of the code (e.g. a snapshot of a commit) instead of this one.
        self.source_dir = Path(source_dir) if source_dir else PROJECT_DIR
        if source_dir:
            self.env["PYTHONPATH"] = str(self.source_dir)
        self.workers = workers
        self.port = port or free_port()
        self.timeout = timeout
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: float = 60) -> LiveServer:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [
            str(gunicorn),
            "portfolio.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--timeout",
            str(self.timeout),
            "--graceful-timeout",
            "5",
        ]
        if self.log_path is not None:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(  # noqa: S603 (our own gunicorn, no shell) # nosec B603
            command,
            cwd=self.source_dir,
            env=self.env,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            start_new_session=True,  # its own process group: signals reach only this server
        )
        self.wait_ready(wait)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                self.stop()  # its workers, if any are left, and the log file
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}{self._log_tail()}"
                )
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"gunicorn did not answer /healthz in time{self._log_tail()}")
            time.sleep(0.2)

    def _log_tail(self, characters: int = 5000) -> str:
        """The end of gunicorn's log, for an error message (nothing when it has none)."""
        if self.log_path is None:
            return ""
        if self._log is not None:
            self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return ""
        return f"; the end of {self.log_path}:\n{text}"

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the master and every worker of this server (its own process group)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Workers orphaned by a SIGKILLed master still belong to the group.
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_manage(env: Mapping[str, str], *args: str, timeout: float = 600) -> str:
    """`manage.py <args>` in a child process with this environment."""
    result = subprocess.run(  # noqa: S603 (manage.py of this project, no shell) # nosec B603
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout
