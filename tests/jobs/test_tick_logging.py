"""The worker's terminal stays readable: ticks that found nothing to do write no INFO lines."""

from __future__ import annotations

import pytest

from mailer.queue import TICKS, enqueue
from mailer.scheduling import JOB_PREFIX
from tests.jobs_for_tests import echo, fail_loudly


def _run_worker_burst(spawn_process, tmp_path, level: str) -> str:
    process = spawn_process("worker", "-q", TICKS, "--burst", LOG_LEVEL=level)
    assert process.wait(timeout=180) == 0
    return (tmp_path / "worker-0.log").read_text()


@pytest.mark.usefixtures("app")
def test_idle_ticks_log_at_debug_and_other_jobs_at_info(spawn_process, tmp_path):
    enqueue(TICKS, "jobs.ticks.heartbeat", job_id=f"{JOB_PREFIX}heartbeat")
    enqueue(TICKS, "jobs.ticks.campaigns_tick", job_id=f"{JOB_PREFIX}campaigns")
    enqueue(TICKS, echo, "not a tick")
    log = _run_worker_burst(spawn_process, tmp_path, "INFO")
    assert "tests.jobs_for_tests.echo('not a tick')" in log  # other jobs: as before
    assert JOB_PREFIX not in log and "jobs.ticks." not in log
    assert "tick: launched" not in log


@pytest.mark.usefixtures("app")
def test_tick_lines_come_back_with_log_level_debug(spawn_process, tmp_path):
    enqueue(TICKS, "jobs.ticks.campaigns_tick", job_id=f"{JOB_PREFIX}campaigns")
    log = _run_worker_burst(spawn_process, tmp_path, "DEBUG")
    assert f"{JOB_PREFIX}campaigns" in log
    assert "tick: launched [], resumed [], woke rows [], probing rows []" in log


@pytest.mark.usefixtures("app")
def test_a_failing_tick_still_shows_at_info(spawn_process, tmp_path):
    enqueue(TICKS, fail_loudly, job_id=f"{JOB_PREFIX}broken")
    log = _run_worker_burst(spawn_process, tmp_path, "INFO")
    assert f"{JOB_PREFIX}broken" in log and "Traceback" in log
