"""Benchmark: provider feedback end to end — signed webhooks in, events applied.

Builds a fresh database (schema by ``flask_migrate.upgrade()``) with one channel per provider
and one campaign per channel whose N sends carry provider message ids, starts K
``flask worker -q feedback`` processes, then for each provider posts N signed events to the
running app (Flask test client, in this process: the real view, verification and storage) and
waits until every event is stored and applied (one ``Event`` row each, no payload left
"received"). Reports, per provider:

* intake: webhook requests/s and per-request latency (p50/p99) of the posting loop,
* end to end: events/s from the first POST until the last event is applied.

Request shapes follow each provider: SES one SNS notification (signed, SignatureVersion 2,
certificate served by an injected fetcher: the host checks stay real) per event, SendGrid
batches of ``--sendgrid-batch`` events (ECDSA), Mailgun one event per request (HMAC), Mailjet
grouped arrays of ``--mailjet-batch`` (basic auth), Brevo one per request (bearer). Events: 70%
delivered, 10% opens, 5% clicks, 8% hard bounces, 5% soft bounces, 2% complaints; half find
their send by token, half by provider message id.

    python bench/feedback.py --events 2000                      # MariaDB + Redis on loopback
    python bench/feedback.py --events 5000 --workers 4
    python bench/feedback.py --events 500 --database-url sqlite:////tmp/fb.db --workers 1

Every process it starts is stopped on exit.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

from bench.send import make_app, recreate_database  # noqa: E402  (shared bench set-up)

DEFAULT_DB = "mysql+mysqldb://mailer:mailer@127.0.0.1:3307/mailer_bench_feedback?charset=utf8mb4"
DEFAULT_REDIS = "redis://127.0.0.1:6390/6"
PUBLIC_BASE_URL = "http://mailer.bench"
REGION = "eu-west-1"
TOPIC = f"arn:aws:sns:{REGION}:123456789012:bench"
CERT_URL = f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-bench.pem"
MAILGUN_KEY = "key-bench-signing"
PROVIDERS = ("ses", "sendgrid", "mailgun", "mailjet", "brevo")
MIX = [("delivery", 70), ("open", 10), ("click", 5), ("hard", 8), ("soft", 5), ("complaint", 2)]


# ------------------------------------------------------------------------------ set-up


def make_keys():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(rsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(rsa_key, hashes.SHA256())
    )
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_public = base64.b64encode(
        ec_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    return rsa_key, cert.public_bytes(serialization.Encoding.PEM), ec_key, ec_public


def setup_data(n: int, ec_public: str) -> dict[str, dict]:
    """One channel and one campaign of N sends per provider; returns per provider the channel
    id, webhook path and the sends (id, email, provider message id)."""
    from sqlalchemy import insert, select

    from mailer.extensions import db
    from mailer.lib.crypto import encrypt_json
    from mailer.models import (
        Campaign,
        CampaignChannel,
        Channel,
        Identity,
        MailingList,
        Send,
        Subscriber,
    )
    from mailer.models.base import utcnow

    config = {
        # Configured, and its subscription confirmed (pinned) as the webhook would record it.
        "ses": ({"region": REGION, "sns_topic_arns": TOPIC, "sns_confirmed_topics": [TOPIC]}, {}),
        "sendgrid": ({"webhook_public_key": ec_public}, {"api_key": "SG.bench"}),
        "mailgun": ({"domain": "mg.bench"}, {"api_key": "k", "webhook_signing_key": MAILGUN_KEY}),
        "mailjet": (
            {"api_key": "p", "webhook_username": "mj"},
            {"secret_key": "s", "webhook_password": "mjpw"},
        ),
        "brevo": ({}, {"api_key": "x", "webhook_bearer_token": "brevo-bench"}),
    }
    identity = Identity(name="Bench", from_email="bench@example.com")
    db.session.add(identity)
    db.session.flush()
    out = {}
    now = utcnow()
    for provider in PROVIDERS:
        settings, secrets = config[provider]
        channel = Channel(
            name=f"bench {provider}",
            provider=provider,
            settings=settings,
            secrets_encrypted=encrypt_json(secrets),
        )
        mailing_list = MailingList(name=f"bench {provider}")
        db.session.add_all([channel, mailing_list])
        db.session.flush()
        campaign = Campaign(name=f"bench {provider}", subject="s", status="completed", html="x")
        db.session.add(campaign)
        db.session.flush()
        row = CampaignChannel(
            campaign_id=campaign.id, channel_id=channel.id, identity_id=identity.id
        )
        db.session.add(row)
        db.session.flush()
        conn = db.session.connection()
        for start in range(0, n, 5000):
            conn.execute(
                insert(Subscriber),
                [
                    {
                        "list_id": mailing_list.id,
                        "email": f"{provider}.{i}@example.com",
                        "status": "subscribed",
                        "attributes": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(start, min(n, start + 5000))
                ],
            )
        subs = conn.execute(
            select(Subscriber.id, Subscriber.email)
            .where(Subscriber.list_id == mailing_list.id)
            .order_by(Subscriber.id)
        ).all()
        for start in range(0, n, 5000):
            conn.execute(
                insert(Send),
                [
                    {
                        "campaign_id": campaign.id,
                        "subscriber_id": s.id,
                        "campaign_channel_id": row.id,
                        "email": s.email,
                        "status": "sent",
                        "attempts": 1,
                        "provider_message_id": _pmid(provider, i),
                        "sent_at": now,
                    }
                    for i, s in enumerate(subs[start : start + 5000], start=start)
                ],
            )
        sends = conn.execute(
            select(Send.id, Send.email, Send.provider_message_id)
            .where(Send.campaign_id == campaign.id)
            .order_by(Send.id)
        ).all()
        db.session.commit()
        out[provider] = {
            "channel_id": channel.id,
            "path": f"/webhooks/{provider}/{channel.webhook_token}",
            "campaign_id": campaign.id,
            "sends": [(s.id, s.email, s.provider_message_id) for s in sends],
        }
    return out


def _pmid(provider: str, i: int) -> str:
    return {
        "ses": f"0100018f-bench-{i:08d}-000000",
        "sendgrid": f"sgbench{i:08d}",
        "mailgun": f"<20240501.{i}@mg.bench>",
        "mailjet": f"5b1c2e7a-0000-4000-8000-{i:012d}",
        "brevo": f"<20240501{i}.1@smtp-relay.mailin.fr>",
    }[provider]


# ------------------------------------------------------------------------------ requests


def kinds(n: int) -> list[str]:
    out = []
    for kind, share in MIX:
        out += [kind] * round(n * share / 100)
    return (out + ["delivery"] * n)[:n]


class Requests:
    """Signed requests as each provider would send them."""

    def __init__(self, keys, tokens_make):
        self.rsa_key, _, self.ec_key, _ = keys
        self.token = tokens_make

    def build(
        self, provider: str, info: dict, n: int, batch: dict[str, int], offset: int = 0
    ) -> list[tuple]:
        events = [self._event(provider, offset + i, k, info) for i, k in enumerate(kinds(n))]
        size = batch.get(provider, 1)
        groups = [events[s : s + size] for s in range(0, len(events), size)]
        return [getattr(self, provider)(group, info) for group in groups]

    def _event(self, provider, i, kind, info):
        send_id, email, pmid = info["sends"][i]
        return {
            "i": i,
            "kind": kind,
            "email": email,
            "pmid": pmid,
            "token": self.token("c", send_id) if i % 2 == 0 else None,
        }

    def ses(self, group, info):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        from mailer.engine.feedback.sns import string_to_sign

        (e,) = group
        t = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        mail = {"messageId": e["pmid"], "destination": [e["email"]], "timestamp": t}
        if e["token"]:
            mail["tags"] = {"token": [e["token"].replace(".", "_")]}
        kind = e["kind"]
        if kind in ("hard", "soft"):
            ses = {
                "eventType": "Bounce",
                "bounce": {
                    "bounceType": "Permanent" if kind == "hard" else "Transient",
                    "bounceSubType": "General",
                    "timestamp": t,
                    "feedbackId": f"fb-{e['i']}",
                    "bouncedRecipients": [{"emailAddress": e["email"]}],
                },
            }
        elif kind == "complaint":
            ses = {
                "eventType": "Complaint",
                "complaint": {
                    "timestamp": t,
                    "feedbackId": f"fb-{e['i']}",
                    "complainedRecipients": [{"emailAddress": e["email"]}],
                },
            }
        elif kind == "delivery":
            ses = {
                "eventType": "Delivery",
                "delivery": {"timestamp": t, "recipients": [e["email"]]},
            }
        else:
            name = kind.capitalize()
            ses = {
                "eventType": name,
                name.lower(): {
                    "timestamp": t,
                    "userAgent": "Mozilla/5.0 (Windows NT 10.0) Firefox/125.0",
                    "link": "https://shop.example.com/",
                },
            }
        ses["mail"] = mail
        message = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": TOPIC,
            "Message": json.dumps(ses),
            "Timestamp": t,
            "SignatureVersion": "2",
            "SigningCertURL": CERT_URL,
        }
        signature = self.rsa_key.sign(string_to_sign(message), padding.PKCS1v15(), hashes.SHA256())
        message["Signature"] = base64.b64encode(signature).decode()
        return (
            json.dumps(message).encode(),
            {
                "Content-Type": "text/plain; charset=UTF-8",
                "x-amz-sns-message-type": "Notification",
                "x-amz-sns-message-id": message["MessageId"],
            },
        )

    def sendgrid(self, group, info):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        names = {
            "delivery": "delivered",
            "open": "open",
            "click": "click",
            "hard": "bounce",
            "soft": "bounce",
            "complaint": "spamreport",
        }
        events = []
        for e in group:
            ev = {
                "email": e["email"],
                "timestamp": int(time.time()),
                "event": names[e["kind"]],
                "sg_event_id": f"sg-{uuid.uuid4().hex}",
                "sg_message_id": f"{e['pmid']}.filterdrecv-1-2-3",
                "category": ["bench"],
            }
            if e["kind"] in ("hard", "soft"):
                ev["type"] = "bounce" if e["kind"] == "hard" else "blocked"
            if e["token"]:
                ev["token"] = e["token"]
            events.append(ev)
        body = json.dumps(events).encode()
        stamp = str(int(time.time()))
        signature = self.ec_key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return (
            body,
            {
                "Content-Type": "application/json",
                "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            },
        )

    def mailgun(self, group, info):
        (e,) = group
        names = {
            "delivery": "delivered",
            "open": "opened",
            "click": "clicked",
            "hard": "failed",
            "soft": "failed",
            "complaint": "complained",
        }
        data = {
            "event": names[e["kind"]],
            "id": uuid.uuid4().hex,
            "timestamp": time.time(),
            "recipient": e["email"],
            "message": {"headers": {"message-id": e["pmid"].strip("<>")}},
            "user-variables": {"token": e["token"]} if e["token"] else {},
        }
        if e["kind"] in ("hard", "soft"):
            data.update(
                severity="permanent",
                reason="bounce" if e["kind"] == "hard" else "old",
                **{"delivery-status": {"code": 550 if e["kind"] == "hard" else 452}},
            )
        # Signed when posted (a fresh timestamp): see post_all.
        return ("mailgun", data)

    def mailjet(self, group, info):
        names = {
            "delivery": "sent",
            "open": "open",
            "click": "click",
            "hard": "bounce",
            "soft": "bounce",
            "complaint": "spam",
        }
        events = []
        for e in group:
            ev = {
                "event": names[e["kind"]],
                "time": int(time.time()),
                "MessageID": e["i"],
                "Message_GUID": e["pmid"],
                "email": e["email"],
            }
            if e["kind"] in ("hard", "soft"):
                ev.update(hard_bounce=e["kind"] == "hard", error="user unknown")
            if e["token"]:
                ev["Payload"] = json.dumps({"token": e["token"]})
            events.append(ev)
        raw = base64.b64encode(b"mj:mjpw").decode()
        return (
            json.dumps(events).encode(),
            {"Content-Type": "application/json", "Authorization": f"Basic {raw}"},
        )

    def brevo(self, group, info):
        (e,) = group
        names = {
            "delivery": "delivered",
            "open": "opened",
            "click": "click",
            "hard": "hard_bounce",
            "soft": "soft_bounce",
            "complaint": "spam",
        }
        ev = {
            "event": names[e["kind"]],
            "email": e["email"],
            "message-id": e["pmid"],
            "ts_epoch": int(time.time() * 1000) + e["i"],
            "link": "https://shop.example.com/",
        }
        if e["token"]:
            ev["X-Mailin-custom"] = json.dumps({"token": e["token"]})
        return (
            json.dumps(ev).encode(),
            {"Content-Type": "application/json", "Authorization": "Bearer brevo-bench"},
        )


def sign_mailgun(data: dict) -> bytes:
    stamp = str(int(time.time()))
    token = uuid.uuid4().hex + uuid.uuid4().hex[:18]
    signature = hmac.new(
        MAILGUN_KEY.encode(), f"{stamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": stamp, "token": token, "signature": signature},
            "event-data": data,
        }
    ).encode()


# ------------------------------------------------------------------------------ running


class Workers:
    def __init__(self, k: int, env: dict[str, str], workdir: str):
        self.children = []
        for i in range(k):
            log = open(os.path.join(workdir, f"worker-{i + 1}.log"), "ab")  # noqa: SIM115
            cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "-q", "feedback"]
            self.children.append(
                subprocess.Popen(
                    cmd,
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()

    def stop(self) -> None:
        for child in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)


def applied(provider: str | None = None) -> tuple[int, int]:
    """(events recorded for the provider, or all; payloads not yet processed)."""
    from sqlalchemy import func, select

    from mailer.extensions import db
    from mailer.models import Event, FeedbackPayload

    db.session.commit()
    events = select(func.count()).select_from(Event)
    waiting = (
        select(func.count())
        .select_from(FeedbackPayload)
        .where(FeedbackPayload.status == "received")
    )
    if provider:
        events = events.where(Event.provider_event_id.like(f"{provider}:%"))
        waiting = waiting.where(FeedbackPayload.provider == provider)
    counts = db.session.scalar(events), db.session.scalar(waiting)
    db.session.commit()
    return counts


def post_all(client, provider: str, requests_: RequestList) -> list[float]:
    latencies = []
    for body, headers in requests_:
        if body == "mailgun":  # signed now: Mailgun signatures go stale after 15 minutes
            body, headers = sign_mailgun(headers), {"Content-Type": "application/json"}
        start = time.perf_counter()
        response = client.post(requests_.path, data=body, headers=headers)
        latencies.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"{provider}: HTTP {response.status_code} {response.data[:200]!r}")
    return latencies


class HttpPoster:
    """Posts to a gunicorn on loopback from ``threads`` threads, one keep-alive session each."""

    def __init__(self, base_url: str, threads: int):
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self.base_url = base_url
        self.pool = ThreadPoolExecutor(max_workers=threads)
        self.local = threading.local()

    def _session(self):
        import requests

        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def _one(self, path: str, body, headers) -> float:
        if body == "mailgun":
            body, headers = sign_mailgun(headers), {"Content-Type": "application/json"}
        start = time.perf_counter()
        response = self._session().post(
            self.base_url + path, data=body, headers=headers, timeout=30
        )
        took = time.perf_counter() - start
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code} {response.text[:200]!r}")
        return took

    def post_all(self, provider: str, requests_: RequestList) -> list[float]:
        futures = [self.pool.submit(self._one, requests_.path, b, h) for b, h in requests_]
        return [f.result() for f in futures]


def wsgi_app():
    """For ``gunicorn 'bench.feedback:wsgi_app()'``: the app, with the benchmark's SNS
    certificate served to the verifier (the URL checks stay real)."""
    from mailer import create_app
    from mailer.engine.feedback import sns

    app = create_app()
    with open(os.environ["BENCH_SNS_CERT_FILE"], "rb") as f:
        pem = f.read()
    sns.install(app, lambda url: pem if url == CERT_URL else b"")
    return app


def start_gunicorn(workers: int, env: dict[str, str], workdir: str, pem: bytes):
    import socket

    cert_file = os.path.join(workdir, "sns-cert.pem")
    with open(cert_file, "wb") as f:
        f.write(pem)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(os.path.join(workdir, "gunicorn.log"), "ab")  # noqa: SIM115
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "bench.feedback:wsgi_app()",
    ]
    child = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=dict(env, BENCH_SNS_CERT_FILE=cert_file),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            time.sleep(1)  # every worker booted
            return child, f"http://127.0.0.1:{port}"
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start within 60 s")


class Cpu:
    """CPU seconds used by process trees (live children and reaped ones, e.g. RQ job horses):
    the figure that does not depend on what else the machine is doing."""

    def __init__(self, pids: list[int]):
        self.pids = pids

    def read(self) -> float:
        import psutil

        total = 0.0
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for proc in procs:
                try:
                    t = proc.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                total += t.user + t.system + t.children_user + t.children_system
        return total


def wait_applied(provider: str | None, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        events, waiting = applied(provider)
        if events >= expected and not waiting:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{provider or 'all'}: {events}/{expected} events after {timeout} s")
        time.sleep(0.05)


def run_live(
    post, provider: str, requests_: RequestList, expected: int, timeout: float, app_cpu, worker_cpu
) -> dict:
    """Workers running: post every request, wait until every event is applied."""
    app_before, workers_before = app_cpu(), worker_cpu.read()
    t0 = time.perf_counter()
    latencies = sorted(post(provider, requests_))
    posted = time.perf_counter() - t0
    app_used = app_cpu() - app_before
    wait_applied(provider, expected, timeout)
    total = time.perf_counter() - t0
    return {
        "app_cpu_ms": app_used * 1000 / len(requests_),
        "worker_cpu_ms": (worker_cpu.read() - workers_before) * 1000 / expected,
        "provider": provider,
        "events": expected,
        "requests": len(requests_),
        "intake_rps": len(requests_) / posted,
        "intake_eps": expected / posted,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "events_per_s": expected / total,
        "seconds": total,
    }


class RequestList(list):
    path: str = ""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=2000, help="events per provider")
    p.add_argument("--workers", type=int, default=2, help="feedback worker processes")
    p.add_argument("--providers", default=",".join(PROVIDERS))
    p.add_argument("--sendgrid-batch", type=int, default=100)
    p.add_argument("--mailjet-batch", type=int, default=50)
    p.add_argument("--no-backlog", action="store_true", help="skip the backlog phase")
    p.add_argument(
        "--gunicorn",
        type=int,
        metavar="W",
        default=0,
        help="post over HTTP to a gunicorn with W workers (default: Flask test client)",
    )
    p.add_argument("--threads", type=int, default=8, help="posting threads with --gunicorn")
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    p.add_argument("--timeout", type=float, default=600)
    return p.parse_args()


def main() -> int:
    args = parse_args()
    # SIGTERM (a timeout, Ctrl-C's cousin) unwinds through `finally`: the workers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import redis
    from cryptography.fernet import Fernet

    keys = {"SECRET_KEY": uuid.uuid4().hex, "ENCRYPTION_KEY": Fernet.generate_key().decode()}
    workdir = tempfile.mkdtemp(prefix="bench-feedback-")
    recreate_database(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    app = make_app(
        args.database_url,
        args.redis_url,
        workdir,
        keys,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        MAILER_WEBHOOK_MAX_BYTES=4 * 1024 * 1024,
    )
    key_material = make_keys()
    env = dict(
        os.environ,
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        SECRET_KEY=keys["SECRET_KEY"],
        MAILER_ENCRYPTION_KEY=keys["ENCRYPTION_KEY"],
        MAILER_INSTANCE_PATH=workdir,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        LOG_LEVEL="WARNING",
    )
    providers = [p for p in args.providers.split(",") if p]
    n = args.events
    backlog = not args.no_backlog
    workers = None
    with app.app_context():
        from flask_migrate import upgrade

        from mailer.engine.feedback import sns
        from mailer.lib import tokens

        upgrade()
        sns.install(app, lambda url: key_material[1] if url == CERT_URL else b"")
        data = setup_data(2 * n if backlog else n, key_material[3])
        build = Requests(key_material, tokens.make)
        batches = {"sendgrid": args.sendgrid_batch, "mailjet": args.mailjet_batch}

        def prepared(offset: int) -> dict[str, RequestList]:
            out = {}
            for provider in providers:
                reqs = RequestList(build.build(provider, data[provider], n, batches, offset))
                reqs.path = data[provider]["path"]
                out[provider] = reqs
            return out

        live = prepared(0)
        server = None
        try:
            if args.gunicorn:
                server, base_url = start_gunicorn(args.gunicorn, env, workdir, key_material[1])
                poster = HttpPoster(base_url, args.threads)
                post = poster.post_all
                how = f"HTTP to gunicorn -w {args.gunicorn}, {args.threads} posting threads"
                app_cpu = Cpu([server.pid]).read
            else:
                client = app.test_client()

                def post(provider, reqs):
                    return post_all(client, provider, reqs)

                how = "Flask test client, one posting thread"
                app_cpu = time.process_time  # this process: the app and the test client
            workers = Workers(args.workers, env, workdir)
            worker_cpu = Cpu([c.pid for c in workers.children])
            time.sleep(2)  # let the workers register
            print(f"live: {args.workers} feedback worker(s) running; intake by {how}", flush=True)
            results = []
            for provider in providers:
                r = run_live(post, provider, live[provider], n, args.timeout, app_cpu, worker_cpu)
                results.append(r)
                print(
                    f"  {r['provider']:9} {r['events']:7,} events in {r['requests']:6,} requests"
                    f" | intake {r['intake_rps']:6,.0f} req/s {r['intake_eps']:7,.0f} events/s"
                    f" p50 {r['p50_ms']:5.1f} ms p99 {r['p99_ms']:5.1f} ms,"
                    f" app CPU {r['app_cpu_ms']:4.1f} ms/req"
                    f" | stored+applied {r['events_per_s']:7,.0f} events/s"
                    f" ({r['seconds']:.1f} s), worker CPU {r['worker_cpu_ms']:4.2f} ms/event",
                    flush=True,
                )
            from rq.registry import FailedJobRegistry, FinishedJobRegistry

            from mailer.queue import FEEDBACK, get_queue

            queue = get_queue(FEEDBACK)
            print(
                f"  feedback jobs run: {FinishedJobRegistry(queue=queue).count} finished,"
                f" {FailedJobRegistry(queue=queue).count} failed",
                flush=True,
            )
            total_events = sum(r["events"] for r in results)
            total_seconds = sum(r["seconds"] for r in results)
            print(
                f"  all       {total_events:7,} events, {total_events / total_seconds:,.0f}"
                " events/s stored and applied",
                flush=True,
            )
            if backlog:
                workers.stop()
                workers = None
                later = prepared(n)
                t0 = time.perf_counter()
                for provider in providers:
                    post(provider, later[provider])
                posted = time.perf_counter() - t0
                requests_total = sum(len(r) for r in later.values())
                expected = total_events + n * len(providers)
                print(
                    f"backlog: {n * len(providers):,} events in {requests_total:,} requests"
                    f" stored in {posted:.1f} s ({requests_total / posted:,.0f} req/s), "
                    "workers stopped",
                    flush=True,
                )
                # Start the workers idle, then kick: the time is the processing alone.
                from rq import Worker

                from mailer.engine.feedback import intake
                from mailer.queue import FEEDBACK, get_queue, get_redis

                get_queue(FEEDBACK).empty()
                get_redis().delete(intake.KICK_KEY)
                workers = Workers(args.workers, env, workdir)
                deadline = time.monotonic() + 60
                while len(Worker.all(connection=get_redis())) < args.workers:
                    if time.monotonic() > deadline:
                        raise RuntimeError("workers did not register within 60 s")
                    time.sleep(0.1)
                worker_cpu = Cpu([c.pid for c in workers.children])
                cpu_before = worker_cpu.read()
                t0 = time.perf_counter()
                intake.kick()
                wait_applied(None, expected, args.timeout)
                applied_s = time.perf_counter() - t0
                cpu_ms = (worker_cpu.read() - cpu_before) * 1000 / (n * len(providers))
                print(
                    f"  applied by {args.workers} worker(s) in {applied_s:.1f} s:"
                    f" {n * len(providers) / applied_s:,.0f} events/s,"
                    f" worker CPU {cpu_ms:.2f} ms/event",
                    flush=True,
                )
            from sqlalchemy import func, select

            from mailer.extensions import db
            from mailer.models import Suppression

            suppressed = db.session.scalar(select(func.count()).select_from(Suppression))
            rounds = 2 if backlog else 1
            wanted = (
                rounds * len(providers) * sum(1 for k in kinds(n) if k in ("hard", "complaint"))
            )
            print(
                f"check: {suppressed:,} suppressions (expected {wanted:,}: hard bounces and "
                f"complaints); database {args.database_url.split('://')[0]}"
            )
        finally:
            if workers is not None:
                workers.stop()
            if server is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
