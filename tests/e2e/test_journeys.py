"""A newcomer's first campaign and a viewer's look around, in a real browser against real
processes (issue 19): `flask run` and a worker on the test's database, campaign emails through
a local SMTP server, test sends into the Outbox. Every page visited is checked at a desktop's
and a phone's width (tests/e2e/conftest.py, Layout).

Elements are found by role, name, id or href: the wording of the pages changes and is
translated, their structure much less.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from mailer.models import Channel, Identity, OutboxMessage, Segment, Subscriber
from tests.e2e.pages import log_in
from tests.factories import GOOD_HTML, make_list, make_sent_campaign, make_template, make_user
from tests.factories import smtp_channel as make_smtp_channel

PARIS = [f"paris{i}@example.com" for i in range(8)]
CSV = "email,first_name,city\n" + "".join(
    [f"{email},P{i},Paris\n" for i, email in enumerate(PARIS)]
    + ["lyon0@example.com,L0,Lyon\n", "lyon1@example.com,L1,Lyon\n"]
)
RAW = "Subject: Hi\r\nTo: ann@example.com\r\nContent-Type: text/html\r\n\r\n<p>Hi</p>\r\n"
TEMPLATE_HTML = GOOD_HTML.replace("Hi", "<h1>Spring news</h1>Hi")


def _sending_setup(db, smtp_sink) -> None:
    """What an admin set up before the newcomer came: a sender, a sandbox channel (its emails
    stop in the Outbox) and an SMTP channel, both slow enough to watch a send move."""
    db.session.add(Identity(name="News", from_email="news@example.com", from_name="News"))
    db.session.add(Channel(name="Sandbox", provider="sandbox", settings={}, rate_per_second=1))
    db.session.commit()
    smtp = make_smtp_channel(db, smtp_sink, rate_per_second=1)
    smtp.name = "Office SMTP"
    db.session.commit()


def _submit(page: Page, form: str, **expect_nav) -> None:
    """Press the first submit button people see in the form matching ``form``, and wait for
    the page it leads to."""
    with page.expect_navigation(**expect_nav):
        buttons = page.locator(form).locator("button[type=submit]:not([aria-hidden=true])")
        buttons.locator("visible=true").first.click()


def _choose(select, text: str) -> None:
    """Pick the option of ``select`` (a Locator) whose label contains ``text``."""
    select.select_option(select.locator("option", has_text=text).get_attribute("value"))


def _progress(page: Page) -> tuple[int, int]:
    bar = page.locator("#live progress")
    return int(float(bar.get_attribute("value"))), int(float(bar.get_attribute("max")))


def test_newcomer_sends_a_first_campaign(journey, db, smtp_sink):
    _sending_setup(db, smtp_sink)
    admin = make_user("admin")
    page, layout = journey()

    log_in(page, admin.email)
    layout.check()

    # At a phone's width the links are behind "Menu", which a keyboard opens.
    page.set_viewport_size({"width": 390, "height": 900})
    lists_link = page.locator("header nav a[href='/lists/']")
    expect(lists_link).to_be_hidden()
    page.locator("details.nav-menu > summary").focus()
    page.keyboard.press("Enter")
    expect(lists_link).to_be_visible()
    with page.expect_navigation():
        lists_link.click()
    expect(lists_link).to_be_hidden()  # the menu is closed on the next page
    layout.check()

    # A list, and a contact file imported into it.
    page.locator("form[action='/lists/'] input[name=name]").fill("Newsletter")
    _submit(page, "form[action='/lists/']")
    list_id = int(re.search(r"/lists/(\d+)", page.url).group(1))
    layout.check()
    page.locator("input[type=file][name=file]").set_input_files(
        {"name": "contacts.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    _submit(page, f"form[action='/lists/{list_id}/imports']")
    expect(page.locator(".map-column")).not_to_have_count(0)  # the mapping step
    layout.check()
    _submit(page, "#mapping-form")
    expect(page.locator(".import-progress .badge-completed")).to_be_visible()
    layout.check()
    page.reload()
    expect(page.locator("#subscriber-table")).to_contain_text("lyon1@example.com")
    layout.check()

    # A segment: the people in Paris, counted live as the condition is written.
    page.goto(f"/lists/{list_id}/segments/new")
    page.locator("input[name=name]").fill("Paris")
    row = page.locator(".condition-row").first
    row.locator("select[name=field]").select_option("attribute")
    row.locator("input[name=attribute]").fill("city")
    row.locator("select[name=op]").select_option("eq")
    row.locator("input[name=value]").fill("Paris")
    expect(page.locator("#live-count")).to_contain_text("8")
    layout.check()
    _submit(page, "form:has(.condition-row)")
    layout.check()

    # A template.
    page.goto("/templates/new")
    page.locator("input[name=name]").fill("Spring")
    page.locator("input[name=subject]").fill("Spring news")
    page.get_by_role("radio", name="HTML code").click()  # nothing written yet: no warning
    page.locator("[data-panel=html] .cm-content").click()
    page.keyboard.insert_text(TEMPLATE_HTML)  # as pasted into the code editor
    _submit(page, "form:has(textarea[name=html])")
    assert re.search(r"/templates/\d+$", page.url), page.url
    layout.check()

    # Step 1: name, template, subject.
    page.goto("/campaigns/new")
    layout.check()
    page.locator("input[name=name]").fill("Spring campaign")
    _choose(page.locator("select[name=template_id]"), "Spring")
    page.locator("input[name=subject]").fill("Spring news")
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft and continue").click()
    assert page.url.endswith("/setup"), page.url
    campaign_id = int(re.search(r"/campaigns/(\d+)/setup", page.url).group(1))
    layout.check()

    # Step 2: the segment as audience, two channel rows, a test, the launch.
    page.locator("select[name=list_id]").select_option(str(list_id))
    # The list's own segments replace every list's (grouped) once htmx fetched them.
    expect(page.locator("#segment-select optgroup")).to_have_count(0)
    _choose(page.locator("#segment-select"), "Paris")
    page.locator("form[action$='/audiences'] button[type=submit]").click()
    expect(page.locator("#audience table")).to_contain_text("Newsletter")
    expect(page.locator("#estimate strong").first).to_have_text("8")
    layout.check()
    if page.locator("#channel-rows fieldset").count() == 0:
        page.locator("button[name=add_row]").click()
        expect(page.locator("#channel-rows fieldset")).to_have_count(1)
    page.locator("button[name=add_row]").click()
    expect(page.locator("#channel-rows fieldset")).to_have_count(2)
    for n, channel in enumerate(("Sandbox", "Office SMTP")):
        row = page.locator("#channel-rows fieldset").nth(n)
        _choose(row.locator("select[name$=identity_id]"), "news@example.com")
        _choose(row.locator("select[name$=channel_id]"), channel)
    # The sandbox row (first: test sends go through it) mails one recipient, SMTP the others.
    page.locator("#channel-rows fieldset").first.locator("input[name$=daily_max]").fill("1")
    layout.check()
    page.locator("input[name=test_to]").fill("me@example.com")
    page.locator("button[name=send_test]").click()
    expect(page.locator(".test-answers li.ok")).to_contain_text("me@example.com")
    layout.check()
    with page.expect_navigation():
        page.locator("button[name=action][value=launch]").click()
    assert page.url.endswith(f"/campaigns/{campaign_id}"), page.url
    layout.check()

    # The progress moves while the page stays: htmx swaps it in, no reload.
    page.evaluate("window.__samePage = true")
    page.wait_for_function(
        "() => { const bar = document.querySelector('#live progress');"
        " return bar && +bar.value > 0 && +bar.value < +bar.max; }"
    )
    assert page.evaluate("window.__samePage") is True
    _submit(page, f"form[action='/campaigns/{campaign_id}/pause']")
    expect(page.locator(f"form[action='/campaigns/{campaign_id}/resume']")).to_be_visible()
    paused_at, total = _progress(page)
    assert 0 < paused_at < total == len(PARIS)
    layout.check()
    _submit(page, f"form[action='/campaigns/{campaign_id}/resume']")
    page.wait_for_function(
        "() => { const bar = document.querySelector('#live progress');"
        " return bar && +bar.value === +bar.max; }"
    )
    expect(page.locator("#live .badge-completed")).to_be_visible()
    layout.check()

    # The report, the Outbox (the test and the sandbox row's email), an email in it.
    page.goto(f"/reports/campaigns/{campaign_id}")
    expect(page.locator("h1")).to_contain_text("Spring campaign")
    layout.check()
    with page.expect_navigation():
        page.locator("header nav a[href='/outbox/']").click()
    expect(page.locator("main")).to_contain_text("[Test]")
    layout.check()
    db.session.commit()  # a fresh snapshot (MariaDB reads are repeatable within a transaction)
    in_outbox = db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage))
    assert in_outbox == 2, "the test, and the sandbox row's one email"
    page.locator("main a[href^='/outbox/']").first.click()
    expect(page.locator("iframe")).to_be_attached()
    layout.check()

    # A recipient follows the unsubscribe link of the email the SMTP server received.
    mail = smtp_sink.messages[0]
    html = mail.message().get_body(("html",)).get_content()
    link = re.search(r'href="([^"]+)"[^>]*>Unsubscribe<', html).group(1)
    recipient, recipient_layout = journey()
    recipient.goto(link)
    recipient_layout.check()
    _submit(recipient, "main form")
    recipient_layout.check()
    db.session.commit()  # a fresh snapshot
    (who,) = mail.rcpt_tos
    subscriber = db.session.scalar(db.select(Subscriber).filter_by(email=who))
    assert subscriber.status == "unsubscribed"
    assert subscriber.list_id == list_id


# Pages a viewer reads: {ids} are filled in from the rows of _viewer_rows.
VIEWER_PAGES = [
    "/",
    "/campaigns/",
    "/campaigns/{campaign_id}",
    "/reports/campaigns/{campaign_id}",
    "/lists/",
    "/lists/{list_id}",
    "/lists/{list_id}/segments/",
    "/lists/{list_id}/segments/{segment_id}",
    "/templates/",
    "/templates/{template_id}",
    "/senders/",
    "/suppressions/",
    "/outbox/",
    "/outbox/{message_id}",
]
SUBSCRIBER_PAGE = "/lists/{list_id}/subscribers/{subscriber_id}"

# The labels of a page's buttons that would send a change (a POST other than a preview).
_CHANGES = """() => [...document.querySelectorAll("main button, main input[type=submit]")]
  .filter((b) => b.type === "submit" && b.form && b.checkVisibility())
  .filter((b) => (b.getAttribute("formmethod") || b.form.method) === "post")
  .filter((b) => !/preview/.test(b.getAttribute("hx-post") || b.formAction))
  .map((b) => b.textContent.trim() || b.value)"""


def _viewer_rows(db, smtp_sink) -> dict[str, int]:
    """A sent campaign (it has a report), a list with a subscriber and a segment, a template,
    an Outbox message: the ids VIEWER_PAGES need."""
    channel = make_smtp_channel(db, smtp_sink)
    sent = make_sent_campaign(db, channel, ["ann@example.com", "bob@example.com"])
    mailing_list = make_list(db, "Members", ["cid@example.com"])
    template = make_template(db)
    segment = Segment(list_id=mailing_list.id, name="Everyone", conditions=[])
    message = OutboxMessage(to_email="ann@example.com", subject="Hi", message_id="<1@x>", raw=RAW)
    db.session.add_all([segment, message])
    db.session.commit()
    subscriber_id = db.session.scalar(db.select(Subscriber.id).filter_by(list_id=mailing_list.id))
    return {
        "campaign_id": sent.campaign_id,
        "list_id": mailing_list.id,
        "subscriber_id": subscriber_id,
        "segment_id": segment.id,
        "template_id": template.id,
        "message_id": message.id,
    }


def test_viewer_reads_every_page_and_is_offered_no_change(journey, db, smtp_sink):
    ids = _viewer_rows(db, smtp_sink)
    page, layout = journey()
    log_in(page, make_user("viewer").email)
    layout.check()
    # In English, then in French (longer words: the phone layout must hold them too).
    for language in ("en", "fr"):
        page.set_extra_http_headers({"Accept-Language": language})
        offered = {}
        for path in VIEWER_PAGES:
            page.goto(path.format(**ids))
            assert page.locator("html").get_attribute("lang") == language
            layout.check()
            offered[path] = page.evaluate(_CHANGES)
        assert offered == {path: [] for path in VIEWER_PAGES}, language
    # Settings are for admins: not in the menu, and refused when asked for directly.
    expect(page.locator("header .settings-menu")).to_have_count(0)
    assert page.goto("/channels/").status == 403


def test_viewer_is_offered_no_change_on_a_subscriber(page, watch, db, smtp_sink):
    ids = _viewer_rows(db, smtp_sink)
    log_in(page, make_user("viewer").email)
    page.goto(SUBSCRIBER_PAGE.format(**ids))
    assert page.evaluate(_CHANGES) == []
