"""The public signup page, the confirmation link and the editors' pages in a real browser, at
a desktop's and a phone's width (issue 20)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from mailer.lib import branding
from mailer.models import Subscriber
from mailer.queue import TRANSACTIONAL
from mailer.services import signup
from tests.e2e.pages import Layout, log_in
from tests.factories import make_user
from tests.fixtures.app import work
from tests.fixtures.signup import confirmation_path, outbox


def test_signing_up_and_confirming_at_390_px(app, db, page: Page, watch, signup_setup):
    app.config["MAILER_SIGNUP_MIN_SECONDS"] = 0  # a browser types faster than a person
    branding.store(
        branding.Branding(
            name="Atelier Lumière", color="#aa3300", address="12 rue de l’Exemple\n75001 Paris"
        )
    )
    layout = Layout(page, watch, "signup")
    page.goto(signup_setup.url)
    expect(page.locator(".brand-footer")).to_contain_text("75001 Paris")
    layout.check()
    page.set_viewport_size({"width": 390, "height": 900})  # a phone fills the form in
    page.locator("input[name=email]").fill("ana@example.com")
    page.locator("input[name=name]").fill("Ana")
    page.locator("input[name=city]").fill("Lyon")
    expect(page.locator("input[name=website]")).not_to_be_in_viewport()  # the bots' field
    with page.expect_navigation():
        page.locator("form button[type=submit]").click()
    expect(page.locator("h1")).to_be_visible()
    layout.check()
    db.session.commit()
    assert db.session.scalar(db.select(Subscriber.status)) == "unconfirmed"

    work(app, TRANSACTIONAL)
    page.goto(confirmation_path(outbox(db, "ana@example.com")[0]))
    layout.check()
    with page.expect_navigation():
        page.locator("form button[type=submit]").click()
    layout.check()
    db.session.commit()
    assert db.session.scalar(db.select(Subscriber.status)) == "subscribed"
    watch.assert_quiet()


def test_the_signup_page_in_french(db, page: Page, watch, signup_setup):
    page.set_extra_http_headers({"Accept-Language": "fr"})
    page.goto(signup_setup.url)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    Layout(page, watch, "signup-fr").check()
    watch.assert_quiet()


def test_form_settings_and_branding_pages(db, page: Page, watch, signup_setup):
    log_in(page, make_user("admin").email)
    layout = Layout(page, watch, "signup-settings")
    for path in (
        "/forms/",
        f"/forms/{signup_setup.form.id}",
        f"/lists/{signup_setup.mailing_list.id}/confirmation",
        "/settings/branding/",
    ):
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
        layout.check()
    page.locator("input[name=name]").fill("Atelier Lumière")
    page.locator("textarea[name=address]").fill("12 rue de l’Exemple\n75001 Paris")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    db.session.commit()  # a fresh snapshot: the server wrote on its own connection
    assert branding.load().name == "Atelier Lumière"
    watch.assert_quiet()


def test_the_snippet_posts_from_another_website(
    app, db, page: Page, watch, live_server, signup_setup
):
    """The snippet on a page of another origin: its script fills the timestamp, the post needs
    no session and no second click."""
    app.config["PUBLIC_BASE_URL"] = live_server
    app.config["MAILER_SIGNUP_MIN_SECONDS"] = 0
    code = signup.snippet(
        signup_setup.form,
        f"{live_server}{signup_setup.url}",
        f"{live_server}/static/js/signup-embed.js",
    )
    page.set_content(f"<!doctype html><html><body><h1>Shop</h1>{code}</body></html>")
    expect(page.locator("input[name=stamp]")).not_to_have_value("")
    page.locator("input[name=email]").fill("ana@example.com")
    page.locator("input[name=city]").fill("Lyon")
    with page.expect_navigation():
        page.locator("button[type=submit]").click()
    assert page.url.startswith(live_server)
    expect(page.locator("h1")).to_be_visible()
    db.session.commit()
    assert db.session.scalar(db.select(Subscriber.status)) == "unconfirmed"
    watch.assert_quiet()
