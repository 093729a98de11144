"""Database location: `DATABASE_URL` when set, otherwise an embedded PostgreSQL.

The embedded server comes from the `pgserver` wheel, lives in `.pgdata/` of the project and
keeps running between commands, so `make run` and `make test` need no installed database.
"""

from __future__ import annotations

import os
from pathlib import Path

EMBEDDED_DATA_DIR_NAME = ".pgdata"


def embedded_database_url(base_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL server and return its connection URL."""
    import pgserver  # imported lazily: only needed without DATABASE_URL

    data_dir = Path(os.environ.get("EMBEDDED_PGDATA", base_dir / EMBEDDED_DATA_DIR_NAME))
    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None leaves the server running for the next command instead of
    # stopping and restarting it for every manage.py call.
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    return server.get_uri()


def database_url(base_dir: Path) -> str:
    """The URL of the one PostgreSQL database this project uses."""
    return os.environ.get("DATABASE_URL") or embedded_database_url(base_dir)
