"""Opens and clicks: cheap hits, their buffer and flush, machine flags, and link instrumentation.

Hits. The pixel and click endpoints validate the token (an HMAC, no storage), then either push
one JSON event to a Redis list (``MAILER_TRACKING_BUFFER``, production) or write it at once
(embedded and test modes). Every hit carries a fresh id stored as ``provider_event_id``
"hit:<uuid>", a unique column: writing the same hit twice inserts nothing the second time.
A click link carries a MAC of (token, link id) (tokens.py), so a token reaches only the links
written into its own message: another recipient's personalised URL or another message's link
cannot be reached by changing the id. The click then reads its link's URL (checking it belongs
to the send's campaign) in one indexed query on a small autocommit pool of its own
(``_LinkReader``): a read, never a write. Links without a MAC, in mail sent before links were
signed, resolve only when the URL is in the recipient's own message rendered again (as the
view-online page renders it), else the recipient gets the invalid-link page.

Flush (a tick every 5 s, under a Redis lock). Events move from the buffer list to a processing
list in batches (LMOVE inside MULTI), are written in one transaction (events inserted with
INSERT-ignore, ``Send.opened_at``/``clicked_at`` set on the first human hit), and the processing
list is deleted only after the commit. A flush that dies leaves its batch in the processing
list; the next flush writes it again first, and the unique hit ids keep every row single.

Machine activity (kept small on purpose; each rule is tested in tests/tracking):

* an open from a known image proxy / privacy pre-fetcher (``OPEN_PROXIES``: Gmail and Yahoo
  image proxies, and Apple Mail Privacy Protection, whose fetches say only "Mozilla/5.0"),
* any hit from a link scanner or script user agent (``SCANNERS``), with no user agent at all,
  or made with HEAD (scanners check links; people's browsers GET them),
* any hit within ``MACHINE_WINDOW`` of the send leaving us (security gateways open and follow
  links on arrival, before a person could).

Flagged hits are recorded with ``machine=True``; ``Send.opened_at``/``clicked_at`` count only
human hits, and the report shows human and total figures side by side.

Links. At render time every http(s) link of the HTML is pointed at
``/t/c/<token>/<link id>-<mac>``, except links to this installation (unsubscribe, view online);
mailto:, tel:, anchors and relative links are left alone. The web addresses of the plain-text
part are tracked the same way (an address is taken up to whitespace, a quote, a bracket or
trailing punctuation, as mail clients make it clickable; one directly followed by an opening
bracket is left as it is, since its end is unclear). Identical URLs share one ``Link`` row per
campaign, in both parts, created idempotently by (campaign, sha256(url)) and cached per worker
process; each message signs its own click links to them. The pixel goes just before
``</body>`` (or at the end). A body without the recipient's unsubscribe link gets one in a
footer.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from flask import Response, current_app
from redis.exceptions import RedisError
from sqlalchemy import bindparam, func, select, update
from werkzeug.urls import iri_to_uri

from mailer.engine.webhooks_out import events as webhook_events
from mailer.engine.webhooks_out.events import WebhookEvent
from mailer.extensions import db
from mailer.lib import dbutil, tokens
from mailer.models import Campaign, Event, EventType, Link, Send
from mailer.queue import get_redis

if TYPE_CHECKING:
    from mailer.engine.rendering import CompiledEmail, RenderedEmail

log = logging.getLogger(__name__)

# 1×1 transparent GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PIXEL_HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}

BUFFER_KEY = "mailer:tracking:buffer"
PROCESSING_KEY = "mailer:tracking:processing"
FLUSH_BATCH = 2000
FLUSH_SECONDS = 20.0  # one flush stops taking new batches after this (the tick runs every 5 s)

OPEN, CLICK = "o", "c"
_EVENT_TYPE = {OPEN: EventType.OPEN.value, CLICK: EventType.CLICK.value}

MACHINE_WINDOW = timedelta(seconds=2)
# (user-agent test, label). Image proxies fetch the pixel for the mailbox, opened or not.
OPEN_PROXIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"GoogleImageProxy"), "gmail image proxy"),
    (re.compile(r"YahooMailProxy"), "yahoo image proxy"),
    (re.compile(r"^Mozilla/5\.0$"), "apple mail privacy protection"),
)
# Link scanners, security gateways, and scripts rather than mail clients or browsers.
SCANNERS = re.compile(
    r"bot\b|crawl|spider|barracuda|proofpoint|mimecast|python-|curl/|wget/|go-http-client"
    r"|java/|okhttp|headlesschrome|ms office existence discovery",
    re.I,
)
MAX_USER_AGENT = 255


# ------------------------------------------------------------------------------ machine rules


def machine_reason(kind: str, user_agent: str, *, head: bool = False) -> str | None:
    """Why a hit looks automated from the request alone, or None (timing is checked on write)."""
    if head:
        return "HEAD request"
    if not user_agent.strip():
        return "no user agent"
    if kind == OPEN:
        for pattern, label in OPEN_PROXIES:
            if pattern.search(user_agent):
                return label
    if SCANNERS.search(user_agent):
        return "link scanner"
    return None


def _timing_reason(occurred_at: datetime, sent_at: datetime | None) -> str | None:
    if sent_at is not None and occurred_at - sent_at <= MACHINE_WINDOW:
        return "within seconds of sending"
    return None


# ------------------------------------------------------------------------------ hits


def buffered() -> bool:
    return bool(current_app.config.get("MAILER_TRACKING_BUFFER"))


def make_hit(
    kind: str,
    send_id: int,
    link_id: int | None = None,
    *,
    user_agent: str = "",
    head=False,
    message: bool = False,
) -> dict:
    """A hit on a campaign send, or with ``message`` on a transactional message (``s`` is then
    the message id)."""
    user_agent = (user_agent or "")[:MAX_USER_AGENT]
    hit = {
        "id": uuid.uuid4().hex,
        "k": kind,
        "s": send_id,
        "l": link_id,
        "t": time.time(),
        "ua": user_agent,
        "m": machine_reason(kind, user_agent, head=head),
    }
    if message:
        hit["mk"] = "m"
    return hit


def record(hit: dict) -> bool:
    """Buffer the hit in Redis (production) or write it now (embedded, tests).

    With Redis unreachable the hit is logged as lost and the recipient still gets the pixel or
    the redirect: a tracking outage must not break the links in every email already sent.
    """
    if not buffered():
        write_hits([hit])
        db.session.commit()
        return True
    try:
        get_redis().rpush(BUFFER_KEY, json.dumps(hit, separators=(",", ":")))
    except RedisError:
        log.exception("tracking hit lost, Redis unavailable: %s", hit)
        return False
    return True


def pixel_response() -> Response:
    return Response(PIXEL, mimetype="image/gif", headers=PIXEL_HEADERS)


_LINK_TARGET = (
    select(Link.url)
    .join(Send, Send.campaign_id == Link.campaign_id)
    .where(Link.id == bindparam("link_id"), Send.id == bindparam("send_id"))
)


def link_target(send_id: int, link_id: int, *, signed: bool = True) -> str | None:
    """The URL recorded for this link if it belongs to the send's campaign (a read, no write),
    as an ASCII URI fit for a Location header.

    ``signed``: the click link's MAC proved the link was written into this send's message.
    An unsigned link (mail sent before links were signed) resolves only when its URL is in
    the recipient's own message, rendered again as the view-online page does (slow, rare)."""
    if not 0 < link_id <= dbutil.MAX_ID or not 0 < send_id <= dbutil.MAX_ID:
        return None
    url = _link_reader().read(send_id, link_id)
    if url is None or not _is_web_url(url) or _CONTROL.search(url):
        return None
    if not signed and url not in _urls_of_send(send_id):
        return None
    return iri_to_uri(url)


