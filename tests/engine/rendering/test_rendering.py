"""The email template engine, as a marketer and a recipient would notice it."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import css_inline
import pytest

from mailer.engine.rendering import (
    BASE_VARIABLES,
    RenderError,
    TemplateSyntaxProblem,
    compile_email,
    html_to_text,
    recipient_context,
    render_preview,
    required_variables,
    sample_context,
    unknown_variables,
)
from mailer.engine.rendering.css import normalise_html
from mailer.engine.rendering.errors import FIELD_LABELS
from mailer.engine.rendering.sandbox import MailSandbox

# What per-recipient inlining would do (the same options as the engine).
INLINER = css_inline.CSSInliner(
    keep_at_rules=True, keep_link_tags=True, load_remote_stylesheets=False
)
# Re-serialises HTML without inlining, so two outputs that differ only in how the HTML was
# written (entities, implied <tbody>, whitespace between tags) compare equal.
same_html = normalise_html


def person(first: str = "Jane", **attributes: Any) -> dict[str, Any]:
    return recipient_context(
        email=f"{first.lower()}@example.com",
        first_name=first,
        last_name="Doe",
        attributes=attributes,
        unsubscribe_url=f"https://example.com/u/{first}",
        view_online_url=f"https://example.com/v/{first}",
    )


def html_of(template: str, context: dict[str, Any] | None = None, **kwargs: Any) -> str:
    return compile_email("s", template, **kwargs).render(context or person()).html


def body(html: str) -> str:
    """The part of a rendered document between <body> and </body>."""
    return html.split("<body>", 1)[-1].split("</body>", 1)[0]


def per_render_reference(html: str, context: dict[str, Any]) -> tuple[str, str]:
    """The email if CSS inlining and text generation ran for every recipient (HTML normalised)."""
    plain = compile_email("s", html, inline_css=False).render(context).html
    return same_html(INLINER.inline(plain)), html_to_text(plain)


# ------------------------------------------------------------------------------ sandbox


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ self.__dict__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ email['__class__'] }}",
        "{{ namespace.__init__.__globals__['os'] }}",
    ],
)
def test_private_attribute_access_is_refused_when_saving(payload: str) -> None:
    with pytest.raises(TemplateSyntaxProblem) as info:
        compile_email("Hi", f"<p>\n{payload}</p>")
    assert info.value.field == "html"
    assert info.value.line == 2
    assert "not allowed" in info.value.message


@pytest.mark.parametrize(
    "payload",
    [
        '{{ "{0.__class__}".format(1) }}',
        '{{ "{0.__class__.__mro__}".format(email) }}',
        '{{ "{a.__class__}".format_map({"a": email}) }}',
        "{{ email|attr('__class__') }}",
        "{{ email['__cla' ~ 'ss__'] }}",
        "{% for c in email|attr('__class__') %}{{ c }}{% endfor %}",
        "{{ attributes.update({'x': 1}) }}",
        "{{ (attributes|attr('pop'))('plan') }}",
    ],
)
def test_sandbox_escapes_fail_at_render_with_a_clear_error(payload: str) -> None:
    compiled = compile_email("Hi", f"<p>{payload}</p>")
    with pytest.raises(RenderError) as info:
        compiled.render(person())
    assert info.value.field == "html"
    assert "not allowed" in str(info.value)


@pytest.mark.parametrize(
    "payload",
    [
        "{{ config }}",
        "{{ request }}",
        "{{ lipsum() }}",
        "{{ url_for('x') }}",
        "{{ (email|attr('__class__')|attr('__mro__'))[1] }}",
        "{{ email|attr('__class__')|attr('__base__')|attr('__subclasses__')() }}",
    ],
)
def test_globals_we_do_not_pass_render_nothing(payload: str) -> None:
    assert body(html_of(f"<p>{payload}</p>")) == "<p></p>"


@pytest.mark.parametrize(
    ("source", "tag"),
    [
        ("{% include 'secrets.html' %}", "include"),
        ("{% extends 'base.html' %}", "extends"),
        ("{% import 'macros.html' as m %}", "import"),
        ("{% from 'macros.html' import m %}", "from … import"),
        ("{% macro m() %}x{% endmacro %}{{ m() }}", "macro"),
        ("{% autoescape false %}{{ first_name }}{% endautoescape %}", "autoescape"),
    ],
)
def test_file_access_and_escaping_switches_are_refused(source: str, tag: str) -> None:
    with pytest.raises(TemplateSyntaxProblem) as info:
        compile_email("Hi", "<p>ok</p>\n\n" + source)
    assert info.value.line == 3
    assert f"{{% {tag} %}}" in info.value.message


@pytest.mark.parametrize(
    "payload",
    [
        "{{ range(100000)|list|length }}",
        "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
        "{{ 'x' * 100000000 }}",
        "{% set s = 'x' * 90000 %}{{ s ~ s }}",
        "{% set l = range(1000)|list %}{% set l = l + l %}{% set l = l * 100 %}{{ l|length }}",
        "{{ 9 ** 99999999 }}",
        "{{ ((10 ** 1000) ** 1000) ** 1000 }}",
        "{% set ns = namespace(n=10 ** 500) %}{% for i in range(40) %}"
        "{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n > 0 }}",
        "{{ '%099999999d' % 1 }}",
        "{{ '%*d' % (99999999, 1) }}",
        "{{ '{:>99999999}'.format(1) }}",
        "{{ '{:{}}'.format(1, 99999999) }}",
        "{{ 'x'|center(99999999) }}",
        "{{ 'x'.ljust(99999999) }}",
        "{{ ('ab' * 40000).replace('', 'xyz') }}",
        "{{ range(1000)|batch(99999999, 'x')|list|length }}",
    ],
)
def test_templates_cannot_burn_the_worker(payload: str) -> None:
    compiled = compile_email("Hi", f"<p>{payload}</p>")
    start = time.perf_counter()
    with pytest.raises(RenderError) as info:
        compiled.render(person())
    assert time.perf_counter() - start < 2
    assert "not allowed" in str(info.value)


def test_stylesheet_links_are_never_fetched_or_read(tmp_path: Path) -> None:
    sheet = tmp_path / "evil.css"
    sheet.write_text("p { color: green }")
    for href in (str(sheet), sheet.as_uri()):
        html = f'<html><head><link rel="stylesheet" href="{href}"><style>b{{x:y}}</style>'
        out = html_of(html + "</head><body><p>hi</p></body></html>")
        assert "<p>hi</p>" in out
        assert "green" not in out


# ------------------------------------------------------------------------------ escaping


def test_html_body_escapes_recipient_data() -> None:
    jane = person("<script>alert(1)</script>", company='A "quoted" & <b>bold</b> Ltd')
    out = body(html_of('<p>Hi {{ first_name }}</p><a title="{{ company }}">x</a>', jane))
    assert "<script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert 'title="A &#34;quoted&#34; &amp; &lt;b&gt;bold&lt;/b&gt; Ltd"' in out


def test_subject_and_text_are_not_html_escaped() -> None:
    compiled = compile_email(
        "{{ company }}: offers for {{ first_name }}",
        "<p>x</p>",
        "Dear {{ first_name }} at {{ company }}",
    )
    out = compiled.render(person("Tom & <Jerry>", company="Q&A <Ltd>"))
    assert out.subject == "Q&A <Ltd>: offers for Tom & <Jerry>"
    assert out.text == "Dear Tom & <Jerry> at Q&A <Ltd>"


def test_subject_cannot_inject_headers() -> None:
    compiled = compile_email("Hello {{ first_name }}\n{{ company }}", "<p>x</p>")
    out = compiled.render(person("Eve\r\nBcc: everyone@example.com", company="\u2028Ltd\r"))
    assert out.subject == "Hello Eve Bcc: everyone@example.com Ltd"
    assert "\r" not in out.subject and "\n" not in out.subject


# ------------------------------------------------------------------------------ variables


def test_unknown_variables_reports_typos_only() -> None:
    subject = "{{ frist_name }} {{ first_name }}"
    html = """
      {% set greeting = "Hi" %}{{ greeting }}
      {% for item in attributes.orders %}{{ item.sku }} {{ loop.index }}{% endfor %}
      {% with total = 3 %}{{ total }}{% endwith %}
      {{ company }} {{ plan }} {{ attributes.plan }} {{ attributes['tier'] }}
      {{ range(3)|list }} {{ unsubscribe_url }} {{ view_online_url }} {{ name }} {{ email }}
    """
    text = "{{ last_name }} {{ coupon }}"
    found = unknown_variables(subject, html, text, known={"company", "orders"})
    assert found == ["attributes.plan", "attributes.tier", "coupon", "frist_name", "plan"]
    assert unknown_variables("x", "<p>{{ plan }}</p>", None, ["plan"]) == []
    assert {"email", "first_name", "unsubscribe_url", "attributes"} <= BASE_VARIABLES


def test_required_variables_leave_out_defaults_tests_and_the_templates_own_names() -> None:
    subject = "Hi {{ first_name }}"
    html = """
      {{ first_name | default("there") }} {{ tier | upper | d("basic") }}
      {% if city %}{{ city }}{% endif %} {{ "VIP" if vip else "" }} {{ zip is defined }}
      {% set greeting = "Hi" %}{{ greeting }} {% for o in orders %}{{ o.sku }}{% endfor %}
      {{ attributes.plan }} {{ attributes.coupon | default("none") }} {{ last_name }}
    """
    found = required_variables(subject, html, "{{ unsubscribe_url }}")

    assert found - BASE_VARIABLES == {"attributes.plan", "orders"}
    assert {"first_name", "last_name"} <= found  # the subject uses first_name with no default
    assert required_variables("Hi", '<p>{{ first_name | default("you") }}</p>', None) == set()


def test_unknown_variables_raises_on_syntax_errors() -> None:
    with pytest.raises(TemplateSyntaxProblem) as info:
        unknown_variables("ok", "<p>\n{{ first_name </p>", None, [])
    assert (info.value.field, info.value.line) == ("html", 2)
    with pytest.raises(TemplateSyntaxProblem) as info:
        unknown_variables("ok", "<p>x</p>", "\n\n{{ first_name | nosuchfilter }}", [])
    assert (info.value.field, info.value.line) == ("text", 3)


def test_missing_values_render_empty_or_their_default() -> None:
    template = (
        "<p>[{{ missing }}][{{ missing.deep.deeper }}][{{ attributes.nope }}]"
        "[{{ attributes['nope'].x }}][{{ missing | default('friend') }}]"
        "[{{ first_name | default('friend', true) }}][{{ missing + 1 }}]"
        "[{% if missing > 3 %}big{% else %}small{% endif %}]"
        "[{% for x in missing %}{{ x }}{% else %}none{% endfor %}]</p>"
    )
    out = body(html_of(template, person("")))
    assert out == "<p>[][][][][friend][friend][][small][none]</p>"


def test_recipient_context_exposes_attributes_but_base_names_win() -> None:
    ctx = recipient_context(
        email="real@example.com",
        first_name="Ann",
        last_name="Lee",
        name=None,
        attributes={"email": "spoof@example.com", "plan": "Pro", "range": 5, "fav color": "red"},
        unsubscribe_url="https://u",
        view_online_url="https://v",
    )
    assert ctx["email"] == "real@example.com"
    assert ctx["name"] == "Ann Lee"
    assert ctx["plan"] == "Pro"
    assert ctx["attributes"]["email"] == "spoof@example.com"
    out = compile_email(
        "{{ email }}", "<p>{{ plan }} {{ attributes['fav color'] }} {{ range(2)|list }}</p>"
    ).render(ctx)
    assert out.subject == "real@example.com"
    assert body(out.html) == "<p>Pro red [0, 1]</p>"


def test_sample_context_fills_every_base_variable() -> None:
    ctx = sample_context({"plan": "Team"})
    assert set(ctx) >= BASE_VARIABLES
    assert ctx["plan"] == "Team" and ctx["attributes"]["plan"] == "Team"


# ------------------------------------------------------------------------------ errors


def test_syntax_errors_carry_field_and_line() -> None:
    cases = [
        (("Hi {{ first_name", "<p>x</p>", None), "subject", 1),
        (("Hi", "<p>\n\n{% if x %}</p>", None), "html", 3),
        (("Hi", "<p>x</p>", "line\n{{ first_name | nosuchfilter }}"), "text", 2),
    ]
    for args, fld, line in cases:
        with pytest.raises(TemplateSyntaxProblem) as info:
            compile_email(*args)
        assert (info.value.field, info.value.line) == (fld, line)
        assert info.value.message
        assert str(info.value).startswith(FIELD_LABELS[fld])


def test_one_bad_recipient_does_not_stop_the_batch() -> None:
    compiled = compile_email(
        "Hi {{ first_name }}", "<p>{{ 100 // attributes.orders }} per order</p>"
    )
    results: dict[str, str] = {}
    for who, orders in (("Ann", 4), ("Bob", 0), ("Cid", 5)):
        try:
            results[who] = body(compiled.render(person(who, orders=orders)).html)
        except RenderError as exc:
            results[who] = f"failed in {exc.field}: {exc.message}"
    assert results == {
        "Ann": "<p>25 per order</p>",
        "Bob": "failed in html: ZeroDivisionError: integer division or modulo by zero",
        "Cid": "<p>20 per order</p>",
    }


def test_render_error_names_the_field() -> None:
    compiled = compile_email("{{ 1 / attributes.n }}", "<p>x</p>")
    with pytest.raises(RenderError) as info:
        compiled.render(person(n=0))
    assert info.value.field == "subject"


# ------------------------------------------------------------------------------ text


def test_html_to_text_makes_readable_text() -> None:
    html = """<html><head><title>T</title><style>p { color: red }</style>
      <script>var secret = 1;</script></head><body>
      <div style="display: none">preheader spacer</div>
      <h1>Big   news</h1>
      <p>Hello&nbsp;&amp; welcome,<br>dear&#8239;friend &#8364;5 &lt;3</p>
      <ul><li>One</li><li>Two<ol><li>first</li><li>second</li></ol></li></ul>
      <p><a href="https://example.com/x">Read more</a>
         <a href="https://example.com">https://example.com</a>
         <a href="mailto:help@example.com">help@example.com</a>
         <a href="https://example.com/logo"><img src="l.png" alt="Example logo"></a>
         <a href="#top">Back to top</a></p>
      <table><tr><td>Cell A</td><td>Cell B</td></tr></table>
      <p>a</p><br><br><br><br><br><br><p>b</p>
    </body></html>"""
    assert html_to_text(html) == (
        "Big news\n\n"
        "Hello & welcome,\ndear\u202ffriend €5 <3\n\n"
        "- One\n- Two\n  1. first\n  2. second\n\n"
        "Read more (https://example.com/x) https://example.com help@example.com "
        "Example logo (https://example.com/logo) Back to top\n\n"
        "Cell A\nCell B\n\n"
        "a\n\n\nb"
    )


def test_html_to_text_keeps_preformatted_text() -> None:
    assert html_to_text("<p>Code:</p><pre>  if x:\n      y()</pre>") == (
        "Code:\n\n  if x:\n      y()"
    )


NEWS = """<html><head><style>p { margin: 0 }</style></head><body>
<p>Hello {{ first_name | default("there") }},</p>
{% if attributes.vip %}<p>Thanks for being a <b>VIP</b>!</p>{% endif %}
<ul>
{% for o in attributes.orders %}
  <li><a href="https://shop.example.com/o/{{ o.id }}">{{ o.name }}</a>
      {%- if loop.last %} (latest){% endif %}</li>
{% else %}
  <li>No orders yet</li>
{% endfor %}
</ul>
<p><a href="{{ view_online_url }}">{{ view_online_url }}</a></p>
<p>{% raw %}Use the code {{ FREE }}{% endraw %} &#123;{ not jinja }}</p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</body></html>"""

