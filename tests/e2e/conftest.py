"""Browser tests: Debian's chromium, driven by Playwright, against the app served from a thread.

pytest-playwright's ``page`` and ``context`` fixtures run on the browser launched here, once for
this package: a running Playwright keeps an event loop on the main thread, which later tests'
``asyncio.run()`` would trip over, so it stops when the package is done. No browser is ever
downloaded: MAILER_E2E_CHROMIUM (default /usr/bin/chromium, apt package ``chromium``) is used.
Without it the browser tests are skipped, so `make test` runs on a machine with only Python,
except where MAILER_E2E_REQUIRED=1 (.ci/run sets it): there a missing browser fails the run.

The journeys (test_journeys.py) run against real processes instead (``served``: `flask run`
and `flask worker` on the test's database), and check every page they visit with ``Layout``.
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.request
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.e2e.crafted import Planted, plant
from tests.e2e.pages import WIDTHS, Layout, log_in
from tests.factories import make_user
from tests.fixtures.workers import wait_for

CHROMIUM = os.environ.get("MAILER_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def playwright():
    if not os.path.exists(CHROMIUM):
        missing = f"{CHROMIUM} is missing: apt-get install chromium fonts-dejavu-core"
        if os.environ.get("MAILER_E2E_REQUIRED") == "1":  # CI: the browser tests must run
            pytest.fail(missing)
        pytest.skip(f"browser tests not run: {missing}")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


@pytest.fixture
def live_server(app) -> str:
    """The test's app on a real HTTP server (a thread), with CSRF checks on as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def browser_context_args(live_server) -> dict:
    return {"base_url": live_server, "viewport": {"width": 1400, "height": 900}}


@dataclass
class Watch:
    """What a page did that it should not: script run by a payload (``__xss`` canary calls,
    dialogs other than the expected confirmations), errors, Content-Security-Policy violations.

    Dialogs are answered with ``answer`` (True: OK) and recorded as (type, message)."""

    answer: bool = False
    dialogs: list[tuple[str, str]] = field(default_factory=list)
    canary: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.expose_binding("__xss", lambda source, *args: self.canary.append(repr(args)))
        page.expose_binding("__csp", lambda source, text: self.violations.append(text))
        page.add_init_script(
            'document.addEventListener("securitypolicyviolation", (e) =>'
            ' __csp(e.effectiveDirective + " " + (e.blockedURI || "inline") + " on "'
            " + location.pathname));"
        )
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("request", self._request)
        page.on("response", self._response)

    def _dialog(self, dialog) -> None:
        self.dialogs.append((dialog.type, dialog.message))
        if self.answer and dialog.type == "confirm":
            dialog.accept()
        else:
            dialog.dismiss()

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text:
            self.violations.append(text)
        # Failed loads are reported by _response; an email's own script is stopped by the
        # sandbox of its frame or of the view-online page (that is the sandbox doing its job).
        elif (
            message.type == "error"
            and not text.startswith("Failed to load resource")
            and "because the document's frame is sandboxed" not in text
        ):
            self.errors.append(f"console on {message.page.url if message.page else '?'}: {text}")

    def _request(self, request) -> None:
        if request.method == "POST":
            self.posts.append(request.url)

    def _response(self, response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            self.errors.append(f"{response.status} on {response.request.method} {response.url}")

    def assert_quiet(self, confirms: tuple[str, ...] = ()) -> None:
        """No payload ran, nothing broke, and every dialog was one of these confirmations."""
        assert self.canary == [], "a payload ran"
        unexpected = [d for d in self.dialogs if d[0] != "confirm" or d[1] not in confirms]
        assert unexpected == [], "a dialog other than the page's own confirmation"
        assert self.errors == []
        assert self.violations == []


@pytest.fixture
def watch(page) -> Watch:
    watcher = Watch()
    watcher.attach(page)
    return watcher


@pytest.fixture
def admin_page(db, page, watch) -> Page:
    """A page logged in as a fresh admin, watched (see Watch)."""
    log_in(page, make_user("admin").email)
    return page


@pytest.fixture
def planted(db) -> Planted:
    return plant(db)


# ------------------------------------------------------------------ journeys on real processes


@pytest.fixture
def served(app, spawn_process) -> str:
    """Mailer as in production: `flask run` and a worker (every queue) as processes of their own
    on the test's database and Redis; links in the emails it sends point at this server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = spawn_process("run", "--port", str(port), "--no-reload", PUBLIC_BASE_URL=url)
    spawn_process("worker", PUBLIC_BASE_URL=url)

    def answers() -> bool:
        assert server.poll() is None, "the server stopped: see its log in the test's tmp_path"
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    wait_for(answers, timeout=60)
    return url


@pytest.fixture
def journey(browser, served, request):
    """new_page() -> (page, layout): a fresh browser (its own cookies) on ``served``, its page
    watched (see Watch) and checked by a Layout."""
    contexts = []

    def new_page() -> tuple[Page, Layout]:
        context = browser.new_context(base_url=served, viewport={"width": WIDTHS[0], "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        watcher = Watch()
        watcher.attach(page)
        return page, Layout(page, watcher, f"{request.node.name}-{len(contexts)}")

    yield new_page
    for context in contexts:
        context.close()
