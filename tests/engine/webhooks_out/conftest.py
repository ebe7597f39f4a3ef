"""Fixtures of the outbound webhook tests' folder. The receiving server (``receiver``) and
``make_endpoint`` are shared plugins in tests/fixtures/webhooks_out.py, with the helpers that
run the delivery tick or let time pass."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def feedback_jobs_do_not_linger(no_linger):
    """The hook tests run feedback jobs: they end as soon as their queue is empty."""
