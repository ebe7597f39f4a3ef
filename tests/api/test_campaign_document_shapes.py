"""Campaign documents as the client teams write them (campaign_id, templateS3Uri, list_name,
to_address), templates read from S3 (moto's server) or https, and recipients lacking a
template's variables."""

from __future__ import annotations

import http.server
import socket
import threading
import uuid
from datetime import timedelta

import boto3
import pytest

from mailer.campaigns import template_sources
from mailer.models import Campaign, Channel, Identity, MailingList, Subscriber, Template
from mailer.queue import SEND
from tests.fixtures.api import UNSUBSCRIBE, document, error_paths, iso, received
from tests.fixtures.app import work
from tests.fixtures.servers import closed_port_url
from tests.servers.tls import self_signed, server_context

REGION = "eu-west-1"
NEWSLETTER = (
    "<html><head><title>Spring is here, {{ first_name }}</title></head>"
    f"<body><p>DEFAULT for {{{{ first_name }}}}</p>{UNSUBSCRIBE}</body></html>"
)
VIP = f"<html><body><p>VIP {{{{ tier }}}} {{{{ first_name }}}}</p>{UNSUBSCRIBE}</body></html>"


def counts(db) -> tuple[int, int, int, int]:
    db.session.commit()
    return tuple(
        db.session.scalar(db.select(db.func.count()).select_from(model))
        for model in (Campaign, MailingList, Subscriber, Template)
    )


def messages(response) -> dict[str, str]:
    assert response.status_code == 422, response.get_data(as_text=True)
    return {f["path"]: f["message"] for f in response.json["error"]["details"]["fields"]}


@pytest.fixture
def s3(app, aws_endpoint, monkeypatch):
    """A bucket on moto's S3 server, Mailer configured to read it: put(key, body) stores."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    app.config.update(MAILER_S3_REGION=REGION, MAILER_S3_ENDPOINT_URL=aws_endpoint)
    client = boto3.client("s3", region_name=REGION, endpoint_url=aws_endpoint)
    bucket = f"templates-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})

    def put(key: str, body: str | bytes, content_type: str = "text/html") -> str:
        data = body.encode() if isinstance(body, str) else body
        client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        return f"s3://{bucket}/{key}"

    put.bucket = bucket  # type: ignore[attr-defined]
    yield put
    client.close()


@pytest.fixture
def sandbox(db):
    """The one sandbox channel and sender a client-shape document (no channels) uses."""
    db.session.add_all(
        [
            Channel(name="Sandbox", provider="sandbox", settings={}, rate_per_second=1000),
            Identity(name="Shop news", from_email="news@shop.example", from_name="Shop"),
        ]
    )
    db.session.commit()


def client_document(default_uri: str, vip_uri: str, **changes) -> dict:
    """The client teams' document as they write it."""
    doc = {
        "campaign_id": "spring-sale-2027",
        "date": "2027-03-01T09:00:00+01:00",
        "templateS3Uri": default_uri,
        "segments": [
            {
                "list_name": "VIP customers",
                "templateS3Uri": vip_uri,
                "recipients": [
                    {"to_address": "ana@example.com", "first_name": "Ana", "tier": "gold"},
                    {"to_address": "cy@example.com", "first_name": "Cy", "tier": "silver"},
                ],
            },
            {
                "list_name": "Newsletter",
                "recipients": [
                    {"to_address": "bo@example.com", "first_name": "Bo", "city": "Oslo"}
                ],
            },
        ],
    }
    doc.update(changes)
    return doc


# ------------------------------------------------------------------ the client teams' shape


def test_the_client_teams_document_is_scheduled_with_its_s3_templates(api, db, s3, sandbox):
    doc = client_document(s3("spring/newsletter.html", NEWSLETTER), s3("spring/vip.html", VIP))

    response = api.post("/api/v1/campaigns", json=doc)

    assert response.status_code == 201, response.json
    body = response.json
    assert (body["external_id"], body["status"]) == ("spring-sale-2027", "scheduled")
    assert body["subject"] == "Spring is here, {{ first_name }}"  # the HTML's <title>
    assert body["template"]["name"].startswith(f"s3://{s3.bucket}/spring/newsletter.html (")
    assert [s["list"] for s in body["segments"]] == ["VIP customers", "Newsletter"]
    assert body["segments"][0]["template"]["name"].startswith(f"s3://{s3.bucket}/spring/vip")
    ana = db.session.scalar(db.select(Subscriber).filter_by(email="ana@example.com"))
    assert (ana.first_name, ana.attributes) == ("Ana", {"tier": "gold"})
    bo = db.session.scalar(db.select(Subscriber).filter_by(email="bo@example.com"))
    assert (bo.first_name, bo.attributes) == ("Bo", {"city": "Oslo"})
    assert api.get("/api/v1/campaigns/spring-sale-2027").json["id"] == body["id"]


