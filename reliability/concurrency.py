"""Concurrency runs against a live registry: lost updates, If-Match required, throttling.

- `lost_updates`: N clients × M read-modify-write cycles on one initiative, each adding 1 to
  its planned budget with the ETag it read as If-Match and retrying on 412. With optimistic
  concurrency working, the budget grows by exactly N × M.
- `writes_without_if_match`: with REGISTRY_REQUIRE_IF_MATCH=true, writes that carry no
  If-Match must all be 428 and leave the initiative as it was.
- `throttle`: many requests from several threads with one token, through every gunicorn
  worker; with REDIS_URL the allowed count must match the configured rate.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

import requests

MAX_ATTEMPTS_PER_CHANGE = 500


@dataclass
class LostUpdateResult:
    clients: int
    cycles: int
    expected: int = 0
    applied: int = 0  # how much the budget actually grew
    version_growth: int = 0
    retries_412: int = 0
    other_errors: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return self.expected - self.applied


def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    return session


def read_initiative(session: requests.Session, url: str) -> tuple[Decimal, str, int]:
    response = session.get(url, timeout=60)
    response.raise_for_status()
    body = response.json()
    return Decimal(body["budget_planned"]), response.headers["ETag"], int(body["version"])


def lost_updates(
    *, base_url: str, token: str, key: str, clients: int = 20, cycles: int = 50
) -> LostUpdateResult:
    """Every client adds 1 to the budget `cycles` times, retrying on 412."""
    url = f"{base_url}/api/v1/initiatives/{key}/"
    start_budget, _etag, start_version = read_initiative(_session(token), url)
    result = LostUpdateResult(clients=clients, cycles=cycles, expected=clients * cycles)
    lock = threading.Lock()

    def client() -> None:
        session = _session(token)
        for _cycle in range(cycles):
            for _attempt in range(MAX_ATTEMPTS_PER_CHANGE):
                budget, etag, _version = read_initiative(session, url)
                response = session.patch(
                    url,
                    json={"budget_planned": str(budget + 1)},
                    headers={"If-Match": etag},
                    timeout=60,
                )
                if response.status_code == 200:
                    break
                with lock:
                    if response.status_code == 412:
                        result.retries_412 += 1
                    else:
                        result.other_errors[response.status_code] += 1
            else:
                with lock:
                    result.other_errors["gave_up"] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    result.seconds = round(time.monotonic() - started, 1)
    end_budget, _etag, end_version = read_initiative(_session(token), url)
    result.applied = int(end_budget - start_budget)
    result.version_growth = end_version - start_version
    return result


@dataclass
class IfMatchRequiredResult:
    attempts: int
    answers: Counter
    changed: bool


def writes_without_if_match(
    *, base_url: str, token: str, key: str, attempts: int = 50
) -> IfMatchRequiredResult:
    """PATCH, PUT, DELETE and transition without If-Match: every one must be 428."""
    session = _session(token)
    url = f"{base_url}/api/v1/initiatives/{key}/"
    before = session.get(url, timeout=60).json()
    answers: Counter = Counter()
    calls = [
        ("patch", url, {"budget_planned": "1"}),
        ("put", url, {"name": "Overwritten", "kind": "other"}),
        ("delete", url, None),
        ("post", f"{url}transition/", {"to": "paused", "note": "no If-Match"}),
    ]
    for n in range(attempts):
        method, target, body = calls[n % len(calls)]
        response = session.request(method, target, json=body, timeout=60)
        answers[response.status_code] += 1
    after = session.get(url, timeout=60).json()
    keep = ("version", "budget_planned", "name", "kind", "stage", "archived_at")
    return IfMatchRequiredResult(
        attempts=attempts,
        answers=answers,
        changed=any(before[k] != after[k] for k in keep),
    )


@dataclass
class ThrottleResult:
    rate: int
    sent: int
    answers: Counter
    seconds: float

    @property
    def allowed(self) -> int:
        return self.answers.get(200, 0)

    @property
    def deviation(self) -> float:
        """(allowed − rate) / rate: within ±0.10 is the target."""
        return (self.allowed - self.rate) / self.rate


def throttle(
    *, base_url: str, token: str, rate: int, sent: int, threads: int = 8
) -> ThrottleResult:
    """Send `sent` GETs with one token from `threads` threads as fast as they go."""
    url = f"{base_url}/api/v1/tags/?page_size=1"
    answers: Counter = Counter()
    lock = threading.Lock()
    per_thread = [sent // threads + (1 if n < sent % threads else 0) for n in range(threads)]

    def worker(count: int) -> None:
        session = _session(token)
        for _ in range(count):
            status = session.get(url, timeout=60).status_code
            with lock:
                answers[status] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(worker, count) for count in per_thread]:
            future.result()
    return ThrottleResult(
        rate=rate, sent=sent, answers=answers, seconds=round(time.monotonic() - started, 1)
    )
