"""Mailjet: the send stores the numeric MessageID, so events carrying only it are matched."""

from __future__ import annotations

import json
import time

from mailer.models import Event
from mailer.providers import make_provider
from tests.factories import make_sent_campaign
from tests.fixtures.feedback import basic, drain, url
from tests.fixtures.providers import message
from tests.servers.mailjet import MailjetServer


def test_the_provider_keeps_the_numeric_message_id():
    with (
        MailjetServer(api_key="pub", secret_key="priv") as server,
        make_provider(
            "mailjet", {"api_key": "pub"}, {"secret_key": "priv"}, endpoint_url=server.endpoint_url
        ) as mailjet,
    ):
        [result] = mailjet.send_batch([message(1)])
    assert result.ok and result.provider_message_id.isdigit()


def test_an_event_with_only_the_numeric_message_id_is_matched(app, client, db, channels):
    channel = channels["mailjet"]
    sent = make_sent_campaign(db, channel, ["ann@example.com"], pmid=lambda i: "19421777835146490")
    event = {"event": "open", "time": int(time.time()), "MessageID": 19421777835146490}
    answer = client.post(url(channel), data=json.dumps(event), headers=basic("mj", "mj-pass"))
    assert answer.status_code == 200
    drain(app, db)
    opened = db.session.scalars(
        db.select(Event).filter_by(send_id=sent.sends["ann@example.com"].id)
    )
    assert [e.type for e in opened] == ["open"]
