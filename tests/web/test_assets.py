"""The image library's pages and JSON, and the public image files mail clients load."""

from __future__ import annotations

import io

from PIL import Image

from mailer.models import Asset, Role
from tests.factories import image_bytes, make_asset, make_template
from tests.fixtures.app import csrf_token_from


def _upload(client, *files, url="/images/upload.json", headers=None):
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(url, data=data, content_type="multipart/form-data", headers=headers or {})


def test_the_editor_uploads_images_and_gets_their_public_addresses(client, as_role, db):
    as_role(Role.MARKETER)
    response = _upload(
        client, ("logo.png", image_bytes("PNG")), ("photo.jpg", image_bytes("JPEG", (40, 30)))
    )
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert [(d["name"], d["width"], d["height"], d["type"]) for d in data] == [
        ("logo.png", 30, 20, "image"),
        ("photo.jpg", 40, 30, "image"),
    ]
    asset = db.session.query(Asset).filter_by(name="logo.png").one()
    assert data[0]["src"] == f"http://mailer.test/assets/{asset.hash}.png"
    assert data[1]["src"].endswith(".jpg")


def test_the_editor_browses_the_newest_images_first(client, as_role, db):
    as_role(Role.VIEWER)
    make_asset(db, name="old.png", color="blue")
    newest = make_asset(db, name="new.png", color="green")
    body = client.get("/images/browse.json").get_json()
    assert [d["name"] for d in body["data"]] == ["new.png", "old.png"]
    assert body["data"][0] == {
        "src": f"http://mailer.test/assets/{newest.hash}.png",
        "name": "new.png",
        "width": 30,
        "height": 20,
        "type": "image",
        "alt": "",
    }


