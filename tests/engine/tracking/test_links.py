"""Link rewriting, the open pixel and the unsubscribe footer, on what recipients received."""

from __future__ import annotations

import time

from mailer.engine.tracking import links as tracking_links
from mailer.lib import tokens
from mailer.models import Link
from tests.fixtures.tracking import BASE, NEWSLETTER, PIXEL, TRACKED


def test_every_web_link_is_tracked_except_our_own_and_non_web_ones(db, send_campaign):
    sent = send_campaign(["ann@example.com", "bob@example.com"])
    ann = sent["ann@example.com"]
    links = {link.url: link.id for link in db.session.scalars(db.select(Link))}
    assert set(links) == {
        "https://shop.example.com/spring?utm_source=mail&utm_campaign=spring",  # entity decoded
        "https://shop.example.com/stores",
    }
    assert [link_id for _, link_id in ann.clicks] == [
        links["https://shop.example.com/spring?utm_source=mail&utm_campaign=spring"],
        links["https://shop.example.com/stores"],
        links["https://shop.example.com/spring?utm_source=mail&utm_campaign=spring"],
    ], "identical URLs share one link row, in every message"
    assert {t for t, _ in ann.clicks} == {ann.token}
    assert sent["bob@example.com"].clicks[0][1] == ann.clicks[0][1]
    for untouched in (
        'href="mailto:help@example.com"',
        'href="tel:+351210000000"',
        'href="#top"',
        '<a name="anchor">',
        'href="/relative"',
        f'href="{BASE}/u/{ann.token}"',
        f'href="{BASE}/v/{ann.token}"',
    ):
        assert untouched in ann.html
    assert "shop.example.com" not in ann.html, "no original URL left in a tracked link"
    assert ann.html.count("/t/c/") == 3


