"""Pin the SNS topics of existing SES channels (data only, no schema change)

The feedback webhook now accepts SNS notifications only from a topic whose subscription it
confirmed and recorded on the channel (``settings.sns_confirmed_topics``). Until now it
confirmed subscriptions only for configured topics (``settings.sns_topic_arns``) and accepted
their notifications, so the configured topics of existing channels are the ones they
confirmed: pinning them keeps their feedback flowing. A channel with no configured topic could
never confirm one, and gets none.

Revision ID: 0009
Revises: 0008
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CONFIGURED, CONFIRMED = "sns_topic_arns", "sns_confirmed_topics"
channels = sa.table(
    "channels", sa.column("id"), sa.column("provider"), sa.column("settings", sa.JSON)
)


def pin_configured_topics(conn: sa.Connection) -> int:
    """Record each SES channel's configured topics as confirmed; returns channels changed."""
    changed = 0
    rows = conn.execute(
        sa.select(channels.c.id, channels.c.settings).where(channels.c.provider == "ses")
    ).all()
    for row in rows:
        settings = dict(row.settings or {})
        configured = settings.get(CONFIGURED)
        if not isinstance(configured, str) or CONFIRMED in settings:
            continue
        topics = sorted({t for t in re.split(r"[\s,]+", configured.strip()) if t})
        if topics:
            settings[CONFIRMED] = topics
            conn.execute(
                sa.update(channels).where(channels.c.id == row.id).values(settings=settings)
            )
            changed += 1
    return changed


def upgrade():
    pin_configured_topics(op.get_bind())


def downgrade():
    pass  # the older code ignores the recorded topics
