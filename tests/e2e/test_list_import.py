"""A list page while an import runs, in a real browser (issue 19, item 3): the counts and the
subscribers table catch up by themselves when the import ends, without a reload."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from mailer.services import lists
from tests.fixtures.app import work


def test_the_counts_and_the_table_refresh_when_the_import_ends(app, admin_page: Page, watch, db):
    people = lists.create_list("People")
    admin_page.goto(f"/lists/{people.id}")
    admin_page.locator("input[type=file][name=file]").set_input_files(
        files=[
            {
                "name": "people.csv",
                "mimeType": "text/csv",
                "buffer": b"email,first_name\nann@example.com,Ann\nbob@example.com,Bob\n",
            }
        ]
    )
    with admin_page.expect_navigation():
        admin_page.locator("form[action$='/imports'] button[type=submit]").click()
    with admin_page.expect_navigation():  # the mapping step, its guesses accepted
        admin_page.locator("#mapping-form button[type=submit]").click()
    counts, table = admin_page.locator("#list-counts"), admin_page.locator("#subscriber-table")
    expect(counts).to_contain_text("0 subscribed")
    expect(table).to_contain_text("No subscribers yet")
    expect(admin_page.locator(".import-progress")).to_contain_text("waiting to start")
    admin_page.evaluate("window.stillTheSamePage = true")

    work(app, "imports")  # the import runs in a worker while the page is open

    expect(admin_page.locator(".import-progress")).to_contain_text("done", timeout=15_000)
    expect(counts).to_contain_text("2 subscribed", timeout=15_000)
    expect(table).to_contain_text("bob@example.com")
    assert admin_page.evaluate("window.stillTheSamePage") is True  # no reload
    # Polling stopped with the import: the finished progress no longer asks for itself.
    expect(admin_page.locator(".import-progress[hx-trigger]")).to_have_count(0)
    watch.assert_quiet()
