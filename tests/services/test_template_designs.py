"""Templates written in MJML (by hand or in the visual editor): compiled once when saved,
rendered per recipient, mistakes shown next to the MJML, test sends, merge tags."""

from __future__ import annotations

import email
import json
from email import policy

from mailer.engine import rendering
from mailer.lib import branding
from mailer.models import Channel, Identity, OutboxMessage, Role, Template
from tests.factories import make_list

MJML = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Hello {{ first_name or "friend" }}!</mj-text>
        {% if attributes.plan == "Pro" %}
        <mj-text>Thanks for being a Pro customer.</mj-text>
        {% endif %}
        <mj-button href="https://shop.example.com/offer?who={{ email|urlencode }}">
          See the offer</mj-button>
        <mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a> {{ postal_address }}</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>"""
DESIGN = json.dumps({"pages": [{"frames": [{"component": {"type": "mjml"}}]}], "styles": []})


def _save(client, **fields):
    data = {
        "name": "Spring",
        "subject": "Hi {{ first_name }}",
        "editor": "visual",
        "source": MJML,
        "design": DESIGN,
        "text": "",
    }
    data.update(fields)
    return client.post("/templates/", data=data)


def test_mjml_with_personalisation_compiles_once_and_renders_per_recipient(client, db, as_role):
    as_role(Role.MARKETER)
    assert _save(client).status_code == 302
    template = db.session.scalars(db.select(Template)).one()
    assert template.editor == "visual"
    assert template.source == MJML and json.loads(template.design) == json.loads(DESIGN)
    # The HTML is MJML's responsive output, the template tags kept for each recipient.
    assert "@media only screen" in template.html and "{{ first_name" in template.html

    compiled = rendering.compile_email(template.subject, template.html, template.text)
    ana = compiled.render(
        rendering.recipient_context(
            "ana@example.com",
            "Ana",
            attributes={"plan": "Pro"},
            unsubscribe_url="https://m.example/u/1",
            postal_address=rendering.PostalAddress("Acme\n1 Main St"),
        )
    )
    bob = compiled.render(
        rendering.recipient_context("bob+x@example.com", unsubscribe_url="https://m.example/u/2")
    )
    assert "Hello Ana!" in ana.html and "Pro customer" in ana.html
    assert "who=ana%40example.com" in ana.html and "Acme<br>1 Main St" in ana.html
    assert "Acme\n1 Main St" in ana.text
    assert "Hello friend!" in bob.html and "Pro customer" not in bob.html
    assert "who=bob%2Bx%40example.com" in bob.html


def test_mjml_code_mode_drops_the_visual_design_and_html_mode_the_mjml(client, db, as_role):
    as_role(Role.MARKETER)
    _save(client, editor="mjml")
    template = db.session.scalars(db.select(Template)).one()
    assert template.editor == "mjml" and template.design is None and template.source == MJML

    response = client.post(
        f"/templates/{template.id}",
        data={"name": "Spring", "subject": "Hi", "editor": "html", "html": "<p>{{ x }}</p>"},
    )
    assert response.status_code == 302
    db.session.refresh(template)
    assert (template.editor, template.source, template.html) == ("html", None, "<p>{{ x }}</p>")


def test_switching_to_html_code_gets_the_compiled_html_or_the_mistake(client, db, as_role):
    as_role(Role.MARKETER)
    answer = client.post("/templates/compile", data={"source": MJML})
    assert answer.status_code == 200 and "@media only screen" in answer.json["html"]
    assert "{{ unsubscribe_url }}" in answer.json["html"]
    answer = client.post("/templates/compile", data={"source": "<mjml><mj-body>"})
    assert answer.status_code == 422
    assert answer.json["error"] == "<mj-body> opened on line 1 is never closed: add </mj-body>."
    as_role(Role.VIEWER)
    assert client.post("/templates/compile", data={"source": MJML}).status_code == 403


def test_unreadable_design_data_is_refused_and_duplicates_keep_the_design(client, db, as_role):
    as_role(Role.MARKETER)
    assert _save(client, design="{not json").status_code == 422
    _save(client)
    template = db.session.scalars(db.select(Template)).one()
    client.post(f"/templates/{template.id}/duplicate")
    copy = db.session.scalars(db.select(Template).where(Template.id != template.id)).one()
    assert (copy.editor, copy.source, copy.design) == ("visual", MJML, template.design)


def test_preview_compiles_the_mjml_being_edited(client, db, as_role):
    as_role(Role.MARKETER)
    branding.store(branding.Branding(address="Acme Corp\n9 Quay Road"))
    response = client.post(
        "/templates/preview",
        data={"name": "x", "subject": "Hi", "editor": "mjml", "source": MJML},
        headers={"HX-Request": "true"},
    )
    page = response.get_data(as_text=True)
    assert "Hello Jane!" in page and "Acme Corp&lt;br&gt;9 Quay Road" in page
    broken = client.post(
        "/templates/preview",
        data={"name": "x", "subject": "Hi", "editor": "mjml", "source": "<mjml><mj-body>"},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert "is never closed" in broken


def test_merge_tags_offer_fields_list_attributes_and_links(app, db):
    customers = make_list(db, "Customers", ["a@example.com"])
    customers.attribute_types = {"loyalty tier": "text"}
    make_list(db, "Other", ["b@example.com"]).attribute_types = {"shoe_size": "number"}
    db.session.commit()
    with app.test_request_context():
        from mailer.services import templates

        every = {t["tag"] for t in templates.merge_tags()}
        chosen = {t["tag"] for t in templates.merge_tags([customers.id])}
    assert {"{{ first_name }}", "{{ unsubscribe_url }}", "{{ postal_address }}"} <= every
    assert "{{ attributes['loyalty tier'] }}" in every and "{{ attributes.shoe_size }}" in every
    assert "{{ attributes['loyalty tier'] }}" in chosen
    assert "{{ attributes.shoe_size }}" not in chosen


def test_a_test_send_mails_what_is_in_the_editor_through_the_sandbox(client, db, as_role):
    as_role(Role.MARKETER)
    _save(client)
    template = db.session.scalars(db.select(Template)).one()
    channel = Channel(name="Sandbox", provider="sandbox", settings={})
    identity = Identity(name="News", from_email="news@example.com")
    db.session.add_all([channel, identity])
    db.session.commit()
    typed = MJML.replace("See the offer", "Open the spring sale")
    response = client.post(
        f"/templates/{template.id}/test",
        data={
            "channel_id": channel.id,
            "identity_id": identity.id,
            "to": "me@example.com",
            "subject": "Hi {{ first_name }}",
            "editor": "visual",
            "source": typed,
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Sent." in response.get_data(as_text=True)
    db.session.rollback()
    outbox = db.session.scalars(db.select(OutboxMessage)).one()
    assert outbox.to_email == "me@example.com" and outbox.subject == "[Test] Hi Jane"
    message = email.message_from_string(outbox.raw, policy=policy.default)
    html = message.get_body(("html",)).get_content()
    assert "Open the spring sale" in html and "Hello Jane!" in html

    refused = client.post(
        f"/templates/{template.id}/test",
        data={"channel_id": channel.id, "identity_id": "", "to": "not an address"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Choose a sender." in page and "is not a valid address" in page


def test_saving_warns_about_missing_alt_text_and_wide_tables(client, db, as_role):
    as_role(Role.MARKETER)
    html = (
        '<table width="700"><tr><td><img src="https://x.example/a.png"></td></tr></table>'
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
    )
    response = client.post(
        "/templates/", data={"name": "Wide", "subject": "Hi", "editor": "html", "html": html}
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "https://x.example/a.png has no alt text" in page
    assert "scroll" in page  # the 700 px table: a 600 px mail window scrolls sideways


def test_a_large_visual_design_is_saved_whole(client, db, as_role):
    as_role(Role.MARKETER)
    big = json.dumps({"pages": [], "styles": [], "notes": "x" * 1_500_000})  # past 500 kB
    assert _save(client, design=big).status_code == 302
    assert len(db.session.scalars(db.select(Template)).one().design) == len(big)


def test_broken_mjml_is_refused_next_to_the_mjml_with_the_line(client, db, as_role):
    as_role(Role.MARKETER)
    broken = MJML.replace("</mj-column>", "", 1)
    response = _save(client, source=broken, editor="mjml")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "opened on line 4 is not closed before &lt;/mj-section&gt;" in page
    assert db.session.scalar(db.select(Template.id)) is None
    # Nothing typed is lost: the MJML comes back in the form.
    assert "Thanks for being a Pro customer." in page

    response = _save(client, source="<p>not mjml</p>", editor="mjml")
    assert "MJML starts with &lt;mjml&gt;" in response.get_data(as_text=True)


def test_a_template_error_inside_mjml_is_shown_next_to_the_mjml(client, db, as_role):
    as_role(Role.MARKETER)
    response = _save(client, source=MJML.replace("{% endif %}", ""))
    assert response.status_code == 422
    assert "is never closed" in response.get_data(as_text=True)


def test_compiled_mjml_loads_no_web_font_unless_asked():
    assert "fonts.googleapis.com" not in rendering.compile_mjml(MJML)
    chosen = MJML.replace(
        "<mjml>",
        '<mjml><mj-head><mj-font name="Lora" href="https://fonts.example.com/lora.css" />'
        "</mj-head>",
    ).replace("<mj-text>Hello", '<mj-text font-family="Lora, serif">Hello')
    assert "https://fonts.example.com/lora.css" in rendering.compile_mjml(chosen)


def test_mjml_posted_with_a_browsers_line_endings_compiles(client, db, as_role):
    as_role(Role.MARKETER)
    assert _save(client, source=MJML.replace("\n", "\r\n")).status_code == 302
    template = db.session.scalars(db.select(Template)).one()
    assert "\r" not in template.source and "Hello {{ first_name" in template.html
