"""Benchmark: how one campaign's sending scales with send-worker processes.

One MariaDB database and one Redis DB of the bench's own, a Brevo-like sink with a latency
(50 ms by default, as a provider far away), and for each count K of ``--workers`` (1, 2, 4,
8): K ``flask worker -q send`` processes and one campaign on one channel whose row asks for K
loops (``CampaignChannel.loops``), so every worker sends the same row. Then two campaigns on
two channels at once (``--pairs``: worker counts, each campaign's row with half as many loops).
For each run: emails/s from ``schedule()`` to the last final send and in the steady part
(10%..90% done), CPU ms per email of the system (workers with their job and transport
children, sink, mariadbd, redis-server) and of the workers alone, and the scaling efficiency
(emails/s over K times the one-worker figure). The set-up and the measuring are bench/send.py's.

    python bench/scale.py
    python bench/scale.py --recipients 50000 --workers 1,2,4 --pairs 2
    python bench/scale.py --database-url mysql+mysqldb://u:p@host/db --redis-url redis://h/3

Every CPU of the machine counts: on 2 cores, more loops than cores share them (with the sink,
MariaDB and Redis), so the efficiency falls past 2 whatever the engine does.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import tempfile
import time
from dataclasses import dataclass

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.send import (  # noqa: E402  (shared bench set-up and measuring)
    CpuMeter,
    Processes,
    child_env,
    find_jobs,
    insert_subscribers,
    make_app,
    make_campaign,
    make_channels,
    make_identity,
    poll_until_done,
    recreate_database,
    start_sink,
    start_workers,
    steady,
    stop_sink,
)

DEFAULT_DB = "mysql+mysqldb://mailer:mailer@127.0.0.1:3307/mailer_bench_scale?charset=utf8mb4"
DEFAULT_REDIS = "redis://127.0.0.1:6390/6"


@dataclass
class Run:
    label: str
    workers: int
    campaigns: int
    emails: int = 0
    seconds: float = 0.0
    steady: float = 0.0
    sut_ms: float = 0.0  # CPU ms per email: workers, sink, mariadbd, redis
    worker_ms: float = 0.0  # CPU ms per email of the worker trees alone
    other_cores: float = 0.0  # cores other sessions used meanwhile
    statuses: str = ""
    loops_sent: int = 0  # loops (slots) of the rows that sent at least one email

    @property
    def rate(self) -> float:
        return self.emails / self.seconds if self.seconds else 0.0


def wait_launches(redis, n: int, timeout: float) -> None:
    """Wait until the ``n`` orchestrator jobs of this run ended (failed: raise)."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = find_jobs(redis, "jobs.campaigns.orchestrate_launch")
        ended = [j for j in jobs if j.get_status(refresh=True) in ("finished", "failed")]
        for job in ended:
            if job.get_status() == "failed":
                raise RuntimeError(f"launch job failed:\n{job.latest_result().exc_string}")
        if len(ended) >= n:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the launch jobs did not finish in time")
        time.sleep(0.05)


