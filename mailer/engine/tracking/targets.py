"""Where a click goes: the URL recorded for a click link of a campaign send or of a
transactional message, checked to belong to that mail (never an open redirect)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import bindparam, select
from werkzeug.urls import iri_to_uri

from mailer.engine.tracking import online
from mailer.engine.tracking.links import CACHE_URLS, is_redirectable
from mailer.extensions import db
from mailer.lib import dbutil
from mailer.models import Link, Send
from mailer.models.campaigns import MessageLink

_LINK_TARGET = (
    select(Link.url)
    .join(Send, Send.campaign_id == Link.campaign_id)
    .where(Link.id == bindparam("link_id"), Send.id == bindparam("send_id"))
)


def send_link_url(send_id: int, link_id: int, *, signed: bool = True) -> str | None:
    """The URL recorded for this link if it belongs to the send's campaign (a read, no write),
    as an ASCII URI fit for a Location header.

    ``signed``: the click link's MAC proved the link was written into this send's message.
    An unsigned link (mail sent before links were signed) resolves only when its URL is in
    the recipient's own message, rendered again as the view-online page does (slow, rare)."""
    if not 0 < link_id <= dbutil.MAX_ID or not 0 < send_id <= dbutil.MAX_ID:
        return None
    url = _link_reader().read(send_id, link_id)
    if url is None or not is_redirectable(url):
        return None
    if not signed and url not in online.urls_of_send(send_id):
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


def message_link_url(link_id: int, message_id: int, *, signed: bool = True) -> str | None:
    """Where a message's click link redirects: the URL recorded for it, as an ASCII URI fit
    for a Location header, or None for an unknown link (never an open redirect). Rows never
    change, so a URL once read is kept for the life of the process.

    ``signed``: the click link's MAC proved the link was written into this message. An
    unsigned link (mail sent before links were signed) resolves only when its URL is provably
    in this message (:func:`online.urls_of_message`)."""
    if not 0 < link_id <= dbutil.MAX_ID:
        return None
    cache: dict[int, tuple[str, str]] = current_app.extensions.setdefault(
        "mailer_message_link_urls", {}
    )
    found = cache.get(link_id)
    if found is None:
        raw = db.session.scalar(select(MessageLink.url).where(MessageLink.id == link_id))
        if raw is None or not is_redirectable(raw):
            return None
        found = (raw, iri_to_uri(raw))
        if len(cache) >= CACHE_URLS:
            cache.clear()
        cache[link_id] = found
    if not signed and found[0] not in online.urls_of_message(message_id):
        return None
    return found[1]
