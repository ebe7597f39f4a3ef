"""The templates library: writing, checking, previewing, duplicating and deleting emails."""

from __future__ import annotations

import html as htmllib
import re

from mailer.models import MailingList, Role, Subscriber, Template

HTML = "<h1>Hello {{ first_name }}</h1><p>News for {{ attributes.company }}.</p>"


def _create(client, **fields):
    data = {"name": "Welcome", "subject": "Hi {{ first_name }}", "html": HTML, "text": ""}
    data.update(fields)
    return client.post("/templates/", data=data)


def _srcdoc(page: str) -> str:
    match = re.search(r'<iframe[^>]*\ssrcdoc="([^"]*)"', page)
    assert match, "no preview iframe"
    return match.group(1)


def test_create_list_edit_and_show(client, db, as_role):
    as_role(Role.MARKETER)
    response = _create(client)
    assert response.status_code == 302
    template = db.session.scalars(db.select(Template)).one()
    assert response.headers["Location"] == f"/templates/{template.id}"

    page = client.get(f"/templates/{template.id}").get_data(as_text=True)
    assert "Template “Welcome” saved." in page
    assert 'value="Welcome"' in page

    listing = client.get("/templates/").get_data(as_text=True)
    assert "Welcome" in listing and "Hi {{ first_name }}" in listing

    response = client.post(
        f"/templates/{template.id}",
        data={"name": "Welcome v2", "subject": "Hello", "html": "<p>Hi</p>", "text": "Hi"},
    )
    assert response.status_code == 302
    db.session.refresh(template)
    assert (template.name, template.subject, template.text) == ("Welcome v2", "Hello", "Hi")


def test_blank_text_is_stored_as_none_and_generated_in_the_preview(client, db, as_role):
    as_role(Role.MARKETER)
    _create(client, text="   ")
    template = db.session.scalars(db.select(Template)).one()
    assert template.text is None
    page = client.get(f"/templates/{template.id}").get_data(as_text=True)
    assert "(generated from the HTML)" in page
    assert "Hello Jane" in page  # the generated text part, with sample data


def test_required_fields_and_unique_name(client, db, as_role):
    as_role(Role.MARKETER)
    response = client.post("/templates/", data={"name": "", "subject": "", "html": " "})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Give the template a name." in page
    assert "Write a subject line." in page
    assert "Write the HTML body" in page

    _create(client)
    again = _create(client)
    assert again.status_code == 422
    assert "Another template already has this name." in again.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Template)) == 1


def test_syntax_error_is_shown_next_to_its_field_with_the_line(client, db, as_role):
    as_role(Role.MARKETER)
    response = _create(client, html="<p>one</p>\n<p>two</p>\n<p>{{ first_name </p>")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'<small class="field-error" id="html-error">([^<]*)</small>', page)
    assert error, page
    assert error.group(1).startswith("Line 3:")
    # The form keeps what was typed.
    assert "{{ first_name &lt;/p&gt;" in page
    assert db.session.scalar(db.select(db.func.count()).select_from(Template)) == 0

    subject = _create(client, subject="Hi {% if %}")
    assert subject.status_code == 422
    assert 'id="subject-error">Line 1:' in subject.get_data(as_text=True)


def test_unknown_variables_warn_by_name_but_the_template_is_saved(client, db, as_role):
    as_role(Role.MARKETER)
    response = _create(client, html="<p>{{ frist_name }} {{ attributes.shoe_size }}</p>")
    assert response.status_code == 302
    assert db.session.scalars(db.select(Template)).one()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Unknown variables: attributes.shoe_size, frist_name." in page
    assert "flash-warning" in page


