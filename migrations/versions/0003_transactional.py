"""Transactional messages: sending, status and events

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMES = ("claimed_at", "delivered_at", "opened_at", "clicked_at", "bounced_at", "complained_at")


def upgrade():
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
        for name in TIMES:
            batch.add_column(sa.Column(name, sa.DateTime(), nullable=True))
        batch.create_foreign_key(
            "fk_messages_template_id_templates",
            "templates",
            ["template_id"],
            ["id"],
            ondelete="SET NULL",
        )
        # The drain job's claim: one channel's queued messages, due ones, in id order.
        batch.create_index("ix_messages_claim", ["channel_id", "status", "next_attempt_at"])
        batch.create_index("ix_messages_to_email", ["to_email"])


def downgrade():
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_to_email")
        batch.drop_index("ix_messages_claim")
        batch.drop_constraint("fk_messages_template_id_templates", type_="foreignkey")
        batch.drop_column("template_id")
        for name in reversed(TIMES):
            batch.drop_column(name)
