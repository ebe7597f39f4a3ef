"""Email previews under the Content-Security-Policy (issue 16, item 4).

A sandboxed ``srcdoc`` frame inherits the policy of the page around it, so the pages that show
emails (template editor, Outbox) allow inline styles: an email looks as its recipient sees it,
while its scripts stay stopped by the sandbox.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from mailer.models import OutboxMessage, Template

STYLED = (
    "<style>p { color: rgb(255, 0, 0) }</style>"
    '<p style="font-size: 30px">Hi</p><script>__xss("email")</script>'
)


def _email_style(page: Page) -> str:
    frame = page.locator("iframe.email-frame").element_handle().content_frame()
    return frame.evaluate(
        "() => { const s = getComputedStyle(document.querySelector('p'));"
        " return s.color + ' ' + s.fontSize; }"
    )


@pytest.mark.parametrize("where", ["template", "outbox"])
def test_an_email_preview_keeps_its_styles_and_runs_no_script(where, admin_page, watch, db):
    if where == "template":
        row = Template(name="Styled", subject="Hi", html=STYLED)
    else:
        raw = f"Subject: Hi\r\nTo: a@example.com\r\nContent-Type: text/html\r\n\r\n{STYLED}\r\n"
        row = OutboxMessage(to_email="a@example.com", subject="Hi", message_id="<1@x>", raw=raw)
    db.session.add(row)
    db.session.commit()
    admin_page.goto(f"/templates/{row.id}" if where == "template" else f"/outbox/{row.id}")
    assert _email_style(admin_page) == "rgb(255, 0, 0) 30px"
    watch.assert_quiet()