def test_attributes_subscribers_have_are_known_variables(client, db, as_role):
    from mailer.models import MailingList, Subscriber

    as_role(Role.MARKETER)
    mailing_list = MailingList(name="Shoes")
    db.session.add(mailing_list)
    db.session.flush()
    db.session.add(
        Subscriber(list_id=mailing_list.id, email="s@example.com", attributes={"shoe_size": 42})
    )
    db.session.commit()
    response = _create(client, html="<p>{{ shoe_size }} {{ attributes.shoe_size }} {{ hat }}</p>")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Unknown variable: hat." in page


def test_duplicate_makes_a_copy_with_a_free_name(client, db, as_role):
    as_role(Role.MARKETER)
    _create(client)
    original = db.session.scalars(db.select(Template)).one()
    first = client.post(f"/templates/{original.id}/duplicate")
    second = client.post(f"/templates/{original.id}/duplicate")
    assert first.status_code == second.status_code == 302
    names = set(db.session.scalars(db.select(Template.name)))
    assert names == {"Welcome", "Copy of Welcome", "Copy of Welcome (2)"}
    copy = db.session.scalars(db.select(Template).filter_by(name="Copy of Welcome")).one()
    assert (copy.subject, copy.html) == (original.subject, original.html)
    assert "Created “Copy of Welcome”." in client.get(first.headers["Location"]).get_data(
        as_text=True
    )


def test_delete_asks_for_confirmation_first(client, db, as_role):
    as_role(Role.MARKETER)
    _create(client)
    template = db.session.scalars(db.select(Template)).one()
    confirm = client.get(f"/templates/{template.id}/delete")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "Delete “Welcome”?" in page and "No campaign uses it." in page
    assert db.session.get(Template, template.id) is not None

    done = client.post(f"/templates/{template.id}/delete")
    assert done.status_code == 302 and done.headers["Location"] == "/templates/"
    db.session.expire_all()
    assert db.session.get(Template, template.id) is None
    assert "Template “Welcome” deleted." in client.get("/templates/").get_data(as_text=True)


