"""Step 1 (what): validation next to each field, drafts, edit, duplicate, delete."""

from __future__ import annotations

from mailer.campaigns import rules
from mailer.engine import campaign_state
from mailer.models import Campaign, CampaignAudience, CampaignChannel
from tests.factories import GOOD_HTML, draft, make_template
from tests.fixtures.campaign_pages import error_at, reload


def test_every_missing_field_is_explained_next_to_it(client, db, marketer):
    response = client.post("/campaigns/", data={"name": " ", "subject": "", "html": ""})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Give the campaign a name" in error_at(body, "name")
    assert "Write a subject line" in error_at(body, "subject")
    assert "Choose a template from the library, or paste HTML" in error_at(body, "template_id")
    assert "Paste the HTML of this campaign" in error_at(body, "html")
    assert db.session.scalar(db.select(Campaign)) is None


def test_template_and_pasted_html_together_are_refused(client, db, marketer):
    template = make_template(db)
    response = client.post(
        "/campaigns/",
        data={"name": "X", "subject": "Hi", "template_id": str(template.id), "html": GOOD_HTML},
    )
    assert response.status_code == 422
    assert "not both" in error_at(response.get_data(as_text=True), "html")


def test_a_template_syntax_error_names_the_field_and_line(client, db, marketer):
    html = "<p>Hello</p>\n<p>{{ first_name </p>\n"
    response = client.post("/campaigns/", data={"name": "X", "subject": "Hi", "html": html})
    assert response.status_code == 422
    message = error_at(response.get_data(as_text=True), "html")
    assert message.startswith("Template error, line 2:"), message

    subject = client.post(
        "/campaigns/", data={"name": "X", "subject": "Hi {% if %}", "html": GOOD_HTML}
    )
    assert "Template error, line 1:" in error_at(subject.get_data(as_text=True), "subject")

    broken = make_template(db, "Broken", html="<p>ok</p>\n\n{% for x in %}\n")
    chosen = client.post(
        "/campaigns/", data={"name": "X", "subject": "Hi", "template_id": str(broken.id)}
    )
    message = error_at(chosen.get_data(as_text=True), "template_id")
    assert "“Broken” has an error in its HTML body, line 3:" in message
    assert db.session.scalar(db.select(Campaign)) is None


def test_saving_creates_a_draft_and_moves_to_step_2_with_warnings(client, db, marketer):
    html = "<p>{{ frist_name }}</p>"  # a typo, and no unsubscribe link
    response = client.post(
        "/campaigns/", data={"name": "Spring", "subject": "News for {{ first_name }}", "html": html}
    )
    campaign = db.session.scalar(db.select(Campaign))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/campaigns/{campaign.id}/setup")
    assert campaign.status == "draft" and campaign.created_by_id == marketer.id
    assert campaign.html == html and campaign.template_id is None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Unknown variable: frist_name" in page
    assert "no {{ unsubscribe_url }} link" in page and "Launching is refused" in page


def test_a_library_template_can_be_chosen(client, db, marketer):
    template = make_template(db)
    client.post("/campaigns/", data={"name": "T", "subject": "Hi", "template_id": str(template.id)})
    campaign = db.session.scalar(db.select(Campaign))
    assert campaign.template_id == template.id and campaign.html is None
    form = client.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert f'<option value="{template.id}" selected>Newsletter</option>' in form


def test_a_draft_can_be_edited(client, db, marketer):
    campaign = draft(db)
    page = client.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert 'value="Spring sale"' in page
    bad = client.post(
        f"/campaigns/{campaign.id}/edit", data={"name": "", "subject": "S", "html": GOOD_HTML}
    )
    assert bad.status_code == 422 and "Give the campaign a name" in bad.get_data(as_text=True)
    client.post(
        f"/campaigns/{campaign.id}/edit",
        data={"name": "Summer sale", "subject": "S", "html": GOOD_HTML},
    )
    assert reload(db, campaign).name == "Summer sale"


def test_editing_a_scheduled_campaign_puts_it_back_to_draft(client, db, marketer):
    campaign = draft(db, status="scheduled")
    page = client.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert "Saving a change puts it back to draft" in page
    response = client.post(
        f"/campaigns/{campaign.id}/edit",
        follow_redirects=True,
        data={"name": "New", "subject": "S", "html": GOOD_HTML},
    )
    assert "went back to draft" in response.get_data(as_text=True)
    assert reload(db, campaign).status == "draft"


def test_a_running_campaign_cannot_be_edited(client, db, marketer):
    campaign = draft(db, status="running")
    response = client.post(
        f"/campaigns/{campaign.id}/edit",
        follow_redirects=True,
        data={"name": "New", "subject": "S", "html": GOOD_HTML},
    )
    assert "can no longer be edited: duplicate it" in response.get_data(as_text=True)
    assert reload(db, campaign).name == "Spring sale"


