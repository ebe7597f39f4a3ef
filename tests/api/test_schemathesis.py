"""Property-based API tests: schemathesis runs every operation of the OpenAPI document against
the app (through WSGI, no network) with an admin key, and checks each answer: no 5xx, a
documented status code and content type, and a body and headers that match the document.

Generated ids rarely exist, so half of the generated path parameters are swapped for the ids
of a few rows made for the test: the happy paths are exercised too, not only 404s. The run is
small and seeded, so it takes well under two minutes and fails the same way every time.
"""

from __future__ import annotations

import io
import zlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rq import SimpleWorker
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mailer.api.spec import document
from mailer.engine.imports import importer
from mailer.engine.webhooks_out.events import delivery_of_test_event
from mailer.models import MailingList, Subscriber, Suppression, Template, WebhookDelivery
from mailer.queue import IMPORTS, get_redis, set_worker_app
from mailer.services import api_keys, webhook_endpoints
from tests.fixtures.app import FreshGClient

MAX_EXAMPLES = 12
SEED = 20250301

schema = schemathesis.openapi.from_dict(document())
schema.config.seed = SEED
schema.config.generation.update(
    max_examples=MAX_EXAMPLES, deterministic=True, allow_extra_parameters=False
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]

# Path parameter -> an id made by the `seeded` fixture (filled per test).
SEEDED: dict[str, Any] = {}


@schema.hook
def map_path_parameters(context, path_parameters):
    """About half of the examples (chosen by a checksum: deterministic) use ids that exist."""
    if not path_parameters or zlib.crc32(repr(sorted(path_parameters.items())).encode()) % 2:
        return path_parameters
    return {
        name: SEEDED[name] if name in SEEDED and _plausible(value, SEEDED[name]) else value
        for name, value in path_parameters.items()
    }


def _plausible(value: Any, seeded: Any) -> bool:
    """A valid value of the seeded one's kind: replacing it keeps a positive case positive."""
    if isinstance(seeded, int):
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return isinstance(value, str) and "@" in value


@pytest.fixture
def seeded(app, db):
    """A template, a list with a subscriber, a finished import, a suppression, and a webhook
    endpoint with a delivery."""
    template = Template(name="Seeded", subject="Hi {{ first_name }}", html="<p>Hi</p>")
    mailing_list = MailingList(name="Seeded list")
    db.session.add_all(
        [template, mailing_list, Suppression(email="x@example.com", reason="manual")]
    )
    db.session.flush()
    subscriber = Subscriber(list_id=mailing_list.id, email="seeded@example.com")
    db.session.add(subscriber)
    db.session.commit()
    path = importer.save_upload(io.BytesIO(b"email\na@example.com\nbroken\n"), "a.csv")
    record = importer.create_import(path, list_id=mailing_list.id)
    importer.enqueue_import(record)
    set_worker_app(app)
    SimpleWorker([IMPORTS], connection=get_redis()).work(burst=True)
    endpoint, _ = webhook_endpoints.create_endpoint("https://hooks.example.com/in", "", ["opened"])
    db.session.add(WebhookDelivery(**delivery_of_test_event(endpoint.id)))
    db.session.commit()
    SEEDED.clear()
    SEEDED.update(
        template_id=template.id,
        list_id=mailing_list.id,
        subscriber_id=subscriber.id,
        import_id=record.id,
        endpoint_id=endpoint.id,
        email="x@example.com",
    )
    yield SEEDED
    SEEDED.clear()


class Client(FreshGClient):
    """A fresh request context per call, as in production; schemathesis reads each answer but
    does not close it (a streamed file would stay open), so close it here."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        response.get_data()
        response.close()
        return response


@pytest.fixture
def admin_key(app) -> str:
    return api_keys.create("schemathesis", ["admin"], None).plaintext


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # one app per operation
def test_every_operation_conforms_to_the_document(case, app, seeded, admin_key):
    case.call_and_validate(
        app=app,
        session=Client(app, app.response_class),
        headers={"Authorization": f"Bearer {admin_key}"},
        checks=CHECKS,
    )
