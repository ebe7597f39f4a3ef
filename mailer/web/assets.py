"""Hosted images: the library page (/images/), its JSON for the visual editor, and the public
files recipients' mail clients load (/assets/<hash>.<ext>).

``files_bp`` is public (auth.PUBLIC_ENDPOINT_PREFIXES): no login, no session, nothing but
GET and HEAD. ``bp`` needs a login; marketers upload and delete, viewers browse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from mailer.extensions import csrf
from mailer.lib.dbutil import parse_id
from mailer.lib.errors import ValidationError
from mailer.lib.storage import CHUNK, asset_storage
from mailer.models import Asset, Role
from mailer.services import assets as assets_service
from mailer.web.auth import guard_blueprint
from mailer.web.htmx import fragment_requested, render

bp = Blueprint("assets", __name__, url_prefix="/images")
guard_blueprint(bp)  # viewers browse, marketers upload and delete
files_bp = Blueprint("asset_files", __name__)

BROWSE_LIMIT = 200
MAX_FILES = 20  # images in one upload request
PAGE_SIZE = 60
_HASH = re.compile(r"[0-9a-f]{64}")
CACHE_FOREVER = "public, max-age=31536000, immutable"  # the address changes with the bytes


def _not_found() -> Response:
    return Response("Not found\n", 404, mimetype="text/plain")


def _chunks(fh: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := fh.read(CHUNK):
            yield chunk
    finally:
        fh.close()


@files_bp.get("/assets/<filename>")
def file(filename: str):
    digest, _dot, ext = filename.partition(".")
    found = _HASH.fullmatch(digest) and ext in assets_service.MEDIA_TYPES
    asset = assets_service.find(digest, ext) if found else None
    if asset is None:
        return _not_found()
    response = Response(mimetype=asset.content_type)
    response.set_etag(asset.hash)
    response.headers["Cache-Control"] = CACHE_FOREVER
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.if_none_match.contains(asset.hash):
        response.status_code = 304
        return response
    response.content_length = asset.size
    if request.method == "GET":
        try:
            fh = asset_storage().open(assets_service.storage_key(asset))
        except FileNotFoundError:
            return _not_found()
        response.response = _chunks(fh)
    return response


def _get_asset(asset_id: int) -> Asset:
    return assets_service.get_asset(asset_id) or abort(404)


def _item(asset: Asset) -> dict:
    """One image as the editor's asset manager (GrapesJS) reads it."""
    return {
        "src": assets_service.public_url(asset),
        "name": asset.name,
        "width": asset.width,
        "height": asset.height,
        "type": "image",
        "alt": asset.alt,
    }


@bp.url_value_preprocessor
def _cap_uploads(endpoint: str | None, _values) -> None:
    """An upload's body holds at most MAX_FILES images at the size cap (413 past it): refused
    before Werkzeug spools it to disk. Set here because this runs before any before_request
    (the CSRF check reads the form)."""
    if endpoint in ("assets.upload", "assets.upload_json"):
        config = current_app.config
        request.max_content_length = config["MAILER_ASSET_MAX_BYTES"] * MAX_FILES + 65536


def _upload(files) -> tuple[list[Asset], dict[str, str]]:
    """Store each uploaded file; the errors per file name of those refused."""
    stored, errors = [], {}
    for upload in files:
        if not upload or not upload.filename:
            continue
        try:
            stored.append(assets_service.add_image(upload.stream, upload.filename, current_user))
        except ValidationError as exc:
            name = assets_service.clean_name(upload.filename)
            errors[name] = exc.errors.get(assets_service.FILE, str(exc))
    return stored, errors


@bp.get("/browse.json")
def browse_json():
    items, _next = assets_service.list_assets(limit=BROWSE_LIMIT)
    return jsonify({"data": [_item(a) for a in items]})


@bp.post("/upload.json")
@csrf.exempt  # checked below, so a refusal is JSON the editor can show
def upload_json():
    try:
        files = request.files.getlist("files")
    except RequestEntityTooLarge:
        message = _(
            "Too much at once: upload at most %(n)s images of up to %(size)s each.",
            n=MAX_FILES,
            size=assets_service.human_size(current_app.config["MAILER_ASSET_MAX_BYTES"]),
        )
        return jsonify({"error": message, "errors": {"files": message}}), 413
    try:
        if current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()  # the token comes in the X-CSRFToken header
    except CSRFError:
        message = _("Your session expired or the page is old: reload the page and try again.")
        return jsonify({"error": message, "errors": {}}), 400
    stored, errors = _upload(files)
    if not stored and not errors:
        errors = {"files": _("Choose an image to upload.")}
    data = [_item(a) for a in stored]
    if errors:
        message = "; ".join(f"{name}: {text}" for name, text in errors.items())
        return jsonify({"error": message, "errors": errors, "data": data}), 422
    return jsonify({"data": data})


def _library(errors: dict[str, str] | None = None, status: int = 200, added: str = "") -> Response:
    before = parse_id(request.args.get("before"))
    items, next_before = assets_service.list_assets(before=before, limit=PAGE_SIZE)
    return render(
        "assets/index.html",
        block="library",
        status=status,
        assets=items,
        next_before=next_before,
        errors=errors or {},
        added=added,
        public_url=assets_service.public_url,
        human_size=assets_service.human_size,
        editable=current_user.can(Role.MARKETER),
    )


@bp.get("/")
def index():
    return _library()


@bp.post("/")
def upload():
    stored, errors = _upload(request.files.getlist("files"))
    if errors or not stored:
        text = "; ".join(f"{name}: {message}" for name, message in errors.items())
        return _library({"files": text or _("Choose an image to upload.")}, status=422)
    added = ngettext("%(num)d image added.", "%(num)d images added.", len(stored))
    if fragment_requested():  # the library swaps in place, saying what was added
        return _library(added=added)
    flash(added, "success")
    return redirect(url_for(".index"), code=303)


@bp.post("/<int:asset_id>/alt")
def set_alt(asset_id: int):
    asset = _get_asset(asset_id)
    try:
        assets_service.set_alt(asset, request.form.get("alt", ""))
    except ValidationError as exc:
        flash(exc.errors.get("alt", str(exc)), "error")
    else:
        flash(_("Alt text of “%(name)s” saved.", name=asset.name), "success")
    return redirect(url_for(".index"), code=303)


@bp.route("/<int:asset_id>/delete", methods=["GET", "POST"])
def delete(asset_id: int):
    asset = _get_asset(asset_id)
    error, status = "", 200
    if request.method == "POST":
        name = asset.name
        try:
            assets_service.delete_asset(asset)
        except ValidationError as exc:
            error, status = str(exc), 422
        else:
            flash(_("Image “%(name)s” deleted.", name=name), "success")
            return redirect(url_for(".index"), code=303)
    elif not current_user.can(Role.MARKETER):
        abort(403)
    return render(
        "assets/delete.html",
        status=status,
        asset=asset,
        error=error,
        used_by=assets_service.users_of(asset),
        public_url=assets_service.public_url(asset),
    )
