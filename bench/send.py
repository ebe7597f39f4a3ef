"""Benchmark: the campaign send pipeline end to end, against a local provider sink.

Runs the real pipeline: a fresh MariaDB database (schema by ``flask_migrate.upgrade()``), a
dedicated Redis DB, N subscribers, one campaign with a small newsletter template, a local sink
in its own process (a Brevo-like HTTP API from tests/servers/brevo.py with an optional latency,
or an aiosmtpd SMTP sink) and K ``flask worker -q send`` processes. It launches the campaign
with ``lifecycle.schedule`` (orchestrator job → one long-running ``run_channel`` job per
campaign channel row) and measures:

* launch: the orchestrator job's run time (materialisation, audience count, enqueueing rows),
* emails/s from ``schedule()`` until every send is in a final state, and the send phase alone,
* peak RSS of every worker process tree (the worker and its forked job child), sampled at 0.2 s,
* CPU seconds per component (workers, sink, mariadbd, redis) and what the rest of the machine
  used meanwhile (other sessions share the cores): CPU ms per email depends far less on the
  load than emails/s does. mariadbd and redis-server are read as whole processes: when other
  sessions use the same servers, their share is counted too.

Then a naive baseline in the same run: one RQ job per email (``naive_send`` below, run by K
plain forking ``rq worker`` processes: load the row, validate, check suppression, compile and
render the template, POST with ``requests`` (or smtplib for the SMTP sink), update the row).

    python bench/send.py --recipients 20000
    python bench/send.py --recipients 100000 --latency-ms 50
    python bench/send.py --recipients 100000 --sink smtp --rows 2
    python bench/send.py --recipients 100000 --sink smtp --sink-pipelining
    python bench/send.py --launch-only 1000000
    python bench/send.py --recipients 100000 --py-spy /tmp/spy   # profile the workers
    python bench/send.py --recipients 20000 --in-process --latency-ms 50 --concurrency 64
    python bench/send.py --recipients 20000 --in-process --cprofile /tmp/loop.prof

Every process it starts runs in its own session and is stopped on exit (also on Ctrl-C).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BENCH = os.path.dirname(os.path.abspath(__file__))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DEFAULT_DB = "mysql+mysqldb://mailer:mailer@127.0.0.1:3307/mailer_bench_send?charset=utf8mb4"
DEFAULT_REDIS = "redis://127.0.0.1:6390/5"
API_KEY = "xkeysib-test"  # what tests/servers/brevo.py accepts by default
BASELINE_QUEUE = "bench_baseline"
PUBLIC_BASE_URL = "https://mail.example.com"

FIRST = ["Zoë", "José", "Łukasz", "Søren", "Anaïs", "Mei", "Ngozi", "Ana", "Mette", "Ólafur"]
LAST = ["Müller", "García", "Øster", "Nováková", "O'Brien", "Wang", "Okafor", "Silva", "Dubois"]
CITIES = ["Paris", "Oslo", "Kraków", "São Paulo", "Zürich", "Lagos", "Tokyo"]

SUBJECT = "{{ first_name }}, our spring picks for {{ city }}"
HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>Spring picks</title>
<style>
body { font-family: Arial, Helvetica, sans-serif; color: #222; margin: 0; }
.wrap { max-width: 600px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; color: #0a3d62; }
.btn { background: #0a66c2; color: #fff; padding: 10px 16px; text-decoration: none;
       border-radius: 4px; display: inline-block; }
.footer { font-size: 12px; color: #888; border-top: 1px solid #eee; padding-top: 12px; }
</style></head>
<body><div class="wrap">
<h1>Hello {{ first_name|default('there') }}!</h1>
<p>Spring is here in {{ city }}, and so is our new selection: light jackets, linen shirts and
the sneakers you asked for. {{ plan|upper }} members get free delivery until Sunday.</p>
<p><a class="btn" href="https://shop.example.com/spring?utm_campaign=spring">See the selection</a>
</p>
<p>Prefer the shop near you? <a href="https://shop.example.com/stores">Find a store</a>.</p>
<p class="footer">You receive this email because you subscribed as {{ email }}.
<a href="{{ unsubscribe_url }}">Unsubscribe</a> ·
<a href="{{ view_online_url }}">View online</a><br>
Example Shop, 1 Main Street, Lisbon</p>
</div></body></html>
"""

BODY = {"html": HTML}  # --mjml: the HTML compiled from an MJML file instead
MJML_FILE = os.path.join(BENCH, "spring.mjml")  # the same email, built with MJML

FINAL = ("sent", "failed", "suppressed", "in_doubt", "cancelled")
OPEN = ("pending", "claimed", "sending")


# =============================================================================================
# The naive baseline: one RQ job per email, as a reference design does. Plain `rq worker`
# processes import this module (as `send`, bench/ on PYTHONPATH) in every forked job child.
# =============================================================================================


