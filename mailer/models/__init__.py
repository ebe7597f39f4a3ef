"""All models, importable from one place (defined per area in the sibling modules)."""

from mailer.extensions import db
from mailer.models.assets import Asset  # image hosting (issue 18)
from mailer.models.campaigns import (
    Campaign,
    CampaignAudience,
    CampaignChannel,
    CampaignChannelSlot,
    CampaignStatus,
    Event,
    EventType,
    Link,
    Message,
    OutboxMessage,
    Send,
    SendStatus,
)
from mailer.models.channels import PROVIDERS, Channel, Identity
from mailer.models.consent import Consent, ConsentSource, ListConfirmation, SignupForm
from mailer.models.contacts import (
    Import,
    ImportMapping,
    ImportStatus,
    MailingList,
    Segment,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from mailer.models.feedback import FeedbackPayload
from mailer.models.installation import InstallationValue
from mailer.models.people import BulkAction, BulkKind, BulkStatus  # bulk actions (issue 21)
from mailer.models.privacy import ErasedAddress, Erasure  # GDPR erasure (issue 20)
from mailer.models.templates import Editor, EmailDesign, Template
from mailer.models.users import ROLE_RANK, ApiIdempotency, ApiKey, Role, User
from mailer.models.webhooks import (  # outbound webhooks (issue 8)
    WEBHOOK_EVENT_TYPES,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

# Ids are never reused: SQLite gives a deleted highest id to the next row unless the table says
# AUTOINCREMENT (migration 0008); InnoDB keeps its counters across restarts.
for _table in db.metadata.tables.values():
    _table.dialect_kwargs["sqlite_autoincrement"] = True

__all__ = [
    "BulkAction",
    "BulkKind",
    "BulkStatus",
    "PROVIDERS",
    "ROLE_RANK",
    "ApiIdempotency",
    "ApiKey",
    "Campaign",
    "CampaignAudience",
    "CampaignChannel",
    "CampaignChannelSlot",
    "CampaignStatus",
    "Channel",
    "Event",
    "EventType",
    "FeedbackPayload",
    "Identity",
    "Import",
    "InstallationValue",
    "ImportMapping",
    "ImportStatus",
    "Link",
    "MailingList",
    "Message",
    "OutboxMessage",
    "Role",
    "Segment",
    "Send",
    "SendStatus",
    "Subscriber",
    "SubscriberStatus",
    "Suppression",
    "SuppressionReason",
    "Template",
    "Editor",
    "EmailDesign",
    "User",
    "WEBHOOK_EVENT_TYPES",
    "DeliveryStatus",
    "ErasedAddress",
    "Erasure",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Consent",
    "ConsentSource",
    "ListConfirmation",
    "SignupForm",
    "Asset",
]
