"""Benchmark: transactional sends through the REST API, under gunicorn, on MariaDB and Redis.

Starts a fresh MariaDB database (schema by ``flask_migrate.upgrade()``), a dedicated Redis DB,
the app under gunicorn on a free port, and creates a sender, a Brevo-like channel and an API
key. Then, with a small asyncio load generator (N keep-alive connections):

1. single: ``POST /api/v1/messages`` with one message per request for D seconds, no workers
   running: requests accepted per second, p50/p99/max acceptance latency, errors;
2. batch: the same with 50 messages per request;
3. backlog: K ``flask worker -q transactional`` processes start and send everything queued
   to the local Brevo-like sink (run in this process): messages/s until the last is sent;
4. latency: with the workers running, single messages at a steady rate R for D seconds: time
   from the 202 to the sink receiving each message (p50/p99/max).

    python bench/api.py
    python bench/api.py --connections 64 --gunicorn-workers 4 --duration 15
    python bench/api.py --phases single --profile /tmp/api.raw   # py-spy: where the CPU goes
    flock /tmp/bench.lock python bench/api.py

Every process it starts runs in its own session and is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.send import (  # noqa: E402  (bench helpers: processes, database, CPU)
    CpuMeter,
    Processes,
    child_env,
    make_app,
    recreate_database,
)

DEFAULT_DB = "mysql+mysqldb://mailer:mailer@127.0.0.1:3307/mailer_h_tx_bench?charset=utf8mb4"
DEFAULT_REDIS = "redis://127.0.0.1:6390/9"
HTML = (
    "<!doctype html><html><body><h1>Your receipt</h1><p>Thanks for your order "
    "<b>#{n}</b>. It ships tomorrow.</p><p><a href='https://shop.example.com/o/{n}'>Track it"
    "</a></p></body></html>"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def message(n: int, tag: str) -> dict:
    return {
        "to": f"{tag}{n}@example.com",
        "subject": f"Your receipt #{n}",
        "html": HTML.format(n=n),
        "tags": ["receipt"],
        "metadata": {"order": n},
    }


def request_bytes(host: str, path: str, key: str, body: bytes) -> bytes:
    """One complete keep-alive HTTP/1.1 POST, ready to write."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def post(reader, writer, raw: bytes) -> tuple[int, bytes]:
    """Write one request, read its answer (Content-Length bodies: what gunicorn sends)."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    return status, await reader.readexactly(length) if length else b""


async def load(
    url: str,
    key: str,
    *,
    connections: int,
    seconds: float,
    batch: int,
    tag: str,
    rate: float | None = None,
    accepted_at: dict | None = None,
) -> dict:
    """N keep-alive connections POST for `seconds` (or at `rate` requests/s in all); latencies
    in ms. The client is a few lines over asyncio streams, not aiohttp: it shares the cores
    with the server it measures, so each request costs it one %-format of a pre-encoded body
    template, one write and two reads (the status is all it looks at)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    one = json.dumps(message(0, tag)).replace("%", "%%")
    one = one.replace(f"{tag}0@", f"{tag}%(n)d@").replace("#0", "#%(n)d")
    one = one.replace("/o/0'", "/o/%(n)d'").replace('"order": 0', '"order": %(n)d')
    item = one.encode()
    counter = iter(range(10**9))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    examples: dict[int, str] = {}  # the first answer of each unexpected status
    messages = 0
    start = time.monotonic()
    deadline = start + seconds
    interval = connections / rate if rate else 0.0

    async def worker(offset: float):
        nonlocal messages
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        next_at = start + offset
        try:
            while time.monotonic() < deadline:
                if interval:
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at += interval
                n = next(counter) * batch
                data = item % {b"n": n} if batch == 1 else _batch_body(item, n, batch)
                raw = request_bytes(parts.netloc, parts.path, key, data)
                t0 = time.monotonic()
                try:
                    status, answer = await post(reader, writer, raw)
                except (OSError, asyncio.IncompleteReadError) as exc:  # closed: count, reconnect
                    status, answer = 0, repr(exc).encode()
                    writer.close()
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                t1 = time.monotonic()
                if status != 202 and status not in examples:
                    examples[status] = answer[:300].decode(errors="replace")
                latencies.append((t1 - t0) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 202:
                    messages += batch
                    if accepted_at is not None:
                        for i in range(n, n + batch):
                            accepted_at[f"{tag}{i}@example.com"] = t1
        finally:
            writer.close()

    await asyncio.gather(*(worker(i * interval / connections) for i in range(connections)))
    elapsed = time.monotonic() - start
    return {
        "requests": len(latencies),
        "messages": messages,
        "elapsed": elapsed,
        "req_per_s": len(latencies) / elapsed,
        "msg_per_s": messages / elapsed,
        "p50_ms": pct(latencies, 0.50),
        "p99_ms": pct(latencies, 0.99),
        "max_ms": max(latencies) if latencies else float("nan"),
        "mean_ms": statistics.fmean(latencies) if latencies else float("nan"),
        "statuses": statuses,
        "examples": examples,
    }


def _batch_body(item: bytes, first: int, batch: int) -> bytes:
    return b'{"messages": [' + b", ".join(item % {b"n": first + i} for i in range(batch)) + b"]}"


def wait_http(url: str, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def count_status(db, status: str) -> int:
    from mailer.models.campaigns import Message

    db.session.commit()
    return db.session.scalar(
        db.select(db.func.count()).select_from(Message).where(Message.status == status)
    )


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--redis", default=DEFAULT_REDIS)
    p.add_argument("--gunicorn-workers", type=int, default=2)
    p.add_argument("--gunicorn-threads", type=int, default=8, help=">1: the gthread worker")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per load phase")
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--workers", type=int, default=2, help="transactional worker processes")
    p.add_argument("--rate", type=float, default=200.0, help="requests/s in the latency phase")
    p.add_argument("--latency-ms", type=float, default=0.0, help="sink latency per request")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument(
        "--phases",
        default="single,batch,backlog,steady",
        help="comma-separated subset of: single, batch, backlog, steady",
    )
    p.add_argument(
        "--profile",
        metavar="FILE",
        help="py-spy the gunicorn workers during the single phase (collapsed stacks to FILE)",
    )
    return p.parse_args()


def main() -> int:  # noqa: PLR0915 - one linear script
    args = parse_args()
    workdir = tempfile.mkdtemp(prefix="bench-api-")
    keys = {"SECRET_KEY": "bench-secret", "ENCRYPTION_KEY": _fernet_key()}
    procs = Processes(workdir)
    import redis as redis_lib

    redis_lib.Redis.from_url(args.redis).flushdb()
    recreate_database(args.db)
    app = make_app(args.db, args.redis, workdir, keys)
    from tests.servers.brevo import BrevoServer

    sink = BrevoServer(latency=args.latency_ms / 1000, record=True)
    sink.start()
    try:
        with app.app_context():
            from flask_migrate import upgrade

            from mailer.extensions import db
            from mailer.lib.crypto import encrypt_json
            from mailer.models import Channel, Identity
            from mailer.services import api_keys

            upgrade()
            db.session.add(Identity(name="Shop", from_email="shop@example.com", from_name="Shop"))
            db.session.add(
                Channel(
                    name="bench brevo",
                    provider="brevo",
                    endpoint_url=sink.endpoint_url,
                    settings={},
                    secrets_encrypted=encrypt_json({"api_key": sink.api_key}),
                    rate_per_second=100000,
                )
            )
            db.session.commit()
            key = api_keys.create("bench", ["send"], None, rate_limit=10**9).plaintext

            env = child_env(args.db, args.redis, workdir, keys)
            port = free_port()
            cmd = [
                os.path.join(os.path.dirname(sys.executable), "gunicorn"),
                "-w",
                str(args.gunicorn_workers),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--keep-alive",
                "30",
            ]
            if args.gunicorn_threads > 1:
                cmd += ["-k", "gthread", "--threads", str(args.gunicorn_threads)]
            web = procs.start("gunicorn", [*cmd, "wsgi:app"], env)
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz")
            url = f"{base}/api/v1/messages"
            print(
                f"gunicorn: {args.gunicorn_workers} workers"
                f"{f' x {args.gunicorn_threads} threads' if args.gunicorn_threads > 1 else ''}"
                f", {args.connections} connections, {args.duration:g} s per phase, "
                f"MariaDB {args.db.split('@')[1].split('?')[0]}, Redis {args.redis}",
                flush=True,
            )
            asyncio.run(  # warm-up: imports, pools, caches in every gunicorn worker
                load(url, key, connections=args.connections, seconds=2, batch=1, tag="w")
            )

            db_port, redis_port = _port(args.db, 3306), _port(args.redis, 6379)
            phases = set(args.phases.split(","))
            if "single" in phases:
                spy = _start_profile(procs, web.pid, args) if args.profile else None
                load_phase(url, key, args, web.pid, (db_port, redis_port), 1, "single")
                if spy is not None:
                    spy.popen.wait(args.duration + 30)
                    print(f"profile of the single phase in {args.profile}", flush=True)
            if "batch" in phases:
                load_phase(
                    url,
                    key,
                    args,
                    web.pid,
                    (db_port, redis_port),
                    args.batch,
                    f"batch of {args.batch}",
                )
            if phases & {"backlog", "steady"}:
                _start_workers(procs, args.workers, env)
            if "backlog" in phases:
                queued = count_status(db, "queued")
                sink.accepted = 0
                started = time.monotonic()
                from mailer.engine.transactional import accept

                accept.wake([c for c in db.session.scalars(db.select(Channel.id))])
                while count_status(db, "queued") + count_status(db, "sending") > 0:
                    time.sleep(0.5)
                    if time.monotonic() - started > 1800:
                        raise RuntimeError("backlog not sent in 30 minutes")
                took = time.monotonic() - started
                print(
                    f"backlog: {queued} messages sent in {took:.1f} s = {queued / took:,.0f}/s "
                    f"with {args.workers} worker processes (sink accepted {sink.accepted})",
                    flush=True,
                )
            if "steady" in phases:
                steady_phase(url, key, args, sink)
    finally:
        procs.stop_all()
        sink.stop()
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs in {workdir}")
    return 0


def load_phase(url, key, args, gunicorn_pid: int, ports, batch: int, name: str) -> None:
    """Requests of ``batch`` messages as fast as the connections go, for the phase's duration:
    rate and latency, then the CPU per request (single) or per message (batch)."""
    meter = CpuMeter({"gunicorn": gunicorn_pid}, *ports)
    meter.start()
    result = asyncio.run(
        load(
            url,
            key,
            connections=args.connections,
            seconds=args.duration,
            batch=batch,
            tag="s" if batch == 1 else "b",
        )
    )
    meter.stop()
    report(name, result)
    unit, per = ("req", result["requests"]) if batch == 1 else ("msg", result["messages"])
    print("\n".join(meter.lines(per)).replace("ms/email", f"ms/{unit}"))


def _start_workers(procs, n: int, env: dict[str, str]) -> None:
    for i in range(n):
        cmd = [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "worker",
            "-q",
            "transactional,ticks",
        ]
        procs.start(f"worker-{i + 1}", cmd, env)


def _start_profile(procs, pid: int, args: argparse.Namespace):
    """py-spy on gunicorn and its workers for the single phase: collapsed stacks of the threads
    holding the GIL (where the CPU goes, not where requests wait)."""
    spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    cmd = [spy, "record", "--subprocesses", "--nonblocking", "--gil", "-r", "200"]
    cmd += ["-d", str(int(args.duration)), "-f", "raw", "-o", args.profile, "-p", str(pid)]
    return procs.start("py-spy", cmd, dict(os.environ))


def steady_phase(url: str, key: str, args: argparse.Namespace, sink) -> None:
    """Single messages at a steady rate with workers running: acceptance -> sink received."""
    sink.requests.clear()
    accepted_at: dict[str, float] = {}
    steady = asyncio.run(
        load(
            url,
            key,
            connections=min(args.connections, 16),
            seconds=args.duration,
            batch=1,
            tag="l",
            rate=args.rate,
            accepted_at=accepted_at,
        )
    )
    deadline = time.monotonic() + 60
    got: dict[str, float] = {}
    while time.monotonic() < deadline:
        got = {r.json["to"][0]["email"]: r.received_at for r in list(sink.requests)}
        if len(got) >= len(accepted_at):
            break
        time.sleep(0.2)
    delays = [(got[to] - t) * 1000 for to, t in accepted_at.items() if to in got]
    report(f"steady {args.rate:g} req/s with workers", steady)
    print(
        f"  accept -> sink received: p50 {pct(delays, 0.5):.0f} ms, "
        f"p99 {pct(delays, 0.99):.0f} ms, max {max(delays, default=float('nan')):.0f} ms "
        f"({len(delays)}/{len(accepted_at)} received)",
        flush=True,
    )


def report(name: str, r: dict) -> None:
    print(
        f"{name}: {r['requests']:,} requests in {r['elapsed']:.1f} s = {r['req_per_s']:,.0f} "
        f"req/s ({r['msg_per_s']:,.0f} msgs/s); latency p50 {r['p50_ms']:.1f} ms, "
        f"p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.0f} ms; statuses {r['statuses']}",
        flush=True,
    )
    for status, body in r["examples"].items():
        print(f"  first {status} answer: {body}", flush=True)


def _port(url: str, default: int) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or default


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


if __name__ == "__main__":
    sys.exit(main())