def naive_send(send_id: int, db_url: str, sink: str, endpoint: str, secret: str) -> str:
    """Load the row, validate, check suppression, render (compiled per job), send, update.

    Deliberately lean for a naive design (the plain DB driver, no ORM, no app factory), so the
    ratio against it is not flattered; its cost is what a job per email costs: RQ bookkeeping,
    a fork, and the imports every forked job child does again.
    """
    import hashlib
    import hmac
    import uuid
    from datetime import UTC, datetime
    from urllib.parse import unquote, urlsplit

    import jinja2
    import MySQLdb
    import requests
    from email_validator import EmailNotValidError, validate_email

    url = urlsplit(db_url.replace("mysql+mysqldb://", "mysql://"))
    conn = MySQLdb.connect(
        host=url.hostname,
        port=url.port or 3306,
        user=unquote(url.username),
        passwd=unquote(url.password or ""),
        db=url.path.lstrip("/"),
        charset="utf8mb4",
    )
    try:
        cur = conn.cursor()
        cur.execute(
            "SELECT s.email, s.status, b.first_name, b.last_name, b.attributes, c.subject, "
            "c.html FROM sends s JOIN subscribers b ON b.id = s.subscriber_id "
            "JOIN campaigns c ON c.id = s.campaign_id WHERE s.id = %s",
            (send_id,),
        )
        email, status, first_name, last_name, attributes, subject_src, html_src = cur.fetchone()
        if status != "pending":
            return status

        def finish(status: str, error: str | None = None, pmid: str | None = None) -> str:
            cur.execute(
                "UPDATE sends SET status = %s, error = %s, provider_message_id = %s, "
                "sent_at = %s, attempts = attempts + 1 WHERE id = %s",
                (status, error, pmid, datetime.now(UTC).replace(tzinfo=None), send_id),
            )
            conn.commit()
            return status

        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError as exc:
            return finish("failed", str(exc)[:500])
        cur.execute("SELECT 1 FROM suppressions WHERE email = %s", (email,))
        if cur.fetchone():
            return finish("suppressed")
        body = f"c{send_id}"
        token = (
            f"{body}.{hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()[:22]}"
        )
        context = dict(json.loads(attributes) if isinstance(attributes, str) else attributes or {})
        context.update(
            email=email,
            first_name=first_name or "",
            last_name=last_name or "",
            unsubscribe_url=f"{PUBLIC_BASE_URL}/u/{token}",
            view_online_url=f"{PUBLIC_BASE_URL}/v/{token}",
        )
        env = jinja2.Environment(autoescape=True)
        subject = env.from_string(subject_src).render(context)
        html = env.from_string(html_src).render(context)
        headers = {
            "List-Unsubscribe": f"<{PUBLIC_BASE_URL}/u/{token}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        if sink == "smtp":
            import smtplib
            from email.message import EmailMessage

            msg = EmailMessage()
            msg["From"] = "Example News <news@mail.example.com>"
            msg["To"] = email
            msg["Subject"] = subject
            for k, v in headers.items():
                msg[k] = v
            msg.set_content("Open the HTML part.")
            msg.add_alternative(html, subtype="html")
            parts = urlsplit(endpoint)
            with smtplib.SMTP(parts.hostname, parts.port, timeout=30) as smtp:
                smtp.send_message(msg)
            return finish("sent", pmid=f"<{uuid.uuid4().hex}@bench>")
        resp = requests.post(
            f"{endpoint}/smtp/email",
            headers={"api-key": API_KEY},
            json={
                "sender": {"email": "news@mail.example.com", "name": "Example News"},
                "to": [{"email": email}],
                "subject": subject,
                "htmlContent": html,
                "headers": headers,
            },
            timeout=30,
        )
        if resp.status_code >= 300:
            return finish("failed", f"HTTP {resp.status_code}: {resp.text[:400]}")
        return finish("sent", pmid=resp.json().get("messageId"))
    finally:
        conn.close()


# =============================================================================================
# Processes
# =============================================================================================


@dataclass
class Child:
    name: str
    popen: subprocess.Popen
    log_path: str | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid


class Processes:
    """Every process the benchmark starts, each in its own session; all stopped on exit."""

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.children: list[Child] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str], *, pipe: bool = False) -> Child:
        log_path = None
        if pipe:
            out = subprocess.PIPE
        else:
            log_path = os.path.join(self.workdir, f"{name}.log")
            out = open(log_path, "ab")  # noqa: SIM115 - handed to the child
        popen = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if not pipe else None,
            start_new_session=True,
            text=pipe,
        )
        if not pipe:
            out.close()
        child = Child(name, popen, log_path)
        self.children.append(child)
        return child

    def stop(self, child: Child, sig: int = signal.SIGTERM, grace: float = 20.0) -> None:
        """Signal the child's process group (it and its forked job children), then kill what
        is left of them, by pid."""
        import psutil

        try:
            descendants = psutil.Process(child.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        if child.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, sig)  # its own session: the group is it and its children
            for proc in descendants:  # RQ puts a job child in a process group of its own
                with contextlib.suppress(psutil.Error):
                    proc.send_signal(sig)  # a channel loop finishes its chunk, then leaves
            try:
                child.popen.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.popen.wait(5)
        for proc in descendants:  # e.g. a job child outliving a killed worker
            with contextlib.suppress(psutil.Error):
                proc.kill()
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in list(reversed(self.children)):
            try:
                self.stop(child, grace=10.0)
            except Exception as exc:  # noqa: BLE001 - keep stopping the others
                print(f"could not stop {child.name} ({child.pid}): {exc}", file=sys.stderr)


