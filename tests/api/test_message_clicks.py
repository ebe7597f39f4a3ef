# ruff: noqa: F811  (imported fixtures used as test arguments)
"""Click tracking for transactional messages: links rewritten when the drain job sends, the
redirect goes only to a recorded URL, and the click shows on the message (status, event)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mailer.engine.tracking import flush
from mailer.engine.tracking import links as tracking_links
from mailer.lib import tokens
from mailer.models import Template
from mailer.models.base import utcnow
from mailer.models.campaigns import Message, MessageLink
from tests.fixtures.api import BROWSER, error_paths, run, send, shown

pytestmark = pytest.mark.usefixtures("quick_drain")

HTML = (
    "<html><body>\n"
    '<p><a class="b" href="https://shop.example.com/item?id=1&amp;ref=mail">Buy</a></p>\n'
    "<p><a href='http://example.org/plain'>Plain</a> and again "
    '<A HREF="https://shop.example.com/item?id=1&amp;ref=mail">Buy</A></p>\n'
    '<p><a href="mailto:help@example.com">Mail us</a> <a href="/relative">Rel</a> '
    '<a href="#top">Top</a> <a href="tel:+123">Call</a></p>\n'
    "</body></html>"
)
TRACKED = ("https://shop.example.com/item?id=1&ref=mail", "http://example.org/plain")


@pytest.fixture(params=["direct", "buffered"])
def mode(request, app):
    """Both ways a click is answered: the Flask view (direct write) or the fast path."""
    app.config["MAILER_TRACKING_BUFFER"] = request.param == "buffered"
    return request.param


def received(brevo, n: int = -1) -> str:
    return brevo.requests[n].json["htmlContent"]


def click_paths(html: str) -> list[str]:
    return re.findall(r'href="http://[^"/]+(/t/c/[^"]+)"', html, re.I)


def link_id_of(path: str) -> int:
    """The link id of "/t/c/<token>/<link id>-<mac>"."""
    return int(path.rsplit("/", 1)[1].split("-")[0])


def click(token: str, link_id: int) -> str:
    """The click path the app signs for this token and link."""
    return tracking_links.click_url("", token, link_id, tokens.link_key())


def sent_a_while_ago(db, message_id: int) -> None:
    """People click later than the security gateways that follow links on arrival."""
    db.session.execute(
        db.update(Message).values(sent_at=utcnow() - timedelta(minutes=5)).filter_by(id=message_id)
    )
    db.session.commit()


def flushed(mode: str) -> None:
    if mode == "buffered":
        flush.flush()


def test_links_are_rewritten_and_the_rest_is_unchanged(app, db, api, brevo, channel):
    message_id = send(api, html=HTML)
    run(app, db)
    html = received(brevo)
    token = tokens.make(tokens.MESSAGE, message_id)
    links = dict(db.session.execute(db.select(MessageLink.url, MessageLink.id)).all())
    assert sorted(links) == sorted(TRACKED), "one row per distinct URL"
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    shop, plain = (base + click(token, links[url]) for url in TRACKED)
    expected = (
        HTML.replace('"https://shop.example.com/item?id=1&amp;ref=mail"', f'"{shop}"')
        .replace("'http://example.org/plain'", f'"{plain}"')
        .replace("</body>", "", 1)
    )
    # Byte for byte the same apart from the hrefs (and the open pixel before </body>).
    assert html.startswith(expected.removesuffix("</html>"))
    assert html.endswith("</body></html>") and "/t/o/" in html
    assert "mailto:help@example.com" in html and 'href="/relative"' in html

    # A second message reuses the recorded links.
    second = send(api, html=HTML)
    run(app, db)
    assert db.session.scalar(db.select(db.func.count()).select_from(MessageLink)) == 2
    second_token = tokens.make(tokens.MESSAGE, second)
    assert click_paths(received(brevo)) == [
        click(second_token, links[TRACKED[0]]),
        click(second_token, links[TRACKED[1]]),
        click(second_token, links[TRACKED[0]]),
    ]


def test_a_click_redirects_and_marks_the_message_clicked(
    app, db, client, api, brevo, channel, mode
):
    message_id = send(api, html=HTML)
    run(app, db)
    sent_a_while_ago(db, message_id)
    path = click_paths(received(brevo))[0]

    scanner = client.get(path, headers={"User-Agent": "Mimecast link scanner"})
    assert scanner.status_code == 302
    flushed(mode)
    message = shown(api, message_id)
    assert message["status"] == "sent" and message["clicked_at"] is None

    response = client.get(path, headers={"User-Agent": BROWSER})
    assert response.status_code == 302
    assert response.headers["Location"] == TRACKED[0]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    flushed(mode)
    message = shown(api, message_id)
    assert message["status"] == "clicked" and message["clicked_at"]
    clicks = [e for e in message["events"] if e["type"] == "click"]
    assert [(e["machine"], e["data"]["url"]) for e in clicks] == [
        (True, TRACKED[0]),
        (False, TRACKED[0]),
    ]
    assert clicks[1]["data"]["link_id"] == link_id_of(path)
    listed = api.get("/api/v1/messages?status=clicked").json["data"]
    assert [m["id"] for m in listed] == [message_id]


def test_bad_tokens_and_unknown_links_get_no_redirect(app, db, client, api, brevo, channel, mode):
    message_id = send(api, html=HTML)
    run(app, db)
    path = click_paths(received(brevo))[0]
    token, link = path.split("/")[3], path.split("/")[4]
    tampered = tokens.make(tokens.MESSAGE, message_id + 1).split(".")[1]
    unknown = max(db.session.scalars(db.select(MessageLink.id))) + 1
    for bad in (
        f"/t/c/{token.split('.')[0]}.{tampered}/{link}",  # signature of another message
        f"/t/c/{token[:-2]}xx/{link}",
        f"/t/c/m{message_id}/{link}",
        click(token, unknown),
        click(token, 0),
        f"/t/c/{token}/99999999999999999999999999",
        f"/t/c/{token}/{link}%2F%2Fevil.example",
    ):
        response = client.get(bad, headers={"User-Agent": BROWSER})
        assert response.status_code == 404, bad
        assert "Location" not in response.headers, bad
        if "%2F" not in bad and not bad.endswith("9999"):  # these match no route: the app's 404
            assert "This link is not valid" in response.text, bad
    if mode == "buffered":
        assert flush.pending() == 0
    assert not [e for e in shown(api, message_id)["events"] if e["type"] == "click"]


def test_the_text_part_is_tracked_with_the_same_links(app, db, client, api, brevo, channel):
    text = "Buy: https://shop.example.com/item?id=1&ref=mail.\nHelp: mailto:help@example.com"
    message_id = send(api, html=HTML, text=text)
    text_only = send(api, text="Plain: http://example.org/plain")
    run(app, db)
    links = dict(db.session.execute(db.select(MessageLink.url, MessageLink.id)).all())
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    both, alone = (r.json["textContent"] for r in brevo.requests)
    shop = click(tokens.make(tokens.MESSAGE, message_id), links[TRACKED[0]])
    assert both == f"Buy: {base}{shop}.\nHelp: mailto:help@example.com"
    assert shop in click_paths(brevo.requests[0].json["htmlContent"]), "the HTML's link row"
    plain = click(tokens.make(tokens.MESSAGE, text_only), links[TRACKED[1]])
    assert alone == f"Plain: {base}{plain}"
    response = client.get(plain, headers={"User-Agent": BROWSER})
    assert response.status_code == 302 and response.headers["Location"] == TRACKED[1]


def test_track_clicks_false_leaves_links_alone(app, db, api, brevo, channel):
    send(api, html=HTML, track_clicks=False)
    text = "See https://shop.example.com/x"
    send(api, html=HTML, text=text, track_clicks=False, track_opens=False)
    run(app, db)
    with_pixel, bare = (r.json["htmlContent"] for r in brevo.requests)
    assert "/t/c/" not in with_pixel and "/t/o/" in with_pixel
    assert bare == HTML
    assert brevo.requests[1].json["textContent"] == text
    assert db.session.scalar(db.select(db.func.count()).select_from(MessageLink)) == 0


def test_track_clicks_must_be_a_boolean(api, channel):
    answer = api.post(
        "/api/v1/messages",
        json={"to": "jane@example.com", "subject": "Hi", "html": "<p>x</p>", "track_clicks": 1},
    )
    assert error_paths(answer) == ["$.track_clicks"]


def test_a_campaign_link_id_is_not_a_message_link(app, db, client, api, brevo, channel, mode):
    """Message and campaign links are separate tables: a message token never reaches a
    campaign's URL, whatever the id."""
    message_id = send(api, html='<a href="https://recorded.example/">r</a>')
    run(app, db)
    token = tokens.make(tokens.MESSAGE, message_id)
    send_token = tokens.make(tokens.CAMPAIGN_SEND, message_id)
    link_id = link_id_of(click_paths(received(brevo))[0])
    assert client.get(click(send_token, link_id)).status_code == 404
    assert client.get(click(token, link_id)).status_code == 302