def test_preview_renders_sample_data_in_a_sandboxed_iframe(client, as_role):
    as_role(Role.MARKETER)
    response = client.post(
        "/templates/preview",
        data={"subject": "Hi {{ first_name }}", "html": HTML, "text": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment  # only the preview fragment
    iframe = re.search(r"<iframe[^>]*>", fragment).group(0)
    assert re.search(r'\ssandbox=""', iframe)
    assert "allow-scripts" not in iframe and "allow-same-origin" not in iframe
    html = htmllib.unescape(_srcdoc(fragment))
    assert "<h1>Hello Jane</h1>" in html and "Example Ltd" in html
    assert "Hi Jane" in fragment  # the rendered subject
    assert "Hello Jane" in fragment.split("</iframe>")[1]  # the text version


def test_preview_escapes_variables_and_scripts_stay_inert(client, db, as_role):
    as_role(Role.MARKETER)
    people = MailingList(name="People")
    db.session.add(people)
    db.session.flush()
    db.session.add(
        Subscriber(
            list_id=people.id,
            email="eve@example.com",
            first_name='<script>alert("x")</script>',
            attributes={"company": "<img src=x onerror=alert(1)>"},
        )
    )
    db.session.commit()
    response = client.post(
        "/templates/preview",
        data={"subject": "Hi", "html": HTML, "preview_email": "Eve@Example.com"},
        headers={"HX-Request": "true"},
    )
    fragment = response.get_data(as_text=True)
    assert "eve@example.com" in fragment  # whose data filled the variables
    # Escaped by the template (autoescape) and again as an attribute value.
    assert "<script>" not in fragment and "<img src=x" not in fragment
    rendered = htmllib.unescape(_srcdoc(fragment))
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered


def test_preview_for_an_unknown_subscriber_falls_back_to_sample_data(client, as_role):
    as_role(Role.MARKETER)
    response = client.post(
        "/templates/preview",
        data={"subject": "Hi", "html": HTML, "preview_email": "nobody@example.com"},
        headers={"HX-Request": "true"},
    )
    fragment = response.get_data(as_text=True)
    assert "No subscriber has the address nobody@example.com; showing sample data." in fragment
    assert "Hello Jane" in htmllib.unescape(_srcdoc(fragment))


def test_sandbox_escapes_give_an_error_message_not_internals(client, db, as_role):
    as_role(Role.MARKETER)
    payloads = [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ ''|attr('__class__') }}",
        "{{ namespace.__init__.__globals__ }}",
    ]
    for payload in payloads:
        response = client.post(
            "/templates/preview",
            data={"subject": "Hi", "html": f"<p>{payload}</p>"},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        fragment = response.get_data(as_text=True)
        assert "preview-problems" in fragment, payload
        assert "not allowed" in fragment, payload
        for internal in ("<class", "&lt;class", "subclasses'", "Traceback", "uid="):
            assert internal not in fragment, (payload, internal)

    saved = _create(client, html="<p>{{ ''.__class__ }}</p>")
    assert saved.status_code == 422
    assert "access to &#39;__class__&#39; is not allowed" in saved.get_data(as_text=True)


# The two templates of issue 16 (nested string work; a list of lists printed): each took a
# worker 13-22 s or hundreds of MB for one preview.
SLOW = (
    '{% set a = "x" * 100000 %}{% for i in range(1000) %}{% for j in range(99) %}'
    "{{ a.upper()|length }}{% endfor %}{% endfor %}"
)
HUGE = '{% set a = "x" * 1000 %}{% set b = [a] * 1000 %}{% set c = [b] * 1000 %}{{ c }}'


def test_a_template_over_its_render_budget_is_stopped_with_the_reason(client, db, as_role):
    as_role(Role.MARKETER)
    cases = [
        (SLOW, "HTML body of “Spring promo”: rendering took longer than 300 ms and was stopped"),
        (HUGE, "“Spring promo”: a value the template builds would be longer than 2,000,000"),
    ]
    for html, reason in cases:
        draft = client.post(
            "/templates/preview",
            data={"name": "Spring promo", "subject": "Hi", "html": f"<p>{html}</p>"},
            headers={"HX-Request": "true"},
        )
        assert draft.status_code == 200
        fragment = draft.get_data(as_text=True)
        assert "preview-problems" in fragment and reason in fragment
        assert "<iframe" not in fragment

    saved = _create(client, name="Spring promo", html=f"<p>{SLOW}</p>")
    assert saved.status_code == 302  # saved, with the reason as a warning
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert f"With sample data the template does not render: {cases[0][1]}" in page
    template = db.session.scalars(db.select(Template)).one()
    fragment = client.get(
        f"/templates/{template.id}/preview", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "preview-problems" in fragment and cases[0][1] in fragment


def test_a_template_nested_too_deeply_is_a_problem_next_to_its_field_not_a_crash(
    client, db, as_role
):
    as_role(Role.MARKETER)
    deep = "<p>{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}</p>"
    preview = client.post(
        "/templates/preview", data={"subject": "Hi", "html": deep}, headers={"HX-Request": "true"}
    )
    assert preview.status_code == 200
    assert "nested too deeply" in preview.get_data(as_text=True)
    saved = _create(client, html=deep)
    assert saved.status_code == 422
    assert "nested too deeply" in saved.get_data(as_text=True)


def test_a_viewer_reads_templates_and_previews_but_cannot_change_them(client, db, as_role):
    db.session.add(Template(name="Promo", subject="Deals", html="<p>Hi {{ first_name }}</p>"))
    db.session.commit()
    template = db.session.scalars(db.select(Template)).one()
    as_role(Role.VIEWER)
    assert client.get("/templates/").status_code == 200
    page = client.get(f"/templates/{template.id}").get_data(as_text=True)
    assert "Hi Jane" in htmllib.unescape(_srcdoc(page))
    assert "readonly" in page and ">Save<" not in page
    fragment = client.get(
        f"/templates/{template.id}/preview?email=x@example.com", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert client.post("/templates/", data={"name": "x"}).status_code == 403
    assert client.post(f"/templates/{template.id}/duplicate").status_code == 403
    assert client.post("/templates/preview", data={"html": "x"}).status_code == 403


def _field_error(page: str, name: str) -> str | None:
    found = re.search(rf'<small class="field-error" id="{name}-error">([^<]*)</small>', page)
    return htmllib.unescape(found.group(1)) if found else None


def test_saving_reports_the_bodys_syntax_error_next_to_it_even_when_the_subject_has_one(
    client, db, as_role
):
    as_role(Role.MARKETER)
    both = _create(client, subject="Hi {{ first name }}", html="<p>ok</p>\n<p>{% if x %}hi</p>")
    assert both.status_code == 422
    page = both.get_data(as_text=True)
    subject, body = _field_error(page, "subject"), _field_error(page, "html")
    assert subject and subject.startswith("Line 1: Something inside {{ … }} is not understood")
    assert body and body.startswith("Line 2: The “if” block is never closed: add {% endif %}")

    only_body = _create(client, html="<p>{{ first_name }</p>")
    page = only_body.get_data(as_text=True)
    assert _field_error(page, "subject") is None
    assert _field_error(page, "html").startswith("Line 1: A brace is missing or out of place")
    assert db.session.scalar(db.select(db.func.count()).select_from(Template)) == 0


def test_syntax_errors_are_plain_words_with_the_raw_message_in_small_print(client, db, as_role):
    as_role(Role.MARKETER)
    saved = _create(client, html="<p>{{ first name }}</p>").get_data(as_text=True)
    assert "near “name”. A variable is one word (first_name, not first name)" in htmllib.unescape(
        saved
    )
    assert "expected 'end of print statement'" not in _field_error(saved, "html")
    detail = re.search(r'<small class="technical">([^<]*)</small>', saved)
    assert detail and "end of print statement" in htmllib.unescape(detail.group(1))

    preview = client.post(
        "/templates/preview",
        data={"subject": "Hi {% if %}", "html": "<p>{{ x|shout }}</p>"},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    problems = htmllib.unescape(preview)
    assert "Subject · Line 1: A tag is empty or incomplete" in problems
    assert "HTML body · Line 1: There is no filter called “shout”" in problems


def test_a_french_reader_gets_the_syntax_error_and_the_flash_in_french(client, db, as_role):
    as_role(Role.MARKETER)
    fr = {"Accept-Language": "fr"}
    data = {"name": "Bienvenue", "subject": "Bonjour", "html": "<p>{% for a in b %}</p>"}
    page = client.post("/templates/", data=data, headers=fr).get_data(as_text=True)
    assert _field_error(page, "html").startswith(
        "Ligne 1\u00a0: Le bloc «\u00a0for\u00a0» n’est jamais fermé"
    )

    data["html"] = "<p>Bonjour</p>"
    saved = client.post("/templates/", data=data, headers=fr)
    page = client.get(saved.headers["Location"], headers=fr).get_data(as_text=True)
    assert "Modèle «\u00a0Bienvenue\u00a0» enregistré." in page
    assert "Corps HTML" in page and "Enregistrer" in page


def test_enter_in_the_preview_email_box_previews_rather_than_saves(client, db, as_role):
    """A browser submits a form from a one-line field with the form's first submit button
    (tests/e2e/test_template_preview.py presses Enter in a real one)."""
    as_role(Role.MARKETER)
    template = Template(name="Welcome", subject="Hi", html="<p>Hi</p>")
    db.session.add(template)
    db.session.commit()
    page = client.get(f"/templates/{template.id}").get_data(as_text=True)
    form = page[page.index('<form id="template-form"') :]
    first = re.search(r"<button type=\"submit\"[^>]*>", form).group(0)
    assert 'formaction="/templates/preview"' in first
