"""The email designer in a real browser (issue 18): blocks dragged into the GrapesJS canvas,
text typed in place, the design saved and reopened, the mobile view, a test sent to the
sandbox, an image uploaded and placed; the MJML code mode with CodeMirror; merge tags
inserted at the cursor. Every page is checked at 1400 and 390 px, without console errors or
Content-Security-Policy violations."""

from __future__ import annotations

import email
import email.policy
import io
import json

from PIL import Image
from playwright.sync_api import Page, expect

from mailer.models import Identity, OutboxMessage, Template
from tests.e2e.designer import block, canvas, drag_into
from tests.e2e.pages import Layout
from tests.factories import make_asset, make_channel, make_template

TYPED = "Picnic on Saturday at noon"


def start_new_template(page: Page, name: str) -> None:
    page.goto("/templates/new")
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=subject]").fill("Our news")
    expect(canvas(page).locator("[data-gjs-type=mj-column]")).to_have_count(1)


def saved(db, name: str) -> Template:
    db.session.rollback()  # a fresh snapshot (MariaDB: repeatable read)
    return db.session.scalar(db.select(Template).filter_by(name=name))


def test_build_save_reopen_and_send_a_test_from_the_visual_editor(
    admin_page: Page, watch, db, request, live_server
):
    page = admin_page
    elsewhere = []  # the editor works offline: it fetches nothing from another host
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith((live_server, "data:"))
            else elsewhere.append((r.frame.url, r.url))
        ),
    )
    layout = Layout(page, watch, request.node.name)
    channel = make_channel(db, "sandbox")
    db.session.add(Identity(name="News", from_email="news@example.com", from_name="Newsroom"))
    db.session.commit()

    start_new_template(page, "Picnic")
    layout.check()
    column = canvas(page).locator("[data-gjs-type=mj-column]")
    drag_into(page, block(page, "Text"), column)
    text = canvas(page).locator("[data-gjs-type=mj-text]")
    expect(text).to_have_count(1)
    drag_into(page, block(page, "Button"), text)
    expect(canvas(page).locator("[data-gjs-type=mj-button]")).to_have_count(1)

    text.dblclick()  # inline editing
    editable = canvas(page).locator("[data-gjs-type=mj-text] [contenteditable=true]")
    editable.press("Control+a")
    editable.press_sequentially(TYPED)
    with page.expect_navigation():
        page.get_by_role("button", name="Create template").click()
    expect(page.locator(".flash-success")).to_contain_text("Template “Picnic” saved.")

    template = saved(db, "Picnic")
    assert template.editor == "visual"
    assert "<mj-button" in template.source and TYPED in template.source
    assert TYPED in template.html
    design = json.loads(template.design)

    # Reopened: the same design, the text before the button.
    page.reload()
    frame = canvas(page)
    expect(frame.locator("[data-gjs-type=mj-text]")).to_contain_text(TYPED)
    expect(frame.locator("[data-gjs-type=mj-button]")).to_have_count(1)
    order = frame.locator("[data-gjs-type=mj-text], [data-gjs-type=mj-button]")
    assert order.evaluate_all("els => els.map(e => e.dataset.gjsType)") == ["mj-text", "mj-button"]
    assert json.loads(page.locator("input[name=design]").input_value()) == design
    layout.check()

    # The mobile view narrows the canvas to a phone's width.
    wide = page.locator(".gjs-frame").bounding_box()["width"]
    page.locator(".gjs-pn-btn[title=Mobile]").click()
    page.wait_for_function(
        "() => document.querySelector('.gjs-frame').getBoundingClientRect().width < 400"
    )
    assert page.locator(".gjs-frame").bounding_box()["width"] < wide

    # A test through the sandbox: the Outbox keeps the message with the typed text.
    test_form = page.locator("#test-send")
    test_form.get_by_label("Channel").select_option(str(channel.id))
    test_form.get_by_label("Send to").fill("me@example.com")
    test_form.get_by_role("button", name="Send test").click()
    expect(page.locator(".test-answers")).to_contain_text("Sent.")
    db.session.rollback()
    message = db.session.scalar(db.select(OutboxMessage).filter_by(to_email="me@example.com"))
    parsed = email.message_from_string(message.raw, policy=email.policy.default)
    assert TYPED in parsed.get_body(("html",)).get_content()
    # (The compiled email itself may link web fonts: its preview frames are about:srcdoc.)
    assert [url for frame, url in elsewhere if frame != "about:srcdoc"] == []
    watch.assert_quiet()


