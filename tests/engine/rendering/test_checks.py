"""The checks before saving and launching: what a marketer is told about an email."""

from __future__ import annotations

from mailer.engine.rendering import compile_mjml
from mailer.engine.rendering.checks import CLIP_BYTES, check_email

FOOTER = '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'


def kinds(html: str, text: str | None = None) -> list[str]:
    return [finding.kind for finding in check_email(html, text)]


def page(body: str) -> str:
    return f"<html><body>{body}{FOOTER}</body></html>"


def test_a_plain_email_with_an_unsubscribe_link_passes():
    assert check_email(page("<p>Hello {{ first_name }}</p>")) == []


def test_an_image_without_alt_text_is_named_by_its_address():
    findings = check_email(
        page('<img src="https://example.com/hero.png"><img src="a.png" alt="A">')
    )
    assert [(f.kind, f.values, f.blocking) for f in findings] == [
        ("alt", {"src": "https://example.com/hero.png"}, False)
    ]
    assert "has no alt text" in findings[0].explanation % findings[0].values


def test_decorative_images_with_an_empty_alt_and_the_open_pixel_pass():
    html = page(
        '<img src="line.png" alt=""><img src="https://x.test/t/o/a.gif" width="1" height="1">'
    )
    assert kinds(html) == []


def test_a_missing_unsubscribe_link_blocks_unless_the_text_part_has_it():
    findings = check_email("<p>Hello</p>")
    assert [(f.kind, f.blocking) for f in findings] == [("unsubscribe", True)]
    assert kinds("<p>Hello</p>", "Leave: {{ unsubscribe_url }}") == []


def test_an_email_past_gmails_clipping_size_is_warned_with_its_size():
    paragraph = "<p>" + "Lorem ipsum dolor sit amet. " * 40 + "</p>"
    small = page(paragraph * 50)  # about 57 KB
    assert kinds(small) == []
    big = page(paragraph * 95)  # about 108 KB
    findings = check_email(big)
    assert [f.kind for f in findings] == ["clip"]
    assert findings[0].values["size"] > CLIP_BYTES / 1000
    assert not findings[0].blocking


def test_tracked_links_count_towards_the_size():
    # 94 KB of HTML, but 100 links grow by their click addresses once sent: past the limit.
    links = "".join(f'<a href="https://example.com/p/{i}">x</a>' for i in range(100))
    filler = "<p>" + "Lorem ipsum dolor sit amet. " * 3300 + "</p>"
    assert kinds(page(links + filler)) == ["clip"]


def test_mjml_output_is_responsive_and_passes():
    html = compile_mjml(
        "<mjml><mj-body><mj-section><mj-column>"
        '<mj-image src="https://example.com/hero.png" alt="Hero" width="600px"/>'
        "<mj-text>Hi</mj-text></mj-column><mj-column><mj-text>"
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text></mj-column></mj-section>'
        "</mj-body></mjml>"
    )
    assert "<!--[if mso | IE]>" in html  # Outlook's fixed widths are there, and ignored
    assert kinds(html) == []


def test_a_700_px_table_scrolls_in_a_mail_window_and_on_a_phone():
    findings = check_email(page('<table width="700"><tr><td>Wide</td></tr></table>'))
    assert [(f.kind, f.values) for f in findings] == [
        ("width", {"element": "table", "width": 700, "window": 600})
    ]


def test_a_500_px_table_scrolls_on_a_phone_only():
    findings = check_email(page('<table style="width:500px"><tr><td>Wide</td></tr></table>'))
    assert [(f.kind, f.values["window"]) for f in findings] == [("width", 375)]


def test_fluid_widths_and_table_cells_pass():
    html = page(
        '<table width="100%"><tr><td width="700">Cells give way</td></tr></table>'
        '<div style="width:700px;max-width:100%">Capped</div>'
        '<img src="a.png" alt="A" width="640" style="width:100%;height:auto">'
        '<div style="max-width:600px;margin:0 auto">Centred</div>'
    )
    assert kinds(html) == []


def test_min_width_and_images_of_fixed_size_are_found():
    assert kinds(page('<div style="min-width:420px">x</div>')) == ["width"]
    assert kinds(page('<img src="a.png" alt="A" width="640">')) == ["width"]
