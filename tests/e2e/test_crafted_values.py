"""Crafted addresses and names on every page that shows them, in a real browser (issue 16, item 4).

A valid address such as ``x'-alert`1`-'x@example.com`` ran script in an admin's browser from an
inline ``onsubmit="return confirm('… {{ email }} …')"``. Here every such value is shown, every
confirmation is dismissed (nothing is sent) and accepted (the form is sent), and no payload runs:
no canary call, no dialog but the page's own question, no Content-Security-Policy violation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import pytest
from playwright.sync_api import Locator, Page, expect

from mailer.lib import tokens
from mailer.lib.crypto import decrypt_json
from mailer.models import (
    ApiKey,
    Campaign,
    Channel,
    Identity,
    OutboxMessage,
    Segment,
    Subscriber,
    Suppression,
    User,
    WebhookEndpoint,
)
from tests.e2e.crafted import EVIL_EMAIL, EVIL_EMAIL2, EVIL_NAME, EVIL_URL, Planted

# Each page that shows crafted values, with the values it must show.
PAGES = [
    ("/", (EVIL_NAME,)),
    ("/lists/", (EVIL_NAME,)),
    ("/lists/{list_id}", (EVIL_NAME, EVIL_EMAIL, EVIL_EMAIL2, f"Invalid JSON near {EVIL_NAME}")),
    ("/lists/{list_id}/subscribers/{subscriber_id}", (EVIL_EMAIL,)),
    ("/people/?list={list_id}", (EVIL_EMAIL, EVIL_NAME)),  # people (issue 21)
    ("/lists/{list_id}/segments/", (EVIL_NAME,)),
    ("/lists/{list_id}/segments/{segment_id}", (EVIL_NAME,)),
    ("/lists/{list_id}/delete", (EVIL_NAME,)),
    ("/suppressions/", (EVIL_EMAIL, EVIL_NAME)),
    ("/users/", (EVIL_EMAIL,)),
    ("/senders/", (EVIL_NAME, EVIL_EMAIL)),
    ("/senders/{identity_id}", (EVIL_NAME,)),
    ("/channels/", (EVIL_NAME,)),
    ("/channels/{channel_id}", (EVIL_NAME,)),
    ("/channels/{channel_id}/edit", (EVIL_NAME,)),
    ("/outbound-webhooks/", (EVIL_NAME,)),
    ("/outbound-webhooks/{endpoint_id}", (EVIL_NAME, EVIL_URL)),
    ("/settings/api-keys/", (EVIL_NAME,)),
    ("/outbox/", (EVIL_EMAIL, EVIL_NAME)),
    ("/outbox/{outbox_id}", (EVIL_EMAIL, EVIL_NAME)),
    ("/templates/", (EVIL_NAME,)),
    ("/templates/{template_id}", (EVIL_NAME,)),
    ("/templates/{template_id}/delete", (EVIL_NAME,)),
    ("/campaigns/", (EVIL_NAME,)),
    ("/campaigns/{scheduled_id}", (EVIL_NAME,)),
    ("/campaigns/{scheduled_id}/setup", (EVIL_NAME,)),
    ("/campaigns/{sent_id}", (EVIL_NAME,)),
    ("/reports/campaigns/{sent_id}", (EVIL_NAME, EVIL_URL)),
    # and the pages without crafted values, under the same policy
    ("/queues/", ("Queues",)),
    ("/api/v1/docs", ("Operations",)),
]


def test_pages_show_crafted_values_as_text_and_run_no_script(admin_page: Page, watch, planted):
    shown = []
    for path, texts in PAGES:
        url = path.format(**asdict(planted))
        admin_page.goto(url)
        for text in texts:
            expect(admin_page.locator("body"), url).to_contain_text(text)
        shown.append(url)
        watch.assert_quiet()
    assert len(shown) == len(PAGES)


def test_recipient_pages_work_under_the_policy(page: Page, watch, planted):
    """No login: the unsubscribe pages, and the email as a page (its own sandbox policy)."""
    token = tokens.make(tokens.CAMPAIGN_SEND, planted.send_id)
    page.goto(f"/u/{token}")
    expect(page.locator("main")).to_contain_text(EVIL_NAME)  # the list's name
    with page.expect_navigation():
        page.get_by_role("button", name="Unsubscribe").click()
    expect(page.locator("h1")).to_have_text("You are unsubscribed")
    with page.expect_navigation():
        page.get_by_role("button", name="Resubscribe").click()
    page.goto(f"/v/{token}")
    expect(page.locator("body")).to_contain_text("Acme")
    watch.assert_quiet()


def test_report_charts_draw_under_the_policy(admin_page: Page, watch, planted):
    admin_page.goto(f"/reports/campaigns/{planted.sent_id}")
    for chart in ("timeline-chart", "links-chart"):
        admin_page.wait_for_function(f"Chart.getChart(document.getElementById('{chart}'))")
    watch.assert_quiet()


def test_segment_editor_adds_and_removes_conditions_without_inline_script(
    admin_page: Page, watch, planted
):
    admin_page.goto(f"/lists/{planted.list_id}/segments/{planted.segment_id}")
    rows = admin_page.locator(".condition-row")
    expect(rows).to_have_count(1)
    admin_page.get_by_role("button", name="+ Add condition").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_have_attribute("id", "condition-1")  # the index came from app.js
    with admin_page.expect_response(lambda r: "/segments/count" in r.url):
        rows.nth(0).get_by_role("button", name="Remove condition").click()
    expect(rows).to_have_count(1)
    expect(admin_page.locator("#live-count")).to_contain_text("match")
    watch.assert_quiet()


def test_list_search_filters_through_htmx_under_the_policy(admin_page: Page, watch, planted):
    admin_page.goto(f"/lists/{planted.list_id}")
    table = admin_page.locator("#subscriber-table")
    expect(table).to_contain_text(EVIL_EMAIL2)
    with admin_page.expect_response(lambda r: "q=" in r.url):
        admin_page.get_by_label("Search subscribers").fill("x'-alert")
    expect(table).not_to_contain_text(EVIL_EMAIL2)
    expect(table).to_contain_text(EVIL_EMAIL)
    watch.assert_quiet()


@dataclass(frozen=True)
class Confirm:
    name: str
    path: str
    button: Callable[[Page], Locator]
    question: str
    done: Callable[[object, Planted], bool]  # (db, planted): the action took effect
    htmx: bool = False

    def __str__(self) -> str:
        return self.name


def _in_row(text: str, button: str) -> Callable[[Page], Locator]:
    return lambda page: (
        page.get_by_role("row").filter(has_text=text).get_by_role("button", name=button)
    )


def _button(name: str) -> Callable[[Page], Locator]:
    return lambda page: page.get_by_role("button", name=name, exact=True)


def _gone(model) -> Callable[[object, Planted], bool]:
    field = {
        Subscriber: "subscriber_id",
        Suppression: "suppression_id",
        User: "user_id",
        Identity: "identity_id",
        Channel: "channel_id",
        Segment: "segment_id",
        WebhookEndpoint: "endpoint_id",
        OutboxMessage: "outbox_id",
    }[model]
    return lambda db, planted: db.session.get(model, getattr(planted, field)) is None


CONFIRMS = [
    Confirm(
        "subscriber",
        "/lists/{list_id}/subscribers/{subscriber_id}",
        _button("Delete from list"),
        f"Delete {EVIL_EMAIL} from this list?",
        _gone(Subscriber),
    ),
    Confirm(
        "suppression",
        "/suppressions/",
        _in_row(EVIL_EMAIL, "Remove"),
        f"Allow mailing {EVIL_EMAIL} again?",
        _gone(Suppression),
    ),
    Confirm(
        "user",
        "/users/",
        _in_row(EVIL_EMAIL, "Delete"),
        f"Delete {EVIL_EMAIL}?",
        _gone(User),
    ),
    Confirm(
        "user-password",
        "/users/",
        _in_row(EVIL_EMAIL, "New password"),
        f"Make a new password for {EVIL_EMAIL}? The old one stops working.",
        lambda db, planted: (
            not db.session.get(User, planted.user_id).check_password("correct horse")
        ),
        htmx=True,
    ),
    Confirm(
        "sender",
        "/senders/",
        _in_row(EVIL_EMAIL, "Delete"),
        f"Delete the sender “{EVIL_NAME}”?",
        _gone(Identity),
    ),
    Confirm(
        "channel",
        "/channels/{channel_id}",
        _button("Delete"),
        f"Delete the channel “{EVIL_NAME}”?",
        _gone(Channel),
    ),
    Confirm(
        "segment",
        "/lists/{list_id}/segments/",
        _in_row(EVIL_NAME, "Delete"),
        f"Delete the segment “{EVIL_NAME}”?",
        _gone(Segment),
    ),
    Confirm(
        "api-key",
        "/settings/api-keys/",
        _in_row(EVIL_NAME, "Revoke"),
        f"Revoke “{EVIL_NAME}”? Apps using it stop working at once.",
        lambda db, planted: db.session.get(ApiKey, planted.key_id).revoked_at is not None,
    ),
    Confirm(
        "webhook-secret",
        "/outbound-webhooks/{endpoint_id}",
        _button("Replace the secret"),
        "Replace the secret? The current one stops working at once.",
        lambda db, planted: (
            decrypt_json(db.session.get(WebhookEndpoint, planted.endpoint_id).secret_encrypted)
            != {"secret": "s"}
        ),
    ),
    Confirm(
        "webhook-endpoint",
        "/outbound-webhooks/{endpoint_id}",
        _button("Delete"),
        "Delete this endpoint and its delivery log?",
        _gone(WebhookEndpoint),
    ),
    Confirm(
        "outbox",
        "/outbox/",
        _button("Clear outbox"),
        "Delete every message in the Outbox?",
        _gone(OutboxMessage),
    ),
    Confirm(
        "campaign",
        "/campaigns/{scheduled_id}",
        _button("Cancel campaign"),
        f"Cancel “{EVIL_NAME}”? Emails not sent yet will never be sent.",  # the name, as text
        lambda db, planted: db.session.get(Campaign, planted.scheduled_id).status == "cancelled",
    ),
]


@pytest.mark.parametrize("confirm", CONFIRMS, ids=str)
def test_confirmation_dismissed_sends_nothing_and_accepted_sends_the_form(
    confirm: Confirm, admin_page: Page, watch, planted, db
):
    admin_page.goto(confirm.path.format(**asdict(planted)))
    button = confirm.button(admin_page)
    posts = len(watch.posts)

    watch.answer = False
    button.click()
    assert watch.dialogs == [("confirm", confirm.question)]

    watch.answer = True
    if confirm.htmx:
        with admin_page.expect_response(lambda r: r.request.method == "POST"):
            button.click()
    else:
        with admin_page.expect_navigation():
            button.click()
    assert watch.dialogs == [("confirm", confirm.question)] * 2
    assert len(watch.posts) == posts + 1, "only the accepted confirmation sent the form"
    db.session.commit()  # a fresh snapshot
    db.session.expire_all()
    assert confirm.done(db, planted)
    watch.assert_quiet(confirms=(confirm.question,))