def _png(tmp_path) -> str:
    path = tmp_path / "sunset.png"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), "orange").save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_an_uploaded_image_is_placed_in_the_email(admin_page: Page, watch, db, tmp_path):
    page = admin_page
    make_asset(db, name="logo.png")  # already in the library
    start_new_template(page, "With a picture")
    drag_into(page, block(page, "Image"), canvas(page).locator("[data-gjs-type=mj-column]"))
    image = canvas(page).locator("[data-gjs-type=mj-image]")
    expect(image).to_have_count(1)
    image.dblclick()  # opens the image library
    modal = page.locator(".gjs-mdl-dialog")
    expect(modal).to_be_visible()
    expect(modal.locator(".gjs-am-asset-image")).to_have_count(1)  # the library's images
    modal.locator("input[type=file]").set_input_files(_png(tmp_path))
    uploaded = modal.locator(".gjs-am-asset-image").filter(has_text="sunset")
    expect(uploaded).to_have_count(1)
    uploaded.first.locator(".gjs-am-preview-cont").dblclick()  # place it and close
    expect(modal).to_be_hidden()
    src = image.get_attribute("src") if image.evaluate("e => e.tagName") == "IMG" else None
    src = src or image.locator("img").get_attribute("src")
    assert "/assets/" in src and src.endswith(".png")

    with page.expect_navigation():
        page.get_by_role("button", name="Create template").click()
    template = saved(db, "With a picture")
    assert src.rsplit("/", 1)[-1] in template.html
    watch.assert_quiet()


def test_mjml_code_mode_saves_and_previews(admin_page: Page, watch, db, request):
    page = admin_page
    page.goto("/templates/new")
    page.locator("input[name=name]").fill("Handwritten")
    page.locator("input[name=subject]").fill("Hello")
    page.get_by_role("radio", name="MJML code").check()
    code = page.locator("[data-panel=mjml] .cm-content")
    expect(code).to_be_visible()
    code.click()
    code.press("Control+a")
    code.press("Delete")
    page.keyboard.insert_text(  # as pasted: typed, CodeMirror would close the tags itself
        "<mjml><mj-body><mj-section><mj-column><mj-text>Written by hand</mj-text>"
        "</mj-column></mj-section></mj-body></mjml>"
    )
    page.locator(".button-row").get_by_role("button", name="Preview").click()
    expect(page.frame_locator("iframe.email-frame").locator("body")).to_contain_text(
        "Written by hand"
    )
    Layout(page, watch, request.node.name).check()

    with page.expect_navigation():
        page.get_by_role("button", name="Create template").click()
    template = saved(db, "Handwritten")
    assert template.editor == "mjml"
    assert "Written by hand" in template.source and "Written by hand" in template.html
    # Reopened in the MJML mode, in CodeMirror.
    expect(page.locator("[data-panel=mjml] .cm-content")).to_contain_text("Written by hand")
    watch.assert_quiet()


def test_a_merge_tag_goes_in_at_the_cursor(admin_page: Page, watch, db):
    page = admin_page
    page.goto("/templates/new?editor=mjml")
    code = page.locator("[data-panel=mjml] .cm-content")
    code.click()
    code.press("Control+a")
    code.press("Delete")
    page.keyboard.insert_text("<mj-text>Hello !</mj-text>")
    for _ in range(len(" !</mj-text>") - 1):
        code.press("ArrowLeft")  # between "Hello " and "!"
    page.get_by_text("Insert a merge tag").click()
    page.locator(".merge-tags").get_by_role("button", name="First name").click()
    expect(code).to_have_text("<mj-text>Hello {{ first_name }}!</mj-text>")
    assert "Hello {{ first_name }}!" in page.locator("textarea[name=source]").input_value()

    # In the subject when it has the focus, at its cursor.
    subject = page.locator("input[name=subject]")
    subject.fill("News for you")
    subject.press("Home")
    page.get_by_text("Insert a merge tag").click()
    page.locator(".merge-tags").get_by_role("button", name="First name").click()
    expect(subject).to_have_value("{{ first_name }}News for you")
    watch.assert_quiet()


