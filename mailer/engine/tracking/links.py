"""Tracked links: the URLs of the pixel, click and unsubscribe links, and the rewriting of a
rendered email's links into signed click links (campaign sends and transactional messages)."""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from collections import OrderedDict
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import select, update

from mailer.extensions import db
from mailer.lib import branding, dbutil, tokens
from mailer.models import Campaign, Link
from mailer.models.base import utcnow
from mailer.models.campaigns import MessageLink

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
CACHE_URLS = 20_000


_CONTROL = re.compile(r"[\x00-\x20\x7f]")  # no whitespace or control character in a URL


def is_web_url(url: str) -> bool:
    lowered = url[:8].lower()
    return lowered.startswith(("http://", "https://"))


def is_redirectable(url: str) -> bool:
    """An http(s) URL without whitespace or control characters: fit to track and redirect to."""
    return is_web_url(url) and not _CONTROL.search(url)


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def pixel_url(base: str, token: str) -> str:
    return f"{base}/t/o/{token}.gif"


def click_url(base: str, token: str, link_id: int, key: bytes) -> str:
    """The signed click link: it resolves only with this token (``key``: tokens.link_key())."""
    return f"{base}/t/c/{token}/{link_id}-{tokens.link_mac(key, token, link_id)}"


def unsubscribe_url(base: str, token: str) -> str:
    return f"{base}/u/{token}"


def preferences_url(base: str, token: str) -> str:
    """The recipient's preference centre (same signed token as the unsubscribe link)."""
    return f"{base}/p/{token}"


def pixel_img(base: str, token: str) -> str:
    """The open pixel's tag, as it goes before ``</body>``."""
    return (
        f'<img src="{pixel_url(base, token)}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0">'
    )


class Instrumenter:
    """Rewrites a campaign's rendered emails: tracked links, open pixel, unsubscribe footer.
    Identical URLs share one ``Link`` row per campaign, kept in ``links`` (url → id)."""

    def __init__(
        self,
        campaign_id: int,
        base: str,
        *,
        opens: bool,
        clicks: bool,
        links: dict[str, int],
        address: str = "",
    ) -> None:
        self.campaign_id = campaign_id
        # The sender's postal address (branding), in the default footer: built once here.
        lines = [line.strip() for line in address.splitlines() if line.strip()]
        self.address_html = (
            "<br>".join(html_lib.escape(line) for line in lines) + "<br>" if lines else ""
        )
        self.address_text = "\n".join(lines) + "\n" if lines else ""
        self.base = base.rstrip("/")
        self.opens = opens
        self.clicks = clicks
        self.links = links  # url → link id, shared by the process's instrumenters
        self.key = tokens.link_key()
        self._own = tuple(f"{self.base}/{p}/" for p in ("u", "v", "t", "p"))
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
        if unsubscribe not in html:  # the default footer: unsubscribe and preferences
            preferences = preferences_url(self.base, token)
            tail += (
                '<p style="font-size:12px;color:#666;text-align:center;margin:24px 0">'
                f'{self.address_html}<a href="{unsubscribe}" style="color:#666">Unsubscribe</a> · '
                f'<a href="{preferences}" style="color:#666">Email preferences</a></p>'
            )
        if self.opens:
            tail += pixel_img(self.base, token)
        if tail:
            html = insert_before_body_end(html, tail)
        if text and unsubscribe not in text:
            preferences = preferences_url(self.base, token)
            text = (
                f"{text.rstrip()}\n\n{self.address_text}Unsubscribe: {unsubscribe}\n"
                f"Email preferences: {preferences}\n"
            )
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
                if len(known) < CACHE_URLS:
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
                if len(hrefs) < CACHE_URLS:
                    hrefs[raw] = url
            if url:
                found.append((*match.span(), prefix, url))
        return found

    def _trackable(self, url: str) -> bool:
        # a space in a URL: leave that link as it is
        return len(url) <= MAX_URL and not url.startswith(self._own) and is_redirectable(url)

    def _ensure(self, urls: list[str]) -> None:
        """Link rows for new URLs, in their own short transaction (no lock kept meanwhile),
        committed before any message carrying them leaves."""
        by_hash = {url_hash(u): u for u in dict.fromkeys(urls)}
        with db.engine.begin() as conn:
            found = self._store(conn, by_hash)
        if len(self.links) + len(found) > CACHE_URLS:
            self.links.clear()  # personalised URLs: keep memory flat, ask the database again
        for link_id, digest in found:
            self.links[by_hash[digest]] = link_id

    def _store(self, conn, by_hash: dict[str, str]) -> list[tuple[int, str]]:
        """Insert the rows missing for these URLs; (link id, url hash) of each."""
        rows = [
            {"campaign_id": self.campaign_id, "url": u, "url_hash": h} for h, u in by_hash.items()
        ]
        conn.execute(dbutil.insert_ignore(Link.__table__, ["campaign_id", "url_hash"]), rows)
        return conn.execute(
            select(Link.id, Link.url_hash).where(
                Link.campaign_id == self.campaign_id, Link.url_hash.in_(list(by_hash))
            )
        ).all()


class _Clicks(dict):
    """One message's click links by link id, each signed once (links recur in a message and
    in its text part): "<base><link id>-<sign(link id)>", as :func:`click_url` writes them
    with the token hashed once."""

    def __init__(self, base: str, token: str, key: bytes) -> None:
        super().__init__()
        self.base = f"{base}/t/c/{token}/"
        self.sign = tokens.link_signer(key, token)


def insert_before_body_end(html: str, snippet: str) -> str:
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
        address=branding.load().address,
    )


class MessageLinks(Instrumenter):
    """Rewrites a message's links exactly as a campaign's are (same rules for the HTML and the
    text part, the rest unchanged), with link ids from ``message_links`` instead of a campaign's
    ``links``."""

    def __init__(self, base: str) -> None:
        super().__init__(0, base, opens=False, clicks=True, links={})
        self.day = utcnow().date()

    def _store(self, conn, by_hash: dict[str, str]) -> list[tuple[int, str]]:
        """Insert the missing rows; mark existing ones used today (retention prunes links
        unused for long, and this process's cache is dropped daily, so a link in use is
        marked at least once a day)."""
        rows = [{"url": u, "url_hash": h} for h, u in by_hash.items()]
        conn.execute(dbutil.insert_ignore(MessageLink.__table__, ["url_hash"]), rows)
        now = utcnow()
        conn.execute(
            update(MessageLink)
            .where(
                MessageLink.url_hash.in_(list(by_hash)),
                MessageLink.used_at < now.replace(hour=0, minute=0, second=0, microsecond=0),
            )
            .values(used_at=now)
        )
        return conn.execute(
            select(MessageLink.id, MessageLink.url_hash).where(
                MessageLink.url_hash.in_(list(by_hash))
            )
        ).all()


def message_links(base: str) -> MessageLinks:
    """The process's rewriter (its URL → link id cache lives for the day)."""
    found = current_app.extensions.get("mailer_message_links")
    if found is None or found.base != base or found.day != utcnow().date():
        found = current_app.extensions["mailer_message_links"] = MessageLinks(base)
    return found