def test_web_addresses_of_the_text_part_are_tracked_with_the_same_links(db, send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    links = {link.url: link.id for link in db.session.scalars(db.select(Link))}
    key = tokens.link_key()
    spring, stores = (
        tracking_links.click_url(BASE, ann.token, links[url], key)
        for url in (
            "https://shop.example.com/spring?utm_source=mail&utm_campaign=spring",
            "https://shop.example.com/stores",
        )
    )
    assert f"Spring ({spring})" in ann.text
    assert f"Stores ({stores}) and again Spring ({spring})" in ann.text
    assert "shop.example.com" not in ann.text
    for untouched in ("(mailto:help@example.com)", f"({BASE}/u/{ann.token})", "(/relative)"):
        assert untouched in ann.text


def test_text_addresses_end_where_a_mail_client_would_end_them(db, client, send_campaign):
    text = (
        "Our picks: https://shop.example.com/a. Also <https://shop.example.com/b>,\n"
        '"https://shop.example.com/c"! See https://en.wikipedia.org/wiki/Mail_(disambiguation)\n'
        "or https://shop.example.com/d?x=1&y=2#top"
    )
    ann = send_campaign(["ann@example.com"], text=text)["ann@example.com"]
    links = {link.url: link.id for link in db.session.scalars(db.select(Link))}
    key = tokens.link_key()
    for name, around in (("a", ("picks: ", ". Also")), ("b", ("<", ">,")), ("c", ('"', '"!'))):
        tracked = tracking_links.click_url(
            BASE, ann.token, links[f"https://shop.example.com/{name}"], key
        )
        assert f"{around[0]}{tracked}{around[1]}" in ann.text
    assert "https://en.wikipedia.org/wiki/Mail_(disambiguation)" in ann.text  # unclear end
    assert "https://en.wikipedia.org/wiki/Mail_" not in links
    tracked = tracking_links.click_url(
        "", ann.token, links["https://shop.example.com/d?x=1&y=2#top"], key
    )
    assert tracked in ann.text
    response = client.get(tracked, headers={"User-Agent": "Mozilla/5.0 X"})
    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example.com/d?x=1&y=2#top"


def test_pixel_goes_before_the_end_of_the_body(send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    assert PIXEL.findall(ann.html) == [ann.token]
    assert ann.html.index("/t/o/") < ann.html.index("</body>")
    assert ann.html.rstrip().endswith("</body></html>")


def test_tracking_switches_off(db, send_campaign):
    sent = send_campaign(["ann@example.com"], track_opens=False, track_clicks=False)
    ann = sent["ann@example.com"]
    assert "/t/o/" not in ann.html and "/t/c/" not in ann.html
    assert "/t/c/" not in ann.text and "(https://shop.example.com/stores)" in ann.text
    assert "href='https://shop.example.com/stores'" in ann.html
    assert db.session.scalar(db.select(db.func.count()).select_from(Link)) == 0


def test_each_switch_alone(send_campaign):
    opens_only = send_campaign(["a@example.com"], track_clicks=False)["a@example.com"]
    assert PIXEL.search(opens_only.html) and not TRACKED.search(opens_only.html)
    clicks_only = send_campaign(["b@example.com"], track_opens=False)["b@example.com"]
    assert TRACKED.search(clicks_only.html) and not PIXEL.search(clicks_only.html)


def test_a_body_without_unsubscribe_link_gets_one_in_a_footer(send_campaign):
    html = '<p>Hi!</p><p><a href="https://example.org/">Read</a></p>'
    ann = send_campaign(["ann@example.com"], html=html)["ann@example.com"]
    assert f'<a href="{BASE}/u/{ann.token}"' in ann.html
    assert ann.html.index("/u/") < ann.html.index("/t/o/"), "footer before the pixel"
    assert f"Unsubscribe: {BASE}/u/{ann.token}" in ann.text


def test_a_body_with_its_unsubscribe_link_gets_no_second_one(send_campaign):
    ann = send_campaign(["ann@example.com"])["ann@example.com"]
    assert ann.html.count(f"{BASE}/u/{ann.token}") == 1


def test_link_rows_are_created_once_whatever_the_number_of_workers(db, send_campaign, app):
    sent = send_campaign(["ann@example.com"])
    app.extensions.pop("mailer_link_cache")  # another worker process: an empty cache
    other = tracking_links.instrumenter(sent.campaign)
    html, _ = other.apply(NEWSLETTER.replace("{{ first_name }}", "Cy"), "", "tok")
    assert db.session.scalar(db.select(db.func.count()).select_from(Link)) == 2
    assert [i for _, i in TRACKED.findall(html)] == [
        str(i) for _, i in sent["ann@example.com"].clicks
    ]


def test_unquoted_and_uppercase_hrefs_and_area_tags(db, send_campaign):
    html = (
        '<A HREF=https://a.example.com/x>a</A> <area shape="rect" href="https://b.example.com/">'
        '<a data-href="https://c.example.com/" href="https://d.example.com/">d</a>'
    )
    ann = send_campaign(["ann@example.com"], html=html)["ann@example.com"]
    urls = set(db.session.scalars(db.select(Link.url)))
    assert urls == {"https://a.example.com/x", "https://b.example.com/", "https://d.example.com/"}
    assert 'data-href="https://c.example.com/"' in ann.html


def test_rewriting_is_fast(app, db, send_campaign):
    """A 20-link newsletter instruments in well under a millisecond once links are cached."""
    sent = send_campaign(["ann@example.com"], html="<p>x</p>")
    links = "".join(
        f'<p><a href="https://shop.example.com/p/{i}">Item {i}</a></p>' for i in range(20)
    )
    body = (
        f"<html><body>{'<p>' + 'Lorem ipsum dolor sit amet. ' * 400 + '</p>'}{links}</body></html>"
    )
    instrument = tracking_links.instrumenter(sent.campaign)
    instrument.apply(body, "", "warm-up")
    started = time.perf_counter()
    for i in range(200):
        instrument.apply(body, "", f"token{i}")
    per_message = (time.perf_counter() - started) / 200
    assert per_message < 0.002, f"{per_message * 1000:.2f} ms per message"