CONTEXTS = [
    person("Jane", vip=True, orders=[{"id": 1, "name": "Tea"}, {"id": 2, "name": "Cups & <Pot>"}]),
    person("", orders=[]),
    person("Spaces   and\nnewlines", vip=False),
    person("{{ 7 * 7 }}", orders=[{"id": "x", "name": ""}]),
    recipient_context(email="bare@example.com"),
]


def test_text_is_generated_once_and_matches_per_recipient_conversion() -> None:
    compiled = compile_email("Hi", NEWS)
    assert compiled.text_strategy == "compile", compiled.fallback_reasons
    for context in CONTEXTS:
        out = compiled.render(context)
        _html, reference = per_render_reference(NEWS, context)
        assert out.text == reference
    jane = compiled.render(CONTEXTS[0]).text
    assert jane == (
        "Hello Jane,\n\nThanks for being a VIP!\n\n"
        "- Tea (https://shop.example.com/o/1)\n"
        "- Cups & <Pot> (https://shop.example.com/o/2) (latest)\n\n"
        "https://example.com/v/Jane\n\n"
        "Use the code {{ FREE }} {{ not jinja }}\n\n"
        "Unsubscribe (https://example.com/u/Jane)"
    )
    assert "49" not in compiled.render(CONTEXTS[3]).text  # values are never evaluated as Jinja


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<p>{{ attributes.snippet | safe }}</p>", "markup"),
        ("<ol>{% for x in attributes.orders %}<li>{{ x }}</li>{% endfor %}</ol>", "numbered"),
        (
            '{% if attributes.vip %}<a href="https://a">{% else %}<a href="https://b">{% endif %}'
            "Shop</a>",
            "different Jinja blocks",
        ),
        (
            "<html><head><title>{% set t = 'x' %}</title></head><body><p>{{ t }}</p></body></html>",
            "no text",
        ),
        ("<p>{{ first_name | e }}</p>", "escapes"),
    ],
)
def test_text_generation_falls_back_per_render_when_unsure(html: str, reason: str) -> None:
    compiled = compile_email("Hi", html)
    assert compiled.text_strategy == "render"
    assert any(reason in r for r in compiled.fallback_reasons), compiled.fallback_reasons
    context = person("A&B", vip=True, orders=["one", "two"], snippet="<b>bold</b> <i>x</i>")
    out = compiled.render(context)
    assert out.text == html_to_text(compile_email("s", html, inline_css=False).render(context).html)


