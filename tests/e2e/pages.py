"""What browser tests share: logging in through the form, and the Layout check of every page
a journey visits."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page

PASSWORD = "correct horse"  # tests.factories.make_user's
ARTIFACTS = Path(__file__).parent / "artifacts"  # screenshots of failed checks (gitignored)
WIDTHS = (1400, 390)  # a desktop, a phone


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Through the real login form."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert not page.url.endswith("/login"), page.inner_text("main")


class Layout:
    """Checks each page a journey visits, at a desktop's and a phone's width: nothing wider
    than the window (the page does not scroll sideways) and nothing reported by ``watch`` (a
    console error, a failed request, a policy violation). A failed check keeps a screenshot
    under ARTIFACTS/<test>/ and names it in the failure message, with the elements that stick
    out; MAILER_E2E_SCREENSHOTS=1 keeps one of every page checked. The page is left at the
    desktop width."""

    def __init__(self, page: Page, watch, name: str) -> None:
        self.page = page
        self.watch = watch
        self.folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
        self.checked: list[str] = []

    def check(self) -> None:
        page = self.page
        path = page.url.split("://", 1)[-1].split("/", 1)[-1]
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            widths = page.evaluate(_WIDTHS)
            problems = []
            if widths["page"] > widths["window"]:
                problems.append(f"{widths['page']} px wide in a {widths['window']} px window")
                problems += [f"  sticks out: {culprit}" for culprit in widths["culprits"]]
            problems += self.watch.errors + self.watch.violations
            if os.environ.get("MAILER_E2E_SCREENSHOTS") == "1":  # to look at every page
                self._screenshot(f"/{path}", width)
            if problems:
                shot = self._screenshot(f"/{path}", width)
                pytest.fail(f"/{path} at {width} px:\n" + "\n".join(problems) + f"\nsee {shot}")
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        self.checked.append(f"/{path}")

    def _screenshot(self, path: str, width: int) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", path).strip("_") or "root"
        shot = self.folder / f"{len(self.checked):02d}-{name}-{width}.png"
        self.page.screenshot(path=shot, full_page=True)
        return shot


# The page's width against the window's, and the innermost elements that stick out of it
# (outside any box that scrolls or clips them); measured a few frames after the window changed,
# once scripts that follow its size (charts) have redrawn.
_WIDTHS = """async () => {
  for (let i = 0; i < 3; i++) await new Promise((done) => requestAnimationFrame(done));
  const window_ = document.documentElement.clientWidth;
  const culprits = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.right <= window_ + 0.5 || !el.checkVisibility()) continue;
    let clipped = false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") { clipped = true; break; }
    }
    const child = [...el.children].some((c) => c.getBoundingClientRect().right > window_ + 0.5);
    if (!clipped && !child) culprits.push(el.outerHTML.slice(0, 120));
  }
  return {page: document.documentElement.scrollWidth, window: window.innerWidth,
          culprits: culprits.slice(0, 5)};
}"""