def test_a_client_document_is_sent_with_each_recipients_personalisation(app, api, db, s3, sandbox):
    doc = client_document(
        s3("n.html", NEWSLETTER), s3("v.html", VIP), date=iso(timedelta(0))
    )  # due: launched at once

    assert api.post("/api/v1/campaigns", json=doc).status_code == 201
    work(app, SEND)

    mail = received(db)
    assert sorted(mail) == ["ana@example.com", "bo@example.com", "cy@example.com"]
    assert "VIP gold Ana" in mail["ana@example.com"][1]
    assert "VIP silver Cy" in mail["cy@example.com"][1]
    assert mail["bo@example.com"] == ("Spring is here, Bo", mail["bo@example.com"][1])
    assert "DEFAULT for Bo" in mail["bo@example.com"][1]


def test_an_unchanged_object_reuses_its_template_and_a_changed_one_makes_a_new_one(
    api, db, s3, sandbox
):
    default, vip = s3("n.html", NEWSLETTER), s3("v.html", VIP)
    first = api.post("/api/v1/campaigns", json=client_document(default, vip))
    again = api.post("/api/v1/campaigns", json=client_document(default, vip, campaign_id="b"))
    assert first.status_code == again.status_code == 201
    assert again.json["template"] == first.json["template"]
    assert counts(db)[3] == 2

    s3("n.html", NEWSLETTER.replace("DEFAULT", "CHANGED"))  # a new version: a new ETag
    third = api.post("/api/v1/campaigns", json=client_document(default, vip, campaign_id="c"))

    assert third.status_code == 201, third.json
    assert third.json["template"]["id"] != first.json["template"]["id"]
    assert "CHANGED" in db.session.get(Template, third.json["template"]["id"]).html
    assert "DEFAULT" in db.session.get(Template, first.json["template"]["id"]).html
    assert counts(db)[3] == 3


def test_the_client_shape_takes_mailers_optional_fields(api, db, s3, setup):
    doc = client_document(
        s3("n.html", NEWSLETTER),
        s3("v.html", VIP),
        name="Spring sale",
        subject="Hi {{ first_name }}",
        channels=[{"channel": "Brevo main", "sender": "news@shop.example", "per_day": 100}],
    )

    response = api.post("/api/v1/campaigns", json=doc)

    assert response.status_code == 201, response.json
    assert (response.json["name"], response.json["subject"]) == (
        "Spring sale",
        "Hi {{ first_name }}",
    )
    assert response.json["channels"][0]["per_day"] == 100


def test_errors_in_a_client_document_use_its_field_names(api, db, s3, sandbox):
    doc = client_document(s3("n.html", NEWSLETTER), s3("v.html", VIP), campaign_id="2027")
    doc["segments"][0]["recipients"].append({"to_address": "a@shop.test", "tier": "x"})

    found = messages(api.post("/api/v1/campaigns", json=doc))  # what the document says

    assert sorted(found) == ["$.campaign_id", "$.segments[0].recipients[2].to_address"]
    assert found["$.campaign_id"].startswith("Use at least one letter")
    assert found["$.segments[0].recipients[2].to_address"].startswith("Not a valid address")

    doc["campaign_id"] = "spring-2027"
    doc["segments"][0]["recipients"][2] = {
        "to_address": "cy@example.com",
        "first_name": "Cy",
        "tier": "x",
    }
    doc["segments"][1]["list_name"] = "VIP customers"
    found = messages(api.post("/api/v1/campaigns", json=doc))  # what the server checks

    assert sorted(found) == ["$.segments[1].list_name"]
    assert counts(db) == (0, 0, 0, 0)


def test_a_document_mixing_both_shapes_is_refused_field_by_field(api, db, setup):
    doc = document(setup)
    doc["campaign_id"] = doc.pop("id")
    doc["segments"][0]["list_name"] = doc["segments"][0].pop("list")

    paths = error_paths(api.post("/api/v1/campaigns", json=doc))

    assert "$.template" in paths and "$.templateS3Uri" in paths  # unknown here, and required
    assert "$.segments[0].template" in paths and "$.segments[1].list" in paths
    assert counts(db) == (0, 0, 0, 2)


# ------------------------------------------------------------------ reading templates


