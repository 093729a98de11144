"""The outbox tests deliver to a receiver on 127.0.0.1 over plain http: allowed here, and only
here, explicitly (the registry's default refuses both)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _loopback_receiver_allowed(local_webhooks):
    return local_webhooks
