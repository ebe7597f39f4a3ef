"""The image library (issue 18): upload, list and delete the images emails show.

An upload is read up to MAILER_ASSET_MAX_BYTES, decoded by Pillow (PNG, JPEG, GIF and WebP
only) and re-encoded, so what is served is pixels Pillow wrote, without the upload's metadata
(EXIF, GPS, comments, text chunks, colour profiles). Animated GIF and WebP keep their frames.
The stored file is named by the SHA-256 of those bytes: the same image twice is one asset.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from flask import current_app
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from mailer.extensions import db
from mailer.lib.errors import ValidationError
from mailer.lib.storage import asset_storage
from mailer.models import Asset, Campaign, CampaignStatus, Template, User

CHUNK = 64 * 1024
# Pillow format -> (extension, media type, save options)
FORMATS = {
    "PNG": ("png", "image/png", {"optimize": True}),
    "JPEG": ("jpg", "image/jpeg", {"quality": 90, "optimize": True}),
    "GIF": ("gif", "image/gif", {}),
    "WEBP": ("webp", "image/webp", {"quality": 90}),
}
MEDIA_TYPES = {ext: media for ext, media, _options in FORMATS.values()}
WRITABLE_MODES = {
    "PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I"),
    "JPEG": ("L", "RGB"),
    "GIF": ("1", "L", "P", "RGB", "RGBA"),
    "WEBP": ("RGB", "RGBA"),
}
# What a frame keeps of its decoder's info: what drawing it needs, no metadata.
KEEP_INFO = ("transparency", "duration", "loop", "background", "disposal")
_SVG = re.compile(rb"^\s*(<\?xml|<!doctype\s+svg|<svg)", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FILE = "file"  # the form field errors are reported under


def _refuse(message: str) -> ValidationError:
    return ValidationError({FILE: message})


def clean_name(filename: str | None) -> str:
    """The uploaded name as people see it: no folders, no control characters, 255 at most."""
    name = re.split(r"[/\\]", filename or "")[-1]
    name = _CONTROL.sub("", name).strip()
    return name[:255] or "image"


def read_capped(stream: BinaryIO, limit: int) -> bytes:
    """The stream's bytes, refused as soon as they pass ``limit`` (the rest is never read)."""
    chunks, total = [], 0
    while chunk := stream.read(CHUNK):
        total += len(chunk)
        if total > limit:
            raise _refuse(
                _("This file is too big: images may be at most %(size)s.", size=human_size(limit))
            )
        chunks.append(chunk)
    return b"".join(chunks)


def human_size(size: int) -> str:
    """1.5 MB, 320 KB, 12 bytes (decimal units, as file browsers show them)."""
    if size >= 1_000_000:
        return _("%(n)s MB", n=format_decimal(round(size / 1_000_000, 1)))
    if size >= 1000:
        return _("%(n)s KB", n=format_decimal(round(size / 1000)))
    return ngettext("%(num)d byte", "%(num)d bytes", size)


@dataclass(frozen=True)
class Encoded:
    data: bytes
    ext: str
    width: int
    height: int


def _frames(image: Image.Image) -> list[Image.Image]:
    """Every frame as a fresh image carrying only what drawing it needs."""
    frames = []
    for frame in ImageSequence.Iterator(image):
        copy = frame.copy()
        copy.info = {k: v for k, v in frame.info.items() if k in KEEP_INFO}
        frames.append(copy)
    return frames


def encode(data: bytes, max_pixels: int) -> Encoded:
    """Decode ``data`` as PNG, JPEG, GIF or WebP and write it again (ValidationError if not)."""
    if _SVG.match(data.lstrip(b"\xef\xbb\xbf")):
        raise _refuse(
            _("SVG images are not accepted: they can carry scripts. Use PNG, JPEG, GIF or WebP.")
        )
    not_an_image = _("This file is not a PNG, JPEG, GIF or WebP image.")
    try:
        image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise _refuse(not_an_image) from None
    with image:
        fmt, (width, height) = image.format, image.size
        frames = getattr(image, "n_frames", 1)
        if width * height * frames > max_pixels:
            limit = f"{max_pixels / 1_000_000:g}"
            if frames > 1:
                message = _(
                    "This animation is too large: %(n)s frames of %(w)s × %(h)s pixels. An"
                    " animation may have at most %(max)s million pixels, all frames together.",
                    n=frames,
                    w=width,
                    h=height,
                    max=limit,
                )
            else:
                message = _(
                    "This image is too large: %(w)s × %(h)s pixels. Images may have at most"
                    " %(max)s million pixels.",
                    w=width,
                    h=height,
                    max=limit,
                )
            raise _refuse(message)
        ext, _media, options = FORMATS[fmt]
        try:
            if frames > 1:
                first, *rest = _frames(image)
                out = io.BytesIO()
                timing = {
                    "duration": [f.info.get("duration", 100) for f in (first, *rest)],
                    "loop": image.info.get("loop", 0),
                }
                first.save(out, fmt, save_all=True, append_images=rest, **timing, **options)
            else:
                out = io.BytesIO()
                _still(image, fmt).save(out, fmt, **options)
        except (OSError, ValueError, EOFError, SyntaxError, Image.DecompressionBombError):
            raise _refuse(_("This image could not be read: the file may be damaged.")) from None
        width, height = Image.open(io.BytesIO(out.getvalue())).size
    return Encoded(out.getvalue(), ext, width, height)


