"""Outbound webhooks cannot reach Mailer's own network (SSRF): internal URLs are refused when
saved, and every delivery checks the address it actually connects to, so a name re-pointed at
127.0.0.1 after it was saved (DNS rebinding) gets nothing. MAILER_WEBHOOK_ALLOW_PRIVATE opens
the private and loopback ranges (never link-local or cloud metadata ones); TestConfig sets it,
these tests turn it off."""

from __future__ import annotations

import html
import ipaddress
import socket

import pytest

from mailer.engine.webhooks_out import delivery as webhook_delivery
from mailer.engine.webhooks_out import events as webhook_events
from mailer.lib import netguard
from mailer.models import Role, WebhookEndpoint
from mailer.services import webhook_endpoints
from tests.fixtures.webhooks_out import deliveries, opened, run_tick, time_passes

BASE = "/outbound-webhooks"
OWN_NETWORK = "Mailer does not post webhooks into its own network unless"


@pytest.fixture
def admin(as_role):
    return as_role(Role.ADMIN)


@pytest.fixture
def guarded(app):
    """The production default: private, loopback and link-local addresses refused."""
    app.config["MAILER_WEBHOOK_ALLOW_PRIVATE"] = False
    return app


@pytest.fixture
def dns(monkeypatch):
    """A resolver we control for names under .rebind.test (others resolve as usual):
    ``dns["app.rebind.test"] = "93.184.216.34"``."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".") in answers:
            ip = ipaddress.ip_address(answers[name.rstrip(".")])
            family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
            return [(family, socket.SOCK_STREAM, 6, "", (str(ip), int(port or 0)))]
        if name.endswith(".rebind.test"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def _form(url: str) -> dict:
    return {"url": url, "description": "Billing app", "event_types": ["opened"]}


def _count(db) -> int:
    db.session.commit()
    return db.session.scalar(db.select(db.func.count()).select_from(WebhookEndpoint))


# ------------------------------------------------------------------------------ saving


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "(127.0.0.1) is a loopback address"),
        ("http://10.1.2.3/hooks", "10.1.2.3 is a private address"),
        ("https://192.168.1.20:8443/hooks", "192.168.1.20 is a private address"),
        ("http://[::1]:6379/", "::1 is a loopback address"),
        ("http://localhost:6379/", "localhost resolves to 127.0.0.1, a loopback address"),
        ("http://127.1/", "127.1 resolves to 127.0.0.1, a loopback address"),
        ("http://2130706433/", "2130706433 resolves to 127.0.0.1, a loopback address"),
    ],
)
def test_an_internal_url_is_refused_on_the_form_with_the_reason(
    client, db, admin, guarded, url, message
):
    response = client.post(f"{BASE}/", data=_form(url))
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert 'id="url-error"' in page
    assert message in page and OWN_NETWORK in page and "MAILER_WEBHOOK_ALLOW_PRIVATE" in page
    assert _count(db) == 0


def test_a_name_that_resolves_also_to_an_internal_address_is_refused(
    client, db, admin, guarded, monkeypatch
):
    real = socket.getaddrinfo

    def two_answers(host, port, *args, **kwargs):
        if host == "split.rebind.test":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    response = client.post(f"{BASE}/", data=_form("https://split.rebind.test/hooks"))
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "split.rebind.test resolves to 10.0.0.5, a private address" in page
    assert _count(db) == 0


def test_never_reachable_ranges_stay_refused_even_when_private_ones_are_allowed(client, db, admin):
    assert client.application.config["MAILER_WEBHOOK_ALLOW_PRIVATE"] is True
    for url, message in (
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[fd00:ec2::254]/latest/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://100.100.100.200/latest/", "100.100.100.200 is a cloud metadata address"),
        ("http://0.0.0.0:5000/", "0.0.0.0 is an unspecified address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://255.255.255.255/", "255.255.255.255 is a reserved address"),
    ):
        response = client.post(f"{BASE}/", data=_form(url))
        assert response.status_code == 422, url
        page = html.unescape(response.get_data(as_text=True))
        assert message in page and "Mailer never posts webhooks there." in page, url
    assert _count(db) == 0


def test_public_and_not_yet_resolving_urls_are_accepted(client, db, admin, guarded, dns):
    for url in (
        "http://93.184.216.34/hooks",
        "https://[2606:4700::1111]/h",
        "https://new.rebind.test/h",
    ):
        assert client.post(f"{BASE}/", data=_form(url)).status_code == 201, url
    assert _count(db) == 3


def test_with_the_setting_on_an_internal_url_is_accepted(client, db, admin, app):
    app.config["MAILER_WEBHOOK_ALLOW_PRIVATE"] = True
    assert client.post(f"{BASE}/", data=_form("http://127.0.0.1:8080/hooks")).status_code == 201
    assert client.post(f"{BASE}/", data=_form("http://10.1.2.3/hooks")).status_code == 201
    assert _count(db) == 2


def test_editing_an_endpoint_to_an_internal_url_is_refused(client, db, admin, guarded):
    hook, _ = webhook_endpoints.create_endpoint("http://93.184.216.34/hooks", "", ["opened"])
    response = client.post(f"{BASE}/{hook.id}", data=_form("http://169.254.169.254/latest/"))
    assert response.status_code == 422
    assert "169.254.169.254 is a link-local address" in html.unescape(response.get_data(True))
    db.session.commit()
    assert db.session.get(WebhookEndpoint, hook.id).url == "http://93.184.216.34/hooks"


# ------------------------------------------------------------------------------ delivering


def test_switching_the_setting_off_stops_deliveries_to_an_internal_endpoint(
    app, client, db, admin, receiver, make_endpoint
):
    hook, _ = make_endpoint(["opened"])  # saved while allowed: 127.0.0.1
    webhook_events.emit([opened("hit:1")])
    assert run_tick(app)["delivered"] == 1
    assert len(receiver.requests) == 1

    app.config["MAILER_WEBHOOK_ALLOW_PRIVATE"] = False
    webhook_events.emit([opened("hit:2")])
    summary = run_tick(app)
    assert (summary["delivered"], summary["retrying"]) == (0, 1)
    assert len(receiver.requests) == 1, "nothing reached the local server"
    [_, refused] = deliveries(db)
    assert (refused.status, refused.attempts, refused.last_status_code) == ("pending", 1, None)
    reason = "Connection failed: 127.0.0.1 is a loopback address; " + OWN_NETWORK
    assert refused.last_error.startswith(reason)
    log = html.unescape(client.get(f"{BASE}/{hook.id}").get_data(as_text=True))
    assert reason in log, "the delivery log shows why"

    app.config["MAILER_WEBHOOK_ALLOW_PRIVATE"] = True  # allowed again: the retry goes out
    time_passes(db)
    assert run_tick(app)["delivered"] == 1
    assert len(receiver.requests) == 2


def test_the_test_event_to_a_refused_address_reports_why_and_posts_nothing(
    app, client, db, admin, receiver, make_endpoint
):
    hook, _ = make_endpoint(["opened"])
    app.config["MAILER_WEBHOOK_ALLOW_PRIVATE"] = False
    response = client.post(f"{BASE}/{hook.id}/test", follow_redirects=True)
    page = html.unescape(response.get_data(as_text=True))
    assert "Test event not delivered: Connection failed: 127.0.0.1 is a loopback address" in page
    assert receiver.requests == []


def test_dns_rebinding_after_saving_is_refused_at_delivery(app, db, guarded, receiver, dns):
    """Saved while the name pointed at a public address; by delivery it points at 127.0.0.1,
    where a local service listens: the connection is refused before a byte is sent."""
    dns["app.rebind.test"] = "93.184.216.34"
    url = f"http://app.rebind.test:{receiver.port}/hooks/mailer"
    webhook_endpoints.create_endpoint(url, "", ["opened"])

    dns["app.rebind.test"] = "127.0.0.1"
    webhook_events.emit([opened()])
    assert run_tick(app)["retrying"] == 1
    assert receiver.requests == []
    [d] = deliveries(db)
    assert d.last_error == (
        "Connection failed: app.rebind.test resolves to 127.0.0.1, a loopback address; "
        f"{OWN_NETWORK} MAILER_WEBHOOK_ALLOW_PRIVATE is set."
    )

    # The connection goes to the address that was checked: allowed, it reaches the server.
    app.config["MAILER_WEBHOOK_ALLOW_PRIVATE"] = True
    time_passes(db)
    assert run_tick(app)["delivered"] == 1
    [req] = receiver.requests
    assert req.headers["Host"] == f"app.rebind.test:{receiver.port}"


def test_through_a_proxy_the_target_is_checked_before_the_request(
    app, db, receiver, make_endpoint, monkeypatch
):
    make_endpoint(["opened"], url="http://10.1.2.3/hooks/mailer")  # saved while allowed
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", receiver.url)  # the receiver plays the egress proxy

    app.config["MAILER_WEBHOOK_ALLOW_PRIVATE"] = False
    webhook_events.emit([opened()])
    assert webhook_delivery.deliver_due().retrying == 1
    assert receiver.requests == [], "the proxy was not asked"
    [d] = deliveries(db)
    assert "10.1.2.3 is a private address" in d.last_error

    app.config["MAILER_WEBHOOK_ALLOW_PRIVATE"] = True
    time_passes(db)
    assert webhook_delivery.deliver_due().delivered == 1
    assert len(receiver.requests) == 1, "posted through the proxy"


# ------------------------------------------------------------------------------ the table


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("64:ff9b::7f00:1", "loopback"),  # NAT64
        ("2002:7f00:1::", "loopback"),  # 6to4
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("fd00:ec2::254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "reserved"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "reserved"),  # documentation
        ("198.18.0.1", "reserved"),  # benchmarking
        ("2001:db8::1", "reserved"),
        ("93.184.216.34", None),
        ("172.32.0.1", None),
        ("100.128.0.1", None),
        ("::ffff:93.184.216.34", None),
        ("2606:4700::1111", None),
        ("2002:5db8:d822::1", None),
    ],
)
def test_address_classification(address, kind):
    assert netguard.classify(ipaddress.ip_address(address)) == kind
    ip = ipaddress.ip_address(address)
    if kind is None:
        assert netguard.refusal(ip, False) is None
    elif kind in netguard.OPENABLE:
        assert "MAILER_WEBHOOK_ALLOW_PRIVATE" in netguard.refusal(ip, False)
        assert netguard.refusal(ip, True) is None
    else:
        assert netguard.refusal(ip, True).endswith("Mailer never posts webhooks there.")
