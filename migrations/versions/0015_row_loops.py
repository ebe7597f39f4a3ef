"""Several loops send one campaign channel row at once

``campaign_channels.loops``: how many (NULL: the MAILER_ROW_LOOPS setting);
``campaign_channel_slots``: the ``handed`` and ``journal`` of each extra loop (slot 1 and up;
the first keeps its own on the row); ``sends.slot``: which loop of the row claimed a send, so a
dead loop's successor puts back only that loop's claims. Adding nullable columns is instant on
MariaDB and SQLite: nothing is rewritten.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("campaign_channels", sa.Column("loops", sa.Integer(), nullable=True))
    op.add_column("sends", sa.Column("slot", sa.SmallInteger(), nullable=True))
    op.create_table(
        "campaign_channel_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_channel_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("handed", sa.Text(), nullable=True),
        sa.Column("journal", sa.Text().with_variant(mysql.LONGTEXT(), "mysql"), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_channel_id"],
            ["campaign_channels.id"],
            name="fk_campaign_channel_slots_campaign_channel_id_campaign_channels",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_channel_slots"),
        sa.UniqueConstraint(
            "campaign_channel_id", "slot", name="uq_campaign_channel_slots_campaign_channel_id_slot"
        ),
        sqlite_autoincrement=True,
    )

def downgrade():
    op.drop_table("campaign_channel_slots")
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("slot")
    with op.batch_alter_table("campaign_channels") as batch:
        batch.drop_column("loops")
