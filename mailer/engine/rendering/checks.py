"""Checks on an email before it is saved or launched: alt text on images, the unsubscribe link,
Gmail's clipping size, and fixed widths that make a phone or a mail window scroll sideways.

Each check reads the email filled with sample data (the HTML that goes out, CSS inlined), so
template tags do not confuse it. Findings carry an English template and its values (pages
translate them) and say whether they block a launch: only the missing unsubscribe link does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Literal

from mailer.engine.rendering.compiler import RenderedEmail, compile_email
from mailer.engine.rendering.context import sample_context
from mailer.engine.rendering.errors import RenderError, TemplateSyntaxProblem
from mailer.lib.i18n import N_

Kind = Literal["alt", "unsubscribe", "clip", "width"]
UNSUBSCRIBE_SAMPLE = sample_context()["unsubscribe_url"]
# Gmail hides the rest of a message whose HTML passes about 102 KB behind "[Message clipped]".
CLIP_BYTES = 102_000
# Sending makes the HTML longer: each link becomes a signed click link (about 110 characters
# on a 30-character public address: LINK_ALLOWANCE is generous), and the open pixel and, when
# the email has no unsubscribe link, the default footer are added (FOOTER_ALLOWANCE).
LINK_ALLOWANCE = 150
FOOTER_ALLOWANCE = 1_000
WINDOWS = (600, 375)  # a desktop mail client's reading pane, a phone
# Table cells are not here: their width is only a wish that the browser gives up on a narrow
# screen (MJML's columns rely on it). Tables, images and blocks keep a fixed width.
_CELLS = frozenset({"td", "th", "col", "colgroup", "tr", "tbody", "thead", "tfoot"})
_PX = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px)?\s*$", re.I)
_LINK = re.compile(r"<a\b[^>]*\bhref\s*=", re.I)

NO_UNSUBSCRIBE = N_(
    "The email has no %(variable)s link. Add one, e.g. "
    '<a href="%(variable)s">Unsubscribe</a>: recipients must be able to leave.'
)


@dataclass(frozen=True)
class Finding:
    """A problem to show: ``explanation % values`` once translated."""

    kind: Kind
    explanation: str
    values: dict[str, object] = field(default_factory=dict)
    blocking: bool = False  # refuses the launch


def sample_email(subject: str, html: str, text: str | None) -> RenderedEmail | None:
    """The email filled with sample data, or None when it does not compile or render."""
    try:
        return compile_email(subject, html, text).render(sample_context())
    except (TemplateSyntaxProblem, RenderError):
        return None


def carries_unsubscribe(html: str, text: str | None, email: RenderedEmail | None) -> bool:
    """Does the email (``email``: its sample rendering, None if it failed) carry the
    recipient's unsubscribe URL? Without a rendering, the variable's name is looked for."""
    if email is None:
        return "unsubscribe_url" in html or "unsubscribe_url" in (text or "")
    return UNSUBSCRIBE_SAMPLE in email.html or UNSUBSCRIBE_SAMPLE in email.text


def has_unsubscribe_link(subject: str, html: str, text: str | None) -> bool:
    """Does the email, filled with sample data, carry the recipient's unsubscribe URL?"""
    return carries_unsubscribe(html, text, sample_email(subject, html, text))


def _style(value: str | None) -> dict[str, str]:
    declarations = {}
    for part in (value or "").split(";"):
        name, colon, val = part.partition(":")
        if colon:
            declarations[name.strip().lower()] = val.replace("!important", "").strip().lower()
    return declarations


def _px(value: str | None) -> float | None:
    found = _PX.match(value or "")
    return float(found.group(1)) if found else None


class _Scan(HTMLParser):
    """Images without alt text and the widest element of fixed width. Comments are skipped,
    with them Outlook's conditional blocks (``<!--[if mso | IE]>…<![endif]-->``) that MJML
    writes for Outlook's fixed-width tables."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.no_alt: list[str] = []
        self.widest: tuple[float, str] = (0, "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        style = _style(attributes.get("style"))
        if tag == "img" and attributes.get("alt") is None:
            tiny = attributes.get("width") == "1" and attributes.get("height") == "1"
            if not tiny:  # an open pixel, which has alt="" anyway
                self.no_alt.append(attributes.get("src") or "")
        if tag in _CELLS or style.get("display") == "none":
            return
        width = fixed_width(attributes.get("width"), style)
        if width > self.widest[0]:
            self.widest = (width, tag)

    handle_startendtag = handle_starttag


def fixed_width(attribute: str | None, style: dict[str, str]) -> float:
    """The width (px) an element keeps whatever the window; 0 when it can shrink."""
    width: float | None = None
    if "width" in style:
        width = _px(style["width"])  # a percentage or auto: fluid
    elif attribute is not None:
        width = _px(attribute)
    if width is not None and "max-width" in style:
        limit = _px(style["max-width"])
        width = None if limit is None else min(width, limit)
    return max(width or 0, _px(style.get("min-width")) or 0)


def check_email(html: str, text: str | None = None, subject: str = "") -> list[Finding]:
    """What to fix or know before sending this HTML (a template's, tags and all)."""
    email = sample_email(subject, html, text)
    sent = email.html if email is not None else html
    scan = _scan(sent)
    findings = [
        Finding(
            "alt",
            N_("The image %(src)s has no alt text (shown when images are off)."),
            {"src": src or "?"},
        )
        for src in scan.no_alt
    ]
    if not carries_unsubscribe(html, text, email):
        findings.append(
            Finding("unsubscribe", NO_UNSUBSCRIBE, {"variable": "{{ unsubscribe_url }}"}, True)
        )
    size = estimated_size(sent)
    if size > CLIP_BYTES:
        findings.append(
            Finding(
                "clip",
                N_(
                    "The email weighs about %(size)s KB once links are tracked: Gmail cuts "
                    "emails above about 102 KB and hides the rest behind “View entire "
                    "message”. Shorten it or remove some of its content."
                ),
                {"size": round(size / 1000)},
            )
        )
    width, tag = scan.widest
    failing = [window for window in WINDOWS if width > window]
    if failing:
        explanation = (
            N_(
                "A <%(element)s> is %(width)s px wide: wider than a mail window (%(window)s px) "
                "and a phone, readers will scroll sideways. Use a width of 100%% with a "
                "maximum, or build the email with the visual editor."
            )
            if failing[0] == WINDOWS[0]
            else N_(
                "A <%(element)s> is %(width)s px wide: wider than a phone (%(window)s px), "
                "readers will scroll sideways. Use a width of 100%% with a maximum, or build "
                "the email with the visual editor."
            )
        )
        findings.append(
            Finding(
                "width", explanation, {"element": tag, "width": round(width), "window": failing[0]}
            )
        )
    return findings


def _scan(html: str) -> _Scan:
    scan = _Scan()
    scan.feed(html)
    scan.close()
    return scan


def estimated_size(html: str) -> int:
    """Bytes of the HTML once sent: as rendered, plus the tracking allowances."""
    return len(html.encode()) + LINK_ALLOWANCE * len(_LINK.findall(html)) + FOOTER_ALLOWANCE