class _LinkReader:
    """The click path's one read, in one database round trip (a statement on a small
    autocommit pool of its own: ``dbutil.OwnPoolStatement``). A read, so a connection the
    server dropped is retried once on a fresh one."""

    def __init__(self, url) -> None:
        self.statement = dbutil.OwnPoolStatement(url, _LINK_TARGET, pool_size=4, max_overflow=4)
        self.errors = self.statement.engine.dialect.loaded_dbapi.OperationalError

    def read(self, send_id: int, link_id: int) -> str | None:
        params = {"link_id": link_id, "send_id": send_id}
        for attempt in (1, 2):
            try:
                _, _, row = self.statement.run(params)
                return row[0] if row else None
            except self.errors:
                if attempt == 2:
                    raise
        return None


class _SessionReader:
    """SQLite (embedded, tests): the app's session is as cheap as anything there."""

    def read(self, send_id: int, link_id: int) -> str | None:
        params = {"link_id": link_id, "send_id": send_id}
        return db.session.execute(_LINK_TARGET, params).scalar()


def _link_reader():
    reader = current_app.extensions.get("mailer_link_reader")
    if reader is None:
        engine = db.engine
        reader = _SessionReader() if engine.dialect.name == "sqlite" else _LinkReader(engine.url)
        current_app.extensions["mailer_link_reader"] = reader
    return reader


