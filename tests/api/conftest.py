"""API fixtures: keys with chosen scopes, and a client that sends one."""

from __future__ import annotations

import pytest

from mailer.engine.transactional import drain as transactional_drain
from mailer.services import api_keys


class ApiClient:
    """The test client with ``Authorization: Bearer KEY`` on every request."""

    def __init__(self, client, key: str):
        self.client = client
        self.key = key

    def _open(self, method: str, path: str, headers=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.key}", **(headers or {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self._open("GET", path, **kw)

    def post(self, path, **kw):
        return self._open("POST", path, **kw)

    def put(self, path, **kw):
        return self._open("PUT", path, **kw)

    def patch(self, path, **kw):
        return self._open("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self._open("DELETE", path, **kw)


@pytest.fixture
def make_key(app):
    def make(*scopes: str, rate_limit: int | None = None, name: str = "Test app") -> str:
        return api_keys.create(name, list(scopes) or ["admin"], None, rate_limit).plaintext

    return make


@pytest.fixture
def api_as(client, make_key):
    """``api_as("send")``: a client whose key has exactly these scopes."""

    def make(*scopes: str, rate_limit: int | None = None) -> ApiClient:
        return ApiClient(client, make_key(*scopes, rate_limit=rate_limit))

    return make


@pytest.fixture
def api(api_as):
    """A client with an admin key (every scope)."""
    return api_as("admin")


@pytest.fixture
def quick_drain(monkeypatch):
    """Drain jobs end as soon as nothing is due (modules that send mark themselves with it)."""
    monkeypatch.setattr(transactional_drain, "LINGER_SECONDS", 0.0)
    monkeypatch.setattr(transactional_drain, "IDLE_SLEEP", 0.0)
