"""A campaign's own email, designed in the same editor as the template library's: from step 1,
or starting from a copy of the chosen template."""

from __future__ import annotations

from mailer.models import Campaign, Template
from tests.factories import GOOD_HTML, draft, make_template
from tests.fixtures.campaign_pages import error_at

MJML = """<mjml><mj-body><mj-section><mj-column>
<mj-text>Spring news for {{ first_name }}</mj-text>
<mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
</mj-column></mj-section></mj-body></mjml>"""


def _design(client, campaign, **fields):
    data = {"subject": "Hello {{ first_name }}", "editor": "visual", "source": MJML, "design": ""}
    data.update(fields)
    return client.post(f"/campaigns/{campaign.id}/content", data=data)


def test_step_one_can_save_now_and_design_the_email_next(client, db, marketer):
    response = client.post(
        "/campaigns/", data={"name": "Spring", "subject": "Hi", "html": "", "action": "design"}
    )
    campaign = db.session.scalars(db.select(Campaign)).one()
    assert response.headers["Location"] == f"/campaigns/{campaign.id}/content"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="source"' in page and 'value="visual"' in page

    assert _design(client, campaign).status_code == 302
    db.session.refresh(campaign)
    assert (campaign.editor, campaign.source, campaign.template_id) == ("visual", MJML, None)
    assert "Spring news for {{ first_name }}" in campaign.html and "@media" in campaign.html
    setup = client.get(f"/campaigns/{campaign.id}/setup").get_data(as_text=True)
    assert "Designed for this campaign" in setup

    # Step 1 again: the design is kept when no template or HTML is given …
    step1 = client.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert "designed in the editor" in step1
    response = client.post(
        f"/campaigns/{campaign.id}/edit", data={"name": "Spring 2", "subject": "Hi", "html": ""}
    )
    assert response.status_code == 302
    db.session.refresh(campaign)
    assert (
        campaign.name == "Spring 2" and campaign.source == MJML and "Spring news" in campaign.html
    )
    # … and pasted HTML replaces it.
    client.post(
        f"/campaigns/{campaign.id}/edit",
        data={"name": "Spring 2", "subject": "Hi", "html": GOOD_HTML},
    )
    db.session.refresh(campaign)
    assert (campaign.editor, campaign.source, campaign.html) == ("html", None, GOOD_HTML)


def test_a_campaign_can_start_from_a_copy_of_its_template(client, db, marketer):
    template = make_template(db, "Monthly")
    template.editor, template.source = "mjml", MJML
    db.session.commit()
    campaign = draft(db, html=None, template_id=template.id)
    page = client.get(f"/campaigns/{campaign.id}/content").get_data(as_text=True)
    assert "Spring news for {{ first_name }}" in page  # the template's MJML, to start from

    _design(client, campaign, source=MJML.replace("Spring news", "Summer news"), editor="mjml")
    db.session.refresh(campaign)
    db.session.refresh(template)
    assert campaign.template_id is None and "Summer news" in campaign.html
    assert template.source == MJML  # the library's template is untouched


def test_broken_mjml_is_explained_and_changes_nothing(client, db, marketer):
    campaign = draft(db)
    response = _design(client, campaign, source=MJML.replace("</mj-column>", ""), subject="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "is not closed before &lt;/mj-section&gt;" in page
    assert "Write a subject line." in error_at(page, "subject")
    db.session.refresh(campaign)
    assert (campaign.editor, campaign.html) == ("html", GOOD_HTML)
    assert db.session.scalar(db.select(Template.id)) is None


def test_a_running_campaign_cannot_have_its_email_changed(client, db, marketer):
    campaign = draft(db, status="running")
    response = _design(client, campaign)
    assert response.status_code in (302, 409)
    db.session.refresh(campaign)
    assert campaign.html == GOOD_HTML and campaign.source is None
