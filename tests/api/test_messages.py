"""POST/GET /api/v1/messages: validation, suppression, idempotency, scopes, sends through a
real worker to a local Brevo-like server."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rq import SimpleWorker

from mailer.api.messages import plain_message
from mailer.api.spec import validator_for
from mailer.engine.transactional import accept
from mailer.models import Identity, Suppression, Template
from mailer.models.campaigns import Message
from mailer.queue import TRANSACTIONAL, get_redis, set_worker_app
from tests.factories import brevo_channel
from tests.fixtures.api import error_paths

pytestmark = pytest.mark.usefixtures("quick_drain")


@pytest.fixture
def sender(db):
    identity = Identity(name="App", from_email="app@example.com", from_name="The App")
    db.session.add(identity)
    db.session.commit()
    return identity


@pytest.fixture
def channel(db, brevo, sender):
    return brevo_channel(db, brevo)


def work(app, db):
    """Run queued transactional jobs in a real RQ worker (burst), then read fresh rows."""
    db.session.commit()
    set_worker_app(app)
    SimpleWorker([TRANSACTIONAL], connection=get_redis()).work(burst=True)
    db.session.commit()


def post(api, body, **headers):
    return api.post("/api/v1/messages", json=body, headers=headers or None)


def received(server) -> list[dict]:
    return [r.json for r in server.requests]


MESSAGE = {"to": "Jane@Example.com", "subject": "Your receipt", "html": "<p>Thanks!</p>"}


# ------------------------------------------------------------------ sending


def test_a_single_message_is_queued_then_sent_by_the_worker(app, db, api, brevo, channel):
    answer = post(api, {**MESSAGE, "tags": ["receipt"], "metadata": {"order": 42}})
    assert answer.status_code == 202, answer.json
    assert answer.json["status"] == "queued" and answer.json["to"] == "jane@example.com"
    message_id = answer.json["id"]
    assert api.get(f"/api/v1/messages/{message_id}").json["status"] == "queued"

    work(app, db)
    (body,) = received(brevo)
    assert body["to"] == [{"email": "jane@example.com"}]
    assert body["subject"] == "Your receipt"
    assert body["sender"] == {"email": "app@example.com", "name": "The App"}
    assert "<p>Thanks!</p>" in body["htmlContent"]
    assert "/t/o/m" in body["htmlContent"], "an open pixel with a message token"
    assert body["textContent"].strip() == "Thanks!"

    shown = api.get(f"/api/v1/messages/{message_id}").json
    assert shown["status"] == "sent"
    assert shown["provider_message_id"].endswith("@smtp-relay.mailin.fr>")
    assert shown["sent_at"] and shown["attempts"] == 1
    assert shown["tags"] == ["receipt"] and shown["metadata"] == {"order": 42}
    assert shown["from"] == "app@example.com" and shown["events"] == []


def test_a_batch_refuses_suppressed_recipients_and_sends_the_others(app, db, api, brevo, channel):
    db.session.add(Suppression(email="gone@example.com", reason="hard_bounce"))
    db.session.commit()
    batch = {
        "messages": [
            {**MESSAGE, "to": "a@example.com"},
            {**MESSAGE, "to": "gone@example.com"},
            {**MESSAGE, "to": "b@example.com", "text": "Thanks, B."},
        ]
    }
    answer = post(api, batch)
    assert answer.status_code == 202, answer.json
    assert (answer.json["queued"], answer.json["refused"]) == (2, 1)
    first, refused, last = answer.json["results"]
    assert first["status"] == last["status"] == "queued" and first["id"] < last["id"]
    assert refused["index"] == 1 and refused["status"] == "refused" and "id" not in refused
    assert refused["error"]["code"] == "recipient_suppressed"
    assert "hard_bounce" in refused["error"]["message"]

    work(app, db)
    assert sorted(b["to"][0]["email"] for b in received(brevo)) == [
        "a@example.com",
        "b@example.com",
    ]
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 2


def test_a_suppressed_single_recipient_is_a_422_with_its_reason(db, api, channel):
    db.session.add(Suppression(email="jane@example.com", reason="complaint"))
    db.session.commit()
    answer = post(api, MESSAGE)
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "recipient_suppressed"
    assert "complaint" in answer.json["error"]["message"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 0


def test_a_template_is_rendered_with_its_variables(app, db, api, brevo, channel):
    template = Template(
        name="Reset",
        subject="Reset your password, {{ first }}",
        html="<p>Hello {{ first }}, use code {{ code }}.</p>",
    )
    db.session.add(template)
    db.session.commit()
    answer = post(
        api,
        {"to": "jane@example.com", "template_id": template.id, "variables": {"first": "Jane"}},
    )
    assert error_paths(answer) == ["$.variables"]
    assert "code" in answer.json["error"]["details"]["fields"][0]["message"]

    answer = post(
        api,
        {
            "to": "jane@example.com",
            "template_id": template.id,
            "variables": {"first": "Jane", "code": "<123>"},
        },
    )
    assert answer.status_code == 202, answer.json
    work(app, db)
    (body,) = received(brevo)
    assert body["subject"] == "Reset your password, Jane"
    assert "<p>Hello Jane, use code &lt;123&gt;.</p>" in body["htmlContent"]


def vip_template(db) -> Template:
    template = Template(
        name="VIP",
        subject="VIP {{ first_name }}",
        html=(
            "<p>{{ first_name }}|{{ last_name }}|{{ name }}|{{ email }}|{{ unsubscribe_url }}"
            "|{{ plan }}</p>"
        ),
    )
    db.session.add(template)
    db.session.commit()
    return template


def test_the_callers_variables_win_over_the_defaults(app, db, api, brevo, channel):
    """Issue 16, item 13: first_name, last_name and name (and the other names a campaign
    takes from the subscriber) render as the caller gave them, not empty."""
    template = vip_template(db)
    given = {
        "first_name": "Jane",
        "last_name": "Doe",
        "name": "Ms Doe",
        "email": "account-7@example.com",
        "unsubscribe_url": "https://app.example.com/prefs",
        "plan": "Gold",
    }
    for variables in (given, {"first_name": "Jo", "last_name": "Roe", "plan": "Free"}):
        answer = post(
            api, {"to": "jane@example.com", "template_id": template.id, "variables": variables}
        )
        assert answer.status_code == 202, answer.json
    work(app, db)
    first, second = received(brevo)
    assert first["subject"] == "VIP Jane"
    assert (
        "<p>Jane|Doe|Ms Doe|account-7@example.com|https://app.example.com/prefs|Gold</p>"
        in first["htmlContent"]
    )
    assert second["subject"] == "VIP Jo"
    assert "<p>Jo|Roe|Jo Roe|jane@example.com||Free</p>" in second["htmlContent"]


def test_a_template_message_shows_the_subject_it_is_sent_with(app, db, api, brevo, channel):
    """Issue 16, item 13: GET /messages/{id} and the list show "VIP Jane", not the template's
    "VIP {{ first_name }}", from the moment it is accepted."""
    template = vip_template(db)
    answer = post(
        api,
        {
            "to": "jane@example.com",
            "template_id": template.id,
            "variables": {"first_name": "Jane", "plan": "Gold"},
        },
    )
    message_id = answer.json["id"]
    assert api.get(f"/api/v1/messages/{message_id}").json["subject"] == "VIP Jane"
    override = post(
        api,
        {
            "to": "joe@example.com",
            "template_id": template.id,
            "subject": "{{ plan }} for {{ name }}",
            "variables": {"first_name": "Joe", "plan": "Silver"},
        },
    ).json["id"]
    work(app, db)
    (jane, joe) = received(brevo)
    assert (jane["subject"], joe["subject"]) == ("VIP Jane", "Silver for Joe")
    shown = api.get(f"/api/v1/messages/{message_id}").json
    assert shown["status"] == "sent" and shown["subject"] == "VIP Jane"
    listed = {m["id"]: m["subject"] for m in api.get("/api/v1/messages").json["data"]}
    assert listed == {message_id: "VIP Jane", override: "Silver for Joe"}


def test_variables_a_template_cannot_see_and_subjects_that_do_not_render_are_refused(
    db, api, channel
):
    template = vip_template(db)
    base = {"to": "jane@example.com", "template_id": template.id}
    answer = post(api, {**base, "variables": {"plan": "x", "range": 3, "attributes": {"a": 1}}})
    assert error_paths(answer) == ["$.variables"]
    message = answer.json["error"]["details"]["fields"][0]["message"]
    assert "attributes, range" in message
    for subject in ("{{ plan ", "{{ plan.upper(1, 2, 3) }}", "{{ plan * 200 }}"):
        answer = post(api, {**base, "subject": subject, "variables": {"plan": "Gold"}})
        assert error_paths(answer) == ["$.subject"], subject
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 0


def test_every_invalid_field_is_listed_and_nothing_is_queued(db, api, channel):
    answer = post(
        api,
        {
            "messages": [
                {"to": "not an address", "subject": "x", "text": "y"},
                {"to": "ok@example.com", "text": "no subject", "colour": "red"},
                {"to": "ok@example.com", "subject": "x", "text": "y", "from": "who@else.com"},
                {"to": "ok@example.com", "subject": "x", "channel": "nope", "html": "<p>"},
                {"to": "ok@example.com", "subject": "x", "template_id": 999999},
                {"to": "ok@example.com", "subject": "x", "html": "<p>", "tags": ["a"] * 11},
            ]
        },
    )
    paths = error_paths(answer)
    assert paths == [
        "$.messages[1].colour",
        "$.messages[1].subject",
        "$.messages[5].tags",
    ], "the schema's checks come first"
    answer = post(
        api,
        {
            "messages": [
                {"to": "not an address", "subject": "x", "text": "y"},
                {
                    "to": "ok@example.com",
                    "subject": "x",
                    "text": "y",
                    "metadata": {"k": "x" * 3000},
                },
                {"to": "ok@example.com", "subject": "x", "text": "y", "from": "who@else.com"},
                {"to": "ok@example.com", "subject": "x", "channel": "nope", "html": "<p>"},
                {"to": "ok@example.com", "subject": "x", "template_id": 999999},
            ]
        },
    )
    assert sorted(error_paths(answer)) == [
        "$.messages[0].to",
        "$.messages[1].metadata",
        "$.messages[2].from",
        "$.messages[3].channel",
        "$.messages[4].template_id",
    ]
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 0


def test_sender_and_channel_can_be_named(app, db, api, brevo, channel):
    other = Identity(name="Billing", from_email="billing@example.com")
    db.session.add(other)
    db.session.commit()
    accept.forget_lookups()
    answer = post(api, {**MESSAGE, "from": "billing@example.com", "channel": channel.name})
    assert answer.status_code == 202, answer.json
    answer = post(api, {**MESSAGE, "from": other.id, "channel": channel.id})
    assert answer.status_code == 202, answer.json
    work(app, db)
    assert [b["sender"]["email"] for b in received(brevo)] == ["billing@example.com"] * 2


def test_a_batch_larger_than_the_maximum_is_refused(app, db, api, channel):
    app.config["MAILER_API_MAX_BATCH"] = 2
    answer = post(api, {"messages": [MESSAGE] * 3})
    assert error_paths(answer) == ["$.messages"]
    assert "At most 2" in answer.json["error"]["details"]["fields"][0]["message"]


# ------------------------------------------------------------------ idempotency


def test_a_repeated_request_sends_once_and_answers_the_same(app, db, api, brevo, channel):
    first = post(api, MESSAGE, **{"Idempotency-Key": "order-42"})
    again = post(api, MESSAGE, **{"Idempotency-Key": "order-42"})
    assert first.status_code == again.status_code == 202
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    work(app, db)
    post(api, MESSAGE, **{"Idempotency-Key": "order-42"})
    work(app, db)
    assert len(brevo.requests) == 1, "one message reached the provider"

    other = post(api, {**MESSAGE, "subject": "Another"}, **{"Idempotency-Key": "order-42"})
    assert other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_key_reused"


# ------------------------------------------------------------------ scopes and reading


def test_a_read_only_key_cannot_send(api_as, db, channel):
    answer = post(api_as("read"), MESSAGE)
    assert answer.status_code == 403
    assert answer.json["error"]["code"] == "forbidden"
    assert post(api_as("campaigns"), MESSAGE).status_code == 403
    assert post(api_as("send"), MESSAGE).status_code == 202


def test_a_send_key_reads_only_its_own_messages(api_as, db, channel):
    mine, theirs, reader = api_as("send"), api_as("send"), api_as("read")
    own = post(mine, MESSAGE).json["id"]
    other = post(theirs, MESSAGE).json["id"]
    assert mine.get(f"/api/v1/messages/{own}").status_code == 200
    assert mine.get(f"/api/v1/messages/{other}").status_code == 404
    assert [m["id"] for m in mine.get("/api/v1/messages").json["data"]] == [own]
    assert [m["id"] for m in reader.get("/api/v1/messages").json["data"]] == [other, own]
    assert reader.get(f"/api/v1/messages/{other}").status_code == 200


def test_the_list_filters_by_status_tag_and_recipient(app, db, api, brevo, channel):
    ids = [
        post(api, {**MESSAGE, "to": f"r{i}@example.com", "tags": [f"t{i % 2}", "all"]}).json["id"]
        for i in range(5)
    ]
    work(app, db)
    db.session.execute(db.update(Message).where(Message.id == ids[0]).values(status="bounced"))
    db.session.commit()

    def listed(query):
        answer = api.get(f"/api/v1/messages?{query}")
        assert answer.status_code == 200, answer.json
        return [m["id"] for m in answer.json["data"]]

    assert listed("status=sent") == ids[1:][::-1]
    assert listed("status=bounced") == [ids[0]]
    assert listed("tag=t1") == [ids[3], ids[1]]
    assert listed("tag=all&to=r2@example.com") == [ids[2]]
    page = api.get("/api/v1/messages?limit=2").json
    assert [m["id"] for m in page["data"]] == ids[:-3:-1]
    rest = api.get(f"/api/v1/messages?limit=10&cursor={page['next_cursor']}").json
    assert [m["id"] for m in rest["data"]] == ids[2::-1] and rest["next_cursor"] is None
    assert error_paths(api.get("/api/v1/messages?status=lost")) == ["status"]


def test_an_unknown_message_is_404(api):
    answer = api.get("/api/v1/messages/123456")
    assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found"


def test_the_body_must_be_json(api, channel):
    answer = api.post("/api/v1/messages", data=json.dumps(MESSAGE))
    assert answer.status_code == 415


# ------------------------------------------------------------------ the quick body check

_TEXTS = ["", "a", "x" * 64, "x" * 65, "x" * 120, "x" * 121, "é" * 254, "x" * 255, "x" * 501]
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1, 3),
    st.just(1.0),
    st.sampled_from(_TEXTS),
    st.lists(st.sampled_from(_TEXTS), max_size=12),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
_NAMES = ["to", "from", "subject", "html", "text", "template_id", "variables", "channel"]
_NAMES += ["tags", "metadata", "track_opens", "messages", "colour"]


_SOME_FIELDS = st.dictionaries(st.sampled_from(_NAMES), _VALUES, max_size=3)


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(
        _SOME_FIELDS.map(lambda fields: {"to": "a@example.com", "subject": "s", **fields}),
        _SOME_FIELDS,
        _VALUES,
    )
)
def test_the_quick_body_check_passes_only_what_the_schema_accepts(body):
    """Single messages that look usual skip jsonschema; the schema must accept every one of
    them, so errors always come from the schema itself."""
    if plain_message(body):
        assert not list(validator_for("MessageRequest").iter_errors(body)), body


def test_the_quick_body_check_agrees_with_the_schema_field_by_field():
    candidates = [None, True, False, -1, 0, 1, 2, 1.0, 1.5, *_TEXTS, {}, {"a": 1}, []]
    candidates += [["a"] * 10, ["a"] * 11, [""], ["x" * 64], ["x" * 65], [1]]
    schema = validator_for("MessageRequest")
    for name in _NAMES:
        for value in candidates:
            body = {"to": "a@example.com", "subject": "s", name: value}
            if plain_message(body):
                assert not list(schema.iter_errors(body)), body


def test_the_usual_single_message_takes_the_quick_check():
    usual = {**MESSAGE, "tags": ["receipt"], "metadata": {"order": 1}, "from": "a@example.com"}
    assert plain_message(usual)
    assert not plain_message({**usual, "colour": "red"}), "unknown fields go to the schema"


def test_what_a_message_needs_is_refused_in_plain_words(db, api, channel):
    """The document's rules besides each field's own (content, a subject without a template,
    no variables without one) answer with the server's words, not jsonschema's."""
    cases = {
        "Give html, text or both (or a template_id).": {"to": "a@example.com", "subject": "s"},
        "Give a subject.": {"to": "a@example.com", "subject": " \t", "text": "t"},
        "A subject cannot contain line breaks.": {
            "to": "a@example.com",
            "subject": "a\n",
            "text": "t",
        },
        "Variables are only used with template_id.": {
            "to": "a@example.com",
            "subject": "s",
            "text": "t",
            "variables": {"a": 1},
        },
        "Give either template_id or html/text, not both.": {
            "to": "a@example.com",
            "template_id": 1,
            "text": "t",
        },
    }
    for message, body in cases.items():
        answer = post(api, body)
        assert answer.status_code == 422, body
        assert [f["message"] for f in answer.json["error"]["details"]["fields"]] == [message]
    reserved = post(api, {"to": "a@shop.test", "subject": "s", "text": "t"})
    assert error_paths(reserved) == ["$.to"]
    assert "reserved domain" in reserved.json["error"]["details"]["fields"][0]["message"]
