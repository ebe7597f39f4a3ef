"""The starter gallery: ready-made responsive emails (MJML) a new template can begin from.

Each starter is an MJML file in ``starter_files/``; its images are static files under
``static/starters/`` named ``STARTER_IMAGES/<file>`` in the MJML and given this installation's
public address when a template is made from it (mail clients load them from there). The
emails' words are English: a marketer rewrites them anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from mailer.engine import rendering
from mailer.extensions import db
from mailer.lib import branding
from mailer.lib.errors import ValidationError
from mailer.models import Template
from mailer.models.templates import Editor
from mailer.services.templates import NAME_MAX

FILES = Path(__file__).parent / "starter_files"
IMAGES = "STARTER_IMAGES/"
SAMPLE_ADDRESS = "Your Brand, 12 Harbour Street, 1100-001 Lisbon, Portugal"


@dataclass(frozen=True)
class Starter:
    key: str  # its file: starter_files/<key>.mjml
    name: str  # lazy strings: shown in the reader's language
    description: str
    subject: str  # English, like the email


STARTERS: tuple[Starter, ...] = (
    Starter(
        "newsletter",
        _l("Newsletter"),
        _l("A main story with a button, two articles side by side and a quote."),
        "The month in five minutes",
    ),
    Starter(
        "promotion",
        _l("Promotion"),
        _l("A sale or discount: big offer, a code to copy, one button, three reassurances."),
        "25% off everything, until Sunday",
    ),
    Starter(
        "announcement",
        _l("Product announcement"),
        _l("A new product with its picture, three key figures and a pre-order button."),
        "Meet Tablet One",
    ),
    Starter(
        "welcome",
        _l("Welcome"),
        _l("For new subscribers or customers: a warm hello and three first steps."),
        "Welcome to Your Brand",
    ),
    Starter(
        "event",
        _l("Event invitation"),
        _l("Date, place and programme of an event, with a button to save a seat."),
        "You are invited: Autumn Meetup",
    ),
    Starter(
        "letter",
        _l("Plain letter"),
        _l("Just words, like a personal email: no images, no buttons."),
        "A note from our founder",
    ),
    Starter(
        "digest",
        _l("Digest"),
        _l("Several articles, each with a picture, a summary and a link."),
        "This week's reads",
    ),
    Starter(
        "receipt",
        _l("Receipt"),
        _l("A transactional email: order number, items, totals and delivery address."),
        "Your receipt from Your Brand",
    ),
)
_BY_KEY = {starter.key: starter for starter in STARTERS}


def get_starter(key: str) -> Starter | None:
    return _BY_KEY.get(key)


@cache
def _file(key: str) -> str:
    return (FILES / f"{key}.mjml").read_text(encoding="utf-8")


def images_url() -> str:
    """Where recipients' mail clients find the starters' images (ends with a slash)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}{current_app.static_url_path}/starters/"


def source_of(starter: Starter, images: str | None = None) -> str:
    """The starter's MJML, its images at ``images`` (default: this installation's public
    address, for mail clients)."""
    return _file(starter.key).replace(IMAGES, images or images_url())


def html_of(starter: Starter, images: str | None = None) -> str:
    """The compiled HTML (template tags kept), as a template made from it holds."""
    return rendering.compile_mjml(source_of(starter, images))


def preview_context() -> dict[str, Any]:
    """Sample data, with the sender's postal address (branding) or a believable one."""
    context = rendering.sample_context()
    lines = branding.load().address_lines
    context.setdefault("postal_address", ", ".join(lines) or SAMPLE_ADDRESS)
    return context


def preview_html(starter: Starter, images: str, context: dict[str, Any] | None = None) -> str:
    """The starter as a recipient would see it, filled with sample data (a gallery card)."""
    html = html_of(starter, images)
    filled = context if context is not None else preview_context()
    # MJML writes its styles inline already, and the frame reads the <style> in its head
    email = rendering.compile_email(starter.subject, html, None, inline_css=False)
    return email.render(filled).html


def previews(images: str) -> list[tuple[Starter, str]]:
    """Every starter with its preview (``images``: where the page's frames find them)."""
    context = preview_context()
    return [(starter, preview_html(starter, images, context)) for starter in STARTERS]


def create_from_starter(key: str, name: str) -> Template:
    """A new template (visual editor) from a starter; ValidationError (field "name") when the
    name is missing, too long or taken, ("key") for an unknown starter."""
    starter = get_starter(key)
    if starter is None:
        raise ValidationError({"key": _("This starter does not exist: pick one in the gallery.")})
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the template a name.")})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": _("Use at most %(n)s characters.", n=NAME_MAX)})
    taken = {"name": _("Another template already has this name.")}
    if db.session.scalar(db.select(Template.id).filter_by(name=name).limit(1)):
        raise ValidationError(taken, conflicts=["name"])
    source = source_of(starter)
    template = Template(
        name=name,
        subject=starter.subject,
        editor=Editor.VISUAL.value,
        source=source,
        html=rendering.compile_mjml(source),
        text=None,
        design=None,
    )
    db.session.add(template)
    try:
        db.session.commit()
    except IntegrityError:  # the same name saved at the same moment
        db.session.rollback()
        raise ValidationError(taken, conflicts=["name"]) from None
    return template