def test_custom_text_body_is_used_verbatim() -> None:
    compiled = compile_email("Hi", "<p>html</p>", "Hi {{ first_name }},\n\n  indented\n")
    assert compiled.text_strategy == "custom"
    assert compiled.render(person()).text == "Hi Jane,\n\n  indented\n"
    blank = compile_email("Hi", "<p>html {{ first_name }}</p>", "   \n")
    assert blank.render(person()).text == "html Jane"


# ------------------------------------------------------------------------------ CSS

STYLED = """<html><head><style>
  .cell { color: #333333; padding: 4px }
  h1 { font-size: 24px }
  @media only screen and (max-width: 600px) { .cell { font-size: 18px !important } }
</style></head><body>
<h1>Orders for {{ first_name }}</h1>
<table class="orders">
  {% for o in attributes.orders %}
  <tr><td class="cell">{{ o.name }}</td><td class="cell">{{ o.price }}</td></tr>
  {% endfor %}
</table>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</body></html>"""


def test_css_is_inlined_once_at_compile_time_and_loops_in_tables_still_work() -> None:
    compiled = compile_email("Hi", STYLED)
    assert compiled.css_strategy == "compile", compiled.fallback_reasons
    orders = [{"name": "Tea", "price": 3}, {"name": "Cups <6>", "price": 12}]
    out = compiled.render(person(orders=orders)).html
    assert '<h1 style="font-size: 24px;">Orders for Jane</h1>' in out
    assert out.count('<td class="cell" style="color: #333333;padding: 4px;">') == 4
    assert "Cups &lt;6&gt;" in out
    assert "@media only screen and (max-width: 600px)" in out  # kept in a <style> block
    assert ".cell { color" not in out  # plain rules moved into style attributes
    rows = body(out).split("<tr>")[1:]
    assert [r.split("</td>")[0].rsplit(">", 1)[1] for r in rows] == ["Tea", "Cups &lt;6&gt;"]
    assert out.index("<table") < out.index("Tea") < out.index("</table>")