def one_run(args, app, redis, procs, env, sink, ports, channel_ids, list_id, identity_id, run):
    """Start the workers, schedule the run's campaigns (one per channel, each row with
    ``run.workers / run.campaigns`` loops), wait until every send is final, stop the workers."""
    from mailer.campaigns import lifecycle, stats
    from mailer.extensions import db
    from mailer.models import CampaignChannel, Send

    redis.flushdb()  # nothing left of the previous run: queues, locks, rate buckets
    loops = max(1, run.workers // run.campaigns)
    campaigns = []
    for i in range(run.campaigns):
        campaign = make_campaign(f"{run.label} {i + 1}", list_id, [channel_ids[i]], identity_id)
        db.session.execute(
            db.update(CampaignChannel)
            .where(CampaignChannel.campaign_id == campaign.id)
            .values(loops=loops)
        )
        db.session.commit()
        campaigns.append(campaign)
    workers = start_workers(procs, run.workers, env, redis, baseline=False, tag=run.label)
    meter = CpuMeter({**{w.name: w.pid for w in workers}, "sink": sink.pid}, *ports)
    meter.start()
    t0 = time.monotonic()
    for campaign in campaigns:
        lifecycle.schedule(campaign)
    wait_launches(redis, run.campaigns, args.timeout)
    progress: list = []
    end = t0
    for campaign in campaigns:  # the first one's progress gives the steady rate
        done_at, _status = poll_until_done(app, campaign.id, t0, args.timeout, progress)
        end = max(end, done_at)
        progress = [] if run.campaigns > 1 else progress
    meter.stop()
    for w in workers:
        procs.stop(w)
    db.session.rollback()
    counts: dict[str, int] = {}
    for campaign in campaigns:
        for status, n in stats.status_counts(campaign.id).items():
            counts[status] = counts.get(status, 0) + n
    run.emails = sum(counts.values())
    run.seconds = end - t0
    run.steady = steady(progress, run.emails) if run.campaigns == 1 else 0.0
    run.sut_ms = meter.sut_ms(run.emails)
    used = meter.used
    run.worker_ms = 1000 * sum(used[w.name] for w in workers) / max(run.emails, 1)
    ours = sum(v for k, v in used.items() if not k.startswith("_"))
    run.other_cores = max(0.0, used.get("_busy", 0.0) - ours) / max(meter.seconds, 1e-6)
    run.statuses = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    run.loops_sent = db.session.scalar(
        db.select(
            db.func.count(db.distinct(db.func.concat(Send.campaign_id, ":", Send.slot)))
        ).where(Send.campaign_id.in_([c.id for c in campaigns]), Send.status == "sent")
    )
    return counts.get("sent", 0)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipients", type=int, default=30000, help="per campaign (default 30000)")
    p.add_argument("--latency-ms", type=float, default=50.0, help="the sink's (default 50)")
    p.add_argument("--workers", default="1,2,4,8", help="worker counts, one campaign each run")
    p.add_argument(
        "--pairs", default="2,4", help="worker counts for two campaigns on two channels at once"
    )
    p.add_argument(
        "--concurrency",
        type=int,
        help="provider requests in flight per loop (MAILER_HTTP_CONCURRENCY, default 500)",
    )
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    p.add_argument("--timeout", type=float, default=900, help="seconds per run")
    return p.parse_args()


def counts_of(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> int:
    args = parse_args()
    import redis as redis_lib
    import sqlalchemy as sa
    from cryptography.fernet import Fernet

    def on_term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    workdir = tempfile.mkdtemp(prefix="mailer-bench-scale-")
    keys = {
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    procs = Processes(workdir)
    r = redis_lib.Redis.from_url(args.redis_url)
    ports = (
        sa.make_url(args.database_url).port,
        r.connection_pool.connection_kwargs.get("port"),
    )
    try:
        recreate_database(args.database_url)
        r.flushdb()
        app = make_app(args.database_url, args.redis_url, workdir, keys)
        env = child_env(args.database_url, args.redis_url, workdir, keys)
        if args.concurrency:
            app.config["MAILER_HTTP_CONCURRENCY"] = args.concurrency
            env["MAILER_HTTP_CONCURRENCY"] = str(args.concurrency)
        with app.app_context():
            from flask_migrate import upgrade

            from mailer.engine.imports import importer
            from mailer.extensions import db

            upgrade()
            versions = (
                db.session.scalar(sa.text("SELECT VERSION()")),
                r.info("server")["redis_version"],
            )
            list_id = importer.get_or_create_list("bench audience").id
            insert_subscribers(list_id, args.recipients, "person")
            identity_id = make_identity()
            sink, endpoint = start_sink(procs, "brevo", args.latency_ms, env)
            channel_ids = make_channels("brevo", endpoint, 2)

            runs = [Run(f"w{k}", k, 1) for k in counts_of(args.workers)]
            runs += [Run(f"pair-w{k}", k, 2) for k in counts_of(args.pairs)]
            sent = 0
            for run in runs:
                sent += one_run(
                    args, app, r, procs, env, sink, ports, channel_ids, list_id, identity_id, run
                )
                print(
                    f"  {run.label}: {run.emails} emails in {run.seconds:.2f} s "
                    f"({run.rate:.0f}/s); {run.statuses}",
                    flush=True,
                )
            accepted = stop_sink(procs, sink)
        report(args, runs, versions, accepted, sent)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every process started", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        print(f"(logs in {workdir})", file=sys.stderr)


def report(args, runs: list[Run], versions, accepted, sent) -> None:
    print()
    print(
        f"Mailer scale benchmark: MariaDB {versions[0]}, Redis {versions[1]}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"sink brevo, latency {args.latency_ms:g} ms; {args.recipients} subscribers per campaign "
        "(every 200th unsubscribed, every 250th suppressed); one row loop per worker"
    )
    print()
    print(
        f"{'run':<34} {'emails':>7} {'seconds':>8} {'emails/s':>9} {'steady/s':>9} "
        f"{'CPU ms/email':>12} {'workers':>8} {'efficiency':>10} {'loops':>6} {'others':>7}"
    )
    single = {run.workers: run for run in runs if run.campaigns == 1}
    base = single.get(1)
    for run in runs:
        what = (
            f"{run.workers} worker{'s' if run.workers > 1 else ''}, 1 campaign"
            if run.campaigns == 1
            else f"{run.workers} workers, 2 campaigns/2 channels"
        )
        eff = f"{100 * run.rate / (run.workers * base.rate):>9.0f}%" if base else f"{'':>10}"
        steady_s = f"{run.steady:>9.0f}" if run.steady else f"{'':>9}"
        print(
            f"{what:<34} {run.emails:>7} {run.seconds:>8.2f} {run.rate:>9.0f} {steady_s} "
            f"{run.sut_ms:>12.3f} {run.worker_ms:>8.3f} {eff} {run.loops_sent:>6} "
            f"{run.other_cores:>6.2f}c"
        )
    print()
    print(
        "emails/s: schedule() to the last final send (launch included); steady: 10%..90% done; "
        "CPU ms/email: workers (with job and transport children), sink, mariadbd, redis; "
        "workers: the worker trees alone; efficiency: emails/s / (workers x the 1-worker "
        "emails/s); loops: the row loops that sent; others: cores other sessions used "
        "meanwhile."
    )
    print(
        f"sink accepted {accepted} messages; sends marked sent {sent} "
        f"({'match' if accepted == sent else 'MISMATCH'})"
    )
    cores = os.cpu_count() or 1
    if any(run.workers > cores for run in runs):
        print(
            f"note: {cores} cores: past {cores} workers the loops, the sink, MariaDB and Redis "
            "share the same cores, so emails/s flattens and the efficiency falls by design of "
            "the machine, not of the engine; CPU per email shows what each email costs."
        )


if __name__ == "__main__":
    sys.exit(main())