def _still(image: Image.Image, fmt: str) -> Image.Image:
    """A single-frame image ready to save: turned upright (the EXIF orientation is dropped with
    the rest of EXIF), in a mode the format writes, with no metadata."""
    still = ImageOps.exif_transpose(image) if fmt == "JPEG" else image.copy()
    if still.mode not in WRITABLE_MODES[fmt]:
        still = still.convert("RGB" if fmt == "JPEG" else "RGBA")
    still.info = {k: v for k, v in image.info.items() if k in KEEP_INFO}
    return still


def add_image(stream: BinaryIO, filename: str | None, user: User | None = None) -> Asset:
    """Store an uploaded image (ValidationError under ``file`` when refused)."""
    config = current_app.config
    name = clean_name(filename)
    data = read_capped(stream, config["MAILER_ASSET_MAX_BYTES"])
    if not data:
        raise _refuse(_("This file is empty."))
    encoded = encode(data, config["MAILER_ASSET_MAX_PIXELS"])
    digest = hashlib.sha256(encoded.data).hexdigest()
    found = db.session.scalar(select(Asset).where(Asset.hash == digest))
    if found is not None:
        return found
    asset = Asset(
        hash=digest,
        ext=encoded.ext,
        content_type=MEDIA_TYPES[encoded.ext],
        name=name,
        size=len(encoded.data),
        width=encoded.width,
        height=encoded.height,
        alt="",
        created_by_id=user.id if user is not None and user.is_authenticated else None,
    )
    asset_storage().save(storage_key(asset), io.BytesIO(encoded.data))  # before the row
    db.session.add(asset)
    try:
        db.session.commit()
    except IntegrityError:  # the same image, uploaded at the same moment by someone else
        db.session.rollback()
        return db.session.scalar(select(Asset).where(Asset.hash == digest))
    return asset


def storage_key(asset: Asset) -> str:
    return f"assets/{asset.filename}"


def public_url(asset: Asset) -> str:
    """The address recipients' mail clients load the image from."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/assets/{asset.filename}"


def is_library_url(url: str) -> bool:
    """Whether ``url`` is the public address of an image in the library (http in a local
    installation: the address recipients load is this installation's own)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/assets/"
    digest, _dot, ext = url.removeprefix(base).partition(".")
    return url.startswith(base) and find(digest, ext) is not None


def get_asset(asset_id: int) -> Asset | None:
    return db.session.get(Asset, asset_id)


def find(digest: str, ext: str) -> Asset | None:
    """The asset served as ``<digest>.<ext>``."""
    asset = db.session.scalar(select(Asset).where(Asset.hash == digest))
    return asset if asset is not None and asset.ext == ext else None


def list_assets(before: int | None = None, limit: int = 60) -> tuple[list[Asset], int | None]:
    """Newest first, ``limit`` at a time; the id to pass as ``before`` for the next page
    (None on the last page)."""
    query = select(Asset).order_by(Asset.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(Asset.id < before)
    assets = list(db.session.scalars(query))
    more = len(assets) > limit
    assets = assets[:limit]
    return assets, (assets[-1].id if more else None)


UNSENT = (CampaignStatus.DRAFT, CampaignStatus.PROCESSING, CampaignStatus.SCHEDULED)


def users_of(asset: Asset) -> list[str]:
    """Names of the templates and not-yet-sent campaigns whose email shows the image."""
    names: list[str] = []
    for model, extra in ((Template, ()), (Campaign, (Campaign.status.in_(UNSENT),))):
        columns: Sequence = (model.html, model.source, model.design)
        found = or_(*(column.contains(asset.hash, autoescape=True) for column in columns))
        names += db.session.scalars(select(model.name).where(found, *extra).order_by(model.name))
    return names


def delete_asset(asset: Asset) -> None:
    """Remove the image from the library and from storage. Refused while a template or a
    campaign not sent yet shows it; emails already sent lose the image."""
    names = users_of(asset)
    if names:
        listed = ", ".join(f"“{name}”" for name in names[:5])
        raise ValidationError(
            _(
                "This image is used by %(names)s. Remove it from there first, or the next"
                " emails would show a broken image.",
                names=listed if len(names) <= 5 else _("%(names)s and others", names=listed),
            )
        )
    key = storage_key(asset)
    db.session.delete(asset)
    db.session.commit()
    asset_storage().delete(key)


def set_alt(asset: Asset, alt: str) -> None:
    alt = " ".join((alt or "").split())
    if len(alt) > 255:
        raise ValidationError({"alt": _("Use at most %(n)s characters.", n=255)})
    asset.alt = alt
    db.session.commit()
