"""The image library in a browser at 1400 and 390 px: upload through the page (htmx), see the
image listed with its public address, delete it behind its warning; nothing wider than the
screen, no console error or policy violation."""

from __future__ import annotations

from tests.e2e.pages import Layout, log_in
from tests.factories import image_bytes, make_asset, make_user


def test_an_image_is_uploaded_listed_and_deleted_in_the_browser(db, page, watch, request):
    make_asset(db, name="a-rather-long-file-name-for-the-spring-newsletter-banner.png")
    log_in(page, make_user("marketer").email)
    layout = Layout(page, watch, request.node.name)

    page.goto("/")
    page.get_by_role("link", name="Images").first.click()
    page.wait_for_url("**/images/")
    layout.check()

    page.get_by_label("Add images").set_input_files(
        [
            {
                "name": "team photo.jpg",
                "mimeType": "image/jpeg",
                "buffer": image_bytes("JPEG", (800, 450)),
            }
        ]
    )
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("1 image added.").wait_for()
    card = page.locator(".image-card").filter(has_text="team photo.jpg")
    card.get_by_text("800 × 450 pixels").wait_for()
    address = card.locator("input.image-address").input_value()
    assert address.startswith("http://") and address.endswith(".jpg")
    assert card.locator("img").evaluate("img => img.complete && img.naturalWidth") == 800
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    card.get_by_role("button", name="Copy").click()
    card.get_by_role("button", name="Copied").wait_for()
    pass  # READTEXT
    layout.check()

    page.get_by_label("Add images").set_input_files(
        [{"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture"}]
    )
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("notes.png: This file is not a PNG, JPEG, GIF or WebP image.").wait_for()
    watch.errors.remove(f"422 on POST {page.url}")  # the refusal, shown next to the field
    layout.check()

    card.get_by_role("link", name="Delete").click()
    page.get_by_text("Emails already sent keep loading this image").wait_for()
    layout.check()
    page.get_by_role("button", name="Delete image").click()
    page.get_by_text("Image “team photo.jpg” deleted.").wait_for()
    assert page.locator(".image-card").count() == 1
    watch.assert_quiet()