_CONTROL = re.compile(r"[\x00-\x20\x7f]")  # no whitespace or control character in a URL


def _is_web_url(url: str) -> bool:
    lowered = url[:8].lower()
    return lowered.startswith(("http://", "https://"))


# ------------------------------------------------------------------------------ writing


@dataclass
class WriteResult:
    written: int = 0  # events handed to the INSERT (already-written ones are ignored by it)
    dropped: int = 0  # hits whose send no longer exists (campaign deleted)


def write_hits(hits: Sequence[dict]) -> WriteResult:
    """Write hits as events and first-hit times, in the caller's transaction. Idempotent."""
    result = WriteResult()
    if not hits:
        return result
    message_hits = [h for h in hits if h.get("mk") == "m"]  # transactional messages
    if message_hits:
        hits = [h for h in hits if h.get("mk") != "m"]
    sends: dict[int, tuple] = {}
    ids = sorted({int(h["s"]) for h in hits})
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            select(Send.id, Send.campaign_id, Send.sent_at, Send.opened_at, Send.clicked_at).where(
                Send.id.in_(ids[start : start + 500])
            )
        )
        sends.update({row.id: row for row in rows})
    events: list[dict] = []
    first: dict[str, dict[int, datetime]] = {OPEN: {}, CLICK: {}}
    for hit in hits:
        send = sends.get(int(hit["s"]))
        kind = hit["k"]
        if send is None or kind not in _EVENT_TYPE:
            result.dropped += 1
            continue
        at = datetime.fromtimestamp(hit["t"], UTC).replace(tzinfo=None)
        reason = hit.get("m") or _timing_reason(at, send.sent_at)
        data = {"ua": hit.get("ua") or ""}
        if reason:
            data["machine"] = reason
        events.append(
            {
                "type": _EVENT_TYPE[kind],
                "occurred_at": at,
                "campaign_id": send.campaign_id,
                "send_id": send.id,
                "message_id": None,
                "link_id": hit.get("l") if kind == CLICK else None,
                "provider_event_id": f"hit:{hit['id']}",
                "machine": reason is not None,
                "data": data,
            }
        )
        already = send.opened_at if kind == OPEN else send.clicked_at
        if reason is None and already is None:
            seen = first[kind].get(send.id)
            first[kind][send.id] = at if seen is None else min(seen, at)
    if message_hits:
        from mailer.engine.transactional import core as transactional

        found = transactional.write_hits(message_hits)
        result.dropped += len(message_hits) - len(found)
        events += found
    if events:
        db.session.execute(dbutil.insert_ignore(Event.__table__, ["provider_event_id"]), events)
        result.written = len(events)
        # Outbound webhooks (issue 8): a replayed hit keeps its event id, so is queued once.
        webhook_events.emit(WebhookEvent.from_event_row(e) for e in events)
    for kind, column in ((OPEN, "opened_at"), (CLICK, "clicked_at")):
        if first[kind]:
            rows = [{"b_id": k, "b_at": v} for k, v in first[kind].items()]
            db.session.execute(_FIRST_HIT[column], rows)
    return result


_S = Send.__table__
# COALESCE keeps the first time: a batch written twice changes nothing.
_FIRST_HIT = {
    column: update(_S)
    .where(_S.c.id == bindparam("b_id"))
    .values({column: func.coalesce(_S.c[column], bindparam("b_at"))})
    for column in ("opened_at", "clicked_at")
}


# ------------------------------------------------------------------------------ flush


@dataclass
class FlushResult:
    batches: int = 0
    events: int = 0
    dropped: int = 0
    recovered: int = 0  # events found in the processing list, left by a flush that died


def flush(*, batch_size: int = FLUSH_BATCH, max_seconds: float = FLUSH_SECONDS) -> FlushResult:
    """Move buffered hits to the database in batches. The caller holds the flush lock."""
    redis = get_redis()
    result = FlushResult()
    leftover = redis.lrange(PROCESSING_KEY, 0, -1)
    if leftover:
        _write_batch(leftover, result)
        result.recovered = len(leftover)
        _clear_processing(redis)
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        waiting = redis.llen(BUFFER_KEY)
        if not waiting:
            break
        pipe = redis.pipeline(transaction=True)
        for _ in range(min(waiting, batch_size)):
            pipe.lmove(BUFFER_KEY, PROCESSING_KEY, "LEFT", "RIGHT")
        moved = [item for item in pipe.execute() if item is not None]
        if not moved:
            break
        _write_batch(moved, result)
        _clear_processing(redis)
    return result


