"""Amazon SES through boto3 against the local SESv2 server: raw MIME, tags, config set."""

from __future__ import annotations

import email
import email.policy

import pytest

from mailer.providers import ProviderError, make_provider
from mailer.providers.ses import ses_tags
from tests.fixtures.providers import message
from tests.servers.ses import SesServer

SETTINGS = {
    "region": "eu-west-1",
    "access_key_id": "AKIDTESTTESTTEST",
    "configuration_set": "mailer-events",
}
SECRETS = {"secret_access_key": "shhh-not-real"}


@pytest.fixture
def server():
    with SesServer(access_key_id="AKIDTESTTESTTEST", region="eu-west-1") as srv:
        yield srv


@pytest.fixture
def ses(server):
    with make_provider("ses", SETTINGS, SECRETS, endpoint_url=server.endpoint_url) as provider:
        yield provider


def test_raw_message_tags_and_configuration_set(ses, server):
    [result] = ses.send_batch([message(5, message_id="<fixed-5@shop.example.com>")])
    assert result.ok and result.provider_message_id.startswith("0100")
    [req] = server.requests
    assert req.path == "/v2/email/outbound-emails"
    assert "Credential=AKIDTESTTESTTEST/" in req.headers["Authorization"]
    assert "shhh-not-real" not in str(dict(req.headers))
    body = req.json
    assert body["FromEmailAddress"] == "news@shop.example.com"
    assert body["Destination"] == {"ToAddresses": ["user5@example.com"]}
    assert body["ConfigurationSetName"] == "mailer-events"
    assert body["EmailTags"] == [
        {"Name": "campaign", "Value": "12"},
        {"Name": "token", "Value": "tok5"},
    ]
    [raw] = server.raw_messages
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Message-ID"] == "<fixed-5@shop.example.com>"
    assert parsed["Subject"] == "Grüße, Jörg 5 – 10 % off"
    assert parsed["To"].addresses[0].display_name == "Jörg Müller 5"
    assert parsed["List-Unsubscribe"] == "<https://t.example.com/u/tok5>"
    assert parsed["X-Mailer-Tag-Token"] == "tok5"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hallo Jörg 5"


def test_throttling_code_is_transient(ses, server):
    server.fail(429)
    [result] = ses.send_batch([message()])
    assert result.transient and "TooManyRequestsException" in result.error


def test_message_rejected_is_permanent(ses, server):
    server.fail(400)
    [result] = ses.send_batch([message()])
    assert not result.transient and "MessageRejected" in result.error


def test_tags_are_made_ses_safe():
    assert ses_tags({"camp aign": "a/b=c", "empty": ""}) == [
        {"Name": "camp_aign", "Value": "a_b_c"}
    ]


def test_half_a_key_pair_is_a_configuration_error():
    with pytest.raises(ProviderError, match="both the access key ID and the secret"):
        make_provider("ses", {"region": "eu-west-1", "access_key_id": "AKID"}, {})


def test_repr_has_no_secret(ses):
    assert "shhh" not in repr(ses)
