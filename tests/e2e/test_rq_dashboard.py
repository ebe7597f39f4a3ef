"""rq-dashboard under /admin/rq in a real browser (issue 16, item 5).

rq-dashboard writes job results and exception texts into its pages as raw HTML. Mailer's jobs
no longer put user text there (tests/jobs), and the pages' Content-Security-Policy stops what
would still slip through: its own scripts run (allowed by hash, with 'unsafe-eval' for its
underscore templates), markup injected into the page runs none.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect
from rq import SimpleWorker

from mailer.queue import IMPORTS, enqueue, get_redis, set_worker_app
from tests.jobs_for_tests import echo

PAYLOAD = "<img src=data:, onerror=__xss(1)><b>bold</b>"


def _run(app, value) -> str:
    job = enqueue(IMPORTS, echo, value)
    set_worker_app(app)
    SimpleWorker([IMPORTS], connection=get_redis()).work(burst=True)
    return job.id


def test_a_job_result_with_markup_runs_no_script_on_the_job_page(app, admin_page: Page, watch):
    job_id = _run(app, PAYLOAD)
    admin_page.goto(f"/admin/rq/0/view/job/{job_id}")
    # Filled in by rq-dashboard's own scripts: they run under the policy.
    expect(admin_page.locator("#job-data")).to_contain_text("Origin queue")
    expect(admin_page.locator("#job-data b")).to_have_count(2)  # the markup went in...
    assert watch.canary == []  # ...and its handler did not run
    assert watch.violations, "the policy refused the injected handler"
    assert all(
        "inline event handler" in v or v.startswith("script-src-attr") for v in watch.violations
    )
    watch.violations.clear()
    watch.assert_quiet()


def test_dashboard_pages_work_under_their_policy(app, admin_page: Page, watch):
    job_id = _run(app, 42)
    admin_page.goto("/admin/rq/")
    # Each table below is drawn by rq-dashboard's scripts from its JSON.
    expect(admin_page.locator("#queues")).to_contain_text(IMPORTS)
    admin_page.goto(f"/admin/rq/0/view/jobs/{IMPORTS}/finished/8/asc/1")
    expect(admin_page.locator("#jobs")).to_contain_text(job_id)
    admin_page.goto("/admin/rq/0/view/workers")
    expect(admin_page.locator("#workers")).to_contain_text("No workers")
    watch.assert_quiet()