def child_env(db_url: str, redis_url: str, workdir: str, keys: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        MAILER_INSTANCE_PATH=workdir,
        SECRET_KEY=keys["SECRET_KEY"],
        MAILER_ENCRYPTION_KEY=keys["ENCRYPTION_KEY"],
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join([ROOT, BENCH, env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PYTHONUNBUFFERED="1",
    )
    return env


def start_sink(
    procs: Processes, kind: str, latency_ms: float, env: dict[str, str], pipelining: bool = False
) -> tuple[Child, str]:
    cmd = [sys.executable, "-m", "tests.servers", kind, "--latency", str(latency_ms / 1000)]
    if pipelining:
        cmd.append("--pipelining")
    child = procs.start(f"sink-{kind}", cmd, env, pipe=True)
    line = child.popen.stdout.readline()  # "<kind> listening on <url> (Ctrl-C to stop)"
    if " listening on " not in line:
        raise RuntimeError(f"the {kind} sink did not start: {line!r}")
    return child, line.split(" listening on ")[1].split()[0]


def stop_sink(procs: Processes, child: Child) -> int | None:
    """SIGINT makes `python -m tests.servers` print how many messages it accepted."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, signal.SIGINT)
    try:
        out, _ = child.popen.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        procs.stop(child)
        return None
    procs.stop(child)
    for line in (out or "").splitlines():
        if line.startswith("accepted "):
            return int(line.split()[1])
    return None


def start_workers(
    procs: Processes, k: int, env: dict[str, str], redis, *, baseline: bool, tag: str
) -> list[Child]:
    from rq import Worker

    before = len(Worker.all(connection=redis))
    workers = []
    for i in range(k):
        if baseline:
            cmd = [
                os.path.join(os.path.dirname(sys.executable), "rq"),
                "worker",
                BASELINE_QUEUE,
                "--url",
                env["REDIS_URL"],
                "--path",
                BENCH,
                "--logging_level",
                "WARNING",
            ]
        else:
            cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "-q", "send"]
        workers.append(procs.start(f"{tag}-worker-{i + 1}", cmd, env))
    deadline = time.monotonic() + 60
    while len(Worker.all(connection=redis)) < before + k:
        for w in workers:
            if w.popen.poll() is not None:
                raise RuntimeError(f"{w.name} exited at start; see {w.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not register within 60 s")
        time.sleep(0.1)
    return workers


# =============================================================================================
# Measuring
# =============================================================================================


def _tree(pid: int):
    import psutil

    try:
        parent = psutil.Process(pid)
        return parent, parent.children(recursive=True)
    except psutil.NoSuchProcess:
        return None, []


class RssSampler(threading.Thread):
    """Peak RSS per worker tree: the worker process, its biggest child, the tree's sum."""

    def __init__(self, workers: list[Child], interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.workers = workers
        self.interval = interval
        self.peak = {w.name: {"worker": 0, "child": 0, "tree": 0} for w in workers}
        self.timeline: list[tuple[float, int]] = []  # (t, max single process RSS)
        self._halt = threading.Event()

    def run(self) -> None:
        import psutil

        tick = -1
        while not self._halt.is_set():
            tick += 1
            biggest = 0
            for w in self.workers:
                parent, kids = _tree(w.pid)
                if parent is None:
                    continue
                try:
                    own = parent.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                kid_rss = []
                for kid in kids:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        kid_rss.append(kid.memory_info().rss)
                peak = self.peak[w.name]
                peak["worker"] = max(peak["worker"], own)
                peak["child"] = max(peak["child"], max(kid_rss, default=0))
                if tick % 5 == 0:  # PSS (reads smaps_rollup) once a second
                    # PSS splits the pages a forked child shares with its worker between
                    # them, so the tree's sum is not inflated by copy-on-write sharing.
                    pss = 0
                    for proc in (parent, *kids):
                        with contextlib.suppress(psutil.Error, AttributeError):
                            pss += proc.memory_full_info().pss
                    peak["tree"] = max(peak["tree"], pss)
                biggest = max(biggest, own, *kid_rss)
            self.timeline.append((time.monotonic(), biggest))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def _find_server(names: tuple[str, ...], port: int | None):
    import psutil

    for p in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            if p.info["name"] in names:
                cmd = " ".join(p.info["cmdline"] or [])
                if port is None or str(port) in cmd:
                    return p
    return None


class CpuMeter:
    """CPU seconds used by each component between start() and stop(), and by the machine."""

    def __init__(self, parts: dict[str, int | None], db_port: int | None, redis_port: int | None):
        import psutil

        self.parts = {k: v for k, v in parts.items() if v}
        self.servers = {
            "mariadbd": _find_server(("mariadbd", "mysqld"), db_port),
            "redis-server": _find_server(("redis-server",), redis_port),
        }
        self.psutil = psutil

    def _read(self) -> dict[str, float]:
        psutil = self.psutil
        out: dict[str, float] = {}
        for name, pid in self.parts.items():
            parent, kids = _tree(pid)
            total = 0.0
            if parent is not None:
                with contextlib.suppress(psutil.Error):
                    t = parent.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
                for kid in kids:
                    with contextlib.suppress(psutil.Error):
                        t = kid.cpu_times()
                        total += t.user + t.system
            out[name] = total
        for name, proc in self.servers.items():
            if proc is not None:
                with contextlib.suppress(psutil.Error):
                    t = proc.cpu_times()
                    out[name] = t.user + t.system
        t = psutil.Process().cpu_times()
        out["bench (this process)"] = t.user + t.system
        sys_t = psutil.cpu_times()
        out["_busy"] = sum(sys_t) - sys_t.idle - getattr(sys_t, "iowait", 0.0)
        return out

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.before = self._read()
        self.load_before = os.getloadavg()

    def stop(self) -> None:
        self.seconds = time.monotonic() - self.t0
        after = self._read()
        self.used = {k: after[k] - self.before.get(k, 0.0) for k in after}
        self.load_after = os.getloadavg()

    def sut_ms(self, emails: int) -> float:
        """CPU ms per email of the system under test: workers, sink, mariadbd, redis."""
        parts = (v for k, v in self.used.items() if not k.startswith(("_", "bench")))
        return 1000 * sum(parts) / max(emails, 1)

    def lines(self, emails: int) -> list[str]:
        busy = self.used.pop("_busy", 0.0)
        ours = sum(v for k, v in self.used.items())
        cores = os.cpu_count() or 1
        out = [f"  {'component':<28} {'CPU s':>8} {'ms/email':>9} {'% of a core':>12}"]
        for name, sec in self.used.items():
            out.append(
                f"  {name:<28} {sec:>8.2f} {1000 * sec / max(emails, 1):>9.3f} "
                f"{100 * sec / self.seconds:>11.0f}%"
            )
        out.append(
            f"  {'all of the above':<28} {ours:>8.2f} {1000 * ours / max(emails, 1):>9.3f} "
            f"{100 * ours / self.seconds:>11.0f}%"
        )
        other = max(0.0, busy - ours)
        out.append(
            f"  {'rest of the machine':<28} {other:>8.2f} {'':>9} "
            f"{100 * other / self.seconds:>11.0f}%   (other sessions; {cores} cores = "
            f"{100 * cores}%)"
        )
        lb, la = self.load_before, self.load_after
        out.append(
            f"  load average before {lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f}, "
            f"after {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"
        )
        return out


class PySpy:
    """Optional: py-spy record on each worker (following its forked job children)."""

    RATE = 250

    def __init__(self, procs: Processes, outdir: str | None, workers: list[Child]) -> None:
        self.children: list[tuple[Child, str]] = []
        self.procs = procs
        if not outdir:
            return
        os.makedirs(outdir, exist_ok=True)
        spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
        for w in workers:
            path = os.path.join(outdir, f"{w.name}.txt")
            cmd = [
                spy,
                "record",
                "--pid",
                str(w.pid),
                "--subprocesses",
                "--nonblocking",
                "--rate",
                str(self.RATE),
                "--gil",
                "--format",
                "raw",
                "--output",
                path,
            ]
            child = self.procs.start(f"py-spy-{w.name}", cmd, dict(os.environ))
            self.children.append((child, path))

    def stop(self) -> list[str]:
        paths = []
        for child, path in self.children:
            # SIGINT: py-spy writes its output and exits.
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.popen.wait(30)
            self.procs.stop(child, grace=5)
            paths.append(path)
        return paths


def summarise_profile(paths: list[str], rate: int, top: int = 30) -> list[str]:
    """Where the forked job children (the channel loops) spent their GIL-holding samples:
    inclusive and self shares per function, all threads (the loop and the provider's pool)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for path in paths:
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                stack, _, count = line.rstrip("\n").rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                frames = stack.split(";")
                procs = [f for f in frames if f.startswith("process ")]
                frames = [f for f in frames if not f.startswith("process ")]
                if len(procs) < 2 or not frames:  # the worker parent itself: idle, skip
                    continue
                n = int(count)
                total += n
                keys = [_frame_key(f) for f in frames]
                threads[
                    "channel loop (main thread)"
                    if any("run_channel" in k for k in keys)
                    else "provider pool threads"
                ] += n
                for key in set(keys):
                    inclusive[key] += n
                own[keys[-1]] += n
    if not total:
        return ["  (no samples of a job child)"]
    out = [
        f"  {total} GIL-holding samples at {rate}/s in job children = {total / rate:.1f} s "
        "of Python CPU; by thread: "
        + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in threads.most_common())
    ]
    out.append("  inclusive (share of all job-child samples; frames common to all left out):")
    shown = 0
    for key, n in inclusive.most_common():
        if n >= total * 0.98 or key.startswith(("Thread.", "_bootstrap", "_worker (")):
            continue
        out.append(f"    {100 * n / total:5.1f}%  {key}")
        shown += 1
        if shown >= top:
            break
    out.append("  self (leaf frames):")
    for key, n in own.most_common(top):
        out.append(f"    {100 * n / total:5.1f}%  {key}")
    return out


def _frame_key(frame: str) -> str:
    # "function (path/file.py:line)" -> "function (file.py)"; keep lines out to merge samples.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    parts = path.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else path
    return f"{name} ({short})"


# =============================================================================================
# Setup
# =============================================================================================


def recreate_database(db_url: str) -> None:
    import sqlalchemy as sa

    url = sa.make_url(db_url)
    name = url.database
    server = sa.create_engine(url.set(database=""), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(
            sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    server.dispose()


def empty_but_audience(db_url: str, n: int) -> bool:
    """Whether the database holds a bench audience of exactly ``n`` subscribers and nothing
    else; if so its campaigns, sends, channels and identities are emptied for a new run."""
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            size = conn.scalar(
                sa.text(
                    "SELECT COUNT(*) FROM subscribers s JOIN lists l ON l.id = s.list_id "
                    "WHERE l.name = 'bench audience'"
                )
            )
            others = conn.scalar(sa.text("SELECT COUNT(*) FROM lists"))
            if size != n or others != 1:
                return False
            conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 0"))
            for table in ("sends", "campaign_channel_slots", "campaign_channels"):
                conn.execute(sa.text(f"TRUNCATE TABLE {table}"))
            for table in ("campaign_audiences", "campaigns", "channels", "identities"):
                conn.execute(sa.text(f"DELETE FROM {table}"))
            conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 1"))
    except sa.exc.SQLAlchemyError:  # no such database or table yet
        return False
    finally:
        engine.dispose()
    return True


def audience_counts(list_id: int) -> tuple[int, int]:
    """Unsubscribed and suppressed members of a reused bench audience."""
    from sqlalchemy import func, select

    from mailer.extensions import db
    from mailer.models import Subscriber, Suppression

    unsubscribed = db.session.scalar(
        select(func.count()).where(Subscriber.list_id == list_id, Subscriber.status != "subscribed")
    )
    return unsubscribed, db.session.scalar(select(func.count()).select_from(Suppression))


def make_app(db_url: str, redis_url: str, workdir: str, keys: dict[str, str], **overrides):
    """The app on the bench's database and Redis; ``overrides`` are settings a bench needs."""
    from config import Config
    from mailer import create_app

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = db_url
        REDIS_URL = redis_url
        INSTANCE_PATH = workdir
        SECRET_KEY = keys["SECRET_KEY"]
        ENCRYPTION_KEY = keys["ENCRYPTION_KEY"]
        PUBLIC_BASE_URL = PUBLIC_BASE_URL
        LOG_LEVEL = "WARNING"

    return create_app(BenchConfig, **overrides)


def insert_subscribers(list_id: int, n: int, prefix: str, chunk: int = 5000) -> tuple[int, int]:
    """N subscribers (every 200th unsubscribed) and a suppression for every 250th address."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from mailer.extensions import db
    from mailer.models import Subscriber, Suppression

    now = datetime.now(UTC).replace(tzinfo=None)
    sub_t, sup_t = Subscriber.__table__, Suppression.__table__
    unsubscribed = suppressed = 0
    conn = db.session.connection()
    for start in range(0, n, chunk):
        rows, sups = [], []
        for i in range(start, min(n, start + chunk)):
            email = f"{prefix}.{i}@example.com"
            status = "subscribed"
            if i % 200 == 199:
                status = "unsubscribed"
                unsubscribed += 1
            rows.append(
                {
                    "list_id": list_id,
                    "email": email,
                    "first_name": FIRST[i % len(FIRST)],
                    "last_name": LAST[i % len(LAST)],
                    "name": None,
                    "status": status,
                    "attributes": {"city": CITIES[i % len(CITIES)], "plan": ("free", "pro")[i % 2]},
                    "import_id": None,
                    "created_at": now,
                    "updated_at": now,
                    "unsubscribed_at": now if status == "unsubscribed" else None,
                }
            )
            if i % 250 == 249:
                sups.append(
                    {"email": email, "reason": "hard_bounce", "source": "bench", "created_at": now}
                )
        conn.execute(insert(sub_t), rows)
        if sups:
            conn.execute(insert(sup_t), sups)
            suppressed += len(sups)
        db.session.commit()
        conn = db.session.connection()
    return unsubscribed, suppressed


def make_campaign(name: str, list_id: int, channel_ids: list[int], identity_id: int, start_at=None):
    from mailer.extensions import db
    from mailer.models import Campaign, CampaignAudience, CampaignChannel

    campaign = Campaign(name=name, subject=SUBJECT, html=BODY["html"], status="draft")
    db.session.add(campaign)
    db.session.flush()
    db.session.add(CampaignAudience(campaign_id=campaign.id, list_id=list_id))
    for i, channel_id in enumerate(channel_ids):
        db.session.add(
            CampaignChannel(
                campaign_id=campaign.id,
                channel_id=channel_id,
                identity_id=identity_id,
                position=i,
                start_at=start_at,
            )
        )
    db.session.commit()
    return campaign


def make_channels(sink: str, endpoint: str, rows: int) -> list[int]:
    from urllib.parse import urlsplit

    from mailer.extensions import db
    from mailer.lib.crypto import encrypt_json
    from mailer.models import Channel

    ids = []
    for i in range(rows):
        if sink == "smtp":
            parts = urlsplit(endpoint)
            channel = Channel(
                name=f"bench smtp {i + 1}",
                provider="smtp",
                endpoint_url=None,
                settings={"host": parts.hostname, "port": parts.port, "security": "none"},
                secrets_encrypted=encrypt_json({}),
                rate_per_second=100000,
            )
        else:
            channel = Channel(
                name=f"bench brevo {i + 1}",
                provider="brevo",
                endpoint_url=endpoint,
                settings={},
                secrets_encrypted=encrypt_json({"api_key": API_KEY}),
                rate_per_second=100000,
            )
        db.session.add(channel)
        db.session.flush()
        ids.append(channel.id)
    db.session.commit()
    return ids


def loop_provider(channel):
    """The adapter as the channel loop builds it (with the configured parallelism)."""
    from mailer.engine.delivery import channel_provider

    return channel_provider(channel)


def chunk_size(provider) -> int:
    """How many sends the channel loop claims a turn with this adapter."""
    from mailer.engine.campaign_send.claims import chunk_size as loop_chunk_size

    return loop_chunk_size(provider)


def make_identity() -> int:
    from mailer.extensions import db
    from mailer.models import Identity

    identity = Identity(
        name="Bench news",
        from_email="news@mail.example.com",
        from_name="Example News",
        reply_to="help@mail.example.com",
    )
    db.session.add(identity)
    db.session.commit()
    return identity.id


# =============================================================================================
# Phases
# =============================================================================================


def find_jobs(redis, func_name: str) -> list:
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

    q = Queue("send", connection=redis)
    ids = set(q.get_job_ids())
    for reg in (StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry):
        ids.update(reg(queue=q).get_job_ids())
    jobs = [j for j in Job.fetch_many(list(ids), connection=redis) if j is not None]
    return [j for j in jobs if j.func_name == func_name]


def wait_launch(redis, timeout: float) -> dict:
    """Wait for the orchestrator job to end; its run time from RQ's own timestamps."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = find_jobs(redis, "jobs.campaigns.orchestrate_launch")
        if jobs and jobs[0].get_status(refresh=True) in ("finished", "failed"):
            job = jobs[0]
            job.refresh()
            if job.get_status() == "failed":
                raise RuntimeError(f"launch job failed:\n{job.latest_result().exc_string}")
            rows = find_jobs(redis, "jobs.campaigns.run_channel")
            first_row = min((r.enqueued_at for r in rows), default=job.ended_at)
            return {
                "queued_s": (job.started_at - job.enqueued_at).total_seconds(),
                "run_s": (job.ended_at - job.started_at).total_seconds(),
                "rows_s": (first_row - job.started_at).total_seconds(),
                "ended_at": job.ended_at,
                "result": job.return_value(),
            }
        if time.monotonic() > deadline:
            raise RuntimeError("the launch job did not finish in time")
        time.sleep(0.05)


@dataclass
class SendRun:
    audience: int = 0
    launch: dict = field(default_factory=dict)
    total_s: float = 0.0
    send_s: float = 0.0
    steady_rate: float = 0.0
    counters: dict = field(default_factory=dict)
    status: str = ""
    slices: list = field(default_factory=list)
    end_wall: float = 0.0

    def row_ends(self) -> dict:
        """Wall-clock end of each row's last slice."""
        ends: dict = {}
        for secs, rv in self.slices:
            end = rv.get("started", 0) + secs
            ends[rv.get("row")] = max(ends.get(rv.get("row"), 0), end)
        return ends

    def slice_summary(self) -> dict:
        out: dict = {}
        for secs, rv in sorted(self.slices, key=lambda x: x[1].get("started", 0)):
            out.setdefault(rv.get("row"), {}).setdefault(rv.get("state"), []).append(
                (secs, rv.get("sent") or 0)
            )
        return out


def poll_until_done(
    app, campaign_id: int, t0: float, timeout: float, progress: list, every_3s=lambda: None
) -> tuple[float, str]:
    """Poll cheaply every 0.2 s (campaign status, row counters) and stats.status_counts every
    3 s (a GROUP BY over the campaign's sends: ~30 ms of MariaDB CPU at 100k sends); done when
    the campaign left 'running' and stats.status_counts shows nothing open."""
    from sqlalchemy import text

    from mailer.campaigns import stats
    from mailer.extensions import db

    last_full = 0.0
    while True:
        now = time.monotonic()
        db.session.rollback()  # fresh snapshot (REPEATABLE READ)
        status, done = db.session.execute(
            text(
                "SELECT c.status, (SELECT COALESCE(SUM(sent_count + failed_count), 0) "
                "FROM campaign_channels r WHERE r.campaign_id = c.id) FROM campaigns c "
                "WHERE c.id = :id"
            ),
            {"id": campaign_id},
        ).one()
        progress.append((now - t0, int(done)))
        if status not in ("running", "scheduled") or now - last_full >= 3.0:
            last_full = now
            every_3s()
            counts = stats.status_counts(campaign_id)
            open_ = sum(counts[s] for s in OPEN)
            total = sum(counts.values())
            if total and not open_ and status != "scheduled":
                return now, status
            if status in ("paused", "failed", "cancelled"):
                return now, status
        if now - t0 > timeout:
            raise RuntimeError(f"not done after {timeout:.0f} s (status {status}, {done} done)")
        time.sleep(0.2)


def steady(progress: list[tuple[float, int]], total: int) -> float:
    """Rate between 10% and 90% done (excludes ramp-up and the tail)."""
    lo = next(((t, d) for t, d in progress if d >= 0.1 * total), None)
    hi = next(((t, d) for t, d in progress if d >= 0.9 * total), None)
    if not lo or not hi or hi[0] <= lo[0]:
        return 0.0
    return (hi[1] - lo[1]) / (hi[0] - lo[0])


def run_pipeline(app, redis, campaign, timeout: float) -> SendRun:
    from mailer.campaigns import lifecycle, stats
    from mailer.extensions import db

    run = SendRun()
    progress: list[tuple[float, int]] = []
    t0 = time.monotonic()
    wall0 = time.time()
    lifecycle.schedule(campaign)
    run.launch = wait_launch(redis, timeout)
    slices: dict = {}

    def harvest() -> None:  # finished slices leave RQ's registry after result_ttl (500 s)
        for job in find_jobs(redis, "jobs.campaigns.run_channel"):
            if job.id not in slices and job.get_status() == "finished" and job.ended_at:
                rv = dict(
                    job.return_value() or {}, row=job.args[0], started=job.started_at.timestamp()
                )
                slices[job.id] = ((job.ended_at - job.started_at).total_seconds(), rv)

    end, run.status = poll_until_done(app, campaign.id, t0, timeout, progress, harvest)
    run.total_s = end - t0
    run.end_wall = wall0 + run.total_s
    db.session.rollback()
    run.counters = stats.status_counts(campaign.id)
    run.audience = sum(run.counters.values())
    # Send phase: from the orchestrator job's end (RQ's timestamp) to the last final send.
    launch_end = run.launch["ended_at"].timestamp() - wall0
    run.send_s = max(1e-6, run.total_s - launch_end)
    run.steady_rate = steady(progress, run.audience)
    time.sleep(0.5)  # the last slices record their results
    harvest()
    run.slices = list(slices.values())
    return run


def run_baseline(
    app,
    redis,
    n2: int,
    list_id: int,
    identity_id: int,
    sink: str,
    endpoint: str,
    db_url: str,
    timeout: float,
) -> dict:
    from rq import Queue
    from sqlalchemy import select, text

    from mailer.campaigns import launch as campaign_launch
    from mailer.campaigns import stats
    from mailer.extensions import db
    from mailer.models import Send

    campaign = make_campaign("baseline", list_id, [], identity_id)
    campaign_launch.materialise(campaign)
    db.session.commit()
    ids = list(db.session.scalars(select(Send.id).where(Send.campaign_id == campaign.id)))
    q = Queue(BASELINE_QUEUE, connection=redis)
    secret = app.config["SECRET_KEY"]
    datas = [
        Queue.prepare_data(
            "send.naive_send", (i, db_url, sink, endpoint, secret), timeout=60, result_ttl=600
        )
        for i in ids
    ]
    t0 = time.monotonic()
    for start in range(0, len(datas), 1000):
        q.enqueue_many(datas[start : start + 1000])
    enqueued_s = time.monotonic() - t0
    while True:
        db.session.rollback()
        done = db.session.scalar(
            text("SELECT COUNT(*) FROM sends WHERE campaign_id = :c AND status <> 'pending'"),
            {"c": campaign.id},
        )
        failed_jobs = q.failed_job_registry.count
        if done + failed_jobs >= len(ids):
            break
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"baseline not done after {timeout:.0f} s ({done}/{len(ids)})")
        time.sleep(0.2)
    seconds = time.monotonic() - t0
    counts = stats.status_counts(campaign.id)
    return {
        "emails": len(ids),
        "seconds": seconds,
        "rate": len(ids) / seconds,
        "counters": counts,
        "failed_jobs": failed_jobs,
        "enqueue_s": enqueued_s,
    }


# =============================================================================================
# Main
# =============================================================================================


def fmt_mb(b: int) -> str:
    return f"{b / 2**20:.0f}"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipients", type=int, default=20000)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--sink", choices=("brevo", "smtp"), default="brevo")
    p.add_argument(
        "--sink-pipelining",
        action="store_true",
        help="the SMTP sink offers PIPELINING, as Postfix and the providers' relays do "
        "(aiosmtpd, and so the sink by default, does not)",
    )
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument(
        "--rows", type=int, default=1, help="campaign channel rows, one channel each (default 1)"
    )
    p.add_argument(
        "--baseline", type=int, default=2000, help="emails for the naive baseline (0: skip)"
    )
    p.add_argument(
        "--launch-only",
        type=int,
        metavar="N",
        help="materialise a campaign of N recipients, print the launch time, no send",
    )
    p.add_argument(
        "--reuse-audience",
        action="store_true",
        help="keep the database when it already holds the N subscribers (seeding 10M takes "
        "minutes); its campaigns and sends are emptied first",
    )
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    p.add_argument("--timeout", type=float, default=1800, help="seconds per phase")
    p.add_argument("--py-spy", metavar="DIR", help="profile the workers with py-spy into DIR")
    p.add_argument(
        "--in-process",
        action="store_true",
        help="no workers: run the orchestrator and the first row's channel loop in "
        "this process (to try adapter settings or profile the loop)",
    )
    p.add_argument(
        "--cprofile",
        metavar="FILE",
        help="with --in-process: profile the loop "
        "with cProfile (wall time of the loop thread's calls; the provider's pool "
        "threads are not profiled), stats into FILE",
    )
    p.add_argument(
        "--mjml",
        nargs="?",
        const=str(MJML_FILE),
        metavar="FILE",
        help="send the HTML compiled from an MJML file (default bench/spring.mjml), as the "
        "visual editor makes it, instead of the hand-written HTML",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        help="provider requests/connections in flight per channel loop (sets "
        "MAILER_HTTP_CONCURRENCY and MAILER_SMTP_CONCURRENCY for the workers)",
    )
    return p.parse_args()


def main() -> int:
    args = parse_args()
    if args.mjml:
        import mjml

        with open(args.mjml, encoding="utf-8") as f:
            BODY["html"] = mjml.mjml2html(f.read())
        print(f"email: HTML compiled from {args.mjml} ({len(BODY['html']):,} characters)")
    import redis as redis_lib
    import sqlalchemy as sa
    from cryptography.fernet import Fernet

    def on_term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started in the background
    workdir = tempfile.mkdtemp(prefix="mailer-bench-send-")
    keys = {
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    procs = Processes(workdir)
    db_port = sa.make_url(args.database_url).port
    redis_port = redis_lib.Redis.from_url(args.redis_url).connection_pool.connection_kwargs.get(
        "port"
    )
    lines: list[str] = []

    def say(line: str = "") -> None:
        lines.append(line)
        print(line, flush=True)

    try:
        t_setup = time.monotonic()
        n = args.launch_only or args.recipients
        reused = args.reuse_audience and empty_but_audience(args.database_url, n)
        if not reused:
            recreate_database(args.database_url)
        r = redis_lib.Redis.from_url(args.redis_url)
        r.flushdb()
        app = make_app(args.database_url, args.redis_url, workdir, keys)
        env = child_env(args.database_url, args.redis_url, workdir, keys)
        if args.concurrency:  # the engine reads these (config.py) when it builds the adapter
            for key in ("MAILER_HTTP_CONCURRENCY", "MAILER_SMTP_CONCURRENCY"):
                app.config[key] = args.concurrency
                env[key] = str(args.concurrency)
        with app.app_context():
            from flask_migrate import upgrade

            from mailer.engine.imports import importer
            from mailer.extensions import db

            upgrade()
            server_version = db.session.scalar(sa.text("SELECT VERSION()"))
            redis_version = r.info("server")["redis_version"]
            list_id = importer.get_or_create_list("bench audience").id
            if reused:
                unsub, supp = audience_counts(list_id)
            else:
                unsub, supp = insert_subscribers(list_id, n, "person")
            identity_id = make_identity()
            setup_s = time.monotonic() - t_setup
            header = (
                f"Mailer send benchmark: MariaDB {server_version}, Redis {redis_version}, "
                f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
            )
            if args.launch_only:
                return launch_only(
                    args,
                    app,
                    r,
                    procs,
                    env,
                    list_id,
                    identity_id,
                    n,
                    unsub,
                    supp,
                    setup_s,
                    header,
                    db_port,
                    redis_port,
                    say,
                )

            sink_child, endpoint = start_sink(
                procs, args.sink, args.latency_ms, env, args.sink_pipelining
            )
            channel_ids = make_channels(args.sink, endpoint, args.rows)
            campaign = make_campaign("bench spring", list_id, channel_ids, identity_id)
            from mailer.models import Channel

            with loop_provider(db.session.get(Channel, channel_ids[0])) as provider:
                adapter = (
                    f"{type(provider).__name__} concurrency {provider.concurrency}, "
                    f"chunk {chunk_size(provider)}"
                )
            baseline_list = None
            if args.baseline:
                baseline_list = importer.get_or_create_list("bench baseline").id
                insert_subscribers(baseline_list, args.baseline, "baseline")
            setup_s = time.monotonic() - t_setup

            if args.in_process or args.cprofile:
                return in_process_loop(args, app, campaign, sink_child, procs, header, say)

            # ---------------------------------------------------------------- pipeline
            workers = start_workers(procs, args.workers, env, r, baseline=False, tag="send")
            sampler = RssSampler(workers)
            sampler.start()
            meter = CpuMeter(
                {**{w.name: w.pid for w in workers}, "sink": sink_child.pid}, db_port, redis_port
            )
            spy = PySpy(procs, args.py_spy, workers)
            meter.start()
            run = run_pipeline(app, r, campaign, args.timeout)
            meter.stop()
            profile_paths = spy.stop()
            sampler.stop()
            for w in workers:
                procs.stop(w)

            # ---------------------------------------------------------------- baseline
            base = None
            base_meter = None
            if args.baseline:
                bworkers = start_workers(procs, args.workers, env, r, baseline=True, tag="baseline")
                base_meter = CpuMeter(
                    {**{w.name: w.pid for w in bworkers}, "sink": sink_child.pid},
                    db_port,
                    redis_port,
                )
                base_meter.start()
                base = run_baseline(
                    app,
                    r,
                    args.baseline,
                    baseline_list,
                    identity_id,
                    args.sink,
                    endpoint.rstrip("/"),
                    args.database_url,
                    args.timeout,
                )
                base_meter.stop()
                for w in bworkers:
                    procs.stop(w)
            accepted = stop_sink(procs, sink_child)

            # ---------------------------------------------------------------- report
            c = run.counters
            sent_all = c["sent"] + (base["counters"]["sent"] if base else 0)
            say()
            say(header)
            say(
                f"sink {args.sink}{' with PIPELINING' if args.sink_pipelining else ''} "
                f"({endpoint}), latency {args.latency_ms:g} ms, "
                f"workers {args.workers}, channel rows {args.rows}, {adapter}; "
                f"setup {setup_s:.1f} s"
            )
            say(
                f"audience: {n} subscribers, {unsub} unsubscribed, {supp} suppressed -> "
                f"{run.audience} sends; final status {run.status}; "
                + ", ".join(f"{k} {v}" for k, v in c.items() if v)
            )
            say()
            say(f"{'phase':<40} {'emails':>8} {'seconds':>8} {'emails/s':>9}")
            say(
                f"{'launch (orchestrator job run time)':<40} {run.audience:>8} "
                f"{run.launch['run_s']:>8.2f} {'':>9}   (queued {run.launch['queued_s']:.3f} s, "
                f"rows started after {run.launch['rows_s']:.2f} s)"
            )
            say(
                f"{'pipeline: schedule() -> last final send':<40} {run.audience:>8} "
                f"{run.total_s:>8.2f} {run.audience / run.total_s:>9.0f}"
            )
            say(
                f"{'pipeline: send phase (after launch job)':<40} {run.audience:>8} "
                f"{run.send_s:>8.2f} {run.audience / run.send_s:>9.0f}"
            )
            say(
                f"{'pipeline: steady rate (10%..90% done)':<40} {'':>8} {'':>8} "
                f"{run.steady_rate:>9.0f}"
            )
            if base:
                say(
                    f"{'baseline: 1 RQ job per email':<40} {base['emails']:>8} "
                    f"{base['seconds']:>8.2f} {base['rate']:>9.1f}   "
                    + ", ".join(f"{k} {v}" for k, v in base["counters"].items() if v)
                    + (f", {base['failed_jobs']} failed jobs" if base["failed_jobs"] else "")
                )
                say(
                    f"{'ratio pipeline / baseline (end to end)':<40} {'':>8} {'':>8} "
                    f"{(run.audience / run.total_s) / base['rate']:>8.1f}x"
                )
                pipe_ms, base_ms = meter.sut_ms(run.audience), base_meter.sut_ms(base["emails"])
                say(
                    f"{'ratio by CPU per email (load-independent)':<40} {'':>8} {'':>8} "
                    f"{base_ms / pipe_ms:>8.1f}x   ({base_ms:.1f} vs {pipe_ms:.2f} ms: workers, "
                    "sink, mariadbd, redis)"
                )
            say()
            say(
                f"channel jobs: {len(run.slices)} slices; "
                + "; ".join(
                    f"row {row}: "
                    + ", ".join(
                        f"{st} {len(v)}x (sent {sum(x[1] for x in v)}, "
                        f"{sum(x[0] for x in v):.0f} s)"
                        for st, v in states.items()
                    )
                    for row, states in run.slice_summary().items()
                )
            )
            for secs, rv in run.slices:
                if rv.get("state") not in ("sliced", "done"):
                    say(
                        f"  note: a row {rv.get('row')} job ended '{rv.get('state')}' after "
                        f"{secs:.2f} s having sent {rv.get('sent')}: {rv.get('reason') or ''}"
                    )
            for row, last_end in run.row_ends().items():
                if run.end_wall - last_end > 2.0:
                    say(
                        f"  note: row {row}'s loop ended 'done' {run.end_wall - last_end:.1f} s "
                        "before the campaign finished (no job of it ran after that)"
                    )
            say("peak RSS MB per worker tree (worker RSS / biggest job child RSS / tree PSS):")
            for name, peak in sampler.peak.items():
                say(
                    f"  {name:<20} {fmt_mb(peak['worker']):>5} / {fmt_mb(peak['child']):>5} / "
                    f"{fmt_mb(peak['tree']):>5}"
                )
            tl = sampler.timeline
            if tl:
                marks = [tl[int(i * (len(tl) - 1) / 4)][1] for i in range(5)]
                say(
                    "  biggest process RSS at 0/25/50/75/100% of the pipeline run: "
                    + " ".join(fmt_mb(m) for m in marks)
                    + " MB"
                )
            say("CPU during the pipeline run:")
            for line in meter.lines(run.audience):
                say(line)
            if base_meter:
                say("CPU during the baseline run:")
                for line in base_meter.lines(base["emails"]):
                    say(line)
            say(
                f"sink accepted {accepted} messages; sends marked sent {sent_all} "
                f"({'match' if accepted == sent_all else 'MISMATCH'})"
            )
            if profile_paths:
                say(f"py-spy profile of the job children ({', '.join(profile_paths)}):")
                for line in summarise_profile(profile_paths, PySpy.RATE):
                    say(line)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every process started", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        print(f"(logs in {workdir})", file=sys.stderr)


def launch_only(
    args,
    app,
    r,
    procs,
    env,
    list_id,
    identity_id,
    n,
    unsub,
    supp,
    setup_s,
    header,
    db_port,
    redis_port,
    say,
) -> int:
    """Materialise a campaign of N through the real orchestrator job; the rows start tomorrow,
    so their channel jobs only record that they wait: nothing is sent."""
    from mailer.campaigns import lifecycle, stats
    from mailer.extensions import db
    from mailer.models.base import utcnow

    channel_ids = make_channels("brevo", "http://127.0.0.1:9/v3", args.rows)  # never reached
    campaign = make_campaign(
        "bench launch", list_id, channel_ids, identity_id, start_at=utcnow() + timedelta(days=1)
    )
    workers = start_workers(procs, args.workers, env, r, baseline=False, tag="launch")
    sampler = RssSampler(workers)
    sampler.start()
    meter = CpuMeter({w.name: w.pid for w in workers}, db_port, redis_port)
    meter.start()
    t0 = time.monotonic()
    lifecycle.schedule(campaign)
    launch = wait_launch(r, args.timeout)
    wall = time.monotonic() - t0
    meter.stop()
    time.sleep(1.0)  # let the row jobs record "waiting"
    sampler.stop()
    db.session.rollback()
    counts = stats.status_counts(campaign.id)
    db.session.refresh(campaign)
    rows = find_jobs(r, "jobs.campaigns.run_channel")
    states = [(j.return_value() or {}).get("state") for j in rows]
    say()
    say(header)
    say(
        f"launch only: {n} subscribers ({unsub} unsubscribed, {supp} suppressed), "
        f"setup {setup_s:.1f} s"
    )
    say(f"{'phase':<46} {'sends':>8} {'seconds':>8} {'sends/s':>9}")
    say(
        f"{'launch: orchestrator job run time':<46} {counts['pending']:>8} "
        f"{launch['run_s']:>8.2f} {counts['pending'] / launch['run_s']:>9.0f}"
    )
    say(f"{'launch: schedule() -> job ended (wall)':<46} {counts['pending']:>8} {wall:>8.2f}")
    first = "launch: rows started after (first sends written)"
    say(f"{first:<46} {'':>8} {launch['rows_s']:>8.2f}")
    say(
        f"campaign {campaign.status}, audience_size {campaign.audience_size}, excluded "
        f"{campaign.excluded_count}; sends: "
        + ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    )
    say(
        f"channel row jobs: {len(rows)} ({', '.join(str(s) for s in states)}); target < 60 s: "
        f"{'met' if launch['run_s'] < 60 else 'MISSED'}"
    )
    say("peak RSS MB per worker tree (worker RSS / biggest job child RSS / tree PSS):")
    for name, peak in sampler.peak.items():
        say(
            f"  {name:<20} {fmt_mb(peak['worker']):>5} / {fmt_mb(peak['child']):>5} / "
            f"{fmt_mb(peak['tree']):>5}"
        )
    say("CPU during the launch:")
    for line in meter.lines(counts["pending"]):
        say(line)
    return 0


def in_process_loop(args, app, campaign, sink_child, procs, header, say) -> int:
    """The orchestrator and the first row's channel loop in this process (optionally under
    cProfile, optionally with another provider concurrency): for trying what-ifs."""
    import cProfile
    import pstats

    from mailer.campaigns import launch as campaign_launch
    from mailer.campaigns import lifecycle, stats
    from mailer.engine import campaign_state
    from mailer.engine.campaign_send.loop import ChannelLoop
    from mailer.extensions import db
    from mailer.models import Channel

    campaign_state.transition(campaign, lifecycle.S.SCHEDULED)
    t0 = time.monotonic()
    campaign_launch.orchestrate(campaign.id)  # enqueues the row jobs too: no worker runs them here
    launch_s = time.monotonic() - t0
    row = campaign.channels[0]
    provider = loop_provider(db.session.get(Channel, row.channel_id))
    what = (
        f"{type(provider).__name__} concurrency {provider.concurrency}, "
        f"chunk {chunk_size(provider)}"
    )
    profiler = cProfile.Profile() if args.cprofile else None
    cpu0 = time.process_time()
    t1 = time.monotonic()
    if profiler:
        profiler.enable()
    outcome = ChannelLoop(row.id, slice_seconds=10**9, provider=provider).run()
    if profiler:
        profiler.disable()
    loop_s = time.monotonic() - t1
    cpu_s = time.process_time() - cpu0
    db.session.rollback()
    counts = stats.status_counts(campaign.id)
    accepted = stop_sink(procs, sink_child)
    say()
    say(header)
    say(
        f"one channel loop in the bench process{' under cProfile' if profiler else ''}: sink "
        f"{args.sink}, latency {args.latency_ms:g} ms, {what}; launch {launch_s:.2f} s"
    )
    say(
        f"loop {outcome.state}: sent {outcome.sent} in {loop_s:.2f} s = "
        f"{outcome.sent / loop_s:.0f}/s; loop process CPU {cpu_s:.1f} s = "
        f"{1000 * cpu_s / max(outcome.sent, 1):.3f} ms/email; "
        + ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        + f"; sink accepted {accepted}; load average {os.getloadavg()[0]:.2f}"
    )
    if not profiler:
        return 0
    profiler.dump_stats(args.cprofile)
    stats = pstats.Stats(args.cprofile)
    wanted = [
        ("prepare", "campaign_send/chunks.py"),
        ("send_batch", "providers"),
        ("write", "campaign_send/chunks.py"),
        ("claim", "campaign_send/claims.py"),
        ("allowance", "campaign_send/claims.py"),
        ("render", "engine/rendering/"),
        ("recipient_context", "engine/rendering/"),
        ("execute", "orm/session.py"),
        ("commit", "orm/session.py"),
        ("execute", "engine/base.py"),
        ("_finish_if_done", "campaign_send/loop.py"),
        ("expire_all", "orm/session.py"),
    ]
    say(f"  {'function':<52} {'calls':>8} {'cum s':>8} {'% of loop':>9}")
    for (fname, lineno, func), (_cc, nc, _tt, ct, _callers) in sorted(
        stats.stats.items(), key=lambda kv: -kv[1][3]
    ):
        if any(func == name and where in fname for name, where in wanted):
            label = f"{func} ({'/'.join(fname.split('/')[-2:])}:{lineno})"
            say(f"  {label:<52} {nc:>8} {ct:>8.2f} {100 * ct / loop_s:>8.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
