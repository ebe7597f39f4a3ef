"""The suite's shared fixtures, registered as plugins: each module's fixtures are visible to
every test. The modules live in tests/fixtures/ (one per area, with the helpers its tests
import); rows are made by tests/factories.py. A folder's conftest.py holds only fixtures used in
that folder: no test imports a conftest module.
"""

import pytest

# Assertions in the helpers read as in tests (plugin modules are rewritten anyway).
pytest.register_assert_rewrite("tests.factories", "tests.fixtures")

pytest_plugins = [
    "tests.fixtures.app",
    "tests.fixtures.api",
    "tests.fixtures.servers",
    "tests.fixtures.feedback",
    "tests.fixtures.tracking",
    "tests.fixtures.webhooks_out",
    "tests.fixtures.workers",
    "tests.fixtures.imports",
    "tests.fixtures.signup",
]
