"""People in a real browser (issue 21): a bulk action on every match of a search runs as a job
with a live progress bar; one on ticked rows is done at once; the pages fit a phone."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from mailer.models import Event, Link, Subscriber
from mailer.queue import IMPORTS
from tests.e2e.pages import Layout
from tests.factories import make_channel, make_list, make_sent_campaign
from tests.fixtures.app import work

CONFIRM = "Apply this action? It cannot be undone."


def test_a_bulk_unsubscribe_of_every_match_shows_its_progress_and_result(
    app, admin_page: Page, watch, db, request
):
    watch.answer = True  # OK to the confirmation
    layout = Layout(admin_page, watch, request.node.name)
    news = make_list(db, "News", [f"ann{i}@example.com" for i in range(3)])
    make_list(db, "Other", ["ann0@example.com", "bob@example.com"])
    db.session.scalar(select(Subscriber).filter_by(list_id=news.id)).attributes = {
        "city": "Montréal",
        "plan": "pro",
    }
    db.session.commit()

    admin_page.goto("/people/")
    admin_page.get_by_label("Search", exact=True).fill("ann")
    admin_page.get_by_role("button", name="Search").click()
    expect(admin_page.locator("#results")).to_contain_text("ann2@example.com")
    expect(admin_page.locator("#results")).not_to_contain_text("bob@example.com")
    layout.check()

    admin_page.get_by_label("every match of this search").check()
    admin_page.get_by_label("Action").select_option("unsubscribe")
    with admin_page.expect_navigation():
        admin_page.locator("#apply-bulk").click()
    expect(admin_page.locator(".bulk-progress")).to_contain_text("waiting to start")
    admin_page.evaluate("window.stillTheSamePage = true")

    work(app, IMPORTS)  # the job runs while the page is open

    expect(admin_page.locator(".bulk-progress")).to_contain_text(
        "4 subscriptions ended.", timeout=15_000
    )
    expect(admin_page.locator(".bulk-progress[hx-trigger]")).to_have_count(0)  # polling stopped
    assert admin_page.evaluate("window.stillTheSamePage") is True
    layout.check()
    db.session.rollback()  # a fresh snapshot: the app committed in its own process
    statuses = dict(db.session.execute(select(Subscriber.email, Subscriber.status)).all())
    assert statuses["bob@example.com"] == "subscribed"
    assert {statuses[f"ann{i}@example.com"] for i in range(3)} == {"unsubscribed"}

    # a profile: every list of the address, its attributes as fields, its activity
    sent = make_sent_campaign(db, make_channel(db, "sandbox"), ["ann0@example.com"])
    send = sent.sends["ann0@example.com"]
    link = Link(campaign_id=sent.campaign_id, url="https://shop.example/sale", url_hash="a" * 64)
    db.session.add(link)
    db.session.flush()
    db.session.add_all(
        [
            Event(type="open", campaign_id=sent.campaign_id, send_id=send.id),
            Event(type="click", campaign_id=sent.campaign_id, send_id=send.id, link_id=link.id),
        ]
    )
    db.session.commit()
    first = db.session.scalar(select(Subscriber).filter_by(list_id=news.id))
    admin_page.goto(f"/people/{first.id}")
    expect(admin_page.locator("#timeline")).to_contain_text("https://shop.example/sale")
    expect(admin_page.locator("input[name=attr_name]").first).to_have_value("city")
    admin_page.get_by_role("button", name="Add a field").click()
    expect(admin_page.locator("input[name=attr_name]")).to_have_count(3)
    layout.check()
    watch.assert_quiet(confirms=(CONFIRM,))


def test_a_bulk_action_on_ticked_rows_is_done_at_once(admin_page: Page, watch, db):
    watch.answer = True
    news = make_list(db, "News", ["kim@example.com", "lee@example.com"])
    target = make_list(db, "VIP", [])
    admin_page.goto(f"/people/?list={news.id}")
    admin_page.get_by_label("Tick kim@example.com").check()
    admin_page.get_by_label("Action").select_option("add_to_list")
    admin_page.get_by_label("List for add or remove").select_option(str(target.id))
    with admin_page.expect_navigation():
        admin_page.locator("#apply-bulk").click()
    expect(admin_page.locator(".bulk-progress")).to_contain_text("1 person added.")
    db.session.rollback()  # a fresh snapshot: the app committed in its own process
    emails = db.session.scalars(select(Subscriber.email).filter_by(list_id=target.id)).all()
    assert emails == ["kim@example.com"]
    watch.assert_quiet(confirms=(CONFIRM,))
