"""Property-based API tests: schemathesis runs every operation of the OpenAPI document against
the app (through WSGI, no network) with an admin key and every check it has: no 5xx, a
documented status code, content type, body and headers; a request the document calls valid is
not refused (positive data acceptance) and one it calls invalid is (negative data rejection);
no key is refused; an undocumented method answers 405.

Generated ids and names rarely exist, so half of the generated path parameters are swapped
for the ids of a few rows made for the test, and the references inside valid bodies (a
template, a sender, a channel, a contact file's content) for real ones: the happy paths are
exercised too, not only 404s and 422s. What the document cannot say (which rows exist, what a
contact file holds) is all that is swapped. The run is small and seeded (MAX_EXAMPLES per
operation, about a minute), so it fails the same way every time.
"""

from __future__ import annotations

import io
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rq import SimpleWorker

from mailer.api.spec import document
from mailer.engine.imports import importer
from mailer.engine.webhooks_out.events import delivery_of_test_event
from mailer.lib.crypto import encrypt_json
from mailer.lib.dbutil import MAX_ID
from mailer.models import (
    Channel,
    Identity,
    MailingList,
    Subscriber,
    Suppression,
    Template,
    WebhookDelivery,
)
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

# Path parameter -> an id made by the `seeded` fixture (filled per test).
SEEDED: dict[str, Any] = {}


@schema.hook
def map_path_parameters(context, path_parameters):
    """About half of the examples (chosen by a checksum: deterministic) use ids that exist.
    An id past the largest BIGINT is no path of the router (web.routing): it becomes the
    largest, which is one but names no row, so the request still reaches the API's checks."""
    if not path_parameters:
        return path_parameters
    path_parameters = {
        name: min(value, MAX_ID) if _plausible(value, 1) else value
        for name, value in path_parameters.items()
    }
    if zlib.crc32(repr(sorted(path_parameters.items())).encode()) % 2:
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


# A contact file of each format (the document only says "a file").
CONTACT_FILES = {
    "csv": b"email,first_name\nana@example.com,Ana\n",
    "json": b'[{"email": "ana@example.com", "first_name": "Ana"}]',
    "ndjson": b'{"email": "ana@example.com", "first_name": "Ana"}\n',
}


LEAVE = (
    '<p>Hi {{ first_name | default("there") }}</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>'
)


