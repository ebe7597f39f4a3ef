"""Local stand-ins for the email providers, for tests and benchmarks (127.0.0.1 only).

HTTP servers (aiohttp, one thread each): BrevoServer, SendGridServer, MailgunServer,
MailjetServer, SesServer. SMTP: SmtpSink (aiosmtpd). All are context managers with an
``endpoint_url`` to hand to the matching provider adapter; pytest fixtures are in
``tests.fixtures.servers``; ``python -m tests.servers brevo --latency 0.05`` runs one alone.
"""

from tests.servers.brevo import BrevoServer
from tests.servers.http_base import ProviderServer, Received, Reply
from tests.servers.mailgun import MailgunServer
from tests.servers.mailjet import MailjetServer
from tests.servers.sendgrid import SendGridServer
from tests.servers.ses import SesServer
from tests.servers.smtp import ReceivedMail, SmtpSink

__all__ = [
    "BrevoServer",
    "MailgunServer",
    "MailjetServer",
    "ProviderServer",
    "Received",
    "ReceivedMail",
    "Reply",
    "SendGridServer",
    "SesServer",
    "SmtpSink",
]

SERVERS = {
    "brevo": BrevoServer,
    "sendgrid": SendGridServer,
    "mailgun": MailgunServer,
    "mailjet": MailjetServer,
    "ses": SesServer,
}