def test_compile_time_inlining_matches_per_recipient_inlining() -> None:
    compiled = compile_email("Hi", STYLED)
    for orders in ([], [{"name": "A", "price": 1}], [{"name": "B&", "price": 2}] * 5):
        context = person(orders=orders)
        reference_html, reference_text = per_render_reference(STYLED, context)
        out = compiled.render(context)
        assert same_html(out.html) == reference_html
        assert out.text == reference_text


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ('<style>.vip{color:red}</style><p class="{{ attributes.tier }}">x</p>', "class"),
        (
            "<style>tr:nth-child(even) td{background:#eee}</style><table>"
            "{% for o in attributes.orders %}<tr><td>{{ o }}</td></tr>{% endfor %}</table>",
            "structural",
        ),
        ("<style>p{color:{{ attributes.brand }}}</style><p>x</p>", "<style>"),
        (
            "<style>div{color:red}</style>{% if attributes.vip %}<div>{% endif %}<p>x</p></div>",
            "different Jinja blocks",
        ),
        ("<style>p{color:red}</style><p>{{ attributes.snippet | safe }}</p>", "markup"),
        (
            "<style>td{color:red}</style><table>{% for o in attributes.orders %}"
            "<td>{{ o }}</td>{% endfor %}</table>",
            "moved",
        ),
    ],
)
def test_risky_templates_are_inlined_per_render(html: str, reason: str) -> None:
    compiled = compile_email("Hi", html)
    assert compiled.css_strategy == "render"
    assert any(reason in r for r in compiled.fallback_reasons), compiled.fallback_reasons
    context = person(
        tier="vip", orders=["a", "b", "c"], brand="#123456", vip=True, snippet="<p>inner</p>"
    )
    reference_html, _text = per_render_reference(html, context)
    assert same_html(compiled.render(context).html) == reference_html


