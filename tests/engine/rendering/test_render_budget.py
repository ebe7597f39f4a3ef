"""Every render has a time and size budget: a template cannot stall the worker rendering it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from mailer.engine.rendering import (
    RenderError,
    RenderLimits,
    TemplateSyntaxProblem,
    compile_email,
    recipient_context,
    render_preview,
    sample_context,
    unknown_variables,
)
from mailer.engine.rendering.budget import Budget, RenderTooSlow

# The two templates of issue 16: string work on a 100k string in nested loops (13-22 s for one
# preview), and a list of lists sharing one string (hundreds of MB once printed).
SLOW = (
    '{% set a = "x" * 100000 %}{% for i in range(1000) %}{% for j in range(99) %}'
    "{{ a.upper()|length }}{% endfor %}{% endfor %}"
)
HUGE = '{% set a = "x" * 1000 %}{% set n = 1000 %}{% set b = [a] * n %}{% set c = [b] * n %}{{ c }}'
TOO_SLOW = "HTML body of “Spring promo”: rendering took longer than 300 ms and was stopped"
TOO_BIG = "would be longer than 2,000,000 characters and was stopped"


def person(**attributes: Any) -> dict[str, Any]:
    return recipient_context("ann@example.com", "ann", "Lee", attributes=attributes)


@pytest.mark.parametrize(("html", "message"), [(SLOW, TOO_SLOW), (HUGE, TOO_BIG)])
def test_the_templates_of_the_issue_are_stopped_naming_the_template(html: str, message: str):
    compiled = compile_email("Hi", f"<p>{html}</p>", name="Spring promo")
    with pytest.raises(RenderError) as info:
        compiled.render(sample_context())
    assert info.value.over_budget and info.value.field == "html"
    assert message in str(info.value)
    assert str(info.value).startswith("HTML body of “Spring promo”: ")


A = '{% set a = "&" * 100000 %}'
X = '{% set x = "x" * 100000 %}'


@pytest.mark.parametrize(
    "payload",
    [
        A + "{{ a" + "|forceescape" * 12 + "|length }}",  # each step five times longer
        A + '{{ [a]|map("forceescape")' + '|map("forceescape")' * 12 + "|list|length }}",
        X + '{{ ("{0}" * 30000).format(x)|length }}',  # one argument printed 30,000 times
        X + '{{ ("%(x)s" * 20000) % {"x": x} }}',
        X + '{{ ("%(x)s" * 20000)|format(x=x) }}',
        X + "{{ (x" + " ~ x" * 2000 + ")|length }}",
        '{% set n = "\\n" * 100000 %}{{ n|indent(1000)|length }}',
        '{% set s = "a " * 50000 %}{{ s|wordwrap(1, wrapstring="y" * 100000)|length }}',
        '{% set u = "a.co " * 20000 %}{{ u|urlize(target="t" * 50000)|length }}',
        "{% set l = [[1]] * 100000 %}{{ l|sum(start=[])|length }}",
        "{% set m = [range(1000)|list] * 100 %}{{ m|tojson(indent=1000)|length }}",
        "{% set m = [range(1000)|list] * 100 %}{{ m|pprint|length }}",
        X + '{% set d = {"a": x, "b": x, "c": x} %}{% set e = [d, d, d, d, d, d, d] %}{{ e }}',
        "{% set l = range(1000)|list %}{% set m = [l|string] * 1000 %}{{ m|length }}",
        "{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% for j in range(99) %}"
        "{% set ns.x = [ns.x] %}{% endfor %}{% endfor %}{{ ns.x|length }}",
        # <style> rules are copied into every element they style: 2,000 x 2,000 declarations
        "<style>p{" + ";".join(f"a{i}:1" for i in range(2000)) + "}</style>" + "<p></p>" * 2000,
    ],
)
def test_values_are_measured_before_they_are_built(payload: str) -> None:
    compiled = compile_email("Hi", f"<div>{payload}</div>", name="Spring promo")
    with pytest.raises(RenderError) as info:
        compiled.render(person())
    assert str(info.value).startswith("HTML body of “Spring promo”: ")
    assert "characters" in info.value.message or "took longer than" in info.value.message


def test_the_output_is_counted_while_it_is_produced() -> None:
    compiled = compile_email(
        "Hi", '{% set x = "y" * 10000 %}{% for i in range(999) %}{{ x }}{% endfor %}'
    )
    with pytest.raises(RenderError, match=TOO_BIG):
        compiled.render(person())


def test_limits_are_settings(app) -> None:
    app.config.update(MAILER_RENDER_TIMEOUT_MS=50, MAILER_RENDER_MAX_CHARS=1000)
    compiled = compile_email("Hi", "<p>{{ attributes.text }}</p>")
    assert compiled.limits == RenderLimits(timeout_ms=50, max_chars=1000)
    assert compiled.render(person(text="x" * 900)).html == f"<p>{'x' * 900}</p>"
    with pytest.raises(RenderError, match="longer than 1,000 characters"):
        compiled.render(person(text="x" * 1000))
    with pytest.raises(RenderError, match="longer than 50 ms"):
        compile_email(
            "Hi", SLOW.replace("{{ a.upper()|length }}", "{% set b = a.upper() %}")
        ).render(person())


def test_a_template_over_its_time_for_everyone_soon_costs_little() -> None:
    """After three recipients in a row over the time budget, a render gets 20 ms, until one
    renders: the send loop goes on at a pace, and recipients it can mail still get mail."""
    compiled = compile_email(
        "Hi", "<p>{{ first_name }}{% if attributes.slow %}" + SLOW + "{% endif %}</p>"
    )
    for _ in range(3):
        with pytest.raises(RenderError, match="longer than 300 ms"):
            compiled.render(person(slow=True))
    with pytest.raises(RenderError, match="longer than 20 ms"):
        compiled.render(person(slow=True))
    assert compiled.render(person(slow=False)).html == "<p>ann</p>"
    with pytest.raises(RenderError, match="longer than 300 ms"):
        compiled.render(person(slow=True))


def test_time_spent_waiting_for_the_processor_does_not_count() -> None:
    budget = Budget(20, 1000)
    budget.check()
    time.sleep(0.05)  # a busy machine kept the render waiting: no CPU time used
    budget.check()
    with pytest.raises(RenderTooSlow):
        while True:  # CPU time used: stopped
            budget.check()


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}", "nested too deeply"),
        ("{% if x %}" * 500 + "{% endif %}" * 500, "nested too deeply"),
        ("{{ " + "[" * 2000 + "]" * 2000 + " }}", "nested too deeply"),
        ("<p>{{ first_name }}</p>" * 4000, "too long to compile quickly: more than 20,000"),
    ],
)
def test_templates_that_take_long_to_compile_are_refused_as_syntax_problems(html, message):
    """Compiling costs time too (and deep nesting exhausted Python's stack: a 500)."""
    with pytest.raises(TemplateSyntaxProblem, match=message):
        compile_email("Hi", html)
    with pytest.raises(TemplateSyntaxProblem, match=message):
        unknown_variables("Hi", html, None, [])
    preview = render_preview("Hi", html, None, sample_context())
    assert preview.email is None and message in preview.problems[0]


NORMAL = """<h1>Hello {{ first_name|default("there")|title }},</h1>
{% set ns = namespace(total=0) %}
<ul>{% for item in attributes.cart|sort(attribute="price") %}
  <li class="{{ loop.cycle('odd', 'even') }}">{{ loop.index }}. {{ item.name|upper|truncate(12) }}
  {{ "%.2f"|format(item.price) }} EUR{% if not loop.last %},{% endif %}</li>
  {% set ns.total = ns.total + item.price * item.qty %}
{% endfor %}</ul>
<p>Total: {{ "%.2f"|format(ns.total) }}; {{ attributes.cart|map(attribute="name")|join(", ") }}</p>
<p>{{ ("Dear " ~ first_name ~ " " ~ last_name)|trim }} from {{ attributes.city|default("-") }}
({{ attributes.tags|select("ne", "vip")|list|length }} tags{% if "vip" in attributes.tags %}, VIP
{%- endif %})</p>
<p>{{ [first_name, last_name]|join(" ") }} {{ {"a": 1, "b": 2}|dictsort|list }} {{ email[:4] }}
{{ range(3)|list|sum }} {{ attributes.note|wordwrap(20) }}</p>
<p>{{ "{} and {}".format(first_name, attributes.city) }} {{ "%s/%s" % (1, 2) }}
{{ attributes.tags|tojson }} {{ attributes.note|indent(2) }}</p>"""


def test_normal_templates_render_as_before() -> None:
    cart = [
        {"name": "Teapot deluxe edition", "price": 30.5, "qty": 2},
        {"name": "Cup", "price": 4.25, "qty": 6},
    ]
    note = "A fairly long note about this person that wraps."
    context = person(city="Porto", tags=["vip", "new"], note=note, cart=cart)
    email = compile_email("Hi {{ first_name|title }}, {{ attributes.cart|length }} items", NORMAL)
    rendered = email.render(context)
    assert rendered.subject == "Hi Ann, 2 items"
    assert rendered.html == (
        "<h1>Hello Ann,</h1>\n<ul>"
        '  <li class="odd">1. CUP\n  4.25 EUR,</li>\n'
        '  <li class="even">2. TEAPOT...\n  30.50 EUR</li>\n'
        "</ul>\n<p>Total: 86.50; Teapot deluxe edition, Cup</p>\n"
        "<p>Dear ann Lee from Porto\n(1 tags, VIP)</p>\n"
        "<p>ann Lee [(&#39;a&#39;, 1), (&#39;b&#39;, 2)] ann@\n"
        "3 A fairly long note\nabout this person\nthat wraps.</p>\n"
        "<p>ann and Porto 1/2\n"
        '["vip", "new"] A fairly long note about this person that wraps.</p>'
    )
    assert rendered.text == (
        "Hello Ann,\n\n- 1. CUP 4.25 EUR,\n- 2. TEAPOT... 30.50 EUR\n\n"
        "Total: 86.50; Teapot deluxe edition, Cup\n\nDear ann Lee from Porto (1 tags, VIP)\n\n"
        "ann Lee [('a', 1), ('b', 2)] ann@ 3 A fairly long note about this person that wraps.\n\n"
        'ann and Porto 1/2 ["vip", "new"] A fairly long note about this person that wraps.'
    )
