"""No template runs inline script (issue 16, item 4): behaviour lives in static/js/app.js.

HTML-escaping does not make a value safe inside JavaScript: ``onsubmit="return confirm('{{ email
}}')"`` ran ``x'-alert`1`-'x@example.com``. So templates have no ``on*=`` or ``hx-on`` attribute,
no ``js:``/``javascript:`` value and no inline ``<script>`` (a JSON data block is fine), and no
inline style either: the Content-Security-Policy refuses both, so such markup would also break.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest

import mailer

TEMPLATES = Path(mailer.__file__).parent / "templates"
OUTPUT = "TEMPLATE_OUTPUT"  # stands for each {{ … }} once the Jinja syntax is taken out
DATA_TYPES = ("application/json",)


def markup_of(source: str) -> str:
    """The HTML a template writes, with {{ … }} as OUTPUT and {% … %}, {# … #} removed."""
    parts, skip = [], None
    for _, kind, value in jinja2.Environment(autoescape=True).lex(source):
        if kind in ("variable_begin", "block_begin", "comment_begin", "raw_begin"):
            skip = kind.split("_")[0]
            if skip == "variable":
                parts.append(OUTPUT)
            elif skip == "block":
                parts.append(" ")
        elif kind.endswith("_end"):
            skip = None
        elif skip is None and kind == "data":
            parts.append(value)
    return "".join(parts)


class ScriptFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        where = f"line {self.getpos()[0]} <{tag}>"
        for name, value in attrs:
            value = value or ""
            if name.startswith(("on", "hx-on", "data-hx-on")):
                output = " with template output in it" if OUTPUT in value else ""
                self.problems.append(f"{where}: event handler attribute {name}{output}")
            if value.strip().lower().startswith(("js:", "javascript:")):
                self.problems.append(f"{where}: script in {name}={value!r}")
            if name == "style":
                self.problems.append(f"{where}: inline style")
        found = dict(attrs)
        if tag == "script" and "src" not in found and found.get("type") not in DATA_TYPES:
            self.problems.append(f"{where}: inline script")
        if tag == "style":
            self.problems.append(f"{where}: inline <style>")


def problems_of(source: str) -> list[str]:
    finder = ScriptFinder()
    finder.feed(markup_of(source))
    finder.close()
    return finder.problems


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_no_inline_script(path: Path):
    assert problems_of(path.read_text()) == []


def test_the_check_finds_what_it_looks_for():
    assert len(_templates()) > 40
    old = """<form method="post" onsubmit="return confirm('Delete {{ s.email }}?')">"""
    assert problems_of(old) == [
        "line 1 <form>: event handler attribute onsubmit with template output in it"
    ]
    assert problems_of("""<button {% if x %}onclick="go()"{% endif %}>""") == [
        "line 1 <button>: event handler attribute onclick"
    ]
    assert problems_of("""<a hx-on::after-request="x()">""")
    assert problems_of("""<b hx-vals='js:{"i": n}'>""")
    assert problems_of("<script>var u = {{ user|tojson }};</script>") == [
        "line 1 <script>: inline script"
    ]
    assert problems_of('<p style="color: red">') == ["line 1 <p>: inline style"]
    fine = """<form data-confirm="Delete {{ s.email }}?">{# onclick= #}
        <script src="{{ url_for('static', filename='js/app.js') }}" defer></script>
        <script type="application/json" id="d">{{ data|tojson }}</script>"""
    assert problems_of(fine) == []