def test_per_render_inlining_styles_dynamic_structure() -> None:
    html = (
        "<style>tr:nth-child(even) td{background:#eee}</style><table>"
        "{% for o in attributes.orders %}<tr><td>{{ o }}</td></tr>{% endfor %}</table>"
    )
    out = html_of(html, person(orders=["a", "b", "c", "d"]))
    assert out.count('<td style="background: #eee;">') == 2
    colour = html_of(
        "<style>p{color:{{ attributes.brand }}}</style><p>x</p>", person(brand="#abcdef")
    )
    assert '<p style="color: #abcdef;">x</p>' in colour


def test_css_inlining_can_be_switched_off() -> None:
    out = html_of("<style>p{color:red}</style><p>x</p>", inline_css=False)
    assert out == "<style>p{color:red}</style><p>x</p>"
    assert compile_email("s", "<p>no styles</p>").css_strategy == "none"


# ------------------------------------------------------------------------------ compile once


def test_compile_once_render_many(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = compile_email("Deals for {{ first_name }}", STYLED)

    def no_parsing(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("render must not parse templates")

    monkeypatch.setattr(MailSandbox, "parse", no_parsing)
    monkeypatch.setattr(MailSandbox, "from_string", no_parsing)
    names = [f"User{i:03d}" for i in range(50)]
    outs = [
        compiled.render(person(n, orders=[{"name": n.lower(), "price": i}]))
        for i, n in enumerate(names)
    ]
    for i, (name, out) in enumerate(zip(names, outs, strict=True)):
        assert out.subject == f"Deals for {name}"
        assert f"Orders for {name}</h1>" in out.html
        assert f">{name.lower()}</td>" in out.html and f">{i}</td>" in out.html
        assert f"https://example.com/u/{name}" in out.text
        assert not any(other in out.html + out.text for other in names if other != name)


# ------------------------------------------------------------------------------ preview


def test_preview_reports_problems_instead_of_raising() -> None:
    broken = render_preview("Hi {{ first_name", "<p>{% if %}</p>", None, sample_context())
    assert broken.email is None
    assert len(broken.problems) == 2
    assert broken.problems[0].startswith("Subject, line 1:")
    assert broken.problems[1].startswith("HTML body, line 1:")

    typo = render_preview("Hi {{ frist_name }}", "<p>{{ company }}</p>", None, sample_context())
    assert typo.email is not None and typo.email.html.endswith("<p>Example Ltd</p>")
    assert typo.unknown_variables == ["frist_name"]
    assert typo.problems == ["Unknown variable 'frist_name' will render empty."]

    failing = render_preview("Hi", "<p>{{ 1 / 0 }}</p>", None, sample_context())
    assert failing.email is None
    assert failing.problems == ["HTML body: ZeroDivisionError: division by zero"]

    escape = render_preview("Hi", "<p>{{ email|attr('__class__') }}</p>", None, sample_context())
    assert escape.email is None and "not allowed" in escape.problems[0]

    good = render_preview("Hi {{ first_name }}", "<p>Hello</p>", "", sample_context())
    assert good.ok and good.email is not None
    assert (good.email.subject, good.email.text) == ("Hi Jane", "Hello")


# ------------------------------------------------------------------------------ equivalence

SNIPPETS = [
    "<p>Hello {{ first_name }}, {{ attributes.x }}</p>",
    "<p>Static &amp; text &#123;{ a }} <b>bold</b> <i>{{ attributes.y }}</i></p>",
    '{% if attributes.flag %}<div class="box">Flag {{ attributes.x }}</div>{% endif %}',
    "{% if attributes.flag %}<p>yes</p>{% else %}<h2>no</h2>{% endif %}",
    '<table class="t">{% for r in attributes.rows %}<tr><td class="c">{{ r }}</td></tr>'
    "{% endfor %}</table>",
    '<ul>{% for r in attributes.rows %}<li><a href="https://e.com/{{ r }}">{{ r }}</a></li>'
    "{% else %}<li>none</li>{% endfor %}</ul>",
    '<p><a href="{{ unsubscribe_url }}">{{ attributes.label }}</a></p>',
    "<br>{{ attributes.x }}<br><br>",
    "{% for r in attributes.rows %}<p>{{ r }}</p>{% endfor %}",
    "<div>{% if attributes.flag %}A{% endif %}</div><div>B</div>",
    '<img src="x.png" alt="{{ attributes.label }}">',
    '<p class="{{ attributes.cls }}">dynamic class</p>',
    '{% if attributes.flag %}<div class="box">{% endif %}<p>in?</p>'
    "{% if attributes.flag %}</div>{% endif %}",
    '<table>{% for r in attributes.rows %}<td class="c">{{ r }}</td>{% endfor %}</table>',
    "<ul>{% for r in attributes.rows %}<li>{{ r }}{% endfor %}</ul>",
    "<ol>{% for r in attributes.rows %}<li>{{ r }}</li>{% endfor %}</ol>",
    "<div><b>{% if attributes.flag %}<i>{% endif %}x</b>y</i></div>",
    '<div style="display:{{ attributes.display }}">maybe hidden</div>',
    "<pre>  {{ attributes.x }}\n  line</pre>",
]
STYLES = [
    "",
    "<style>p{color:red} .box{padding:2px} td{font-size:12px} .c{color:blue}"
    " @media (max-width:600px){p{color:green}}</style>",
    "<style>tr:nth-child(even) td{color:red} .box p{color:blue} [class~=box]{margin:0}"
    " .vip{color:gold}</style>",
]
VALUES = ["", "x", "A & B", "<b>tag</b>", "  spaced  out \n x ", "{{ 1+1 }}", "\xa0nb", "é"]


def test_compile_time_work_always_equals_per_recipient_work() -> None:
    """Random templates (safe and risky) and recipients: whatever strategy compile_email picks,
    every email equals running CSS inlining and html_to_text for each recipient."""
    rng = random.Random(20240521)
    strategies: set[tuple[str, str]] = set()
    for _ in range(80):
        parts = [rng.choice(SNIPPETS) for _ in range(rng.randint(1, 5))]
        page = "<html><head>{}</head><body>{}</body></html>"
        html = rng.choice([page, "{}{}"]).format(rng.choice(STYLES), "\n".join(parts))
        compiled = compile_email("s", html)
        strategies.add((compiled.css_strategy, compiled.text_strategy))
        for _ in range(3):
            context = person(
                rng.choice(["Jane", "", "<J>"]),
                x=rng.choice(VALUES),
                y=rng.choice(VALUES),
                label=rng.choice(VALUES),
                flag=rng.choice([True, False, None]),
                cls=rng.choice(["box", "vip", ""]),
                display=rng.choice(["none", "block"]),
                rows=[rng.choice(VALUES) for _ in range(rng.randint(0, 3))],
            )
            out = compiled.render(context)
            reference_html, reference_text = per_render_reference(html, context)
            assert same_html(out.html) == reference_html, html
            assert out.text == reference_text, html
    assert {("compile", "compile"), ("render", "render"), ("none", "compile")} <= strategies


def test_dict_methods_on_attributes_are_not_unknown_variables() -> None:
    html = (
        "<p>{{ attributes.get('tier', 'basic') }} {% for k, v in attributes.items() %}{% endfor %}"
    )
    assert unknown_variables("s", html, None, []) == []


def test_preview_knows_the_context_it_renders_with() -> None:
    context = person(tier="gold")
    preview = render_preview(
        "s", "<p>{{ tier }} {{ attributes.tier }} {{ nope }}</p>", None, context
    )
    assert preview.unknown_variables == ["nope"]
    assert preview.email is not None and "<p>gold gold </p>" in preview.email.html
