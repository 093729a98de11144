"""A disposable PostgreSQL server for fault runs: its own data folder, its own port.

Uses the server binaries shipped in the `pgserver` wheel (a project dependency), so it needs
no installed PostgreSQL. Unlike `pgserver.get_server` it listens on a loopback TCP port and
can be stopped the hard way (`pg_ctl stop -m immediate`, a crash without a shutdown
checkpoint) and started again on the same port and data, which is what the fault tests need.
Nothing here ever touches another PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


def server_bin_dir() -> Path:
    """The bin/ folder of the PostgreSQL that ships with the pgserver wheel."""
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as pgserver's own system user."""
    if os.geteuid() != 0:
        return None
    from pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")
    return "pgserver"


class DisposablePostgres:
    """initdb in a temporary folder, start on a free loopback port, stop, start, remove."""

    def __init__(self, *, port: int | None = None, root: Path | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="registry-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "run"
        self.log = self.root / "postgres.log"
        self.port = port or free_port()
        self.user = _system_user()
        self.bin = server_bin_dir()

    # --- life cycle --------------------------------------------------------------------

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 (the wheel's PostgreSQL tools, no shell) # nosec B603
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            user=self.user,
        )

    def init(self) -> DisposablePostgres:
        self.root.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if self.user:
            import pwd

            entry = pwd.getpwnam(self.user)
            self.root.chmod(0o755)
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            from pgserver.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.root)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        return self

    def start(self) -> DisposablePostgres:
        """Start (or start again after a crash: PostgreSQL replays its WAL)."""
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.sockets} "
            # A process crash loses nothing that reached the OS; skipping fsync keeps the
            # runs fast on small machines (this is a test server, never a real one).
            "-c fsync=off -c max_connections=200 -c shared_buffers=128MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self.wait_ready()
        return self

    def stop(self, mode: str = "fast") -> None:
        """`pg_ctl stop -m immediate` is a crash: no checkpoint, connections cut at once."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def is_running(self) -> bool:
        result = subprocess.run(  # noqa: S603 (pg_ctl status, no shell) # nosec B603
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            text=True,
            user=self.user,
            check=False,
        )
        return result.returncode == 0

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def remove(self) -> None:
        """Stop the server (if running) and delete its folder."""
        if self.data.exists() and self.is_running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DisposablePostgres:
        return self.init().start()

    def __exit__(self, *exc: object) -> None:
        self.remove()

    # --- databases ---------------------------------------------------------------------

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def deadlocks(self, database: str) -> int:
        """Deadlocks PostgreSQL detected (and broke) in a database since the server started."""
        with psycopg.connect(self.url("postgres")) as conn:
            row = conn.execute(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = %s", [database]
            ).fetchone()
        return int(row[0]) if row else 0