def _write_batch(raw: Iterable[bytes], result: FlushResult) -> None:
    hits = []
    for item in raw:
        try:
            hits.append(json.loads(item))
        except ValueError:
            result.dropped += 1  # not ours: nothing can be done with it
    try:
        written = write_hits(hits)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    result.batches += 1
    result.events += written.written
    result.dropped += written.dropped


def _clear_processing(redis) -> None:
    """Only after the batch committed: from here on the events live in the database."""
    redis.delete(PROCESSING_KEY)


def pending() -> int:
    """Hits waiting in Redis (buffer and an unfinished batch)."""
    redis = get_redis()
    return int(redis.llen(BUFFER_KEY)) + int(redis.llen(PROCESSING_KEY))


# ------------------------------------------------------------------------------ instrumentation

# An <a>/<area> tag up to its href value, then the value: "…", '…' or bare.
_HREF = re.compile(
    r"""(<(?:a|area)\b[^>]*?\shref\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""",
    re.I,
)
# A web address in plain text: up to whitespace, a quote or a bracket (trailing punctuation
# is cut off after the match).
_TEXT_URL = re.compile(r"""https?://[^\s<>"'()\[\]{}]+""", re.I)
_TEXT_URL_TRAILING = ".,;:!?"
_BODY_END = "</body"
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
MAX_URL = 4000
_CACHE_CAMPAIGNS = 32
_CACHE_URLS = 20_000


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def pixel_url(base: str, token: str) -> str:
    return f"{base}/t/o/{token}.gif"


def click_url(base: str, token: str, link_id: int, key: bytes) -> str:
    """The signed click link: it resolves only with this token (``key``: tokens.link_key())."""
    return f"{base}/t/c/{token}/{link_id}-{tokens.link_mac(key, token, link_id)}"


def unsubscribe_url(base: str, token: str) -> str:
    return f"{base}/u/{token}"