def test_a_refused_upload_answers_422_with_plain_words_per_file(client, as_role):
    as_role(Role.MARKETER)
    response = _upload(
        client,
        ("notes.png", b"this is a text file, not a picture"),
        ("ok.png", image_bytes("PNG")),
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"] == {"notes.png": "This file is not a PNG, JPEG, GIF or WebP image."}
    assert "notes.png: This file is not a PNG" in body["error"]
    assert [d["name"] for d in body["data"]] == ["ok.png"]  # the good one is kept


def test_an_upload_with_no_file_is_refused(client, as_role):
    as_role(Role.MARKETER)
    response = client.post("/images/upload.json", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"files": "Choose an image to upload."}


def test_viewers_browse_but_cannot_upload_or_delete(client, as_role, db):
    asset = make_asset(db)
    as_role(Role.VIEWER)
    assert client.get("/images/").status_code == 200
    assert _upload(client, ("a.png", image_bytes("PNG"))).status_code == 403
    assert client.post(f"/images/{asset.id}/delete").status_code == 403
    assert client.get(f"/images/{asset.id}/delete").status_code == 403
    assert db.session.get(Asset, asset.id) is not None


def test_anonymous_people_cannot_browse_the_library(client):
    assert client.get("/images/browse.json").status_code == 302
    assert client.get("/images/").status_code == 302


def test_the_json_upload_needs_the_csrf_token_in_its_header(client, as_role, app, db):
    app.config["WTF_CSRF_ENABLED"] = True
    as_role(Role.MARKETER)
    refused = _upload(client, ("a.png", image_bytes("PNG")))
    assert refused.status_code == 400
    assert "reload the page" in refused.get_json()["error"]
    assert db.session.query(Asset).count() == 0
    token = csrf_token_from(client.get("/images/").get_data(as_text=True))
    accepted = _upload(client, ("a.png", image_bytes("PNG")), headers={"X-CSRFToken": token})
    assert accepted.status_code == 200 and len(accepted.get_json()["data"]) == 1


def test_the_page_form_needs_its_csrf_token(client, as_role, app):
    app.config["WTF_CSRF_ENABLED"] = True
    as_role(Role.MARKETER)
    response = _upload(client, ("a.png", image_bytes("PNG")), url="/images/")
    assert response.status_code == 400


def test_a_public_image_is_served_with_long_cache_headers_to_anyone(client, db):
    asset = make_asset(db)
    response = client.get(f"/assets/{asset.hash}.png")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"] == f'"{asset.hash}"'
    assert int(response.headers["Content-Length"]) == asset.size == len(response.data)
    assert Image.open(io.BytesIO(response.data)).size == (30, 20)
    assert "Set-Cookie" not in response.headers


def test_head_and_a_cached_copy_get_no_body(client, db):
    asset = make_asset(db)
    head = client.head(f"/assets/{asset.hash}.png")
    assert head.status_code == 200 and head.data == b""
    assert int(head.headers["Content-Length"]) == asset.size
    again = client.get(f"/assets/{asset.hash}.png", headers={"If-None-Match": f'"{asset.hash}"'})
    assert again.status_code == 304 and again.data == b""


def test_unknown_images_are_a_plain_404(client, db):
    asset = make_asset(db)
    for path in (
        f"/assets/{'0' * 64}.png",
        f"/assets/{asset.hash}.gif",  # the right hash with another extension
        "/assets/not-a-hash.png",
        f"/assets/{asset.hash}.svg",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/plain", path


def test_the_library_page_lists_images_and_uploads_through_the_form(client, as_role, db):
    as_role(Role.MARKETER)
    response = _upload(client, ("banner.gif", image_bytes("GIF", (60, 10))), url="/images/")
    assert response.status_code == 303
    page = client.get("/images/").get_data(as_text=True)
    asset = db.session.query(Asset).one()
    assert "1 image added." in page
    assert "banner.gif" in page and "60 × 10 pixels" in page
    assert f'value="http://mailer.test/assets/{asset.hash}.gif"' in page
    assert 'href="/images/"' in page  # in the navigation


def test_a_refused_upload_on_the_page_shows_the_reason_next_to_the_field(client, as_role):
    as_role(Role.MARKETER)
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'
    response = _upload(client, ("logo.svg", svg), url="/images/")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="files-error"' in page
    assert "logo.svg: SVG images are not accepted: they can carry scripts." in page


def test_htmx_upload_swaps_the_library_in_place(client, as_role):
    as_role(Role.MARKETER)
    response = _upload(
        client, ("a.webp", image_bytes("WEBP")), url="/images/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True).strip()
    assert page.startswith('<div id="image-library">') and "1 image added." in page
    assert "<html" not in page


def test_deleting_warns_that_sent_emails_lose_the_image(client, as_role, db):
    as_role(Role.MARKETER)
    asset = make_asset(db)
    confirm = client.get(f"/images/{asset.id}/delete").get_data(as_text=True)
    assert "Emails already sent keep loading this image" in confirm
    assert client.post(f"/images/{asset.id}/delete").status_code == 303
    assert db.session.get(Asset, asset.id) is None
    assert client.get(f"/assets/{asset.hash}.png").status_code == 404


def test_an_image_a_template_shows_cannot_be_deleted(client, as_role, db):
    as_role(Role.MARKETER)
    asset = make_asset(db)
    make_template(
        db, name="Welcome", html=f'<img src="http://mailer.test/assets/{asset.filename}">'
    )
    response = client.post(f"/images/{asset.id}/delete")
    assert response.status_code == 422
    assert "This image is used by “Welcome”" in response.get_data(as_text=True)
    assert db.session.get(Asset, asset.id) is not None


def test_the_library_answers_in_french(client, as_role):
    as_role(Role.MARKETER)
    response = _upload(
        client, ("notes.png", b"pas une image"), url="/images/", headers={"Accept-Language": "fr"}
    )
    page = response.get_data(as_text=True)
    assert "notes.png: Ce fichier n’est pas une image PNG, JPEG, GIF ou WebP." in page
    assert "jusqu’à 5\u00a0Mo chacune" in page or "jusqu’à 5 Mo chacune" in page


def test_the_branding_logo_can_be_uploaded_into_the_library(client, as_role, db):
    as_role(Role.ADMIN)
    response = client.post(
        "/settings/branding/",
        data={"name": "Atelier", "logo_file": (io.BytesIO(image_bytes("PNG")), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    asset = db.session.query(Asset).one()
    page = client.get("/settings/branding/").get_data(as_text=True)
    assert f'value="http://mailer.test/assets/{asset.hash}.png"' in page  # the logo address
    assert f'src="http://mailer.test/assets/{asset.hash}.png"' in page  # its preview
    refused = client.post(
        "/settings/branding/",
        data={"name": "Atelier", "logo_file": (io.BytesIO(b"<svg/>"), "logo.svg")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert 'id="logo_file-error"' in refused.get_data(as_text=True)
    assert "SVG images are not accepted" in refused.get_data(as_text=True)


def test_an_upload_past_twenty_images_at_the_cap_is_refused_before_it_is_read(client, as_role, app):
    app.config["MAILER_ASSET_MAX_BYTES"] = 1000
    as_role(Role.MARKETER)
    big = b"\0" * 100_000  # past 20 x 1000 bytes and 64 KiB for the form itself
    response = _upload(client, ("big.png", big))
    assert response.status_code == 413
    assert response.get_json()["error"] == (
        "Too much at once: upload at most 20 images of up to 1 KB each."
    )
    page = _upload(client, ("big.png", big), url="/images/")
    assert page.status_code == 413 and "Try a smaller file." in page.get_data(as_text=True)
    one = _upload(client, ("big.png", b"\0" * 5000))
    assert one.status_code == 422
    assert one.get_json()["errors"] == {
        "big.png": "This file is too big: images may be at most 1 KB."
    }


def test_a_crafted_file_name_is_shown_as_text(client, as_role, db):
    as_role(Role.MARKETER)
    crafted = "<img src=x onerror=alert(1)>.png"
    assert _upload(client, (crafted, image_bytes("PNG"))).status_code == 200
    page = client.get("/images/").get_data(as_text=True)
    assert "<img src=x onerror" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in page
    browse = client.get("/images/browse.json").get_json()
    assert browse["data"][0]["name"] == crafted  # JSON carries it as data; the editor escapes