def _real_references(case) -> None:
    """In a valid request, point the references at rows that exist (the document cannot say
    which do): a message's sender, channel and template; a contact file's content; a
    template's MJML. And an
    Idempotency-Key is made unique: the same key with another body is refused by design (422,
    as the IETF Idempotency-Key draft says), and generated keys repeat."""
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"{case.headers['Idempotency-Key'][:200]}-{uuid4()}"
    body = case.body
    if not isinstance(body, dict):
        return
    operation = case.operation.definition.raw.get("operationId")
    if operation == "sendMessages":
        for message in body.get("messages", [body]):
            if not isinstance(message, dict):
                continue
            if "from" in message:
                message["from"] = SEEDED["sender"][isinstance(message["from"], str)]
            if "channel" in message:
                message["channel"] = SEEDED["channel"][isinstance(message["channel"], str)]
            if "send_at" in message:  # the document says "to come", not when
                message["send_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
            if isinstance(message.get("headers"), dict):  # names ignore case: once each
                names = {name.lower(): name for name in message["headers"]}
                message["headers"] = {n: message["headers"][n] for n in names.values()}
            for file in message.get("attachments") or []:  # types refused by a setting,
                if isinstance(file, dict):  # an inline image the html would have to show
                    file.pop("content_id", None)
                    file["filename"] = f"{str(file.get('filename'))[:40]}.txt"
            for field in set(message) & {"to", "cc", "bcc", "reply_to"}:  # inside <…>: real
                message[field] = _real_display_names(message[field])
            if "template_id" in message:
                message["template_id"] = SEEDED["template_id"]
                message.pop("variables", None)  # its names are the template's business
    elif operation == "createCampaign":
        _real_campaign_references(body)
    elif operation == "startImport":
        body["file"] = CONTACT_FILES[body.get("format", "csv")]
    elif operation in ("createTemplate", "updateTemplate") and "mjml" in body:
        body["mjml"] = MJML  # the document says "MJML", not which elements close where


MJML = (
    "<mjml><mj-body><mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section>"
    "</mj-body></mjml>"
)


def _real_display_names(value: Any) -> Any:
    """ "Name <…>" strings with a real address inside (the document says only "<…>")."""
    if isinstance(value, list):
        return [_real_display_names(item) for item in value]
    if isinstance(value, str) and "<" in value:
        return f"{value.split('<')[0][:200]}<{uuid4().hex[:12]}@example.com>"
    return value


def _real_campaign_references(doc: dict) -> None:
    """A campaign document's templates, channels and senders that exist, a date to come, one
    segment per list (each rule the document states in words), and someone in each segment
    (whether a named list has members is not the document's to say)."""
    if "template" in doc:
        doc["template"] = SEEDED["campaign_template"][isinstance(doc["template"], str)]
    doc["allow_missing_variables"] = True  # which fields recipients carry is not the document's
    if "templateS3Uri" in doc:  # the client teams' shape: a template Mailer can read
        doc["templateS3Uri"] = SEEDED["s3_template"]
    for row in doc.get("channels") or []:
        if isinstance(row, dict):
            row["channel"] = SEEDED["channel"][isinstance(row.get("channel"), str)]
            row["sender"] = SEEDED["sender"][isinstance(row.get("sender"), str)]
            _to_come(row, "start_at")
    _to_come(doc, "date")
    for i, segment in enumerate(doc.get("segments") or []):
        if isinstance(segment, dict):
            if "template" in segment:
                segment["template"] = SEEDED["campaign_template"][0]
            if "templateS3Uri" in segment:
                segment["templateS3Uri"] = SEEDED["s3_template"]
            for name in ("list", "list_name"):
                if i and isinstance(segment.get(name), str):
                    segment[name] = f"{segment[name][:190]} {i}"
            if not segment.get("recipients"):  # a list of its own, named: not an empty one
                key = "to_address" if "list_name" in segment else "email"
                segment["recipients"] = [{key: f"seg{i}-{uuid4().hex[:8]}@example.com"}]


def _to_come(item: dict, name: str) -> None:
    if isinstance(item.get(name), str) and item[name] < "2030":
        item[name] = "2030-01-01T09:00:00Z"


@pytest.fixture
def s3_template(app, aws_endpoint, monkeypatch) -> str:
    """A campaign template in a bucket of moto's S3 server, Mailer configured to read it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    app.config.update(MAILER_S3_REGION="eu-west-1", MAILER_S3_ENDPOINT_URL=aws_endpoint)
    client = boto3.client("s3", region_name="eu-west-1", endpoint_url=aws_endpoint)
    bucket = f"templates-{uuid4().hex[:10]}"
    client.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    html = f"<html><head><title>Hi</title></head><body>{LEAVE}</body></html>"
    client.put_object(Bucket=bucket, Key="t.html", Body=html.encode(), ContentType="text/html")
    return f"s3://{bucket}/t.html"


@pytest.fixture
def seeded(app, db, s3_template):
    """A template, a list with a subscriber, a finished import, a suppression, a webhook
    endpoint with a delivery, a sender and a channel; and the rows the campaign document's
    example names."""
    template = Template(name="Seeded", subject="Hi {{ first_name }}", html="<p>Hi</p>")
    mailing_list = MailingList(name="Seeded list")
    sender = Identity(name="News", from_email="news@shop.example")
    channel = Channel(
        name="Brevo main",
        provider="sandbox",
        settings={},
        secrets_encrypted=encrypt_json({}),
        rate_per_second=1000,
    )
    db.session.add_all(
        [
            template,
            mailing_list,
            sender,
            channel,
            Suppression(email="x@example.com", reason="manual"),
            campaign_template := Template(name="Spring newsletter", subject="Hi", html=LEAVE),
            Template(name="VIP offer", subject="For you", html=LEAVE),
            MailingList(name="VIP customers"),
            MailingList(name="Newsletter"),
        ]
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
        sender=(sender.id, sender.from_email),  # by id, by address
        channel=(channel.id, channel.name),
        campaign_template=(campaign_template.id, campaign_template.name),
        s3_template=s3_template,
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
    if case.meta is not None and case.meta.generation.mode.is_positive:
        _real_references(case)
    case.operation.schema.app = app  # the checks' own requests (no key, another method) too
    case.call_and_validate(
        app=app,
        session=Client(app, app.response_class),
        headers={"Authorization": f"Bearer {admin_key}"},
    )
