"""The starter gallery in a real browser: the page fits a phone, every starter email fits a
phone and a mail window without sideways scrolling, and picking one opens its editor."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from mailer.engine import rendering
from mailer.models import Template
from mailer.services import starters
from tests.e2e.pages import Layout

KEYS = [starter.key for starter in starters.STARTERS]


def test_the_gallery_fits_a_desktop_and_a_phone(admin_page: Page, watch, request):
    admin_page.goto("/templates/")
    with admin_page.expect_navigation():
        admin_page.get_by_role("button", name="New template").click()  # a link drawn as a button
    assert admin_page.url.endswith("/templates/gallery")
    expect(admin_page.locator(".starter-card")).to_have_count(len(KEYS))
    # Each card shows its email with sample data, images and all.
    receipt = admin_page.frame_locator("#starter-receipt iframe")
    expect(receipt.get_by_text("Thanks for your order, Jane!")).to_be_visible()
    expect(receipt.locator("img[alt='Your Brand']")).to_have_js_property("complete", True)
    Layout(admin_page, watch, request.node.name).check()
    watch.assert_quiet()


@pytest.mark.parametrize("key", KEYS)
def test_a_starter_email_does_not_scroll_sideways(page: Page, live_server, app, key):
    starter = starters.get_starter(key)
    body = starters.html_of(starter, f"{live_server}/static/starters/")
    # As sent: CSS inlined, filled for a recipient.
    email = rendering.compile_email(starter.subject, body, None).render(starters.preview_context())
    html = email.html
    for width in (600, 375):
        page.set_viewport_size({"width": width, "height": 800})
        page.set_content(html, wait_until="load")
        scroll, client = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client, f"{key} at {width} px: {scroll} px wide"
        loaded = page.evaluate("[...document.images].every((img) => img.naturalWidth > 0)")
        assert loaded, "the starter's images are served"


def test_picking_a_starter_names_it_and_opens_its_editor(admin_page: Page, watch, db):
    admin_page.goto("/templates/gallery")
    card = admin_page.locator("#starter-event")
    card.get_by_label("Template name").fill("Autumn meetup invitation")
    with admin_page.expect_navigation():
        card.get_by_role("button", name="Use this starter").click()
    db.session.rollback()  # a fresh snapshot (MariaDB: repeatable read)
    template = db.session.scalars(db.select(Template)).one()
    assert admin_page.url.endswith(f"/templates/{template.id}")
    assert (template.name, template.editor) == ("Autumn meetup invitation", "visual")
    expect(admin_page.locator(".flash-success")).to_contain_text("Autumn meetup invitation")
    watch.assert_quiet()


def test_a_taken_name_is_shown_next_to_the_field(admin_page: Page, watch, db):
    admin_page.goto("/templates/gallery")
    first = admin_page.locator("#starter-letter")
    with admin_page.expect_navigation():
        first.get_by_role("button", name="Use this starter").click()  # named "Plain letter"
    admin_page.goto("/templates/gallery")
    card = admin_page.locator("#starter-letter")
    card.get_by_role("button", name="Use this starter").click()
    expect(card.locator(".field-error")).to_have_text("Another template already has this name.")
    expect(card.get_by_label("Template name")).to_have_value("Plain letter")
    watch.errors = [e for e in watch.errors if not e.startswith("422 ")]
    watch.assert_quiet()
