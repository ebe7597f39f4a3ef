"""Driving the email designer (GrapesJS) in browser tests: its canvas frame, its blocks, and
dragging a block into the canvas with the real mouse."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


def canvas(page: Page):
    return page.frame_locator(".gjs-frame")


def block(page: Page, label: str) -> Locator:
    return page.locator(".gjs-block").filter(has=page.get_by_text(label, exact=True))


def drag_into(page: Page, source: Locator, target: Locator, offset: int = -4) -> None:
    """Drag a block with the mouse (GrapesJS uses native drag and drop) to ``offset`` px from
    the lower edge of ``target`` in the canvas, releasing once GrapesJS shows where it lands."""
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    box = target.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] + offset
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 - 20, start["y"] + 10, steps=5)
    page.mouse.move(x, y, steps=20)
    page.mouse.move(x, y + 1)
    expect(page.locator(".gjs-cv-canvas .gjs-placeholder >> visible=true").first).to_be_visible()
    page.mouse.up()
