"""Reliability and security runs: fuzzing, concurrency, faults, backups (docs/RELIABILITY.md).

Every run that stops a database or kills a server does it to a PostgreSQL and a gunicorn it
started itself (`reliability.pg`, `reliability.live`), never to a shared one.
"""
