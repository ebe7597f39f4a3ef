"""The email designer's page: its scripts come from the vendored files only, its data reaches
JavaScript as text (data attributes), and designer_page gives a view the designer's policy."""

from __future__ import annotations

import re

from mailer.models import Role
from mailer.web.security_headers import APP_POLICY
from tests.factories import draft, make_template


def _policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_the_designer_loads_only_vendored_scripts_and_no_inline_ones(client, db, as_role):
    as_role(Role.MARKETER)
    page = client.get("/templates/new").get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>", page)
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs in scripts]
    assert all(src.startswith("/static/") for src in sources), sources
    assert "/static/vendor/grapesjs-0.23.6/grapes.min.js" in sources
    assert "/static/vendor/codemirror-6.0.2/mailer-code.min.js" in sources
    assert "/static/js/designer.js" in sources
    assert 'data-designer data-mode="visual"' in page


def test_french_readers_get_the_editors_french_labels(client, db, as_role):
    as_role(Role.MARKETER)
    page = client.get("/templates/new", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "/static/vendor/grapesjs-0.23.6/grapesjs-locale-fr.min.js" in page
    assert "Éditeur visuel" in page and "Insérer une variable" in page


def test_a_merge_tag_and_a_crafted_name_stay_text(client, db, as_role):
    as_role(Role.MARKETER)
    template = make_template(db, name='"><script>alert(1)</script>', html="<p>Hi</p>")
    page = client.get(f"/templates/{template.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert 'data-merge-tag="{{ first_name }}"' in page
    assert 'data-mode="html"' in page  # a template written in HTML opens in the HTML editor


def test_the_designer_pages_allow_styles_but_no_inline_script(client, db, as_role):
    as_role(Role.MARKETER)
    campaign = draft(db)
    for url in ("/templates/new", f"/campaigns/{campaign.id}/content"):
        policy = _policy(client.get(url))
        assert policy["script-src"] == APP_POLICY["script-src"] == "'self'", url
        assert "'unsafe-inline'" in policy["style-src"], url  # GrapesJS writes styles
        assert policy["frame-ancestors"] == "'none'"


def test_a_viewer_gets_the_code_read_only_and_no_merge_tags(client, db, as_role):
    template = make_template(db, name="Letter", html="<p>Hi</p>")
    as_role(Role.VIEWER)
    page = client.get(f"/templates/{template.id}").get_data(as_text=True)
    assert 'data-editable="false"' in page
    assert "data-merge-tag" not in page
    assert re.search(r'<textarea name="html"[^>]*readonly', page)