def test_a_merge_tag_goes_into_the_text_being_edited(admin_page: Page, watch, db):
    page = admin_page
    start_new_template(page, "Tags")
    drag_into(page, block(page, "Text"), canvas(page).locator("[data-gjs-type=mj-column]"))
    text = canvas(page).locator("[data-gjs-type=mj-text]")
    text.dblclick()
    editable = canvas(page).locator("[data-gjs-type=mj-text] [contenteditable=true]")
    editable.press("Control+a")
    editable.press_sequentially("Dear ")
    page.get_by_text("Insert a merge tag").click()
    page.locator(".merge-tags").get_by_role("button", name="First name").click()
    expect(editable).to_have_text("Dear {{ first_name }}")
    with page.expect_navigation():
        page.get_by_role("button", name="Create template").click()
    assert "Dear {{ first_name }}" in saved(db, "Tags").source.replace("\xa0", " ")
    watch.assert_quiet()


def test_the_preview_warns_when_the_email_scrolls_sideways_on_a_phone(admin_page: Page, watch, db):
    wide = make_template(
        db, name="Wide", subject="Hi", html='<table width="500"><tr><td>Wide</td></tr></table>'
    )
    narrow = make_template(db, name="Narrow", subject="Hi", html="<p>Fits anywhere</p>")
    page = admin_page
    page.goto(f"/templates/{wide.id}")
    report = page.locator("[data-width-report]")
    expect(report).to_contain_text("On a phone (375 px wide) this email scrolls sideways")
    expect(report).not_to_contain_text("600 px")
    page.goto(f"/templates/{narrow.id}")
    expect(page.locator("[data-width-check]")).to_have_attribute("data-width-checked", "none")
    expect(report).to_be_hidden()
    watch.assert_quiet()


def test_the_footer_block_and_the_switch_between_visual_and_mjml(admin_page: Page, watch, db):
    page = admin_page
    start_new_template(page, "Footer")
    section = canvas(page).locator("[data-gjs-type=mj-section]")
    drag_into(page, block(page, "Footer"), section, offset=-3)  # after the section
    expect(canvas(page).locator("a[href='{{ unsubscribe_url }}']")).to_have_text("Unsubscribe")

    # To the MJML code and back: the same email, edited in either.
    page.get_by_role("radio", name="MJML code").check()
    code = page.locator("[data-panel=mjml] .cm-content")
    expect(code).to_contain_text("{{ unsubscribe_url }}")
    expect(code).to_contain_text("{{ postal_address }}")
    source = page.locator("textarea[name=source]").input_value()
    edited = source.replace("{{ postal_address }}", "{{ postal_address }} (edited)")
    code.click()
    code.press("Control+a")
    page.keyboard.insert_text(edited)
    page.get_by_role("radio", name="Visual editor").check()
    expect(canvas(page).locator("body")).to_contain_text("(edited)")
    with page.expect_navigation():
        page.get_by_role("button", name="Create template").click()
    template = saved(db, "Footer")
    assert template.editor == "visual" and "(edited)" in template.source
    assert "{{ unsubscribe_url }}" in template.html
    watch.assert_quiet()


def test_switching_a_design_to_html_warns_and_is_one_way(admin_page: Page, watch, db):
    page = admin_page
    start_new_template(page, "To HTML")
    drag_into(page, block(page, "Text"), canvas(page).locator("[data-gjs-type=mj-column]"))
    with page.expect_navigation():
        page.get_by_role("button", name="Create template").click()

    page.get_by_role("radio", name="HTML code").click()  # refused: nothing changes
    expect(page.get_by_role("radio", name="Visual editor")).to_be_checked()
    watch.answer = True  # OK to the warning this time
    page.get_by_role("radio", name="HTML code").click()
    html = page.locator("[data-panel=html] .cm-content")
    expect(html).to_contain_text("Write your text here")  # the server's compile of the design
    expect(html).to_contain_text("<!doctype html>")
    warning = watch.dialogs[0][1]
    assert "you cannot go back to the visual editor" in warning
    assert page.locator("textarea[name=source]").input_value() == ""

    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    template = saved(db, "To HTML")
    assert template.editor == "html" and not template.source and not template.design
    assert "Write your text here" in template.html
    expect(page.get_by_role("radio", name="HTML code")).to_be_checked()
    watch.assert_quiet(confirms=(warning,))
