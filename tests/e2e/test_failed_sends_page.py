"""The failed-sends page in a browser at 1400 and 390 px: filters, a row retried with htmx,
"retry all shown" behind its confirmation, the unconfirmed tab; nothing wider than the
screen, no console error or policy violation."""

from __future__ import annotations

from mailer.models import Campaign
from mailer.models.base import utcnow
from tests.e2e.pages import Layout, log_in
from tests.factories import make_channel, make_sent_campaign, make_user

LONG = (
    "550 5.1.1 <a.very.long.address.for.a.test@subdomain.example.com>: Recipient address "
    "rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)"
)


def test_the_failed_sends_page_retries_in_the_browser(db, page, watch, request):
    channel = make_channel(db, "sandbox")
    emails = [f"person.number.{i}@subdomain.example.com" for i in range(4)]
    sent = make_sent_campaign(db, channel, emails)
    campaign = db.session.get(Campaign, sent.campaign_id)
    campaign.name, campaign.started_at, campaign.finished_at = "Spring sale", utcnow(), utcnow()
    for i, email in enumerate(emails):
        send = sent.sends[email]
        send.failed_at, send.attempts = utcnow(), 1 + i
        if i == 3:
            send.status, send.error = "in_doubt", "worker stopped while the provider had it"
        else:
            send.status = "failed"
            send.error = LONG if i == 0 else f"gave up after 5 attempts: 503 busy ({i})"
    db.session.commit()
    log_in(page, make_user("marketer").email)
    layout = Layout(page, watch, request.node.name)

    page.goto(f"/campaigns/{campaign.id}")
    page.get_by_role("link", name="See the failed sends and why").click()
    page.wait_for_url(f"**/campaigns/{campaign.id}/failed?state=failed")
    layout.check()
    rows = page.locator("table.failed-sends tbody tr")
    assert rows.count() == 3

    first = rows.filter(has_text=emails[0])
    first.get_by_role("button", name="Retry").click()
    page.get_by_text(f"The email to {emails[0]} is queued again.").wait_for()
    assert rows.count() == 2

    page.get_by_role("link", name="Not sure they were sent (1)").click()
    page.get_by_role("button", name="Send again anyway").wait_for()
    layout.check()
    watch.answer = True
    page.get_by_role("button", name="Send the 1 email shown again anyway").click()
    page.get_by_text("1 email is queued again.").wait_for()
    watch.assert_quiet(
        confirms=("Send 1 email again anyway? Recipients who already got it get a second copy.",)
    )
