# ruff: noqa: F811  (imported fixtures used as test arguments)
"""Click tracking for transactional messages: links rewritten when the drain job sends, the
redirect goes only to a recorded URL, and the click shows on the message (status, event)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mailer.models.base import utcnow
from mailer.models.campaigns import Message, MessageLink
from mailer.services import tokens, tracking
from tests.api.conftest import error_paths

# The sending fixtures are shared with test_transactional_send (brevo, quick_drain: conftest).
from tests.api.test_transactional_send import (  # noqa: F401
    BROWSER,
    channel,
    run,
    send,
    shown,
)

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


def sent_a_while_ago(db, message_id: int) -> None:
    """People click later than the security gateways that follow links on arrival."""
    db.session.execute(
        db.update(Message).values(sent_at=utcnow() - timedelta(minutes=5)).filter_by(id=message_id)
    )
    db.session.commit()


def flushed(mode: str) -> None:
    if mode == "buffered":
        tracking.flush()


def test_links_are_rewritten_and_the_rest_is_unchanged(app, db, api, brevo, channel):
    message_id = send(api, html=HTML)
    run(app, db)
    html = received(brevo)
    token = tokens.make(tokens.MESSAGE, message_id)
    links = dict(db.session.execute(db.select(MessageLink.url, MessageLink.id)).all())
    assert sorted(links) == sorted(TRACKED), "one row per distinct URL"
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    shop, plain = (f"{base}/t/c/{token}/{links[url]}" for url in TRACKED)
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
        f"/t/c/{second_token}/{links[TRACKED[0]]}",
        f"/t/c/{second_token}/{links[TRACKED[1]]}",
        f"/t/c/{second_token}/{links[TRACKED[0]]}",
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
    assert clicks[1]["data"]["link_id"] == int(path.rsplit("/", 1)[1])
    listed = api.get("/api/v1/messages?status=clicked").json["data"]
    assert [m["id"] for m in listed] == [message_id]


def test_bad_tokens_and_unknown_links_get_no_redirect(app, db, client, api, brevo, channel, mode):
    message_id = send(api, html=HTML)
    run(app, db)
    path = click_paths(received(brevo))[0]
    token, link_id = path.split("/")[3], int(path.split("/")[4])
    tampered = tokens.make(tokens.MESSAGE, message_id + 1).split(".")[1]
    unknown = max(db.session.scalars(db.select(MessageLink.id))) + 1
    for bad in (
        f"/t/c/{token.split('.')[0]}.{tampered}/{link_id}",  # signature of another message
        f"/t/c/{token[:-2]}xx/{link_id}",
        f"/t/c/m{message_id}/{link_id}",
        f"/t/c/{token}/{unknown}",
        f"/t/c/{token}/0",
        f"/t/c/{token}/99999999999999999999999999",
        f"/t/c/{token}/{link_id}%2F%2Fevil.example",
    ):
        response = client.get(bad, headers={"User-Agent": BROWSER})
        assert response.status_code == 404, bad
        assert "Location" not in response.headers, bad
        if "%2F" not in bad and not bad.endswith("9999"):  # these match no route: the app's 404
            assert "This link is not valid" in response.text, bad
    if mode == "buffered":
        assert tracking.pending() == 0
    assert not [e for e in shown(api, message_id)["events"] if e["type"] == "click"]


def test_the_text_part_is_tracked_with_the_same_links(app, db, client, api, brevo, channel):
    text = "Buy: https://shop.example.com/item?id=1&ref=mail.\nHelp: mailto:help@example.com"
    message_id = send(api, html=HTML, text=text)
    text_only = send(api, text="Plain: http://example.org/plain")
    run(app, db)
    links = dict(db.session.execute(db.select(MessageLink.url, MessageLink.id)).all())
    base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    both, alone = (r.json["textContent"] for r in brevo.requests)
    shop = f"/t/c/{tokens.make(tokens.MESSAGE, message_id)}/{links[TRACKED[0]]}"
    assert both == f"Buy: {base}{shop}.\nHelp: mailto:help@example.com"
    assert shop in click_paths(brevo.requests[0].json["htmlContent"]), "the HTML's link row"
    plain = f"/t/c/{tokens.make(tokens.MESSAGE, text_only)}/{links[TRACKED[1]]}"
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
    link_id = int(click_paths(received(brevo))[0].rsplit("/", 1)[1])
    assert client.get(f"/t/c/{send_token}/{link_id}").status_code == 404
    assert client.get(f"/t/c/{token}/{link_id}").status_code == 302
