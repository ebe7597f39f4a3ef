"""The mapping step of an upload in a real browser: the first rows are previewed, a column's
mapping is changed, and the import stores what was chosen."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from mailer.models import Subscriber
from mailer.services import lists
from tests.e2e.pages import Layout
from tests.factories import draft
from tests.fixtures.app import work

GERMAN = (
    "E-Mail;Vorname;Nachname;Punkte;Geburtsdatum;LEID;Notiz\n"
    "anna@example.com;Anna;Müller;12;1990-05-01;991;Stammkundin seit vielen Jahren\n"
    "ben@example.com;Ben;Schmidt;7;1985-11-23;992;\n"
    "cleo@example.com;Cleo;Wagner;viele;1979-02-14;993;\n"
)
FRENCH = "Courriel;Prénom;Nom\nanne@example.com;Anne;Leroy\nbruno@example.com;Bruno;Petit\n"


def test_upload_preview_change_a_column_and_import(app, admin_page: Page, watch, db, request):
    page = admin_page
    layout = Layout(page, watch, request.node.name)
    people = lists.create_list("Kunden")
    page.goto(f"/lists/{people.id}")
    page.locator("input[type=file][name=file]").set_input_files(
        files=[{"name": "kunden.csv", "mimeType": "text/csv", "buffer": GERMAN.encode()}]
    )
    with page.expect_navigation():
        page.locator("form[action$='/imports'] button[type=submit]").click()

    # The preview shows the first rows; the guesses are the German names and a skipped LEID.
    preview = page.locator(".mapping-preview table")
    expect(preview).to_contain_text("anna@example.com")
    expect(preview.locator("tbody tr")).to_have_count(3)
    columns = page.locator(".map-column")
    expect(columns).to_have_count(7)
    expect(page.locator("select[name='to.0']")).to_have_value("email")
    expect(page.locator("select[name='to.1']")).to_have_value("first_name")
    expect(page.locator("select[name='to.2']")).to_have_value("last_name")
    expect(page.locator("select[name='to.5']")).to_have_value("skip")
    expect(page.locator("select[name='type.3']")).to_have_value("text")  # "viele" is no number
    expect(page.locator("select[name='type.4']")).to_have_value("date")
    expect(page.locator("input[name='attribute.4']")).to_be_visible()
    expect(page.locator("input[name='attribute.5']")).to_be_hidden()  # only for attributes
    layout.check()

    # Points become numbers (Cleo's "viele" is set aside), birthdays get an English name and
    # the note is left out.
    page.locator("select[name='type.3']").select_option("number")
    page.locator("input[name='attribute.4']").fill("birthday")
    page.locator("select[name='to.6']").select_option("skip")
    expect(page.locator("input[name='attribute.6']")).to_be_hidden()
    with page.expect_navigation():
        page.locator("#mapping-form button[type=submit]").click()
    expect(page.locator(".import-progress")).to_be_visible()

    work(app, "imports")

    expect(page.locator(".import-progress")).to_contain_text("done", timeout=15_000)
    expect(page.locator("#subscriber-table")).to_contain_text("ben@example.com", timeout=15_000)
    expect(page.locator(".import-progress")).to_contain_text("1 rejected")
    layout.check()
    db.session.commit()
    anna = db.session.scalar(db.select(Subscriber).filter_by(email="anna@example.com"))
    assert (anna.first_name, anna.last_name) == ("Anna", "Müller")
    assert anna.attributes == {"Punkte": 12, "birthday": "1990-05-01"}
    assert people.attribute_types == {"Punkte": "number", "birthday": "date"}

    # The next file with the same columns is offered the same choices.
    page.goto(f"/lists/{people.id}")
    page.locator("input[type=file][name=file]").set_input_files(
        files=[{"name": "mehr.csv", "mimeType": "text/csv", "buffer": GERMAN.encode()}]
    )
    with page.expect_navigation():
        page.locator("form[action$='/imports'] button[type=submit]").click()
    expect(page.locator("#mapping-remembered")).to_be_visible()
    expect(page.locator("select[name='type.3']")).to_have_value("number")
    expect(page.locator("input[name='attribute.4']")).to_have_value("birthday")
    expect(page.locator("select[name='to.6']")).to_have_value("skip")
    watch.assert_quiet()


def test_a_campaign_upload_goes_through_the_mapping_step_and_back(app, admin_page: Page, watch, db):
    """Step 2's upload form is an htmx form: the browser is sent to the mapping step, and
    back to the campaign's audience once the columns are matched."""
    page = admin_page
    campaign = draft(db)
    page.goto(f"/campaigns/{campaign.id}/setup")
    upload = page.locator(f"form[action='/campaigns/{campaign.id}/uploads']")
    upload.locator("input[type=file][name=file]").set_input_files(
        files=[{"name": "fichier.csv", "mimeType": "text/csv", "buffer": FRENCH.encode()}]
    )
    with page.expect_navigation():
        upload.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/columns$"))
    expect(page.locator("select[name='to.0']")).to_have_value("email")
    expect(page.locator("select[name='to.1']")).to_have_value("first_name")
    with page.expect_navigation():
        page.locator("#mapping-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.id}/setup#audience$"))
    expect(page.locator("#estimate")).to_contain_text("fichier.csv")

    work(app, "imports")

    expect(page.locator("#estimate")).to_contain_text("Estimated audience: 2", timeout=15_000)
    watch.assert_quiet()
