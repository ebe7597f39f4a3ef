"""The starter gallery: every starter compiles, renders, passes the checks, and makes a
template the visual editor opens."""

from __future__ import annotations

import pytest

from mailer.engine import rendering
from mailer.engine.rendering.checks import check_email
from mailer.lib.errors import ValidationError
from mailer.models import Template
from mailer.services import starters
from tests.factories import make_template

KEYS = [starter.key for starter in starters.STARTERS]
ADDRESS = "Your Brand, 12 Harbour Street, 1100-001 Lisbon, Portugal"


def test_the_gallery_has_the_eight_kinds_of_email_the_issue_asks_for():
    assert set(KEYS) >= {
        "newsletter",
        "promotion",
        "announcement",
        "welcome",
        "event",
        "letter",
        "digest",
        "receipt",
    }


@pytest.mark.parametrize("key", KEYS)
def test_a_starter_compiles_renders_personally_and_passes_every_check(app, key):
    starter = starters.get_starter(key)
    html = starters.html_of(starter)
    assert check_email(html, None, starter.subject) == []
    context = rendering.sample_context() | {"postal_address": ADDRESS}
    email = rendering.compile_email(starter.subject, html, None).render(context)
    for variable in ("unsubscribe_url", "preferences_url", "view_online_url"):
        assert context[variable] in email.html
    assert ADDRESS in email.html
    assert "Jane" in email.html  # first_name, with a fallback for people without one
    nameless = rendering.compile_email(starter.subject, html, None).render(
        context | {"first_name": "", "name": ""}
    )
    assert "Jane" not in nameless.html and "{{" not in nameless.html
    # Images come from this installation's public address, and all have alt text.
    assert "STARTER_IMAGES" not in html
    assert "http://mailer.test/static/starters/" in html or key == "letter"


def test_create_from_starter_makes_a_visual_template(app, db):
    template = starters.create_from_starter("newsletter", "  October news  ")
    db.session.expire_all()
    saved = db.session.get(Template, template.id)
    assert (saved.name, saved.editor, saved.design, saved.text) == (
        "October news",
        "visual",
        None,
        None,
    )
    assert saved.subject == starters.get_starter("newsletter").subject
    assert saved.source.startswith("<mjml>") and "<mj-body" in saved.source
    assert saved.html == rendering.compile_mjml(saved.source)


def test_a_starter_needs_a_free_name(app, db):
    make_template(db, name="Taken")
    for name, words in (("", "Give the template a name."), ("Taken", "already has this name")):
        with pytest.raises(ValidationError) as caught:
            starters.create_from_starter("welcome", name)
        assert words in caught.value.errors["name"]
    with pytest.raises(ValidationError) as caught:
        starters.create_from_starter("nope", "Fine")
    assert "key" in caught.value.errors
    assert db.session.scalar(db.select(db.func.count(Template.id))) == 1