def test_duplicate_copies_content_audience_and_rows_as_a_draft(
    client, db, marketer, identity, sandbox
):
    from tests.factories import make_list

    mailing_list = make_list(db, "Fans", ["a@example.com"])
    campaign = draft(db, status="completed", audience_size=1)
    db.session.add(CampaignAudience(campaign_id=campaign.id, list_id=mailing_list.id))
    db.session.add(
        CampaignChannel(
            campaign_id=campaign.id,
            channel_id=sandbox.id,
            identity_id=identity.id,
            frequency_minutes=2,
            daily_max=50,
        )
    )
    db.session.commit()
    response = client.post(f"/campaigns/{campaign.id}/duplicate")
    copy = db.session.scalar(db.select(Campaign).filter(Campaign.id != campaign.id))
    assert response.headers["Location"].endswith(f"/campaigns/{copy.id}/setup")
    assert copy.name == "Copy of Spring sale" and copy.status == "draft"
    assert copy.html == campaign.html and copy.created_by_id == marketer.id
    assert copy.audience_size == 0
    assert [a.list_id for a in copy.audiences] == [mailing_list.id]
    (row,) = copy.channels
    assert (row.channel_id, row.identity_id, row.frequency_minutes, row.daily_max) == (
        sandbox.id,
        identity.id,
        2,
        50,
    )


def test_delete_asks_then_deletes_a_draft(client, db, marketer):
    campaign = draft(db)
    assert "Delete the campaign “Spring sale”?" in client.get(
        f"/campaigns/{campaign.id}/delete"
    ).get_data(as_text=True)
    response = client.post(f"/campaigns/{campaign.id}/delete", follow_redirects=True)
    assert "Campaign “Spring sale” deleted." in response.get_data(as_text=True)
    assert db.session.get(Campaign, campaign.id) is None


def test_a_scheduled_campaign_can_be_deleted_but_a_running_one_cannot(client, db, marketer):
    scheduled = draft(db, status="scheduled")
    client.post(f"/campaigns/{scheduled.id}/delete")
    assert db.session.get(Campaign, scheduled.id) is None
    running = draft(db, "Live", status="running")
    response = client.post(f"/campaigns/{running.id}/delete", follow_redirects=True)
    assert "Pause or cancel the campaign before deleting it." in response.get_data(as_text=True)
    assert reload(db, running).status == "running"
    campaign_state.transition(running, "cancelled")
    client.post(f"/campaigns/{running.id}/delete")
    assert db.session.get(Campaign, running.id) is None


# ------------------------------------------------------------------ picking a template


def test_picking_a_template_fills_in_its_subject(client, db, marketer):
    news = make_template(db, name="Newsletter", subject="Our {{ month }} news")
    promo = make_template(db, name="Promo", subject="Sale starts today")
    hx = {"HX-Request": "true"}
    picked = client.get(f"/campaigns/template-subject?template_id={news.id}&subject=", headers=hx)
    body = picked.get_data(as_text=True)
    assert picked.status_code == 200 and "<html" not in body and 'id="subject-field"' in body
    assert 'value="Our {{ month }} news"' in body
    switched = client.get(
        f"/campaigns/template-subject?template_id={promo.id}&subject=Our {{{{ month }}}} news",
        headers=hx,
    ).get_data(as_text=True)
    assert 'value="Sale starts today"' in switched, "another template's subject is replaced"
    typed = client.get(
        f"/campaigns/template-subject?template_id={promo.id}&subject=My own words", headers=hx
    ).get_data(as_text=True)
    assert 'value="My own words"' in typed, "what the person typed stays"
    page = client.get("/campaigns/new").get_data(as_text=True)
    assert 'hx-get="/campaigns/template-subject"' in page and "<script>" not in page
    assert 'placeholder="&lt;p&gt;Hello {{ first_name }}!&lt;/p&gt;' in page, "markup escaped"


def test_without_javascript_a_blank_subject_takes_the_templates(client, db, marketer):
    template = make_template(db, subject="Hello from the template")
    response = client.post(
        "/campaigns/", data={"name": "Plain", "subject": "", "template_id": str(template.id)}
    )
    assert response.status_code == 302
    campaign = db.session.scalar(db.select(Campaign).filter_by(name="Plain"))
    assert campaign.subject == "Hello from the template"
    bare = make_template(db, name="Bare", subject="")
    refused = client.post(
        "/campaigns/", data={"name": "Other", "subject": "", "template_id": str(bare.id)}
    )
    assert refused.status_code == 422
    assert "choose a template that has one" in error_at(refused.get_data(as_text=True), "subject")


def test_step_2_warns_about_images_without_alt_and_wide_tables_but_launch_allows_them(
    client, db, marketer
):
    html = (
        '<table width="700"><tr><td><img src="https://example.com/hero.png"></td></tr></table>'
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
    )
    response = client.post("/campaigns/", data={"name": "Wide", "subject": "Hi", "html": html})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The image https://example.com/hero.png has no alt text" in page
    assert "A &lt;table&gt; is 700 px wide: wider than a mail window (600 px)" in page
    assert "Launching is refused" not in page
    campaign = db.session.scalar(db.select(Campaign))
    assert "content" not in rules.launch_problems(campaign)