class Instrumenter:
    """Rewrites a campaign's rendered emails: tracked links, open pixel, unsubscribe footer."""

    def __init__(
        self, campaign_id: int, base: str, *, opens: bool, clicks: bool, links: dict[str, int]
    ) -> None:
        self.campaign_id = campaign_id
        self.base = base.rstrip("/")
        self.opens = opens
        self.clicks = clicks
        self.links = links  # url → link id, shared by the process's instrumenters
        self.key = tokens.link_key()
        self._own = tuple(f"{self.base}/{p}/" for p in ("u", "v", "t"))
        # Links to this installation are never tracked, and in every email they differ (the
        # recipient's token): skipped before the caches, whose misses they would all be. An
        # href is decoded first, which cannot change how it starts unless the base has "&".
        self._own_raw = () if "&" in self.base else self._own
        # raw href as written → the URL to track, "" when not trackable: the same links recur
        # in every email of a campaign, so each is decoded and checked once
        self._hrefs: dict[str, str] = {}
        self._text_urls: dict[str, bool] = {}  # the same, for addresses in plain text

    def apply(self, html: str, text: str, token: str) -> tuple[str, str]:
        unsubscribe = unsubscribe_url(self.base, token)
        if self.clicks:
            html, text = self.rewrite(html, text, token)
        tail = ""
        if unsubscribe not in html:
            tail += (
                '<p style="font-size:12px;color:#666;text-align:center;margin:24px 0">'
                f'<a href="{unsubscribe}" style="color:#666">Unsubscribe</a></p>'
            )
        if self.opens:
            tail += (
                f'<img src="{pixel_url(self.base, token)}" width="1" height="1" alt="" '
                'style="display:block;width:1px;height:1px;border:0">'
            )
        if tail:
            html = _before_body_end(html, tail)
        if text and unsubscribe not in text:
            text = f"{text.rstrip()}\n\nUnsubscribe: {unsubscribe}\n"
        return html, text

    def prepare(self, htmls: Iterable[str]) -> None:
        """Record the trackable URLs of many messages in one write, before rewriting each."""
        missing = {f[3] for html in htmls for f in self._links_in(html)}
        missing.difference_update(self.links)
        if missing:
            self._ensure(list(missing))

    def rewrite(self, html: str, text: str, token: str) -> tuple[str, str]:
        """One message's HTML and plain-text part (either may be empty) with their web links
        pointed at click links signed for ``token``."""
        clicks = _Clicks(self.base, token, self.key)
        if html:
            html = self._rewrite(html, self._links_in(html), clicks)
        if text:
            text = self._rewrite(text, self._urls_in(text), clicks)
        return html, text

    def urls_in(self, html: str, text: str) -> set[str]:
        """The URLs :meth:`rewrite` would track in this HTML and text (nothing written)."""
        found = self._links_in(html) if html else []
        found += self._urls_in(text) if text else []
        return {f[3] for f in found}

    def _rewrite(self, source: str, found: list[tuple[int, int, str, str]], clicks: _Clicks) -> str:
        """``source`` with each found link's span replaced by its prefix and click URL (quoted
        after an HTML prefix)."""
        if not found:
            return source
        links = self.links
        missing = [f[3] for f in found if f[3] not in links]
        if missing:
            self._ensure(missing)
        out: list[str] = []
        last = 0
        base, sign = clicks.base, clicks.sign
        for start, end, prefix, url in found:
            link_id = links.get(url)
            if link_id is None:  # the cache was full and trimmed meanwhile: leave it as it is
                continue
            out.append(source[last:start])
            click = clicks.get(link_id)
            if click is None:
                click = clicks[link_id] = f"{base}{link_id}-{sign(link_id)}"
            out.append(f'{prefix}"{click}"' if prefix else click)
            last = end
        out.append(source[last:])
        return "".join(out)

    def _urls_in(self, text: str) -> list[tuple[int, int, str, str]]:
        """(start, end, "", url) of each trackable web address of a plain text."""
        found: list[tuple[int, int, str, str]] = []
        known, own = self._text_urls, self._own
        for match in _TEXT_URL.finditer(text):
            if text[match.end() : match.end() + 1] in ("(", "[", "{"):
                continue  # https://en.wikipedia.org/wiki/Mail_(disambiguation): unclear end
            url = match.group().rstrip(_TEXT_URL_TRAILING)
            if url.startswith(own):
                continue
            trackable = known.get(url)
            if trackable is None:
                trackable = self._trackable(url)
                if len(known) < _CACHE_URLS:
                    known[url] = trackable
            if trackable:
                found.append((match.start(), match.start() + len(url), "", url))
        return found

    def _links_in(self, html: str) -> list[tuple[int, int, str, str]]:
        """(start, end, prefix, url) of each trackable href."""
        found: list[tuple[int, int, str, str]] = []
        hrefs, own = self._hrefs, self._own_raw
        for match in _HREF.finditer(html):
            prefix, double, single, bare = match.groups()
            raw = double if double is not None else single if single is not None else bare
            if raw.startswith(own):
                continue
            url = hrefs.get(raw)
            if url is None:
                # As browsers read an href: entities decoded, ends trimmed, tabs/newlines dropped.
                url = _TAB_NEWLINE.sub("", html_lib.unescape(raw).strip())
                url = url if self._trackable(url) else ""
                if len(hrefs) < _CACHE_URLS:
                    hrefs[raw] = url
            if url:
                found.append((*match.span(), prefix, url))
        return found

    def _trackable(self, url: str) -> bool:
        return (
            _is_web_url(url)
            and len(url) <= MAX_URL
            and not url.startswith(self._own)
            and not _CONTROL.search(url)  # a space in a URL: leave that link as it is
        )

    def _ensure(self, urls: list[str]) -> None:
        """Link rows for new URLs, in their own short transaction (no lock kept meanwhile)."""
        by_hash = {url_hash(u): u for u in dict.fromkeys(urls)}
        rows = [
            {"campaign_id": self.campaign_id, "url": u, "url_hash": h} for h, u in by_hash.items()
        ]
        with db.engine.begin() as conn:
            conn.execute(dbutil.insert_ignore(Link.__table__, ["campaign_id", "url_hash"]), rows)
            found = conn.execute(
                select(Link.id, Link.url_hash).where(
                    Link.campaign_id == self.campaign_id, Link.url_hash.in_(list(by_hash))
                )
            ).all()
        if len(self.links) + len(found) > _CACHE_URLS:
            self.links.clear()  # personalised URLs: keep memory flat, ask the database again
        for link_id, digest in found:
            self.links[by_hash[digest]] = link_id