# ------------------------------------------------------------------ issue 16, item 2


RESET = "https://app.example.com/reset?token=jane-secret-4711"


def test_a_message_token_never_reaches_another_messages_link(
    app, db, client, api, brevo, channel, mode
):
    """Mallory's message token with the link id of Jane's password reset: the invalid-link
    page, never a redirect, however the link id is written."""
    jane = send(api, "jane@example.com", html=f'<a href="{RESET}">Reset your password</a>')
    run(app, db)
    jane_path = click_paths(received(brevo))[0]
    mallory = send(api, "mallory@example.com", html='<a href="https://app.example.com/">Home</a>')
    run(app, db)
    sent_a_while_ago(db, jane)
    sent_a_while_ago(db, mallory)
    token = tokens.make(tokens.MESSAGE, mallory)
    jane_link = jane_path.rsplit("/", 1)[1]
    jane_id = link_id_of(jane_path)
    for path in (
        f"/t/c/{token}/{jane_id}",
        f"/t/c/{token}/{jane_link}",  # Jane's MAC
        f"/t/c/{token}/{jane_id}-{'0' * 16}",
    ):
        response = client.get(path, headers={"User-Agent": BROWSER})
        assert response.status_code == 404, path
        assert "Location" not in response.headers, path
        assert "This link is not valid" in response.text, path
    # Every recorded link id with Mallory's token: only her own resolves.
    reached = []
    for link_id in db.session.scalars(db.select(MessageLink.id)):
        response = client.get(f"/t/c/{token}/{link_id}", headers={"User-Agent": BROWSER})
        if response.status_code == 302:
            reached.append(response.headers["Location"])
    assert reached == ["https://app.example.com/"]
    response = client.get(jane_path, headers={"User-Agent": BROWSER})
    assert response.status_code == 302 and response.headers["Location"] == RESET
    flushed(mode)
    assert shown(api, mallory)["clicked_at"] is not None  # her own link, unsigned
    clicks = [e for e in shown(api, jane)["events"] if e["type"] == "click"]
    assert [c["data"]["url"] for c in clicks] == [RESET], "only Jane's own click"


