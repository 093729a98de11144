"""Shared fixtures: users per role, API clients, an active vision."""

from __future__ import annotations

import pytest
from django.test import Client

from registry import permissions
from tests import factories
from tests.api import conformance


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "reliability: slow fault and load runs; `make reliability` (-m reliability)"
    )


def pytest_collection_modifyitems(config, items):
    """The slow reliability runs only when asked for with `-m reliability`."""
    if "reliability" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow reliability run: make reliability")
    for item in items:
        # The marker, not the keyword: every test under tests/reliability/ has that keyword
        # (its folder's name), and the CI-size runs there (bounded fuzz, backup drill, live
        # gunicorn, regressions) belong to `make test`.
        if item.get_closest_marker("reliability") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def api_answers_conform_to_the_schema():
    """Every answer a test receives from the API is checked against /api/schema/."""
    with conformance.checking():
        yield


@pytest.fixture(autouse=True)
def webhooks_to_public_https_only(settings):
    """Every test starts from the production default for webhook targets, whatever a
    developer's .env allows (make's .env lets the local demo receiver through)."""
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOWED_NETWORKS = []


@pytest.fixture
def local_webhooks(settings):
    """Tests with a receiver on loopback allow exactly that: plain http to 127.0.0.1."""
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    return settings


@pytest.fixture
def pmo_user(db):
    return factories.UserFactory(username="pmo", groups=[permissions.PMO], is_staff=True)


@pytest.fixture
def viewer_user(db):
    return factories.UserFactory(username="viewer", groups=[permissions.VIEWER], is_staff=True)


@pytest.fixture
def contributor_user(db):
    return factories.UserFactory(
        username="contributor", groups=[permissions.CONTRIBUTOR], is_staff=True
    )


@pytest.fixture
def pmo_client(pmo_user) -> Client:
    client = Client()
    client.force_login(pmo_user)
    return client


@pytest.fixture
def active_vision(db):
    return factories.VisionFactory()