class _Clicks(dict):
    """One message's click links by link id, each signed once (links recur in a message and
    in its text part): "<base><link id>-<sign(link id)>", as :func:`click_url` writes them
    with the token hashed once."""

    def __init__(self, base: str, token: str, key: bytes) -> None:
        super().__init__()
        self.base = f"{base}/t/c/{token}/"
        self.sign = tokens.link_signer(key, token)


def _before_body_end(html: str, snippet: str) -> str:
    # The last "</body", any case. Nearly always written in lower case with only "</html>"
    # after it: find that without copying the email, and lower-case it whole only otherwise.
    at = html.rfind(_BODY_END)
    if at < 0 or _BODY_END in html[at + 1 :].lower():
        at = html.lower().rfind(_BODY_END)
    if at < 0:
        return html + snippet
    return html[:at] + snippet + html[at:]


def instrumenter(campaign: Campaign) -> Instrumenter:
    """The campaign's instrumenter, its link cache kept for the life of the worker process."""
    cache: OrderedDict = current_app.extensions.setdefault("mailer_link_cache", OrderedDict())
    # created_at too: a database recreated under a running worker starts its ids again.
    key = (campaign.id, campaign.created_at)
    links = cache.get(key)
    if links is None:
        links = cache[key] = {}
        while len(cache) > _CACHE_CAMPAIGNS:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return Instrumenter(
        campaign.id,
        current_app.config["PUBLIC_BASE_URL"],
        opens=campaign.track_opens,
        clicks=campaign.track_clicks,
        links=links,
    )


# ------------------------------------------------------------------------------ view online


def render_online(send_id: int) -> str | None:
    """The email as this recipient got it (without tracking), or None for an unknown send."""
    rendered = _render_send(send_id)
    return None if rendered is None else rendered.html


def _urls_of_send(send_id: int) -> set[str]:
    """The trackable URLs of the send's message as rendered again now (empty when it no
    longer renders)."""
    from mailer.engine.rendering import RenderError

    try:
        rendered = _render_send(send_id)
    except RenderError:
        return set()
    if rendered is None:
        return set()
    base = current_app.config["PUBLIC_BASE_URL"]
    finder = Instrumenter(0, base, opens=False, clicks=True, links={})
    return finder.urls_in(rendered.html, rendered.text)


def _render_send(send_id: int) -> RenderedEmail | None:
    """The send's message rendered again with its recipient's data and its audience's
    content, without tracking (a RenderedEmail), or None for an unknown send."""
    from mailer.engine.rendering import recipient_context
    from mailer.models import Subscriber

    row = db.session.execute(
        select(
            Send.id,
            Send.email,
            Send.campaign_id,
            Send.audience_id,
            Subscriber.first_name,
            Subscriber.last_name,
            Subscriber.name,
            Subscriber.attributes,
        )
        .outerjoin(Subscriber, Subscriber.id == Send.subscriber_id)
        .where(Send.id == send_id)
    ).first()
    if row is None:
        return None
    campaign = db.session.get(Campaign, row.campaign_id)
    if campaign is None:
        return None
    compiled = _compiled_content(campaign, row.audience_id)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    token = tokens.make(tokens.CAMPAIGN_SEND, row.id)
    context = recipient_context(
        row.email,
        row.first_name,
        row.last_name,
        row.name,
        row.attributes or {},
        unsubscribe_url=unsubscribe_url(base, token),
        view_online_url=f"{base}/v/{token}",
    )
    return compiled.render(context)


def _compiled_content(campaign: Campaign, audience_id: int | None) -> CompiledEmail:
    """The campaign's content for an audience (its own template, else the campaign's), as
    the send loop compiles it, kept for a few campaigns."""
    from mailer.engine.rendering import compile_email
    from mailer.engine.rendering.content import audience_contents
    from mailer.models import Template

    cache: OrderedDict = current_app.extensions.setdefault("mailer_online_cache", OrderedDict())
    key = (campaign.id, campaign.created_at, campaign.updated_at, audience_id)
    compiled = cache.get(key)
    if compiled is None:
        own = audience_contents(campaign).get(audience_id) if audience_id is not None else None
        html, text = own or (campaign.html, campaign.text)
        if own is None and not html and campaign.template_id:
            template = db.session.get(Template, campaign.template_id)
            html, text = (template.html, template.text) if template else ("", None)
        compiled = cache[key] = compile_email(campaign.subject, html or "", text or None)
        while len(cache) > 8:
            cache.popitem(last=False)
    return compiled