def test_unsigned_links_of_older_messages_resolve_only_when_provably_in_the_message(
    app, db, client, api, brevo, channel, mode
):
    """Mail sent before links were signed: a message's own HTML proves its links; a template
    message's links are proved by rendering the template again, only while it is unchanged."""
    template = Template(
        name="Reset",
        subject="Reset",
        html='<a href="{{ reset_url }}">Reset</a> <a href="https://app.example.com/help">Help</a>',
    )
    db.session.add(template)
    db.session.commit()
    raw = send(api, "jane@example.com", html=f'<a href="{RESET}">Reset</a>')
    answer = api.post(
        "/api/v1/messages",
        json={
            "to": "joe@example.com",
            "template_id": template.id,
            "variables": {"reset_url": "https://app.example.com/reset?token=joe-secret"},
        },
    )
    assert answer.status_code == 202, answer.json
    templated = answer.json["id"]
    run(app, db)
    links = dict(db.session.execute(db.select(MessageLink.url, MessageLink.id)).all())
    raw_token, tpl_token = (tokens.make(tokens.MESSAGE, i) for i in (raw, templated))

    def status(token, url):
        response = client.get(f"/t/c/{token}/{links[url]}", headers={"User-Agent": BROWSER})
        if response.status_code == 302:
            assert response.headers["Location"] == url
        else:
            assert "This link is not valid" in response.text
        return response.status_code

    joe_reset = "https://app.example.com/reset?token=joe-secret"
    help_url = "https://app.example.com/help"
    assert status(raw_token, RESET) == 302
    assert status(tpl_token, joe_reset) == 302
    assert status(tpl_token, help_url) == 302
    assert status(raw_token, joe_reset) == 404
    assert status(raw_token, help_url) == 404
    assert status(tpl_token, RESET) == 404

    # The template changed since: the old message can no longer be proved.
    sent_at = db.session.get(Message, templated).sent_at
    db.session.execute(
        db.update(Template)
        .filter_by(id=template.id)
        .values(html="<p>New</p>", updated_at=sent_at + timedelta(seconds=1))
    )
    db.session.commit()
    assert status(tpl_token, joe_reset) == 404
    assert status(tpl_token, help_url) == 404
