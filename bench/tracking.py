"""Benchmark: open pixel and click redirect under gunicorn, then the flush, then the count.

Production mode end to end on loopback: a fresh MariaDB database (schema by
``flask_migrate.upgrade()``), a dedicated Redis DB, one sent campaign of N sends with a few
links, and ``gunicorn wsgi:app`` with 2 workers (gthread, 4 threads: connections kept alive,
as behind a reverse proxy; ``--worker-class sync`` closes each one) and the production config
(hits buffered in Redis, answered by the WSGI fast path, web/tracking.py FastHits). An async load
generator (aiohttp, one process, C connections) drives
``/t/o/<token>.gif`` and then ``/t/c/<token>/<link>-<mac>`` for a fixed time each and prints
requests/s and p50/p90/p99/max latency. Meanwhile a flusher process runs the tracking flush every
5 s, as the tick does in production. After the load, a last flush drains Redis and the benchmark
checks that every successful hit became exactly one event row (none lost, none doubled).

Other sessions share the machine's cores: the CPU used by each component, the rest of the
machine, and the load average are printed with the figures.

    python bench/tracking.py
    python bench/tracking.py --seconds 20 --concurrency 64
    python bench/tracking.py --worker-class sync   # a new connection per request
    python bench/tracking.py --instrument-only   # link rewriting speed, no server

Every process it starts runs in its own session and is stopped on exit (also on Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import bench.send as bench_send  # noqa: E402  (shared bench set-up)

DEFAULT_DB = "mysql+mysqldb://mailer:mailer@127.0.0.1:3307/mailer_bench_tracking?charset=utf8mb4"
DEFAULT_REDIS = "redis://127.0.0.1:6390/7"
BENCH_BASE_URL = "https://mail.example.com"
BENCH_SECRET = "bench-tracking-secret"  # the server and the load generator sign alike
BENCH_ENCRYPTION_KEY = "v6KrDwWr6NuUTZhkJU6eoceWE2Q_UY104aWuLscnxdg="
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
LINKS = [
    "https://shop.example.com/spring?utm_campaign=spring",
    "https://shop.example.com/stores",
    "https://blog.example.com/2026/04/linen-or-cotton",
    "https://shop.example.com/account?tab=orders&ref=mail",
]


# ------------------------------------------------------------------ processes


class Processes:
    """Children in their own sessions, stopped (process group) on exit."""

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.children: list[subprocess.Popen] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(os.path.join(self.workdir, f"{name}.log"), "ab")  # noqa: SIM115
        child = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.children.append(child)
        return child

    def stop(self, child: subprocess.Popen, grace: float = 15.0) -> None:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait(5)
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in list(reversed(self.children)):
            self.stop(child)


def child_env(args, workdir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=args.db,
        REDIS_URL=args.redis,
        MAILER_INSTANCE_PATH=workdir,
        SECRET_KEY=BENCH_SECRET,
        MAILER_ENCRYPTION_KEY=BENCH_ENCRYPTION_KEY,
        PUBLIC_BASE_URL=BENCH_BASE_URL,
        MAILER_TRACKING_BUFFER="1",
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join([ROOT, env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PYTHONUNBUFFERED="1",
    )
    env.pop("MAILER_EMBEDDED", None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(procs: Processes, args, env, port: int) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "gunicorn", "wsgi:app",
        "--workers", "2",
        "--worker-class", args.worker_class,
        "--bind", f"127.0.0.1:{port}",
        "--backlog", "2048",
        "--keep-alive", "5",
    ]  # fmt: skip
    if args.worker_class == "gthread":
        cmd += ["--threads", str(args.threads)]
    child = procs.start("gunicorn", cmd, env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {procs.workdir}/gunicorn.log")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return child
        time.sleep(0.1)
    raise SystemExit("gunicorn did not start listening within 30 s")


# ------------------------------------------------------------------ database


def make_app(args, workdir: str):
    return bench_send.make_app(
        args.db,
        args.redis,
        workdir,
        {"SECRET_KEY": BENCH_SECRET, "ENCRYPTION_KEY": BENCH_ENCRYPTION_KEY},
        PUBLIC_BASE_URL=BENCH_BASE_URL,
        MAILER_TRACKING_BUFFER=True,
    )


def seed(n: int) -> tuple[int, list[int], list[int]]:
    """A sent campaign: n sends (sent an hour ago), the links of its newsletter."""
    from datetime import timedelta

    from mailer.engine.tracking.links import url_hash
    from mailer.extensions import db
    from mailer.models import Campaign, Link, Send
    from mailer.models.base import utcnow

    campaign = Campaign(name="Bench", subject="Spring", html="<p>x</p>", status="completed")
    db.session.add(campaign)
    db.session.commit()
    sent_at = utcnow() - timedelta(hours=1)
    rows = [
        {
            "campaign_id": campaign.id,
            "subscriber_id": i,
            "email": f"user{i}@example.com",
            "status": "sent",
            "attempts": 1,
            "sent_at": sent_at,
        }
        for i in range(1, n + 1)
    ]
    for start in range(0, n, 5000):
        db.session.execute(db.insert(Send), rows[start : start + 5000])
    db.session.execute(
        db.insert(Link),
        [{"campaign_id": campaign.id, "url": u, "url_hash": url_hash(u)} for u in LINKS],
    )
    db.session.commit()
    send_ids = list(db.session.scalars(db.select(Send.id).filter_by(campaign_id=campaign.id)))
    link_ids = list(db.session.scalars(db.select(Link.id).filter_by(campaign_id=campaign.id)))
    return campaign.id, send_ids, link_ids


def count_rows(campaign_id: int) -> dict[str, tuple[int, int]]:
    """type → (rows, distinct hit ids) of the hit events."""
    from sqlalchemy import distinct, func, select

    from mailer.extensions import db
    from mailer.models import Event

    db.session.commit()
    rows = db.session.execute(
        select(Event.type, func.count(), func.count(distinct(Event.provider_event_id)))
        .where(Event.campaign_id == campaign_id, Event.provider_event_id.like("hit:%"))
        .group_by(Event.type)
    )
    return {kind: (int(n), int(d)) for kind, n, d in rows}


# ------------------------------------------------------------------ load


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        lat = sorted(self.latencies)
        if not lat:
            return f"  {self.name:<6} no successful requests; errors {self.errors}"

        def pct(p: float) -> float:
            return 1000 * lat[min(len(lat) - 1, int(p * len(lat)))]

        rate = self.ok / self.seconds
        errs = sum(self.errors.values())
        return (
            f"  {self.name:<6} {rate:>8,.0f} req/s  {self.ok:>8,} ok  {errs:>4} errors   "
            f"latency p50 {pct(0.50):6.2f} ms  p90 {pct(0.90):6.2f}  p99 {pct(0.99):6.2f}  "
            f"max {1000 * lat[-1]:6.1f}  mean {1000 * statistics.fmean(lat):6.2f}"
        )


async def drive(name: str, urls: list[str], expect: int, seconds: float, concurrency: int):
    import aiohttp

    phase = Phase(name)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)
    headers = {"User-Agent": BROWSER}
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers=headers
    ) as session:
        deadline = time.perf_counter() + seconds

        async def user(offset: int) -> None:
            i = offset
            perf = time.perf_counter
            while perf() < deadline:
                url = urls[i % len(urls)]
                i += concurrency
                t0 = perf()
                try:
                    async with session.get(url, allow_redirects=False) as resp:
                        await resp.read()
                        status = resp.status
                except (TimeoutError, aiohttp.ClientError) as exc:
                    key = type(exc).__name__
                    phase.errors[key] = phase.errors.get(key, 0) + 1
                    continue
                if status == expect:
                    phase.latencies.append(perf() - t0)
                    phase.ok += 1
                else:
                    phase.errors[str(status)] = phase.errors.get(str(status), 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(user(k) for k in range(concurrency)))
        phase.seconds = time.perf_counter() - started
    return phase


class CpuMeter:
    """CPU seconds of each component between start() and stop(), and of the whole machine."""

    def __init__(self, parts: dict[str, int]) -> None:
        import psutil

        self.psutil = psutil
        self.parts = parts
        self.servers = {}
        for proc in psutil.process_iter(["name", "cmdline"]):
            name = proc.info["name"]
            cmd = " ".join(proc.info["cmdline"] or [])
            if name in ("mariadbd", "mysqld") and "3307" in cmd:
                self.servers["mariadbd"] = proc
            elif name == "redis-server" and "6390" in cmd:
                self.servers["redis-server"] = proc

    def _tree_cpu(self, pid: int) -> float:
        psutil = self.psutil
        total = 0.0
        with contextlib.suppress(psutil.Error):
            parent = psutil.Process(pid)
            for proc in [parent, *parent.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    t = proc.cpu_times()
                    total += t.user + t.system
        return total

    def _read(self) -> dict[str, float]:
        out = {name: self._tree_cpu(pid) for name, pid in self.parts.items()}
        for name, proc in self.servers.items():
            with contextlib.suppress(self.psutil.Error):
                t = proc.cpu_times()
                out[name] = t.user + t.system
        t = self.psutil.Process().cpu_times()
        out["load generator (this process)"] = t.user + t.system
        sys_t = self.psutil.cpu_times()
        out["_busy"] = sum(sys_t) - sys_t.idle - getattr(sys_t, "iowait", 0.0)
        return out

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.before = self._read()
        self.load_before = os.getloadavg()

    def stop(self) -> list[str]:
        seconds = time.monotonic() - self.t0
        after = self._read()
        used = {k: after[k] - self.before.get(k, 0.0) for k in after}
        busy = used.pop("_busy")
        self.used = used
        load = os.getloadavg()
        lines = [f"  {'component':<32} {'CPU s':>7} {'% of a core':>12}"]
        for name, sec in used.items():
            lines.append(f"  {name:<32} {sec:>7.2f} {100 * sec / seconds:>11.0f}%")
        ours = sum(used.values())
        rest = max(0.0, busy - ours)
        lines.append(
            f"  {'rest of the machine':<32} {rest:>7.2f} {100 * rest / seconds:>11.0f}%"
            f"   (other sessions; {os.cpu_count()} cores = {100 * (os.cpu_count() or 1)}%)"
        )
        b = self.load_before
        lines.append(
            f"  load average before {b[0]:.2f} {b[1]:.2f} {b[2]:.2f}, "
            f"after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        return lines


# ------------------------------------------------------------------ flusher process


def flusher_main() -> int:
    """`--flusher`: the 5-second flush tick, until SIGTERM (run under the production config)."""
    from jobs.tracking import flush_events
    from mailer import create_app

    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    app = create_app()
    with app.app_context():
        while not stop:
            result = flush_events()
            print(result, flush=True)
            for _ in range(50):
                if stop:
                    break
                time.sleep(0.1)
    return 0


# ------------------------------------------------------------------ instrumentation only


def instrument_only(args, workdir: str) -> int:
    """Link rewriting speed on a realistic newsletter (SQLite; links cached after the first)."""
    from config import TestConfig
    from mailer import create_app
    from mailer.engine.tracking import links
    from mailer.extensions import db
    from mailer.models import Campaign

    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{workdir}/instrument.db",
        INSTANCE_PATH=workdir,
        REDIS_URL="redis://unused",
    )
    with app.app_context():
        db.create_all()
        campaign = Campaign(name="x", subject="x")
        db.session.add(campaign)
        db.session.commit()
        items = "".join(
            f'<tr><td><a href="https://shop.example.com/p/{i}?utm_source=mail&amp;c=spring">'
            f'<img src="https://cdn.example.com/{i}.jpg" alt=""></a></td>'
            f"<td>Item {i}: {'linen and cotton, made to last. ' * 6}</td></tr>"
            for i in range(20)
        )
        html = (
            "<!doctype html><html><head><style>td{padding:8px}</style></head><body>"
            f"<table>{items}</table>"
            '<p><a href="mailto:help@example.com">help</a> <a href="#top">top</a> '
            f'<a href="{BENCH_BASE_URL}/u/TOKEN">Unsubscribe</a></p></body></html>'
        )
        instrument = links.instrumenter(campaign)
        instrument.apply(html, "text", "warmup")
        n = args.messages
        t0, cpu0 = time.perf_counter(), time.process_time()
        for i in range(n):
            instrument.apply(html, "text", f"c{i}.token")
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        print(
            f"instrumentation: {len(html):,} characters, 20 tracked links, pixel, footer check: "
            f"{n / seconds:,.0f} messages/s ({1e6 * seconds / n:.0f} µs per message; "
            f"{1e6 * cpu / n:.0f} µs of CPU, the steadier figure on a shared machine)"
        )
    return 0


# ------------------------------------------------------------------ main


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--redis", default=DEFAULT_REDIS)
    p.add_argument("--sends", type=int, default=20_000)
    p.add_argument("--seconds", type=float, default=15.0, help="per endpoint")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument(
        "--worker-class",
        default="gthread",
        choices=["gthread", "sync"],
        help="gthread keeps connections alive; sync closes each one",
    )
    p.add_argument("--threads", type=int, default=4, help="gthread only")
    p.add_argument("--no-flush-during", action="store_true", help="flush only after the load")
    p.add_argument("--instrument-only", action="store_true")
    p.add_argument("--messages", type=int, default=5000, help="--instrument-only")
    p.add_argument("--flusher", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def main() -> int:
    args = parse_args()
    if args.flusher:
        return flusher_main()
    workdir = tempfile.mkdtemp(prefix="bench-tracking-")
    if args.instrument_only:
        return instrument_only(args, workdir)

    procs = Processes(workdir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        return run(args, workdir, procs)
    finally:
        procs.stop_all()


def run(args, workdir: str, procs: Processes) -> int:
    import redis as redis_lib

    from mailer.engine.tracking import flush, links
    from mailer.lib import tokens

    say = print
    say(f"setup: database {args.db.split('@')[-1]}, redis {args.redis}, workdir {workdir}")
    bench_send.recreate_database(args.db)
    redis_lib.Redis.from_url(args.redis).flushdb()
    app = make_app(args, workdir)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        campaign_id, send_ids, link_ids = seed(args.sends)
        sign = tokens.signer()
        token_of = [sign(tokens.CAMPAIGN_SEND, i) for i in send_ids]
        key = tokens.link_key()
    random.seed(7)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    pixel_urls = [f"{base}/t/o/{t}.gif" for t in token_of]
    random.shuffle(pixel_urls)
    click_urls = [links.click_url(base, t, random.choice(link_ids), key) for t in token_of]
    random.shuffle(click_urls)

    env = child_env(args, workdir)
    server = start_gunicorn(procs, args, env, port)
    flusher = None
    if not args.no_flush_during:
        flusher = procs.start("flusher", [sys.executable, __file__, "--flusher"], env)
    say(
        f"gunicorn: 2 workers ({args.worker_class}"
        f"{f', {args.threads} threads' if args.worker_class == 'gthread' else ''}) on {base}; "
        f"{args.sends:,} sends, {len(link_ids)} links; {args.concurrency} connections; "
        f"flush {'every 5 s during the load' if flusher else 'after the load only'}"
    )

    expected = {"open": 0, "click": 0}
    phases = []
    warm = asyncio.run(drive("warmup", pixel_urls, 200, args.warmup, args.concurrency))
    warm2 = asyncio.run(drive("warmup", click_urls, 302, args.warmup, args.concurrency))
    expected["open"] += warm.ok
    expected["click"] += warm2.ok
    parts = {"gunicorn (master + 2 workers)": server.pid}
    if flusher:
        parts["flusher"] = flusher.pid
    for name, urls, status, kind in (
        ("pixel", pixel_urls, 200, "open"),
        ("click", click_urls, 302, "click"),
    ):
        meter = CpuMeter(parts)
        meter.start()
        phase = asyncio.run(drive(name, urls, status, args.seconds, args.concurrency))
        expected[kind] += phase.ok
        lines = meter.stop()
        server_cpu = meter.used["gunicorn (master + 2 workers)"]
        lines.append(
            f"  server CPU per request: {1000 * server_cpu / max(phase.ok, 1):.2f} ms "
            "(gunicorn alone; does not depend on the other sessions)"
        )
        phases.append((phase, lines))

    procs.stop(server)  # no hit can arrive any more
    if flusher:
        procs.stop(flusher)
    with app.app_context():
        backlog = flush.pending()
        t0 = time.perf_counter()
        flushed = 0
        while flush.pending():
            flushed += flush.flush().events
        flush_s = time.perf_counter() - t0
        counts = count_rows(campaign_id)
        left = flush.pending()

    say("")
    for phase, cpu in phases:
        say(phase.line())
        for line in cpu:
            say("    " + line)
    say("")
    if backlog:
        say(
            f"final flush: {backlog:,} hits left in Redis after the load, written in "
            f"{flush_s:.2f} s ({flushed / flush_s:,.0f} events/s)"
        )
    else:
        say("final flush: nothing left in Redis, the 5-second flush kept up during the load")
    ok = True
    for kind in ("open", "click"):
        rows, distinct = counts.get(kind, (0, 0))
        good = rows == distinct == expected[kind]
        ok &= good
        say(
            f"  {kind:<5}: {expected[kind]:,} successful hits → {rows:,} event rows "
            f"({distinct:,} distinct hit ids): {'OK' if good else 'MISMATCH'}"
        )
    ok &= left == 0
    say(f"  Redis buffer and processing lists empty: {'yes' if left == 0 else f'no ({left})'}")
    errors = sum(sum(p.errors.values()) for p, _ in phases)
    verdict = "PASS" if ok and not errors else "FAIL"
    say(f"errors: {errors}; result: {verdict} (zero lost or doubled)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