@pytest.mark.parametrize(
    "case",
    [
        "no bucket",
        "no object",
        "not html",
        "binary",
        "too big",
        "no answer",
        "too slow",
        "no key",
    ],
)
def test_a_template_that_cannot_be_read_is_a_422_naming_the_field(
    app, api, db, s3, sandbox, monkeypatch, request, case
):
    vip = s3("v.html", VIP)
    default = {
        "no bucket": lambda: f"s3://missing-{uuid.uuid4().hex[:8]}/n.html",
        "no object": lambda: f"s3://{s3.bucket}/nothing-here.html",
        "not html": lambda: s3("n.json", '{"hello": "world"}', "application/json"),
        "binary": lambda: s3("n.html", b"\x89PNG\r\n\x1a\n\x00\x00", "binary/octet-stream"),
        "too big": lambda: s3("n.html", NEWSLETTER + " " * 2000),
        "no answer": lambda: s3("n.html", NEWSLETTER),
        "too slow": lambda: s3("n.html", NEWSLETTER),
        "no key": lambda: f"s3://{s3.bucket}/",
    }[case]()
    if case == "too big":
        monkeypatch.setattr(template_sources, "MAX_BYTES", 1000)
    if case == "no answer":
        app.config["MAILER_S3_ENDPOINT_URL"] = closed_port_url()
    if case == "too slow":  # a listener that takes connections and never answers
        silent = socket.create_server(("127.0.0.1", 0))
        request.addfinalizer(silent.close)
        app.config["MAILER_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setattr(template_sources, "TIMEOUT", (1.0, 0.5))
    doc = client_document(default, vip)

    response = api.post("/api/v1/campaigns", json=doc)

    if case == "no key":  # the schema's pattern refuses it before any request
        assert error_paths(response) == ["$.templateS3Uri"]
        return
    found = messages(response)
    if case in ("no answer", "too slow"):  # the segment's template is in the same S3
        assert list(found) == ["$.templateS3Uri", "$.segments[0].templateS3Uri"]
    else:
        assert list(found) == ["$.templateS3Uri"], found
    expected = {
        "no bucket": "No bucket",
        "no object": "No object “nothing-here.html”",
        "not html": "not an HTML template: it is served as application/json",
        "binary": "not an HTML template",
        "too big": "larger than 1,000 bytes",
        "no answer": "S3 could not be reached",
        "too slow": "S3 did not answer in time",
    }[case]
    assert expected in found["$.templateS3Uri"]
    assert counts(db) == (0, 0, 0, 0)  # not even the segment's template was kept


def test_a_segments_template_error_names_the_segment(api, db, s3, sandbox):
    doc = client_document(s3("n.html", NEWSLETTER), f"s3://{s3.bucket}/gone.html")

    found = messages(api.post("/api/v1/campaigns", json=doc))

    assert list(found) == ["$.segments[0].templateS3Uri"]
    assert counts(db) == (0, 0, 0, 0)


def test_a_fetched_template_follows_the_pages_rules(api, db, s3, sandbox):
    doc = client_document(
        s3("n.html", "<html><head><title>Hi</title></head><body><p>Hello</p></body></html>"),
        s3("v.html", VIP.replace("{{ tier }}", "{{ tier ")),
    )

    found = messages(api.post("/api/v1/campaigns", json=doc))

    assert "unsubscribe_url" in found["$.templateS3Uri"]
    assert "error in its HTML body" in found["$.segments[0].templateS3Uri"]
    untitled = client_document(
        s3("u.html", NEWSLETTER.replace("<title>", "<meta>")), doc["segments"][0]["templateS3Uri"]
    )
    found = messages(api.post("/api/v1/campaigns", json=untitled))
    assert "has no subject" in found["$.subject"] and "<title>" in found["$.subject"]
    assert counts(db) == (0, 0, 0, 0)


class _Templates(http.server.BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        status, headers, body = self.pages.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def https_site(tmp_path, monkeypatch):
    """An https server on 127.0.0.1 whose certificate requests trusts: pages[path] = answer."""
    cert_pem, _ = self_signed("localhost")  # the one server_context("localhost") uses
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(cert_pem)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Templates)
    server.socket = server_context("localhost").wrap_socket(server.socket, server_side=True)
    pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
    _Templates.pages = pages
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.base = f"https://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    server.pages = pages  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()


def test_an_https_template_is_read_and_reused_while_unchanged(api, db, s3, sandbox, https_site):
    https_site.pages["/n.html?sig=s3cr3t"] = (
        200,
        {"Content-Type": "text/html; charset=utf-8"},
        NEWSLETTER.encode(),
    )
    url = f"{https_site.base}/n.html?sig=s3cr3t"  # a signed URL
    vip = s3("v.html", VIP)

    first = api.post("/api/v1/campaigns", json=client_document(url, vip))
    again = api.post("/api/v1/campaigns", json=client_document(url, vip, campaign_id="b"))

    assert first.status_code == again.status_code == 201, first.json
    name = first.json["template"]["name"]
    assert name.startswith(f"{https_site.base}/n.html (") and "s3cr3t" not in name
    assert again.json["template"] == first.json["template"]
    missing = client_document(f"{https_site.base}/gone.html", vip, campaign_id="c")
    assert "404" in messages(api.post("/api/v1/campaigns", json=missing))["$.templateS3Uri"]
    https_site.pages["/img"] = (200, {"Content-Type": "image/png"}, b"\x89PNG")
    image = client_document(f"{https_site.base}/img", vip, campaign_id="d")
    assert "image/png" in messages(api.post("/api/v1/campaigns", json=image))["$.templateS3Uri"]


def test_an_https_template_on_a_private_address_is_refused_by_the_guard(
    app, api, db, s3, sandbox, https_site
):
    https_site.pages["/n.html"] = (200, {"Content-Type": "text/html"}, NEWSLETTER.encode())
    app.config["MAILER_WEBHOOK_ALLOW_PRIVATE"] = False
    doc = client_document(f"{https_site.base}/n.html", s3("v.html", VIP))

    found = messages(api.post("/api/v1/campaigns", json=doc))

    assert "only from public addresses" in found["$.templateS3Uri"]
    assert counts(db) == (0, 0, 0, 0)


# ------------------------------------------------------------------ missing variables


def test_recipients_lacking_a_variable_are_listed_per_segment_and_nothing_is_created(
    api, db, s3, sandbox
):
    doc = client_document(s3("n.html", NEWSLETTER), s3("v.html", VIP))
    doc["segments"][0]["recipients"][1].pop("tier")  # Cy
    doc["segments"][1]["recipients"] += [
        {"to_address": "dee@example.com", "first_name": "Dee"},
        {"to_address": "eve@example.com", "first_name": None},
    ]

    found = messages(api.post("/api/v1/campaigns", json=doc))

    assert sorted(found) == [
        "$.segments[0]",
        "$.segments[0].recipients[1]",
        "$.segments[1]",
        "$.segments[1].recipients[2]",
    ]
    assert found["$.segments[0].recipients[1]"].startswith("Lacks tier, which the template")
    assert "Lacks first_name" in found["$.segments[1].recipients[2]"]
    assert "1 recipient of this segment lacks" in found["$.segments[0]"]
    assert "tier (1)" in found["$.segments[0]"]
    assert "allow_missing_variables" in found["$.segments[1]"]
    assert counts(db) == (0, 0, 0, 0)

    doc["allow_missing_variables"] = True
    response = api.post("/api/v1/campaigns", json=doc)
    assert response.status_code == 201, response.json


def test_a_variable_with_a_default_or_a_test_or_one_mailer_fills_is_never_missing(api, db, setup):
    setup["default"].html = (
        '<p>Hi {{ first_name | default("there") }} {{ email }} {{ view_online_url }}'
        "{% if city %} from {{ city }}{% endif %} {{ attributes.plan | d('free') }}</p>"
        + UNSUBSCRIBE
    )
    db.session.commit()
    doc = document(setup, subject="Spring news")
    doc["segments"][1]["recipients"].append({"email": "cy@example.com"})

    response = api.post("/api/v1/campaigns", json=doc)

    assert response.status_code == 201, response.json


def test_values_stored_for_contacts_already_on_the_list_count(api, db, setup):
    newsletter = MailingList(name="Newsletter")
    db.session.add(newsletter)
    db.session.flush()
    db.session.add(Subscriber(list_id=newsletter.id, email="cy@example.com", first_name="Cy"))
    db.session.commit()
    doc = document(setup)
    doc["segments"][1]["recipients"] += [{"email": "cy@example.com"}, {"email": "dee@example.com"}]

    found = messages(api.post("/api/v1/campaigns", json=doc))

    assert sorted(found) == ["$.segments[1]", "$.segments[1].recipients[2]"]  # Dee, not Cy


def test_the_list_of_recipients_lacking_variables_is_bounded(api, db, setup):
    doc = document(setup)
    doc["segments"][1]["recipients"] = [{"email": f"p{i}@example.com"} for i in range(120)]

    found = messages(api.post("/api/v1/campaigns", json=doc))

    listed = [path for path in found if ".recipients[" in path]
    assert len(listed) == 50
    assert listed[0] == "$.segments[1].recipients[0]"
    assert "120 recipients of this segment lack" in found["$.segments[1]"]
    assert "first_name (120)" in found["$.segments[1]"]


# ------------------------------------------------------------------ the reference


def test_the_reference_links_both_shapes_of_the_document(api):
    page = api.get("/api/v1/docs").get_data(as_text=True)

    for name in ("CampaignDocument", "ClientCampaignDocument"):
        assert f'href="#schema-{name}"' in page
        assert f'id="schema-{name}"' in page
    assert "templateS3Uri" in page and "allow_missing_variables" in page
