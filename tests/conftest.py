"""Shared fixtures: users per role, API clients, an active vision."""

from __future__ import annotations

import pytest
from django.test import Client

from registry import permissions
from tests import factories


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
