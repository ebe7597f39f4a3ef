"""The preference centre and the public archive in a browser, at 1400 and 390 px: a person
changes their lists and name on a phone, and the archive reads without sideways scrolling."""

from __future__ import annotations

from mailer.models import MailingList, Subscriber
from tests.e2e.pages import Layout


def _public(db, mailing_list: MailingList, name: str, description: str) -> None:
    mailing_list.public, mailing_list.public_name = True, name
    mailing_list.public_description = description
    db.session.commit()


def test_a_person_changes_their_preferences_on_a_phone(db, page, watch, send_campaign, request):
    sent = send_campaign(["ann.lee@example.com"], list_name="Internal: leads")
    own = db.session.get(MailingList, sent.campaign.audiences[0].list_id)
    _public(db, own, "Spring news", "New arrivals, once a month")
    other = MailingList(name="Internal: partners")
    db.session.add(other)
    db.session.commit()
    _public(db, other, "Partner offers", "Hand-picked offers from our partners, now and then")
    layout = Layout(page, watch, request.node.name)

    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"/p/{sent['ann.lee@example.com'].token}")
    layout.check()
    page.set_viewport_size({"width": 390, "height": 900})
    page.locator(f"#list-{own.id}").uncheck()
    page.locator(f"#list-{other.id}").check()
    page.locator("#first_name").fill("Ann")
    page.locator("#last_name").fill("Lee")
    page.locator("form[action$='/p/" + sent["ann.lee@example.com"].token + "'] button").click()
    page.locator(".prefs-notice[role=status]").wait_for()
    assert page.locator(f"#list-{other.id}").is_checked()
    assert not page.locator(f"#list-{own.id}").is_checked()
    layout.check()
    db.session.commit()
    rows = {s.list_id: s for s in db.session.scalars(db.select(Subscriber))}
    assert rows[own.id].status == "unsubscribed" and rows[other.id].status == "subscribed"
    assert rows[other.id].first_name == "Ann"
    assert "Internal" not in page.content()
    watch.assert_quiet()


def test_the_archive_reads_on_a_phone(db, page, watch, send_campaign, request):
    for n in range(3):
        send_campaign([f"p{n}@example.com"], subject=f"Spring letter no. {n + 1}", public=True)
    layout = Layout(page, watch, request.node.name)
    page.goto("/archive")
    layout.check()
    link = page.get_by_role("link", name="Spring letter no. 2")
    issue = page.context.new_page()  # the issue itself is the marketer's HTML, sandboxed
    answer = issue.goto(link.get_attribute("href"))
    assert answer.status == 200
    body = answer.text()
    assert "Hi Jane!" in body and "/t/o/" not in body  # the sample person, no open pixel
    issue.close()
    watch.assert_quiet()
