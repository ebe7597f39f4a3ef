"""Issue 18's "done when", as a new user does it: a template from a starter, changed in the
visual editor, a campaign launched with it, and the Outbox showing the responsive email with
the change; then the campaign's own copy of the email, changed again and sent again."""

from __future__ import annotations

import email
import email.policy
import re

from playwright.sync_api import Page, expect

from mailer.models import Campaign, Channel, Identity, OutboxMessage, Template
from tests.e2e.designer import canvas
from tests.e2e.pages import Layout, log_in
from tests.factories import make_list, make_user

CHANGED = "Our picnic is on Saturday"


def _outbox_html(db, to: str) -> str:
    db.session.rollback()  # a fresh snapshot (MariaDB: repeatable read)
    message = db.session.scalar(db.select(OutboxMessage).filter_by(to_email=to))
    assert message is not None, f"nothing in the Outbox for {to}"
    parsed = email.message_from_string(message.raw, policy=email.policy.default)
    return parsed.get_body(("html",)).get_content()


def _edit_first_text(page: Page, words: str) -> None:
    text = canvas(page).locator("[data-gjs-type=mj-text]").first
    text.dblclick()  # inline editing
    editable = canvas(page).locator("[data-gjs-type=mj-text] [contenteditable=true]")
    editable.press("Control+a")
    editable.press_sequentially(words)


def _launch(page: Page, list_id: int, layout: Layout) -> int:
    """Step 2 of a campaign whose step 1 is saved: the list, the sandbox row, launch now."""
    assert page.url.endswith("/setup"), page.url
    campaign_id = int(re.search(r"/campaigns/(\d+)/setup", page.url).group(1))
    page.locator("select[name=list_id]").select_option(str(list_id))
    page.locator("form[action$='/audiences'] button[type=submit]").click()
    expect(page.locator("#estimate strong").first).to_have_text("2")
    if page.locator("#channel-rows fieldset").count() == 0:
        page.locator("button[name=add_row]").click()
    row = page.locator("#channel-rows fieldset").first
    for name, text in (("identity_id", "news@example.com"), ("channel_id", "Sandbox")):
        select = row.locator(f"select[name$={name}]")
        select.select_option(select.locator("option", has_text=text).get_attribute("value"))
    layout.check()
    with page.expect_navigation():
        page.locator("button[name=action][value=launch]").click()
    expect(page.locator("#live .badge-completed")).to_be_visible(timeout=30_000)
    return campaign_id


def test_a_starter_changed_visually_is_sent_as_a_responsive_email(journey, db):
    page, layout = journey()  # the app and a worker as processes: the campaign really sends
    log_in(page, make_user("admin").email)
    db.session.add(Identity(name="News", from_email="news@example.com", from_name="News"))
    db.session.add(Channel(name="Sandbox", provider="sandbox", settings={}))
    db.session.commit()
    people = make_list(db, "Friends", ["ana@example.com", "bob@example.com"])

    # A template from the gallery's newsletter, its first text changed in the canvas.
    page.goto("/templates/")
    with page.expect_navigation():
        page.get_by_role("button", name="New template").click()
    layout.check()
    card = page.locator("#starter-newsletter")
    card.get_by_label("Template name").fill("March newsletter")
    with page.expect_navigation():
        card.get_by_role("button", name="Use this starter").click()
    expect(canvas(page).locator("[data-gjs-type=mj-text]").first).to_be_visible()
    _edit_first_text(page, CHANGED)
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("“March newsletter” saved.")
    layout.check()
    db.session.rollback()
    template = db.session.scalar(db.select(Template).filter_by(name="March newsletter"))
    assert template.editor == "visual" and CHANGED in template.source
    assert "<mj-preview>What is new this month" in template.source  # the head is kept

    # A campaign with it, launched through the sandbox channel.
    page.goto("/campaigns/new")
    page.locator("input[name=name]").fill("March")
    page.locator("select[name=template_id]").select_option(label="March newsletter")
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft and continue").click()
    _launch(page, people.id, layout)

    html = _outbox_html(db, "ana@example.com")
    assert CHANGED in html
    assert "@media only screen and (min-width:480px)" in html  # MJML's responsive columns
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "/u/" in html  # the recipient's own unsubscribe link

    # The Outbox shows it; then the campaign's own copy, changed again, goes out once more.
    page.goto("/outbox/")
    expect(page.locator("main")).to_contain_text("ana@example.com")
    layout.check()
    page.goto("/campaigns/new")  # a second campaign, its email its own copy of the template
    page.locator("input[name=name]").fill("April")
    page.locator("select[name=template_id]").select_option(label="March newsletter")
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft and continue").click()
    page.goto(page.url.replace("/setup", "/content"))
    expect(page.locator("hgroup")).to_contain_text("start from a copy")
    _edit_first_text(page, "Rain date: Sunday")
    layout.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save the email").click()
    expect(page.locator(".flash-success")).to_contain_text("is saved")
    db.session.rollback()
    db.session.refresh(template)
    assert CHANGED in template.source, "the library's template is unchanged"
    april = db.session.scalar(db.select(Campaign).filter_by(name="April"))
    assert april.template_id is None and "Rain date: Sunday" in april.html
