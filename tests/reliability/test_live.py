"""Concurrency against gunicorn (several worker processes) on the test database, in CI:
no lost update under read-modify-write with If-Match, 428 without it when it is required,
and the rate limit held across workers with Redis. `make reliability` runs the full-size
versions (20 clients × 50 cycles) on a PostgreSQL of its own.
"""

from __future__ import annotations

import os

import pytest
import redis

from reliability.concurrency import lost_updates, throttle, writes_without_if_match
from reliability.live import LiveServer, production_env
from reliability.seed import seed_roles
from tests.processes import database_url

# A Redis database of its own, so the throttle buckets of this test meet nobody else's.
REDIS_TEST_URL = os.environ.get("REGISTRY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def session_database_url() -> str:
    return database_url()  # TCP or the embedded server's Unix socket


@pytest.fixture
def seeded(transactional_db):
    tokens = seed_roles()
    from registry.models import Initiative

    key = Initiative.objects.filter(archived_at__isnull=True).order_by("key")[0].key
    return tokens, key


@pytest.fixture
def if_match_server(seeded, tmp_path):
    env = production_env(session_database_url(), REGISTRY_REQUIRE_IF_MATCH="true")
    with LiveServer(env, workers=3, log_path=tmp_path / "gunicorn.log") as server:
        yield server


def test_no_update_is_lost_under_concurrent_read_modify_write(seeded, if_match_server):
    tokens, key = seeded
    result = lost_updates(
        base_url=if_match_server.url, token=tokens["pmo"], key=key, clients=4, cycles=10
    )
    assert result.applied == result.expected == 40, result
    assert result.version_growth == 40
    assert result.lost == 0
    assert not result.other_errors, result.other_errors


def test_writes_without_if_match_are_428_when_it_is_required(seeded, if_match_server):
    tokens, key = seeded
    result = writes_without_if_match(
        base_url=if_match_server.url, token=tokens["pmo"], key=key, attempts=20
    )
    assert dict(result.answers) == {428: 20}
    assert not result.changed


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_TEST_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not redis_available(), reason="no Redis on 127.0.0.1:6379")
def test_the_rate_limit_holds_across_gunicorn_workers_with_redis(seeded, tmp_path):
    tokens, _key = seeded
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    rate = 60
    env = production_env(
        session_database_url(), REDIS_URL=REDIS_TEST_URL, REGISTRY_THROTTLE_USER=f"{rate}/min"
    )
    with LiveServer(env, workers=3, log_path=tmp_path / "gunicorn.log") as server:
        result = throttle(base_url=server.url, token=tokens["integration"], rate=rate, sent=150)
    redis.Redis.from_url(REDIS_TEST_URL).flushdb()
    print(f"\nthrottle: {rate}/min, {result.allowed} of {result.sent} served, {result.answers}")
    assert set(result.answers) <= {200, 429}, result.answers
    assert result.seconds < 60  # all inside one window
    assert abs(result.deviation) <= 0.10, (result.allowed, result.answers)
