"""The template editor's preview in a real browser (issue 19, item 2): Enter in the
"Subscriber email" box previews for that subscriber and never saves the template."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from mailer.models import Template
from tests.factories import make_list, make_template


def test_enter_in_the_subscriber_email_box_previews_and_does_not_save(admin_page: Page, watch, db):
    make_list(db, "Customers", ["jane@example.com"])
    template = make_template(db, name="Welcome", subject="Hi", html="<p>Hello {{ first_name }}</p>")
    admin_page.goto(f"/templates/{template.id}")
    watch.posts.clear()  # the login's

    admin_page.locator("input[name=name]").fill("Welcome, edited but not saved")
    box = admin_page.get_by_placeholder("Subscriber email (blank: sample data)")
    box.fill("jane@example.com")
    box.press("Enter")

    expect(admin_page.locator(".preview-meta")).to_contain_text("jane@example.com")
    frame = admin_page.frame_locator("iframe.email-frame")
    expect(frame.locator("p")).to_have_text("Hello Jane")
    assert [url.rsplit("/", 2)[-2:] for url in watch.posts] == [["templates", "preview"]]
    assert admin_page.url.endswith(f"/templates/{template.id}")
    # The edit is still in the form, and the saved template is unchanged.
    expect(admin_page.locator("input[name=name]")).to_have_value("Welcome, edited but not saved")
    db.session.rollback()  # a fresh snapshot (MariaDB: repeatable read)
    assert db.session.get(Template, template.id).name == "Welcome"
    watch.assert_quiet()


def test_the_save_button_still_saves(admin_page: Page, watch, db):
    template = make_template(db, name="Welcome", subject="Hi", html="<p>Hello</p>")
    admin_page.goto(f"/templates/{template.id}")
    admin_page.locator("input[name=name]").fill("Welcome v2")
    with admin_page.expect_navigation():
        admin_page.get_by_role("button", name="Save", exact=True).click()
    expect(admin_page.locator(".flash-success")).to_contain_text("Template “Welcome v2” saved.")
    db.session.rollback()  # a fresh snapshot (MariaDB: repeatable read)
    assert db.session.get(Template, template.id).name == "Welcome v2"
    watch.assert_quiet()
