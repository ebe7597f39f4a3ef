"""Editing the sender's branding (the settings page); lib.branding stores and reads it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import gettext as _

from mailer.lib import branding
from mailer.lib.errors import ValidationError
from mailer.services import assets

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
MAX = 255  # installation values are 255 characters


def save(form, logo_file=None, user=None) -> branding.Branding:
    """``logo_file`` (an uploaded file, optional; issue 18) goes into the image library and
    becomes the logo, whatever ``logo_url`` says."""
    errors: dict[str, str] = {}
    name = (form.get("name") or "").strip()
    logo_url = (form.get("logo_url") or "").strip()
    if logo_file is not None and logo_file.filename:
        try:
            logo = assets.add_image(logo_file.stream, logo_file.filename, user)
            logo_url = assets.public_url(logo)
        except ValidationError as exc:
            errors["logo_file"] = exc.errors.get(assets.FILE, str(exc))
    color = (form.get("color") or "").strip()
    address = "\n".join(
        line.strip() for line in (form.get("address") or "").splitlines() if line.strip()
    )
    if len(name) > 200:
        errors["name"] = _("Use at most %(n)s characters.", n=200)
    if logo_url and not assets.is_library_url(logo_url):
        parts = urlsplit(logo_url)
        if parts.scheme != "https" or not parts.netloc or len(logo_url) > MAX:
            errors["logo_url"] = _("Give the logo’s full address, starting with https://.")
    if color and not _COLOR.fullmatch(color):
        errors["color"] = _("Give a colour like #1e6fd9.")
    if len(address) > MAX:
        errors["address"] = _("Use at most %(n)s characters.", n=MAX)
    if errors:
        raise ValidationError(errors)
    color = color.lower()
    if color == branding.DEFAULT_COLOR:  # the picker's starting value: no colour chosen
        color = ""
    value = branding.Branding(name=name, logo_url=logo_url, color=color, address=address)
    branding.store(value)
    return value
